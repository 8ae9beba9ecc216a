"""Compare strategies with paired seeds on the Fashion-MNIST scenes (or the trees), then
write the report with paired AUBC differences against random.

    python tools/benchmarks/compare_strategies.py --name dev --seeds 100 101
    python tools/benchmarks/compare_strategies.py --name scenes128 --seeds 0 1 2 3 4
    python tools/benchmarks/compare_strategies.py --name dev_unc --seeds 100 101 --cycles 2 \
        --strategies random unc-margin-mean=uncertainty:measure=margin,reduce=mean

A strategy is an ``al_train.py --strategy`` alias, or ``LABEL=ALIAS:key=value,...``: a
named variant with options of the hook's strategy (it forks like its alias).

Every strategy of a seed starts from the same initial split (the seed's first run draws
it). Each finished run's ``al_results.json`` is copied at once to ``--results`` (default
``docs/results/NAME/``, meant to be committed); a run whose results are already there is
skipped, so a rerun on a fresh machine only trains what is missing. Identical work is
trained once: uncertainty and core-set continue random's cycle 0 (the same bare detector
on the same split), taal-random continues taal's (``al_train.py --fork``); with
``--fork-work`` every run continues the cycle 0 of its namesake in another comparison, or
of the run it would fork from there (e.g. one-cycle probes of variants, ``--cycles 2``). Arguments choose the
data (``--data-seed``: another draw of the scenes), the pool, the image size and the
schedule, so the same command scales to a GPU (mmengine uses it when torch sees one).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tools', 'data'))
from make_fashion_scenes import build as build_scenes  # noqa: E402
from make_trees import build as build_trees  # noqa: E402
from taal_det.evaluation.report import (SHARED, ProtocolMismatch, check_complete,  # noqa: E402
                                        load_run)

CONFIGS = dict(scenes=os.path.join(ROOT, 'configs', 'demo', 'fashion_lite0_taal.py'),
               trees=os.path.join(ROOT, 'configs', 'demo', 'trees_lite0_taal.py'))
STRATEGIES = ['taal', 'taal-random', 'jls', 'random', 'uncertainty', 'coreset', 'll4al']
FORKS = {'uncertainty': 'random', 'uncertainty-top-score': 'random', 'coreset': 'random',
         'taal-random': 'taal'}
# Hook options that change nothing before the first selection: a variant with only these
# continues its alias's cycle 0.
AFTER_CYCLE0_HOOK_OPTIONS = {'warm_start', 'score_context', 'score_batch_size'}


def complete(path):
    """A results file of a run that ended (all its cycles, or the pool ran out)."""
    if not os.path.exists(path):
        return False
    run = load_run(path)
    try:
        check_complete(run)
    except ProtocolMismatch:
        return False
    return bool(run['cycles'])


def make_data(args):
    if args.data == 'trees':
        build_trees(args.data_dir)
    else:
        build_scenes(args.data_dir, args.trainval, args.test, args.size, (1, 4),
                     seed=args.data_seed)
    return os.path.abspath(args.data_dir) + '/'


def common_flags(args, root):
    flags = ['--budget', str(args.budget), '--cycles', str(args.cycles),
             '--epochs-per-cycle', str(args.epochs_per_cycle)]
    if args.iters_per_cycle:
        flags += ['--iters-per-cycle', str(args.iters_per_cycle)]
    options = [f'{split}.dataset.data_root={root}'
               for split in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    options += [f'param_scheduler.1.end={args.epochs_per_cycle}',
                f'param_scheduler.1.milestones=[{args.milestone}]',
                'default_hooks.checkpoint.max_keep_ckpts=-1']
    if args.data == 'scenes' and args.size != 128:
        options += [f'train_dataloader.dataset.pipeline.2.scale=({args.size},{args.size})',
                    f'val_dataloader.dataset.pipeline.1.scale=({args.size},{args.size})']
    return flags + ['--cfg-options'] + options + args.cfg_options


def cycle0_checkpoint(work, epochs_per_cycle):
    return os.path.join(work, f'epoch_{epochs_per_cycle}.pth')


def keep_cycle0_checkpoint(work, epochs_per_cycle):
    """A finished run keeps only the checkpoint other runs fork from (and is not resumed:
    its al_results.json is complete)."""
    for name in os.listdir(work):
        path = os.path.join(work, name)
        if name == 'last_checkpoint' or name.endswith('.pth') and \
                path != cycle0_checkpoint(work, epochs_per_cycle):
            os.remove(path)


def check_protocol(path, args):
    """Refuse kept results of another protocol (one --name per protocol)."""
    with open(path) as f:
        meta = json.load(f)['meta']
    expected = dict(budget=args.budget, cycles=args.cycles, epochs_per_cycle=args.epochs_per_cycle,
                    iters_per_cycle=args.iters_per_cycle)
    if args.data == 'scenes':
        expected.update(pool_size=args.trainval)
    for key, value in expected.items():
        if meta.get(key) != value:
            raise SystemExit(f'{path} has {key}={meta.get(key)!r}, not {value!r}: another '
                             'protocol; give this one its own --name')


def parse_method(text):
    """'taal' or 'LABEL=ALIAS:key=value,...' -> (label, alias, cfg-options, whether its
    cycle 0 is the alias's). Keys name the strategy's options, or with ``hook.`` the
    hook's; a variant's cycle 0 is its alias's unless a hook option trains it otherwise."""
    label, _, rest = text.partition('=')
    if not rest:
        return text, text, [], True
    alias, _, options = rest.partition(':')
    pairs = [o.split('=', 1) for o in options.split(',') if o]
    if any(len(p) != 2 for p in pairs):
        raise SystemExit(f'bad strategy {text!r}: options are key=value, comma-separated')
    hook_keys = [k[len('hook.'):] for k, _ in pairs if k.startswith('hook.')]
    cfg_options = [f'custom_hooks.0.label={label}'] + [
        f'custom_hooks.0.{k[len("hook."):]}={v}' if k.startswith('hook.')
        else f'custom_hooks.0.strategy.{k}={v}' for k, v in pairs]
    return label, alias, cfg_options, set(hook_keys) <= AFTER_CYCLE0_HOOK_OPTIONS


def fork_flags(args, work_root, label, alias, seed, same_cycle0):
    """Continue the cycle 0 another run trained on the same split: with --fork-work its
    namesake there, else (or failing that) the alias's run (a variant) or the run FORKS
    names, in --fork-work or in this comparison."""
    names = [label] if args.fork_work else []
    if same_cycle0:
        names += [name for name in ([alias] if label != alias else []) + [FORKS.get(alias)]
                  if name]
    sources = [os.path.join(args.fork_work or work_root, f'{name}_seed{seed}') for name in names]
    for source in sources:
        if os.path.exists(cycle0_checkpoint(source, args.epochs_per_cycle)):
            return ['--fork', source]
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--name', required=True, help='names the results and work folders')
    parser.add_argument('--results', help='default: docs/results/NAME')
    parser.add_argument('--work', help='default: work_dirs/compare/NAME')
    parser.add_argument('--data', choices=list(CONFIGS), default='scenes')
    parser.add_argument('--data-dir', help='default: data/compare_DATA_DATASEED_SIZE')
    parser.add_argument('--data-seed', type=int, default=0, help='draw of the scenes')
    parser.add_argument('--trainval', type=int, default=1000, help='pool size (scenes)')
    parser.add_argument('--test', type=int, default=300, help='test scenes')
    parser.add_argument('--size', type=int, default=128, help='scene side in pixels')
    parser.add_argument('--seeds', type=int, nargs='+', required=True)
    parser.add_argument('--strategies', nargs='+', default=STRATEGIES)
    parser.add_argument('--initial', type=int, default=100)
    parser.add_argument('--budget', type=int, default=100)
    parser.add_argument('--cycles', type=int, default=5)
    parser.add_argument('--epochs-per-cycle', type=int, default=20)
    parser.add_argument('--iters-per-cycle', type=int, default=None)
    parser.add_argument('--milestone', type=int, default=15, help='epoch of the lr drop')
    parser.add_argument('--fork-work', help='continue the cycle 0 of the runs of this work '
                        'folder: the namesakes, or the runs a variant or FORKS names')
    parser.add_argument('--configs', nargs='*', default=[], metavar='LABEL=CONFIG',
                        help="another config for a method (e.g. taal-conf=configs/demo/"
                        "fashion_lite0_conf_taal.py with the strategy taal-conf=taal)")
    parser.add_argument('--cfg-options', nargs='*', default=[])
    args = parser.parse_args()
    configs = dict(c.split('=', 1) for c in args.configs)
    results = args.results or os.path.join(ROOT, 'docs', 'results', args.name)
    work_root = args.work or os.path.join(ROOT, 'work_dirs', 'compare', args.name)
    args.data_dir = args.data_dir or os.path.join(
        ROOT, 'data', f'compare_{args.data}_{args.data_seed}_{args.size}')
    os.makedirs(results, exist_ok=True)
    root = make_data(args)
    flags = common_flags(args, root)
    done = []
    for seed in args.seeds:
        initial = None
        for method in args.strategies:
            label, strategy, options, same_cycle0 = parse_method(method)
            same_cycle0 = same_cycle0 and label not in configs
            name = f'{label}_seed{seed}'
            kept, work = os.path.join(results, f'{name}.json'), os.path.join(work_root, name)
            finished = os.path.join(work, 'al_results.json')
            if not complete(kept) and complete(finished):
                shutil.copyfile(finished, kept)
            if complete(kept):
                check_protocol(kept, args)
            else:
                split = ['--initial-split', initial] if initial else \
                    ['--initial-size', str(args.initial)]
                cmd = [sys.executable, os.path.join(ROOT, 'tools', 'al_train.py'),
                       configs.get(label, CONFIGS[args.data]), '--work-dir', work,
                       '--strategy', strategy,
                       '--seed', str(seed), *split, *flags, *options]
                resume = ['--resume'] if os.path.exists(os.path.join(work, 'last_checkpoint')) \
                    else fork_flags(args, work_root, label, strategy, seed, same_cycle0)
                t0 = time.time()
                os.makedirs(work_root, exist_ok=True)
                with open(os.path.join(work_root, f'{name}.log'), 'a') as log:
                    if subprocess.run(cmd + resume, stdout=log, stderr=subprocess.STDOUT,
                                      cwd=ROOT).returncode:
                        raise SystemExit(f'{name} failed; see {log.name}')
                shutil.copyfile(os.path.join(work, 'al_results.json'), kept)
                keep_cycle0_checkpoint(work, args.epochs_per_cycle)
                print(f'{name}: {time.time() - t0:.0f} s -> {kept}', flush=True)
            if initial is None:
                with open(kept) as f:
                    ids = json.load(f)['meta']['initial']['ids']
                initial = os.path.join(results, f'initial_seed{seed}.txt')
                with open(initial, 'w') as f:
                    f.write('\n'.join(ids) + '\n')
            done.append(kept)
    varied = sorted({key for method in args.strategies for key in SHARED
                     if f'hook.{key}=' in method.partition(':')[2]})
    subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'al_report.py'), *done,
                    '--out', os.path.join(results, 'report'), '--title',
                    f'{args.data}, {args.size} px, pool {args.trainval}'] +
                   (['--vary', *varied] if varied else []), check=True, cwd=ROOT)


if __name__ == '__main__':
    main()
