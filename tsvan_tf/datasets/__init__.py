"""Data: the clip-record format, the `load_clips` reader, dataset sources and preparation.

```python
from tsvan_tf import datasets

datasets.prepare_dataset("synthetic", "/tmp/synthetic", seed=0)   # or the prepare CLI
manifest = datasets.read_manifest("/tmp/synthetic")                # class names, resolution
batches = datasets.load_clips("/tmp/synthetic", split="train", frames=10, batch_size=16)
```
"""

from tsvan_tf.datasets.builder import prepare_dataset
from tsvan_tf.datasets.clip_record import ClipRecord
from tsvan_tf.datasets.clip_skipped import ClipSkipped
from tsvan_tf.datasets.clip_source import ClipSource
from tsvan_tf.datasets.manifest import Manifest
from tsvan_tf.datasets.manifest import read_manifest
from tsvan_tf.datasets.planned_clip import PlannedClip
from tsvan_tf.datasets.reader import load_clips
from tsvan_tf.datasets.registry import dataset_names
from tsvan_tf.datasets.registry import get_source_class
from tsvan_tf.datasets.shard_writer import ShardWriter

__all__ = [
    "ClipRecord",
    "ClipSkipped",
    "ClipSource",
    "Manifest",
    "PlannedClip",
    "ShardWriter",
    "dataset_names",
    "get_source_class",
    "load_clips",
    "prepare_dataset",
    "read_manifest",
]
