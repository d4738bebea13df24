"""SingleStreamVAN: the single-generator baseline (the paper's SGVAN) for the ablation."""

import keras
from keras import ops

from tsvan_tf.models.two_stream_van import TwoStreamVAN


@keras.saving.register_keras_serializable(package="tsvan_tf")
class SingleStreamVAN(TwoStreamVAN):
    """One generator decodes content and motion together; no motion kernels, no fusion.

    The encoders, the trajectory FC, the ConvLSTM history and (with `config.joint`) the joint
    product are TwoStreamVAN's; G_m and the adaptive fusion are not built. Instead G_c decodes
    `concat(F, S)`, the content state and the motion state, into the next frame; content-only
    decoding (frame 0, the content task) feeds zeros in place of `S`. Everything else (the
    interface, `generate`, the training forwards, the parameter groups) is `TwoStreamVAN`'s, so
    the trainer runs both the same way. The scale features are G_c's unfused maps at the
    configured scales.

    The original's SGVAN lives in code that was never released (only its schedule, content
    task probability 0.7 -> 0.4 over steps 180k-200k, is in the bash files), so this is a
    re-design that keeps every component except the second stream.

    Args:
        config: a `ModelConfig` (`use_mask`, `kernel_size`, `kernel_mode` are unused).
        **kwargs: base `Model` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `[labels, content_noise, motion_noise]`, as `generate`.

    Returns:
        The generated video, as `generate`.

    Reference:
        Sun, Xu & Saenko, "TwoStreamVAN", WACV 2020, arXiv:1812.01037 (SGVAN baseline).
    """

    single_stream = True

    def decode_content(self, content_code, labels):
        _, features = self.content_generator.content_state(content_code, labels)
        zeros = ops.zeros((*ops.shape(features)[:3], self.config.motion_channels),
                          dtype=features.dtype)
        return self.content_generator.decode(ops.concatenate([features, zeros], axis=-1))

    def decode_motion(self, features, motion_state, training=False):
        return self.content_generator.decode(
            ops.concatenate([features, ops.cast(motion_state, features.dtype)], axis=-1))
