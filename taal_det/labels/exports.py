"""Annotations as annotation tools export them, mapped back to pool images (no mmengine).

An export names images by file, not by pool id, and Label Studio renames uploaded files
``8f3a1c2e-<name>`` (8 hex digits of a uuid and a dash), so a file is matched to a pool
image by its stem: exactly, or without that prefix.

A *record* is one image's annotation in a canonical form: the sorted tuples
``(class name, x1, y1, x2, y2, difficult)`` (COCO's ``iscrowd`` as difficult), so the
same boxes read from two files compare equal and a digest tells a change.
"""
import hashlib
import json
import posixpath
import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote, urlparse

UPLOAD_PREFIX = re.compile(r'[0-9a-f]{8}-(.+)')


class LabelError(ValueError):
    """Annotations that cannot be read or matched unambiguously."""


def file_stem(name):
    """The file name without folder and extension of a path or of a Label Studio URL
    (``/data/upload/3/8f3a1c2e-x.jpg``, ``/data/local-files/?d=trees/x.jpg``)."""
    if '?' in name or '://' in name:  # a URL: the path, or the local file it serves
        url = urlparse(name)
        local = re.search(r'(?:^|&)d=([^&]+)', url.query)
        name = unquote(local.group(1) if local else url.path)
    return posixpath.splitext(posixpath.basename(name.replace('\\', '/')))[0]


def match_stem(stem, known):
    """The value of ``known`` (a dict keyed by pool file stems) that ``stem`` names: its
    own entry, or the entry of the stem without Label Studio's upload prefix; None."""
    if stem in known:
        return known[stem]
    upload = UPLOAD_PREFIX.fullmatch(stem)
    return known.get(upload.group(1)) if upload else None


def match_files(names, known):
    """{pool id: name} of the file names among ``names`` that name a pool image (others,
    e.g. the test images' annotations, are left out); two names for one image are refused."""
    found = {}
    for name in sorted(names):
        key = match_stem(file_stem(name), known)
        if key is None:
            continue
        if key in found:
            raise LabelError(f'two annotations for image {key}: {found[key]} and {name}; '
                             'keep one')
        found[key] = name
    return found


def to_record(objects):
    """The canonical record of ``(name, x1, y1, x2, y2, difficult)`` tuples."""
    return tuple(sorted((str(n).strip(), *(round(float(v), 3) for v in box), int(flag))
                        for n, *box, flag in objects))


def digest(record):
    """A short fingerprint of a record."""
    return hashlib.sha1(json.dumps(record).encode()).hexdigest()[:16]


def voc_record(path):
    """The record of a Pascal VOC XML file (a file without ``<object>`` is an image with
    no objects)."""
    try:
        root = ET.parse(path).getroot()
        objects = []
        for obj in root.findall('object'):
            box = obj.find('bndbox')
            difficult = obj.find('difficult')
            objects.append((obj.find('name').text,
                            *(box.find(k).text for k in ('xmin', 'ymin', 'xmax', 'ymax')),
                            0 if difficult is None else int(difficult.text)))
        return to_record(objects)
    except (ET.ParseError, AttributeError, TypeError, ValueError) as e:
        raise LabelError(f'{path} is not a readable VOC annotation ({e})') from None


def coco_annotations(data, source=''):
    """{image file name: [dict(name, bbox, iscrowd)]} of a COCO JSON dict (an export):
    every image it lists, with its boxes ([] for an image labelled with no objects) and
    their class names. One image listed twice with different boxes is refused."""
    names = {c['id']: c['name'] for c in data.get('categories', [])}
    boxes = {image['id']: [] for image in data.get('images', [])}
    for ann in data.get('annotations', []):
        if ann.get('ignore'):
            continue
        if ann.get('image_id') not in boxes or ann.get('category_id') not in names:
            raise LabelError(f'{source}: annotation {ann.get("id")} refers to an image or '
                             'category the file does not list')
        boxes[ann['image_id']].append(dict(name=names[ann['category_id']],
                                           bbox=list(ann['bbox']),
                                           iscrowd=int(ann.get('iscrowd', 0))))
    out = {}
    for image in data.get('images', []):
        name, anns = image['file_name'], boxes[image['id']]
        if name in out and coco_record(out[name]) != coco_record(anns):
            raise LabelError(f'{source}: image {name} is listed twice with different '
                             'annotations (two annotators?); keep one')
        out[name] = anns
    return out


def coco_record(anns):
    """The record of ``coco_annotations`` entries (COCO boxes are x, y, w, h)."""
    return to_record((a['name'], a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                      a['bbox'][1] + a['bbox'][3], a['iscrowd']) for a in anns)


def read_coco_exports(paths):
    """{image file name: (annotations, file)} of COCO JSON exports read in name order;
    an image in two files must have the same boxes in both."""
    out = {}
    for path in sorted(paths):
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            raise LabelError(f'{path} is not a readable COCO JSON file ({e})') from None
        for name, anns in coco_annotations(data, path).items():
            if name in out and coco_record(out[name][0]) != coco_record(anns):
                raise LabelError(f'image {name} is annotated differently in {out[name][1]} '
                                 f'and {path}; keep one')
            out.setdefault(name, (anns, path))
    return out
