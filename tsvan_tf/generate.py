"""Generate videos from a trained model into a GIF, MP4 or PNG file.

Examples:

    # One row per class, 4 videos each (the same 4 noises in every row), as an animated GIF.
    python -m tsvan_tf.generate --model_dir=runs/quickstart --label=all --num=4 --seed=0 \
        --output=samples.gif

    # One class by name (or index), 8 videos with one appearance and 8 motions, as a PNG grid
    # (one row per video, one column per frame).
    python -m tsvan_tf.generate --model_dir=runs/quickstart --label=move_left --num=8 \
        --mode=fixed_content --output=move_left.png

    # Interpolate between two noises, from checkpoint step 1000, as an MP4.
    python -m tsvan_tf.generate --model_dir=runs/quickstart --label=0 --num=6 \
        --mode=interpolate --checkpoint=1000 --output=interpolation.mp4

The same flags give the same file. Modes (`tsvan_tf.sampling.draw_noise`): `random` (every video
its own noise), `fixed_content` (one appearance, N motions), `fixed_motion` (one motion, N
appearances), `interpolate` (N steps between two noises). `--mode=random` with one label draws
the noise of an export's `sample(label=[L]*N, seed=[S, 0])` signature.
"""

import os
import sys

from absl import app
from absl import flags

from tsvan_tf import cli
from tsvan_tf.sampling import MODES

EXTENSIONS = (".gif", ".mp4", ".png")

FLAGS = flags.FLAGS

flags.DEFINE_string("model_dir", None, "The --model_dir of a training run.")
flags.DEFINE_string("output", None, "File to write: .gif or .mp4 (animated grid, one row per "
                    "label, one column per video) or .png (one row per video, one column per "
                    "frame).")
flags.DEFINE_string("label", "all", "Class name or index, or `all` for one row per class.")
flags.DEFINE_integer("num", 4, "Videos per label.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the noise; the same seed gives the same file.",
                     lower_bound=0, upper_bound=2 ** 31 - 1)
flags.DEFINE_enum("mode", "random", MODES, "How the videos' noises relate.")
flags.DEFINE_integer("frames", None, "Frames per video; default the trained length.",
                     lower_bound=1)
flags.DEFINE_integer("checkpoint", None, "Checkpoint step to use; default the latest.")
flags.DEFINE_bool("best", False, cli.BEST_CHECKPOINT_HELP)
flags.DEFINE_integer("fps", 8, "Frames per second of .gif and .mp4 files.", lower_bound=1)
flags.DEFINE_integer("scale", None, "Enlarge every frame this many times (nearest neighbour); "
                     "default: to at least 128 px (4x at 32x32, 2x at 64x64, 1x from 128x128).",
                     lower_bound=1)
flags.register_validator(
    "output", lambda path: path is None or os.path.splitext(path)[1].lower() in EXTENSIONS,
    message=f"--output must end in one of {', '.join(EXTENSIONS)}.")


def write_grid(path, videos, fps, scale):
    """Writes a `(rows, cols, T, H, W, 3)` grid of videos in [-1, 1] by file extension, each
    frame enlarged `scale` times."""
    from tsvan_tf import media

    if path.lower().endswith(".png"):
        media.write_png(path, media.frame_strip_grid(videos.reshape((-1,) + videos.shape[2:]),
                                                     scale=scale))
    elif path.lower().endswith(".gif"):
        media.write_gif(path, media.tile_videos(videos, scale=scale), fps)
    else:
        media.write_mp4(path, media.tile_videos(videos, scale=scale), fps)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]} (flags take the --name=value form)")
    cli.quiet_library_logs(FLAGS)
    from tsvan_tf import media
    from tsvan_tf import sampling
    from tsvan_tf.trained_model import load_trained_model

    try:
        trained = load_trained_model(FLAGS.model_dir, step=FLAGS.checkpoint, best=FLAGS.best)
        labels = (list(range(len(trained.class_names))) if FLAGS.label == "all"
                  else [trained.label_index(FLAGS.label)])
        videos = sampling.sample_videos(trained.generator, labels, FLAGS.num, FLAGS.seed,
                                        mode=FLAGS.mode, frames=FLAGS.frames)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    scale = FLAGS.scale or media.display_scale(trained.model_config.resolution)
    write_grid(FLAGS.output, videos, FLAGS.fps, scale)
    rows = ", ".join(trained.class_names[label] for label in labels)
    print(f"Wrote {FLAGS.output}: step {trained.step}, {FLAGS.mode}, seed {FLAGS.seed}, "
          f"{FLAGS.num} x {videos.shape[2]} frames per label ({rows}), shown {scale}x.",
          file=sys.stderr)
    return 0


def run():
    """Console-script entry point (`tsvan-generate`)."""
    flags.mark_flags_as_required(["model_dir", "output"])
    app.run(main)


if __name__ == "__main__":
    run()
