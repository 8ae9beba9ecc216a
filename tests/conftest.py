import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tools', 'data'))

import taal_det  # noqa: E402,F401  (registers the plugin)
from mmdet.utils import register_all_modules  # noqa: E402
from make_fashion_scenes import build as build_scenes  # noqa: E402
from make_trees import build as build_trees  # noqa: E402

register_all_modules(init_default_scope=True)


@pytest.fixture(scope='session')
def trees_root(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('data') / 'trees')
    build_trees(out)
    return out


@pytest.fixture(scope='session')
def scenes_root(tmp_path_factory):
    """A small multi-class pool: 24 trainval and 8 test scenes of 64 px."""
    out = str(tmp_path_factory.mktemp('data') / 'scenes')
    build_scenes(out, trainval=24, test=8, size=64, objects=(1, 2), seed=0)
    return out
