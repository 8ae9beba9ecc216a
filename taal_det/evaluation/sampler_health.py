"""Is the sampler learning? Chance level of its BCE, ROC AUC of its scores, histograms."""
import math

from .results import save_figure


def binary_entropy(p):
    """BCE of a head that knows only the labelled fraction ``p`` of its batches (nats)."""
    if not 0 < p < 1:
        return 0.0
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def roc_auc(positive, negative):
    """P(a positive scores above a negative), ties counting one half (Mann-Whitney U).

    ``None`` when either side is empty. O((n + m) log(n + m)).
    """
    positive, negative = [float(v) for v in positive], [float(v) for v in negative]
    if not positive or not negative:
        return None
    values = sorted([(v, 1) for v in positive] + [(v, 0) for v in negative])
    rank_sum, i = 0.0, 0
    while i < len(values):  # average ranks over ties (ranks start at 1)
        j = i
        while j < len(values) and values[j][0] == values[i][0]:
            j += 1
        rank_sum += (i + j + 1) / 2 * sum(label for _, label in values[i:j])
        i = j
    n, m = len(positive), len(negative)
    return (rank_sum - n * (n + 1) / 2) / (n * m)


def plot_score_histograms(path, scores_by_cycle, bins=20):
    """One PNG: the histogram of the pool's sampler scores at each selection, overlaid."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    edges = [k / bins for k in range(bins + 1)]
    for cycle, scores in sorted(scores_by_cycle.items()):
        ax.hist(scores, bins=edges, histtype='step', linewidth=1.5, label=f'cycle {cycle}')
    ax.set_xlabel('sampler score s = P(labelled) of unlabelled pool images')
    ax.set_ylabel('images')
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, path)
