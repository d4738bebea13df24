"""Loading a trained generator from a training `model_dir` (for sampling, evaluation, export)."""

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from tsvan_tf.config import ModelConfig
from tsvan_tf.models import SingleStreamVAN
from tsvan_tf.models import TwoStreamVAN

CONFIG_FILE = "config.json"
CHECKPOINT_SUBDIR = "checkpoints"
BEST_CHECKPOINT_SUBDIR = "checkpoints_best"


class ModelDirError(ValueError):
    """A `model_dir` that cannot be loaded (no config, no checkpoint, unknown step)."""


@dataclasses.dataclass(frozen=True)
class TrainedModel:
    """A generator restored from a training run.

    Attributes:
        generator: the `TwoStreamVAN` (or `SingleStreamVAN`) with the checkpoint's weights.
        model_config: its `ModelConfig`.
        class_names: the class names, index = label.
        step: the training step of the checkpoint.
        checkpoint_path: the checkpoint prefix that was restored.
        single_stream: whether `generator` is the single-stream baseline.
    """

    generator: object
    model_config: ModelConfig
    class_names: tuple
    step: int
    checkpoint_path: str
    single_stream: bool

    def label_index(self, label):
        """Maps a class name or an index (int or digit string) to a label index.

        Raises:
            ValueError: unknown name or index out of range, listing the valid labels.
        """
        names = self.class_names
        if isinstance(label, (int, np.integer)) or (isinstance(label, str) and label.isdigit()):
            index = int(label)
            if 0 <= index < len(names):
                return index
        elif label in names:
            return names.index(label)
        valid = ", ".join(f"{i}={name}" for i, name in enumerate(names))
        raise ValueError(f"Unknown label {label!r}. Valid labels (index=name): {valid}.")


def read_run_config(model_dir):
    """Returns the `config.json` a training run wrote into `model_dir`, as a dict."""
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.exists(path):
        raise ModelDirError(
            f"{model_dir} is not a training model_dir: {path} does not exist. Pass the "
            f"--model_dir of a `python -m tsvan_tf.train` run.")
    with open(path) as f:
        return json.load(f)


def checkpoint_steps(model_dir, best=False):
    """The steps of the checkpoints present in `model_dir` (or its best one), ascending."""
    subdir = BEST_CHECKPOINT_SUBDIR if best else CHECKPOINT_SUBDIR
    state = tf.train.get_checkpoint_state(os.path.join(model_dir, subdir))
    if state is None:
        return []
    return sorted(int(path.rsplit("-", 1)[1]) for path in state.all_model_checkpoint_paths)


def load_trained_model(model_dir, step=None, best=False):
    """Restores the generator of a training run.

    Only the generator's variables are read; discriminators and optimizer slots in the
    checkpoint are ignored.

    Args:
        model_dir: the `--model_dir` of a training run (holds `config.json` and `checkpoints/`).
        step: the checkpoint step to restore; None takes the latest.
        best: restore from `checkpoints_best/` (kept by training with `--eval_every`: the
            best generator by classifier accuracy) instead of `checkpoints/`.

    Returns:
        A `TrainedModel`.

    Raises:
        ModelDirError: no `config.json`, no checkpoint, or no checkpoint at `step`.
    """
    run = read_run_config(model_dir)
    model_config = ModelConfig.from_dict(run["model"])
    single_stream = bool(run.get("single_stream", False))
    class_names = tuple(run.get("class_names") or
                        (str(i) for i in range(model_config.num_classes)))
    subdir = BEST_CHECKPOINT_SUBDIR if best else CHECKPOINT_SUBDIR
    steps = checkpoint_steps(model_dir, best)
    if not steps:
        hint = "train it with --eval_every and --classifier" if best else "train it first"
        raise ModelDirError(
            f"{model_dir} has no checkpoint yet (looked in "
            f"{os.path.join(model_dir, subdir)}); {hint}.")
    if step is None:
        step = steps[-1]
    elif step not in steps:
        raise ModelDirError(f"{model_dir} has no checkpoint at step {step}; it has steps {steps}.")
    path = os.path.join(model_dir, subdir, f"ckpt-{step}")
    generator_class = SingleStreamVAN if single_stream else TwoStreamVAN
    generator = generator_class(model_config, name="generator")
    build_generator(generator, model_config)
    status = tf.train.Checkpoint(generator=variables_trackable(generator)).read(path)
    status.expect_partial().assert_existing_objects_matched()
    return TrainedModel(generator=generator, model_config=model_config,
                        class_names=class_names, step=step, checkpoint_path=path,
                        single_stream=single_stream)


def variables_trackable(model):
    """A checkpointable object holding every variable of a Keras model, keyed by its path.

    Keras 3 layers kept in Python lists are invisible to `tf.train.Checkpoint`'s object graph
    (only the optimizers' references save their trainable weights), so checkpointing a model
    object directly silently drops most BatchNorm statistics and spectral-norm vectors. This
    names each variable explicitly instead.

    Args:
        model: a built Keras model.

    Returns:
        A `tf.train.Checkpoint` whose children are the model's variables.
    """
    by_path = {}
    for variable in model.variables:
        if variable.path in by_path:
            raise ValueError(f"Two variables of {model.name} share the path {variable.path!r}; "
                             f"they could not be told apart in a checkpoint.")
        by_path[variable.path] = variable
    return tf.train.Checkpoint(**by_path)


def build_generator(generator, config):
    """Creates every generator variable (the encoders too, so the checkpoint matches)."""
    videos = np.zeros((1, config.frames, config.resolution, config.resolution, 3), "float32")
    labels = np.zeros((1,), "int32")
    coins = np.ones((2, config.frames - 1), bool)
    noise = np.zeros((1, config.frames - 1, config.motion_dim), "float32")
    content = np.zeros((1, config.content_dim), "float32")
    generator.content_forward(videos, labels, 0, content, content, training=False)
    generator.video_forward(videos, labels, noise, noise, coins, coins, training=False)
