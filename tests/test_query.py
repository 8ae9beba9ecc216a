"""One-shot queries (tools/al_query.py): score an image folder with a trained model and
write what a person labels next."""
import csv
import json
import os
import subprocess
import sys

import pytest
import torch

from taal_testing import ROOT, build, tiny_al_cfg

AL_QUERY = os.path.join(ROOT, 'tools', 'al_query.py')


@pytest.fixture(scope='module')
def trained(scenes_root, tmp_path_factory):
    """A config and a (randomly initialised) TAALDetector checkpoint."""
    out = tmp_path_factory.mktemp('query')
    cfg = tiny_al_cfg(scenes_root, str(out / 'work'))
    path = str(out / 'cfg.py')
    cfg.dump(path)
    ckpt = str(out / 'model.pth')
    torch.save(dict(state_dict=build(cfg.model).state_dict()), ckpt)
    return path, ckpt, os.path.join(scenes_root, 'JPEGImages')


def query(trained, out, *extra):
    cfg, ckpt, images = trained
    done = subprocess.run([sys.executable, AL_QUERY, cfg, ckpt, '--images', images,
                           '--budget', '5', '--out', out, *extra], capture_output=True,
                          text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize('strategy', ['taal', 'uncertainty'])
def test_a_query_folder_lists_the_picks_for_people_and_tools(strategy, trained, tmp_path):
    out = str(tmp_path / strategy)
    printed = query(trained, out, '--strategy', strategy)
    assert '5 of 32 images to label' in printed
    with open(os.path.join(out, 'ids.txt')) as f:
        ids = f.read().split()
    stems = {os.path.splitext(n)[0] for n in os.listdir(trained[2])}
    assert len(ids) == len(set(ids)) == 5 and set(ids) <= stems
    with open(os.path.join(out, 'query.csv')) as f:
        rows = list(csv.DictReader(f))
    assert [r['id'] for r in rows] == ids and [r['rank'] for r in rows] == ['1', '2', '3', '4', '5']
    assert all(os.path.isfile(r['path']) for r in rows)
    if strategy == 'taal':  # TAAL's rule: the smallest |s - 0.1| first
        margins = [abs(float(r['score']) - 0.1) for r in rows]
        assert margins == sorted(margins)
    else:  # the image uncertainty, highest first
        values = [float(r['score']) for r in rows]
        assert values == sorted(values, reverse=True)
    with open(os.path.join(out, 'label_studio_tasks.json')) as f:
        tasks = json.load(f)
    assert [t['data']['img_id'] for t in tasks] == ids
    assert os.path.getsize(os.path.join(out, 'contact_sheet.png')) > 5000
    again = str(tmp_path / 'again')
    query(trained, again, '--strategy', strategy)
    with open(os.path.join(again, 'ids.txt')) as f:
        assert f.read().split() == ids  # deterministic


def test_a_strategy_the_model_cannot_serve_is_refused(trained, tmp_path):
    cfg, ckpt, images = trained
    done = subprocess.run([sys.executable, AL_QUERY, cfg, ckpt, '--images', images,
                           '--budget', '5', '--strategy', 'll4al', '--out', str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode and 'has no loss module' in done.stderr
