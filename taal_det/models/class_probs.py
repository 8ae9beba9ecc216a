"""Each box's full class-probability vector, from the same single inference as predict.

mmdet's ``predict`` keeps one score per box. Here mmdet's own post-processing runs with
every candidate's class probabilities carried along, so the boxes, scores and labels are
exactly ``predict``'s and each kept box also has ``class_probs``: the head's softmax over
C + 1 classes (background last: SSD, Faster R-CNN's RoI head) or its C sigmoids
(RetinaNet). ``pre_nms_topk=k`` instead gives the k priors (or RoI-head proposals) of
highest best foreground probability, before score threshold and NMS.
"""
import copy
import inspect

import torch
from mmengine.structures import InstanceData
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.layers import multiclass_nms
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.models.utils import filter_scores_and_topk
from mmdet.structures.bbox import cat_boxes


def _refuse(what):
    raise TypeError(f'class-distribution uncertainty: {what}; use the top-score '
                    "uncertainty (strategy 'TopScoreUncertaintyStrategy') for this detector")


def _check_dense_head(head):
    name = type(head).__name__
    if type(head).predict_by_feat is not BaseDenseHead.predict_by_feat or \
            type(head)._predict_by_feat_single is not BaseDenseHead._predict_by_feat_single:
        _refuse(f'{name} has its own post-processing')
    if getattr(getattr(head, 'loss_cls', None), 'custom_cls_channels', False):
        _refuse(f'{name} has custom classification channels')
    outputs = list(inspect.signature(type(head).loss_by_feat).parameters)[1:4]
    if outputs != ['cls_scores', 'bbox_preds', 'batch_gt_instances']:
        _refuse(f'{name} predicts more than class scores and boxes ({", ".join(outputs)})')


def _check_roi_head(roi_head):
    if not isinstance(roi_head, StandardRoIHead) or \
            type(roi_head).predict_bbox is not StandardRoIHead.predict_bbox:
        _refuse(f'{type(roi_head).__name__} is not a StandardRoIHead')
    head = roi_head.bbox_head
    if not isinstance(head, BBoxHead) or getattr(head, 'custom_cls_channels', False) or \
            type(head)._predict_by_feat_single is not BBoxHead._predict_by_feat_single:
        _refuse(f'{type(head).__name__} is not a plain softmax BBoxHead')


def _top_k(probs, k, background_last):
    foreground = probs[:, :-1] if background_last else probs
    best = foreground.max(1).values
    order = best.argsort(descending=True, stable=True)[:k]
    return InstanceData(scores=best[order], class_probs=probs[order])


def _dense(head, feats, metas, rescale, pre_nms_topk):
    cls_scores, bbox_preds = head(feats)
    priors = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores],
                                              dtype=cls_scores[0].dtype,
                                              device=cls_scores[0].device)
    sigmoid, results = head.use_sigmoid_cls, []
    for i, meta in enumerate(metas):
        cfg = copy.deepcopy(head.test_cfg)
        kept = dict(bbox_pred=[], priors=[], scores=[], labels=[], class_probs=[])
        for cls_score, bbox_pred, level_priors in zip(cls_scores, bbox_preds, priors):
            logits = cls_score[i].detach().permute(1, 2, 0).reshape(-1, head.cls_out_channels)
            probs = logits.sigmoid() if sigmoid else logits.softmax(-1)
            if pre_nms_topk:
                kept['class_probs'].append(probs)
                continue
            box = bbox_pred[i].detach().permute(1, 2, 0).reshape(-1, head.bbox_coder.encode_size)
            scores, labels, _, chosen = filter_scores_and_topk(
                probs if sigmoid else probs[:, :-1], cfg.get('score_thr', 0),
                cfg.get('nms_pre', -1), dict(bbox_pred=box, priors=level_priors,
                                             class_probs=probs))
            for key, value in dict(chosen, scores=scores, labels=labels).items():
                kept[key].append(value)
        if pre_nms_topk:
            results.append(_top_k(torch.cat(kept['class_probs']), pre_nms_topk, not sigmoid))
            continue
        candidates = InstanceData(
            bboxes=head.bbox_coder.decode(cat_boxes(kept['priors']), torch.cat(kept['bbox_pred']),
                                          max_shape=meta['img_shape']),
            scores=torch.cat(kept['scores']), labels=torch.cat(kept['labels']),
            class_probs=torch.cat(kept['class_probs']))
        results.append(head._bbox_post_process(candidates, cfg, rescale=rescale,
                                               with_nms=True, img_meta=meta))
    return results, not sigmoid


def _two_stage(detector, feats, samples, metas, rescale, pre_nms_topk):
    roi_head = detector.roi_head
    if samples[0].get('proposals', None) is None:
        proposals = detector.rpn_head.predict(feats, samples, rescale=False)
    else:
        proposals = [s.proposals for s in samples]
    per_roi = roi_head.predict_bbox(feats, metas, proposals, rcnn_test_cfg=None, rescale=rescale)
    cfg, num_classes, results = roi_head.test_cfg, roi_head.bbox_head.num_classes, []
    for r in per_roi:
        if pre_nms_topk:
            results.append(_top_k(r.scores, pre_nms_topk, True))
            continue
        dets, labels, inds = multiclass_nms(r.bboxes, r.scores, cfg.score_thr, cfg.nms,
                                            cfg.max_per_img, return_inds=True)
        results.append(InstanceData(bboxes=dets[:, :-1], scores=dets[:, -1], labels=labels,
                                    class_probs=r.scores[inds // num_classes]))
    return results, True


def _is_two_stage(detector):
    return getattr(detector, 'with_rpn', False) and getattr(detector, 'with_roi_head', False)


def class_probs_layout(detector):
    """(foreground classes, whether a background column comes last) of the detector's
    class probabilities; ``TypeError`` (one line) for a detector whose probabilities
    cannot be had without patching mmdet."""
    if _is_two_stage(detector):
        _check_roi_head(detector.roi_head)
        return detector.roi_head.bbox_head.num_classes, True
    head = getattr(detector, 'bbox_head', None)
    if not isinstance(head, BaseDenseHead):
        _refuse(f'{type(detector).__name__} has neither a dense bbox_head nor an RPN + RoI head')
    _check_dense_head(head)
    return head.num_classes, not head.use_sigmoid_cls


@torch.no_grad()
def detections_with_class_probs(detector, inputs, data_samples, rescale=True,
                                pre_nms_topk=None):
    """(per-image InstanceData with ``class_probs``, whether the last column is
    background) for a single-stage dense-head detector or a two-stage detector with a
    StandardRoIHead; other heads are refused with one line."""
    class_probs_layout(detector)
    metas = [s.metainfo for s in data_samples]
    feats = detector.extract_feat(inputs)
    if _is_two_stage(detector):
        return _two_stage(detector, feats, data_samples, metas, rescale, pre_nms_topk)
    return _dense(detector.bbox_head, feats, metas, rescale, pre_nms_topk)
