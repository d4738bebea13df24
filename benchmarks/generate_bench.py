"""Videos per second of `TwoStreamVAN.generate` at the Weizmann preset, and peak memory.

Runs each setting in its own process (so each peak RSS is its own): TensorFlow graph
(`tf.function`), TensorFlow XLA (`tf.function(jit_compile=True)`) and JAX (`jax.jit` of a
stateless call), at batch 16 / T=10 and batch 32 / T=12, on whatever device the backend finds.

    python benchmarks/generate_bench.py                   # every setting
    python benchmarks/generate_bench.py --modes=tf_xla --repeats=10
    KERAS_BACKEND=jax python benchmarks/generate_bench.py --modes=jax   # no TensorFlow needed

Prints one line per setting: median seconds per call, videos/s, peak RSS (GiB), and, on a GPU,
peak device memory. The jax mode never imports TensorFlow, so it runs where only JAX is
installed (e.g. a GPU machine without TensorFlow).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

SETTINGS = "16x10,32x12"
MODES = ("tf_graph", "tf_xla", "jax")


def _child(mode, batch, frames, repeats):
    """Measures one setting in this process and prints a JSON line."""
    import keras
    import numpy as np

    from tsvan_tf.models import TwoStreamVAN

    model = TwoStreamVAN.from_preset("weizmann")
    config = model.config
    rng = np.random.default_rng(0)
    labels = (np.arange(batch) % config.num_classes).astype("int32")
    content = rng.normal(size=(batch, config.content_dim)).astype("float32")
    steps = frames + config.warmup_frames - 1
    motion = rng.normal(size=(batch, steps, config.motion_dim)).astype("float32")

    if mode.startswith("tf"):
        import tensorflow as tf

        run = tf.function(model.generate, jit_compile=mode == "tf_xla")
        inputs = [tf.constant(labels), tf.constant(content), tf.constant(motion)]
        device = tf.config.list_logical_devices("GPU")

        def call():
            return run(*inputs).numpy()
    else:
        import jax

        def stateless(trainable, non_trainable, labels, content, motion):
            mapping = list(zip(model.trainable_variables, trainable)) + list(
                zip(model.non_trainable_variables, non_trainable))
            with keras.StatelessScope(state_mapping=mapping):
                return model.generate(labels, content, motion)

        compiled = jax.jit(stateless)
        weights = ([v.value for v in model.trainable_variables],
                   [v.value for v in model.non_trainable_variables])
        inputs = [jax.numpy.asarray(x) for x in (labels, content, motion)]
        device = [d for d in jax.devices() if d.platform == "gpu"]

        def call():
            return np.asarray(compiled(*weights, *inputs))

    start = time.perf_counter()
    call()
    compile_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    median = float(np.median(times))
    result = {"mode": mode, "batch": batch, "frames": frames, "compile_s": compile_s,
              "median_s": median, "min_s": float(np.min(times)), "videos_per_s": batch / median,
              "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
              "device": "gpu" if device else "cpu"}
    if mode == "jax":
        result["device_kind"] = jax.devices()[0].device_kind
        result["jax_version"] = jax.__version__
    if device and mode == "jax":
        stats = jax.devices("gpu")[0].memory_stats() or {}
        result["peak_device_gib"] = stats.get("peak_bytes_in_use", 0) / 2 ** 30
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: " +
                        ", ".join(MODES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--settings", default=SETTINGS,
                        help="comma-separated BATCHxFRAMES settings (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds each setting's process may run before it is stopped")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "BATCH", "FRAMES"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]), int(args.child[2]), args.repeats)
        return
    print(f"{'backend':10} {'batch':>5} {'T':>3} {'compile s':>9} {'s/call':>7} "
          f"{'videos/s':>8} {'peak RSS GiB':>12}")
    for mode in args.modes.split(","):
        if mode not in MODES:
            raise SystemExit(f"Unknown mode {mode!r}; expected one of {MODES}")
        for setting in args.settings.split(","):
            batch, frames = (int(v) for v in setting.split("x"))
            env = {**os.environ, "KERAS_BACKEND": "jax" if mode == "jax" else "tensorflow",
                   "TF_CPP_MIN_LOG_LEVEL": "2"}
            try:
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", mode, str(batch), str(frames),
                     "--repeats", str(args.repeats)],
                    capture_output=True, text=True, env=env, check=False, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                print(f"{mode:10} {batch:5} {frames:3} timed out after {args.timeout:.0f} s",
                      flush=True)
                continue
            lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
            if proc.returncode or not lines:
                print(f"{mode:10} {batch:5} {frames:3} failed:\n{proc.stderr[-2000:]}")
                continue
            r = json.loads(lines[-1])
            extra = f"  peak device {r['peak_device_gib']:.2f} GiB" if "peak_device_gib" in r \
                else ""
            if "device_kind" in r:
                extra += f"  [{r['device_kind']}, jax {r['jax_version']}, " \
                         f"min {r['min_s']:.3f} s]"
            print(f"{mode:10} {batch:5} {frames:3} {r['compile_s']:9.1f} {r['median_s']:7.3f} "
                  f"{r['videos_per_s']:8.1f} {r['peak_rss_gib']:12.2f}  ({r['device']}){extra}",
                  flush=True)


if __name__ == "__main__":
    main()
