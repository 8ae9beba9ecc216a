"""Train an mmdet detector with active learning (ActivePoolHook), like mmdet's
tools/train.py, plus flags that override the hook.

    python tools/al_train.py configs/voc_ssd_taal.py [--budget 500 --cycles 7 ...]
    torchrun --nproc_per_node=8 tools/al_train.py CONFIG --launcher pytorch
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

STRATEGY_ALIASES = dict(taal='TAALStrategy', jls='TAALStrategy', random='RandomStrategy',
                        uncertainty='UncertaintyStrategy', coreset='CoreSetStrategy')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    al.add_argument('--budget', type=int, help='images labelled per cycle')
    al.add_argument('--cycles', type=int, help='number of training cycles')
    al.add_argument('--epochs-per-cycle', type=int, help='training epochs per cycle')
    al.add_argument('--initial-size', type=int, help='size of the random initial split')
    al.add_argument('--initial-split', help="another run's pool/initial.json (or id list)")
    al.add_argument('--strategy', help=f'{", ".join(STRATEGY_ALIASES)} or a registered type; '
                    'baselines train the bare detector, jls the sampler without transformer')
    al.add_argument('--seed', type=int, help='seed of the run, the split and the strategy')
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def find_pool_hook(cfg):
    for hook in cfg.get('custom_hooks', []):
        if hook.get('type') == 'ActivePoolHook':
            return hook
    raise SystemExit('error: the config has no ActivePoolHook in custom_hooks')


def apply_strategy(cfg, hook, name):
    strategy = STRATEGY_ALIASES.get(name.lower(), name)
    wrapped = cfg.model.get('type') == 'TAALDetector'
    if strategy != 'TAALStrategy' and wrapped:
        # A baseline trains the bare detector on the labelled part of TAAL's batches:
        # as many labelled images per step, as many steps per epoch.
        detector = cfg.model.detector
        detector.setdefault('data_preprocessor', cfg.model.get('data_preprocessor'))
        cfg.model = detector
        labelled, unlabelled = hook.get('source_ratio', (1, 1))
        batch = cfg.train_dataloader.batch_size
        cfg.train_dataloader.batch_size = max(1, round(batch * labelled / (labelled + unlabelled)))
    if name.lower() == 'jls':
        if not wrapped:
            raise SystemExit('error: --strategy jls needs a TAALDetector model')
        cfg.model.sampler.layout = 'none'
    if strategy != hook.get('strategy', {}).get('type'):
        hook['strategy'] = dict(type=strategy)


def apply_overrides(cfg, args):
    hook = find_pool_hook(cfg)
    per_cycle = args.epochs_per_cycle or hook.get('epochs_per_cycle') or \
        cfg.train_cfg.max_epochs // hook['cycles']
    for key in ('budget', 'cycles', 'initial_size', 'initial_split', 'seed'):
        value = getattr(args, key)
        if value is not None:
            hook[key] = value
    if args.initial_split:
        hook.pop('initial_size', None)
    if args.strategy:
        apply_strategy(cfg, hook, args.strategy)
        hook['label'] = args.strategy
    if args.seed is not None:
        cfg.randomness = dict(cfg.get('randomness', {}), seed=args.seed)
    if args.cycles or args.epochs_per_cycle:
        hook['epochs_per_cycle'] = per_cycle
        cfg.train_cfg.max_epochs = hook['cycles'] * per_cycle
        if cfg.train_cfg.get('val_interval'):
            cfg.train_cfg.val_interval = per_cycle


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
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    results = osp.join(cfg.work_dir, 'al_results.json')
    if runner.rank == 0 and osp.exists(results):
        from taal_det.evaluation import markdown_table
        with open(results) as f:
            rows = json.load(f)['cycles']
        print(markdown_table([{k: r[k] for k in ('cycle', 'labelled_images', 'labelled_boxes',
                                                  'mAP', 'train_seconds', 'selection_seconds')}
                              for r in rows]))
        print(f'results: {results}; curve: {osp.join(cfg.work_dir, "al_curve.png")}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
