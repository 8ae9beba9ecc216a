"""Core-set acquisition: k-center greedy on pooled features (Sener & Savarese, 2018).

Fast and exact. Each pick updates float32 minimum distances with one matrix-vector
product (``|x|^2 + |c|^2 - 2 x.c``), so it reads the N x D features once. Those
float32 values carry a bounded rounding error, so the pick is then decided among the
few rows within that bound of the maximum by exact float64 distances (cached per row):
the picks are those of k-center greedy computed in float64. The start-up distances to
the labelled set are computed in blocks of ``block`` rows: memory stays O(N * block).
"""
import random

import numpy as np
import torch

from .base import STRATEGIES, BaseStrategy

UNIT_ROUNDOFF = 2.0 ** -24


class _ExactMinDistance:
    """Float64 squared distance from a row to its nearest centre, updated lazily.

    Float32 distances to the new centres find the few that can be nearest (within
    ``2 * tol``); only those are measured again in float64.
    """

    def __init__(self, rows, sq_norms, capacity, tol):
        self.rows, self.sq_norms, self.tol = rows, sq_norms, tol
        self.centres = np.empty((capacity, rows.shape[1]), dtype=np.float32)
        self.centre_sq_norms = np.empty(capacity, dtype=np.float32)
        self.count = 0
        self.cache = {}

    def add_centres(self, centres):
        end = self.count + len(centres)
        self.centres[self.count:end] = centres
        self.centre_sq_norms[self.count:end] = np.einsum('ij,ij->i', centres, centres)
        self.count = end

    def __call__(self, i):
        done, value = self.cache.get(i, (0, float('inf')))
        if done < self.count:
            centres, row = self.centres[done:self.count], self.rows[i]
            approx = self.centre_sq_norms[done:self.count] - 2 * (centres @ row) + self.sq_norms[i]
            close = centres[approx <= approx.min() + 2 * self.tol].astype(np.float64)
            value = min(value, float(((close - row.astype(np.float64)) ** 2).sum(1).min()))
            self.cache[i] = (self.count, value)
        return value


def k_center_greedy(features, labelled_features, k, block=1024, first=0):
    """Indices of ``k`` rows of ``features`` picked by k-center greedy.

    Each pick is the row farthest (squared Euclidean) from the labelled rows and the
    rows picked before it; ties go to the lowest index. With no labelled rows the
    first pick is row ``first``.
    """
    features = features.float().contiguous()
    n, dim = features.shape
    if not 0 < k <= n:
        raise ValueError(f'k must be in 1..{n}, got {k}')
    n_lab = 0 if labelled_features is None else len(labelled_features)
    sq_norms = (features * features).sum(1)
    min_dist = torch.full((n,), float('inf'))
    for start in range(0, n_lab, block):
        centres = labelled_features[start:start + block].float()
        d = torch.addmm((centres * centres).sum(1)[None, :], features, centres.T, alpha=-2)
        torch.minimum(min_dist, (d + sq_norms[:, None]).min(1).values, out=min_dist)
    scale = float(sq_norms.max())
    if n_lab:
        scale = max(scale, float((labelled_features.float() ** 2).sum(1).max()))
    # Rounding bound of a float32 squared distance (dot products of length dim).
    tol = 4 * (dim + 4) * UNIT_ROUNDOFF * scale
    # The loop runs on numpy over the same memory: its float32 matrix-vector kernel and
    # its small-array operations cost less per pick than torch's.
    rows, sq, min_dist = features.numpy(), sq_norms.numpy(), min_dist.numpy()
    exact = _ExactMinDistance(rows, sq, n_lab + k, tol)
    if n_lab:
        exact.add_centres(labelled_features.float().numpy())
    picks, dist = [], np.empty(n, dtype=np.float32)
    for step in range(k):
        if step == 0 and not n_lab:
            pick = first
        else:
            pick = int(min_dist.argmax())
            near = np.flatnonzero(min_dist >= min_dist[pick] - 2 * tol)
            if len(near) > 1:
                pick = max(near.tolist(), key=lambda i: (exact(i), -i))
        picks.append(pick)
        np.dot(rows, rows[pick], out=dist)
        dist *= -2
        dist += sq
        dist += sq[pick]
        np.minimum(min_dist, dist, out=min_dist)
        min_dist[pick] = -1.0 - 4 * tol  # never picked twice, even among duplicates
        exact.add_centres(rows[pick:pick + 1])
    return picks


@STRATEGIES.register_module()
class CoreSetStrategy(BaseStrategy):
    """K images that best cover the pool in the sampler's pooled feature space."""

    requires = ('features',)
    needs_labelled = True

    def __init__(self, block=1024):
        if isinstance(block, bool) or not isinstance(block, int) or block <= 0:
            raise ValueError(f'CoreSetStrategy: block must be a positive integer, got {block!r}')
        self.block = block

    def select(self, candidates, budget, labelled=None, seed=0):
        features = candidates.require('features', 'CoreSetStrategy')
        order = sorted(range(len(candidates.ids)), key=candidates.ids.__getitem__)
        labelled_features = None
        if labelled is not None and len(labelled.ids):
            labelled_features = labelled.require('features', 'CoreSetStrategy (labelled)')
        first = random.Random(f'coreset-{seed}').randrange(len(order))
        picks = k_center_greedy(features[order], labelled_features, budget, self.block, first)
        return [candidates.ids[order[i]] for i in picks]
