"""Write splits of a VOC-format tree (e.g. data/trees) as COCO JSON beside it.

    python tools/data/voc_to_coco.py data/trees --splits trainval test --classes Tree
"""
import argparse
import os

from taal_det.demo_data.coco import write_coco


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root')
    parser.add_argument('--splits', nargs='+', default=['trainval', 'test'])
    parser.add_argument('--classes', nargs='+', default=['Tree'])
    args = parser.parse_args()
    for split in args.splits:
        out = os.path.join(args.root, 'annotations', f'{split}.json')
        write_coco(args.root, split, args.classes, out)
        print(out)


if __name__ == '__main__':
    main()
