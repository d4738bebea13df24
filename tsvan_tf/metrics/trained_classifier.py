"""Loading a trained action classifier (`python -m tsvan_tf.train_classifier --output=DIR`)."""

import glob
import hashlib
import json
import os

import tensorflow as tf

from tsvan_tf.metrics.action_classifier import ActionClassifier
from tsvan_tf.metrics.classifier_config import ClassifierConfig
from tsvan_tf.trained_model import variables_trackable

CLASSIFIER_FILE = "classifier.json"
CHECKPOINT_SUBDIR = "checkpoints"
BEST_SUBDIR = "best"


class ClassifierDirError(ValueError):
    """A classifier folder that cannot be used (not trained, incomplete, altered)."""


def checkpoint_sha256(prefix):
    """SHA-256 of a checkpoint's files (`prefix.index` and its data shards), hex."""
    digest = hashlib.sha256()
    for path in sorted(glob.glob(prefix + ".*")):
        digest.update(os.path.basename(path).encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class TrainedClassifier:
    """An action classifier restored with its best held-out weights.

    Attributes:
        model: the `ActionClassifier`.
        config: its `ClassifierConfig`.
        class_names: class names, index = label.
        sha256: hash of the weights (recorded beside every evaluation).
        step: the training step of the weights.
        held_out_accuracy: their accuracy on the dataset's test split.
        info: the whole `classifier.json`.
        directory: the folder it was loaded from.
    """

    def __init__(self, model, info, directory):
        self.model = model
        self.config = model.config
        self.info = info
        self.directory = directory
        self.class_names = tuple(info["class_names"])
        self.sha256 = info["weights_sha256"]
        self.step = info["best_step"]
        self.held_out_accuracy = info["best_accuracy"]
        self._predict = tf.function(self._features_and_probabilities)

    def _features_and_probabilities(self, videos):
        features, logits = self.model.features_and_logits(videos, training=False)
        return features, tf.nn.softmax(logits)

    def features_and_probabilities(self, videos):
        """Returns `(features (batch, 8 * width), softmax (batch, num_classes))` as NumPy."""
        features, probabilities = self._predict(tf.convert_to_tensor(videos, tf.float32))
        return features.numpy(), probabilities.numpy()

    def check_compatible(self, class_names, frames, resolution, what):
        """Refuses videos the classifier was not trained for, naming both sides.

        Args:
            class_names: the classes of the videos' labels, in label order.
            frames: their clip length.
            resolution: their frame size.
            what: how to name the videos' source in the message (e.g. the model_dir).

        Raises:
            ValueError: different classes (or order), frames or resolution.
        """
        ours = (self.class_names, self.config.frames, self.config.resolution)
        theirs = (tuple(class_names), frames, resolution)
        for name, mine, other in zip(("classes", "frames", "resolution"), ours, theirs):
            if mine != other:
                raise ValueError(
                    f"The classifier in {self.directory} was trained for {name}={mine!r}, but "
                    f"{what} has {name}={other!r}. Train a classifier on the same dataset with "
                    f"--frames={frames} --resolution={resolution}.")


def load_classifier(directory):
    """Restores the best weights of a trained classifier and checks their hash.

    Args:
        directory: the `--output` of `python -m tsvan_tf.train_classifier`.

    Returns:
        A `TrainedClassifier`.

    Raises:
        ClassifierDirError: no `classifier.json`, no best checkpoint yet, or weights whose hash
            differs from the recorded one.
    """
    path = os.path.join(directory, CLASSIFIER_FILE)
    if not os.path.exists(path):
        raise ClassifierDirError(
            f"{directory} is not a classifier folder: {path} does not exist. Train one with "
            f"`python -m tsvan_tf.train_classifier --data_dir=DATA --output={directory}`.")
    with open(path) as f:
        info = json.load(f)
    if info.get("best_step") is None:
        raise ClassifierDirError(f"{directory} has no evaluated checkpoint yet; let "
                                 f"train_classifier reach its first --eval_every step.")
    prefix = os.path.join(directory, BEST_SUBDIR, f"ckpt-{info['best_step']}")
    if not glob.glob(prefix + ".index"):
        raise ClassifierDirError(f"{directory}: the best checkpoint {prefix} recorded in "
                                 f"{CLASSIFIER_FILE} is missing.")
    digest = checkpoint_sha256(prefix)
    if digest != info["weights_sha256"]:
        raise ClassifierDirError(f"{prefix} has SHA-256 {digest}, but {CLASSIFIER_FILE} records "
                                 f"{info['weights_sha256']}: the weights were altered.")
    model = ActionClassifier(ClassifierConfig.from_dict(info["config"]), name="action_classifier")
    status = tf.train.Checkpoint(model=variables_trackable(model)).read(prefix)
    status.expect_partial().assert_existing_objects_matched()
    return TrainedClassifier(model, info, directory)

