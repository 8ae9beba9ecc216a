"""Checkpoints are data: a crafted pickle runs nothing, a real training checkpoint loads."""
import os
import pickle
import subprocess

import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModule
from mmengine.runner import Runner, load_checkpoint

from taal_det.checkpoint_compat import TRAINING_CHECKPOINT_GLOBALS
from taal_testing import tiny_al_cfg


class _Payload:
    """Unpickling this object runs a command (what an attacker's file does), through
    ``os.system``, ``subprocess``, ``exec`` or ``eval``."""

    def __init__(self, marker, how):
        self.marker, self.how = marker, how

    def __reduce__(self):
        touch = f'open({str(self.marker)!r}, "w").close()'
        return dict(system=(os.system, (f'touch {self.marker}',)),
                    subprocess=(subprocess.check_call, (['touch', str(self.marker)],)),
                    exec=(exec, (touch,)), eval=(eval, (touch,)))[self.how]


@pytest.fixture(params=['system', 'subprocess', 'exec', 'eval'])
def crafted(tmp_path, request):
    marker = tmp_path / 'code_ran'
    path = str(tmp_path / 'crafted.pth')
    torch.save(dict(state_dict={}, meta=_Payload(marker, request.param)), path)
    return path, marker


def test_crafted_checkpoint_runs_nothing_through_load_from_or_pretrained(crafted):
    path, marker = crafted
    with pytest.raises(pickle.UnpicklingError, match='weights_only'):
        load_checkpoint(torch.nn.Linear(2, 2), path)  # what runner.load_from calls
    init = BaseModule(init_cfg=dict(type='Pretrained', checkpoint=path))
    init.fc = torch.nn.Linear(2, 2)
    with pytest.raises(pickle.UnpicklingError, match='weights_only'):
        init.init_weights()
    assert not marker.exists()


class _Getattr:
    """Reaches for a HistoryBuffer attribute that is not a statistics method."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, 'register_statistics')


def test_getattr_reaches_only_history_buffer_statistics(tmp_path):
    path = str(tmp_path / 'getattr.pth')
    torch.save(dict(meta=_Getattr()), path)
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
        load_checkpoint(torch.nn.Linear(2, 2), path)


def test_the_allow_list_is_lent_for_one_load_only(tmp_path):
    original = torch.serialization.get_safe_globals()
    torch.serialization.add_safe_globals([_Getattr])  # a user's own entry stays
    before = set(torch.serialization.get_safe_globals())
    path = str(tmp_path / 'plain.pth')
    torch.save(dict(state_dict=torch.nn.Linear(2, 2).state_dict()), path)
    load_checkpoint(torch.nn.Linear(2, 2), path)
    after = set(torch.serialization.get_safe_globals())
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(original)
    assert after == before and HistoryBuffer not in after


def test_crafted_checkpoint_runs_nothing_through_resume(crafted, scenes_root, tmp_path):
    path, marker = crafted
    cfg = tiny_al_cfg(scenes_root, str(tmp_path / 'run'))
    cfg.resume, cfg.load_from = True, path
    with pytest.raises(pickle.UnpicklingError, match='weights_only'):
        Runner.from_cfg(cfg).train()
    assert not marker.exists()


def test_taal_training_checkpoint_needs_only_the_allowed_types_and_resumes(scenes_root,
                                                                          tmp_path):
    work = str(tmp_path / 'run')
    Runner.from_cfg(tiny_al_cfg(scenes_root, work, cycles=2)).train()
    ckpt = os.path.join(work, 'epoch_1.pth')
    # More than weights (so plain weights-only loading fails) ...
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt, weights_only=True)
    # ... but nothing outside the allow-list.
    allowed = {g if isinstance(g, str) else f'{g.__module__}.{g.__qualname__}'
               for g in (x[1] if isinstance(x, tuple) else x for x in TRAINING_CHECKPOINT_GLOBALS)}
    needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(ckpt))
    assert needed and needed <= allowed, needed - allowed
    first_cycle_end = os.stat(ckpt).st_mtime_ns
    os.remove(os.path.join(work, 'epoch_2.pth'))
    cfg = tiny_al_cfg(scenes_root, work, cycles=2)
    cfg.resume, cfg.load_from = True, ckpt
    Runner.from_cfg(cfg).train()
    # Resumed at epoch 1, not started over: epoch 1 is not trained (saved) again.
    assert os.stat(ckpt).st_mtime_ns == first_cycle_end
    assert os.path.exists(os.path.join(work, 'epoch_2.pth'))
