r"""Prepares a dataset into TFRecord shards plus `manifest.json`, for `load_clips` and training.

The embedded synthetic dataset (generated, no download; ~1,600 clips of 16 frames at 64x64):

    python -m tsvan_tf.datasets.prepare --dataset=synthetic --output=/tmp/data/synthetic --seed=0

Any folder with one sub-folder of videos (mp4, avi, webm, mkv, mov, gif) or frame folders per
class; 20 % of each class's files go to the test split:

    python -m tsvan_tf.datasets.prepare --dataset=video_folder --source=/path/to/videos \
        --output=/tmp/data/my_videos --test_fraction=0.2 --image_size=64 --num_workers=2

The paper's datasets, downloaded separately (layouts and splits in the README):

    python -m tsvan_tf.datasets.prepare --dataset=weizmann --source=/path/to/weizmann \
        --output=/tmp/data/weizmann --num_workers=2
    python -m tsvan_tf.datasets.prepare --dataset=mug --source=/path/to/mug/subjects \
        --output=/tmp/data/mug --num_workers=2
    python -m tsvan_tf.datasets.prepare --dataset=synaction --source=/path/to/synaction \
        --output=/tmp/data/synaction --num_workers=2

Re-running a command finishes an interrupted preparation, or does nothing if it is complete.
Source options left unset take the source's defaults; an option the source does not take is an
error. Also installed as `tsvan-prepare`.
"""

import sys

from absl import app
from absl import flags
from absl import logging

from tsvan_tf.datasets import builder
from tsvan_tf.datasets import registry

_DATASET = flags.DEFINE_string(
    "dataset", None, f"Dataset source to prepare: one of {registry.dataset_names()}.")
_OUTPUT = flags.DEFINE_string("output", None, "Output folder for the shards and manifest.json.")
_SOURCE = flags.DEFINE_string("source", None, "Input folder, for sources that read one.")
_NUM_WORKERS = flags.DEFINE_integer(
    "num_workers", 1, "Processes decoding or generating clips in parallel. Each worker starts "
    "by importing TensorFlow (seconds), so use more than 1 for large sources.")
_CLIPS_PER_SHARD = flags.DEFINE_integer(
    "clips_per_shard", builder.DEFAULT_CLIPS_PER_SHARD, "Clips per TFRecord shard.")
_PROGRESS = flags.DEFINE_boolean("progress", True, "Show a progress bar with clips/s.")

# Source options: None means "the source's default"; only the options that are set are passed.
_SOURCE_OPTIONS = (
    flags.DEFINE_integer("seed", None, "synthetic: the generator seed."),
    flags.DEFINE_integer("train_clips_per_class", None, "synthetic: training clips per class."),
    flags.DEFINE_integer("test_clips_per_class", None, "synthetic: test clips per class."),
    flags.DEFINE_integer("num_frames", None, "synthetic: frames per clip."),
    flags.DEFINE_integer("image_size", None, "Frame height and width in pixels (weizmann, mug, "
                         "synaction: of the crop load_clips takes; the stored frames are larger)."),
    flags.DEFINE_float("test_fraction", None, "video_folder: fraction of each class's files "
                       "in the test split."),
    flags.DEFINE_enum("image_format", None, ["png", "jpeg"],
                      "video_folder, weizmann, mug, synaction: frame encoding."),
    flags.DEFINE_integer("jpeg_quality", None, "video_folder, weizmann, mug, synaction: JPEG "
                         "quality (1-100)."),
    flags.DEFINE_integer("min_frames", None, "video_folder, weizmann, mug, synaction: clips "
                         "shorter than one window of this many frames are skipped."),
    flags.DEFINE_float("face_fraction", None, "mug: side of the centred square cut from each "
                       "frame, as a fraction of its shorter side."),
    flags.DEFINE_integer("min_sequence_frames", None, "mug: shorter sequences are skipped."),
)

flags.mark_flags_as_required(["dataset", "output"])


def _run(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.INFO)
    options = {flag.name: flag.value for flag in _SOURCE_OPTIONS if flag.value is not None}
    try:
        builder.prepare_dataset(
            _DATASET.value, _OUTPUT.value, source_dir=_SOURCE.value,
            num_workers=_NUM_WORKERS.value, clips_per_shard=_CLIPS_PER_SHARD.value,
            progress=_PROGRESS.value, **options)
    except ValueError as error:
        sys.exit(f"prepare: error: {error}")


def main():
    """Console entry point (`tsvan-prepare`)."""
    app.run(_run)


if __name__ == "__main__":
    main()
