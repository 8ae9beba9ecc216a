import importlib.util
import json
import os

import pytest
import torch
from mmdet.datasets import VOCDataset
from mmdet.evaluation import VOCMetric
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from make_fashion_scenes import build as build_scenes
from make_trees import build as build_trees
from taal_det.demo_data import fashion_scenes, trees
from taal_det.demo_data.voc_writer import Box, Sample, write_voc_tree


def voc(root, classes, split):
    return VOCDataset(data_root=root, ann_file=f'ImageSets/Main/{split}.txt',
                      data_prefix=dict(sub_data_root=''), metainfo=dict(classes=classes),
                      test_mode=split == 'test', pipeline=[])


def test_trees_real_data_counts_and_exact_round_trip(trees_root):
    manifest = json.load(open(os.path.join(trees_root, 'taal_det_dataset.json')))
    tv, te = manifest['splits']['trainval'], manifest['splits']['test']
    assert tv['images'] + te['images'] == 70 and tv['boxes'] + te['boxes'] >= 951
    made = {s.img_id: s.boxes for s in trees.tree_samples()}
    for split, counts in (('trainval', tv), ('test', te)):
        ds = voc(trees_root, trees.CLASSES, split)
        assert len(ds) == counts['images']
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            boxes = made[info['img_id']]
            assert [inst['bbox'] for inst in info['instances']] == \
                [[b.x1, b.y1, b.x2, b.y2] for b in boxes]
            assert [inst['ignore_flag'] for inst in info['instances']] == [b.difficult for b in boxes]
            assert 0 <= min((b.x1 for b in boxes), default=0)
            assert max((b.x2 for b in boxes), default=0) < info['width']


def test_clip_rule_drops_slivers_and_marks_mostly_cut_boxes():
    assert trees.clip_box((0, 0, 9, 9), 9, 0, 100, 100) is None  # 1 px wide: sliver
    kept = trees.clip_box((0, 0, 9, 9), 6, 0, 100, 100)  # 4 of 10 columns visible
    assert (kept.x1, kept.x2, kept.difficult, kept.truncated) == (0, 3, 1, 1)
    whole = trees.clip_box((10, 10, 19, 19), 0, 0, 100, 100)
    assert (whole.difficult, whole.truncated) == (0, 0)


def test_ground_truth_as_predictions_scores_map_one(scenes_root):
    ds = voc(scenes_root, fashion_scenes.CLASSES, 'test')
    metric = VOCMetric(eval_mode='11points')
    metric.dataset_meta = ds.metainfo
    samples = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        sample = DetDataSample(metainfo=dict(img_id=info['img_id'], ori_shape=(64, 64)))
        gt = InstanceData(bboxes=torch.tensor([x['bbox'] for x in info['instances']]).float(),
                          labels=torch.tensor([x['bbox_label'] for x in info['instances']]))
        sample.gt_instances = gt
        sample.ignored_instances = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0))
        sample.pred_instances = InstanceData(bboxes=gt.bboxes, labels=gt.labels,
                                             scores=torch.ones(len(gt.labels)))
        samples.append(sample.to_dict())
    metric.process({}, samples)
    assert metric.compute_metrics(metric.results)['mAP'] == pytest.approx(1.0)


def test_scenes_are_multiclass_and_deterministic(tmp_path, scenes_root):
    again = str(tmp_path / 'again')
    build_scenes(again, trainval=24, test=8, size=64, objects=(1, 2), seed=0)
    name = 'Annotations/tv_00003.xml'
    assert open(os.path.join(again, name)).read() == open(os.path.join(scenes_root, name)).read()
    other = str(tmp_path / 'other')
    build_scenes(other, trainval=24, test=8, size=64, objects=(1, 2), seed=1)
    assert open(os.path.join(other, name)).read() != open(os.path.join(scenes_root, name)).read()
    per_class = json.load(open(os.path.join(scenes_root, 'taal_det_dataset.json'))
                          )['splits']['trainval']['per_class']
    assert sum(v > 0 for v in per_class.values()) >= 5


def test_missing_sources_fail_with_the_install_command(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'deepforest' else real(name, *a))
    with pytest.raises(FileNotFoundError, match='pip install --no-deps deepforest==2.1.0'):
        build_trees(str(tmp_path / 'trees'))
    monkeypatch.setattr(fashion_scenes, 'FASHION_DIR', str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match='apt-get install -y dataset-fashion-mnist'):
        build_scenes(str(tmp_path / 'scenes'), trainval=2, test=1, size=32)
    assert os.listdir(tmp_path) == []  # nothing half-written


def test_interrupted_build_leaves_the_old_tree_and_no_debris(tmp_path):
    from PIL import Image
    out = str(tmp_path / 'tree')
    ok = [Sample('a', Image.new('RGB', (8, 8)), [Box('x', 1, 1, 4, 4)])]
    write_voc_tree(out, ok, dict(trainval=lambda i: True), ('x',), recipe={})

    def crashing():
        yield Sample('b', Image.new('RGB', (8, 8)))
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        write_voc_tree(out, crashing(), dict(trainval=lambda i: True), ('x',), recipe={})
    assert os.listdir(tmp_path) == ['tree']
    assert sorted(os.listdir(os.path.join(out, 'JPEGImages'))) == ['a.jpg']
