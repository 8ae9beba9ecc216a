"""The wheel declares ranges (nothing of an existing mmdet environment is replaced) that
the tested lock satisfies."""
import glob
import os
import subprocess
import sys
import zipfile

from packaging.requirements import Requirement
from packaging.version import Version

from taal_testing import ROOT

STACK = ('torch', 'mmengine', 'mmcv', 'mmdet')


def _lock():
    pins = {}
    with open(os.path.join(ROOT, 'requirements', 'runtime.txt')) as f:
        for line in f:
            name, _, version = line.split('#')[0].strip().partition('==')
            if version:
                pins[name] = Version(version)
    return pins


def test_wheel_requires_ranges_that_hold_the_tested_lock(tmp_path):
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
                    '-q', '-w', str(tmp_path), ROOT], check=True, capture_output=True)
    wheel, = glob.glob(str(tmp_path / 'taal_det-*.whl'))
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA')))
    requires = [Requirement(line.split(':', 1)[1].strip()) for line in meta.decode().splitlines()
                if line.startswith('Requires-Dist:')]
    runtime = {r.name: r for r in requires if r.marker is None}
    assert set(STACK) <= set(runtime)
    lock = _lock()
    for name, req in runtime.items():
        assert all(s.operator not in ('==', '===', '~=') for s in req.specifier), req
        if name in lock:
            assert req.specifier.contains(lock[name], prereleases=True), (req, lock[name])
    assert Version('4.0.0') not in runtime['mmdet'].specifier  # 3.x only
    assert Version('2.2.0') not in runtime['mmcv'].specifier
    assert runtime['mmcv'].specifier.contains('2.0.0rc4', prereleases=True)
    assert not runtime['torch'].specifier.contains('1.12.0')  # TransformerEncoder options
