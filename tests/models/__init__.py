"""Tests of tsvan_tf.models; `TINY` is a ModelConfig small enough for eager JAX."""

TINY = {
    "num_classes": 3, "frames": 4, "resolution": 16, "content_dim": 8, "motion_dim": 4,
    "base_width": 4, "content_hidden_dim": 16, "motion_encoder_width": 4, "motion_channels": 4,
    "motion_hidden_dim": 16, "joint_dim": 4, "motion_decoder_widths": (16, 12, 8, 4),
    "kernel_branch_channels": (4, 4, 4, 4), "kernel_branch_width": 4, "kernel_size": 3,
    "image_discriminator_width": 4, "video_discriminator_width": 4, "warmup_frames": 1,
}
