"""The per-pixel adaptive convolution as a function, with a memory-lean gradient.

Shared by `SpatiallyAdaptiveConv` and `MotionMaskFusion` (and the benchmark). The forward pass is
a sum of `n^2` shifted slices of the padded features, each times its per-pixel tap weight; XLA
fuses it into one pass. The gradient is written by hand (`keras.ops.custom_gradient`) as two more
shifted-slice sums, so neither pass keeps `n^2` feature-sized temporaries alive (automatic
differentiation of the forward kept up to five padded partial sums at once under XLA).
"""

import numpy as np
from keras import ops

KERNEL_MODES = ("separable", "full")
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


def _tap_function(kernel_mode, kernels, n):
    """`tap(i, j, rows, cols) -> (B, rows, cols, 1)`: the weight of tap (i, j) over a window."""
    if kernel_mode == "separable":
        vertical, horizontal = kernels

        def tap(i, j, rows, cols):
            return vertical[:, rows, cols, i:i + 1] * horizontal[:, rows, cols, j:j + 1]
    else:
        (full,) = kernels

        def tap(i, j, rows, cols):
            return full[:, rows, cols, i * n + j:i * n + j + 1]
    return tap


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
    n = kernel_size
    r = n // 2
    everywhere = slice(None)

    @ops.custom_gradient
    def op(features, *kernels):
        height, width = ops.shape(features)[1], ops.shape(features)[2]
        padded = pad_spatial(features, r, padding)
        tap = _tap_function(kernel_mode, kernels, n)
        output = None
        for i in range(n):
            rows = padded[:, i:i + height]
            for j in range(n):
                term = rows[:, :, j:j + width] * tap(i, j, everywhere, everywhere)
                output = term if output is None else output + term

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            # Kernel taps: d K_ij[b,y,x] = sum_c upstream[b,y,x,c] * P[b,y+i,x+j,c].
            d_taps = [[ops.sum(upstream * padded[:, i:i + height, j:j + width], axis=-1,
                               keepdims=True) for j in range(n)] for i in range(n)]
            # Features: d P[p,q] = sum_ij upstream[p-i,q-j] * K_ij[p-i,q-j], read from arrays
            # zero-padded by 2r so that every shift is an in-bounds slice.
            upstream_z = pad_spatial(upstream, 2 * r, "zeros")
            tap_z = _tap_function(kernel_mode, [pad_spatial(k, 2 * r, "zeros") for k in kernels],
                                  n)
            d_padded = None
            for i in range(n):
                rows = slice(2 * r - i, 2 * r - i + height + 2 * r)
                upstream_rows = upstream_z[:, rows]
                for j in range(n):
                    cols = slice(2 * r - j, 2 * r - j + width + 2 * r)
                    term = upstream_rows[:, :, cols] * tap_z(i, j, rows, cols)
                    d_padded = term if d_padded is None else d_padded + term
            d_features = _unpad(d_padded, r, padding)
            if kernel_mode == "full":
                d_kernels = [ops.concatenate([d for row in d_taps for d in row], axis=-1)]
            else:
                vertical, horizontal = kernels
                d_vertical = ops.concatenate(
                    [sum(d_taps[i][j] * horizontal[..., j:j + 1] for j in range(n))
                     for i in range(n)], axis=-1)
                d_horizontal = ops.concatenate(
                    [sum(d_taps[i][j] * vertical[..., i:i + 1] for i in range(n))
                     for j in range(n)], axis=-1)
                d_kernels = [d_vertical, d_horizontal]
            return (d_features, *d_kernels)

        return output, grad

    return op(features, *kernels)
