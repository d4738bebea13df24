"""Export a trained generator as a SavedModel for TF Serving.

Examples:

    # The latest checkpoint of a run, as DIR/<its step>/ (or the next free version number).
    python -m tsvan_tf.export --model_dir=runs/quickstart --export_dir=exports/tsvan

    # A given checkpoint step, as version 7.
    python -m tsvan_tf.export --model_dir=runs/quickstart --export_dir=exports/tsvan \
        --checkpoint=1000 --version=7

    # Look at the signatures (generate, generate_dict, sample, class_names, metadata).
    saved_model_cli show --dir exports/tsvan/7 --all

The export never overwrites an existing version, and appears only when complete. The signatures
are described in `tsvan_tf/export_saved_model.py` and in the README ("Export and serving").
Prints the path of the new version directory on stdout.
"""

import sys

from absl import app
from absl import flags

from tsvan_tf import cli

FLAGS = flags.FLAGS

flags.DEFINE_string("model_dir", None, "The --model_dir of a training run.")
flags.DEFINE_string("export_dir", None, "Base directory of the exported model (TF Serving's "
                    "model base path); the SavedModel goes to a numeric version sub-directory.")
flags.DEFINE_integer("version", None, "Version number (sub-directory name); default: the "
                     "checkpoint step, or one above the highest existing version if taken.")
flags.DEFINE_integer("checkpoint", None, "Checkpoint step to export; default the latest.")
flags.DEFINE_bool("best", False, cli.BEST_CHECKPOINT_HELP)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]} (flags take the --name=value form)")
    cli.quiet_library_logs(FLAGS)
    from tsvan_tf.export_saved_model import export_saved_model
    from tsvan_tf.trained_model import load_trained_model

    try:
        trained = load_trained_model(FLAGS.model_dir, step=FLAGS.checkpoint, best=FLAGS.best)
        path = export_saved_model(trained, FLAGS.export_dir, version=FLAGS.version)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Exported step {trained.step} of {FLAGS.model_dir} to {path}", file=sys.stderr)
    print(path)
    return 0


def run():
    """Console-script entry point (`tsvan-export`)."""
    flags.mark_flags_as_required(["model_dir", "export_dir"])
    app.run(main)


if __name__ == "__main__":
    run()
