"""Reading a person's labels back (taal_det.labels, plain Python): exported file names
mapped to pool ids, VOC XML and COCO JSON as Label Studio's converters write them, and
the check of a query's labels with each refusal's message."""
import json
import os

import pytest

from scripted_annotator import label_studio_coco, label_studio_voc, uploaded
from taal_det.demo_data.voc_writer import Box, Sample, annotation_xml
from taal_det.labels import (LabelError, coco_record, file_stem, match_files, match_stem,
                             read_coco_exports, review_labels, voc_record)


class _Image:
    size = (40, 30)


def write_xml(folder, name, boxes):
    path = os.path.join(folder, name)
    with open(path, 'w') as f:
        f.write(annotation_xml(Sample('img', _Image(), boxes)))
    return path


@pytest.mark.parametrize('name, stem', [
    ('JPEGImages/tv_0001.jpg', 'tv_0001'),
    ('images/8f3a1c2e-tv_0001.jpg', '8f3a1c2e-tv_0001'),
    ('/data/upload/3/8f3a1c2e-tv_0001.jpg', '8f3a1c2e-tv_0001'),
    ('/data/local-files/?d=trees/JPEGImages/tv_0001.jpg', 'tv_0001'),
    ('http://host/data/local-files/?d=a%20b/tv.0001.png', 'tv.0001'),
    ('C:\\labels\\tv_0001.xml', 'tv_0001'),
    ('JPEGImages/a#1 b%20.jpg', 'a#1 b%20'),  # a plain path is taken as it is
])
def test_file_stem_of_paths_and_label_studio_urls(name, stem):
    assert file_stem(name) == stem


def test_upload_prefix_is_stripped_only_when_the_name_itself_is_not_a_pool_image():
    known = {'tv_0001': 'A', '8f3a1c2e-tv_0002': 'B', 'tv_0002': 'C'}
    assert match_stem('8f3a1c2e-tv_0001', known) == 'A'
    assert match_stem('8f3a1c2e-tv_0002', known) == 'B'  # an image really named so
    assert match_stem('8f3a1c2-tv_0001', known) is None  # 7 digits: not Label Studio's
    assert match_stem('tv_0003', known) is None


def test_match_files_keeps_pool_images_and_refuses_two_files_for_one():
    ids = {i: i for i in ('a', 'b')}
    assert match_files(['a.xml', f"{uploaded('b')}.xml", 'test_9.xml'], ids) == \
        {'a': 'a.xml', 'b': f"{uploaded('b')}.xml"}
    with pytest.raises(LabelError, match=f"two annotations for image a: {uploaded('a')}.xml "
                       'and a.xml; keep one'):
        match_files(['a.xml', f"{uploaded('a')}.xml"], ids)


def test_voc_record_is_the_same_in_label_studio_layout_and_reads_empty_files(tmp_path):
    boxes = [Box('Tree', 4, 5, 20, 25, difficult=1), Box('Tree', 0, 0, 9, 9)]
    ours = write_xml(str(tmp_path), 'img.xml', boxes)
    theirs = tmp_path / 'ls.xml'
    theirs.write_text(label_studio_voc(ours, 'img'))
    assert voc_record(str(theirs)) == voc_record(ours)
    assert voc_record(ours) == (('Tree', 1.0, 1.0, 10.0, 10.0, 0),
                                ('Tree', 5.0, 6.0, 21.0, 26.0, 1))
    assert voc_record(write_xml(str(tmp_path), 'empty.xml', [])) == ()
    (tmp_path / 'bad.xml').write_text('<annotation><object><name>Tree</name></object>')
    with pytest.raises(LabelError, match='bad.xml is not a readable VOC annotation'):
        voc_record(str(tmp_path / 'bad.xml'))


@pytest.fixture
def truth_coco(tmp_path):
    """A COCO JSON of three images (the second without objects), categories from 1."""
    data = dict(images=[dict(id=k, file_name=f'JPEGImages/im{k}.jpg', width=40, height=30)
                        for k in (1, 2, 3)],
                categories=[dict(id=1, name='Tree'), dict(id=2, name='Bush')],
                annotations=[dict(id=1, image_id=1, category_id=1, bbox=[1, 2, 3, 4], area=12,
                                  iscrowd=0),
                             dict(id=2, image_id=3, category_id=2, bbox=[5, 5, 10, 10],
                                  area=100, iscrowd=1)])
    path = str(tmp_path / 'truth.json')
    with open(path, 'w') as f:
        json.dump(data, f)
    return path


def test_label_studio_coco_export_read_by_file_and_class_name(truth_coco, tmp_path):
    export = label_studio_coco(truth_coco, ['1', '2', '3'])
    assert [c['id'] for c in export['categories']] == [0, 1]  # its own numbering
    path = str(tmp_path / 'cycle_1.json')
    with open(path, 'w') as f:
        json.dump(export, f)
    read = read_coco_exports([path])
    names = {file_stem(n): anns for n, (anns, _) in read.items()}
    assert set(names) == {uploaded(f'im{k}') for k in (1, 2, 3)}
    assert names[uploaded('im2')] == []  # listed without boxes: labelled, no objects
    assert coco_record(names[uploaded('im3')]) == (('Bush', 5.0, 5.0, 15.0, 15.0, 1),)
    assert coco_record(names[uploaded('im1')]) == (('Tree', 1.0, 2.0, 4.0, 6.0, 0),)


def test_coco_exports_that_disagree_on_an_image_are_refused(truth_coco, tmp_path):
    first = label_studio_coco(truth_coco, ['1'])
    second = json.loads(json.dumps(first))
    second['annotations'][0]['bbox'] = [2, 2, 3, 4]
    paths = []
    for name, data in (('a.json', first), ('b.json', second)):
        paths.append(str(tmp_path / name))
        with open(paths[-1], 'w') as f:
            json.dump(data, f)
    assert read_coco_exports(paths[:1]) == read_coco_exports([paths[0], paths[0]])
    with pytest.raises(LabelError, match=f"image images/{uploaded('im1')}.jpg is annotated "
                       'differently in .*a.json and .*b.json; keep one'):
        read_coco_exports(paths)
    # two annotators of one task: the converter lists the image twice, under two ids
    twice = dict(first, images=first['images'] + [dict(first['images'][0], id=1)],
                 annotations=first['annotations'] + [dict(second['annotations'][0], id=9,
                                                          image_id=1)])
    with open(paths[0], 'w') as f:
        json.dump(twice, f)
    with pytest.raises(LabelError, match='is listed twice with different annotations'):
        read_coco_exports(paths[:1])


QUERIED = ['q1', 'q2', 'q3']
LABELLED = {'l1': 'd-l1', 'l2': 'd-l2'}


def found(**changes):
    """{id: digest} of a complete answer, with ``changes`` (None removes an id)."""
    out = dict(LABELLED, **{i: f'd-{i}' for i in QUERIED})
    out.update(changes)
    return {i: d for i, d in out.items() if d is not None}


def test_complete_labels_pass_and_corrections_are_returned_when_allowed():
    assert review_labels(QUERIED, LABELLED, found()) == []
    assert review_labels(QUERIED, LABELLED, found(l2='new'), allow_corrections=True) == ['l2']


@pytest.mark.parametrize('answer, unknown, message', [
    (found(q2=None), None,
     'no annotation for 1 of 3 images queried: q2 (an image without objects needs an empty '
     'annotation: a VOC XML without <object>, or the image listed in a COCO export without '
     'boxes)'),
    (found(other='d', zz='d'), None,
     'annotations for 2 images not queried: other, zz (remove them: an image joins the '
     'labelled set when a query asks for it)'),
    (found(l1='changed'), None,
     "annotations of 1 image of the labelled set changed: l1 (restore them, or set the hook's "
     'allow_corrections=True to accept corrections)'),
    (found(l2=None), None, 'annotations removed for 1 image of the labelled set: l2'),
    (found(), {'q3': ['tree'], 'l1': ['old']},
     "class names outside the dataset's classes in 1 image: q3 (tree)"),
])
def test_each_refusal_names_its_images(answer, unknown, message):
    with pytest.raises(LabelError) as info:
        review_labels(QUERIED, LABELLED, answer, unknown)
    assert str(info.value) == message


def test_every_problem_in_one_message_and_long_lists_counted():
    queried = [f'q{k:02d}' for k in range(25)]
    with pytest.raises(LabelError) as info:
        review_labels(queried, LABELLED, {'x': 'd', **LABELLED})
    text = str(info.value)
    assert text.startswith('no annotation for 25 of 25 images queried: q00, q01, ')
    assert 'q19 and 5 more' in text and 'q20' not in text
    assert text.endswith('annotations for 1 image not queried: x (remove them: an image joins '
                         'the labelled set when a query asks for it)')
    assert '; ' in text and '\n' not in text
