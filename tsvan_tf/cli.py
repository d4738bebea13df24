"""Shared pieces of the command-line tools."""

from absl import logging

BEST_CHECKPOINT_HELP = ("Use the best generator by classifier accuracy, kept in "
                        "MODEL_DIR/checkpoints_best/ by training with --eval_every and "
                        "--classifier, instead of the latest.")


def quiet_library_logs(flag_values):
    """Hides INFO log lines unless `--verbosity` was given.

    TensorFlow logs every checkpoint shard and every traced SavedModel signature at INFO
    through absl; in a training log they bury the progress bar.

    Args:
        flag_values: the parsed `absl.flags.FLAGS`.
    """
    if not flag_values["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
