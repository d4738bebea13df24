"""`SynActionSource`: the SynAction (Mixamo) `.npy` clips with the paper's view-based test split."""

import os
import re

import numpy as np

from tsvan_tf.datasets import _layout
from tsvan_tf.datasets.clip_source import ClipSource
from tsvan_tf.datasets.clip_skipped import ClipSkipped
from tsvan_tf.datasets.planned_clip import PlannedClip

CHARACTERS = ("douglas", "kachujin", "liam", "lola", "malcolm", "regina", "remy", "shae",
              "stefani", "swat")
ACTIONS = ("bow", "cheer", "clap", "climb", "crossstep", "hit", "hook", "jump", "kick", "knee",
           "pick", "pitch", "push", "roll", "run", "squat", "stall", "standup", "walk", "wave")
# every_nth of spec section 6 (it overrides the command line in the original).
FRAME_STRIDES = {
    **{a: 4 for a in ("bow", "hook", "knee", "pick", "push", "roll", "run", "squat", "stall",
                      "standup", "walk", "wave")},
    **{a: 6 for a in ("hit", "jump", "kick", "pitch")},
    **{a: 2 for a in ("cheer", "clap", "climb", "crossstep")},
}
NUM_VARIANTS = 2
NUM_VIEWS = 15
# Clips are 71 x 71; the original takes a 64 x 64 crop without resizing, at a random offset in
# [0, 6] for training and at offset 4 for testing.
NATIVE_SIZE = (71, 71)
CROP_SIZE = (64, 64)
MAX_CROP_OFFSET = 6
EVAL_CROP_OFFSET = 4
_CLIP_NAME = re.compile(r"(?P<character>[a-z]+)_(?P<action>[a-z]+)_(?P<variant>\d+)_"
                        r"(?P<view>\d+)\.npy")


class SynActionSource(ClipSource):
    """Reads the SynAction clips, `<character>_<action>_<variant>_<view>.npy` arrays of shape
    `(T, 71, 71, 3)` (any folder depth under `source_dir`): 20 actions x 10 characters x 2
    animation variants x 15 camera views.

    The test split holds, for each (character, action, variant), the single view
    `((character * 20 + action) * 2 + variant) mod 15` (indices in `CHARACTERS` and `ACTIONS`
    order), about 400 clips; the other views train. Labels are the actions; the character index
    is kept as the actor. Frames are stored at 71 x 71 for `image_size=64` and `load_clips` takes
    the `image_size` crop at the original's offsets (all scaled alike for another size).

    Args:
        source_dir: the folder holding the `.npy` clips.
        image_size: the model's frame size (the crop `load_clips` takes).
        image_format: `"jpeg"` or `"png"`.
        jpeg_quality: JPEG quality when `image_format="jpeg"`.
        min_frames: `T`, the window length a clip must hold at its action's stride.
    """

    def __init__(self, source_dir, image_size=64, image_format="jpeg", jpeg_quality=95,
                 min_frames=10):
        super().__init__(image_format=image_format, jpeg_quality=jpeg_quality,
                         min_frames=min_frames)
        if image_size < 1:
            raise ValueError(f"Expected image_size >= 1. Received: image_size={image_size}")
        self.source_dir = os.path.abspath(source_dir)
        self.image_size = int(image_size)

    @property
    def options(self):
        return {"source_dir": self.source_dir, "image_size": self.image_size,
                "image_format": self.image_format, "jpeg_quality": self.jpeg_quality,
                "min_frames": self.min_frames}

    def plan(self):
        """Finds the clips; refuses a folder without SynAction clips or missing an action."""
        _layout.check_source_dir(self.source_dir)
        planned = []
        unusable = []
        for path in _layout.walk_files(self.source_dir):
            key = _parse_name(os.path.basename(path))
            if key is None:
                unusable.append(PlannedClip(
                    split="train", label=0, source_id=path, payload=_layout.Unusable(
                        "not a SynAction clip name (expected <character>_<action>_<variant>_"
                        f"<view>.npy, variant < {NUM_VARIANTS}, view < {NUM_VIEWS})")))
                continue
            character, action, variant, view = key
            planned.append(PlannedClip(split=view_split(character, action, variant, view),
                                       label=action, source_id=path, actor=character,
                                       payload=path))
        if not planned:
            raise ValueError(
                "Expected SynAction clips named <character>_<action>_<variant>_<view>.npy (e.g. "
                f"douglas_bow_0_0.npy) in {self.source_dir}; found none "
                f"({_layout.describe_folder(self.source_dir)})."
            )
        found = {clip.label for clip in planned}
        missing = [name for label, name in enumerate(ACTIONS) if label not in found]
        if missing:
            raise ValueError(
                f"No SynAction clip of action(s) {missing} in {self.source_dir}; expected the 20 "
                f"actions {list(ACTIONS)} (found {len(planned)} clips)."
            )
        return ACTIONS, planned + unusable

    def load(self, planned):
        _layout.raise_if_unusable(planned)
        try:
            frames = np.load(os.path.join(self.source_dir, planned.payload), allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ClipSkipped(f"cannot read the array ({' '.join(str(error).split())})") from None
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ClipSkipped(f"array of shape {frames.shape}; expected (T, 71, 71, 3)")
        if frames.dtype != np.uint8:
            if not np.issubdtype(frames.dtype, np.floating) or frames.min() < 0 or frames.max() > 1:
                raise ClipSkipped(f"array of dtype {frames.dtype}; expected uint8, or floats in "
                                  "[0, 1]")
            frames = np.round(frames * 255).astype(np.uint8)
        stride = FRAME_STRIDES[ACTIONS[planned.label]]
        window = _layout.window_length(self.min_frames, stride)
        if len(frames) < window:
            raise ClipSkipped(f"{len(frames)} frames; one window of {self.min_frames} frames at "
                              f"stride {stride} needs {window}")
        return _layout.resize_frames(frames, self._stored_size())

    def frame_strides(self, class_names):
        return tuple(FRAME_STRIDES[name] for name in class_names)

    def crop_size(self):
        return (self.image_size, self.image_size)

    def crop_offsets(self):
        scale = self.image_size / CROP_SIZE[0]
        margin = self._stored_size()[0] - self.image_size
        max_offset, eval_offset = (min(round(o * scale), margin)
                                   for o in (MAX_CROP_OFFSET, EVAL_CROP_OFFSET))
        return (max_offset, max_offset), (eval_offset, eval_offset)

    def actor_names(self):
        return CHARACTERS

    def _stored_size(self):
        return _layout.stored_size(self.crop_size(), NATIVE_SIZE, CROP_SIZE)


def view_split(character, action, variant, view):
    """`"test"` for the one test view of a (character, action, variant), else `"train"`.

    Args:
        character: index into `CHARACTERS`.
        action: index into `ACTIONS`.
        variant: animation variant, 0 or 1.
        view: camera view, 0..14.

    Returns:
        `"test"` if `view == ((character * 20 + action) * 2 + variant) % 15`, else `"train"`.
    """
    test_view = ((character * len(ACTIONS) + action) * NUM_VARIANTS + variant) % NUM_VIEWS
    return "test" if view == test_view else "train"


def _parse_name(name):
    """`(character, action, variant, view)` indices of a clip file name, or None."""
    match = _CLIP_NAME.fullmatch(name)
    if (match is None or match["character"] not in CHARACTERS or match["action"] not in ACTIONS
            or int(match["variant"]) >= NUM_VARIANTS or int(match["view"]) >= NUM_VIEWS):
        return None
    return (CHARACTERS.index(match["character"]), ACTIONS.index(match["action"]),
            int(match["variant"]), int(match["view"]))
