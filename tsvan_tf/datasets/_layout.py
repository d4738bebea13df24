"""Helpers shared by the sources of the paper's datasets (Weizmann, MUG, SynAction): layout
checks, the stored-size rule behind their crops, and source entries that cannot be used."""

import dataclasses
import os

import numpy as np
from PIL import Image

from tsvan_tf.datasets import _media
from tsvan_tf.datasets.clip_skipped import ClipSkipped

_LISTED_ENTRIES = 6


@dataclasses.dataclass(frozen=True)
class Unusable:
    """The payload of a planned clip that `load` refuses (a duplicate take, a file whose name
    is not the dataset's, a sequence too short): it ends up in the manifest's skip list.

    Args:
        reason: why the entry is not used.
    """

    reason: str


def raise_if_unusable(planned):
    """Raises `ClipSkipped` if `planned` was planned as an `Unusable` entry."""
    if isinstance(planned.payload, Unusable):
        raise ClipSkipped(planned.payload.reason)


def check_source_dir(source_dir):
    """Refuses a source that does not exist or is not a folder.

    Raises:
        ValueError: naming the path and what it is.
    """
    if not os.path.exists(source_dir):
        raise ValueError(f"Source folder {source_dir} does not exist.")
    if not os.path.isdir(source_dir):
        raise ValueError(f"Expected --source to be a folder. Received: {source_dir} (a file).")


def describe_folder(folder):
    """Returns a short description of what `folder` holds, for layout error messages."""
    entries = sorted(n for n in os.listdir(folder) if not _media.is_hidden(n))
    if not entries:
        return "it is empty"
    shown = [n + ("/" if os.path.isdir(os.path.join(folder, n)) else "")
             for n in entries[:_LISTED_ENTRIES]]
    more = f" and {len(entries) - _LISTED_ENTRIES} more" if len(entries) > _LISTED_ENTRIES else ""
    return f"it holds {len(entries)} entries: {', '.join(shown)}{more}"


def walk_files(source_dir):
    """Returns the paths of the non-hidden files under `source_dir`, relative, sorted."""
    found = []
    for folder, subfolders, files in os.walk(source_dir):
        subfolders[:] = sorted(n for n in subfolders if not _media.is_hidden(n))
        relative = os.path.relpath(folder, source_dir)
        found.extend(os.path.normpath(os.path.join(relative, n))
                     for n in files if not _media.is_hidden(n))
    return sorted(found, key=_media.natural_key)


def stored_size(crop, native, kept):
    """The size frames are stored at so that a `crop`-pixel crop keeps the dataset's field of view.

    The original crops `kept` of `native` pixels, then resizes the crop to `crop` pixels; storing
    the whole frame at `round(crop * native / kept)` and cropping `crop` pixels shows the same
    field of view, and the crop jitter scales with it.

    Args:
        crop: `(height, width)` of the training crop.
        native: `(height, width)` of the original frames (or of the original's crop reference).
        kept: `(height, width)` the original crop keeps of `native`.

    Returns:
        `(height, width)` in pixels.
    """
    return tuple(max(c, round(c * n / k)) for c, n, k in zip(crop, native, kept))


def resize_frames(frames, size):
    """Resizes uint8 `(time, height, width, 3)` frames to `size` `(height, width)` (bilinear,
    aspect ratio not kept); a no-op at the same size."""
    if tuple(frames.shape[1:3]) == tuple(size):
        return frames
    return np.stack([np.asarray(Image.fromarray(f).resize((size[1], size[0]),
                                                          Image.Resampling.BILINEAR))
                     for f in frames])


def window_length(frames, stride):
    """The number of source frames one window of `frames` frames at `stride` spans."""
    return (frames - 1) * stride + 1
