"""How fast the object moves along its class's direction, in generated and in real clips.

For the four translation classes of the embedded synthetic dataset, tracks the object between
consecutive frames: the sub-pixel shift (a grid of `--step_px` px up to `--max_shift`, bilinear,
wrapping like the dataset's objects) that best maps one frame's saturation map (max - min of
RGB in [0, 1], less `--floor`) onto the next's, so the static background and the wrap at the
edges do not count. Prints the mean shift per frame projected on each class's direction (over
the frame pairs that both hold an object), and the number of videos without any such pair, for
the test split's real clips and, with `--model_dir`, for `--num` generated videos per class:

    python benchmarks/object_speed.py --model_dir=RUN --cache_dir=CACHE

Real clips move about 1 px per frame at 32x32 (their speed is 0.8-1.3).
"""

import argparse

import numpy as np
from scipy import ndimage

from tsvan_tf import datasets
from tsvan_tf import trainer
from tsvan_tf.config import ModelConfig
from tsvan_tf.datasets.synthetic import CLASS_NAMES
from tsvan_tf.datasets.synthetic import TRANSLATION_DIRECTIONS
from tsvan_tf.sampling import sample_videos
from tsvan_tf.trained_model import load_trained_model

TRANSLATIONS = tuple(TRANSLATION_DIRECTIONS)


def saturation_maps(video, floor):
    """`(frames, height, width)`: each pixel's saturation (max - min of RGB in [0, 1]) less
    `floor`, clipped at zero."""
    rgb = (video + 1.0) / 2.0
    return np.clip(rgb.max(-1) - rgb.min(-1) - floor, 0.0, None)


def object_shift(previous, current, candidates):
    """`(dx, dy)` moving saturation map `previous` onto `current`; NaNs if either is empty."""
    if min(previous.sum(), current.sum()) < 1.0:
        return np.nan, np.nan
    errors = np.array([[((ndimage.shift(previous, (dy, dx), order=1, mode="grid-wrap")
                          - current) ** 2).sum() for dx in candidates] for dy in candidates])
    row, column = np.unravel_index(errors.argmin(), errors.shape)
    return candidates[column], candidates[row]


def speeds_along(videos, labels, floor, candidates):
    """Per translation class: the mean shift per frame along its direction over the frame pairs
    where both frames hold an object, and the number of videos without such a pair."""
    along = {name: [] for name in TRANSLATIONS}
    untracked = dict.fromkeys(TRANSLATIONS, 0)
    for video, label in zip(videos, labels):
        name = CLASS_NAMES[label]
        if name not in along:
            continue
        direction = np.asarray(TRANSLATION_DIRECTIONS[name])
        maps = saturation_maps(video, floor)
        shifts = np.array([object_shift(maps[t], maps[t + 1], candidates)
                           for t in range(len(maps) - 1)])
        tracked = ~np.isnan(shifts[:, 0])
        if tracked.any():
            along[name].append((shifts[tracked] @ direction).mean())
        else:
            untracked[name] += 1
    return {name: (float(np.mean(values)) if values else float("nan"), untracked[name])
            for name, values in along.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model_dir", default=None, help="a run whose samples to measure")
    parser.add_argument("--step", type=int, default=None, help="checkpoint step (latest)")
    parser.add_argument("--preset", default="synthetic",
                        help="the real clips' model preset, without --model_dir")
    parser.add_argument("--cache_dir", default=None,
                        help="where the synthetic dataset is prepared (default: the user cache)")
    parser.add_argument("--num", type=int, default=16, help="generated videos per class")
    parser.add_argument("--real", type=int, default=128, help="real test clips")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--floor", type=float, default=0.2)
    parser.add_argument("--max_shift", type=float, default=2.5)
    parser.add_argument("--step_px", type=float, default=0.25)
    args = parser.parse_args()

    candidates = np.arange(-args.max_shift, args.max_shift + 1e-6, args.step_px)
    run = load_trained_model(args.model_dir, step=args.step) if args.model_dir else None
    config = run.model_config if run else ModelConfig.from_preset(args.preset)
    data_dir = trainer.prepare_synthetic(config, args.cache_dir)
    batch = next(iter(datasets.load_clips(
        data_dir, split="test", frames=config.frames, batch_size=args.real, training=False,
        image_size=config.resolution)))
    rows = {"real test clips": speeds_along(np.asarray(batch["video"]),
                                            np.asarray(batch["label"]), args.floor, candidates)}
    if run:
        labels = [CLASS_NAMES.index(name) for name in TRANSLATIONS]
        videos = sample_videos(run.generator, labels, args.num, seed=args.seed)
        rows[f"generated, step {run.step}"] = speeds_along(
            videos.reshape((-1, *videos.shape[2:])), np.repeat(labels, args.num), args.floor,
            candidates)
    print(f"{'px per frame along the direction':34}" + "".join(f"{n:>11}" for n in TRANSLATIONS)
          + "   videos without an object")
    for name, speeds in rows.items():
        print(f"{name:34}" + "".join(f"{speeds[n][0]:11.2f}" for n in TRANSLATIONS)
              + "   " + " / ".join(str(speeds[n][1]) for n in TRANSLATIONS))


if __name__ == "__main__":
    main()
