"""Compare active-learning runs (strategies x seeds): tables, paired statistics, plot.

    python tools/al_report.py work_dirs/taal_s0 work_dirs/random_s0 ... [--out report]
        [--reference random]

Runs are grouped by method label. Writes OUT.md, OUT.json and OUT.png: mean ± std per
labelled-set size; AUBC per method; for every method the paired per-seed AUBC
difference against --reference (mean, 95 % t-interval, wins / losses), against labelled
images and against labelled boxes (over the box range all runs share, interpolated);
sampler health per cycle; the time each method's runs spent; the classes of the boxes
each method added (and each class's AP where the metric gives it). Refuses truncated runs and a method's seed given twice,
and runs of different protocols or unequal seed sets unless --allow-mixed.
"""
import argparse
import glob
import json
import os
import sys

from taal_det.evaluation.paired import (markdown_paired, mean_box_curves, paired_differences,
                                        run_areas, shared_range)
from taal_det.evaluation.report import (SHARED, ProtocolMismatch, check_protocols,
                                        check_runs, class_summary, class_table,
                                        cost_summary, cost_table,
                                        health_summary, health_table, load_run,
                                        markdown_report, plot_report, summarise,
                                        varied_settings)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('runs', nargs='+', help='run dirs (globs allowed) with al_results.json')
    parser.add_argument('--out', default='al_report', help='writes OUT.md, OUT.json, OUT.png')
    parser.add_argument('--metric', default='mAP')
    parser.add_argument('--reference', default='random',
                        help='method the paired differences are taken against')
    parser.add_argument('--title')
    parser.add_argument('--allow-mixed', action='store_true',
                        help='compare runs even if their protocols differ')
    parser.add_argument('--vary', nargs='+', default=[], choices=SHARED, metavar='SETTING',
                        help='settings an ablation compares (e.g. warm_start): they may '
                        'differ between methods, not within one; the report names them')
    args = parser.parse_args(argv)
    paths = sorted({p for pattern in args.runs for p in (glob.glob(pattern) or [pattern])})
    try:
        runs = [load_run(p) for p in paths]
        check_runs(runs)  # no partial curve averaged in, no run counted twice
        if not args.allow_mixed:
            check_protocols(runs, args.vary)
    except (FileNotFoundError, ProtocolMismatch) as e:
        raise SystemExit(f'error: {e}')
    summary = summarise(runs, args.metric)
    result = dict(metric=args.metric, reference=args.reference, runs=paths,
                  summary={k: dict(curve={str(n): p for n, p in v['curve'].items()},
                                   aubc=v['aubc']) for k, v in summary.items()})
    sections = [markdown_report(summary, args.metric)]
    if args.vary:
        result['varied'] = varied_settings(runs, args.vary)
        sections.insert(0, 'Methods differ in ' + '; '.join(result['varied']) + '.')
    boxes = None
    if args.reference in summary:
        by_images, _ = run_areas(runs, args.metric)
        result['paired_images'] = paired_differences(by_images, args.reference)
        sections.append(markdown_paired(result['paired_images'], args.reference,
                                        f'AUBC of {args.metric} (images)'))
        lo, hi = shared_range(runs, args.metric)
        if lo < hi:  # curves against labelled boxes share a range
            by_boxes, (lo, hi) = run_areas(runs, args.metric, 'labelled_boxes', True)
            result['box_range'] = [lo, hi]
            result['paired_boxes'] = paired_differences(by_boxes, args.reference)
            sections.append(f'Against labelled boxes, over the common range {lo}-{hi}:\n\n' +
                            markdown_paired(result['paired_boxes'], args.reference,
                                            f'AUBC of {args.metric} (boxes)'))
            boxes = mean_box_curves(runs, args.metric, lo, hi)
    else:
        sections.append(f'No paired differences: the reference method {args.reference!r} '
                        f'is not among the runs ({", ".join(summary)}); set --reference.')
    result['health'], result['classes'] = health_summary(runs), class_summary(runs)
    if result['health']:
        sections.append('Sampler health per cycle (means over seeds):\n\n' +
                        health_table(result['health']))
    result['cost'] = cost_summary(runs)
    sections.append('Time spent (wall seconds of the runs as they ran; a run that continued '
                    "another's cycle 0 counts only its own cycles):\n\n" +
                    cost_table(result['cost']))
    if result['classes']:
        sections.append('Boxes per class of the images each method added per cycle (means '
                        "over seeds; after ' / ': the class's AP at that cycle where the "
                        'metric gives it):\n\n' + class_table(result['classes']))
    text = '\n\n'.join(sections)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + '.md', 'w') as f:
        f.write(text + '\n')
    with open(args.out + '.json', 'w') as f:
        json.dump(result, f, indent=1)
    plot_report(args.out + '.png', summary, boxes, args.metric, args.title)
    print(text)
    print(f'\nwritten: {args.out}.md, {args.out}.json, {args.out}.png ({len(runs)} runs)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
