"""Training the action classifier on the real clips of a dataset (spec 7.1)."""

import json
import os
import sys

import keras
import numpy as np
import tensorflow as tf

from tsvan_tf import media
from tsvan_tf.metrics import trained_classifier
from tsvan_tf.metrics.action_classifier import ActionClassifier
from tsvan_tf.progress import ProgressBar
from tsvan_tf.trained_model import variables_trackable

# Settings that may change when a run is resumed (the weights still fit).
RESUMABLE_FIELDS = ("total_steps", "eval_every", "keep_checkpoints")


def _previous_run(output_dir, config, manifest):
    """The `classifier.json` of an earlier run in `output_dir` ({} if none); refuses one of
    another architecture or dataset."""
    path = os.path.join(output_dir, trained_classifier.CLASSIFIER_FILE)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        info = json.load(f)
    old = {k: v for k, v in info["config"].items() if k not in RESUMABLE_FIELDS}
    new = {k: v for k, v in config.to_dict().items() if k not in RESUMABLE_FIELDS}
    differences = [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new))
                   if old.get(k) != new.get(k)]
    if info["dataset"]["fingerprint"] != manifest.fingerprint:
        differences.append(f"dataset: {info['dataset']['data_dir']} -> {manifest.data_dir}")
    if differences:
        raise ValueError(f"{output_dir} holds a classifier trained with other settings; it cannot "
                         f"be resumed with these. Differences: {'; '.join(differences)}. Use a "
                         f"new --output.")
    return info


def _held_out_accuracy(model, dataset):
    @tf.function
    def predict(videos):
        return tf.argmax(model(videos, training=False), axis=-1, output_type=tf.int32)

    correct = total = 0
    for batch in dataset:
        correct += int(tf.reduce_sum(tf.cast(predict(batch["video"]) == batch["label"],
                                             tf.int32)))
        total += int(batch["label"].shape[0])
    return correct / total


def _write_info(output_dir, info):
    with media.atomic_path(os.path.join(output_dir, trained_classifier.CLASSIFIER_FILE)) as tmp:
        with open(tmp, "w") as f:
            json.dump(info, f, indent=2, sort_keys=True)


def train_classifier(config, data_dir, output_dir, log_stream=None):
    """Trains (or resumes training) the action classifier on the train split of `data_dir`.

    Every `eval_every` steps and at the end, the held-out accuracy on the test split is
    measured, a checkpoint saved to `output_dir/checkpoints` (resumed from by re-running) and,
    when the accuracy is >= the best so far, the weights saved to `output_dir/best` (what
    `load_classifier` reads) with their SHA-256. `output_dir/classifier.json` records the config,
    the dataset (manifest fingerprint, class names), the accuracies and the hash.

    Args:
        config: a `ClassifierConfig`; `num_classes` must be the data's.
        data_dir: a prepared dataset (`tsvan_tf.datasets.prepare`).
        output_dir: where the classifier is written.
        log_stream: where progress goes (stderr by default).

    Returns:
        The `classifier.json` content, a dict.

    Raises:
        ValueError: the data has another number of classes, or `output_dir` holds another
            classifier.
    """
    from tsvan_tf import datasets

    log_stream = log_stream or sys.stderr
    manifest = datasets.read_manifest(data_dir)
    if manifest.num_classes != config.num_classes:
        raise ValueError(f"The data in {data_dir} has {manifest.num_classes} classes "
                         f"{list(manifest.class_names)}, but the classifier config says "
                         f"num_classes={config.num_classes}.")
    previous = _previous_run(output_dir, config, manifest)
    keras.utils.set_random_seed(config.seed)
    model = ActionClassifier(config, name="action_classifier")
    steps_per_epoch = max(1, manifest.num_clips("train") // config.batch_size)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        config.learning_rate, steps_per_epoch, config.learning_rate_decay, staircase=True)
    optimizer = keras.optimizers.Adam(schedule, beta_1=config.beta_1, beta_2=config.beta_2)
    optimizer.build(model.trainable_variables)
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(model=variables_trackable(model), optimizer=optimizer,
                                     step=step)
    manager = tf.train.CheckpointManager(
        checkpoint, os.path.join(output_dir, trained_classifier.CHECKPOINT_SUBDIR),
        max_to_keep=config.keep_checkpoints, checkpoint_name="ckpt")
    best_manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(model=variables_trackable(model)),
        os.path.join(output_dir, trained_classifier.BEST_SUBDIR), max_to_keep=1,
        checkpoint_name="ckpt")
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    start = int(step.numpy())
    info = previous or {
        "config": config.to_dict(),
        "dataset": {"data_dir": os.path.abspath(data_dir), "source": manifest.source,
                    "fingerprint": manifest.fingerprint, "train_clips": manifest.num_clips("train"),
                    "test_clips": manifest.num_clips("test")},
        "class_names": list(manifest.class_names),
        "frames": config.frames, "resolution": config.resolution,
        "history": [], "best_accuracy": None, "best_step": None,
    }
    info["config"] = config.to_dict()
    if start >= config.total_steps:
        print(f"The classifier in {output_dir} is already trained to step {start} "
              f"(total_steps={config.total_steps}); nothing to do.", file=log_stream)
        return info
    train = datasets.load_clips(data_dir, split="train", frames=config.frames,
                                batch_size=config.batch_size, training=True,
                                image_size=config.resolution,
                                seed=config.seed * 1_000_003 + start)
    test = datasets.load_clips(data_dir, split="test", frames=config.frames,
                               batch_size=config.batch_size, training=False,
                               image_size=config.resolution, drop_remainder=False)

    @tf.function
    def train_step(videos, labels):
        with tf.GradientTape() as tape:
            logits = model(videos, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
            # PyTorch's Adam weight_decay: wd * w added to the gradient (coupled L2).
            penalty = 0.5 * config.weight_decay * tf.add_n(
                [tf.reduce_sum(tf.square(v)) for v in model.trainable_variables])
            total = loss + penalty
        optimizer.apply(tape.gradient(total, model.trainable_variables),
                        model.trainable_variables)
        return loss

    print(f"{'Resuming' if start else 'Starting'} classifier training at step {start} of "
          f"{config.total_steps} on {data_dir} ({manifest.num_clips('train')} training clips), "
          f"output={output_dir}", file=log_stream, flush=True)
    bar = ProgressBar(config.total_steps, "classifier", initial=start, stream=log_stream)
    iterator = iter(train)
    current = start
    while current < config.total_steps:
        batch = next(iterator)
        loss = float(train_step(batch["video"], batch["label"]))
        if not np.isfinite(loss):
            raise ValueError(f"The classifier's loss is {loss} at step {current}; the last "
                             f"checkpoint in {output_dir} is intact. Lower --learning_rate.")
        current += 1
        step.assign(current)
        bar.update(current, {"loss": loss})
        if current % config.eval_every == 0 or current == config.total_steps:
            accuracy = _held_out_accuracy(model, test)
            manager.save(checkpoint_number=current)
            info["history"].append({"step": current, "loss": loss, "accuracy": accuracy})
            if info["best_accuracy"] is None or accuracy >= info["best_accuracy"]:
                path = best_manager.save(checkpoint_number=current)
                info.update(best_accuracy=accuracy, best_step=current,
                            weights_sha256=trained_classifier.checkpoint_sha256(path))
            info["step"] = current
            _write_info(output_dir, info)
            bar.update(current, {"loss": loss, "held_out_acc": accuracy}, force=True)
    bar.close()
    print(f"Held-out accuracy at step {current}: {info['history'][-1]['accuracy']:.4f}; "
          f"best {info['best_accuracy']:.4f} at step {info['best_step']} (kept in "
          f"{os.path.join(output_dir, trained_classifier.BEST_SUBDIR)}).", file=log_stream)
    return info
