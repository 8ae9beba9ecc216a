"""Let mmengine 0.10.7 resume its own checkpoints under torch >= 2.6, safely.

torch 2.6 made ``torch.load`` default to ``weights_only=True``. mmengine 0.10.7 loads
local checkpoints with that default, but its training checkpoints hold more than
weights (the message hub's ``HistoryBuffer`` objects, numpy arrays and scalars), so
``--resume`` fails with an ``UnpicklingError``. taal_det registers a local-file loader
that still loads with ``weights_only=True`` and allows exactly those few types besides
what torch allows (and ``getattr`` only for HistoryBuffer's statistics methods, which is
how it pickles their registry). Any other global (a crafted ``os.system`` call, say) is
refused with torch's own error, whichever way a local file comes in (``load_from``,
``--resume``, a ``Pretrained`` init_cfg). Nothing is ever fully unpickled.
"""
import os.path as osp
import pickle
import threading

import mmengine
import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.utils import digit_version

LAST_AFFECTED_MMENGINE = '0.10.7'
BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')  # HistoryBuffer registers these
_ALLOW_LIST_LOCK = threading.Lock()


def _statistics_method(obj, name):
    """``getattr`` as mmengine's checkpoints use it, and no further: HistoryBuffer pickles
    its registry of statistics methods as ``getattr(HistoryBuffer, 'mean')`` and so on."""
    methods = set(BUILTIN_STATISTICS) | set(HistoryBuffer._statistics_methods)
    if obj is not HistoryBuffer or name not in methods:
        raise pickle.UnpicklingError(f'checkpoint asks for getattr({obj!r}, {name!r}): only '
                                     "HistoryBuffer's statistics methods are allowed")
    return getattr(HistoryBuffer, name)


def _numpy_globals():
    """numpy arrays and scalars: the reconstructors, under the module names numpy 1.x
    (``numpy.core``) and 2.x (``numpy._core``) write into pickles, and the dtypes."""
    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]
    scalar = np.float64(0).__reduce__()[0]
    names = [(f, f'{module}.{f.__name__}') for f in (reconstruct, scalar)
             for module in ('numpy.core.multiarray', 'numpy._core.multiarray')]
    # An unpickled dtype is checked by its class (numpy >= 1.25: numpy.dtypes.Float64DType).
    dtypes = sorted({type(np.dtype(code)) for code in np.typecodes['All']}, key=str)
    return [np.ndarray, np.dtype] + dtypes + names


# Exactly what an mmengine training checkpoint holds besides what torch allows.
TRAINING_CHECKPOINT_GLOBALS = [HistoryBuffer, (_statistics_method, 'builtins.getattr')] + \
    _numpy_globals()


def load_local_checkpoint(filename, map_location=None):
    """Load a local checkpoint with ``weights_only=True`` and mmengine's own types."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    # torch keeps one process-wide allow-list: extend it for this load only, then put
    # back exactly what was there (a user's own add_safe_globals entries included).
    with _ALLOW_LIST_LOCK:
        before = torch.serialization.get_safe_globals()
        torch.serialization.add_safe_globals(TRAINING_CHECKPOINT_GLOBALS)
        try:
            return torch.load(filename, map_location=map_location, weights_only=True)
        finally:
            torch.serialization.clear_safe_globals()
            torch.serialization.add_safe_globals(before)


def ensure_training_checkpoints_load():
    """Register the loader where the mmengine/torch pair needs it; True if registered.

    With torch < 2.6 nothing changes: torch.load (and so mmengine) unpickles fully there,
    with or without taal_det."""
    if digit_version(torch.__version__.split('+')[0]) < digit_version('2.6.0') or \
            digit_version(mmengine.__version__) > digit_version(LAST_AFFECTED_MMENGINE):
        return False
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
    return True
