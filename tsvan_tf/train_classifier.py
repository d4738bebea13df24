"""Train the action classifier that scores generated videos (spec 7.1).

Examples:

    # The embedded synthetic dataset (prepared once into the cache), CPU-sized preset.
    python -m tsvan_tf.train_classifier --output=runs/classifier

    # A prepared paper dataset with the original's settings (clip length and frame size must be
    # those of the generator it will evaluate).
    python -m tsvan_tf.train_classifier --data_dir=DATA --preset=paper --output=CLASSIFIER

Every field of `ClassifierConfig` is a flag of the same name; `num_classes` comes from the data.
Progress and the held-out (test split) accuracy are printed; `--output` receives the
checkpoints, the best weights and `classifier.json` (accuracies, dataset, hash). Re-running the
same command resumes.
"""

import dataclasses
import sys

from absl import app
from absl import flags

from tsvan_tf import cli
from tsvan_tf.metrics.classifier_config import ClassifierConfig

FLAGS = flags.FLAGS

flags.DEFINE_string("output", None, "Folder for the classifier (checkpoints, best weights, "
                    "classifier.json).")
flags.DEFINE_string("data_dir", None, "A prepared dataset (python -m tsvan_tf.datasets.prepare); "
                    "unset: the embedded synthetic dataset, prepared once into --cache_dir.")
flags.DEFINE_string("cache_dir", None, "Where the synthetic dataset is cached (default "
                    "$TSVAN_TF_CACHE, else ~/.cache/tsvan_tf).")
flags.DEFINE_enum("preset", None, ClassifierConfig.preset_names(), "Base settings; default "
                  "`synthetic` without --data_dir, else `paper`.")
for _field in dataclasses.fields(ClassifierConfig):
    _define = {int: flags.DEFINE_integer, float: flags.DEFINE_float}[type(_field.default)]
    _define(_field.name, None, f"ClassifierConfig.{_field.name} (default: the preset's).")


def config_from_flags(flag_values, num_classes):
    """The `ClassifierConfig` of `--preset` with the flags that were set and the data's classes."""
    preset = flag_values.preset or ("paper" if flag_values.data_dir else "synthetic")
    overrides = {field.name: flag_values[field.name].value
                 for field in dataclasses.fields(ClassifierConfig)
                 if flag_values[field.name].value is not None}
    if overrides.setdefault("num_classes", num_classes) != num_classes:
        raise ValueError(f"--num_classes={overrides['num_classes']} contradicts the data, which "
                         f"has {num_classes} classes; leave it unset.")
    return ClassifierConfig.from_preset(preset, **overrides)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]} (flags take the --name=value form)")
    cli.quiet_library_logs(FLAGS)
    from tsvan_tf import datasets
    from tsvan_tf import trainer
    from tsvan_tf.metrics.classifier_trainer import train_classifier

    try:
        data_dir = FLAGS.data_dir
        if data_dir is None:
            from tsvan_tf.datasets import synthetic

            config = config_from_flags(FLAGS, len(synthetic.CLASS_NAMES))
            # The trainer's cache of the synthetic dataset, at the classifier's frames and size.
            data_dir = trainer.prepare_synthetic(config, FLAGS.cache_dir, seed=0)
        else:
            config = config_from_flags(FLAGS, datasets.read_manifest(data_dir).num_classes)
        train_classifier(config, data_dir, FLAGS.output)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def run():
    """Console-script entry point (`tsvan-train-classifier`)."""
    flags.mark_flags_as_required(["output"])
    app.run(main)


if __name__ == "__main__":
    run()
