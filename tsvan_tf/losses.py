"""TwoStreamVAN's losses as pure functions (spec section 4), in the style of TF-GAN.

No model, optimizer or global state: every function takes tensors (any backend, via
`keras.ops`) and returns a float32 scalar; weights are applied by the caller. Adversarial
losses take **logits** (any shape: `(batch,)` for D_V, `(batch, h, w, 1)` patches for D_I) and
average the sigmoid cross-entropy over every element, as PyTorch's `BCEWithLogitsLoss`.

```python
from tsvan_tf import losses
d_loss = losses.discriminator_adversarial_loss(d_real, d_fake)
g_loss = losses.generator_adversarial_loss(d_fake)
kl = losses.kl_divergence(outputs["content_mean"], outputs["content_log_var"])
```
"""

from keras import ops


def _float(x):
    return ops.cast(x, "float32")


def _sigmoid_cross_entropy(logits, target):
    """Mean over every element of BCE-with-logits against a constant target (0 or 1)."""
    logits = _float(logits)
    # max(x, 0) - x * z + log(1 + exp(-|x|)): the numerically stable form.
    loss = ops.relu(logits) - logits * target + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.mean(loss)


def discriminator_real_loss(real_logits):
    """BCE of the discriminator's logits on real data against label 1 (`real_cost`)."""
    return _sigmoid_cross_entropy(real_logits, 1.0)


def discriminator_fake_loss(fake_logits):
    """BCE of the discriminator's logits on generated data against label 0."""
    return _sigmoid_cross_entropy(fake_logits, 0.0)


def discriminator_adversarial_loss(real_logits, fake_logits):
    """Standard GAN discriminator loss: `BCE(D(real), 1) + BCE(D(fake), 0)`.

    Args:
        real_logits: discriminator logits on real data, any shape.
        fake_logits: discriminator logits on generated data, any shape.

    Returns:
        A float32 scalar.
    """
    return discriminator_real_loss(real_logits) + discriminator_fake_loss(fake_logits)


def generator_adversarial_loss(fake_logits):
    """Non-saturating generator loss: `BCE(D(fake), 1)` (no label smoothing).

    Args:
        fake_logits: discriminator logits on generated data, any shape.

    Returns:
        A float32 scalar.
    """
    return _sigmoid_cross_entropy(fake_logits, 1.0)


def kl_divergence(mean, log_var):
    """KL of a diagonal Gaussian posterior to N(0, I), summed over the code, averaged over rows.

    `mean_rows[-0.5 * sum_code(1 + log_var - mean^2 - exp(log_var))]`. The last axis is the
    code; every other axis counts as rows (the video task's `(batch, T - 1, M)` gives
    `batch * (T - 1)` rows, as the original).

    Args:
        mean: posterior means `(..., code)`.
        log_var: posterior log-variances, same shape.

    Returns:
        A float32 scalar.
    """
    mean, log_var = _float(mean), _float(log_var)
    per_row = -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)
    return ops.mean(per_row)


def reconstruction_loss(prediction, target):
    """Pixel MSE, the mean over every element.

    Args:
        prediction: generated frames or videos, any shape.
        target: real frames or videos, same shape.

    Returns:
        A float32 scalar.
    """
    return ops.mean(ops.square(_float(prediction) - _float(target)))


def feature_matching_loss(features, target_features):
    """Scale-feature matching: the sum over scales of the MSE, targets under stop-gradient.

    With per-scale tensors `(batch, T - 1, h, w, c)` the per-scale mean equals the original's
    sum over the T - 1 steps divided by T - 1.

    Args:
        features: list of generated (fused) feature maps, one per scale.
        target_features: list of the matching target maps (gradient stopped here).

    Returns:
        A float32 scalar (0 for empty lists, e.g. with `num_scales=1`).
    """
    if len(features) != len(target_features):
        raise ValueError(f"`features` and `target_features` must have one map per scale. "
                         f"Received: {len(features)} and {len(target_features)} maps.")
    total = ops.zeros((), "float32")
    for feature, target in zip(features, target_features):
        total = total + reconstruction_loss(feature, ops.stop_gradient(target))
    return total


def classification_loss(class_logits, labels):
    """Softmax cross-entropy of class logits against integer labels, averaged over the batch.

    Args:
        class_logits: `(batch, num_classes)` logits.
        labels: `(batch,)` integer labels.

    Returns:
        A float32 scalar.
    """
    return ops.mean(ops.sparse_categorical_crossentropy(
        ops.cast(labels, "int32"), _float(class_logits), from_logits=True))


def equilibrium_gate(real_cost, fake_cost, equilibrium=0.68, margin=0.5):
    """VAE-GAN equilibrium gating: which of the discriminator and decoder updates run.

    The discriminator update is skipped when either cost is below `equilibrium - margin` (D
    is winning), the decoder update when either is above `equilibrium + margin` (D is losing);
    if both would be skipped, both run. The encoder is always updated (not gated here).

    Args:
        real_cost: `BCE(D(real), 1)`, a scalar.
        fake_cost: the mean of the discriminator's fake BCE terms, a scalar.
        equilibrium: `e` (0.68).
        margin: `m` (0.5 in the content and video tasks, 0.4 in the prediction task).

    Returns:
        `(update_discriminator, update_decoder)`, two boolean scalar tensors.
    """
    real_cost, fake_cost = _float(real_cost), _float(fake_cost)
    low = equilibrium - margin
    high = equilibrium + margin
    update_discriminator = ops.logical_not(
        ops.logical_or(ops.less(real_cost, low), ops.less(fake_cost, low)))
    update_decoder = ops.logical_not(
        ops.logical_or(ops.greater(real_cost, high), ops.greater(fake_cost, high)))
    neither = ops.logical_not(ops.logical_or(update_discriminator, update_decoder))
    return ops.logical_or(update_discriminator, neither), ops.logical_or(update_decoder, neither)
