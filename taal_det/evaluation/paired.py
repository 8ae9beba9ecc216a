"""Paired statistics over seeds: each method's AUBC minus the reference method's AUBC of
the same seed (same initial split), with a 95 % t-interval and the sign count."""
import math
import statistics

from scipy import stats  # a dependency of mmdet

from .report import method_label
from .results import aubc


def interpolate(xs, ys, x):
    """The piecewise-linear curve (xs ascending, ys) at x (inside [xs[0], xs[-1]])."""
    for i in range(len(xs) - 1):
        if xs[i] <= x <= xs[i + 1]:
            t = (x - xs[i]) / (xs[i + 1] - xs[i]) if xs[i + 1] > xs[i] else 1.0
            return ys[i] + t * (ys[i + 1] - ys[i])
    return ys[-1]


def interpolated_aubc(xs, ys, lo, hi):
    """Normalised area under the piecewise-linear curve (xs, ys) between lo and hi."""
    if not xs or not lo < hi or lo < xs[0] or hi > xs[-1]:
        raise ValueError(f'range [{lo}, {hi}] is empty or not inside the curve {xs}')
    points = [lo] + [x for x in xs if lo < x < hi] + [hi]
    return aubc(points, [interpolate(xs, ys, x) for x in points])


def mean_box_curves(runs, metric, lo, hi, points=50):
    """Per method: the mean over its runs of the curve against labelled boxes, on a grid
    of the common range [lo, hi]."""
    grid = [lo + (hi - lo) * k / (points - 1) for k in range(points)]
    curves = {}
    for run in runs:
        rows = [r for r in run['cycles'] if r.get(metric) is not None]
        xs, ys = [r['labelled_boxes'] for r in rows], [r[metric] for r in rows]
        curves.setdefault(method_label(run), []).append([interpolate(xs, ys, x) for x in grid])
    return {label: (grid, [sum(v) / len(v) for v in zip(*c)]) for label, c in curves.items()}


def _curve(run, metric, x):
    rows = [r for r in run['cycles'] if r.get(metric) is not None and r.get(x) is not None]
    return [r[x] for r in rows], [r[metric] for r in rows]


def shared_range(runs, metric='mAP', x='labelled_boxes'):
    """The x range every run's curve covers, (lo, hi); empty when lo >= hi."""
    xs = [_curve(run, metric, x)[0] or [0] for run in runs]
    return max(c[0] for c in xs), min(c[-1] for c in xs)


def run_areas(runs, metric='mAP', x='labelled_images', common_range=False):
    """{label: {seed: AUBC}}; with ``common_range`` the curves are integrated over the x
    range all runs share (e.g. labelled boxes, which differ between runs)."""
    curves = {(method_label(run), run['meta']['seed']): _curve(run, metric, x) for run in runs}
    lo, hi = shared_range(runs, metric, x)
    areas = {}
    for (label, seed), (xs, ys) in curves.items():
        area = interpolated_aubc(xs, ys, lo, hi) if common_range else aubc(xs, ys)
        areas.setdefault(label, {})[seed] = area
    return areas, (lo, hi)


def paired_differences(areas, reference):
    """Per method (not the reference): per-seed differences, mean, 95 % t-interval, signs."""
    if reference not in areas:
        raise ValueError(f'reference method {reference!r} is not among {sorted(areas)}')
    ref = areas[reference]
    out = {}
    for label, by_seed in sorted(areas.items()):
        if label == reference:
            continue
        seeds = sorted(set(by_seed) & set(ref))  # the same seeds unless --allow-mixed
        if not seeds:
            continue
        diffs = [by_seed[s] - ref[s] for s in seeds]
        mean = statistics.mean(diffs)
        ci = None
        if len(diffs) > 1:
            half = stats.t.ppf(0.975, len(diffs) - 1) * statistics.stdev(diffs) / \
                math.sqrt(len(diffs))
            ci = (mean - half, mean + half)
        out[label] = dict(seeds=seeds, differences=diffs, mean=mean, ci95=ci,
                          wins=sum(d > 0 for d in diffs), losses=sum(d < 0 for d in diffs),
                          ties=sum(d == 0 for d in diffs))
    return out


def markdown_paired(paired, reference, what='AUBC of mAP'):
    lines = [f'| method | {what} minus {reference}: mean | 95 % t-interval | wins / losses '
             '(seeds) |', '|---|---|---|---|']
    for label, p in paired.items():
        ci = f'[{p["ci95"][0]:+.4f}, {p["ci95"][1]:+.4f}]' if p['ci95'] else 'n/a (1 seed)'
        lines.append(f"| {label} | {p['mean']:+.4f} | {ci} | {p['wins']} / {p['losses']} "
                     f"({len(p['seeds'])}) |")
    return '\n'.join(lines)
