"""The files of a query: what a person labels next, in the forms annotation tools read.

``query_dir/``: ``ids.txt`` (one image id per line, in rank order), ``query.csv`` (rank,
id, path, score), ``label_studio_tasks.json`` (one task per image, importable into Label
Studio; the id rides in the task's data) and ``contact_sheet.png`` (thumbnails with their
ids and ranks).
"""
import csv
import json
import math
import os
import textwrap

import mmcv


def _atomic_write(path, write):
    tmp = f'{path}.tmp'
    with open(tmp, 'w', newline='') as f:
        write(f)
    os.replace(tmp, path)


def contact_sheet(path, rows, columns=8, thumb=1.6):
    """A grid of the queried images, each titled with its rank and id (long ids wrapped
    to the thumbnail's width)."""
    n = max(1, len(rows))
    cols = min(columns, n)
    lines = math.ceil(n / cols)
    titles = [textwrap.wrap(f"{row['rank']}. {row['id']}", int(thumb * 16)) for row in rows]
    height = thumb + 0.12 * max(map(len, titles), default=1) + 0.15
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(lines, cols, figsize=(cols * thumb, lines * height),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    for ax, row, title in zip(axes.flat, rows, titles):
        ax.imshow(mmcv.imread(row['path'], channel_order='rgb'))
        ax.set_title('\n'.join(title), fontsize=6)
    fig.tight_layout()
    fig.savefig(path + '.tmp.png', dpi=100)
    plt.close(fig)
    os.replace(path + '.tmp.png', path)


def query_scores(strategy, outputs):
    """{id: score} for a query's score column: the strategy's image uncertainty where it
    has one, else the sampler's s or the predicted loss; None for strategies without a
    score (random, core-set)."""
    if hasattr(strategy, 'uncertainty'):
        scores = strategy.uncertainty(outputs)
    elif outputs.sampler_scores is not None:
        scores = outputs.sampler_scores
    else:
        scores = outputs.predicted_loss
    return None if scores is None else dict(zip(outputs.ids, scores.tolist()))


def write_query(query_dir, ids, paths, scores=None):
    """Write the query of ``ids`` (in rank order) with their image ``paths`` and, when
    given, the strategy's ``scores``; return the rows written."""
    os.makedirs(query_dir, exist_ok=True)
    rows = [dict(rank=k + 1, id=i, path=os.path.abspath(paths[i]),
                 score='' if scores is None or i not in scores else scores[i])
            for k, i in enumerate(ids)]
    _atomic_write(os.path.join(query_dir, 'ids.txt'),
                  lambda f: f.write(''.join(f'{r["id"]}\n' for r in rows)))

    def table(f):
        writer = csv.DictWriter(f, fieldnames=['rank', 'id', 'path', 'score'])
        writer.writeheader()
        writer.writerows(rows)
    _atomic_write(os.path.join(query_dir, 'query.csv'), table)
    tasks = [dict(data=dict(image=r['path'], img_id=r['id'], rank=r['rank'])) for r in rows]
    _atomic_write(os.path.join(query_dir, 'label_studio_tasks.json'),
                  lambda f: json.dump(tasks, f, indent=1))
    contact_sheet(os.path.join(query_dir, 'contact_sheet.png'), rows)
    return rows
