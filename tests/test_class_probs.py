"""Class distributions of detections: each head type against a hand-computed case, the
same boxes as mmdet's predict, and refusals for heads they cannot be had from."""
import copy
import math

import pytest
import torch
from mmengine.structures import InstanceData

from taal_det.models.class_probs import class_probs_layout, detections_with_class_probs
from taal_det.strategies import PoolOutputs, UncertaintyStrategy, class_distribution
from taal_det.strategies.uncertainty import box_entropy, box_least_confidence, box_margin
from taal_testing import FASTER_RCNN, LITE0, MMDET_CONFIGS, build, detector_cfg, fake_batch

RETINANET = f'{MMDET_CONFIGS}/pascal_voc/retinanet_r50_fpn_1x_voc0712.py'
FCOS = f'{MMDET_CONFIGS}/fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'
YOLOX = f'{MMDET_CONFIGS}/yolox/yolox_tiny_8xb8-300e_coco.py'


def softmax(logits):
    e = [math.exp(v) for v in logits]
    return [v / sum(e) for v in e]


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def prepared(path):
    model = build(detector_cfg(path)).eval()
    data = model.data_preprocessor(fake_batch(2), False)
    return model, data['inputs'], data['data_samples']


def one_prior_outputs(model, inputs, logits, rest):
    """Head outputs where prior 0 of image 0 has ``logits`` and every other prior's
    class logits are ``rest`` (all boxes at their priors)."""
    cls_scores, bbox_preds = model.bbox_head(model.extract_feat(inputs))
    cls_scores = [torch.full_like(c, rest) for c in cls_scores]
    cls_scores[0][0, :len(logits), 0, 0] = torch.tensor(logits)
    return cls_scores, [torch.zeros_like(b) for b in bbox_preds]


def test_softmax_dense_head_hand_computed():
    model, inputs, samples = prepared(LITE0)  # SSD-Lite head, 3 classes + background
    logits = [2.0, 1.0, 0.0, 0.0]  # background last
    outs = one_prior_outputs(model, inputs, logits, 0.0)
    outs[0][0][:, 3::4] = 10.0  # background wins everywhere else
    outs[0][0][0, :4, 0, 0] = torch.tensor(logits)
    for c in outs[0][1:]:
        c[:, 3::4] = 10.0
    model.bbox_head.forward = lambda feats: outs
    (first, second), background_last = detections_with_class_probs(model, inputs, samples)
    assert background_last and len(second) == 0
    expected = torch.tensor(softmax(logits), dtype=torch.float64)
    assert sorted(first.labels.tolist()) == [0, 1, 2]  # every class above score_thr
    torch.testing.assert_close(first.class_probs.double(), expected.expand(3, 4))
    dist = class_distribution(first.class_probs[:1], True)[0]
    fg = torch.tensor(softmax(logits[:3]), dtype=torch.float64)
    torch.testing.assert_close(dist, fg)
    h = -sum(p * math.log(p) for p in fg.tolist()) / math.log(3)
    assert float(box_entropy(dist[None])[0]) == pytest.approx(h)
    assert float(box_least_confidence(dist[None])[0]) == pytest.approx(1 - fg[0].item())
    assert float(box_margin(dist[None])[0]) == pytest.approx(1 - (fg[0] - fg[1]).item())


def test_sigmoid_dense_head_hand_computed():
    model, inputs, samples = prepared(RETINANET)  # 20 sigmoids, no background
    logits = [2.0, 0.0, -1.0]
    model.bbox_head.forward = lambda feats, outs=one_prior_outputs(
        model, inputs, logits, -10.0): outs
    (first, second), background_last = detections_with_class_probs(model, inputs, samples)
    assert not background_last and len(second) == 0
    assert sorted(first.labels.tolist()) == [0, 1, 2]
    sig = [sigmoid(v) for v in logits] + [sigmoid(-10.0)] * 17
    torch.testing.assert_close(first.class_probs[0].double(),
                               torch.tensor(sig, dtype=torch.float64), rtol=1e-6, atol=1e-7)
    dist = class_distribution(first.class_probs[:1], False)[0]
    torch.testing.assert_close(dist, torch.tensor([v / sum(sig) for v in sig],
                                                  dtype=torch.float64), rtol=1e-6, atol=1e-8)


def test_roi_head_hand_computed():
    model, inputs, samples = prepared(FASTER_RCNN)  # RoI head: 20 classes + background
    logits = [3.0, 1.0] + [0.0] * 19
    proposal = torch.tensor([[4.0, 4.0, 40.0, 40.0]])
    model.rpn_head.predict = lambda feats, samples, rescale=False: [
        InstanceData(bboxes=proposal.clone(), scores=torch.ones(1)) for _ in samples]

    def bbox_forward(feats, rois):
        return dict(cls_score=torch.tensor([logits] * len(rois)),
                    bbox_pred=torch.zeros(len(rois), 80))
    model.roi_head._bbox_forward = bbox_forward
    results, background_last = detections_with_class_probs(model, inputs, samples)
    p = softmax(logits)  # classes 0 (0.48) and 1 (0.065) pass score_thr 0.05, 2-19 do not
    assert background_last
    for r in results:
        assert r.labels.tolist() == [0, 1]
        torch.testing.assert_close(r.bboxes, proposal.expand(2, 4))
        torch.testing.assert_close(r.class_probs.double(),
                                   torch.tensor([p, p], dtype=torch.float64))
    torch.testing.assert_close(class_distribution(results[0].class_probs[:1], True)[0],
                               torch.tensor(softmax(logits[:20]), dtype=torch.float64))


@pytest.mark.parametrize('path', [LITE0, RETINANET, FASTER_RCNN])
def test_detections_are_predicts_own(path):
    model, inputs, samples = prepared(path)
    # random heads score every box below the configs' thresholds
    (model.roi_head if path == FASTER_RCNN else model.bbox_head).test_cfg.score_thr = 0.0
    predicted = model.predict(inputs, copy.deepcopy(samples))
    results, background_last = detections_with_class_probs(model, inputs, samples)
    for pred, r in zip(predicted, results):
        pred = pred.pred_instances
        assert len(r) == len(pred) > 0
        torch.testing.assert_close(r.bboxes, pred.bboxes)
        torch.testing.assert_close(r.scores, pred.scores)
        assert torch.equal(r.labels, pred.labels)
        torch.testing.assert_close(r.class_probs[torch.arange(len(r)), r.labels], r.scores)
        if background_last:
            torch.testing.assert_close(r.class_probs.sum(1), torch.ones(len(r)))


@pytest.mark.parametrize('path', [LITE0, RETINANET, FASTER_RCNN])
def test_top_k_before_nms(path):
    model, inputs, samples = prepared(path)
    results, background_last = detections_with_class_probs(model, inputs, samples,
                                                           pre_nms_topk=5)
    for r in results:
        assert r.class_probs.shape[0] == 5
        best = (r.class_probs[:, :-1] if background_last else r.class_probs).max(1).values
        torch.testing.assert_close(best, r.scores)
        assert (r.scores[:-1] >= r.scores[1:]).all()


@pytest.mark.parametrize('path, message', [
    (FCOS, 'predicts more than class scores and boxes'),
    (YOLOX, 'has its own post-processing')])
def test_heads_without_plain_post_processing_are_refused(path, message):
    model = build(detector_cfg(path))
    with pytest.raises(TypeError, match=message):
        class_probs_layout(model)


def test_layouts_and_strategy_checks():
    assert class_probs_layout(build(detector_cfg(LITE0))) == (3, True)
    assert class_probs_layout(build(detector_cfg(RETINANET))) == (20, False)
    assert class_probs_layout(build(detector_cfg(FASTER_RCNN))) == (20, True)
    with pytest.raises(ValueError, match='one class'):
        UncertaintyStrategy().check_head(1, True)
    UncertaintyStrategy(background='include').check_head(1, True)
    with pytest.raises(ValueError, match='no background class'):
        UncertaintyStrategy(background='include').check_head(20, False)


def test_uncertainty_ranks_by_class_distribution():
    # softmax rows with background last; margins: a clear, b a near tie, c empty
    clear = torch.tensor([[0.85, 0.05, 0.1]])
    tie = torch.tensor([[0.40, 0.38, 0.22]])
    cand = PoolOutputs(ids=['a', 'b', 'c'], box_probs=[clear, tie, torch.zeros(0, 3)],
                       background_last=True)
    for measure in ('entropy', 'least_confidence', 'margin'):
        assert UncertaintyStrategy(measure)(cand, 3) == ['b', 'a', 'c']
    # background included: 'a' is 10 % background, 'b' 22 %: still b first
    assert UncertaintyStrategy('margin', background='include')(cand, 1) == ['b']
    one_class = PoolOutputs(ids=['a'], box_probs=[torch.tensor([[0.7, 0.3]])],
                            background_last=True)
    with pytest.raises(ValueError, match='one class'):
        UncertaintyStrategy()(one_class, 1)
