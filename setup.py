"""taal_det: task-aware active learning (TAAL) for MMDetection 3.x."""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def requirements(name):
    with open(os.path.join(HERE, 'requirements', name)) as f:
        return [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]


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
    install_requires=requirements('runtime.txt'),
    extras_require=dict(tests=requirements('tests.txt'), data=requirements('data.txt')),
    classifiers=['License :: OSI Approved :: Apache Software License',
                 'Programming Language :: Python :: 3'],
)
