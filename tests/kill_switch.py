"""A hook that SIGKILLs its own process at a chosen point of training, when the
environment variable TAAL_KILL_AT names that point: ``train_iter:EPOCH`` (the first
iteration of an epoch), ``epoch_start:EPOCH``, ``val_end:EPOCH``. Its priority in the
config places it before or after ActivePoolHook (ABOVE_NORMAL)."""
import os
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def _kill_if(point, epoch):
    if os.environ.get('TAAL_KILL_AT') == f'{point}:{epoch}':
        os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class KillSwitch(Hook):

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if batch_idx == 0:
            _kill_if('train_iter', runner.epoch)

    def before_train_epoch(self, runner):
        _kill_if('epoch_start', runner.epoch)

    def after_val_epoch(self, runner, metrics=None):
        _kill_if('val_end', runner.epoch)
