"""Writing generated videos for people to look at: GIF and MP4 files, PNG frame grids.

Every writer takes videos as arrays in [-1, 1] (values outside are clipped, since the model's
fused output is not squashed) and writes atomically (a temporary file, then a rename), so an
interrupted run never leaves a half-written sample behind.
"""

import contextlib
import os
import tempfile

import numpy as np


def to_uint8(videos):
    """Maps values in [-1, 1] to uint8 [0, 255], clipping values outside the range."""
    return np.round((np.clip(np.asarray(videos, np.float32), -1.0, 1.0) + 1.0) * 127.5).astype(
        np.uint8)


def _check_videos(videos, ndim):
    videos = np.asarray(videos)
    if videos.ndim != ndim or videos.shape[-1] != 3:
        expected = "(rows, cols, T, H, W, 3)" if ndim == 6 else "(N, T, H, W, 3)"
        raise ValueError(f"Expected videos of shape {expected}. Received: shape={videos.shape}")
    return videos


DISPLAY_SIZE = 128  # px: `display_scale` enlarges smaller videos to at least this side


def display_scale(size, target=DISPLAY_SIZE):
    """The integer enlargement that shows `size`-px frames at least `target` px wide (>= 1):
    4 for 32x32, 2 for 64x64, 1 from 128x128. One pixel of motion per frame is hard to see
    in a 32-px video played at its own size."""
    return max(1, target // size)


def upscale(videos, scale):
    """Nearest-neighbour enlargement of the height and width axes (the third and second to
    last) by the integer `scale`; every pixel becomes a `scale` x `scale` block."""
    if not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"`scale` must be an integer >= 1. Received: scale={scale!r}")
    if scale == 1:
        return videos
    return np.repeat(np.repeat(videos, scale, axis=-3), scale, axis=-2)


def tile_videos(videos, padding=2, scale=1):
    """Tiles a `(rows, cols, T, H, W, 3)` array into `T` frames of one grid each.

    Args:
        videos: values in [-1, 1].
        padding: pixels of white between cells.
        scale: each cell enlarged `scale` times (nearest neighbour).

    Returns:
        uint8 `(T, rows * (scale * H + padding) - padding, cols * (scale * W + padding) -
        padding, 3)`.
    """
    videos = upscale(to_uint8(_check_videos(videos, 6)), scale)
    rows, cols, frames, height, width, _ = videos.shape
    grid = np.full((frames, rows * (height + padding) - padding,
                    cols * (width + padding) - padding, 3), 255, np.uint8)
    for r in range(rows):
        for c in range(cols):
            y, x = r * (height + padding), c * (width + padding)
            grid[:, y:y + height, x:x + width] = videos[r, c]
    return grid


def frame_strip_grid(videos, padding=2, scale=1):
    """One row per video, one column per frame: `(N, T, H, W, 3)` -> one uint8 image (each
    frame enlarged `scale` times)."""
    videos = _check_videos(videos, 5)
    return tile_videos(videos[:, :, None], padding, scale)[0]


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; renames it onto `path` if the block succeeds."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        # mkstemp creates the file 0600; give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_gif(path, frames, fps=8):
    """Writes uint8 `(T, H, W, 3)` frames as a looping GIF."""
    from PIL import Image

    images = [Image.fromarray(frame) for frame in np.asarray(frames, np.uint8)]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=int(round(1000 / fps)), loop=0)


def write_png(path, image):
    """Writes one uint8 `(H, W, 3)` image as PNG."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(np.asarray(image, np.uint8)).save(tmp, format="PNG")


def write_mp4(path, frames, fps=8):
    """Writes uint8 `(T, H, W, 3)` frames as an H.264 MP4 (sizes rounded up to even)."""
    import av

    frames = np.asarray(frames, np.uint8)
    height, width = frames.shape[1:3]
    pad_h, pad_w = height % 2, width % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    with atomic_path(path) as tmp:
        with av.open(tmp, mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "18"}
            for frame in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())


def write_videos(path, videos, fps=8, scale=1):
    """Writes `(N, T, H, W, 3)` videos in [-1, 1] by file extension.

    `.gif` and `.mp4`: the videos side by side, animated; `.png`: a grid with one row per video
    and one column per frame. Each frame is enlarged `scale` times (nearest neighbour).
    """
    videos = _check_videos(videos, 5)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".png":
        write_png(path, frame_strip_grid(videos, scale=scale))
    elif extension in (".gif", ".mp4"):
        frames = tile_videos(videos[:, None].swapaxes(0, 1), scale=scale)
        (write_gif if extension == ".gif" else write_mp4)(path, frames, fps)
    else:
        raise ValueError(
            f"Unknown video file type {extension!r}: expected .gif, .mp4 or .png. "
            f"Received: path={path!r}")


def plot_losses(path, steps, losses):
    """Plots loss curves to a PNG.

    Args:
        path: the PNG to write.
        steps: `{name: [step, ...]}`.
        losses: `{name: [value, ...]}`, same keys and lengths as `steps`.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    names = sorted(losses)
    cols = min(4, max(1, len(names)))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        ax.plot(steps[name], losses[name], linewidth=0.8)
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
