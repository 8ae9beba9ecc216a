"""Build the real single-class VOC tree of aerial tree crowns (deepforest's data).

    python tools/data/make_trees.py [--out data/trees] [--tile 320]
"""
import argparse
import json

from taal_det.demo_data import trees
from taal_det.demo_data.voc_writer import read_manifest, write_voc_tree


def build(out, tile=320, min_side=2, min_visible=0.5, force=False):
    """Write the tree unless an identical one is already there; return its manifest."""
    recipe = dict(source='deepforest==2.1.0 data/', tile=tile, min_side=min_side,
                  min_visible=min_visible, split='sha1(img_id) % 4 == 0 -> test')
    old = read_manifest(out)
    if old and old['recipe'] == recipe and not force:
        return old
    samples = trees.tree_samples(tile, min_side, min_visible)
    splits = dict(trainval=lambda i: not trees.in_test_split(i), test=trees.in_test_split)
    return write_voc_tree(out, samples, splits, trees.CLASSES, recipe)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/trees')
    parser.add_argument('--tile', type=int, default=320, help='tile size in pixels (about)')
    parser.add_argument('--min-side', type=int, default=2, help='drop clipped boxes thinner')
    parser.add_argument('--min-visible', type=float, default=0.5,
                        help='mark difficult below this visible fraction')
    parser.add_argument('--force', action='store_true', help='rebuild even if up to date')
    args = parser.parse_args()
    try:
        manifest = build(args.out, args.tile, args.min_side, args.min_visible, args.force)
    except FileNotFoundError as e:
        raise SystemExit(f'error: {e}')
    print(json.dumps(manifest['splits'], indent=1))


if __name__ == '__main__':
    main()
