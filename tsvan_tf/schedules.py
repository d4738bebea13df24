"""Linear, clamped schedules of the training step (spec section 5), as pure functions.

Each takes the global step (a Python number or a scalar tensor, so it works inside
`tf.function`) and a `LossConfig`, and returns a float32 scalar tensor. Ramps marked "after
pre-training" in `LossConfig` are offset by `pretrain_steps`; the content-KL ramp is not.

```python
from tsvan_tf import schedules
from tsvan_tf.config import LossConfig
eps = schedules.scheduled_sampling_probability(step, LossConfig())
```
"""

from keras import ops


def linear_schedule(step, start_value, end_value, start_step, end_step):
    """`start_value` before `start_step`, `end_value` after `end_step`, linear in between.

    Args:
        step: the global step, a number or a scalar tensor.
        start_value, end_value: the values at the ends of the ramp.
        start_step, end_step: the ramp's steps (`end_step >= start_step`; equal = a step change).

    Returns:
        A float32 scalar tensor.
    """
    if end_step < start_step:
        raise ValueError(f"`end_step` must be >= `start_step`. Received: start_step="
                         f"{start_step}, end_step={end_step}")
    step = ops.cast(step, "float32")
    if end_step == start_step:
        fraction = ops.cast(ops.greater_equal(step, float(start_step)), "float32")
    else:
        fraction = ops.clip((step - start_step) / float(end_step - start_step), 0.0, 1.0)
    return ops.cast(start_value + (end_value - start_value) * fraction, "float32")


def _ramp(step, config, name, offset):
    start = getattr(config, f"{name}_start_step") + offset
    end = getattr(config, f"{name}_end_step") + offset
    return linear_schedule(step, getattr(config, f"{name}_start"), getattr(config, f"{name}_end"),
                           start, end)


def content_kl_weight(step, config):
    """`lambda_ckl(step)`, the content KL weight (not offset by pre-training, as the original)."""
    return _ramp(step, config, "content_kl", 0)


def video_kl_weight(step, config):
    """`lambda_vmk(step)`, the video-task motion KL weight (after pre-training)."""
    return _ramp(step, config, "video_kl", config.pretrain_steps)


def content_task_probability(step, config):
    """Probability of the content task once pre-training is over (0.6 for the paper)."""
    return _ramp(step, config, "content_task_prob", config.pretrain_steps)


def video_task_probability(step, config):
    """Probability of the video task (vs. prediction) when a motion task runs (0.1 -> 0.9)."""
    return _ramp(step, config, "video_task_prob", config.pretrain_steps)


def scheduled_sampling_probability(step, config):
    """`eps(step)`: probability that a video-task step takes the real frame/difference (1 -> 0)."""
    return _ramp(step, config, "sampling", config.pretrain_steps)
