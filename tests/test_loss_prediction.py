"""Learning loss (LL4AL): the ranking loss, the per-image targets, the detach epoch of
each cycle, and a module that learns to rank the images' losses."""
import copy

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData
from mmdet.registry import HOOKS

from taal_det.models.loss_prediction import EPOCH_IN_CYCLE, per_image_losses, ranking_loss
from taal_det.strategies import LossPredictionStrategy, PoolOutputs
from taal_testing import (FASTER_RCNN, LITE0, MMDET_CONFIGS, SAMPLER_CHANNELS, build,
                          detector_cfg, fake_batch, tiny_al_cfg)

RETINANET = f'{MMDET_CONFIGS}/pascal_voc/retinanet_r50_fpn_1x_voc0712.py'


def ll4al_cfg(path=LITE0, **kwargs):
    return dict(type='LossPredictionDetector', detector=detector_cfg(path),
                loss_module=dict(type='LossPredictionModule', in_channels=SAMPLER_CHANNELS[path],
                                 hidden=16), **kwargs)


def test_ranking_loss_hand_computed():
    predicted = torch.tensor([1.0, 0.2, 0.5, 0.0])
    target = torch.tensor([3.0, 1.0, 2.0, 0.5])
    # pairs (0, 3): target 3 > 0.5, sign +1, 1 - (1.0 - 0.0) -> 0
    #       (1, 2): target 1 < 2,   sign -1, 1 + (0.2 - 0.5) -> 0.7
    assert float(ranking_loss(predicted, target)) == pytest.approx(0.35)
    assert float(ranking_loss(predicted, target, margin=0.0)) == pytest.approx(0.0)
    assert float(ranking_loss(torch.tensor([2.0]), torch.tensor([1.0]))) == 0.0


def test_per_image_losses_sum_the_heads_per_image_terms():
    losses = dict(loss_cls=[torch.tensor(1.0), torch.tensor(2.0)],
                  loss_bbox=[torch.tensor(0.5), torch.tensor(0.25)], acc=torch.tensor(9.0))
    assert per_image_losses(losses, 2).tolist() == [1.5, 2.25]
    with pytest.raises(TypeError, match='batch means'):
        per_image_losses(dict(loss_rpn_cls=torch.tensor(1.0)), 2)


def test_detectors_without_per_image_losses_are_refused_when_built():
    for path in (FASTER_RCNN, RETINANET):
        with pytest.raises(TypeError, match='losses come per image'):
            build(dict(type='LossPredictionDetector', detector=detector_cfg(path),
                       loss_module=dict(type='LossPredictionModule', in_channels=[256] * 5)))


def grads_after_loss_pred(model, batch, epoch_in_cycle):
    MessageHub.get_current_instance().update_info(EPOCH_IN_CYCLE, epoch_in_cycle)
    model.zero_grad()
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    model(**data, mode='loss')['loss_pred'].backward()
    backbone = sum(p.grad.abs().sum() for p in model.detector.backbone.parameters()
                   if p.grad is not None)
    module = sum(p.grad.abs().sum() for p in model.loss_module.parameters())
    return float(backbone), float(module)


def test_features_are_detached_from_the_configured_epoch_of_each_cycle():
    model = build(ll4al_cfg(detach_from_epoch=3)).train()
    batch = fake_batch(4)
    try:
        backbone, module = grads_after_loss_pred(model, batch, 2)
        assert backbone > 0 and module > 0
        for epoch in (3, 7):  # from epoch 3 of the cycle on
            backbone, module = grads_after_loss_pred(model, batch, epoch)
            assert backbone == 0 and module > 0
    finally:
        MessageHub.get_current_instance().update_info(EPOCH_IN_CYCLE, 0)


def test_predicted_loss_learns_to_rank_the_true_losses():
    """A tiny overfitted case: 8 fixed images with 0 to 7 boxes; the detector frozen
    (ImageNet backbone: a random one gives nearly the same features for every image), the
    module trained on the ranking loss alone; its predictions end up ordered like the
    true per-image losses."""
    cfg = ll4al_cfg(detach_from_epoch=0)
    cfg['detector'] = detector_cfg(LITE0, pretrained=True)
    model = build(cfg).eval()
    batch = fake_batch(8, seed=3)
    for i, sample in enumerate(batch['data_samples']):
        g = torch.Generator().manual_seed(i)
        xy = torch.rand(i, 2, generator=g) * 40
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + 8 + torch.rand(i, 2, generator=g) * 16], 1),
            labels=torch.zeros(i, dtype=torch.long))
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    feats = [f.detach() for f in model.extract_feat(data['inputs'])]
    with torch.no_grad():
        target = per_image_losses(model.detector.bbox_head.loss(feats, data['data_samples']), 8)
    rank = lambda v: v.argsort().argsort().double()  # noqa: E731
    spearman = lambda p: float(torch.corrcoef(torch.stack([rank(p), rank(target)]))[0, 1])  # noqa
    before = spearman(model.predicted_loss(data['inputs']))
    optim = torch.optim.Adam(model.loss_module.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(1)
    for _ in range(300):  # a new pairing every step, as shuffled batches give
        perm = torch.randperm(8, generator=g)
        loss = ranking_loss(model.loss_module([f[perm] for f in feats]), target[perm])
        optim.zero_grad()
        loss.backward()
        optim.step()
    after = spearman(model.predicted_loss(data['inputs']))
    assert after > 0.9 and after > before


def test_strategy_picks_the_highest_predicted_loss():
    cand = PoolOutputs(ids=['a', 'b', 'c'], predicted_loss=torch.tensor([0.1, 2.0, 0.5]))
    assert LossPredictionStrategy()(cand, 2) == ['b', 'c']
    with pytest.raises(ValueError, match='needs predicted_loss'):
        LossPredictionStrategy()(PoolOutputs(ids=['a']), 1)


@HOOKS.register_module()
class DetachRecorder(Hook):
    """Records, per training epoch, whether the loss module reads detached features."""

    def __init__(self):
        self.detached = []

    def before_train_epoch(self, runner):
        self.detached.append(runner.model.features_detached())


def test_a_whole_ll4al_run_selects_by_predicted_loss(scenes_root, tmp_path):
    import json
    import os

    from mmengine.runner import Runner
    work = str(tmp_path / 'll4al')
    cfg = tiny_al_cfg(scenes_root, work, strategy='LossPredictionStrategy', taal=False, cycles=2,
                      epochs_per_cycle=2)
    cfg.model = dict(type='LossPredictionDetector', detector=cfg.model, detach_from_epoch=1,
                     loss_module=dict(type='LossPredictionModule',
                                      in_channels=SAMPLER_CHANNELS[LITE0], hidden=16))
    cfg.custom_hooks.append(dict(type='DetachRecorder', priority='LOW'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    with open(os.path.join(work, 'al_results.json')) as f:
        rows = json.load(f)['cycles']
    assert [r['labelled_images'] for r in rows] == [6, 10]
    classes = runner.train_dataloader.dataset.metainfo['classes']
    assert rows[-1]['class_ap'] and set(rows[-1]['class_ap']) <= set(classes)
    assert not any('AP50_' in key for key in rows[-1])  # per-class AP: one dict, no columns
    # epochs 0-3 in two cycles of two: detached from the second epoch of each cycle on
    recorder = next(h for h in runner.hooks if isinstance(h, DetachRecorder))
    assert recorder.detached == [False, True, False, True]
    bad = tiny_al_cfg(scenes_root, str(tmp_path / 'bad'), strategy='LossPredictionStrategy',
                      taal=False)
    with pytest.raises(ValueError, match='has no loss module'):
        Runner.from_cfg(bad).train()
