"""The per-pixel adaptive convolution as a function, with a memory-lean gradient.

Shared by `SpatiallyAdaptiveConv` and `MotionMaskFusion` (and the benchmark). The forward pass is
a sum of `n^2` shifted slices of the padded features, each times its per-pixel tap weight; XLA
fuses it into one pass. The gradient is written by hand (`keras.ops.custom_gradient`) as two more
shifted-slice sums, so neither pass keeps `n^2` feature-sized temporaries alive (automatic
differentiation of the forward kept up to five padded partial sums at once under XLA).

On the TensorFlow backend, `compiled_with_xla()` makes the op trace as its own XLA-compiled
function inside an otherwise uncompiled graph: the fusion gets XLA's one-pass loops while the
convolutions around it keep TensorFlow's oneDNN kernels (the trainer's default on a CPU).
"""

import contextlib
import functools
import threading

import keras
import numpy as np
from keras import ops

KERNEL_MODES = ("separable", "full")
HALF_DTYPES = ("float16", "bfloat16")
PADDINGS = ("replicate", "zeros")


def validate_kernel_arguments(kernel_size, kernel_mode, padding):
    """Raises `ValueError` for a kernel size, kernel mode or padding the layers do not support."""
    if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1 \
            or kernel_size % 2 == 0:
        raise ValueError(
            "`kernel_size` must be an odd integer >= 1 (the kernel is centred on each pixel). "
            f"Received: kernel_size={kernel_size!r}"
        )
    if kernel_mode not in KERNEL_MODES:
        raise ValueError(
            f"`kernel_mode` must be one of {KERNEL_MODES}. Received: kernel_mode={kernel_mode!r}"
        )
    if padding not in PADDINGS:
        raise ValueError(f"`padding` must be one of {PADDINGS}. Received: padding={padding!r}")


def pad_spatial(x, radius, padding):
    """Pads `(B, H, W, C)` by `radius` on each spatial side: edge values or zeros.

    With a known spatial size, replicate padding is one gather of clipped flat indices (XLA
    turns a chain of edge concatenations into one buffer per link); otherwise it is built from
    slices and `concatenate`. `ops.pad(mode="edge")` is not used: it fails on TensorFlow.
    """
    if radius == 0:
        return x
    if padding == "zeros":
        return ops.pad(x, [[0, 0], [radius, radius], [radius, radius], [0, 0]])
    height, width = x.shape[1], x.shape[2]
    if height is not None and width is not None:
        rows = np.clip(np.arange(-radius, height + radius), 0, height - 1)
        cols = np.clip(np.arange(-radius, width + radius), 0, width - 1)
        flat_index = (rows[:, None] * width + cols[None, :]).reshape(-1).astype("int32")
        flat = ops.reshape(x, (-1, height * width, x.shape[3]))
        return ops.reshape(ops.take(flat, flat_index, axis=1),
                           (-1, height + 2 * radius, width + 2 * radius, x.shape[3]))
    x = ops.concatenate(
        [ops.repeat(x[:, :1], radius, axis=1), x, ops.repeat(x[:, -1:], radius, axis=1)], axis=1)
    return ops.concatenate(
        [ops.repeat(x[:, :, :1], radius, axis=2), x, ops.repeat(x[:, :, -1:], radius, axis=2)],
        axis=2)


def _fold_axis(x, radius, axis):
    """Adjoint of replicate padding along one axis: border gradients go to the edge rows."""
    size = x.shape[axis]
    if size is not None and size - 2 * radius == 1:
        return ops.sum(x, axis=axis, keepdims=True)
    index = [slice(None)] * 4
    index[axis] = slice(None, radius + 1)
    first = ops.sum(x[tuple(index)], axis=axis, keepdims=True)
    index[axis] = slice(-(radius + 1), None)
    last = ops.sum(x[tuple(index)], axis=axis, keepdims=True)
    index[axis] = slice(radius + 1, -(radius + 1))
    return ops.concatenate([first, x[tuple(index)], last], axis=axis)


def _unpad(d_padded, radius, padding):
    """Adjoint of `pad_spatial`: the gradient w.r.t. the unpadded input."""
    if radius == 0:
        return d_padded
    if padding == "zeros":
        return d_padded[:, radius:-radius, radius:-radius]
    return _fold_axis(_fold_axis(d_padded, radius, 1), radius, 2)


def _full_kernels(kernel_mode, kernels, n):
    """`(B, H, W, n * n)` per-pixel taps; the separable form is the outer product V (x) H."""
    if kernel_mode == "full":
        return kernels[0]
    vertical, horizontal = kernels
    outer = vertical[..., :, None] * horizontal[..., None, :]
    shape = ops.shape(vertical)
    return ops.reshape(outer, (shape[0], shape[1], shape[2], n * n))


_xla_scope = threading.local()


@contextlib.contextmanager
def compiled_with_xla(enabled=True):
    """While active (at trace time), `adaptive_conv` runs as an XLA-compiled `tf.function`.

    Only on the TensorFlow backend; elsewhere, or inside a function that is already compiled
    whole, it changes nothing. Forward and backward (the hand-written gradient) are compiled.

    Args:
        enabled: False makes the context a no-op, so callers can pass a setting through.
    """
    previous = getattr(_xla_scope, "enabled", False)
    _xla_scope.enabled = bool(enabled)
    try:
        yield
    finally:
        _xla_scope.enabled = previous


def adaptive_conv(features, kernels, kernel_mode, kernel_size, padding):
    """Correlates each pixel's neighbourhood with its own kernel, shared by all channels.

    Args:
        features: `(B, H, W, C)`.
        kernels: `[vertical, horizontal]`, each `(B, H, W, n)` (separable) or `[kernels]`,
            `(B, H, W, n * n)` with tap `(i, j)` at channel `i * n + j` (full).
        kernel_mode: `"separable"` or `"full"`.
        kernel_size: `n`, odd.
        padding: `"replicate"` or `"zeros"`.

    Returns:
        `(B, H, W, C)`: `out[b,y,x,c] = sum_ij P[b,y+i,x+j,c] * K_ij[b,y,x]` where `P` is the
        features padded by `n // 2` and `K_ij` the tap weight (`V_i * H_j` when separable).
    """
    if getattr(_xla_scope, "enabled", False) and keras.backend.backend() == "tensorflow":
        return _xla_compiled_op(kernel_mode, kernel_size, padding)(features, *kernels)
    return _adaptive_conv_op(kernel_mode, kernel_size, padding)(features, *kernels)


@functools.lru_cache(maxsize=None)
def _xla_compiled_op(kernel_mode, kernel_size, padding):
    """The op as a `tf.function(jit_compile=True)`, one per kernel setting."""
    import tensorflow as tf  # Only reached on the TensorFlow backend.

    return tf.function(_adaptive_conv_op(kernel_mode, kernel_size, padding), jit_compile=True)


def _adaptive_conv_op(kernel_mode, kernel_size, padding):
    """The custom-gradient function `op(features, *kernels)` that `adaptive_conv` applies."""
    n = kernel_size
    r = n // 2
    taps = [(i, j, i * n + j) for i in range(n) for j in range(n)]

    @ops.custom_gradient
    def op(features, *kernels):
        # Half-precision inputs are summed in float32 (as matmul and convolution kernels
        # accumulate): more accurate, and on a CPU much faster than element-wise bfloat16.
        input_dtypes = [keras.backend.standardize_dtype(x.dtype) for x in (features, *kernels)]
        compute_dtype = "float32" if input_dtypes[0] in HALF_DTYPES else input_dtypes[0]
        features = ops.cast(features, compute_dtype)
        kernels = [ops.cast(k, compute_dtype) for k in kernels]
        height, width = ops.shape(features)[1], ops.shape(features)[2]
        padded = pad_spatial(features, r, padding)
        full = _full_kernels(kernel_mode, kernels, n)
        output = None
        for i, j, t in taps:
            term = padded[:, i:i + height, j:j + width] * full[..., t:t + 1]
            output = term if output is None else output + term

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            upstream = ops.cast(upstream, compute_dtype)
            # Taps: d K_ij[b,y,x] = sum_c upstream[b,y,x,c] * P[b,y+i,x+j,c].
            d_full = ops.concatenate(
                [ops.sum(upstream * padded[:, i:i + height, j:j + width], axis=-1,
                         keepdims=True) for i, j, _ in taps], axis=-1)
            # Features: d P[p,q] = sum_ij upstream[p-i,q-j] * K_ij[p-i,q-j], read from arrays
            # zero-padded by 2r so that every shift is an in-bounds slice.
            upstream_z = pad_spatial(upstream, 2 * r, "zeros")
            full_z = pad_spatial(full, 2 * r, "zeros")
            d_padded = None
            for i, j, t in taps:
                rows = slice(2 * r - i, 2 * r - i + height + 2 * r)
                cols = slice(2 * r - j, 2 * r - j + width + 2 * r)
                term = upstream_z[:, rows, cols] * full_z[:, rows, cols, t:t + 1]
                d_padded = term if d_padded is None else d_padded + term
            d_features = _unpad(d_padded, r, padding)
            if kernel_mode == "full":
                d_inputs = (d_features, d_full)
            else:
                vertical, horizontal = kernels
                shape = ops.shape(vertical)
                d_outer = ops.reshape(d_full, (shape[0], shape[1], shape[2], n, n))
                d_vertical = ops.sum(d_outer * horizontal[..., None, :], axis=-1)
                d_horizontal = ops.sum(d_outer * vertical[..., :, None], axis=-2)
                d_inputs = (d_features, d_vertical, d_horizontal)
            return tuple(ops.cast(d, dtype) for d, dtype in zip(d_inputs, input_dtypes))

        return ops.cast(output, input_dtypes[0]), grad

    return op
