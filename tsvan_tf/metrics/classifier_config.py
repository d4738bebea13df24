"""`ClassifierConfig`: the action classifier's architecture and training settings (spec 7.1)."""

import dataclasses
import typing

from tsvan_tf.config import _Config
from tsvan_tf.config import _fail
from tsvan_tf.config import _is_int

MIN_FRAMES = 4


@dataclasses.dataclass(frozen=True)
class ClassifierConfig(_Config):
    """The 3-D CNN action classifier used to score generated videos, and how it is trained.

    Defaults are the original's (spec 7.1); the `synthetic` preset is a small one that trains
    on the embedded synthetic dataset on a CPU. `frames` and `resolution` must be those of the
    generator it will evaluate.

    Attributes:
        num_classes: number of action classes (taken from the data).
        frames: clip length T (>= 4).
        resolution: frame height and width (divisible by 16).
        width: base width (ndf) of the D_V-like Conv3D stack (64); widths w, 2w, 4w, 8w.
        leaky_relu_slope: slope of every LeakyReLU (0.2).
        batch_norm_momentum: moving-average momentum of BatchNorm (PyTorch's 0.1 = 0.9 here).
        batch_norm_epsilon: BatchNorm epsilon (1e-5, PyTorch's).
        batch_size: clips per training step (32; 64 for SynAction).
        total_steps: training steps (100k).
        learning_rate: Adam's initial learning rate (5e-4).
        learning_rate_decay: factor applied to the learning rate after every epoch (0.995).
        beta_1, beta_2: Adam's betas (0.5, 0.999).
        weight_decay: coupled L2 penalty, as PyTorch's Adam `weight_decay` (1e-5).
        eval_every: steps between held-out evaluations, which also save a checkpoint (100).
        keep_checkpoints: latest checkpoints kept for resuming.
        seed: seeds the initialisation and the data order.
    """

    PRESETS: typing.ClassVar[dict] = {
        "paper": {},
        "synthetic": dict(frames=8, resolution=32, width=16, batch_size=16, total_steps=3000,
                          learning_rate=2e-4, eval_every=250),
    }

    num_classes: int = 10
    frames: int = 10
    resolution: int = 64
    width: int = 64
    leaky_relu_slope: float = 0.2
    batch_norm_momentum: float = 0.9
    batch_norm_epsilon: float = 1e-5
    batch_size: int = 32
    total_steps: int = 100_000
    learning_rate: float = 5e-4
    learning_rate_decay: float = 0.995
    beta_1: float = 0.5
    beta_2: float = 0.999
    weight_decay: float = 1e-5
    eval_every: int = 100
    keep_checkpoints: int = 3
    seed: int = 0

    def validate(self):
        for name in ("num_classes", "width", "batch_size", "total_steps", "eval_every",
                     "keep_checkpoints"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                _fail(f"`{name}` must be a positive integer.", **{name: value})
        if self.num_classes < 2:
            _fail("`num_classes` must be >= 2.", num_classes=self.num_classes)
        if not _is_int(self.frames) or self.frames < MIN_FRAMES:
            _fail(f"`frames` must be an integer >= {MIN_FRAMES}.", frames=self.frames)
        if not _is_int(self.resolution) or self.resolution < 16 or self.resolution % 16:
            _fail("`resolution` must be a positive multiple of 16.", resolution=self.resolution)
        if not self.learning_rate > 0 or not 0 < self.learning_rate_decay <= 1:
            _fail("`learning_rate` must be > 0 and `learning_rate_decay` in (0, 1].",
                  learning_rate=self.learning_rate, learning_rate_decay=self.learning_rate_decay)
        if not (0 <= self.beta_1 < 1 and 0 <= self.beta_2 < 1) or self.weight_decay < 0:
            _fail("Adam's betas must be in [0, 1) and `weight_decay` >= 0.",
                  beta_1=self.beta_1, beta_2=self.beta_2, weight_decay=self.weight_decay)
