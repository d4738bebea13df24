"""`MUGSource`: the MUG facial-expression sequences with the paper's interleaved sub-clip split."""

import math
import os

import numpy as np
from PIL import Image

from tsvan_tf.datasets import _layout
from tsvan_tf.datasets import _media
from tsvan_tf.datasets.clip_source import ClipSource
from tsvan_tf.datasets.clip_skipped import ClipSkipped
from tsvan_tf.datasets.planned_clip import PlannedClip

# Spec section 6's order (alphabetical); the original took the non-deterministic glob order.
EXPRESSIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")
# Each sequence becomes `NUM_SUBCLIPS` interleaved sub-clips (frames k, k + 4, ...); sub-clip
# `TEST_SUBCLIP` is the test clip, the others train (same subjects and sequences).
NUM_SUBCLIPS = 4
TEST_SUBCLIP = 3
# The original crops 90 % of the face box (random for training, central for testing).
CROP_FRACTION = 0.9


class MUGSource(ClipSource):
    """Reads the MUG database's image sequences, `<subject>/<expression>/<take>/<frame images>`
    under `source_dir`, the 6 expressions of `EXPRESSIONS` (other folders, such as `neutral`,
    are ignored).

    Only sequences of at least `min_sequence_frames` frames are used (shorter ones are skipped
    and listed). Each is split into 4 interleaved sub-clips, frames `k, k+4, k+8, ...` for
    `k = 0..3`: sub-clips 0, 1 and 2 train, sub-clip 3 tests (a temporal-phase split: the same
    subjects and sequences). Instead of the original's Haar-cascade face box on the first frame,
    every frame is cut to the same centred square, `face_fraction` of its shorter side: MUG is
    filmed with a fixed camera and the subject centred, so a fixed box is deterministic, the
    same for all frames of a take, and needs no face detector (OpenCV) at preparation time.
    Frames are stored so that the `image_size` crop `load_clips` takes is 90 % of that square.
    The subject index (sorted folder names) is kept in each record as the actor.

    Args:
        source_dir: the folder holding one folder per subject.
        image_size: the model's frame size (the crop `load_clips` takes).
        face_fraction: side of the centred square cut from each frame, as a fraction of the
            frame's shorter side, in (0, 1].
        min_sequence_frames: shorter sequences are skipped (40 in the paper).
        image_format: `"jpeg"` or `"png"`.
        jpeg_quality: JPEG quality when `image_format="jpeg"`.
        min_frames: `T`; a sub-clip with fewer frames is skipped.
    """

    def __init__(self, source_dir, image_size=64, face_fraction=1.0, min_sequence_frames=40,
                 image_format="jpeg", jpeg_quality=95, min_frames=10):
        super().__init__(image_format=image_format, jpeg_quality=jpeg_quality,
                         min_frames=min_frames)
        if image_size < 1:
            raise ValueError(f"Expected image_size >= 1. Received: image_size={image_size}")
        if not 0.0 < face_fraction <= 1.0:
            raise ValueError(
                f"Expected 0 < face_fraction <= 1. Received: face_fraction={face_fraction}")
        if min_sequence_frames < NUM_SUBCLIPS:
            raise ValueError(f"Expected min_sequence_frames >= {NUM_SUBCLIPS}. Received: "
                             f"min_sequence_frames={min_sequence_frames}")
        self.source_dir = os.path.abspath(source_dir)
        self.image_size = int(image_size)
        self.face_fraction = float(face_fraction)
        self.min_sequence_frames = int(min_sequence_frames)

    @property
    def options(self):
        return {"source_dir": self.source_dir, "image_size": self.image_size,
                "face_fraction": self.face_fraction,
                "min_sequence_frames": self.min_sequence_frames,
                "image_format": self.image_format, "jpeg_quality": self.jpeg_quality,
                "min_frames": self.min_frames}

    def plan(self):
        """Finds the sequences; refuses a folder without MUG's layout or missing an expression."""
        _layout.check_source_dir(self.source_dir)
        takes = self._find_takes()
        if not takes:
            raise ValueError(
                f"Expected the MUG layout <subject>/<expression>/<take>/<frame images> (e.g. "
                f"001/anger/take000/img_0001.jpg, expressions {list(EXPRESSIONS)}) in "
                f"{self.source_dir}; found no such take "
                f"({_layout.describe_folder(self.source_dir)})."
            )
        found = {expression for _, expression, _, _ in takes}
        missing = [e for e in EXPRESSIONS if e not in found]
        if missing:
            raise ValueError(
                f"No MUG take of expression(s) {missing} in {self.source_dir}; expected the 6 "
                f"expressions {list(EXPRESSIONS)} (found {len(takes)} takes of {sorted(found)})."
            )
        subjects = self.actor_names()
        planned = []
        for subject, expression, take, num_frames in takes:
            label, actor = EXPRESSIONS.index(expression), subjects.index(subject)
            source_id = f"{subject}/{expression}/{take}"
            folder = os.path.join(self.source_dir, subject, expression, take)
            if num_frames < self.min_sequence_frames:
                reason = (f"sequence of {num_frames} frames; the paper uses sequences of >= "
                          f"{self.min_sequence_frames}")
                planned.append(PlannedClip(split="train", label=label, source_id=source_id,
                                           actor=actor, payload=_layout.Unusable(reason)))
                continue
            planned.extend(
                PlannedClip(split="test" if k == TEST_SUBCLIP else "train", label=label,
                            source_id=f"{source_id}#{k}", actor=actor, payload=(folder, k))
                for k in range(NUM_SUBCLIPS))
        return EXPRESSIONS, planned

    def load(self, planned):
        _layout.raise_if_unusable(planned)
        folder, subclip = planned.payload
        names = _frame_names(folder)[subclip::NUM_SUBCLIPS]
        frames = []
        for name in names:
            try:
                with Image.open(os.path.join(folder, name)) as image:
                    frames.append(self._crop_face(image))
            except (OSError, ValueError) as error:
                raise ClipSkipped(f"unreadable image {name} ({error})") from None
        return np.stack(frames)

    def crop_size(self):
        return (self.image_size, self.image_size)

    def actor_names(self):
        """The subject folders (those holding an expression folder), in natural order."""
        return tuple(subject for subject in _subfolders(self.source_dir)
                     if any(os.path.isdir(os.path.join(self.source_dir, subject, e))
                            for e in EXPRESSIONS))

    def _find_takes(self):
        """Returns `[(subject, expression, take, num_frames)]` in a deterministic order."""
        takes = []
        for subject in self.actor_names():
            for expression in EXPRESSIONS:
                folder = os.path.join(self.source_dir, subject, expression)
                if os.path.isdir(folder):
                    takes.extend((subject, expression, take,
                                  len(_frame_names(os.path.join(folder, take))))
                                 for take in _subfolders(folder))
        return takes

    def _crop_face(self, image):
        """Cuts the centred face square from an opened frame and resizes it to the stored size."""
        stored = _layout.stored_size(self.crop_size(), (1, 1), (CROP_FRACTION, CROP_FRACTION))
        # A JPEG is decoded at the smallest 1/2^k scale that still gives the square >= `stored`
        # pixels (several times faster for MUG's 896 x 896 frames); other formats ignore this.
        scale = stored[0] / (min(image.size) * self.face_fraction)
        image.draft("RGB", (math.ceil(image.size[0] * scale), math.ceil(image.size[1] * scale)))
        image = image.convert("RGB")
        side = round(min(image.size) * self.face_fraction)
        left, top = (image.size[0] - side) // 2, (image.size[1] - side) // 2
        face = image.crop((left, top, left + side, top + side))
        return np.asarray(face.resize((stored[1], stored[0]), Image.Resampling.BILINEAR))


def _subfolders(folder):
    return sorted((n for n in os.listdir(folder)
                   if not _media.is_hidden(n) and os.path.isdir(os.path.join(folder, n))),
                  key=_media.natural_key)


def _frame_names(folder):
    return sorted((n for n in os.listdir(folder)
                   if os.path.splitext(n)[1].lower() in _media.IMAGE_EXTENSIONS),
                  key=_media.natural_key)
