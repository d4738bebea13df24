"""The README ablation table's motion columns: do generated objects move, and their class's way?

For each run, generates `--num_per_class` videos per class (the same noises in every class, from
`--seed`), measures the whole-pixel shift between consecutive frames with
`tsvan_tf.metrics.global_motion.frame_shifts`, and prints the speed (mean |dx| + |dy| per frame,
over all classes) and, for the translation classes of the embedded synthetic dataset, the mean
shift projected on the class's direction ("along", px per frame; the real clips move about
+1). `--data_dir` adds the real test clips as a first row (the quick start prepares them into
`~/.cache/tsvan_tf/synthetic-v2-32px-16f-seed0`, or under `$TSVAN_TF_CACHE`).

    python benchmarks/ablation_motion.py \\
        --data_dir=$HOME/.cache/tsvan_tf/synthetic-v2-32px-16f-seed0 \\
        runs/ablation/two_stream runs/ablation/no_joint runs/ablation/no_mask \\
        runs/ablation/single_stream
"""

import argparse

import numpy as np

from tsvan_tf import datasets
from tsvan_tf.datasets.synthetic import TRANSLATION_DIRECTIONS
from tsvan_tf.metrics.global_motion import frame_shifts
from tsvan_tf.sampling import sample_videos
from tsvan_tf.trained_model import load_trained_model


def motion_columns(videos, labels, class_names):
    """Speed and along-direction shift of `videos` `(N, T, H, W, 3)` with class indices `labels`.

    Returns:
        `(speed, along, along_per_class)`: the mean |dx| + |dy| per frame over all videos, the mean
        shift along the class direction over the translation classes present, and that mean per
        translation class (a dict by name).
    """
    shifts = frame_shifts(videos)  # (N, T - 1, 2)
    speed = float(np.abs(shifts).sum(-1).mean())
    per_class = {}
    for name, direction in TRANSLATION_DIRECTIONS.items():
        if name in class_names:
            chosen = shifts[np.asarray(labels) == class_names.index(name)]
            if len(chosen):
                per_class[name] = float((chosen @ np.asarray(direction, np.float64)).mean())
    along = float(np.mean(list(per_class.values()))) if per_class else float("nan")
    return speed, along, per_class


def _real_videos(data_dir, frames, limit):
    videos, labels = [], []
    for batch in datasets.load_clips(data_dir, split="test", frames=frames, batch_size=64,
                                     drop_remainder=False):
        videos.append(batch["video"].numpy())
        labels.append(batch["label"].numpy())
        if sum(len(v) for v in videos) >= limit:
            break
    return np.concatenate(videos)[:limit], np.concatenate(labels)[:limit]


def _print_row(name, speed, along, per_class):
    details = " / ".join(f"{value:+.2f}" for value in per_class.values())
    print(f"{name:<40} {speed:6.2f} {along:+7.2f}   {details}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dirs", nargs="+", help="Training runs (--model_dir).")
    parser.add_argument("--num_per_class", type=int, default=16, help="Videos per class.")
    parser.add_argument("--seed", type=int, default=0, help="Seeds the generated noise.")
    parser.add_argument("--data_dir", default=None, help="A prepared dataset: adds its test clips.")
    args = parser.parse_args()
    print(f"{'run':<40} {'speed':>6} {'along':>7}   along per class "
          f"({' / '.join(TRANSLATION_DIRECTIONS)})", flush=True)
    first = load_trained_model(args.model_dirs[0])
    if args.data_dir:
        videos, labels = _real_videos(args.data_dir, first.model_config.frames,
                                      args.num_per_class * len(first.class_names))
        _print_row("real test clips", *motion_columns(videos, labels, list(first.class_names)))
    for model_dir in args.model_dirs:
        trained = first if model_dir == args.model_dirs[0] else load_trained_model(model_dir)
        names = list(trained.class_names)
        videos = sample_videos(trained.generator, list(range(len(names))),
                               args.num_per_class, args.seed)
        labels = np.repeat(np.arange(len(names)), args.num_per_class)
        _print_row(f"{model_dir} (step {trained.step})",
                   *motion_columns(videos.reshape((-1,) + videos.shape[2:]), labels, names))


if __name__ == "__main__":
    main()
