"""Tests of the sample writers (GIF, MP4, PNG grid, loss plot)."""

import os

import av
import numpy as np
from PIL import Image

from tsvan_tf import media
from tsvan_tf import testing


def _videos(n=3, frames=4, size=8):
    rng = np.random.default_rng(0)
    return rng.uniform(-1.0, 1.0, size=(n, frames, size, size, 3)).astype("float32")


class MediaTest(testing.TestCase):

    def test_to_uint8_clips_and_maps_range(self):
        np.testing.assert_array_equal(media.to_uint8([-2.0, -1.0, 0.0, 1.0, 3.0]),
                                      [0, 0, 128, 255, 255])

    def test_tile_videos_places_each_cell(self):
        videos = np.zeros((2, 3, 4, 5, 6, 3), "float32") - 1.0
        videos[1, 2] = 1.0
        grid = media.tile_videos(videos, padding=2)
        self.assertEqual(grid.shape, (4, 2 * 7 - 2, 3 * 8 - 2, 3))
        np.testing.assert_array_equal(grid[:, 7:12, 16:22], 255)
        np.testing.assert_array_equal(grid[:, 0:5, 0:6], 0)

    def test_upscale_makes_each_pixel_a_block(self):
        videos = _videos(n=2, frames=3, size=4)
        big = media.upscale(videos, 3)
        self.assertEqual(big.shape, (2, 3, 12, 12, 3))
        for dy in range(3):
            for dx in range(3):
                np.testing.assert_array_equal(big[:, :, dy::3, dx::3], videos)
        self.assertIs(media.upscale(videos, 1), videos)
        for scale in (0, 1.5):
            with self.assertRaisesRegex(ValueError, f"integer >= 1. Received: scale={scale}"):
                media.upscale(videos, scale)

    def test_display_scale_reaches_128_px(self):
        self.assertEqual([media.display_scale(s) for s in (16, 32, 64, 100, 128, 256)],
                         [8, 4, 2, 1, 1, 1])

    def test_tile_videos_scales_each_cell(self):
        videos = np.zeros((2, 3, 4, 5, 6, 3), "float32") - 1.0
        videos[1, 2, :, 0, 0] = 1.0
        grid = media.tile_videos(videos, padding=2, scale=2)
        self.assertEqual(grid.shape, (4, 2 * 12 - 2, 3 * 14 - 2, 3))
        np.testing.assert_array_equal(grid[:, 12:14, 28:30], 255)  # the pixel, as a 2x2 block
        np.testing.assert_array_equal(grid[:, 14:22, 30:40], 0)
        strip = media.frame_strip_grid(videos[1], scale=2)
        self.assertEqual(strip.shape, (3 * 12 - 2, 4 * 14 - 2, 3))

    def test_png_grid_has_one_row_per_video_and_column_per_frame(self):
        path = os.path.join(self.get_temp_dir(), "grid.png")
        media.write_videos(path, _videos(n=3, frames=4, size=8))
        image = np.asarray(Image.open(path))
        self.assertEqual(image.shape, (3 * 10 - 2, 4 * 10 - 2, 3))

    def test_gif_has_all_frames(self):
        path = os.path.join(self.get_temp_dir(), "videos.gif")
        media.write_videos(path, _videos(n=2, frames=5, size=8))
        image = Image.open(path)
        self.assertEqual(image.n_frames, 5)
        self.assertEqual(image.size, (2 * 10 - 2, 8))

    def test_mp4_decodes_with_frame_count_and_size(self):
        path = os.path.join(self.get_temp_dir(), "videos.mp4")
        media.write_videos(path, _videos(n=1, frames=6, size=16))
        with av.open(path) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        self.assertLen(frames, 6)
        self.assertEqual(frames[0].shape, (16, 16, 3))

    def test_unknown_extension_raises(self):
        with self.assertRaisesRegex(ValueError, r"expected .gif, .mp4 or .png. Received: "
                                                r"path='x.avi'"):
            media.write_videos("x.avi", _videos())

    def test_wrong_shape_raises(self):
        with self.assertRaisesRegex(ValueError, r"\(N, T, H, W, 3\). Received: shape=\(4, 8, 8, 3\)"):
            media.write_videos("x.gif", np.zeros((4, 8, 8, 3)))

    def test_failed_write_leaves_no_file(self):
        path = os.path.join(self.get_temp_dir(), "broken.png")
        with self.assertRaises(RuntimeError):
            with media.atomic_path(path) as tmp:
                with open(tmp, "w") as f:
                    f.write("partial")
                raise RuntimeError("interrupted")
        self.assertFalse(os.path.exists(path))
        self.assertEqual([n for n in os.listdir(self.get_temp_dir()) if n.startswith(".tmp-")], [])

    def test_written_files_follow_the_umask(self):
        path = os.path.join(self.get_temp_dir(), "shared.png")
        old = os.umask(0o022)
        try:
            media.write_png(path, np.zeros((4, 4, 3), np.uint8))
        finally:
            os.umask(old)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o644)

    def test_plot_losses_writes_png(self):
        path = os.path.join(self.get_temp_dir(), "losses.png")
        media.plot_losses(path, {"a": [1, 2, 3], "b": [2, 4]}, {"a": [3.0, 2.0, 1.0], "b": [1.0, 0.5]})
        self.assertEqual(Image.open(path).format, "PNG")
