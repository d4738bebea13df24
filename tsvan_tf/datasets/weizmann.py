"""`WeizmannSource`: the Weizmann human-action videos with the paper's temporal split."""

import os
import re

from tsvan_tf.datasets import _layout
from tsvan_tf.datasets import _media
from tsvan_tf.datasets.clip_source import ClipSource
from tsvan_tf.datasets.clip_skipped import ClipSkipped
from tsvan_tf.datasets.planned_clip import PlannedClip

ACTIONS = ("bend", "jack", "pjump", "wave1", "wave2", "jump", "run", "side", "skip", "walk")
ACTORS = ("daria", "denis", "eli", "ido", "ira", "lena", "lyova", "moshe", "shahar")
# every_nth of spec section 6: 2, except 1 for the fast actions.
FRAME_STRIDES = {action: 1 if action in ("run", "side", "skip") else 2 for action in ACTIONS}
# The original crops (H - 5) x (W - 5) of the 144 x 180 frames, then resizes to 64 x 64.
NATIVE_SIZE = (144, 180)
CROP_MARGIN = 5
# Training uses the first floor(2/3) of each video's frames, testing the rest.
TRAIN_FRACTION = (2, 3)
# `<actor>_<action>[<take>].avi`; the take digit only on Lena's repeated videos (`lena_run2`).
_VIDEO_NAME = re.compile(r"(?P<actor>[a-z]+)_(?P<action>[a-z]+[12]?)\.avi")


class WeizmannSource(ClipSource):
    """Reads the Weizmann actions videos, `<actor>_<action>.avi` (any folder depth under
    `source_dir`, e.g. the unpacked per-action zips), 10 actions x 9 actors.

    Each video gives one training clip, its first `floor(2/3 n)` frames, and one test clip, the
    remaining frames; when those are no longer than one window (`min_frames` frames at the
    action's stride) the test clip starts earlier, `window + 1` frames before the end, as the
    original does. Labels are the actions in `ACTIONS` order; the actor index (`ACTORS` order) is
    kept in each record for the 90-way actor x action classifier. Lena's second takes
    (`lena_run2`, `lena_skip2`, `lena_walk2`) are skipped and listed, so there is one video per
    actor and action (90), as in the paper. Frames are stored at a size that makes a centred
    `image_size` crop the original's (H - 5) x (W - 5) crop resized to `image_size`.

    Args:
        source_dir: the folder holding the videos.
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
        """Finds the videos; refuses a folder without Weizmann videos or missing an action."""
        _layout.check_source_dir(self.source_dir)
        videos = {}
        unusable = []
        for path in _layout.walk_files(self.source_dir):
            key = _parse_name(os.path.basename(path))
            if key is None:
                unusable.append((path, "not a Weizmann video (expected <actor>_<action>.avi, "
                                       "e.g. daria_bend.avi, with one of the 9 actors and 10 "
                                       "actions)"))
                continue
            videos.setdefault(key, []).append(path)
        if not videos:
            raise ValueError(
                f"Expected Weizmann videos named <actor>_<action>.avi (e.g. daria_bend.avi) in "
                f"{self.source_dir}; found none ({_layout.describe_folder(self.source_dir)})."
            )
        missing = [a for a in ACTIONS if not any(action == a for _, action in videos)]
        if missing:
            raise ValueError(
                f"No Weizmann video of action(s) {missing} in {self.source_dir}; expected the 10 "
                f"actions {list(ACTIONS)} (found {len(videos)} videos)."
            )
        planned = []
        for actor, action in sorted(videos, key=lambda k: (ACTORS.index(k[0]),
                                                           ACTIONS.index(k[1]))):
            first, *others = sorted(videos[(actor, action)], key=_media.natural_key)
            label, actor_index = ACTIONS.index(action), ACTORS.index(actor)
            for split in ("train", "test"):
                planned.append(PlannedClip(split=split, label=label, source_id=first,
                                           actor=actor_index, payload=first))
            for other in others:
                reason = (f"second take of {actor}_{action}: {first} is used (one video per "
                          "actor and action, as in the paper)")
                planned.append(PlannedClip(split="train", label=label, source_id=other,
                                           actor=actor_index, payload=_layout.Unusable(reason)))
        planned.extend(PlannedClip(split="train", label=0, source_id=path,
                                   payload=_layout.Unusable(reason)) for path, reason in unusable)
        return ACTIONS, planned

    def load(self, planned):
        _layout.raise_if_unusable(planned)
        frames = _media.read_video(os.path.join(self.source_dir, planned.payload), None)
        stride = FRAME_STRIDES[ACTIONS[planned.label]]
        window = _layout.window_length(self.min_frames, stride)
        start, stop = split_frames(len(frames), planned.split, window)
        if stop - start < window:
            raise ClipSkipped(
                f"{planned.split} part has {stop - start} of {len(frames)} frames; one window of "
                f"{self.min_frames} frames at stride {stride} needs {window}")
        return _layout.resize_frames(frames[start:stop], self._stored_size())

    def frame_strides(self, class_names):
        return tuple(FRAME_STRIDES[name] for name in class_names)

    def crop_size(self):
        return (self.image_size, self.image_size)

    def actor_names(self):
        return ACTORS

    def _stored_size(self):
        kept = tuple(n - CROP_MARGIN for n in NATIVE_SIZE)
        return _layout.stored_size(self.crop_size(), NATIVE_SIZE, kept)


def split_frames(num_frames, split, window):
    """The frame range `[start, stop)` of a video's clip in `split` (spec section 6).

    Args:
        num_frames: frames of the whole video.
        split: `"train"` (the first `floor(2/3 n)` frames) or `"test"` (the rest, started early
            enough to hold `window + 1` frames, as the original).
        window: source frames one window spans.

    Returns:
        `(start, stop)`.
    """
    cut = num_frames * TRAIN_FRACTION[0] // TRAIN_FRACTION[1]
    if split == "train":
        return 0, cut
    if num_frames - cut <= window:
        cut = max(num_frames - window - 1, 0)
    return cut, num_frames


def _parse_name(name):
    """`(actor, action)` of a Weizmann file name (`lena_run2.avi` -> `("lena", "run")`), or None."""
    match = _VIDEO_NAME.fullmatch(name)
    if match is None or match["actor"] not in ACTORS:
        return None
    action = match["action"]
    if action not in ACTIONS and action[:-1] in ACTIONS:
        action = action[:-1]
    return (match["actor"], action) if action in ACTIONS else None
