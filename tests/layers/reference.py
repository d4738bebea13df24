"""Slow NumPy references written directly from the layers' formulas (for tests only)."""

import numpy as np


def pad(features, radius, padding):
    mode = "edge" if padding == "replicate" else "constant"
    return np.pad(features, ((0, 0), (radius, radius), (radius, radius), (0, 0)), mode=mode)


def separable_to_full(vertical, horizontal):
    """`(B,H,W,n)` x `(B,H,W,n)` -> `(B,H,W,n*n)`, tap (i, j) at channel i*n + j."""
    b, h, w, n = vertical.shape
    return (vertical[..., :, None] * horizontal[..., None, :]).reshape(b, h, w, n * n)


def adaptive_conv(features, kernels, n, padding):
    """out[b,y,x,c] = sum_{i,j} P[b,y+i,x+j,c] * kernels[b,y,x,i*n+j], a loop per pixel and tap."""
    features = features.astype(np.float64)
    kernels = kernels.astype(np.float64)
    padded = pad(features, n // 2, padding)
    _, height, width, _ = features.shape
    out = np.zeros_like(features)
    for y in range(height):
        for x in range(width):
            for i in range(n):
                for j in range(n):
                    out[:, y, x, :] += padded[:, y + i, x + j, :] * kernels[:, y, x, i * n + j, None]
    return out


def adaptive_conv_gradients(features, kernels, n, padding, upstream):
    """Analytic gradients of sum(upstream * adaptive_conv(...)) w.r.t. features and kernels."""
    features = features.astype(np.float64)
    kernels = kernels.astype(np.float64)
    r = n // 2
    padded = pad(features, r, padding)
    _, height, width, _ = features.shape
    d_padded = np.zeros_like(padded)
    d_kernels = np.zeros_like(kernels)
    for y in range(height):
        for x in range(width):
            for i in range(n):
                for j in range(n):
                    tap = i * n + j
                    d_kernels[:, y, x, tap] = np.sum(
                        upstream[:, y, x, :] * padded[:, y + i, x + j, :], axis=-1)
                    d_padded[:, y + i, x + j, :] += upstream[:, y, x, :] * kernels[:, y, x, tap, None]
    if padding == "zeros":
        d_features = d_padded[:, r:r + height, r:r + width]
    else:
        d_features = np.zeros_like(features)
        for py in range(height + 2 * r):
            for px in range(width + 2 * r):
                y = min(max(py - r, 0), height - 1)
                x = min(max(px - r, 0), width - 1)
                d_features[:, y, x, :] += d_padded[:, py, px, :]
    return d_features, d_kernels


def separable_kernel_gradients(d_kernels, vertical, horizontal):
    """Chain rule through kernels = outer(vertical, horizontal)."""
    b, h, w, n = vertical.shape
    d = d_kernels.reshape(b, h, w, n, n)
    d_vertical = np.einsum("bhwij,bhwj->bhwi", d, horizontal)
    d_horizontal = np.einsum("bhwij,bhwi->bhwj", d, vertical)
    return d_vertical, d_horizontal


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def conv_lstm_1x1(inputs, kernel, bias, forget_bias, h0, c0):
    """ConvLSTM with a 1x1 kernel: z = concat(x, h) @ kernel + bias, gates (i, j, f, o)."""
    h, c = h0.astype(np.float64), c0.astype(np.float64)
    outputs = []
    for t in range(inputs.shape[1]):
        z = np.concatenate([inputs[:, t], h], axis=-1) @ kernel.reshape(-1, kernel.shape[-1]) + bias
        i, j, f, o = np.split(z, 4, axis=-1)
        c = c * sigmoid(f + forget_bias) + sigmoid(i) * np.tanh(j)
        h = np.tanh(c) * sigmoid(o)
        outputs.append(h)
    return np.stack(outputs, axis=1)
