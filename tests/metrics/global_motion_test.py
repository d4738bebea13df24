"""Tests of the motion probe against known translations and a slow loop reference."""

import numpy as np

from tsvan_tf import testing
from tsvan_tf.datasets import synthetic
from tsvan_tf.metrics.global_motion import frame_shifts


def _reference(video, max_shift):
    """One pair and one candidate at a time, from the docstring's definition."""
    frames = video - np.median(video, axis=0)
    result = []
    for current, following in zip(frames[:-1], frames[1:]):
        best = None
        for dy in range(-max_shift, max_shift + 1):
            for dx in range(-max_shift, max_shift + 1):
                moved = np.roll(np.roll(current, dy, axis=0), dx, axis=1)
                key = (np.mean((moved - following) ** 2), abs(dx) + abs(dy), dy, dx)
                best = min(best, key) if best else key
        result.append((best[3], best[2]))
    return np.asarray(result, float)


def _translating_square(steps, velocity, size=24, frames=6, seed=0):
    """A textured square moving by `velocity` px per frame over a fixed random background."""
    rng = np.random.default_rng(seed)
    background = rng.uniform(0.0, 0.3, (size, size, 3))
    patch = rng.uniform(0.5, 1.0, (6, 6, 3))
    video = np.repeat(background[None], frames, axis=0)
    for t in range(frames):
        y, x = 8 + t * velocity[1], 8 + t * velocity[0]
        video[t, y:y + 6, x:x + 6] = patch
    return video[:steps + 1]


class FrameShiftsTest(testing.TestCase):

    def test_a_translating_square_gives_its_velocity(self):
        video = _translating_square(5, velocity=(2, -1))
        self.assertAllEqual(frame_shifts(video), np.tile([[2.0, -1.0]], (5, 1)))

    def test_a_static_video_gives_zeros(self):
        video = np.repeat(np.random.default_rng(1).uniform(size=(1, 16, 16, 3)), 4, axis=0)
        self.assertAllEqual(frame_shifts(video), np.zeros((3, 2)))

    def test_matches_the_loop_reference_on_random_videos(self):
        videos = np.random.default_rng(2).normal(size=(3, 4, 10, 12, 2))
        expected = np.stack([_reference(v, 2) for v in videos])
        self.assertAllEqual(frame_shifts(videos, max_shift=2), expected)

    def test_the_synthetic_translation_classes(self):
        # One synthetic clip per direction at 32 px (0.8-1.3 px per frame): the mean shift over
        # 15 steps points the class's way, and a pulse (growing in place) barely moves.
        rng_seed, size, frames = 3, 32, 16
        expected = {"move_right": (1, 0), "move_left": (-1, 0), "move_up": (0, -1),
                    "move_down": (0, 1)}
        for name, direction in expected.items():
            label = synthetic.CLASS_NAMES.index(name)
            clip = synthetic.render_clip(label, (0, 0, 0), np.random.default_rng(rng_seed),
                                         frames, size).astype(np.float64) / 255.0
            mean = frame_shifts(clip).mean(axis=0)
            self.assertGreater(float(np.dot(mean, direction)), 0.6, msg=f"{name}: {mean}")
            self.assertLess(float(abs(mean[1 - np.argmax(np.abs(direction))])), 0.2,
                            msg=f"{name}: {mean}")
        pulse = synthetic.render_clip(synthetic.CLASS_NAMES.index("pulse"), (0, 0, 0),
                                      np.random.default_rng(rng_seed), frames, size) / 255.0
        self.assertLess(float(np.abs(frame_shifts(pulse).mean(axis=0)).max()), 0.3)

    def test_bad_input_is_refused(self):
        with self.assertRaisesRegex(ValueError, r"\(batch, T, H, W, C\).*shape=\(4, 8, 8\)"):
            frame_shifts(np.zeros((4, 8, 8)))
        with self.assertRaisesRegex(ValueError, "T >= 2"):
            frame_shifts(np.zeros((2, 1, 8, 8, 3)))
        with self.assertRaisesRegex(ValueError, "max_shift=-1"):
            frame_shifts(np.zeros((2, 8, 8, 3)), max_shift=-1)
