"""The sampler's health numbers: AUC against a brute-force count, chance BCE, and an AUC
that moves from chance for a sampler that cannot know to ~1 for one that can."""
import itertools
import math
import random

import pytest
import torch
import torch.nn.functional as F

from taal_det.evaluation import binary_entropy, roc_auc
from taal_det.models import TransformerSampler


def brute_force_auc(pos, neg):
    pairs = list(itertools.product(pos, neg))
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)


@pytest.mark.parametrize('seed', range(5))
def test_auc_equals_the_pair_count_with_ties(seed):
    rng = random.Random(seed)
    pos = [rng.choice([0.1, 0.2, 0.5, rng.random()]) for _ in range(rng.randint(1, 30))]
    neg = [rng.choice([0.1, 0.2, 0.5, rng.random()]) for _ in range(rng.randint(1, 30))]
    assert roc_auc(pos, neg) == pytest.approx(brute_force_auc(pos, neg), abs=1e-12)


def test_auc_edges_and_chance_bce():
    assert roc_auc([0.9, 0.8], [0.1]) == 1.0 and roc_auc([0.1], [0.9, 0.8]) == 0.0
    assert roc_auc([0.3] * 4, [0.3] * 7) == 0.5
    assert roc_auc([], [0.2]) is None
    assert binary_entropy(0.5) == pytest.approx(math.log(2))
    assert binary_entropy(0.25) == pytest.approx(-(0.25 * math.log(0.25) + 0.75 * math.log(0.75)))


def _train_and_auc(labelled_shift, steps=150, seed=0):
    """Train the sampler on 8 + 8 images; labelled features shifted by ``labelled_shift``.
    Returns the eval-mode AUC on fresh images of both kinds, and the last BCE."""
    torch.manual_seed(seed)
    sampler = TransformerSampler([16], embed_dims=32, num_heads=4)
    opt = torch.optim.SGD(sampler.parameters(), lr=0.05, momentum=0.9)
    target = torch.tensor([1.0] * 8 + [0.0] * 8)

    def batch():
        x = torch.randn(16, 16, 2, 2)
        x[:8, :4] += labelled_shift
        return [x]
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(sampler(batch())[0], target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    sampler.eval()
    with torch.no_grad():  # fresh images, scored in the training context (8 + 8)
        s = sampler(batch())[0]
    return roc_auc(s[:8].tolist(), s[8:].tolist()), float(loss)


def test_auc_is_chance_when_the_sampler_cannot_know_and_high_when_it_can():
    aucs = [_train_and_auc(0.0, seed=s)[0] for s in range(3)]
    assert all(0.15 < a < 0.85 for a in aucs), aucs  # 8 vs 8 images: wide chance band
    auc, bce = _train_and_auc(3.0)
    assert auc > 0.95 and bce < 0.3 * math.log(2), (auc, bce)


def test_default_scale_makes_the_logits_differ_between_images_at_the_start():
    torch.manual_seed(0)
    x = [torch.randn(16, 64, 3, 3)]
    spread = {}
    for scale in (1.0, None):
        torch.manual_seed(0)
        logits, _ = TransformerSampler([64], embed_dims=256, scale=scale)(x)
        spread[scale] = float(logits.std())
    assert spread[None] > 8 * spread[1.0], spread
    with pytest.raises(ValueError, match='sampler.scale must be positive'):
        TransformerSampler([64], scale=-1.0)
