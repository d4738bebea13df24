"""`ClipSource`: the interface every dataset source implements (synthetic, video folders, ...)."""

import abc

from tsvan_tf.datasets.clip_record import IMAGE_FORMATS


class ClipSource(abc.ABC):
    """Turns some input (a generator, a folder of videos, a published dataset) into clips.

    A source does two things: `plan()` lists every clip with its split and label, cheaply and
    before any decoding (so bad arguments fail at once), and `load(planned)` returns the frames of
    one clip, raising `ClipSkipped` for a file it cannot use. `prepare_dataset` does the rest:
    parallel loading, encoding, atomic shards, resumption and the manifest. `load` runs in worker
    processes, so a source must be picklable.

    Subclasses take their options as keyword arguments of `__init__` (the prepare CLI passes the
    flags whose names match) and report them in `options` for the manifest.

    Args:
        image_format: how frames are stored, `"png"` (lossless) or `"jpeg"`.
        jpeg_quality: JPEG quality, used when `image_format="jpeg"`.
        min_frames: clips with fewer frames are skipped (one training window).
    """

    #: Whether the source reads a folder given by `--source`.
    requires_source_dir = True

    def __init__(self, image_format, jpeg_quality, min_frames):
        if image_format not in IMAGE_FORMATS:
            raise ValueError(
                f"Expected image_format in {IMAGE_FORMATS}. Received: image_format={image_format!r}"
            )
        if not 1 <= jpeg_quality <= 100:
            raise ValueError(
                f"Expected 1 <= jpeg_quality <= 100. Received: jpeg_quality={jpeg_quality}")
        if min_frames < 1:
            raise ValueError(f"Expected min_frames >= 1. Received: min_frames={min_frames}")
        self.image_format = image_format
        self.jpeg_quality = jpeg_quality
        self.min_frames = min_frames

    @property
    @abc.abstractmethod
    def options(self):
        """The resolved options (JSON-serialisable dict) recorded in the manifest; preparing
        into a folder prepared with other options is refused."""

    @abc.abstractmethod
    def plan(self):
        """Lists the clips to prepare.

        Returns:
            `(class_names, planned_clips)`: a tuple of class names in label order and a list of
            `PlannedClip`s in a deterministic order.

        Raises:
            ValueError: if the input is missing or unusable, with what was expected and found.
        """

    @abc.abstractmethod
    def load(self, planned):
        """Returns the frames of one planned clip as uint8 `(time, height, width, 3)`.

        Raises:
            ClipSkipped: if the clip cannot be used (the reason goes into the manifest).
        """

    def frame_strides(self, class_names):
        """Per class, the frame stride `load_clips` uses by default (1 unless a dataset says so)."""
        return tuple(1 for _ in class_names)

    def crop_size(self):
        """`(height, width)` crop `load_clips` applies before resizing, or None."""
        return None

    def crop_offsets(self):
        """`(max_offset, eval_offset)`: the largest random `(top, left)` crop offset when
        training and the `(top, left)` offset for evaluation; None for the whole margin and a
        centred crop."""
        return None, None

    def actor_names(self):
        """Names of the content identities stored as the records' `actor` index (empty if none)."""
        return ()
