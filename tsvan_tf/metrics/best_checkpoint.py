"""Keeping the best checkpoint by an evaluation metric beside the latest ones."""

import json
import os

import tensorflow as tf

from tsvan_tf import media

BEST_FILE = "best.json"


class BestCheckpoint:
    """Saves `trackable` whenever a metric reaches its best value so far (ties count as better,
    as the original's `acc >= best_acc`); the best value survives restarts.

    Args:
        directory: where the best checkpoint (`ckpt-<step>`, one kept) and `best.json` go, e.g.
            `model_dir/checkpoints_best`.
        trackable: what to save, e.g. `tf.train.Checkpoint(generator=
            variables_trackable(generator))` (the layout `checkpoints/` uses).
        metric: the key of the metrics dict to compare.
        higher_is_better: False for distances.
    """

    def __init__(self, directory, trackable, metric="accuracy", higher_is_better=True):
        self.directory = directory
        self.metric = metric
        self.higher_is_better = higher_is_better
        self.manager = tf.train.CheckpointManager(trackable, directory, max_to_keep=1,
                                                  checkpoint_name="ckpt")
        path = os.path.join(directory, BEST_FILE)
        self.best = None
        if os.path.exists(path):
            with open(path) as f:
                self.best = json.load(f)

    def update(self, step, metrics):
        """Saves a checkpoint at `step` if `metrics[metric]` is the best so far.

        Args:
            step: the training step.
            metrics: a metrics dict (e.g. from `GeneratorEvaluator`).

        Returns:
            Whether this step became the best.

        Raises:
            KeyError: `metrics` has no value for the metric.
        """
        if metrics.get(self.metric) is None:
            raise KeyError(f"No {self.metric!r} in the metrics; received {sorted(metrics)}.")
        value = float(metrics[self.metric])
        if self.best is not None:
            best = self.best["value"]
            if (value < best) if self.higher_is_better else (value > best):
                return False
        path = self.manager.save(checkpoint_number=step)
        self.best = {"step": int(step), "metric": self.metric, "value": value,
                     "checkpoint_path": path, "metrics": metrics}
        with media.atomic_path(os.path.join(self.directory, BEST_FILE)) as tmp:
            with open(tmp, "w") as f:
                json.dump(self.best, f, indent=2, sort_keys=True)
        return True
