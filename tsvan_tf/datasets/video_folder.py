"""`VideoFolderSource`: any folder with one sub-folder of videos (or frame folders) per class."""

import hashlib
import os

from tsvan_tf.datasets import _media
from tsvan_tf.datasets.clip_source import ClipSource
from tsvan_tf.datasets.planned_clip import PlannedClip


class VideoFolderSource(ClipSource):
    """Reads `SOURCE/<class name>/<clip>`, where a clip is a video file in any container PyAV
    reads (mp4, avi, webm, mkv, mov, gif, ...) or a sub-folder of frame images.

    Class names are the sub-folder names, sorted. The train/test split is by source file, never by
    frame, and deterministic: within each class the files are ranked by a hash of their path and
    the first `round(test_fraction * n)` go to test (at least one when `test_fraction > 0` and the
    class has two or more files; at least one always stays in train). Adding files does not move
    the others across splits unless the rounding changes. Frames are resized to
    `image_size x image_size` (bilinear, aspect ratio not kept, as the original's loaders do).

    Args:
        source_dir: the folder with one sub-folder per class.
        test_fraction: fraction of each class's files in the test split, in [0, 1).
        image_size: stored frame height and width in pixels.
        image_format: `"jpeg"` (natural video) or `"png"` (lossless).
        jpeg_quality: JPEG quality when `image_format="jpeg"`.
        min_frames: clips with fewer frames are skipped (at least one training window).
    """

    def __init__(self, source_dir, test_fraction=0.2, image_size=64, image_format="jpeg",
                 jpeg_quality=95, min_frames=10):
        super().__init__(image_format=image_format, jpeg_quality=jpeg_quality,
                         min_frames=min_frames)
        if not 0.0 <= test_fraction < 1.0:
            raise ValueError(
                f"Expected 0 <= test_fraction < 1. Received: test_fraction={test_fraction}")
        if image_size < 1:
            raise ValueError(f"Expected image_size >= 1. Received: image_size={image_size}")
        self.source_dir = os.path.abspath(source_dir)
        self.test_fraction = float(test_fraction)
        self.image_size = int(image_size)

    @property
    def options(self):
        return {"source_dir": self.source_dir, "test_fraction": self.test_fraction,
                "image_size": self.image_size, "image_format": self.image_format,
                "jpeg_quality": self.jpeg_quality, "min_frames": self.min_frames}

    def plan(self):
        """Lists the class folders and their clips; checks the layout before any decoding."""
        if not os.path.exists(self.source_dir):
            raise ValueError(f"Source folder {self.source_dir} does not exist.")
        if not os.path.isdir(self.source_dir):
            raise ValueError(
                f"Expected --source to be a folder. Received: {self.source_dir} (a file).")
        entries = sorted(n for n in os.listdir(self.source_dir) if not _media.is_hidden(n))
        class_names = tuple(n for n in entries if os.path.isdir(os.path.join(self.source_dir, n)))
        if not class_names:
            files = entries[:5] + (["..."] if len(entries) > 5 else [])
            raise ValueError(
                f"Expected {self.source_dir} to hold one sub-folder per class (e.g. "
                f"{self.source_dir}/walk/clip1.mp4); found {len(entries)} entries and no "
                f"sub-folder: {files}."
            )
        per_class = []
        for label, name in enumerate(class_names):
            folder = os.path.join(self.source_dir, name)
            clips = sorted((n for n in os.listdir(folder) if not _media.is_hidden(n)),
                           key=_media.natural_key)
            if not clips:
                raise ValueError(
                    f"Class folder {folder} is empty; expected video files or frame folders."
                )
            per_class.append([self._planned(label, name, clip, split)
                              for clip, split in zip(clips, self._splits(name, clips))])
        # Round-robin over classes, so every shard mixes classes.
        planned = []
        for index in range(max(len(clips) for clips in per_class)):
            planned.extend(clips[index] for clips in per_class if index < len(clips))
        return class_names, planned

    def load(self, planned):
        size = (self.image_size, self.image_size)
        if os.path.isdir(planned.payload):
            return _media.read_frame_folder(planned.payload, size)
        return _media.read_video(planned.payload, size)

    def _splits(self, class_name, clips):
        """Returns `"train"`/`"test"` per clip (the split rule in the class docstring)."""
        n = len(clips)
        num_test = round(self.test_fraction * n)
        if self.test_fraction > 0 and n >= 2:
            num_test = max(num_test, 1)
        num_test = min(num_test, n - 1)
        ranked = sorted(range(n), key=lambda i: hashlib.sha256(
            f"{class_name}/{clips[i]}".encode("utf-8")).hexdigest())
        test = set(ranked[:num_test])
        return ["test" if i in test else "train" for i in range(n)]

    def _planned(self, label, class_name, clip, split):
        return PlannedClip(split=split, label=label, source_id=f"{class_name}/{clip}",
                           payload=os.path.join(self.source_dir, class_name, clip))
