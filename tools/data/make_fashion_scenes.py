"""Build multi-class VOC scenes: Fashion-MNIST objects pasted onto real photos.

    python tools/data/make_fashion_scenes.py [--out data/fashion_scenes]
        [--trainval 2000 --test 500 --size 128 --min-objects 1 --max-objects 4 --seed 0]
"""
import argparse
import json

from taal_det.demo_data import fashion_scenes
from taal_det.demo_data.voc_writer import read_manifest, write_voc_tree


def build(out, trainval=2000, test=500, size=128, objects=(1, 4), seed=0, force=False):
    """Write the scenes unless identical ones are already there; return the manifest."""
    recipe = dict(source='Debian dataset-fashion-mnist + scikit-image photos', trainval=trainval,
                  test=test, size=size, objects=list(objects), seed=seed)
    old = read_manifest(out)
    if old and old['recipe'] == recipe and not force:
        return old
    samples = fashion_scenes.scene_samples(trainval, test, size, tuple(objects), seed)
    splits = dict(trainval=lambda i: i.startswith('tv_'), test=lambda i: i.startswith('te_'))
    return write_voc_tree(out, samples, splits, fashion_scenes.CLASSES, recipe)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/fashion_scenes')
    parser.add_argument('--trainval', type=int, default=2000, help='number of pool scenes')
    parser.add_argument('--test', type=int, default=500, help='number of test scenes')
    parser.add_argument('--size', type=int, default=128, help='scene side in pixels')
    parser.add_argument('--min-objects', type=int, default=1)
    parser.add_argument('--max-objects', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true', help='rebuild even if up to date')
    args = parser.parse_args()
    if not 1 <= args.min_objects <= args.max_objects:
        raise SystemExit('error: need 1 <= --min-objects <= --max-objects')
    try:
        manifest = build(args.out, args.trainval, args.test, args.size,
                         (args.min_objects, args.max_objects), args.seed, args.force)
    except FileNotFoundError as e:
        raise SystemExit(f'error: {e}')
    print(json.dumps(manifest['splits'], indent=1))


if __name__ == '__main__':
    main()
