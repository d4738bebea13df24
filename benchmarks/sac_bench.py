"""Speed and memory of SpatiallyAdaptiveConv against a patch-extraction version of the same formula.

Both compute `out[b,y,x,c] = sum_ij P[b,y+i,x+j,c] * V[b,y,x,i] * H[b,y,x,j]` (replicate padding):
"shift" is the layer (a sum of n^2 shifted slices); "patches" materialises the n^2 neighbourhood
with `ops.image.extract_patches` and contracts it with `einsum`. Forward and forward+backward
(gradients w.r.t. features and both kernels) are timed, each with and without XLA on the
TensorFlow backend (JAX always compiles with XLA).

Memory: XLA's buffer assignment of the compiled forward+backward gives the exact temporary and
output bytes beyond the inputs (on JAX from `memory_analysis()`; on TensorFlow, whose CPU
allocator keeps no statistics, from an XLA dump written by a child process).

Usage:
    python benchmarks/sac_bench.py                        # TensorFlow backend, CPU
    KERAS_BACKEND=jax python benchmarks/sac_bench.py      # JAX backend (CPU or GPU)
    python benchmarks/sac_bench.py --shapes=8x64x64x32x5 --repeats=20
"""

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
from keras import ops

from tsvan_tf.layers import SpatiallyAdaptiveConv
from tsvan_tf.layers.adaptive_conv_ops import pad_spatial

# (batch, height, width, channels, kernel_size): the main shape, then the four fusion
# shapes of the Weizmann model (8, 16, 32 and 64 px) at batch 16.
DEFAULT_SHAPES = ("8x64x64x32x5", "16x8x8x16x5", "16x16x16x128x5", "16x32x32x32x5",
                  "16x64x64x3x5")


def parse_shape(text):
    batch, height, width, channels, kernel_size = (int(v) for v in text.split("x"))
    return batch, height, width, channels, kernel_size


def make_inputs(shape, seed=0):
    batch, height, width, channels, n = shape
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(batch, height, width, channels)).astype("float32")
    vertical = rng.normal(size=(batch, height, width, n)).astype("float32")
    horizontal = rng.normal(size=(batch, height, width, n)).astype("float32")
    return features, vertical, horizontal


def shift_version(kernel_size):
    layer = SpatiallyAdaptiveConv(kernel_size, "separable", "replicate")
    return lambda f, v, h: layer([f, v, h])


def patch_version(kernel_size):
    n = kernel_size

    def sac(f, v, h):
        batch, height, width, channels = ops.shape(f)
        kernels = ops.reshape(v[..., :, None] * h[..., None, :], (batch, height, width, n * n))
        padded = pad_spatial(f, n // 2, "replicate")
        patches = ops.image.extract_patches(padded, size=n, strides=1, padding="valid")
        patches = ops.reshape(patches, (batch, height, width, n * n, channels))
        return ops.einsum("bhwkc,bhwk->bhwc", patches, kernels)

    return sac


VERSIONS = {"shift": shift_version, "patches": patch_version}


def minimum_bytes(inputs, pass_name):
    """Bytes a pass must move at least: read the inputs and write the output (forward); read the
    inputs and the upstream gradient and write the input gradients (forward+backward)."""
    input_bytes = sum(x.nbytes for x in inputs)
    if pass_name == "fwd":
        return input_bytes + inputs[0].nbytes
    return 2 * input_bytes + inputs[0].nbytes


def forward_backward(sac, upstream):
    """Returns f(features, v, h) -> gradients of sum(upstream * sac(...)) w.r.t. all three."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def fn(f, v, h):
            with tf.GradientTape() as tape:
                tape.watch([f, v, h])
                loss = tf.reduce_sum(sac(f, v, h) * upstream)
            return tape.gradient(loss, [f, v, h])

        return fn
    import jax

    return jax.grad(lambda f, v, h: ops.sum(sac(f, v, h) * upstream), argnums=(0, 1, 2))


def compile_fn(fn, xla):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=xla)
    import jax

    return jax.jit(fn)


def block(result):
    for x in result if isinstance(result, (list, tuple)) else [result]:
        ops.convert_to_numpy(ops.sum(x))


def time_fn(fn, inputs, repeats):
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        inputs = [tf.constant(x) for x in inputs]
    else:
        import jax

        inputs = [jax.device_put(x) for x in inputs]
    for _ in range(2):
        block(fn(*inputs))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        block(fn(*inputs))
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def jax_memory(fn, inputs):
    """XLA buffer assignment of the compiled function: (temp bytes, output bytes)."""
    import jax

    analysis = jax.jit(fn).lower(*inputs).compile().memory_analysis()
    return analysis.temp_size_in_bytes, analysis.output_size_in_bytes


def xla_buffer_bytes(dump_dir):
    """Sums XLA's buffer assignment in a dump folder: (temp bytes, output bytes)."""
    best = (0, 0)
    for name in os.listdir(dump_dir):
        if not name.endswith("cpu_after_optimizations-buffer-assignment.txt"):
            continue
        temp = output = 0
        with open(os.path.join(dump_dir, name)) as f:
            for line in f:
                match = re.match(r"allocation \d+: size (\d+), (.*)", line)
                if not match:
                    continue
                size, kind = int(match.group(1)), match.group(2)
                if "preallocated-temp" in kind:
                    temp += size
                elif "maybe-live-out" in kind and "output shape is" not in kind:
                    output += size
        best = max(best, (temp, output), key=sum)
    return best


def tf_memory_child(version, shape_text):
    """Compiles one XLA forward+backward in this process (XLA_FLAGS set by the parent)."""
    import tensorflow as tf

    shape = parse_shape(shape_text)
    inputs = make_inputs(shape)
    fn = compile_fn(forward_backward(VERSIONS[version](shape[-1]), np.ones_like(inputs[0])),
                    xla=True)
    block(fn(*[tf.constant(x) for x in inputs]))


def tf_memory(version, shape_text):
    """XLA buffer assignment of the TensorFlow forward+backward: (temp bytes, output bytes)."""
    with tempfile.TemporaryDirectory() as dump_dir:
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3",
               "XLA_FLAGS": f"--xla_dump_to={dump_dir}"}
        subprocess.run([sys.executable, __file__, "--memory_child", f"{version},{shape_text}"],
                       capture_output=True, text=True, env=env, check=True)
        return xla_buffer_bytes(dump_dir)


def describe_machine():
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return f"{backend} backend, {device.platform}: {device.device_kind}"
    return f"{backend} backend, CPU: {platform.processor() or platform.machine()}, " \
           f"{os.cpu_count()} cores"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", default=",".join(DEFAULT_SHAPES),
                        help="comma-separated BxHxWxCxN shapes")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per measurement")
    parser.add_argument("--skip_memory", action="store_true", help="timings only")
    parser.add_argument("--bandwidth_gbps", type=float, default=0.0,
                        help="device memory bandwidth (GB/s): also print each pass's time "
                             "over the bandwidth bound of the shift version (e.g. 3350, H100)")
    parser.add_argument("--memory_child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        tf_memory_child(*args.memory_child.split(","))
        return

    backend = keras.backend.backend()
    modes = [("graph", False), ("xla", True)] if backend == "tensorflow" else [("xla", True)]
    print(f"SpatiallyAdaptiveConv benchmark: {describe_machine()}; median of {args.repeats}")
    header = f"{'shape BxHxWxCxN':>18} {'pass':>8} " + " ".join(
        f"{v + '/' + m:>14}" for v in VERSIONS for m, _ in modes) + f" {'best ratio':>11}"
    print(header)
    for shape_text in args.shapes.split(","):
        shape = parse_shape(shape_text)
        inputs = make_inputs(shape)
        upstream = np.ones_like(inputs[0])
        for pass_name in ("fwd", "fwd+bwd"):
            best = {}
            cells = []
            for version, make in VERSIONS.items():
                sac = make(shape[-1])
                fn = sac if pass_name == "fwd" else forward_backward(sac, upstream)
                for mode, xla in modes:
                    ms = time_fn(compile_fn(fn, xla), inputs, args.repeats)
                    best[version] = min(best.get(version, float("inf")), ms)
                    cells.append(f"{ms:>11.2f} ms")
            ratio = best["patches"] / best["shift"]
            bound = ""
            if args.bandwidth_gbps:
                bound_ms = 1000.0 * minimum_bytes(inputs, pass_name) / (args.bandwidth_gbps * 1e9)
                bound = f"  bandwidth bound {bound_ms:.3f} ms, shift at " \
                        f"{best['shift'] / bound_ms:.1f}x"
            print(f"{shape_text:>18} {pass_name:>8} " + " ".join(cells) + f" {ratio:>10.1f}x"
                  + bound)
    if args.skip_memory:
        return
    print("\nMemory, forward+backward (input = features + both kernels):")
    for shape_text in args.shapes.split(","):
        shape = parse_shape(shape_text)
        inputs = make_inputs(shape)
        input_bytes = sum(x.nbytes for x in inputs)
        upstream = np.ones_like(inputs[0])
        for version, make in VERSIONS.items():
            if backend == "jax":
                temp, output = jax_memory(forward_backward(make(shape[-1]), upstream), inputs)
            else:
                temp, output = tf_memory(version, shape_text)
            print(f"{shape_text:>18} {version:>8}: XLA temp {temp / 2**20:8.2f} MiB + output "
                  f"{output / 2**20:7.2f} MiB = {(temp + output) / input_bytes:5.2f}x input "
                  f"({input_bytes / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main()
