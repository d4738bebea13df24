"""Evaluation: the paper's classifier metrics (spec 7), a classifier Frechet distance and FVD.

```python
from tsvan_tf.metrics import GeneratorEvaluator, load_classifier

classifier = load_classifier("runs/classifier")   # python -m tsvan_tf.train_classifier
evaluator = GeneratorEvaluator(classifier, model_config, class_names, num_per_class=20,
                               seed=0, batch_size=40)
metrics = evaluator(generator)   # {"accuracy": ..., "inception_score": ..., ...}
```

The formulas are NumPy functions in `classifier_scores` and `frechet`; FVD's I3D (extra
`[fvd]`) is in `i3d`, imported only when used. `global_motion.frame_shifts` is a model-free
probe of how far content moves between frames (does a generator move anything at all?).
"""

from tsvan_tf.metrics.action_classifier import ActionClassifier
from tsvan_tf.metrics.best_checkpoint import BestCheckpoint
from tsvan_tf.metrics.classifier_config import ClassifierConfig
from tsvan_tf.metrics.classifier_trainer import train_classifier
from tsvan_tf.metrics.generator_evaluator import GeneratorEvaluator
from tsvan_tf.metrics.model_evaluation import evaluate_model_dir
from tsvan_tf.metrics.trained_classifier import ClassifierDirError
from tsvan_tf.metrics.trained_classifier import TrainedClassifier
from tsvan_tf.metrics.trained_classifier import load_classifier

__all__ = [
    "ActionClassifier",
    "BestCheckpoint",
    "ClassifierConfig",
    "ClassifierDirError",
    "GeneratorEvaluator",
    "TrainedClassifier",
    "evaluate_model_dir",
    "load_classifier",
    "train_classifier",
]
