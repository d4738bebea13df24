"""Scoring a generator with the action classifier on a fixed sample (spec 7.2, 7.3)."""

import numpy as np
import tensorflow as tf

from tsvan_tf.metrics import classifier_scores
from tsvan_tf.metrics import frechet
from tsvan_tf.progress import ProgressBar


def _scores(probabilities, features, labels, class_names, real=None):
    """Every classifier metric of one set of generated videos, as a flat dict of floats."""
    metrics = {
        "accuracy": classifier_scores.accuracy(probabilities, labels),
        "inception_score": classifier_scores.inception_score(probabilities),
        "intra_entropy": classifier_scores.intra_entropy(probabilities),
        "inter_entropy": classifier_scores.inter_entropy(probabilities),
    }
    for name, value in zip(class_names, classifier_scores.class_accuracy(probabilities, labels)):
        metrics[f"accuracy/{name}"] = None if np.isnan(value) else float(value)
    per_class = classifier_scores.class_intra_entropy(probabilities)
    for name, value in zip(class_names, per_class):
        metrics[f"class_intra_entropy/{name}"] = None if np.isnan(value) else float(value)
    if real is not None:
        real_features, real_labels = real
        metrics["classifier_frechet_distance"] = frechet.frechet_distance_of_features(
            features, real_features)
        for label, name in enumerate(class_names):
            ours, theirs = features[labels == label], real_features[real_labels == label]
            metrics[f"classifier_frechet_distance/{name}"] = (
                frechet.frechet_distance_of_features(ours, theirs)
                if len(ours) >= 2 and len(theirs) >= 2 else None)
    return metrics


@tf.function(reduce_retracing=True)
def _clipped_videos(generator, labels, content_noise, motion_noise):
    """`generator.generate` clipped to [-1, 1] (traced once per generator, shared by every
    evaluator)."""
    videos = generator.generate(labels, content_noise, motion_noise)
    return tf.clip_by_value(tf.cast(videos, tf.float32), -1.0, 1.0)


class GeneratorEvaluator:
    """The paper's metrics of a generator's videos, on a sample fixed at construction.

    The labels (`num_per_class` per class) and all noise are drawn once from `seed`, so every
    call scores the same sample: comparable across checkpoints and independent of
    `batch_size`. Videos are clipped to [-1, 1] before scoring, as the original does.

    Args:
        classifier: a `TrainedClassifier` (its classes, frames and resolution must match).
        model_config: the generator's `ModelConfig`.
        class_names: the generator's class names, index = label.
        num_per_class: generated videos per class.
        seed: seeds the sample.
        batch_size: videos generated and classified at once.
        real_videos: optional `tf.data.Dataset` of `{"video", "label"}` batches of real clips
            (the test split), for the Frechet distances.
        video_features: optional extra feature extractors, `{name: callable(videos) -> (batch,
            dim) array}` (e.g. I3D logits for FVD); each adds a Frechet distance `name`.
        log_stream: where a progress bar is drawn; None draws none.

    Raises:
        ValueError: the classifier's classes, frames or resolution differ from the generator's.
    """

    def __init__(self, classifier, model_config, class_names, num_per_class, seed, batch_size,
                 real_videos=None, video_features=None, log_stream=None):
        classifier.check_compatible(class_names, model_config.frames, model_config.resolution,
                                    "the generator")
        if num_per_class < 1 or batch_size < 1:
            raise ValueError(f"Expected num_per_class >= 1 and batch_size >= 1. Received: "
                             f"num_per_class={num_per_class}, batch_size={batch_size}")
        self.classifier = classifier
        self.model_config = model_config
        self.class_names = tuple(class_names)
        self.num_per_class = num_per_class
        self.seed = seed
        self.batch_size = batch_size
        self.video_features = dict(video_features or {})
        self.log_stream = log_stream
        config, count = model_config, num_per_class * len(class_names)
        rng = np.random.default_rng(seed)
        self.labels = np.repeat(np.arange(len(class_names), dtype=np.int32), num_per_class)
        self.content_noise = rng.normal(size=(count, config.content_dim)).astype(np.float32)
        self.motion_noise = rng.normal(
            size=(count, config.motion_noise_steps, config.motion_dim)).astype(np.float32)
        self.real = None if real_videos is None else self._real_features(real_videos)

    def protocol(self):
        """The sampling protocol, recorded beside the metrics."""
        config = self.model_config
        protocol = {
            "num_per_class": self.num_per_class,
            "num_videos": len(self.labels),
            "frames": config.frames,
            "warmup_frames": config.warmup_frames,
            "resolution": config.resolution,
            "seed": self.seed,
            "clipped_to": [-1.0, 1.0],
            "classifier_sha256": self.classifier.sha256,
        }
        if self.real is not None:
            protocol["real_clips"] = len(self.real["labels"])
        return protocol

    def _real_features(self, dataset):
        collected = {"labels": [], "classifier": [], **{n: [] for n in self.video_features}}
        for batch in dataset:
            videos = batch["video"].numpy()
            collected["labels"].append(batch["label"].numpy())
            collected["classifier"].append(self.classifier.features_and_probabilities(videos)[0])
            for name, extract in self.video_features.items():
                collected[name].append(np.asarray(extract(videos)))
        return {name: np.concatenate(parts) for name, parts in collected.items()}

    def _score_batches(self, batches, total):
        """Classifies (and embeds) generated batches; returns the collected arrays."""
        bar = ProgressBar(total, "evaluate", unit="videos", stream=self.log_stream) \
            if self.log_stream else None
        collected = {"probabilities": [], "classifier": [], **{n: [] for n in self.video_features}}
        done = 0
        for videos in batches:
            features, probabilities = self.classifier.features_and_probabilities(videos)
            collected["probabilities"].append(probabilities)
            collected["classifier"].append(features)
            for name, extract in self.video_features.items():
                collected[name].append(np.asarray(extract(videos)))
            done += len(videos)
            if bar:
                bar.update(done)
        if bar:
            bar.close()
        return {name: np.concatenate(parts) for name, parts in collected.items()}

    def _metrics(self, collected, labels):
        real = None if self.real is None else (self.real["classifier"], self.real["labels"])
        metrics = _scores(collected["probabilities"], collected["classifier"], labels,
                          self.class_names, real)
        for name in self.video_features:
            if self.real is not None:
                metrics[name] = frechet.frechet_distance_of_features(collected[name],
                                                                     self.real[name])
        return metrics

    def __call__(self, generator):
        """Generates the fixed sample with `generator` and scores it.

        Args:
            generator: a `TwoStreamVAN` or `SingleStreamVAN` built from `model_config`.

        Returns:
            A flat dict: `accuracy`, `inception_score`, `intra_entropy`, `inter_entropy`,
            `class_intra_entropy/<class>` and, with real videos, `classifier_frechet_distance`
            (overall and `/<class>`) plus one Frechet distance per extra feature extractor.
            A value is None where it is undefined (a class no video is predicted as; fewer than
            2 videos of a class).
        """
        def batches():
            for start in range(0, len(self.labels), self.batch_size):
                part = slice(start, start + self.batch_size)
                yield _clipped_videos(generator, self.labels[part], self.content_noise[part],
                                      self.motion_noise[part]).numpy()

        return self._metrics(self._score_batches(batches(), len(self.labels)), self.labels)

    def first_frame(self, generator, test_videos, repetitions):
        """The first-frame-conditioned evaluation (spec 7.3 item 2).

        Every real test clip is continued `repetitions` times from its reconstructed first
        frame with prior motion noise (the video forward's `x_p` pass, epsilon = 0: no
        ground-truth content or history after frame 0); the videos are scored against the
        clip's label.

        Args:
            generator: the generator.
            test_videos: `tf.data.Dataset` of `{"video", "label"}` real test clips.
            repetitions: continuations per clip.

        Returns:
            `(metrics, num_videos)`: the metrics dict of `__call__` and the number of videos.
        """
        config = self.model_config
        rng = np.random.default_rng(self.seed)
        steps = config.frames - 1
        coins = np.zeros((2, steps), bool)

        @tf.function
        def continue_clips(videos, labels, noise):
            zeros = tf.zeros_like(noise)
            out = generator.video_forward(videos, labels, zeros, noise, coins, coins,
                                          training=False)["video_p"]
            return tf.clip_by_value(tf.cast(out, tf.float32), -1.0, 1.0)

        clips = [(batch["video"].numpy(), batch["label"].numpy()) for batch in test_videos]

        def batches():
            for videos, labels in clips:
                for _ in range(repetitions):
                    noise = rng.normal(size=(len(labels), steps, config.motion_dim))
                    yield continue_clips(videos, labels, noise.astype(np.float32)).numpy()

        labels = np.concatenate([np.tile(labels, repetitions) for _, labels in clips])
        return self._metrics(self._score_batches(batches(), len(labels)), labels), len(labels)
