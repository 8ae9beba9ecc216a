"""Which class-distribution uncertainty variants pick different images? One scoring of a
run's unlabelled pool after cycle 0 (kept detections, and the top-k priors before NMS)
gives the picks of all 3 measures x 3 reductions x 2 box sets; their pairwise overlaps
say which variants are worth a training run each.

    python tools/benchmarks/uncertainty_variants.py work_dirs/compare/dev/random_seed100 \
        --data-root data/compare_scenes_0_128 --budget 50 --pre-nms-topk 100 \
        --out docs/results/uncertainty_variants/seed100.json
"""
import argparse
import itertools
import json
import os
import sys

from mmengine.config import Config
from mmengine.registry import init_default_scope

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
from al_query import ImageFolder, load_model  # noqa: E402

MEASURES = ('entropy', 'least_confidence', 'margin')
REDUCTIONS = ('max', 'mean', 'sum')


def jaccard(a, b):
    return len(set(a) & set(b)) / len(set(a) | set(b))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('run', help='a run folder with its cycle-0 checkpoint and pool/')
    parser.add_argument('--data-root', required=True, help='the VOC-format pool')
    parser.add_argument('--budget', type=int, required=True)
    parser.add_argument('--pre-nms-topk', type=int, default=100)
    parser.add_argument('--epochs-per-cycle', type=int, default=20)
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    config = next(os.path.join(args.run, n) for n in os.listdir(args.run) if n.endswith('.py'))
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    import taal_det  # noqa: F401 (registers the models)
    from taal_det.hooks.scoring import PoolScorer
    from taal_det.strategies import UncertaintyStrategy

    with open(os.path.join(args.run, 'pool', 'cycle_0.json')) as f:
        labelled = set(json.load(f)['labelled'])
    with open(os.path.join(args.data_root, 'ImageSets', 'Main', 'trainval.txt')) as f:
        pool = [line.strip() for line in f if line.strip()]
    unlabelled = sorted(set(pool) - labelled)
    folder = ImageFolder({i: os.path.join(args.data_root, 'JPEGImages', f'{i}.jpg')
                          for i in unlabelled})
    model = load_model(cfg, os.path.join(args.run, f'epoch_{args.epochs_per_cycle}.pth'))
    picks = {}
    for topk in (None, args.pre_nms_topk):
        scorer = PoolScorer(model, folder, {i: k for k, i in enumerate(folder.ids)},
                            cfg.val_dataloader.dataset.pipeline, cfg.train_dataloader.batch_size,
                            pre_nms_topk=topk)
        outputs = scorer.score(unlabelled, {'box_probs'})
        for measure, reduce in itertools.product(MEASURES, REDUCTIONS):
            strategy = UncertaintyStrategy(measure=measure, reduce=reduce, pre_nms_topk=topk)
            name = f'{measure}-{reduce}' + (f'-pre{topk}' if topk else '')
            picks[name] = strategy(outputs, args.budget)
    names = list(picks)
    overlap = {a: {b: round(jaccard(picks[a], picks[b]), 3) for b in names} for a in names}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(dict(run=args.run, budget=args.budget, unlabelled=len(unlabelled),
                       picks=picks, overlap=overlap), f, indent=1)
    width = max(map(len, names))
    print(' ' * width, ' '.join(f'{n[:6]:>6}' for n in names))
    for a in names:
        print(f'{a:>{width}}', ' '.join(f'{overlap[a][b]:6.2f}' for b in names))


if __name__ == '__main__':
    main()
