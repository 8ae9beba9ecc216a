"""Compare TAAL, JLS, random, uncertainty and core-set over several seeds on the
multi-class Fashion-MNIST scenes (real photo backgrounds), then write the report.

    python tools/benchmarks/compare_strategies.py --out work_dirs/compare

Defaults are sized for about an hour on 2 CPU cores; on a GPU machine raise --trainval,
--test, --size, --epochs-per-cycle, --cycles and --budget (mmengine uses the GPU when
torch sees one). Every strategy of a seed starts from the same initial split. Finished
runs are skipped, so an interrupted comparison continues where it stopped.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tools', 'data'))
from make_fashion_scenes import build as build_scenes  # noqa: E402

CONFIG = os.path.join(ROOT, 'configs', 'demo', 'fashion_lite0_taal.py')


def finished(work_dir, cycles):
    path = os.path.join(work_dir, 'al_results.json')
    if not os.path.exists(path):
        return False
    with open(path) as f:
        return len(json.load(f)['cycles']) == cycles


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='work_dirs/compare')
    parser.add_argument('--data', default='data/fashion_scenes_compare')
    parser.add_argument('--trainval', type=int, default=1000, help='pool size (scenes)')
    parser.add_argument('--test', type=int, default=300, help='test scenes')
    parser.add_argument('--size', type=int, default=128, help='scene side in pixels')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--strategies', nargs='+',
                        default=['taal', 'jls', 'random', 'uncertainty', 'coreset'])
    parser.add_argument('--initial', type=int, default=50)
    parser.add_argument('--budget', type=int, default=50)
    parser.add_argument('--cycles', type=int, default=3)
    parser.add_argument('--epochs-per-cycle', type=int, default=8)
    args = parser.parse_args()

    manifest = build_scenes(args.data, args.trainval, args.test, args.size, (1, 4), seed=0)
    print(f"data: {args.data}: {json.dumps(manifest['splits'])}", flush=True)
    data_root = os.path.abspath(args.data) + '/'
    common = ['--budget', str(args.budget), '--cycles', str(args.cycles),
              '--epochs-per-cycle', str(args.epochs_per_cycle), '--cfg-options',
              f'train_dataloader.dataset.data_root={data_root}',
              f'val_dataloader.dataset.data_root={data_root}',
              f'test_dataloader.dataset.data_root={data_root}']
    runs = []
    for seed in args.seeds:
        initial = None
        for strategy in args.strategies:
            work = os.path.join(args.out, f'{strategy}_seed{seed}')
            runs.append(work)
            split = ['--initial-split', initial] if initial else \
                ['--initial-size', str(args.initial)]
            if not finished(work, args.cycles):
                t0 = time.time()
                cmd = [sys.executable, os.path.join(ROOT, 'tools', 'al_train.py'), CONFIG,
                       '--work-dir', work, '--strategy', strategy, '--seed', str(seed),
                       *split, *common]
                os.makedirs(args.out, exist_ok=True)
                with open(os.path.join(args.out, f'{strategy}_seed{seed}.log'), 'w') as log:
                    done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
                if done.returncode:
                    raise SystemExit(f'{strategy} seed {seed} failed; see {log.name}')
                print(f'{strategy} seed {seed}: {time.time() - t0:.0f} s', flush=True)
            initial = initial or os.path.join(work, 'pool', 'initial.json')
    subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'al_report.py'), *runs,
                    '--out', os.path.join(args.out, 'report'),
                    '--title', f'Fashion-MNIST scenes, {args.size} px, pool {args.trainval}'],
                   check=True, cwd=ROOT)


if __name__ == '__main__':
    main()
