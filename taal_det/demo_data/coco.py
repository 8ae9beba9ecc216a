"""A split of a VOC-format tree written as COCO JSON (for mmdet's CocoDataset configs)."""
import json
import os
import xml.etree.ElementTree as ET


def voc_split_to_coco(root, split, classes):
    """COCO dict of ``ImageSets/Main/{split}.txt``: images numbered 1.. in list order,
    file names relative to ``root``, categories 1.. in ``classes`` order."""
    with open(os.path.join(root, 'ImageSets', 'Main', f'{split}.txt')) as f:
        names = f.read().split()
    category = {name: i + 1 for i, name in enumerate(classes)}
    images, annotations = [], []
    for image_id, name in enumerate(names, 1):
        tree = ET.parse(os.path.join(root, 'Annotations', f'{name}.xml')).getroot()
        size = tree.find('size')
        images.append(dict(id=image_id, file_name=f'JPEGImages/{name}.jpg',
                           width=int(size.find('width').text),
                           height=int(size.find('height').text)))
        for obj in tree.findall('object'):
            box = obj.find('bndbox')
            x1, y1, x2, y2 = (float(box.find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax'))
            difficult = obj.find('difficult')
            annotations.append(dict(
                id=len(annotations) + 1, image_id=image_id,
                category_id=category[obj.find('name').text], bbox=[x1, y1, x2 - x1, y2 - y1],
                area=(x2 - x1) * (y2 - y1),
                iscrowd=int(difficult is not None and difficult.text == '1')))
    return dict(images=images, annotations=annotations,
                categories=[dict(id=i, name=n) for n, i in category.items()])


def write_coco(root, split, classes, out):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(voc_split_to_coco(root, split, classes), f)
