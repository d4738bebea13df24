"""Decoding helpers shared by the sources that read files: videos via PyAV, frame folders via
Pillow. Every failure becomes a `ClipSkipped` with a one-line reason."""

import os
import re

import av
import numpy as np
from PIL import Image

from tsvan_tf.datasets.clip_skipped import ClipSkipped

VIDEO_EXTENSIONS = (".mp4", ".avi", ".webm", ".mkv", ".mov", ".gif", ".m4v", ".mpg", ".mpeg",
                    ".ogv", ".flv", ".wmv")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def is_hidden(name):
    """Whether a directory entry is hidden (`.DS_Store`, `.git`, ...); such entries are no clip."""
    return name.startswith(".")


def natural_key(name):
    """Sort key that orders `frame2.png` before `frame10.png`."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def read_video(path, size):
    """Decodes every frame of a video file.

    Args:
        path: a video in any container PyAV (FFmpeg) reads.
        size: `(height, width)` each frame is resized to (bilinear), or None to keep it.

    Returns:
        uint8 array `(time, height, width, 3)`.

    Raises:
        ClipSkipped: empty file, unknown extension, undecodable or frameless file.
    """
    _check_file(path)
    extension = os.path.splitext(path)[1].lower()
    if extension not in VIDEO_EXTENSIONS:
        raise ClipSkipped(
            f"unknown file type {extension or '(no extension)'!r}; expected a video "
            f"({' '.join(VIDEO_EXTENSIONS)}) or a folder of frames"
        )
    frames = []
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise ClipSkipped("no video stream")
            for frame in container.decode(container.streams.video[0]):
                frames.append(_to_array(frame.to_image(), size))
    except (av.FFmpegError, OSError, ValueError) as error:
        raise ClipSkipped(f"cannot decode ({type(error).__name__}: {_one_line(error)})") from None
    if not frames:
        raise ClipSkipped("no decodable video frame")
    return np.stack(frames)


def read_frame_folder(path, size):
    """Reads a folder of frame images (one clip), in natural file-name order.

    Args:
        path: a folder of images (hidden files ignored).
        size: `(height, width)` each frame is resized to (bilinear), or None to keep it.

    Returns:
        uint8 array `(time, height, width, 3)`.

    Raises:
        ClipSkipped: no image in the folder, a file that is not an image, an unreadable image,
            or frames of different sizes (when `size` is None).
    """
    names = sorted((n for n in os.listdir(path) if not is_hidden(n)), key=natural_key)
    if not names:
        raise ClipSkipped("empty frame folder")
    frames = []
    for name in names:
        frame_path = os.path.join(path, name)
        if os.path.splitext(name)[1].lower() not in IMAGE_EXTENSIONS:
            raise ClipSkipped(
                f"{name} is not a frame image (expected {' '.join(IMAGE_EXTENSIONS)})")
        try:
            _check_file(frame_path)
            with Image.open(frame_path) as image:
                frames.append(_to_array(image, size))
        except ClipSkipped as skip:
            raise ClipSkipped(f"frame {name}: {skip.reason}") from None
        except (OSError, ValueError) as error:
            raise ClipSkipped(f"unreadable image {name} ({_one_line(error)})") from None
    if len({f.shape for f in frames}) > 1:
        raise ClipSkipped("frames of different sizes")
    return np.stack(frames)


def _check_file(path):
    if os.path.getsize(path) == 0:
        raise ClipSkipped("empty file (0 bytes)")


def _to_array(image, size):
    image = image.convert("RGB")
    if size is not None and image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__
