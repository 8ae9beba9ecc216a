"""Let mmengine 0.10.7 resume its own checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load`` default to ``weights_only=True``. mmengine 0.10.7 loads
local checkpoints with that default, but its training checkpoints hold more than
weights (the message hub's history buffers, numpy scalars), so ``--resume`` fails with
an ``UnpicklingError``. taal_det registers a local-file loader that loads every file
it can with ``weights_only=True`` and falls back to full unpickling (what mmengine did
before torch 2.6) only for the files that need it, with a warning naming the file.
"""
import logging
import os.path as osp
import pickle

import mmengine
import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.utils import digit_version

LAST_AFFECTED_MMENGINE = '0.10.7'


def load_local_checkpoint(filename, map_location=None):
    """Load a local checkpoint: safely when it holds only weights, else fully."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        print_log(f'{filename} is a training checkpoint (more than weights): loading it with '
                  'full unpickling; only load checkpoints you trust', logger='current',
                  level=logging.WARNING)
        return torch.load(filename, map_location=map_location, weights_only=False)


def ensure_training_checkpoints_load():
    """Register the loader where the mmengine/torch pair needs it; True if registered."""
    if digit_version(torch.__version__.split('+')[0]) < digit_version('2.6.0') or \
            digit_version(mmengine.__version__) > digit_version(LAST_AFFECTED_MMENGINE):
        return False
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
    return True
