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

import matplotlib
import mmcv

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def _atomic_write(path, write):
    tmp = f'{path}.tmp'
    with open(tmp, 'w', newline='') as f:
        write(f)
    os.replace(tmp, path)


def contact_sheet(path, rows, columns=8, thumb=1.6):
    """A grid of the queried images, each titled with its rank and id."""
    n = max(1, len(rows))
    cols = min(columns, n)
    lines = math.ceil(n / cols)
    fig, axes = plt.subplots(lines, cols, figsize=(cols * thumb, lines * (thumb + 0.3)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    for ax, row in zip(axes.flat, rows):
        ax.imshow(mmcv.imread(row['path'], channel_order='rgb'))
        ax.set_title(f"{row['rank']}. {row['id']}", fontsize=6)
    fig.tight_layout()
    fig.savefig(path + '.tmp.png', dpi=100)
    plt.close(fig)
    os.replace(path + '.tmp.png', path)


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
