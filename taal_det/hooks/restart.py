"""The training start every cycle returns to: model weights, optimizer, schedulers."""
import copy
import os

import torch
from mmengine.dist import barrier, is_main_process
from mmengine.hooks import EMAHook
from mmengine.model import is_model_wrapper


def unwrapped_model(runner):
    """The runner's model without its (distributed) wrapper."""
    return runner.model.module if is_model_wrapper(runner.model) else runner.model


def param_schedulers(runner):
    """The runner's built parameter schedulers as one list (a dict of lists flattened)."""
    schedulers = runner.param_schedulers or []
    if isinstance(schedulers, dict):
        return [s for group in schedulers.values() for s in group]
    return list(schedulers)


class TrainingStart:
    """Captures the start of training (or loads it, for a resumed run) and restores it.

    Weights, optimizer and scheduler states are kept in ``path``, so that a resumed
    run restarts its next cycles from exactly the start of the run it continues.
    """

    def __init__(self, runner, path, load=False):
        if load:
            state = torch.load(path, map_location='cpu', weights_only=True)
        else:
            state = dict(
                model={k: v.detach().cpu().clone()
                       for k, v in unwrapped_model(runner).state_dict().items()},
                optimizer=copy.deepcopy(runner.optim_wrapper.state_dict()),
                schedulers=[copy.deepcopy(s.state_dict()) for s in param_schedulers(runner)])
            if is_main_process():
                os.makedirs(os.path.dirname(path), exist_ok=True)
                torch.save(state, path + '.tmp')
                os.replace(path + '.tmp', path)
            barrier()
        self.state = state

    def restore(self, runner, weights=True):
        """Restart optimizer state (momentum), gradients and schedulers; the weights too if
        asked; an EMAHook's average restarts from the (restored) weights."""
        model = unwrapped_model(runner)
        if weights:
            model.load_state_dict(self.state['model'])
        runner.optim_wrapper.load_state_dict(copy.deepcopy(self.state['optimizer']))
        runner.optim_wrapper.zero_grad()
        for scheduler, state in zip(param_schedulers(runner), self.state['schedulers']):
            scheduler.load_state_dict(copy.deepcopy(state))
        for hook in runner.hooks:
            if isinstance(hook, EMAHook) and hasattr(hook, 'ema_model'):
                hook.ema_model.module.load_state_dict(model.state_dict())
                hook.ema_model.steps.zero_()
