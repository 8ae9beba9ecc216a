import copy
import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS

from taal_testing import (FASTER_RCNN, LITE0, SSD300, build, detector_cfg, fake_batch, loss_of,
                          same_losses, taal_cfg, total, with_unlabelled_gt_corrupted)

MIXED = [1, 0, 1, 0]


@pytest.mark.parametrize('path, size', [(SSD300, 300), (FASTER_RCNN, 128), (LITE0, 64)])
def test_bare_detector_trains_and_predicts_from_mmdet_configs(path, size):
    model = build(detector_cfg(path))
    batch = fake_batch(2, size)
    loss = total(loss_of(model, batch))
    loss.backward()
    assert torch.isfinite(loss)
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(copy.deepcopy(batch), False)
        preds = model(**data, mode='predict')
    assert len(preds) == 2 and preds[0].pred_instances.bboxes.shape[1] == 4


SSD_PREDICT = f"""
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.config import Config
register_all_modules()
cfg = Config.fromfile({SSD300!r}).model
cfg.backbone.init_cfg = None
model = MODELS.build(cfg).eval()
meta = dict(img_shape=(300, 300), scale_factor=(1.0, 1.0), ori_shape=(300, 300))
model.predict(torch.zeros(1, 3, 300, 300), [DetDataSample(metainfo=meta)])
"""


def test_ssd_predicts_only_thanks_to_the_plugin():
    """mmdet 3.3.0 alone fails to run SSD inference; importing taal_det fixes it."""
    bare = subprocess.run([sys.executable, '-c', SSD_PREDICT], capture_output=True, text=True)
    assert "'SSDHead' object has no attribute 'loss_cls'" in bare.stderr
    fixed = subprocess.run([sys.executable, '-c', 'import taal_det' + SSD_PREDICT],
                           capture_output=True, text=True)
    assert fixed.returncode == 0, fixed.stderr[-2000:]


@pytest.mark.parametrize('path, size', [(SSD300, 300), (FASTER_RCNN, 128), (LITE0, 64)])
def test_joint_train_step_logs_sampler_loss_beside_detector_losses(path, size):
    model = build(taal_cfg(path))
    losses = loss_of(model, fake_batch(4, size, labelled=MIXED))
    assert 'loss_sampler' in losses and 'loss_bbox' in losses
    assert all(k.startswith(('loss', 'acc')) for k in losses if k != 'sampler_bce')
    # The unweighted BCE is logged beside the weighted loss (no gradient of its own).
    assert not losses['sampler_bce'].requires_grad
    torch.testing.assert_close(losses['loss_sampler'].detach(), 0.5 * losses['sampler_bce'])
    total(losses).backward()
    assert model.sampler.discriminator[0].weight.grad is not None


def test_sampler_gradient_reaches_the_backbone_unless_detached():
    for detach, reaches in ((False, True), (True, False)):
        model = build(taal_cfg(LITE0, detach=detach, sampler_loss_weight=1.0))
        losses = loss_of(model, fake_batch(4, 64, labelled=MIXED))
        losses['loss_sampler'].backward()
        grad = model.detector.backbone._blocks[-1]._project_conv.weight.grad  # not frozen
        assert (grad is not None and grad.abs().sum() > 0) == reaches, detach


def test_unlabelled_ground_truth_never_changes_any_loss():
    model = build(taal_cfg(LITE0))
    batch = fake_batch(4, 64, labelled=MIXED)
    corrupted = with_unlabelled_gt_corrupted(batch)
    torch.manual_seed(1)
    a = loss_of(model, batch)
    torch.manual_seed(1)
    assert same_losses(a, loss_of(model, corrupted))
    # ... while the labelled images' ground truth does change the detector loss.
    labelled_changed = copy.deepcopy(batch)
    labelled_changed['data_samples'][0].gt_instances.bboxes += 9
    torch.manual_seed(1)
    c = loss_of(model, labelled_changed)
    assert not torch.equal(total({'loss_bbox': a['loss_bbox']}), total({'loss_bbox': c['loss_bbox']}))


def test_score_skips_the_heads_and_matches_the_sampler():
    model = build(taal_cfg(LITE0)).eval()
    batch = fake_batch(3, 64)
    data = model.data_preprocessor(batch, False)
    scores, tokens = model.score(data['inputs'])
    assert scores.shape == (3,) and tokens.shape == (3, 32)
    assert ((0 <= scores) & (scores <= 1)).all()
    assert torch.equal(scores, model.score(data['inputs'])[0])


def test_plain_detector_checkpoint_loads_into_the_wrapper():
    plain = build(detector_cfg(LITE0))
    model = build(taal_cfg(LITE0))
    result = model.load_state_dict(copy.deepcopy(plain.state_dict()), strict=False)
    assert all(k.startswith('sampler.') for k in result.missing_keys)
    assert not result.unexpected_keys
    assert torch.equal(model.detector.backbone._conv_stem.weight, plain.backbone._conv_stem.weight)


def test_wrapping_something_that_is_not_a_detector_fails_clearly():
    with pytest.raises(TypeError, match='must build an mmdet detector'):
        MODELS.build(dict(type='TAALDetector', detector=dict(type='EfficientNetLite0'),
                          sampler=dict(type='TransformerSampler', in_channels=[1])))
    with pytest.raises(TypeError, match='detector config dict'):
        MODELS.build(dict(type='TAALDetector', detector='ssd',
                          sampler=dict(type='TransformerSampler', in_channels=[1])))


def test_runs_record_the_detector_with_its_parts():
    """SSD300 and an SSD-Lite share the detector class; reports must tell them apart."""
    from taal_det.hooks.run_meta import detector_type
    lite = detector_type(build(taal_cfg(LITE0)))
    assert lite == 'SingleStageDetector(EfficientNetLite0, SSDNeck, SSDHead)'
    assert detector_type(build(detector_cfg(SSD300))) == \
        'SingleStageDetector(SSDVGG, SSDNeck, SSDHead)'
