"""The learning curve's sizes and the sampler probe's training command."""
import importlib.util
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(name):
    folder = os.path.join(ROOT, 'tools', 'benchmarks')
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, os.path.join(folder, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_size_of_the_pool_or_more_trains_the_pool_but_one_image(tmp_path):
    lists = tmp_path / 'ImageSets' / 'Main'
    lists.mkdir(parents=True)
    (lists / 'trainval.txt').write_text(''.join(f'tr_{i:05d}\n' for i in range(40)))
    sizes = load('learning_curve').run_sizes
    assert sizes([50, 10, 39, 40], str(tmp_path)) == [10, 39]
    assert sizes([20], str(tmp_path)) == [20]
    with pytest.raises(ValueError, match='at least 1'):
        sizes([0, 10], str(tmp_path))
    (lists / 'trainval.txt').write_text('tr_00000\n')
    with pytest.raises(ValueError, match='pool of 1 images'):
        sizes([10], str(tmp_path))


def test_the_probe_trains_the_given_config_and_cycle_length(tmp_path):
    probe = load('sampler_probe')
    default = probe.train_command(probe.parse_args(['--out', 'w']), '/d/')
    assert default[2] == probe.CONFIG and '--iters-per-cycle' not in default
    config = str(tmp_path / 'conf.py')
    cmd = probe.train_command(probe.parse_args(['--out', 'w', '--config', config,
                                                '--iters-per-cycle', '320']), '/d/')
    assert cmd[2] == config and cmd[cmd.index('--iters-per-cycle') + 1] == '320'
    assert 'train_dataloader.dataset.data_root=/d/' in cmd
    with pytest.raises(SystemExit):
        probe.parse_args(['--out', 'w', '--iters-per-cycle', '0'])
