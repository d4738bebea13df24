"""Evaluate a trained generator with the paper's protocol (spec 7.2-7.3).

Examples:

    # 900 videos per class (the paper's count), scored by a classifier trained on the same data.
    python -m tsvan_tf.evaluate --model_dir=RUN --classifier=CLASSIFIER

    # A quick look, plus the first-frame-conditioned evaluation and FVD (extra [fvd]).
    python -m tsvan_tf.evaluate --model_dir=RUN --classifier=CLASSIFIER --num_per_class=50 \\
        --first_frame_repetitions=10 --fvd

Prints a table and writes `eval.json` (into --model_dir unless --output is set): accuracy
w.r.t. the conditioning label, Inception Score, intra-/inter-entropy, class-wise
intra-entropy, the classifier-feature Frechet distance (overall and per class) and optionally
FVD, each block with its protocol (samples, frames, warm-up, resolution, seed, checkpoint step,
classifier hash).
"""

import sys

from absl import app
from absl import flags

from tsvan_tf import cli

FLAGS = flags.FLAGS

flags.DEFINE_string("model_dir", None, "The --model_dir of a training run.")
flags.DEFINE_string("classifier", None, "The --output of python -m tsvan_tf.train_classifier.")
flags.DEFINE_integer("num_per_class", 900, "Generated videos per class (the paper: 900).",
                     lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seeds the generated sample (labels and noise).")
flags.DEFINE_integer("batch_size", 90, "Videos generated and scored at once.", lower_bound=1)
flags.DEFINE_integer("step", None, "The checkpoint step to evaluate (default: the latest).")
flags.DEFINE_bool("best", False, cli.BEST_CHECKPOINT_HELP)
flags.DEFINE_string("data_dir", None, "Real clips (test split) for the Frechet distances; "
                    "default: the classifier's dataset.")
flags.DEFINE_integer("first_frame_repetitions", 0, "Also run the first-frame-conditioned "
                     "evaluation with this many continuations per test clip (the paper: 100).",
                     lower_bound=0)
flags.DEFINE_bool("fvd", False, "Also compute FVD with I3D Kinetics-400 (needs the [fvd] extra).")
flags.DEFINE_string("output", None, "Where to write the JSON report (default MODEL_DIR/eval.json).")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]} (flags take the --name=value form)")
    cli.quiet_library_logs(FLAGS)
    from tsvan_tf.metrics.model_evaluation import evaluate_model_dir
    from tsvan_tf.metrics.model_evaluation import format_report

    try:
        video_features = None
        if FLAGS.fvd:
            from tsvan_tf.metrics.i3d import fvd_feature_extractor

            video_features = {"fvd": fvd_feature_extractor()}
        report = evaluate_model_dir(
            FLAGS.model_dir, FLAGS.classifier, FLAGS.num_per_class, FLAGS.seed, FLAGS.batch_size,
            step=FLAGS.step, best=FLAGS.best, data_dir=FLAGS.data_dir,
            first_frame_repetitions=FLAGS.first_frame_repetitions,
            video_features=video_features, output=FLAGS.output, log_stream=sys.stderr)
    except (ValueError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_report(report))
    return 0


def run():
    """Console-script entry point (`tsvan-evaluate`)."""
    flags.mark_flags_as_required(["model_dir", "classifier"])
    app.run(main)


if __name__ == "__main__":
    run()
