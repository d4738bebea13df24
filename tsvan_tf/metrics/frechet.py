"""The Frechet distance between Gaussians fitted to two sets of features (FID/FVD formula)."""

import numpy as np


def gaussian_statistics(features):
    """Mean and unbiased covariance of `features`.

    Args:
        features: `(num_samples, dim)`, num_samples >= 2.

    Returns:
        `(mean (dim,), covariance (dim, dim))`, float64.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError("Expected features of shape (num_samples >= 2, dim). "
                         f"Received: shape={x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _psd_sqrt(matrix):
    """The symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mean1, covariance1, mean2, covariance2):
    """d^2 = |m1 - m2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    The trace of `(S1 S2)^(1/2)` is taken as that of `(S1^(1/2) S2 S1^(1/2))^(1/2)`, a
    symmetric PSD matrix similar to it, with NumPy eigendecompositions: real and finite even
    for singular covariances (fewer samples than dimensions), where `scipy.linalg.sqrtm(S1 @ S2)`
    needs an epsilon and drops an imaginary part; and no SciPy dependency.

    Returns:
        A non-negative float.
    """
    m1, m2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    s1, s2 = np.asarray(covariance1, np.float64), np.asarray(covariance2, np.float64)
    if m1.shape != m2.shape or s1.shape != s2.shape or s1.shape != m1.shape * 2:
        raise ValueError(f"Expected means (d,) and covariances (d, d) of the same d. Received: "
                         f"mean shapes {m1.shape}, {m2.shape}; covariance shapes {s1.shape}, "
                         f"{s2.shape}")
    root1 = _psd_sqrt(s1)
    cross = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)))
    distance = np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross
    return float(max(distance, 0.0))


def frechet_distance_of_features(features1, features2):
    """`frechet_distance` of Gaussians fitted to two `(num_samples, dim)` feature sets."""
    return frechet_distance(*gaussian_statistics(features1), *gaussian_statistics(features2))
