"""Evaluating a training run's checkpoint end to end: the report behind `tsvan_tf.evaluate`."""

import json
import os

from tsvan_tf import media
from tsvan_tf.metrics.generator_evaluator import GeneratorEvaluator
from tsvan_tf.metrics.trained_classifier import load_classifier
from tsvan_tf.trained_model import load_trained_model
from tsvan_tf.trained_model import read_run_config

EVAL_FILE = "eval.json"


def _test_clips(data_dir, classifier, batch_size):
    from tsvan_tf import datasets

    manifest = datasets.read_manifest(data_dir)
    classifier.check_compatible(manifest.class_names, classifier.config.frames,
                                classifier.config.resolution, f"the data in {data_dir}")
    return datasets.load_clips(data_dir, split="test", frames=classifier.config.frames,
                               batch_size=batch_size, training=False,
                               image_size=classifier.config.resolution, drop_remainder=False)


def evaluate_model_dir(model_dir, classifier_dir, num_per_class, seed, batch_size, step=None,
                       best=False, data_dir=None, first_frame_repetitions=0, video_features=None,
                       output=None, log_stream=None):
    """Scores a checkpoint of a training run and writes the report as JSON.

    Args:
        model_dir: the `--model_dir` of a training run.
        classifier_dir: a trained classifier (`python -m tsvan_tf.train_classifier`).
        num_per_class: generated videos per class (900 in the paper).
        seed: seeds the generated sample.
        batch_size: videos generated at once.
        step: the checkpoint step; None takes the latest.
        best: read the best generator kept by training's `--eval_every` (`checkpoints_best/`)
            instead of `checkpoints/`.
        data_dir: the real clips (test split) for the Frechet distances and the first-frame
            evaluation; None uses the classifier's dataset.
        first_frame_repetitions: continuations per test clip in the first-frame-conditioned
            evaluation (spec 7.3 item 2; 100 in the paper); 0 skips it.
        video_features: optional `{name: (extract, protocol)}`: extra feature extractors with
            the protocol recorded beside their Frechet distance (FVD).
        output: the JSON report's path; None writes `model_dir/eval.json`.
        log_stream: where progress goes; None draws no progress bar.

    Returns:
        The report, a dict (also written to `output`).

    Raises:
        ModelDirError: no config or checkpoint in `model_dir`.
        ClassifierDirError: an unusable classifier folder.
        ValueError: classes, frames or resolution that differ between the generator, the
            classifier and the data.
    """
    trained = load_trained_model(model_dir, step=step, best=best)
    classifier = load_classifier(classifier_dir)
    classifier.check_compatible(trained.class_names, trained.model_config.frames,
                                trained.model_config.resolution, model_dir)
    data_dir = data_dir or classifier.info["dataset"]["data_dir"]
    features = {name: extract for name, (extract, _) in (video_features or {}).items()}
    evaluator = GeneratorEvaluator(
        classifier, trained.model_config, trained.class_names, num_per_class, seed, batch_size,
        real_videos=_test_clips(data_dir, classifier, batch_size), video_features=features,
        log_stream=log_stream)
    protocol = {**evaluator.protocol(), "batch_size": batch_size,
                "checkpoint_step": trained.step,
                "real": {"data_dir": os.path.abspath(data_dir), "split": "test"},
                **{f"{name}_protocol": p for name, (_, p) in (video_features or {}).items()}}
    report = {
        "model": {"model_dir": os.path.abspath(model_dir), "checkpoint_step": trained.step,
                  "run_total_steps": read_run_config(model_dir).get("train", {}).get(
                      "total_steps"),
                  "checkpoint_path": trained.checkpoint_path, "best": best,
                  "single_stream": trained.single_stream},
        "classifier": {"directory": os.path.abspath(classifier_dir),
                       "sha256": classifier.sha256, "step": classifier.step,
                       "held_out_accuracy": classifier.held_out_accuracy},
        "unconditional": {"protocol": protocol, "metrics": evaluator(trained.generator)},
    }
    if first_frame_repetitions:
        metrics, count = evaluator.first_frame(trained.generator,
                                               _test_clips(data_dir, classifier, batch_size),
                                               first_frame_repetitions)
        first_frame_protocol = {k: v for k, v in protocol.items()
                                if k not in ("num_per_class", "warmup_frames")}
        report["first_frame"] = {
            "protocol": {**first_frame_protocol, "num_videos": count,
                         "repetitions": first_frame_repetitions,
                         "conditioning": "the reconstructed first frame of each real test clip, "
                                         "prior motion noise, epsilon=0 (spec 7.3 item 2)"},
            "metrics": metrics}
    output = output or os.path.join(model_dir, EVAL_FILE)
    with media.atomic_path(output) as tmp:
        with open(tmp, "w") as f:
            json.dump(report, f, indent=2, sort_keys=True)
    return report


def format_report(report):
    """The report as a plain-text table: one block per evaluation, its protocol first."""
    model = report["model"]
    total = model.get("run_total_steps")
    unfinished = (f" (not the run's final checkpoint: its config.json asks for {total} steps)"
                  if total and model["checkpoint_step"] < total and not model["best"] else "")
    lines = [f"model {model['model_dir']} step {model['checkpoint_step']}{unfinished}; "
             f"classifier {report['classifier']['directory']} (sha256 "
             f"{report['classifier']['sha256'][:12]}, held-out accuracy "
             f"{report['classifier']['held_out_accuracy']:.4f})"]
    for section in ("unconditional", "first_frame"):
        if section not in report:
            continue
        p = report[section]["protocol"]
        lines.append("")
        detail = (f"{p['repetitions']} per test clip" if section == "first_frame" else
                  f"{p['num_per_class']} per class, {p['warmup_frames']} warm-up frames dropped")
        lines.append(f"{section}: {p['num_videos']} videos ({detail}), {p['frames']} frames at "
                     f"{p['resolution']}x{p['resolution']}, seed {p['seed']}, "
                     f"{p.get('real_clips', 0)} real test clips")
        width = max(len(name) for name in report[section]["metrics"])
        for name, value in report[section]["metrics"].items():
            text = "n/a" if value is None else f"{value:.4f}"
            lines.append(f"  {name:<{width}}  {text:>10}")
    return "\n".join(lines)
