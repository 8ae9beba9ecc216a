"""Real aerial tree crowns from the ``deepforest`` package, as a VOC tree.

deepforest 2.1.0 ships RGB orthophoto crops with Pascal VOC XML boxes (951 boxes).
Each annotated image is cut into a grid of non-overlapping tiles of about ``tile``
pixels (the grid divides the image exactly, so no tile overlaps another and no
pixel is lost). Boxes are clipped to their tile; the rule for cut boxes:

* a clipped box under ``min_side`` pixels wide or high is a sliver and is dropped;
* a box with less than ``min_visible`` of its area inside the tile is kept but
  marked ``difficult`` (mmdet then neither trains on it nor counts it in VOC mAP);
* any clipped box is marked ``truncated``.

Every tree is class ``Tree`` (the few boxes labelled Dead/Alive are tree crowns too).
The split is deterministic: a tile is in ``test`` when the SHA-1 of its id is 0 mod 4.
"""
import hashlib
import importlib.util
import os
import xml.etree.ElementTree as ET

from .voc_writer import Box, Sample

CLASSES = ('Tree',)
INSTALL_HINT = 'pip install --no-deps deepforest==2.1.0'


def deepforest_data_dir():
    spec = importlib.util.find_spec('deepforest')
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f'the deepforest package is not installed; run: {INSTALL_HINT}')
    folder = os.path.join(list(spec.submodule_search_locations)[0], 'data')
    if not os.path.isdir(folder):
        raise FileNotFoundError(f'deepforest has no data/ folder at {folder}; run: {INSTALL_HINT}')
    return folder


def in_test_split(img_id):
    return int(hashlib.sha1(img_id.encode()).hexdigest(), 16) % 4 == 0


def _read_source(xml_path):
    root = ET.parse(xml_path).getroot()
    boxes = [tuple(int(float(o.find('bndbox').find(k).text)) - 1
                   for k in ('xmin', 'ymin', 'xmax', 'ymax')) for o in root.findall('object')]
    return root.find('filename').text, boxes


def _edges(length, tile):
    n = max(1, round(length / tile))
    return [round(i * length / n) for i in range(n + 1)]


def clip_box(box, x0, y0, x1, y1, min_side=2, min_visible=0.5):
    """Clip an inclusive box to the tile [x0, x1) x [y0, y1); None for a sliver."""
    bx1, by1, bx2, by2 = box
    cx1, cy1 = max(bx1, x0), max(by1, y0)
    cx2, cy2 = min(bx2, x1 - 1), min(by2, y1 - 1)
    if cx2 - cx1 + 1 < min_side or cy2 - cy1 + 1 < min_side:
        return None
    area = (bx2 - bx1 + 1) * (by2 - by1 + 1)
    visible = (cx2 - cx1 + 1) * (cy2 - cy1 + 1) / area
    clipped = (cx1, cy1, cx2, cy2) != tuple(box)
    return Box('Tree', cx1 - x0, cy1 - y0, cx2 - x0, cy2 - y0,
               difficult=int(visible < min_visible), truncated=int(clipped))


def tree_samples(tile=320, min_side=2, min_visible=0.5, data_dir=None):
    """Yield the tiles of every annotated deepforest image, in a fixed order."""
    from PIL import Image
    data_dir = data_dir or deepforest_data_dir()
    xmls = sorted(f for f in os.listdir(data_dir) if f.endswith('.xml'))
    if not xmls:
        raise FileNotFoundError(f'no VOC XML files in {data_dir}; run: {INSTALL_HINT}')
    for xml in xmls:
        filename, boxes = _read_source(os.path.join(data_dir, xml))
        stem = os.path.splitext(filename)[0]
        png = os.path.join(data_dir, stem + '.png')
        image = Image.open(png if os.path.exists(png) else os.path.join(data_dir, filename))
        image = image.convert('RGB')
        xs, ys = _edges(image.width, tile), _edges(image.height, tile)
        tag = ''.join(c if c.isalnum() else '_' for c in stem)
        for r in range(len(ys) - 1):
            for c in range(len(xs) - 1):
                x0, x1, y0, y1 = xs[c], xs[c + 1], ys[r], ys[r + 1]
                kept = [clip_box(b, x0, y0, x1, y1, min_side, min_visible) for b in boxes]
                yield Sample(f'{tag}_r{r:02d}c{c:02d}', image.crop((x0, y0, x1, y1)),
                             [b for b in kept if b is not None])
