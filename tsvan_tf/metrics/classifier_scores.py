"""The paper's classifier-based scores of generated videos (spec 7.2), in NumPy.

Every function takes the classifier's softmax outputs `probabilities`, shape
`(num_videos, num_classes)`, rows summing to 1, and uses natural logarithms with 0 log 0 = 0.
"""

import numpy as np


def _check_probabilities(probabilities):
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise ValueError(f"Expected probabilities of shape (num_videos, num_classes). "
                         f"Received: shape={p.shape}")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("Expected rows of non-negative probabilities summing to 1 (softmax "
                         f"outputs). Received: row sums in [{p.sum(axis=1).min():.6g}, "
                         f"{p.sum(axis=1).max():.6g}], minimum {p.min():.6g}")
    return p


def _check_labels(labels, p):
    """`labels` as an array, one integer in `[0, num_classes)` per row of `p`."""
    labels = np.asarray(labels)
    if labels.shape != p.shape[:1]:
        raise ValueError(f"Expected one label per video, shape {p.shape[:1]}. "
                         f"Received: labels.shape={labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= p.shape[1]):
        raise ValueError(f"Expected labels in [0, {p.shape[1]}). Received: labels from "
                         f"{labels.min()} to {labels.max()}")
    return labels


def _entropy(p):
    """Entropy of each row of `p` (0 log 0 = 0)."""
    logs = np.log(np.where(p > 0, p, 1.0))
    return -np.sum(p * logs, axis=-1)


def inception_score(probabilities):
    """IS = exp(mean_i KL(p_i || p_mean)), one split (higher: confident and diverse).

    Returns:
        A float in [1, num_classes].
    """
    p = _check_probabilities(probabilities)
    mean = p.mean(axis=0)
    # KL(p_i || mean) = -H(p_i) - sum_j p_ij log mean_j; mean_j > 0 wherever p_ij > 0.
    cross = -np.sum(p * np.log(np.where(p > 0, mean, 1.0)), axis=1)
    return float(np.exp(np.mean(cross - _entropy(p))))


def intra_entropy(probabilities):
    """Intra-E = mean_i H(p_i) (lower: each video is more clearly one class)."""
    return float(np.mean(_entropy(_check_probabilities(probabilities))))


def inter_entropy(probabilities):
    """Inter-E = H(mean_i p_i) (higher: more diverse; at most log(num_classes))."""
    return float(_entropy(_check_probabilities(probabilities).mean(axis=0)))


def class_intra_entropy(probabilities):
    """Per class c, the mean H(p_i) over the videos whose *predicted* class is c.

    Returns:
        `(num_classes,)` float64; NaN for a class that no video is predicted as.
    """
    p = _check_probabilities(probabilities)
    entropy, predicted = _entropy(p), p.argmax(axis=1)
    counts = np.bincount(predicted, minlength=p.shape[1])
    sums = np.bincount(predicted, weights=entropy, minlength=p.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def accuracy(probabilities, labels):
    """The fraction of videos whose predicted class is their conditioning label.

    Args:
        probabilities: `(num_videos, num_classes)` softmax outputs.
        labels: `(num_videos,)` integer labels.

    Returns:
        A float in [0, 1].
    """
    p = _check_probabilities(probabilities)
    labels = _check_labels(labels, p)
    return float(np.mean(p.argmax(axis=1) == labels))


def class_accuracy(probabilities, labels):
    """Per class c, the fraction of the videos *conditioned* on c that are classified as c.

    Args:
        probabilities: `(num_videos, num_classes)` softmax outputs.
        labels: `(num_videos,)` integer labels in `[0, num_classes)`.

    Returns:
        `(num_classes,)` float64; NaN for a class that no video is conditioned on.
    """
    p = _check_probabilities(probabilities)
    labels = _check_labels(labels, p)
    counts = np.bincount(labels, minlength=p.shape[1])
    hits = np.bincount(labels, weights=p.argmax(axis=1) == labels, minlength=p.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)
