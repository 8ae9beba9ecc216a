"""Write a VOCdevkit-style tree (JPEGImages/, Annotations/, ImageSets/Main/) atomically.

Boxes are given as mmdet reads them back from VOC XML: 0-based inclusive pixel
coordinates (mmdet's ``XMLDataset`` subtracts 1 from the 1-based XML values), so a
box written here loads back unchanged through mmdet's ``VOCDataset``.
"""
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import List
from xml.sax.saxutils import escape

MANIFEST = 'taal_det_dataset.json'


@dataclass
class Box:
    name: str
    x1: int
    y1: int
    x2: int
    y2: int
    difficult: int = 0
    truncated: int = 0


@dataclass
class Sample:
    img_id: str
    image: object  # a PIL image
    boxes: List[Box] = field(default_factory=list)


def annotation_xml(sample, folder='taal_det'):
    w, h = sample.image.size
    objects = ''.join(
        f'  <object>\n    <name>{escape(b.name)}</name>\n    <pose>Unspecified</pose>\n'
        f'    <truncated>{b.truncated}</truncated>\n    <difficult>{b.difficult}</difficult>\n'
        f'    <bndbox>\n      <xmin>{b.x1 + 1}</xmin>\n      <ymin>{b.y1 + 1}</ymin>\n'
        f'      <xmax>{b.x2 + 1}</xmax>\n      <ymax>{b.y2 + 1}</ymax>\n    </bndbox>\n'
        f'  </object>\n' for b in sample.boxes)
    return (f'<annotation>\n  <folder>{folder}</folder>\n  <filename>{sample.img_id}.jpg'
            f'</filename>\n  <size>\n    <width>{w}</width>\n    <height>{h}</height>\n'
            f'    <depth>3</depth>\n  </size>\n  <segmented>0</segmented>\n{objects}'
            '</annotation>\n')


def read_manifest(out_dir):
    path = os.path.join(out_dir, MANIFEST)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def write_voc_tree(out_dir, samples, splits, classes, recipe):
    """Write every sample, the split lists and a manifest; replace ``out_dir`` whole.

    ``splits`` maps a split name to a function img_id -> bool. The tree is built in a
    temporary sibling folder and renamed into place, so a crash leaves no half tree.
    Returns the manifest (counts per split and class).
    """
    out_dir = os.path.abspath(out_dir)
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix='.' + os.path.basename(out_dir) + '.tmp')
    try:
        for sub in ('JPEGImages', 'Annotations', os.path.join('ImageSets', 'Main')):
            os.makedirs(os.path.join(tmp, sub))
        lists = {name: [] for name in splits}
        counts = {name: dict(images=0, boxes=0, difficult=0, per_class={c: 0 for c in classes})
                  for name in splits}
        for sample in samples:
            sample.image.convert('RGB').save(
                os.path.join(tmp, 'JPEGImages', sample.img_id + '.jpg'), quality=95)
            with open(os.path.join(tmp, 'Annotations', sample.img_id + '.xml'), 'w') as f:
                f.write(annotation_xml(sample))
            for name, belongs in splits.items():
                if belongs(sample.img_id):
                    lists[name].append(sample.img_id)
                    c = counts[name]
                    c['images'] += 1
                    c['boxes'] += len(sample.boxes)
                    c['difficult'] += sum(b.difficult for b in sample.boxes)
                    for b in sample.boxes:
                        c['per_class'][b.name] += 1
        for name, ids in lists.items():
            with open(os.path.join(tmp, 'ImageSets', 'Main', name + '.txt'), 'w') as f:
                f.write(''.join(i + '\n' for i in sorted(ids)))
        manifest = dict(classes=list(classes), recipe=recipe, splits=counts)
        with open(os.path.join(tmp, MANIFEST), 'w') as f:
            json.dump(manifest, f, indent=1)
        old = None
        if os.path.exists(out_dir):
            old = tempfile.mkdtemp(dir=parent, prefix='.' + os.path.basename(out_dir) + '.old')
            os.replace(out_dir, os.path.join(old, 'tree'))
        os.replace(tmp, out_dir)
        if old:
            shutil.rmtree(old)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
