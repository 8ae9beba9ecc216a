"""A scripted annotator for the human-in-the-loop tests: pools whose unlabelled images
have no annotations, made from a fully annotated VOC tree, and the hidden true labels of
queried images written back as Label Studio's converters write their exports (uploaded
file names prefixed with 8 hex digits, its XML layout, its COCO layout)."""
import hashlib
import json
import os
import shutil
import xml.dom.minidom
import xml.etree.ElementTree as ET


def uploaded(img_id):
    """The name Label Studio gives an uploaded ``<img_id>.jpg`` (without extension)."""
    return hashlib.sha1(img_id.encode()).hexdigest()[:8] + '-' + img_id


def voc_pool(truth_root, out, annotated):
    """A copy of a VOC tree in which only the ``annotated`` ids keep their XML."""
    shutil.copytree(truth_root, out, ignore=shutil.ignore_patterns('Annotations'))
    os.makedirs(os.path.join(out, 'Annotations'))
    for img_id in annotated:
        shutil.copy(os.path.join(truth_root, 'Annotations', f'{img_id}.xml'),
                    os.path.join(out, 'Annotations'))
    return out


def _child(doc, tag, text, parent):
    node = doc.createElement(tag)
    node.appendChild(doc.createTextNode(str(text)))
    parent.appendChild(node)


def label_studio_voc(truth_xml, img_id):
    """The true annotation of an image as Label Studio's VOC converter writes it (its
    nodes and order, minidom's output; the true ``difficult`` flags kept, so the labels
    equal the simulation's)."""
    truth = ET.parse(truth_xml).getroot()
    name = uploaded(img_id)
    doc = xml.dom.minidom.getDOMImplementation().createDocument(None, 'annotation', None)
    root = doc.documentElement
    _child(doc, 'folder', 'images', root)
    _child(doc, 'filename', f'{name}.jpg', root)
    source = doc.createElement('source')
    for tag, text in (('database', 'MyDatabase'), ('annotation', 'COCO2017'),
                      ('image', 'flickr'), ('flickrid', 'NULL'), ('annotator', '')):
        _child(doc, tag, text, source)
    root.appendChild(source)
    owner = doc.createElement('owner')
    _child(doc, 'flickrid', 'NULL', owner)
    _child(doc, 'name', 'Label Studio', owner)
    root.appendChild(owner)
    size = doc.createElement('size')
    for tag in ('width', 'height', 'depth'):
        _child(doc, tag, truth.find('size').find(tag).text, size)
    root.appendChild(size)
    _child(doc, 'segmented', '0', root)
    for obj in truth.findall('object'):
        node = doc.createElement('object')
        _child(doc, 'name', obj.find('name').text, node)
        _child(doc, 'pose', 'Unspecified', node)
        _child(doc, 'truncated', '0', node)
        _child(doc, 'difficult', obj.find('difficult').text, node)
        box = doc.createElement('bndbox')
        for tag in ('xmin', 'ymin', 'xmax', 'ymax'):
            _child(doc, tag, obj.find('bndbox').find(tag).text, box)
        node.appendChild(box)
        root.appendChild(node)
    return doc.toprettyxml(indent='', newl='\n', encoding='utf-8').decode()


def annotate_voc(truth_root, pool_root, ids):
    """Label ``ids``: their true XML, as Label Studio exports it, into Annotations/."""
    for img_id in ids:
        text = label_studio_voc(os.path.join(truth_root, 'Annotations', f'{img_id}.xml'), img_id)
        with open(os.path.join(pool_root, 'Annotations', f'{uploaded(img_id)}.xml'), 'w') as f:
            f.write(text)


def coco_pool(truth_json, out_json, annotated):
    """A copy of a COCO JSON that keeps the annotations of the ``annotated`` image ids,
    and beside it the list of those ids (``<name>_annotated.txt``: the images without
    objects among them are annotated too); return the list's path."""
    with open(truth_json) as f:
        data = json.load(f)
    keep = {int(i) for i in annotated}
    data['annotations'] = [a for a in data['annotations'] if a['image_id'] in keep]
    with open(out_json, 'w') as f:
        json.dump(data, f)
    listed = os.path.splitext(out_json)[0] + '_annotated.txt'
    with open(listed, 'w') as f:
        f.write(''.join(f'{i}\n' for i in annotated))
    return listed


def label_studio_coco(truth_json, ids):
    """The true annotations of the images ``ids`` as Label Studio's COCO converter writes
    an export: images numbered from 0 under ``images/`` with upload names, categories
    numbered from 0, boxes as x, y, w, h."""
    with open(truth_json) as f:
        truth = json.load(f)
    names = {c['id']: c['name'] for c in truth['categories']}
    categories = [dict(id=k, name=n) for k, n in enumerate(sorted(names.values()))]
    category_id = {c['name']: c['id'] for c in categories}
    by_id = {str(image['id']): image for image in truth['images']}
    images, annotations = [], []
    for k, img_id in enumerate(ids):
        image = by_id[img_id]
        stem = os.path.splitext(os.path.basename(image['file_name']))[0]
        images.append(dict(width=image['width'], height=image['height'], id=k,
                           file_name=f'images/{uploaded(stem)}.jpg'))
        for ann in truth['annotations']:
            if ann['image_id'] == image['id']:
                annotations.append(dict(
                    id=len(annotations), image_id=k,
                    category_id=category_id[names[ann['category_id']]], segmentation=[],
                    bbox=ann['bbox'], ignore=0, iscrowd=ann['iscrowd'], area=ann['area']))
    return dict(images=images, categories=categories, annotations=annotations,
                info=dict(year=2024, version='1.0', description='', contributor='Label Studio',
                          url='', date_created='2024-01-01 00:00:00'))


def annotate_coco(truth_json, labels_dir, ids, name):
    """Label ``ids``: their true annotations, as a Label Studio COCO export, saved as
    ``labels_dir/name``."""
    os.makedirs(labels_dir, exist_ok=True)
    with open(os.path.join(labels_dir, name), 'w') as f:
        json.dump(label_studio_coco(truth_json, ids), f, indent=2)
