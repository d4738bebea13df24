"""The record format: one `tf.train.Example` per clip, frames stored as encoded images."""

import dataclasses
import io

import numpy as np
import tensorflow as tf
from PIL import Image

IMAGE_FORMATS = ("png", "jpeg")

# Feature keys of a clip record, and how `tf.io.parse_example` reads them.
FEATURE_SPEC = {
    "frames": tf.io.VarLenFeature(tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "num_frames": tf.io.FixedLenFeature([], tf.int64),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "actor": tf.io.FixedLenFeature([], tf.int64, default_value=-1),
    "source_id": tf.io.FixedLenFeature([], tf.string, default_value=b""),
}


@dataclasses.dataclass(frozen=True)
class ClipRecord:
    """One clip as stored in a shard.

    Args:
        frames: the encoded frames (PNG or JPEG bytes), in time order.
        label: class index into the manifest's `class_names`.
        height: frame height in pixels.
        width: frame width in pixels.
        actor: optional content identity (actor, subject, appearance id); -1 if unknown.
        source_id: optional name of the source file or generator entry the clip came from.
    """

    frames: tuple
    label: int
    height: int
    width: int
    actor: int = -1
    source_id: str = ""

    @property
    def num_frames(self):
        """The number of frames."""
        return len(self.frames)

    @classmethod
    def from_array(cls, frames, label, image_format, jpeg_quality=95, actor=-1, source_id=""):
        """Encodes a `(time, height, width, 3)` uint8 array into a record.

        Args:
            frames: uint8 array `(time, height, width, 3)`.
            label: class index.
            image_format: `"png"` (lossless) or `"jpeg"`.
            jpeg_quality: JPEG quality 1-100 (ignored for PNG).
            actor: content identity or -1.
            source_id: where the clip came from.

        Returns:
            A `ClipRecord`.
        """
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(
                "Expected frames of shape (time, height, width, 3) and dtype uint8. "
                f"Received: shape={frames.shape}, dtype={frames.dtype}"
            )
        if image_format not in IMAGE_FORMATS:
            raise ValueError(
                f"Expected image_format in {IMAGE_FORMATS}. Received: image_format={image_format!r}"
            )
        encoded = tuple(_encode_image(frame, image_format, jpeg_quality) for frame in frames)
        return cls(encoded, int(label), int(frames.shape[1]), int(frames.shape[2]),
                   int(actor), str(source_id))

    def to_example(self):
        """Returns the clip as a `tf.train.Example`."""
        def ints(value):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

        def strings(values):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(values)))

        return tf.train.Example(features=tf.train.Features(feature={
            "frames": strings(self.frames),
            "label": ints(self.label),
            "num_frames": ints(self.num_frames),
            "height": ints(self.height),
            "width": ints(self.width),
            "actor": ints(self.actor),
            "source_id": strings([self.source_id.encode("utf-8")]),
        }))

    def serialize(self):
        """Returns the serialized `tf.train.Example` bytes."""
        return self.to_example().SerializeToString()

    @classmethod
    def parse(cls, serialized):
        """Reads a record back from serialized `tf.train.Example` bytes (for tools and tests;
        the training reader parses inside the graph)."""
        feature = tf.train.Example.FromString(serialized).features.feature
        return cls(
            frames=tuple(feature["frames"].bytes_list.value),
            label=feature["label"].int64_list.value[0],
            height=feature["height"].int64_list.value[0],
            width=feature["width"].int64_list.value[0],
            actor=feature["actor"].int64_list.value[0],
            source_id=feature["source_id"].bytes_list.value[0].decode("utf-8"),
        )

    def decode(self):
        """Returns the frames as a uint8 array `(time, height, width, 3)`."""
        return np.stack([np.asarray(Image.open(io.BytesIO(f)).convert("RGB")) for f in self.frames])


def _encode_image(frame, image_format, jpeg_quality):
    """Encodes one `(height, width, 3)` uint8 frame with Pillow."""
    buffer = io.BytesIO()
    image = Image.fromarray(frame)
    if image_format == "png":
        image.save(buffer, format="PNG")
    else:
        image.save(buffer, format="JPEG", quality=jpeg_quality)
    return buffer.getvalue()
