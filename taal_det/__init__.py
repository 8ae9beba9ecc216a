"""taal_det: task-aware active learning (TAAL) for MMDetection 3.x.

Importing the package (``custom_imports=dict(imports=['taal_det'])``) registers the
TAAL models, the ActivePoolHook, the pool datasets and sampler (the partly annotated
VOC / COCO pools included), ClasswiseVOCMetric and the acquisition strategies in
mmdet's and taal_det's registries.
"""
from . import datasets, evaluation, hooks, models, pool, strategies  # noqa: F401
from .checkpoint_compat import ensure_training_checkpoints_load
from .version import __version__

ensure_training_checkpoints_load()

__all__ = ['__version__']
