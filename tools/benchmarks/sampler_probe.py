"""Single-cycle sampler-health probe: does the sampler learn, and how soon?

Trains one cycle of a TAAL config on the Fashion-MNIST scenes and prints the sampler's
unweighted BCE per epoch (chance: ln 2 at 1:1), then the cycle's sampler AUCs.

    python tools/benchmarks/sampler_probe.py --out work_dirs/probe/scale \
        [--cfg-options model.sampler.scale=1.0 ...]

Defaults: 1,000 pool / 300 test scenes of 128 px, 300 labelled images, 20 epochs,
lr 0.05 divided by 10 at epoch 15.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(ROOT, 'tools', 'data'), os.path.join(ROOT, 'tools')]
from al_train import positive_int  # noqa: E402
from make_fashion_scenes import build as build_scenes  # noqa: E402

CONFIG = os.path.join(ROOT, 'configs', 'demo', 'fashion_lite0_taal.py')


def epoch_means(work_dir, key='sampler_bce'):
    """Mean of a logged scalar per epoch, from mmengine's scalars.json."""
    values = defaultdict(list)
    for path in glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if key in row:
                    values[row['epoch']].append(row[key])
    return {e: sum(v) / len(v) for e, v in sorted(values.items())}


def train_command(args, root):
    """The ``al_train.py`` command of the probe's one cycle on the data at ``root``."""
    cycle = ['--iters-per-cycle', str(args.iters_per_cycle)] if args.iters_per_cycle else []
    return [sys.executable, os.path.join(ROOT, 'tools', 'al_train.py'), args.config, *cycle,
            '--work-dir', args.out, '--cycles', '1', '--budget', '1', '--seed',
            str(args.seed), '--initial-size', str(args.initial), '--epochs-per-cycle',
            str(args.epochs), '--cfg-options', f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}',
            f'test_dataloader.dataset.data_root={root}',
            f'param_scheduler.1.milestones=[{args.milestone}]',
            f'param_scheduler.1.end={args.epochs}', 'default_hooks.logger.interval=1',
            *args.cfg_options]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', required=True, type=os.path.abspath)
    parser.add_argument('--config', type=os.path.abspath, default=CONFIG,
                        help='a TAAL config (default: the demo)')
    parser.add_argument('--data', default='data/fashion_scenes_compare')
    parser.add_argument('--data-seed', type=int, default=0)
    parser.add_argument('--initial', type=int, default=300)
    parser.add_argument('--epochs', type=int, default=20)
    parser.add_argument('--iters-per-cycle', type=positive_int,
                        help='default: epochs of one pass over the labelled images')
    parser.add_argument('--milestone', type=int, default=15)
    parser.add_argument('--seed', type=int, default=100)
    parser.add_argument('--cfg-options', nargs='*', default=[])
    return parser.parse_args(argv)


def main():
    args = parse_args()
    build_scenes(args.data, 1000, 300, 128, (1, 4), seed=args.data_seed)
    root = os.path.abspath(args.data) + '/'
    if not os.path.exists(os.path.join(args.out, 'al_results.json')):
        subprocess.run(train_command(args, root), check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
    with open(os.path.join(args.out, 'al_results.json')) as f:
        row = json.load(f)['cycles'][0]
    means = epoch_means(args.out)
    print(f'{args.out}: sampler BCE per epoch (chance {row["sampler_bce_chance"]:.4f}):')
    print('  ' + ' '.join(f'{e}:{v:.3f}' for e, v in means.items()))
    print(f"  mAP {row['mAP']:.4f}  sampler_auc {row['sampler_auc']:.3f}  "
          f"sampler_auc_test {row['sampler_auc_test']:.3f}")


if __name__ == '__main__':
    main()
