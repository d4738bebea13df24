"""Shared fixtures of the evaluation tests: a tiny prepared dataset and a tiny classifier."""

import functools
import json
import os
import tempfile

from tsvan_tf import datasets
from tsvan_tf.metrics.classifier_config import ClassifierConfig
from tsvan_tf.metrics.classifier_trainer import train_classifier

# The smoke model's clips (configs/smoke.cfg): 4 frames of 16x16.
TINY_CLASSIFIER = dict(frames=4, resolution=16, width=4, batch_size=8, total_steps=4,
                       eval_every=2, learning_rate=1e-3)


def tiny_dataset(directory):
    """The embedded synthetic dataset at 16x16, 6 frames, 4 train and 2 test clips per class."""
    datasets.prepare_dataset("synthetic", directory, progress=False, seed=0, image_size=16,
                             num_frames=6, train_clips_per_class=4, test_clips_per_class=2)
    return datasets.read_manifest(directory)


def tiny_classifier(data_dir, output_dir, **overrides):
    """Trains the tiny classifier for a few steps; returns its `classifier.json` content."""
    manifest = datasets.read_manifest(data_dir)
    config = ClassifierConfig.from_dict({**ClassifierConfig().to_dict(), **TINY_CLASSIFIER,
                                         "num_classes": manifest.num_classes, **overrides})
    with open(os.devnull, "w") as log:
        return train_classifier(config, data_dir, output_dir, log_stream=log)


@functools.lru_cache(maxsize=None)
def shared_classifier():
    """One tiny dataset and classifier per test process, shared by the test classes.

    Returns:
        `(root, data_dir, manifest, classifier_dir, info)`; treat them as read-only.
    """
    root = tempfile.mkdtemp(prefix="tsvan-metrics-fixture-")
    data_dir = os.path.join(root, "data")
    manifest = tiny_dataset(data_dir)
    classifier_dir = os.path.join(root, "classifier")
    tiny_classifier(data_dir, classifier_dir)
    with open(os.path.join(classifier_dir, "classifier.json")) as f:
        info = json.load(f)
    return root, data_dir, manifest, classifier_dir, info
