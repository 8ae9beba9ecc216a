"""The paper's detection sampler on SSD's confidence head: shapes, the fixed batch, which
gradients reach the detector, unlabelled ground truth unused, and its (documented)
dependence on the order of the batch."""
import pytest
import torch

from taal_det.models.confidence_sampler import ConfidenceTokenSampler, head_confidences
from taal_testing import (LITE0, build, detector_cfg, fake_batch, loss_of, same_losses,
                          with_unlabelled_gt_corrupted)

MIXED = [1, 0, 1, 0]


def lite0_priors(size=64):
    model = build(detector_cfg(LITE0)).eval()
    data = model.data_preprocessor(fake_batch(1, size), False)
    with torch.no_grad():
        return head_confidences(model.bbox_head, model.extract_feat(data['inputs'])).shape[1:]


def conf_taal_cfg(batch_size=4, **sampler):
    priors, classes = lite0_priors()
    return dict(type='TAALDetector', detector=detector_cfg(LITE0), sampler_loss_weight=1.0,
                sampler=dict(type='ConfidenceTokenSampler', num_priors=priors,
                             num_classes=classes, batch_size=batch_size, embed_dims=16,
                             num_heads=4, **sampler))


def test_shapes_and_the_tokens_layout():
    sampler = ConfidenceTokenSampler(num_priors=6, num_classes=3, batch_size=4, embed_dims=8,
                                     num_heads=2)
    logits, hidden = sampler(torch.randn(4, 6, 3))
    assert logits.shape == (4,) and hidden.shape == (4, 8)
    assert sampler.transformer.layers[0].self_attn.embed_dim == 3 * 4  # C x B per prior
    assert sampler.first.in_features == 6 * 3  # the discriminator reads [B, P x C]


def test_fewer_tokens_average_runs_of_priors():
    sampler = ConfidenceTokenSampler(num_priors=6, num_classes=3, batch_size=4, embed_dims=8,
                                     num_heads=2, num_tokens=2, confidences='logits')
    assert sampler.first.in_features == 2 * 3
    seen = []
    sampler.transformer.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0]))
    x = torch.randn(4, 6, 3)
    logits, _ = sampler(x)
    assert logits.shape == (4,)
    tokens = seen[0][0]  # (T, B x C): token t averages priors 3t..3t+2
    expected = x.reshape(4, 2, 3, 3).mean(2).permute(1, 0, 2).reshape(2, 12)
    assert torch.allclose(tokens, expected, atol=1e-6)
    with pytest.raises(ValueError, match='num_tokens must be an integer in 1..num_priors=6'):
        ConfidenceTokenSampler(num_priors=6, num_classes=3, batch_size=4, num_tokens=7)


def test_wrong_batch_heads_or_priors_are_refused_with_one_line():
    with pytest.raises(ValueError, match=r'num_heads=5 does not divide .* = 12'):
        ConfidenceTokenSampler(num_priors=6, num_classes=3, batch_size=4, num_heads=5)
    sampler = ConfidenceTokenSampler(num_priors=6, num_classes=3, batch_size=4, num_heads=2)
    with pytest.raises(ValueError, match='needs batches of exactly sampler.batch_size=4'):
        sampler(torch.randn(3, 6, 3))
    with pytest.raises(ValueError, match='set num_priors=7, num_classes=3'):
        sampler(torch.randn(4, 7, 3))


def test_the_order_of_the_batch_matters():
    """The batch is the token's embedding, so permuting the images does not merely
    permute their scores (unlike the pooled-feature sampler)."""
    torch.manual_seed(0)
    sampler = ConfidenceTokenSampler(num_priors=6, num_classes=3, batch_size=4, embed_dims=8,
                                     num_heads=2).eval()
    x, perm = torch.randn(4, 6, 3), torch.tensor([2, 0, 3, 1])
    assert not torch.allclose(sampler(x[perm])[0], sampler(x)[0][perm], atol=1e-4)


def test_without_the_transformer_each_image_scores_on_its_own():
    torch.manual_seed(0)
    sampler = ConfidenceTokenSampler(num_priors=6, num_classes=3, batch_size=4, embed_dims=8,
                                     num_heads=5, depth=0).eval()  # no heads to divide
    x, perm = torch.randn(4, 6, 3), torch.tensor([2, 0, 3, 1])
    assert torch.allclose(sampler(x[perm])[0], sampler(x)[0][perm], atol=1e-6)
    assert not any(n.startswith('transformer') for n, _ in sampler.named_parameters())
    with pytest.raises(ValueError, match='depth must be an integer >= 0'):
        ConfidenceTokenSampler(num_priors=6, num_classes=3, batch_size=4, depth=-1)


@pytest.mark.parametrize('detach_head, reaches', [(True, False), (False, True)])
def test_which_gradients_reach_the_detector(detach_head, reaches):
    model = build(conf_taal_cfg(detach_head=detach_head))
    loss_of(model, fake_batch(4, 64, labelled=MIXED))['loss_sampler'].backward()
    assert model.sampler.first.weight.grad.abs().sum() > 0
    for part in (model.detector.bbox_head, model.detector.backbone):
        grads = [p.grad.abs().sum() for p in part.parameters() if p.grad is not None]
        assert (bool(grads) and sum(grads) > 0) == reaches


def test_unlabelled_ground_truth_never_changes_any_loss():
    model = build(conf_taal_cfg(detach_head=False))
    batch = fake_batch(4, 64, labelled=MIXED)
    torch.manual_seed(1)
    a = loss_of(model, batch)
    torch.manual_seed(1)
    assert same_losses(a, loss_of(model, with_unlabelled_gt_corrupted(batch)))


def test_score_runs_in_fixed_chunks():
    model = build(conf_taal_cfg()).eval()
    data = model.data_preprocessor(fake_batch(4, 64), False)
    scores, tokens = model.score(data['inputs'])
    assert scores.shape == (4,) and tokens.shape == (4, 16)
    with pytest.raises(ValueError, match='exactly sampler.batch_size=4'):
        model.score(data['inputs'][:3])


def test_a_whole_run_trains_scores_and_selects_with_it(scenes_root, tmp_path):
    import json
    import os

    from mmengine.runner import Runner

    from taal_det.models.confidence_sampler import head_confidences as confidences
    from taal_testing import tiny_al_cfg
    cfg = tiny_al_cfg(scenes_root, str(tmp_path), cycles=2)
    detector = build(cfg.model.detector).eval()
    data = detector.data_preprocessor(fake_batch(1, 64), False)
    with torch.no_grad():
        _, priors, classes = confidences(detector.bbox_head,
                                         detector.extract_feat(data['inputs'])).shape
    cfg.model.sampler = dict(type='ConfidenceTokenSampler', num_priors=priors,
                             num_classes=classes, batch_size=4, embed_dims=16, num_heads=4)
    Runner.from_cfg(cfg).train()
    with open(os.path.join(str(tmp_path), 'al_results.json')) as f:
        rows = json.load(f)['cycles']
    assert [r['labelled_images'] for r in rows] == [6, 10]
    assert all(0 <= r['sampler_auc'] <= 1 for r in rows)
