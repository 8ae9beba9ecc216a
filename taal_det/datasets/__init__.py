from .active_pool import (LABELLED_KEY, ActivePoolDataset, ActivePoolSampler,
                          boxes_per_class, check_images_exist, image_ids)
from .box_independence import check_box_independent, check_pool_pipelines
from .partly_annotated import PartlyAnnotatedCocoDataset, PartlyAnnotatedVOCDataset

__all__ = ['ActivePoolDataset', 'ActivePoolSampler', 'boxes_per_class', 'check_images_exist',
           'image_ids', 'LABELLED_KEY', 'check_box_independent', 'check_pool_pipelines',
           'PartlyAnnotatedVOCDataset', 'PartlyAnnotatedCocoDataset']
