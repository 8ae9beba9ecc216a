"""Compare active-learning runs: the checks before comparing (truncated or duplicate runs,
protocol differences), mean +- std per labelled-set size, AUBC, sampler-health,
per-class and time-spent summaries, one plot."""
import json
import os
import statistics
from collections import defaultdict
from fractions import Fraction

from .results import aubc, save_figure

# What every compared run must share (the cycle length is epochs and iterations per cycle).
SHARED = ('pool_digest', 'test_set', 'budget', 'cycles', 'epochs_per_cycle',
          'iters_per_cycle', 'subset', 'warm_start', 'score_context', 'source_ratio',
          'detector', 'metric')
RECORDED_LATER = ('selection', 'score_context', 'source_ratio')  # older runs match any


def method_label(run):
    """The method a run belongs to: its label, else its strategy type."""
    return run['meta'].get('label') or run['meta']['strategy']['type']


def check_complete(run):
    """Refuse a run that stopped before its last cycle (unless the pool ran out)."""
    meta, rows = run['meta'], run['cycles']
    cycles, pool = meta.get('cycles'), meta.get('pool_size')
    if cycles is None or len(rows) >= cycles:
        return
    if not rows or pool is None or rows[-1]['labelled_images'] < pool:
        raise ProtocolMismatch(f"{run['path']} is truncated: {len(rows)} of {cycles} cycles "
                               '(finish or resume it; a partial curve is not averaged in)')


class ProtocolMismatch(ValueError):
    """Runs that should not share a table."""


def check_runs(runs):
    """Refuse truncated runs and a method's seed given twice (whatever the protocols)."""
    seen = {}
    for run in runs:
        check_complete(run)
        key = (method_label(run), run['meta']['seed'])
        if key in seen:
            raise ProtocolMismatch(f'{run["path"]} and {seen[key]} are both {key[0]} with seed '
                                   f'{key[1]}: give each run once')
        seen[key] = run['path']


def load_run(path):
    """Read ``al_results.json`` of a run dir (or the file itself)."""
    file = os.path.join(path, 'al_results.json') if os.path.isdir(path) else path
    if not os.path.exists(file):
        raise FileNotFoundError(f'{path}: no al_results.json (is it a run directory?)')
    with open(file) as f:
        run = json.load(f)
    run['path'] = path
    return run


def check_protocols(runs, vary=()):
    """Every ``SHARED`` setting equal (those in ``vary``, which an ablation compares,
    only within a method), one selection rule per method, one initial split per seed,
    equal seed sets and initial sizes; truncated or duplicate runs refused
    (:func:`check_runs`). Raises :class:`ProtocolMismatch` naming the difference."""
    check_runs(runs)
    unknown = set(vary) - set(SHARED)
    if unknown:
        raise ValueError(f'can vary only {", ".join(SHARED)}; got {sorted(unknown)}')
    for key in SHARED + ('selection',):
        within = key in vary or key == 'selection'  # a method's rule, across its seeds
        for group in (_by_method(runs).values() if within else [runs]):
            if key == 'test_set':
                check_test_sets(group)
            else:
                _check_setting(key, group)
    by_seed = {}
    for run in runs:
        ids = sorted(run['meta']['initial']['ids'])
        other = by_seed.setdefault(run['meta']['seed'], (run['path'], ids))
        if other[1] != ids:
            raise ProtocolMismatch(f"{run['path']} and {other[0]} have seed "
                                   f"{run['meta']['seed']} but different initial splits")
    seeds = {label: {run['meta']['seed'] for run in group}
             for label, group in _by_method(runs).items()}
    labels = sorted(seeds)
    for label in labels[1:]:
        if seeds[label] != seeds[labels[0]]:
            raise ProtocolMismatch(f'{label} ran seeds {sorted(seeds[label])} but {labels[0]} '
                                   f'ran {sorted(seeds[labels[0]])}: paired comparisons need '
                                   'the same seeds for every method')
    sizes = {len(r['meta']['initial']['ids']) for r in runs}
    if len(sizes) > 1:
        raise ProtocolMismatch(f'runs start from initial splits of different sizes {sorted(sizes)}')


def _specificity(key, value):
    """How much a recorded value says: nothing (an older run), a detector's class only,
    or all of it."""
    if value is None and key in RECORDED_LATER:
        return 0
    return 1 if key == 'detector' and isinstance(value, str) and '(' not in value else 2


def _by_method(runs):
    methods = defaultdict(list)
    for run in runs:
        methods[method_label(run)].append(run)
    return methods


def _fullest(key, runs):
    """The first of ``runs`` that recorded the most of ``key``."""
    return max(runs, key=lambda run: _specificity(key, run['meta'].get(key)))


def _check_setting(key, runs):
    """One value of ``key`` across ``runs``, whatever their order: every run's value
    against the most specific one recorded."""
    ref = _fullest(key, runs)
    for run in runs:
        if not _same(key, run['meta'].get(key), ref['meta'].get(key)):
            raise ProtocolMismatch(
                f"{run['path']} and {ref['path']} differ in {key}: "
                f"{run['meta'].get(key)!r} vs {ref['meta'].get(key)!r}")


def _same(key, a, b):
    """Equal settings; runs that recorded the detector's class only (older runs) match
    the same class recorded with its parts; a setting an older run did not record
    (``RECORDED_LATER``) matches any; test sets are the same images, wherever their
    folder."""
    if key == 'detector' and isinstance(a, str) and isinstance(b, str) and \
            ('(' in a) != ('(' in b):
        return a.partition('(')[0] == b.partition('(')[0]
    if key in RECORDED_LATER and (a is None or b is None):
        return True
    if key == 'test_set' and isinstance(a, dict) and isinstance(b, dict):
        return same_test_set(a, b)
    if key == 'source_ratio' and a and b:
        return _labelled_share(a) == _labelled_share(b)
    return a == b


def _labelled_share(ratio):
    """The labelled share of a batch ratio, exactly: [2, 2], [1, 1] and [0.5, 0.5] all
    make the same batches at any batch size."""
    labelled, unlabelled = (Fraction(str(part)) for part in ratio)
    return labelled / (labelled + unlabelled)


def same_test_set(a, b):
    """The same images: equal content digests where both runs recorded one; for older
    runs, the same size and annotation file (the same path, or two paths to one file)."""
    if a.get('digest') and b.get('digest'):
        return a['images'] == b['images'] and a['digest'] == b['digest']
    if a.get('images') != b.get('images'):
        return False
    paths = a.get('ann_file'), b.get('ann_file')
    if paths[0] == paths[1]:
        return True
    return all(isinstance(p, str) and os.path.isfile(p) for p in paths) and \
        os.path.samefile(*paths)


def check_test_sets(runs):
    """All runs on one test set, whatever their order: one size, at most one content
    digest, and every run tied to the others by :func:`same_test_set` (an older run without
    a digest joins through a run that recorded both its file and the digest)."""
    sets = [run['meta'].get('test_set') for run in runs]
    if not all(isinstance(s, dict) for s in sets):
        pairs = [(run, runs[0]) for run, s in zip(runs, sets) if s != sets[0]]
    else:
        group = list(range(len(runs)))  # union-find over matching pairs

        def root(i):
            while group[i] != i:
                i = group[i]
            return i
        for i in range(len(runs)):
            for j in range(i):
                if root(i) != root(j) and same_test_set(sets[i], sets[j]):
                    group[root(i)] = root(j)
        pairs = [(run, runs[0]) for i, run in enumerate(runs) if root(i) != root(0)]
        digested = [(run, s['digest']) for run, s in zip(runs, sets) if s.get('digest')]
        pairs += [(run, digested[0][0]) for run, digest in digested if digest != digested[0][1]]
    if pairs:
        run, ref = pairs[0]
        raise ProtocolMismatch(f"{run['path']} and {ref['path']} differ in test_set: "
                               f"{_test_set_text(run)} vs {_test_set_text(ref)}")


def _test_set_text(run):
    test_set = run['meta'].get('test_set')
    if not isinstance(test_set, dict):
        return repr(test_set)
    parts = [f'{test_set.get("images")} images'] + [
        f'{k} {test_set[k]}' for k in ('digest', 'ann_file') if test_set.get(k) is not None]
    return f'({", ".join(parts)})'


def varied_settings(runs, vary):
    """'key: method value, ...' lines of the settings an ablation varies."""
    lines = []
    for key in vary:
        fullest = {label: _fullest(key, group) for label, group in _by_method(runs).items()}
        values = {label: _test_set_text(run) if key == 'test_set' else
                  repr(run['meta'].get(key)) for label, run in fullest.items()}
        lines.append(f'{key}: ' + ', '.join(f'{m} {v}' for m, v in sorted(values.items())))
    return lines


def _mean_std(values):
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(runs, metric='mAP'):
    """Per method: {labelled size: (mean, std, n)} and (AUBC mean, std, n)."""
    curves, areas = defaultdict(lambda: defaultdict(list)), defaultdict(list)
    for run in runs:
        label = method_label(run)
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


HEALTH_FIELDS = ('sampler_bce', 'sampler_bce_chance', 'sampler_auc', 'sampler_auc_test')


def _mean_of(rows, key):
    xs = [r[key] for r in rows if r.get(key) is not None]
    return statistics.mean(xs) if xs else None


def _cell(value, digits=4):
    return '' if value is None else f'{value:.{digits}f}'


def health_summary(runs):
    """Sampler health per method and cycle (means over seeds), for runs that have it."""
    rows = defaultdict(list)
    for run in runs:
        for r in run['cycles']:
            if r.get('sampler_auc') is not None:
                rows[(method_label(run), r['cycle'])].append(r)
    return [dict(method=label, cycle=cycle, runs=len(group),
                 **{f: _mean_of(group, f) for f in HEALTH_FIELDS})
            for (label, cycle), group in sorted(rows.items())]


def health_table(summary):
    if not summary:
        return ''
    lines = ['| method | cycle | ' + ' | '.join(HEALTH_FIELDS) + ' | runs |',
             '|---|---|' + '---|' * (len(HEALTH_FIELDS) + 1)]
    lines += [f"| {h['method']} | {h['cycle']} | " +
              ' | '.join(_cell(h[f]) for f in HEALTH_FIELDS) + f" | {h['runs']} |"
              for h in summary]
    return '\n'.join(lines)


def class_summary(runs):
    """Per cycle and method (means over seeds): the boxes per class of the images the
    method added, and each class's AP where the metric gives it."""
    rows, classes = defaultdict(list), []
    for run in runs:
        for r in run['cycles']:
            added = r.get('added_boxes_per_class')
            if added is not None:
                rows[(r['cycle'], method_label(run))].append(r)
                classes += [c for c in added if c not in classes]
    summary = []
    for (cycle, label), group in sorted(rows.items()):
        boxes = {c: statistics.mean(r['added_boxes_per_class'].get(c, 0) for r in group)
                 for c in classes}
        aps = [[r.get('class_ap', {}).get(c) for r in group] for c in classes]
        ap = {c: statistics.mean(v) for c, v in zip(classes, aps) if None not in v}
        summary.append(dict(cycle=cycle, method=label, added_boxes=boxes, class_ap=ap))
    return summary


def class_table(summary):
    """Boxes added per class (and, after a slash, the class's AP where known)."""
    if not summary:
        return ''
    classes = list(summary[0]['added_boxes'])
    lines = ['| cycle | method | ' + ' | '.join(classes) + ' |',
             '|---|---|' + '---|' * len(classes)]
    for c in summary:
        cells = [f"{c['added_boxes'][k]:.1f}" +
                 (f" / {c['class_ap'][k]:.3f}" if k in c['class_ap'] else '') for k in classes]
        lines.append(f"| {c['cycle']} | {c['method']} | " + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def cost_summary(runs):
    """Per method, the seconds its runs spent (means over seeds): training with the
    cycle-end validation, selection (scoring and the rule) and the sampler-health pass.
    A run that continued another's cycle 0 counts only what it trained itself."""
    spent = defaultdict(list)
    for run in runs:
        rows = run['cycles']
        spent[method_label(run)].append(
            {k: sum(r.get(k) or 0.0 for r in rows)
             for k in ('train_seconds', 'selection_seconds', 'health_seconds')})
    return [dict(method=label, runs=len(v), **{k: statistics.mean(x[k] for x in v)
                                               for k in v[0]},
                 total_hours=sum(sum(x.values()) for x in v) / 3600)
            for label, v in sorted(spent.items())]


def cost_table(summary):
    lines = ['| method | train + validation, s per run | selection, s | sampler health, s '
             '| runs | all runs, CPU hours |', '|---|---|---|---|---|---|']
    lines += [f"| {c['method']} | {c['train_seconds']:.0f} | {c['selection_seconds']:.0f} | "
              f"{c['health_seconds']:.0f} | {c['runs']} | {c['total_hours']:.2f} |"
              for c in summary]
    return '\n'.join(lines)


def plot_report(path, summary, box_curves=None, metric='mAP', title=None):
    """Mean curves (± std bands) against labelled images; beside them, when given, the
    mean curves against labelled boxes ({label: (xs, mean ys)})."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2 if box_curves else 1, figsize=(12 if box_curves else 6.5, 4.2),
                             dpi=110, squeeze=False)
    ax = axes[0][0]
    for label, s in summary.items():
        sizes = list(s['curve'])
        mean = [s['curve'][n][0] for n in sizes]
        std = [s['curve'][n][1] for n in sizes]
        line, = ax.plot(sizes, mean, marker='o', label=f"{label} (AUBC {s['aubc'][0]:.3f})")
        ax.fill_between(sizes, [m - d for m, d in zip(mean, std)],
                        [m + d for m, d in zip(mean, std)], color=line.get_color(), alpha=0.15)
    ax.set_xlabel('labelled images')
    ax.set_ylabel(f'{metric} (mean ± std over seeds)')
    for label, (xs, ys) in (box_curves or {}).items():
        axes[0][1].plot(xs, ys, label=label)
    if box_curves:
        axes[0][1].set_xlabel('labelled boxes (common range, interpolated)')
        axes[0][1].set_ylabel(f'{metric} (mean over seeds)')
    for a in axes[0]:
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    save_figure(fig, path)
