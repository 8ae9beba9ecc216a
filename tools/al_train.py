"""Train an mmdet detector with active learning (ActivePoolHook), like mmdet's
tools/train.py, plus flags that override the hook.

    python tools/al_train.py configs/voc_ssd_taal.py [--budget 500 --cycles 7 ...]
    torchrun --nproc_per_node=8 tools/al_train.py CONFIG --launcher pytorch
"""
import argparse
import json
import math
import os
import os.path as osp
import shutil
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

STRATEGY_ALIASES = {'taal': 'TAALStrategy', 'jls': 'TAALStrategy',
                    'taal-random': 'RandomStrategy', 'random': 'RandomStrategy',
                    'uncertainty': 'UncertaintyStrategy',
                    'uncertainty-top-score': 'TopScoreUncertaintyStrategy',
                    'coreset': 'CoreSetStrategy', 'll4al': 'LossPredictionStrategy'}
# Methods that keep TAALDetector's joint training; 'taal-random' is the control that
# trains TAAL's joint model but selects at random.
JOINT = ('taal', 'jls', 'taal-random')
LOSS_PREDICTION_KEYS = ('loss_module', 'loss_weight', 'margin', 'detach_from_epoch')
LL4AL_DETACH = 0.6  # the loss module's features are detached from 60 % of each cycle on
# The loss module's learning rate at most: the original's SSD rate (at the demos' 0.05 the
# module's predictions reach NaN in the third epoch; docs/method.md).
LL4AL_MODULE_LR = 1e-3


def positive_int(text):
    """argparse type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f'must be a positive integer, got {text!r}')
    return value


def non_negative_int(text):
    """argparse type: an integer >= 0 (a seed)."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f'must be a non-negative integer, got {text!r}')
    return int(text)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs, models and the pool')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale lr by batch size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint, or the latest in work_dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, xxx=yyy format')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    al = parser.add_argument_group('active learning (override ActivePoolHook)')
    al.add_argument('--budget', type=positive_int, help='images labelled per cycle')
    al.add_argument('--cycles', type=positive_int, help='number of training cycles')
    al.add_argument('--epochs-per-cycle', type=positive_int, help='training epochs per cycle')
    al.add_argument('--iters-per-cycle', type=positive_int,
                    help='iterations per cycle, whatever the labelled set size')
    al.add_argument('--initial-size', type=positive_int, help='size of the random initial split')
    al.add_argument('--initial-split', help="another run's pool/initial.json (or id list)")
    al.add_argument('--strategy', help=f'{", ".join(STRATEGY_ALIASES)} or a registered type; '
                    'baselines train the bare detector, jls the sampler without transformer, '
                    'taal-random the joint model with random selection')
    al.add_argument('--seed', type=non_negative_int,
                    help='seed of the run, the split and the strategy')
    al.add_argument('--fork', metavar='RUN_DIR',
                    help="continue from the end of cycle 0 of another run of the same model, "
                    'seed and split (its cycle-0 checkpoint), selecting with this strategy')
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def pool_hook_index(cfg):
    for index, hook in enumerate(cfg.get('custom_hooks', [])):
        if hook.get('type') == 'ActivePoolHook':
            return index
    raise SystemExit('error: the config has no ActivePoolHook in custom_hooks')


def find_pool_hook(cfg):
    index = pool_hook_index(cfg)
    return cfg.custom_hooks[index]


def pool_hook_options(cfg, cfg_options, prefix):
    """The pool hook's settings given as --cfg-options custom_hooks.N.PREFIX.KEY=VALUE
    (N the pool hook's index; PREFIX empty for the hook's own keys)."""
    head = f'custom_hooks.{pool_hook_index(cfg)}.' + (f'{prefix}.' if prefix else '')
    return {key[len(head):]: value for key, value in (cfg_options or {}).items()
            if key.startswith(head) and '.' not in key[len(head):]}


def loss_prediction_options(cfg_options):
    """The ``--cfg-options model.KEY`` that belong to the learning-loss wrapper, which
    ``--strategy ll4al`` builds after the options were merged into the config's model."""
    return {key: value for key, value in (cfg_options or {}).items()
            if key.startswith('model.') and key.split('.')[1] in LOSS_PREDICTION_KEYS}


def apply_strategy(cfg, hook, name, options=None, model_options=None):
    """Switch the hook to strategy ``name``; ``options`` given on the command line are
    kept when the strategy type changes (the config's own options are not), and so are
    ``model_options`` (``model.KEY`` ones) for a model the strategy builds."""
    strategy = STRATEGY_ALIASES.get(name.lower(), name)
    wrapped = cfg.model.get('type') == 'TAALDetector'
    sampler_channels = cfg.model.sampler.get('in_channels') if wrapped else None
    if wrapped and strategy != 'TAALStrategy' and name.lower() not in JOINT:
        # A baseline trains the bare detector on the labelled part of TAAL's batches:
        # as many labelled images per step, as many steps per epoch.
        detector = cfg.model.detector
        detector.setdefault('data_preprocessor', cfg.model.get('data_preprocessor'))
        cfg.model = detector
        labelled, unlabelled = hook.get('source_ratio', (1, 1))
        batch = cfg.train_dataloader.batch_size
        cfg.train_dataloader.batch_size = max(1, round(batch * labelled / (labelled + unlabelled)))
    if name.lower() == 'll4al' and cfg.model.get('type') != 'LossPredictionDetector':
        if not sampler_channels:
            raise SystemExit("error: --strategy ll4al needs a TAALDetector config whose sampler "
                             'has in_channels (they size the loss module) or a '
                             'LossPredictionDetector model')
        cfg.model = dict(type='LossPredictionDetector', detector=cfg.model,
                         loss_module=dict(type='LossPredictionModule',
                                          in_channels=sampler_channels))
        cfg.merge_from_dict(model_options or {})
    if name.lower() == 'jls':
        if not wrapped:
            raise SystemExit('error: --strategy jls needs a TAALDetector model')
        cfg.model.sampler.layout = 'none'
    if strategy != hook.get('strategy', {}).get('type'):
        hook['strategy'] = dict(options or {}, type=strategy)


def cap_loss_module_lr(cfg):
    """Train a LossPredictionDetector's module at min(lr, LL4AL_MODULE_LR), unless the
    config gives the module its own ``lr_mult``."""
    lr = cfg.optim_wrapper.get('optimizer', {}).get('lr')
    if cfg.model.get('type') != 'LossPredictionDetector' or not lr or lr <= LL4AL_MODULE_LR:
        return
    paramwise = cfg.optim_wrapper.get('paramwise_cfg') or {}
    keys = dict(paramwise.get('custom_keys') or {})
    module = dict(keys.get('loss_module') or {})
    module.setdefault('lr_mult', LL4AL_MODULE_LR / lr)
    cfg.optim_wrapper.paramwise_cfg = dict(paramwise, custom_keys=dict(keys, loss_module=module))


def apply_overrides(cfg, args):
    hook = find_pool_hook(cfg)
    old_cycles = hook.get('cycles')
    for key in ('budget', 'cycles', 'initial_size', 'initial_split', 'iters_per_cycle', 'seed'):
        value = getattr(args, key)
        if value is not None:
            hook[key] = value
    if args.initial_split:
        hook.pop('initial_size', None)
    if args.strategy:
        apply_strategy(cfg, hook, args.strategy,
                       pool_hook_options(cfg, args.cfg_options, 'strategy'),
                       loss_prediction_options(args.cfg_options))
        if 'label' not in pool_hook_options(cfg, args.cfg_options, ''):  # a given label wins
            alias = args.strategy.lower()
            hook['label'] = alias if alias in STRATEGY_ALIASES else args.strategy
    if args.seed is not None:
        cfg.randomness = dict(cfg.get('randomness', {}), seed=args.seed)
    if args.cycles or args.epochs_per_cycle:
        # The cycle length the config meant, unless given (the hook checks the counts).
        per_cycle = args.epochs_per_cycle or hook.get('epochs_per_cycle')
        if not per_cycle and isinstance(old_cycles, int) and old_cycles > 0 and \
                cfg.train_cfg.max_epochs % old_cycles == 0:
            per_cycle = cfg.train_cfg.max_epochs // old_cycles
        if not per_cycle:
            raise SystemExit(f'error: cannot tell the epochs per cycle of the config '
                             f'(max_epochs={cfg.train_cfg.get("max_epochs")}, '
                             f'cycles={old_cycles!r}); give --epochs-per-cycle')
        hook['epochs_per_cycle'] = per_cycle
        cfg.train_cfg.max_epochs = hook['cycles'] * per_cycle
        if cfg.train_cfg.get('val_interval'):
            cfg.train_cfg.val_interval = per_cycle
        # Checkpoints at cycle ends (resume, --fork) follow the new cycle length.
        checkpoint = cfg.get('default_hooks', {}).get('checkpoint')
        if checkpoint and checkpoint.get('interval', 1) > 1:
            checkpoint['interval'] = per_cycle
    if (args.strategy or '').lower() == 'll4al' and cfg.model.get('detach_from_epoch') is None:
        per_cycle = epochs_per_cycle(cfg, hook)
        # 60 % of this run's cycle, before its last epoch where the cycle has two or more
        cfg.model.detach_from_epoch = min(math.ceil(LL4AL_DETACH * per_cycle),
                                          max(per_cycle - 1, 1))
    cap_loss_module_lr(cfg)


def epochs_per_cycle(cfg, hook):
    """The run's cycle length in epochs, by the hook's own rule (refused as it would be)."""
    from taal_det.hooks.drop_in import cycle_epochs
    try:
        return cycle_epochs(cfg.train_cfg, hook['cycles'], hook.get('epochs_per_cycle'))
    except ValueError as error:
        raise SystemExit(f'error: {error}')


def check_data_roots(cfg):
    for split in ('train_dataloader', 'val_dataloader'):
        dataset = cfg.get(split, {}).get('dataset', {})
        while 'dataset' in dataset:  # dataset wrappers
            dataset = dataset['dataset']
        root = dataset.get('data_root')
        if root and not osp.isdir(root):
            raise SystemExit(f'error: {split}.dataset.data_root {root!r} does not exist '
                             '(set it with --cfg-options or make the data first)')


def prepare_cpu_distributed(cfg, launcher):
    """Distributed training without GPUs: mmengine's pytorch launcher calls
    torch.cuda.set_device and gives DDP a GPU id, which a CPU-only torch rejects; start
    the gloo process group here and wrap the model without device ids."""
    import torch
    import torch.distributed as dist
    if launcher != 'pytorch' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                     broadcast_buffers=False)


def end_distributed(wait=True):
    """Close the process group (once every rank is done, with ``wait``): a gloo group
    left to the interpreter's exit can abort a rank (``terminate called without an
    active exception``) and turn a finished run, or a clean error, into SIGABRT."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def fork_cycle0(cfg, source):
    """Copy another run's cycle-0 checkpoint and start state into this work dir; return
    the checkpoint to resume from (cycle 0 is then validated, not trained, again)."""
    hook = find_pool_hook(cfg)
    epochs = epochs_per_cycle(cfg, hook)
    ckpt = osp.join(source, f'epoch_{epochs}.pth')
    results = osp.join(source, 'al_results.json')
    if not osp.isfile(ckpt) or not osp.isfile(results):
        raise SystemExit(f'error: --fork: {source} has no {osp.basename(ckpt)} and '
                         'al_results.json (the run must have ended cycle 0 and kept its '
                         'checkpoint)')
    with open(results) as f:
        meta = json.load(f)['meta']
    seed = hook.get('seed', cfg.get('randomness', {}).get('seed'))
    mine = dict(model=cfg.model.type, seed=seed, budget=hook['budget'],
                epochs_per_cycle=epochs, iters_per_cycle=hook.get('iters_per_cycle'))
    for key, value in mine.items():
        if meta.get(key, value) != value:
            raise SystemExit(f'error: --fork: {source} has {key}={meta[key]!r}, this run '
                             f'{value!r}; a fork continues a run of the same model and protocol')
    for name in ('initial.json', 'initial_state.pth', 'cycle_0.json', 'cycle_0_trainval.txt'):
        _copy(osp.join(source, 'pool', name), osp.join(cfg.work_dir, 'pool', name))
    target = osp.join(cfg.work_dir, osp.basename(ckpt))
    _copy(ckpt, target)
    return target


def _copy(src, dst):
    """Copy atomically: each process of a distributed run may copy the same file."""
    os.makedirs(osp.dirname(dst), exist_ok=True)
    tmp = f'{dst}.{os.getpid()}.tmp'
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    apply_overrides(cfg, args)
    check_data_roots(cfg)
    prepare_cpu_distributed(cfg, args.launcher)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.fork and args.resume:
        raise SystemExit('error: --fork starts a run; resume it later with --resume alone')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    elif args.fork:
        cfg.resume, cfg.load_from = True, fork_cycle0(cfg, args.fork)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    try:
        runner.train()
    except BaseException:
        end_distributed(wait=False)  # the other ranks may never reach a barrier
        raise
    end_distributed()
    results = osp.join(cfg.work_dir, 'al_results.json')
    if runner.rank == 0 and osp.exists(results):
        from taal_det.evaluation import markdown_table
        with open(results) as f:
            rows = json.load(f)['cycles']
        print(markdown_table([{k: r[k] for k in ('cycle', 'labelled_images', 'labelled_boxes',
                                                  'mAP', 'train_seconds', 'selection_seconds')}
                              for r in rows]))
        print(f'results: {results}; curve: {osp.join(cfg.work_dir, "al_curve.png")}')
    oracle = next((h.oracle for h in runner.hooks if getattr(h, 'oracle', None)), None)
    if runner.rank == 0 and oracle and oracle.message:
        print(oracle.message)  # a query waits for labels (oracle='files')
    return 0


if __name__ == '__main__':
    sys.exit(main())
