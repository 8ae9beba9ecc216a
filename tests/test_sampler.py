import pytest
import torch

from taal_det.models import TransformerSampler


def feats(b, seed=0, channels=(8, 16)):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, c, 6 // (i + 1), 6 // (i + 1), generator=g)
            for i, c in enumerate(channels)]


@pytest.mark.parametrize('layout', ['batch_tokens', 'none', 'channel_tokens'])
def test_output_shapes(layout):
    sampler = TransformerSampler([8, 16], embed_dims=32, num_heads=4, layout=layout,
                                 batch_size=4)
    logits, tokens = sampler(feats(4))
    assert logits.shape == (4,) and tokens.shape == (4, 32)


def test_permuting_the_batch_permutes_the_scores():
    sampler = TransformerSampler([8, 16], embed_dims=32, num_heads=4, depth=2).eval()
    x = feats(6)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    with torch.no_grad():
        a, _ = sampler(x)
        b, _ = sampler([f[perm] for f in x])
    torch.testing.assert_close(a[perm], b, rtol=1e-5, atol=1e-6)


def test_scores_depend_on_the_other_images_only_with_a_transformer():
    x, y = feats(4, seed=1), feats(4, seed=2)
    mixed = [torch.cat([a[:2], b[2:]]) for a, b in zip(x, y)]
    for layout, depends in (('batch_tokens', True), ('none', False)):
        torch.manual_seed(0)
        sampler = TransformerSampler([8, 16], embed_dims=32, layout=layout).eval()
        with torch.no_grad():
            changed = not torch.allclose(sampler(x)[0][:2], sampler(mixed)[0][:2])
        assert changed == depends, layout


def test_eval_scores_are_deterministic():
    sampler = TransformerSampler([8, 16], embed_dims=32, dropout=0.5).eval()
    x = feats(5)
    with torch.no_grad():
        assert torch.equal(sampler(x)[0], sampler(x)[0])


def test_levels_choose_the_feature_maps_the_token_reads():
    sampler = TransformerSampler([8, 16], embed_dims=32, levels=[1]).eval()
    assert sampler.embed[0].in_features == 16
    x, y = feats(3, seed=1), feats(3, seed=2)
    with torch.no_grad():  # the unread level 0 changes nothing; level 1 does
        assert torch.equal(sampler(x)[0], sampler([y[0], x[1]])[0])
        assert not torch.allclose(sampler(x)[0], sampler([x[0], y[1]])[0])


def test_bad_configs_name_the_option():
    assert TransformerSampler([8, 16], levels=1).levels == [1]
    for levels in ([], [2], [-1], [1, 1], [0.5]):
        with pytest.raises(ValueError, match=r'sampler.levels=.* must name some of the 2 levels'):
            TransformerSampler([8, 16], levels=levels)
    with pytest.raises(ValueError, match=r'sampler.in_channels=\[8, 32\].*set sampler.in_channels=\[8, 16\]'):
        TransformerSampler([8, 32], embed_dims=32)(feats(2))
    with pytest.raises(ValueError, match='embed_dims=30 is not divisible by sampler.num_heads=4'):
        TransformerSampler([8, 16], embed_dims=30)
    with pytest.raises(ValueError, match='batch_size'):
        TransformerSampler([8, 16], layout='channel_tokens')
    ragged = TransformerSampler([8, 16], embed_dims=32, layout='channel_tokens', batch_size=4)
    with pytest.raises(ValueError, match='exactly sampler.batch_size=4 images, got 3'):
        ragged(feats(3))
    with pytest.raises(ValueError, match='layout'):
        TransformerSampler([8, 16], layout='pixels')
