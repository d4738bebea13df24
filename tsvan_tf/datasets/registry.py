"""The dataset registry: one place that maps a `--dataset` name to its `ClipSource` class.

A new source is a `ClipSource` subclass in its own module plus
one line in `_SOURCES`; the prepare CLI, `prepare_dataset` and the reader need no other change.
"""

import inspect

from tsvan_tf.datasets.mug import MUGSource
from tsvan_tf.datasets.synaction import SynActionSource
from tsvan_tf.datasets.synthetic import SyntheticSource
from tsvan_tf.datasets.video_folder import VideoFolderSource
from tsvan_tf.datasets.weizmann import WeizmannSource

_SOURCES = {
    "mug": MUGSource,
    "synaction": SynActionSource,
    "synthetic": SyntheticSource,
    "video_folder": VideoFolderSource,
    "weizmann": WeizmannSource,
}


def dataset_names():
    """Returns the registered dataset names, sorted."""
    return sorted(_SOURCES)


def get_source_class(name):
    """Returns the `ClipSource` subclass registered as `name`.

    Raises:
        ValueError: for an unknown name; the message lists the known ones.
    """
    if name not in _SOURCES:
        raise ValueError(f"Unknown dataset {name!r}. Known datasets: {', '.join(dataset_names())}.")
    return _SOURCES[name]


def source_option_names(source_cls):
    """Returns the option names a source's `__init__` accepts (`source_dir` excluded)."""
    parameters = inspect.signature(source_cls.__init__).parameters
    return tuple(name for name in parameters if name not in ("self", "source_dir"))
