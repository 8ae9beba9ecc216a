from .active_pool import LABELLED_KEY, ActivePoolDataset, ActivePoolSampler, image_ids

__all__ = ['ActivePoolDataset', 'ActivePoolSampler', 'image_ids', 'LABELLED_KEY']
