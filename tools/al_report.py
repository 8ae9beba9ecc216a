"""Compare active-learning runs (strategies x seeds): Markdown table, AUBC, one plot.

    python tools/al_report.py work_dirs/taal_s0 work_dirs/random_s0 ... [--out report]

Runs are grouped by method label; refuses runs with different protocols (pool, test
set, budget, initial split per seed) unless --allow-mixed.
"""
import argparse
import glob
import os
import sys

from taal_det.evaluation.report import (ProtocolMismatch, check_protocols, load_run,
                                        markdown_report, plot_report, summarise)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', help='run dirs (globs allowed) with al_results.json')
    parser.add_argument('--out', default='al_report', help='writes OUT.md and OUT.png')
    parser.add_argument('--metric', default='mAP')
    parser.add_argument('--title')
    parser.add_argument('--allow-mixed', action='store_true',
                        help='compare runs even if their protocols differ')
    args = parser.parse_args(argv)
    paths = sorted({p for pattern in args.runs for p in (glob.glob(pattern) or [pattern])})
    try:
        runs = [load_run(p) for p in paths]
        if not args.allow_mixed:
            check_protocols(runs)
    except (FileNotFoundError, ProtocolMismatch) as e:
        raise SystemExit(f'error: {e}')
    summary = summarise(runs, args.metric)
    text = markdown_report(summary, args.metric)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + '.md', 'w') as f:
        f.write(text + '\n')
    plot_report(args.out + '.png', summary, args.metric, args.title)
    print(text)
    print(f'\nwritten: {args.out}.md, {args.out}.png ({len(runs)} runs)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
