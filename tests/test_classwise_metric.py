"""ClasswiseVOCMetric: mmdet's VOC mAP plus each class's AP, on a hand-made case; the
per-class keys kept apart from a row's scalar metrics."""
import numpy as np
import pytest

from taal_det.evaluation import ClasswiseVOCMetric
from taal_det.evaluation.results import split_class_metrics


def _image(gt_boxes, gt_labels, dets_per_class):
    ann = dict(bboxes=np.array(gt_boxes, np.float32).reshape(-1, 4),
               labels=np.array(gt_labels, np.int64),
               bboxes_ignore=np.zeros((0, 4), np.float32), labels_ignore=np.zeros(0, np.int64))
    dets = [np.array(d, np.float32).reshape(-1, 5) for d in dets_per_class]
    return ann, dets


def test_each_class_ap_and_their_mean():
    metric = ClasswiseVOCMetric(metric='mAP', eval_mode='area')
    metric.dataset_meta = dict(classes=('cat', 'dog'))
    box, elsewhere = [10, 10, 50, 50], [60, 60, 90, 90]
    results = [  # cat found in both images; dog found in one of two (AP 0.5)
        _image([box, elsewhere], [0, 1], [[box + [0.9]], [elsewhere + [0.8]]]),
        _image([box, elsewhere], [0, 1], [[box + [0.7]], []]),
    ]
    out = metric.compute_metrics(results)
    assert out['AP50_cat'] == pytest.approx(1.0)
    assert out['AP50_dog'] == pytest.approx(0.5)
    assert out['mAP'] == pytest.approx(0.75)


def test_a_class_without_ground_truth_has_no_ap():
    metric = ClasswiseVOCMetric(metric='mAP', eval_mode='area')
    metric.dataset_meta = dict(classes=('cat', 'dog'))
    box = [10, 10, 50, 50]
    out = metric.compute_metrics([_image([box], [0], [[box + [0.9]], [box + [0.3]]])])
    assert out['AP50_cat'] == pytest.approx(1.0) and 'AP50_dog' not in out


def test_per_class_keys_leave_the_scalars():
    metrics = {'pascal_voc/mAP': 0.5, 'pascal_voc/AP50': 0.5, 'pascal_voc/AP50_cat': 0.7,
               'pascal_voc/AP75_cat': 0.2, 'pascal_voc/AP50_hot dog': 0.3,
               'coco/bbox_mAP': 0.4, 'coco/cat_precision': 0.1, 'note': 'x'}
    scalars, class_ap = split_class_metrics(metrics, ('cat', 'hot dog'))
    assert scalars == {'pascal_voc/mAP': 0.5, 'pascal_voc/AP50': 0.5, 'coco/bbox_mAP': 0.4}
    assert class_ap == {'cat': 0.1, 'hot dog': 0.3}  # VOC's AP50, then COCO's (later key)
