"""Compare active-learning runs: mean +- std per labelled-set size, AUBC, one plot."""
import json
import os
import statistics
from collections import defaultdict

from .results import aubc

SHARED = ('pool_digest', 'test_set', 'budget')


class ProtocolMismatch(ValueError):
    """Runs that should not share a table."""


def load_run(path):
    """Read ``al_results.json`` of a run dir (or the file itself)."""
    file = os.path.join(path, 'al_results.json') if os.path.isdir(path) else path
    if not os.path.exists(file):
        raise FileNotFoundError(f'{path}: no al_results.json (is it a run directory?)')
    with open(file) as f:
        run = json.load(f)
    run['path'] = path
    return run


def check_protocols(runs):
    """Same pool, test set, budget and initial size everywhere; same initial split for
    runs of the same seed. Raises :class:`ProtocolMismatch` naming the difference."""
    first = runs[0]
    for run in runs[1:]:
        for key in SHARED:
            if run['meta'].get(key) != first['meta'].get(key):
                raise ProtocolMismatch(
                    f"{run['path']} and {first['path']} differ in {key}: "
                    f"{run['meta'].get(key)!r} vs {first['meta'].get(key)!r}")
    by_seed = {}
    for run in runs:
        ids = sorted(run['meta']['initial']['ids'])
        other = by_seed.setdefault(run['meta']['seed'], (run['path'], ids))
        if other[1] != ids:
            raise ProtocolMismatch(f"{run['path']} and {other[0]} have seed "
                                   f"{run['meta']['seed']} but different initial splits")
    sizes = {len(r['meta']['initial']['ids']) for r in runs}
    if len(sizes) > 1:
        raise ProtocolMismatch(f'runs start from initial splits of different sizes {sorted(sizes)}')


def _mean_std(values):
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(runs, metric='mAP'):
    """Per method: {labelled size: (mean, std, n)} and (AUBC mean, std, n)."""
    curves, areas = defaultdict(lambda: defaultdict(list)), defaultdict(list)
    for run in runs:
        label = run['meta'].get('label') or run['meta']['strategy']['type']
        rows = [r for r in run['cycles'] if r.get(metric) is not None]
        for r in rows:
            curves[label][r['labelled_images']].append(r[metric])
        if rows:
            areas[label].append(aubc([r['labelled_images'] for r in rows],
                                     [r[metric] for r in rows]))
    summary = {}
    for label in sorted(curves):
        points = {n: _mean_std(v) + (len(v),) for n, v in sorted(curves[label].items())}
        summary[label] = dict(curve=points, aubc=_mean_std(areas[label]) + (len(areas[label]),))
    return summary


def markdown_report(summary, metric='mAP'):
    labels = list(summary)
    sizes = sorted({n for s in summary.values() for n in s['curve']})
    head = '| labelled images | ' + ' | '.join(labels) + ' |'
    lines = [head, '|---|' + '---|' * len(labels)]
    for n in sizes:
        cells = []
        for label in labels:
            point = summary[label]['curve'].get(n)
            cells.append(f'{point[0]:.4f} ± {point[1]:.4f}' if point else '')
        lines.append(f'| {n} | ' + ' | '.join(cells) + ' |')
    lines += ['', f'| method | AUBC of {metric} (normalised) | runs |', '|---|---|---|']
    for label in labels:
        mean, std, n = summary[label]['aubc']
        lines.append(f'| {label} | {mean:.4f} ± {std:.4f} | {n} |')
    return '\n'.join(lines)


def plot_report(path, summary, metric='mAP', title=None):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4.2), dpi=110)
    for label, s in summary.items():
        sizes = list(s['curve'])
        mean = [s['curve'][n][0] for n in sizes]
        std = [s['curve'][n][1] for n in sizes]
        line, = ax.plot(sizes, mean, marker='o', label=f"{label} (AUBC {s['aubc'][0]:.3f})")
        ax.fill_between(sizes, [m - d for m, d in zip(mean, std)],
                        [m + d for m, d in zip(mean, std)], color=line.get_color(), alpha=0.15)
    ax.set_xlabel('labelled images')
    ax.set_ylabel(f'{metric} (mean ± std over seeds)')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
