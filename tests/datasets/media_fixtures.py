"""Test media generated on the fly with PyAV and Pillow (no downloads)."""

import os

import av
import numpy as np
from PIL import Image


def moving_square_frames(num_frames, size, colour, step=2, seed=0):
    """A square of `colour` moving right by `step` pixels a frame on a noisy grey background.

    Returns:
        uint8 array `(num_frames, size, size, 3)`.
    """
    rng = np.random.default_rng(seed)
    background = rng.integers(90, 140, size=(size, size, 3), dtype=np.uint8)
    side = size // 4
    frames = np.repeat(background[None], num_frames, axis=0)
    for t in range(num_frames):
        left = (size // 8 + step * t) % (size - side)
        frames[t, size // 3:size // 3 + side, left:left + side] = colour
    return frames


def write_video(path, frames, codec, rate=10):
    """Encodes `frames` (uint8 `(T, H, W, 3)`) with PyAV; the container follows the extension."""
    with av.open(path, "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_frame_folder(path, frames):
    """Writes `frames` as `frame_001.png`, ... into the folder `path`."""
    os.makedirs(path, exist_ok=True)
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(os.path.join(path, f"frame_{index + 1:03d}.png"))


def write_bytes(path, data):
    """Writes raw bytes (corrupt or empty files)."""
    with open(path, "wb") as f:
        f.write(data)
