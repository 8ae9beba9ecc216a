"""Per-cycle results of an active-learning run: table, files, curve and AUBC."""
import csv
import io
import os

from taal_det.pool.io import atomic_write_json, atomic_write_text

COLUMNS = ('cycle', 'labelled_images', 'labelled_boxes', 'mAP', 'train_seconds',
           'selection_seconds', 'strategy', 'seed')


def aubc(sizes, values):
    """Area under the budget curve by the trapezoid rule, normalised by the budget
    range so that it reads as an average metric (a single point gives its value)."""
    if len(sizes) != len(values) or not sizes:
        raise ValueError('aubc needs as many metric values as labelled-set sizes (>= 1)')
    if len(sizes) == 1:
        return float(values[0])
    area = sum((sizes[i + 1] - sizes[i]) * (values[i] + values[i + 1]) / 2
               for i in range(len(sizes) - 1))
    return area / (sizes[-1] - sizes[0])


def split_class_metrics(metrics, classes):
    """(the scalar metrics but the per-class ones, {class: AP}): the per-class keys of
    ClasswiseVOCMetric (``.../AP{iou}_{class}``; the AP at IoU 0.5 is kept) and of
    CocoMetric with ``classwise=True`` (``.../{class}_precision``, AP at IoU 0.5:0.95)
    go out of the scalars, so tables keep one column per metric."""
    scalars, class_ap = {}, {}
    names = {f'{c}_precision': c for c in classes}
    for key, value in metrics.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        tail = key.split('/', 1)[-1]
        iou, _, name = tail.partition('_')
        if iou[:2] == 'AP' and iou[2:].isdigit() and name in classes:
            if iou == 'AP50':
                class_ap[name] = float(value)
        elif tail in names:
            class_ap[names[tail]] = float(value)
        else:
            scalars[key] = float(value)
    return scalars, class_ap


def _columns(rows):
    """Scalar columns (dicts such as ``added_boxes_per_class`` stay in the json)."""
    extra = sorted({k for r in rows for k, v in r.items() if not isinstance(v, (dict, list))}
                   - set(COLUMNS))
    return [c for c in COLUMNS if any(c in r for r in rows)] + extra


def _fmt(value):
    return f'{value:.4f}' if isinstance(value, float) else str(value)


def markdown_table(rows):
    cols = _columns(rows)
    lines = ['| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
    lines += ['| ' + ' | '.join(_fmt(r.get(c, '')) for c in cols) + ' |' for r in rows]
    return '\n'.join(lines)


def write_results(work_dir, rows, meta):
    """``al_results.json`` (rows + run metadata) and ``al_results.csv``, atomically."""
    atomic_write_json(os.path.join(work_dir, 'al_results.json'), dict(meta=meta, cycles=rows))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_columns(rows), extrasaction='ignore')
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(os.path.join(work_dir, 'al_results.csv'), buf.getvalue())


def plot_curve(path, curves, metric='mAP', title=None):
    """One PNG: ``metric`` against labelled images; ``curves`` maps a label to rows."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for label, rows in curves.items():
        pts = [(r['labelled_images'], r[metric]) for r in rows if r.get(metric) is not None]
        if pts:
            ax.plot(*zip(*pts), marker='o', label=label)
    ax.set_xlabel('labelled images')
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    save_figure(fig, path)


def save_figure(fig, path):
    """Write a matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    tmp = path + '.tmp.png'
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
