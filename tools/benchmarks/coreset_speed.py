"""Core-set k-center greedy: taal_det's torch version against a plain numpy reference.

    python tools/benchmarks/coreset_speed.py [--n 16551 --labelled 1000 --k 1000 --dim 256]

Prints both times, their ratio, and whether the picks are identical (the reference
computes float64 distances directly; taal_det must reproduce its picks exactly).
"""
import argparse
import time

import numpy as np
import torch

from taal_det.strategies import k_center_greedy


def numpy_k_center(x, labelled, k):
    """The straightforward reference: exact float64 distances, one pick at a time."""
    x, labelled = x.astype(np.float64), labelled.astype(np.float64)
    min_dist = np.full(len(x), np.inf)
    for c in labelled:
        np.minimum(min_dist, ((x - c) ** 2).sum(1), out=min_dist)
    picks = []
    for _ in range(k):
        i = int(np.argmax(min_dist))
        picks.append(i)
        np.minimum(min_dist, ((x - x[i]) ** 2).sum(1), out=min_dist)
        min_dist[i] = -1
    return picks


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--n', type=int, default=16551, help='pool size (VOC07+12 trainval)')
    parser.add_argument('--labelled', type=int, default=1000)
    parser.add_argument('--k', type=int, default=1000)
    parser.add_argument('--dim', type=int, default=256)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, args.dim, generator=g)
    lab = torch.randn(args.labelled, args.dim, generator=g)

    t0 = time.perf_counter()
    ref = numpy_k_center(x.numpy(), lab.numpy(), args.k)
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = k_center_greedy(x, lab, args.k)
    t_ours = time.perf_counter() - t0
    print(f'N={args.n} L={args.labelled} K={args.k} D={args.dim} threads={args.threads}')
    print(f'numpy reference : {t_ref:7.2f} s')
    print(f'taal_det (torch): {t_ours:7.2f} s   speed-up x{t_ref / t_ours:.1f}')
    print(f'identical picks : {ours == ref}')


if __name__ == '__main__':
    main()
