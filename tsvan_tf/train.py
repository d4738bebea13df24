"""Train TwoStreamVAN from the command line.

Examples:

    # The quick start: the embedded synthetic dataset on a CPU, samples in /tmp/tsvan/samples.
    python -m tsvan_tf.train --flagfile=configs/quickstart.cfg --model_dir=/tmp/tsvan

    # A paper dataset prepared with `python -m tsvan_tf.datasets.prepare`.
    python -m tsvan_tf.train --flagfile=configs/weizmann.cfg --data_dir=DATA --model_dir=RUN

    # Print the resolved configuration and exit.
    python -m tsvan_tf.train --flagfile=configs/synthetic.cfg --model_dir=RUN --dry_run

Every field of `ModelConfig`, `LossConfig` and `TrainConfig` is a flag of the same name; an
unset flag keeps the `--preset`'s value. `num_classes` comes from the data unless set (and a
value that contradicts the data is refused). Re-running the same command resumes training.
"""

import dataclasses
import json
import re
import sys

from absl import app
from absl import flags

from tsvan_tf import cli
from tsvan_tf.config import LossConfig
from tsvan_tf.config import ModelConfig
from tsvan_tf.config import TrainConfig

CONFIG_CLASSES = (ModelConfig, LossConfig, TrainConfig)
PRESETS = ("synthetic", "weizmann", "mug", "synaction")

FLAGS = flags.FLAGS


def _field_help(config_class):
    """`{field: help}` parsed from the class docstring's `Attributes:` section."""
    helps = {}
    section = (config_class.__doc__ or "").split("Attributes:", 1)[-1]
    for match in re.finditer(r"^\s{8}([\w, ]+): (.+(?:\n\s{12}.+)*)", section, re.M):
        text = " ".join(line.strip() for line in match.group(2).splitlines())
        for name in match.group(1).split(","):
            helps[name.strip()] = text
    return helps


def define_config_flags(flag_values=FLAGS):
    """Defines one flag per config field (default None: keep the preset's value)."""
    seen = {}
    for config_class in CONFIG_CLASSES:
        helps = _field_help(config_class)
        for field in dataclasses.fields(config_class):
            if field.name in seen:
                raise ValueError(f"{config_class.__name__}.{field.name} clashes with "
                                 f"{seen[field.name]}.{field.name}: flag names must be unique.")
            seen[field.name] = config_class.__name__
            help_text = f"[{config_class.__name__}] {helps.get(field.name, field.name)}"
            default = field.default
            if isinstance(default, bool):
                flags.DEFINE_bool(field.name, None, help_text, flag_values=flag_values)
            elif isinstance(default, int):
                flags.DEFINE_integer(field.name, None, help_text, flag_values=flag_values)
            elif isinstance(default, float):
                flags.DEFINE_float(field.name, None, help_text, flag_values=flag_values)
            elif isinstance(default, tuple):
                flags.DEFINE_list(field.name, None, help_text + " (comma-separated)",
                                  flag_values=flag_values)
            else:
                flags.DEFINE_string(field.name, None, help_text, flag_values=flag_values)


flags.DEFINE_string("model_dir", None, "Output folder: checkpoints, samples, logs, config.json.")
flags.DEFINE_string("data_dir", None, "A prepared dataset (python -m tsvan_tf.datasets.prepare); "
                    "unset: the embedded synthetic dataset, prepared once into --cache_dir.")
flags.DEFINE_string("cache_dir", None, "Where the synthetic dataset is cached (default "
                    "$TSVAN_TF_CACHE, else ~/.cache/tsvan_tf).")
flags.DEFINE_enum("preset", "synthetic", PRESETS, "Base settings of every config; flags "
                  "override single fields.")
flags.DEFINE_string("classifier", None, "A trained action classifier (python -m "
                    "tsvan_tf.train_classifier) scoring samples every --eval_every steps.")
flags.DEFINE_bool("single_stream", False, "Train the single-generator baseline (SGVAN) instead.")
flags.DEFINE_bool("dry_run", False, "Print the resolved configuration and exit.")
define_config_flags()


def configs_from_flags(flag_values=FLAGS, num_classes=None):
    """Builds the three configs from the preset and the flags that were set.

    Args:
        flag_values: parsed flags.
        num_classes: the data's class count, used when `--num_classes` is not set.

    Returns:
        `(model_config, loss_config, train_config)`.
    """
    configs = []
    for config_class in CONFIG_CLASSES:
        overrides = {}
        for field in dataclasses.fields(config_class):
            value = flag_values[field.name].value
            if value is None:
                continue
            if isinstance(field.default, tuple):
                value = tuple(type(field.default[0])(v) for v in value) if field.default \
                    else tuple(value)
            overrides[field.name] = value
        if config_class is ModelConfig and "num_classes" not in overrides and num_classes:
            overrides["num_classes"] = num_classes
        configs.append(config_class.from_preset(flag_values.preset, **overrides))
    return tuple(configs)


def _data_class_count(flag_values):
    """The class count of `--data_dir`, or of the synthetic dataset (without preparing it)."""
    if flag_values.data_dir:
        from tsvan_tf import datasets

        return datasets.read_manifest(flag_values.data_dir).num_classes
    from tsvan_tf.datasets import synthetic

    return len(synthetic.CLASS_NAMES)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]} (flags take the --name=value form)")
    cli.quiet_library_logs(FLAGS)
    from tsvan_tf import trainer

    try:
        model_config, loss_config, train_config = configs_from_flags(
            FLAGS, num_classes=_data_class_count(FLAGS))
        if bool(train_config.eval_every) != bool(FLAGS.classifier):
            raise ValueError(
                f"--eval_every and --classifier go together. Received: --eval_every="
                f"{train_config.eval_every}, --classifier={FLAGS.classifier!r}.")
        if FLAGS.dry_run:
            if FLAGS.data_dir:
                from tsvan_tf import datasets

                trainer.check_data(datasets.read_manifest(FLAGS.data_dir), model_config)
            print(json.dumps({"model": model_config.to_dict(), "loss": loss_config.to_dict(),
                              "train": train_config.to_dict(),
                              "single_stream": FLAGS.single_stream,
                              "data_dir": FLAGS.data_dir or "(embedded synthetic dataset)",
                              "model_dir": FLAGS.model_dir}, indent=2))
            return 0
        trainer.train(model_config, loss_config, train_config, FLAGS.model_dir,
                      data_dir=FLAGS.data_dir, cache_dir=FLAGS.cache_dir,
                      single_stream=FLAGS.single_stream, classifier_dir=FLAGS.classifier)
    except trainer.Preempted as error:
        print(error, file=sys.stderr)
        return 143
    except (ValueError, trainer.TrainingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def run():
    """Console-script entry point (`tsvan-train`)."""
    flags.mark_flags_as_required(["model_dir"])
    app.run(main)


if __name__ == "__main__":
    run()
