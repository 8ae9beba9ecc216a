from .active_pool import (LABELLED_KEY, ActivePoolDataset, ActivePoolSampler,
                          check_images_exist, image_ids)
from .box_independence import check_box_independent, check_pool_pipelines

__all__ = ['ActivePoolDataset', 'ActivePoolSampler', 'check_images_exist', 'image_ids',
           'LABELLED_KEY', 'check_box_independent', 'check_pool_pipelines']
