"""The comparison's method parsing and its cycle-0 forks (which runs may share training)."""
import argparse
import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location(
    'compare_strategies', os.path.join(ROOT, 'tools', 'benchmarks', 'compare_strategies.py'))
compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare)


def test_variant_options_go_to_the_strategy_or_the_hook():
    label, alias, options, same = compare.parse_method(
        'taal-warm=taal:mode=lowest,hook.warm_start=True')
    assert (label, alias, same) == ('taal-warm', 'taal', True)
    assert options == ['custom_hooks.0.label=taal-warm', 'custom_hooks.0.strategy.mode=lowest',
                       'custom_hooks.0.warm_start=True']
    assert compare.parse_method('random') == ('random', 'random', [], True)


def test_a_hook_option_that_trains_cycle0_otherwise_does_not_share_it():
    *_, same = compare.parse_method('taal-sub=taal:hook.subset=200')
    assert not same


def _run_with_cycle0(root, name, epochs=20):
    os.makedirs(os.path.join(root, name))
    open(os.path.join(root, name, f'epoch_{epochs}.pth'), 'w').close()


def test_forks_follow_the_alias_then_the_shared_baseline(tmp_path):
    args = argparse.Namespace(fork_work=None, epochs_per_cycle=20)
    root = str(tmp_path)
    assert compare.fork_flags(args, root, 'taal-lowest', 'taal', 0, True) == []
    _run_with_cycle0(root, 'taal_seed0')
    assert compare.fork_flags(args, root, 'taal-lowest', 'taal', 0, True) == \
        ['--fork', os.path.join(root, 'taal_seed0')]
    assert compare.fork_flags(args, root, 'taal-lowest', 'taal', 0, False) == []
    assert compare.fork_flags(args, root, 'taal', 'taal', 0, True) == []
    assert compare.fork_flags(args, root, 'taal-random', 'taal-random', 0, True) == \
        ['--fork', os.path.join(root, 'taal_seed0')]
    _run_with_cycle0(root, 'random_seed0')
    assert compare.fork_flags(args, root, 'unc-margin', 'uncertainty', 0, True) == \
        ['--fork', os.path.join(root, 'random_seed0')]
    assert compare.fork_flags(args, root, 'random', 'random', 1, True) == []


def test_fork_work_offers_the_namesake_then_the_alias_there(tmp_path):
    other = str(tmp_path / 'other')
    args = argparse.Namespace(fork_work=other, epochs_per_cycle=20)
    _run_with_cycle0(other, 'random_seed3')
    assert compare.fork_flags(args, str(tmp_path), 'unc-sum', 'uncertainty', 3, True) == \
        ['--fork', os.path.join(other, 'random_seed3')]
    _run_with_cycle0(other, 'unc-sum_seed3')
    assert compare.fork_flags(args, str(tmp_path), 'unc-sum', 'uncertainty', 3, False) == \
        ['--fork', os.path.join(other, 'unc-sum_seed3')]
