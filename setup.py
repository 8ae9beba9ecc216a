"""taal_det: task-aware active learning (TAAL) for MMDetection 3.x."""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def requirements(name):
    with open(os.path.join(HERE, 'requirements', name)) as f:
        return [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]


# What the package declares: ranges, so that installing it into an existing mmdet
# environment replaces nothing there. The exact stack it is tested on is the lock in
# requirements/runtime.txt, installed by tools/setup_env.sh.
INSTALL_REQUIRES = [
    'torch>=1.13',
    'mmengine>=0.7.1,<1.0.0',
    'mmcv>=2.0.0rc4,<2.2.0',
    'mmdet>=3.2.0,<4.0.0',
    'numpy',
    'scipy',
    'matplotlib',
]

version = {}
with open(os.path.join(HERE, 'taal_det', 'version.py')) as f:
    exec(f.read(), version)

setup(
    name='taal_det',
    version=version['__version__'],
    description='Visual Transformer for Task-aware Active Learning, as an MMDetection 3.x plugin',
    long_description=open(os.path.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(include=['taal_det', 'taal_det.*']),
    python_requires='>=3.8',
    install_requires=INSTALL_REQUIRES,
    extras_require=dict(tests=requirements('tests.txt')),
    classifiers=['License :: OSI Approved :: Apache Software License',
                 'Programming Language :: Python :: 3'],
)
