"""`ShardWriter`: writes one TFRecord shard atomically."""

import os

import tensorflow as tf

from tsvan_tf.datasets import _atomic


class ShardWriter:
    """Writes `ClipRecord`s into one `.tfrecord` shard that appears only when complete.

    Records go to a temporary file beside `path`; leaving the `with` block normally renames it to
    `path` (atomic on one file system), leaving it with an exception deletes it. A killed process
    leaves only a temporary file, which `prepare_dataset` removes on its next run, so a shard is
    never seen half-written.

    Args:
        path: the final shard path (`*.tfrecord`).

    Example:

    ```python
    with ShardWriter(os.path.join(out, "train-00000.tfrecord")) as writer:
        writer.write(ClipRecord.from_array(frames, label=3, image_format="png"))
    ```
    """

    def __init__(self, path):
        self.path = path
        self.num_records = 0
        self._temp_path = None
        self._writer = None

    def __enter__(self):
        self._temp_path = _atomic.temp_path_for(self.path)
        self._writer = tf.io.TFRecordWriter(self._temp_path)
        return self

    def write(self, record):
        """Appends one `ClipRecord`."""
        if self._writer is None:
            raise RuntimeError("ShardWriter.write() must be called inside `with ShardWriter(...)`.")
        self._writer.write(record.serialize())
        self.num_records += 1

    def __exit__(self, exc_type, exc, traceback):
        self._writer.flush()
        self._writer.close()
        self._writer = None
        if exc_type is None:
            os.replace(self._temp_path, self.path)
        elif os.path.exists(self._temp_path):
            os.remove(self._temp_path)
        return False
