"""How the object moves in generated and in real clips, per class of the synthetic data.

Tracks the object between consecutive frames: the sub-pixel shift (a grid of `--step_px` px up to
`--max_shift`, bilinear, wrapping like the dataset's objects) that best maps one frame's
saturation map (max - min of RGB in [0, 1], less `--floor`) onto the next's, so the static
background and the wrap at the edges do not count. Over the frame pairs that both hold an object,
prints per class:

- the translations: the mean shift per frame projected on the class's direction (px);
- the orbits: the mean signed turn of the shift's direction per frame, in degrees, clockwise on
  screen positive (between shifts of at least `--min_turn_shift` px);
- the orbits and `shake`: the mean length of the shift (px per frame in any direction);
- `pulse`: the mean absolute relative change of the object's size (its saturation mass) per frame;
- `shake`: the fraction of consecutive horizontal shifts that reverse direction;

each with the number of videos where it is undefined (no object tracked), for the test split's
real clips and, with `--model_dir`, for `--num` generated videos per class:

    python benchmarks/object_speed.py --model_dir=RUN --cache_dir=CACHE

Real clips at 32x32: translations 0.8-1.3 px per frame; orbits +-30 degrees per frame (a turn
in 12 frames) at 1.6-2.6 px per frame; shakes reverse every third frame.
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
ORBITS = ("orbit_clockwise", "orbit_counterclockwise")


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


def _along(name, maps, shifts, args):
    tracked = ~np.isnan(shifts[:, 0])
    return (shifts[tracked] @ np.asarray(TRANSLATION_DIRECTIONS[name])).mean() \
        if tracked.any() else np.nan


def _turn(name, maps, shifts, args):
    moved = np.hypot(*np.nan_to_num(shifts).T) >= args.min_turn_shift
    first, second = shifts[:-1], shifts[1:]
    cross = first[:, 0] * second[:, 1] - first[:, 1] * second[:, 0]  # image y points down
    turns = np.degrees(np.arctan2(cross, (first * second).sum(axis=1)))[moved[:-1] & moved[1:]]
    return turns.mean() if turns.size else np.nan


def _speed(name, maps, shifts, args):
    tracked = ~np.isnan(shifts[:, 0])
    return np.hypot(*shifts[tracked].T).mean() if tracked.any() else np.nan


def _size_change(name, maps, shifts, args):
    sizes = maps.sum(axis=(1, 2))
    both = (sizes[:-1] >= 1.0) & (sizes[1:] >= 1.0)
    return np.mean(np.abs(sizes[1:] - sizes[:-1])[both] / sizes[:-1][both]) \
        if both.any() else np.nan


def _reversals(name, maps, shifts, args):
    horizontal = shifts[:, 0]
    pairs = ~np.isnan(horizontal[:-1]) & ~np.isnan(horizontal[1:])
    return np.mean(horizontal[:-1][pairs] * horizontal[1:][pairs] < 0) \
        if pairs.any() else np.nan


def centres(maps):
    """`(T, 2)` x, y of each saturation map's centre of mass on the torus (objects wrap at the
    edges); NaN where a frame holds no object."""
    height, width = maps.shape[1:]
    points = np.full((len(maps), 2), np.nan)
    for t, weights in enumerate(maps):
        if weights.sum() < 1.0:
            continue
        for axis, side in ((1, width), (0, height)):
            phase = np.exp(2j * np.pi * (np.arange(side) + 0.5) / side)
            angle = np.angle((weights.sum(axis=1 - axis) * phase).sum()) % (2 * np.pi)
            points[t, 1 - axis] = angle * side / (2 * np.pi) - 0.5
    return points


def plot_trails(path, columns, floor):
    """One row per class: each clip's last frame with the path of its object's centre drawn
    over it, from red (first frame) to yellow (last); a jump across an edge breaks the line.

    Args:
        path: the PNG to write.
        columns: `[(title, videos)]`, each `videos` `(classes, n, T, H, W, 3)` in [-1, 1].
        floor: as `saturation_maps`.
    """
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    cells = [(title, clip) for title, videos in columns for clip in np.swapaxes(videos, 0, 1)]
    figure, axes = plt.subplots(len(CLASS_NAMES), len(cells), squeeze=False,
                                figsize=(1.3 * len(cells), 1.3 * len(CLASS_NAMES)))
    for column, (title, clips) in enumerate(cells):
        axes[0, column].set_title(title, fontsize=7)
        for row, video in enumerate(clips):
            axis = axes[row, column]
            axis.imshow((np.clip(video[-1], -1.0, 1.0) + 1.0) / 2.0, interpolation="nearest")
            points = centres(saturation_maps(video, floor))
            side = video.shape[1]
            jumps = np.abs(np.diff(points, axis=0)).max(axis=1) > side / 2
            line = np.insert(points, np.flatnonzero(jumps) + 1, np.nan, axis=0)
            axis.plot(line[:, 0], line[:, 1], color="white", linewidth=0.8)
            axis.scatter(points[:, 0], points[:, 1], c=np.arange(len(points)), cmap="autumn",
                         s=5, zorder=3)
            axis.set_xticks([])
            axis.set_yticks([])
            if column == 0:
                axis.set_ylabel(CLASS_NAMES[row], fontsize=6)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# (what is measured, the classes it is measured on, the figure of one video; NaN if untracked)
FIGURES = (
    ("px per frame along the direction", TRANSLATIONS, _along),
    ("degrees turned per frame (clockwise +)", ORBITS, _turn),
    ("px per frame in any direction", (*ORBITS, "shake"), _speed),
    ("relative size change per frame", ("pulse",), _size_change),
    ("fraction of horizontal reversals", ("shake",), _reversals),
)


def motion_statistics(videos, labels, args, candidates):
    """Per figure of `FIGURES` and class: the mean over the class's videos, and the number of
    videos where it is undefined (no tracked pair of frames)."""
    values = {(unit, name): [] for unit, names, _ in FIGURES for name in names}
    for video, label in zip(videos, labels):
        name = CLASS_NAMES[label]
        maps = saturation_maps(video, args.floor)
        shifts = np.array([object_shift(maps[t], maps[t + 1], candidates)
                           for t in range(len(maps) - 1)])
        for unit, names, figure in FIGURES:
            if name in names:
                values[unit, name].append(figure(name, maps, shifts, args))
    return {key: (float(np.nanmean(v)) if not np.isnan(v).all() else float("nan"),
                  int(np.isnan(v).sum())) for key, v in values.items() if v}


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
    parser.add_argument("--max_shift", type=float, default=3.5)
    parser.add_argument("--step_px", type=float, default=0.25)
    parser.add_argument("--min_turn_shift", type=float, default=0.5,
                        help="shortest shift (px) whose direction counts for an orbit's turn")
    parser.add_argument("--trails", default=None,
                        help="a PNG to draw the objects' paths in: two real clips and "
                             "--trail_num generated videos per class")
    parser.add_argument("--trail_num", type=int, default=4)
    args = parser.parse_args()

    candidates = np.arange(-args.max_shift, args.max_shift + 1e-6, args.step_px)
    run = load_trained_model(args.model_dir, step=args.step) if args.model_dir else None
    config = run.model_config if run else ModelConfig.from_preset(args.preset)
    data_dir = trainer.prepare_synthetic(config, args.cache_dir)
    batch = next(iter(datasets.load_clips(
        data_dir, split="test", frames=config.frames, batch_size=args.real, training=False,
        image_size=config.resolution)))
    rows = {"real test clips": motion_statistics(
        np.asarray(batch["video"]), np.asarray(batch["label"]), args, candidates)}
    if run:
        labels = list(range(len(CLASS_NAMES)))
        videos = sample_videos(run.generator, labels, args.num, seed=args.seed)
        rows[f"generated, step {run.step}"] = motion_statistics(
            videos.reshape((-1, *videos.shape[2:])), np.repeat(labels, args.num), args,
            candidates)
    for unit, names, _ in FIGURES:
        print(f"{unit:40}" + "".join(f"{n:>25}" for n in names))
        for source, values in rows.items():
            print(f"  {source:38}" + "".join(
                f"{values[unit, n][0]:11.2f} ({values[unit, n][1]:>2} untracked)"
                for n in names))
    if args.trails:
        real_labels = np.asarray(batch["label"])
        real = np.stack([np.asarray(batch["video"])[real_labels == label][:2]
                         for label in range(len(CLASS_NAMES))])
        columns = [("real", real)]
        if run:
            columns.append((f"step {run.step}", videos[:, :args.trail_num]))
        plot_trails(args.trails, columns, args.floor)
        print(f"Wrote {args.trails}")


if __name__ == "__main__":
    main()
