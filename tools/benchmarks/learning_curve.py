"""The bare detector's mAP against cycle length, for labelled sets of several sizes: does
a cycle of T iterations train the detector to its plateau?

    python tools/benchmarks/learning_curve.py --name learning_curve \
        --sizes 100 500 1000 --iters 160 320 640 1280

Each (size, T) is one single-cycle run of ``al_train.py --strategy random`` under the
comparison's schedule (``--epochs-per-cycle`` epochs of T / epochs iterations, the
learning rate divided by 10 at ``--milestone``), on a seeded random labelled set of that
size; a size of the pool or more trains on all of the pool but one image (the ceiling
active learning works under: ``PoolState`` keeps at least one image unlabelled). Results
go to ``docs/results/NAME/`` (committed; reruns skip what is there) with a table
``curve.md`` and ``curve.json``.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_strategies import CONFIGS, ROOT, common_flags, complete, make_data  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, 'tools'))
from al_train import positive_int  # noqa: E402


def run_one(args, root, size, iters, kept):
    work = os.path.join(args.work, f'size{size}_iters{iters}')
    args.iters_per_cycle, args.cycles = iters, 1
    cmd = [sys.executable, os.path.join(ROOT, 'tools', 'al_train.py'), CONFIGS[args.data],
           '--work-dir', work, '--strategy', 'random', '--seed', str(args.seed),
           '--initial-size', str(size), *common_flags(args, root)]
    os.makedirs(args.work, exist_ok=True)
    t0 = time.time()
    with open(work + '.log', 'a') as log:
        if subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT).returncode:
            raise SystemExit(f'size {size}, {iters} iterations failed; see {log.name}')
    shutil.copyfile(os.path.join(work, 'al_results.json'), kept)
    shutil.rmtree(work)
    print(f'size {size}, {iters} iterations: {time.time() - t0:.0f} s -> {kept}', flush=True)


def table(rows, sizes, iters):
    lines = ['| labelled images | ' + ' | '.join(f'{t} it' for t in iters) + ' |',
             '|---:|' + '---:|' * len(iters)]
    for size in sizes:
        cells = [rows.get(f'{size}_{t}') for t in iters]
        lines.append(f'| {size} | ' + ' | '.join('' if c is None else f'{c["mAP"]:.3f}'
                                                   for c in cells) + ' |')
    return '\n'.join(lines) + '\n'


def run_sizes(requested, root):
    """The labelled-set sizes to train, sorted, once each: a size of the pool (the
    dataset's trainval list) or more is the pool but one image. Sizes below one, or a
    pool of under two images, raise ``ValueError``."""
    with open(os.path.join(root, 'ImageSets', 'Main', 'trainval.txt')) as f:
        pool = len(f.read().split())
    if pool < 2 or min(requested) < 1:
        raise ValueError(f'sizes {requested} from a pool of {pool} images: each size must be '
                         'at least 1 and the pool at least 2 (one stays unlabelled)')
    return sorted({min(size, pool - 1) for size in requested})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--name', required=True)
    parser.add_argument('--sizes', type=positive_int, nargs='+', required=True)
    parser.add_argument('--iters', type=int, nargs='+', required=True)
    parser.add_argument('--seed', type=int, default=100, help='a development seed')
    parser.add_argument('--data', choices=list(CONFIGS), default='scenes')
    parser.add_argument('--data-seed', type=int, default=0)
    parser.add_argument('--trainval', type=int, default=1000)
    parser.add_argument('--test', type=int, default=300)
    parser.add_argument('--size', type=int, default=128)
    parser.add_argument('--epochs-per-cycle', type=int, default=20)
    parser.add_argument('--milestone', type=int, default=15)
    parser.add_argument('--cfg-options', nargs='*', default=[])
    args = parser.parse_args()
    results = os.path.join(ROOT, 'docs', 'results', args.name)
    args.work = os.path.join(ROOT, 'work_dirs', args.name)
    args.data_dir = os.path.join(ROOT, 'data', f'compare_{args.data}_{args.data_seed}_{args.size}')
    args.budget = 1
    os.makedirs(results, exist_ok=True)
    root = make_data(args)
    try:
        sizes = run_sizes(args.sizes, root)
    except ValueError as error:
        parser.error(str(error))
    for size in sizes:
        for iters in args.iters:
            kept = os.path.join(results, f'size{size}_iters{iters}.json')
            if not complete(kept):
                run_one(args, root, size, iters, kept)
    rows = {}  # every run kept in the folder, this invocation's or an earlier one's
    for name in sorted(os.listdir(results)):
        if name.startswith('size') and name.endswith('.json'):
            with open(os.path.join(results, name)) as f:
                run = json.load(f)
            size, iters = len(run['meta']['initial']['ids']), run['meta']['iters_per_cycle']
            row = run['cycles'][0]
            rows[f'{size}_{iters}'] = dict(size=size, iters=iters, mAP=row['mAP'],
                                           train_seconds=row['train_seconds'])
    sizes = sorted({r['size'] for r in rows.values()})
    iters = sorted({r['iters'] for r in rows.values()})
    with open(os.path.join(results, 'curve.json'), 'w') as f:
        json.dump(dict(seed=args.seed, epochs_per_cycle=args.epochs_per_cycle,
                       milestone=args.milestone, rows=list(rows.values())), f, indent=1)
    with open(os.path.join(results, 'curve.md'), 'w') as f:
        f.write(table(rows, sizes, iters))
    print(table(rows, sizes, iters))


if __name__ == '__main__':
    main()
