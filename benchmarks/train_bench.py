"""Seconds per training step of each phase, per compilation mode, with peak memory and data wait.

Runs each mode in its own process (so each peak RSS is its own). In each, a `Trainer` at a
model preset (default: the paper's Weizmann model, 64x64, T=10, batch 16) trains on clips read
by `load_clips` from the embedded synthetic dataset prepared at that resolution; every phase is
forced in turn for `--steps` steps after `--warmup` untimed ones (tracing, XLA compilation).
The modes: `graph` (no XLA), `fusion` (graph, with only the adaptive convolutions compiled by
XLA: `--xla_fusion`, the trainer's default) and `xla` (the whole step: `--xla_phases`).

    python benchmarks/train_bench.py                            # every mode, every phase
    python benchmarks/train_bench.py --modes=xla --phases=content,prediction --steps=20
    python benchmarks/train_bench.py --modes=fusion --threads=1,4   # 1 thread per op, 4 ops

Prints, per mode and phase: the median seconds per step, the median seconds spent waiting for
the next batch (the input pipeline runs ahead in tf.data's threads, so this is the part the step
had to wait for), the first step's seconds (trace + compile), and the process's peak RSS.

With `--tensor_memory` each child uses TensorFlow's BFC allocator on the CPU
(`TF_CPU_ALLOCATOR_USE_BFC=true`), whose statistics split the peak RSS: it also prints the bytes
of live tensors before the phase (weights, optimizer slots, the data pipeline's buffers) and the
most held at once during its timed steps (activations kept for the gradient, gradients). The rest
of the RSS is the runtime, the traced and optimised graphs and compiled code. The BFC allocator
keeps what it has reserved, so compare RSS only between runs with the same setting.

`--allocators=system,jemalloc` runs every measurement once per memory allocator: `system` is
the C library's malloc, `jemalloc` and `tcmalloc` are loaded into the child with `LD_PRELOAD`
(Debian/Ubuntu packages `libjemalloc2` and `libtcmalloc-minimal4`; an allocator that is not
installed is refused with the paths searched).
"""

import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

PHASES = ("pretrain", "content", "prediction", "video")
MODES = ("graph", "fusion", "xla")
# Shared libraries `LD_PRELOAD`-ed for each `--allocators` entry (glob patterns, first match).
ALLOCATOR_LIBRARIES = {
    "system": (),
    "jemalloc": ("/usr/lib/*/libjemalloc.so.2", "/usr/lib64/libjemalloc.so.2",
                 "/usr/local/lib/libjemalloc.so.2"),
    "tcmalloc": ("/usr/lib/*/libtcmalloc_minimal.so.4", "/usr/lib64/libtcmalloc_minimal.so.4",
                 "/usr/local/lib/libtcmalloc_minimal.so.4"),
}


def _allocator_library(name):
    """Returns the path to `LD_PRELOAD` for allocator `name` (None for `system`)."""
    patterns = ALLOCATOR_LIBRARIES[name]
    if not patterns:
        return None
    for pattern in patterns:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    sys.exit(f"--allocators: {name} is not installed (searched {', '.join(patterns)}); on "
             f"Debian/Ubuntu: apt install libjemalloc2 libtcmalloc-minimal4")


def _child(mode, precision, preset, phases, steps, warmup, batch_size, cache_dir, threads,
           tensor_memory):
    """Measures every phase in this process and prints one JSON line per phase."""
    import numpy as np
    import tensorflow as tf

    from tsvan_tf import datasets
    from tsvan_tf import trainer
    from tsvan_tf.config import LossConfig
    from tsvan_tf.config import ModelConfig
    from tsvan_tf.config import TrainConfig

    data_dir = trainer.prepare_synthetic(ModelConfig.from_preset(preset), cache_dir)
    manifest = datasets.read_manifest(data_dir)
    model_config = ModelConfig.from_preset(preset, num_classes=manifest.num_classes)
    intra, inter = threads
    train_config = TrainConfig.from_preset(
        preset, batch_size=batch_size, xla_phases=tuple(phases) if mode == "xla" else (),
        xla_fusion=mode == "fusion", intra_op_threads=intra, inter_op_threads=inter,
        mixed_precision=precision)
    trainer.configure_threads(train_config)
    run = trainer.Trainer(model_config, LossConfig.from_preset(preset), train_config,
                          tempfile.mkdtemp(prefix="train-bench-"),
                          log_stream=open(os.devnull, "w"))
    dataset = datasets.load_clips(data_dir, split="train", frames=model_config.frames,
                                  batch_size=batch_size, training=True,
                                  image_size=model_config.resolution)
    iterator = iter(dataset)
    for phase in phases:
        step_seconds, wait_seconds = [], []
        first = None
        for step in range(warmup + steps):
            if tensor_memory and step == warmup:
                live_before = tf.config.experimental.get_memory_info("CPU:0")["current"]
                tf.config.experimental.reset_memory_stats("CPU:0")
            start = time.perf_counter()
            batch = next(iterator)
            waited = time.perf_counter() - start
            run.train_step(batch, step, phase_name=phase)
            elapsed = time.perf_counter() - start
            if step == 0:
                first = elapsed
            if step >= warmup:
                step_seconds.append(elapsed)
                wait_seconds.append(waited)
        result = {
            "mode": mode, "precision": precision, "phase": phase,
            "median_s": float(np.median(step_seconds)),
            "data_wait_s": float(np.median(wait_seconds)), "first_step_s": first,
            "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
        }
        if tensor_memory:
            result["tensors_before_gib"] = live_before / 2 ** 30
            result["tensors_peak_gib"] = \
                tf.config.experimental.get_memory_info("CPU:0")["peak"] / 2 ** 30
        print(json.dumps(result), flush=True)


def main():
    from tsvan_tf.config import PRECISIONS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="weizmann")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--precisions", default="float32",
                        help=f"comma-separated, from {PRECISIONS}; each runs with every mode")
    parser.add_argument("--allocators", default="system",
                        help=f"comma-separated, from {tuple(ALLOCATOR_LIBRARIES)}; each runs "
                             "every mode and precision")
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--threads", default="0,0",
                        help="intra_op_threads,inter_op_threads (0: TensorFlow's default)")
    parser.add_argument("--cache_dir", default=None,
                        help="where the synthetic dataset is prepared (default: the user cache)")
    parser.add_argument("--tensor_memory", action="store_true",
                        help="use the BFC allocator and print the live tensors' bytes before "
                             "each phase and their peak during its timed steps")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    phases = args.phases.split(",")
    precisions = args.precisions.split(",")
    allocators = args.allocators.split(",")
    unknown = (sorted(set(phases) - set(PHASES)) + sorted(set(args.modes.split(",")) - set(MODES))
               + sorted(set(precisions) - set(PRECISIONS))
               + sorted(set(allocators) - set(ALLOCATOR_LIBRARIES)))
    if unknown:
        parser.error(f"unknown phases/modes/precisions/allocators {unknown}; phases are {PHASES}, "
                     f"modes {MODES}, precisions {PRECISIONS}, allocators "
                     f"{tuple(ALLOCATOR_LIBRARIES)}")
    if args.steps < 1 or args.warmup < 0:
        parser.error(f"--steps must be >= 1 and --warmup >= 0; got --steps={args.steps} "
                     f"--warmup={args.warmup}")
    try:
        threads = tuple(int(v) for v in args.threads.split(","))
    except ValueError:
        threads = ()
    if len(threads) != 2 or min(threads) < 0:
        parser.error(f"--threads takes two non-negative integers, intra,inter; got "
                     f"{args.threads!r}")
    if args.child:
        mode, precision = args.child.split(":")
        _child(mode, precision, args.preset, phases, args.steps, args.warmup, args.batch_size,
               args.cache_dir, threads, args.tensor_memory)
        return
    print(f"preset={args.preset} batch={args.batch_size} steps={args.steps} "
          f"(after {args.warmup} warm-up), cpus={os.cpu_count()}, threads (intra, inter)="
          f"{threads}")
    memory_columns = f" {'tensors before / peak':>22}" if args.tensor_memory else ""
    libraries = {name: _allocator_library(name) for name in allocators}
    print(f"{'allocator':9} {'mode':6} {'precision':14} {'phase':11} {'s/step':>8} "
          f"{'data wait':>10} {'first step':>11} {'peak RSS':>9}{memory_columns}")
    for allocator in allocators:
        for precision in precisions:
            for mode in args.modes.split(","):
                _run_child(args, allocator, libraries[allocator], mode, precision)


def _run_child(args, allocator, library, mode, precision):
    """Measures one (allocator, mode, precision) in a child process and prints its rows."""
    command = [sys.executable, __file__, f"--child={mode}:{precision}"] + [
        a for a in sys.argv[1:] if not a.startswith(("--modes", "--precisions", "--allocators"))]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if args.tensor_memory:
        env["TF_CPU_ALLOCATOR_USE_BFC"] = "true"
    if library:
        env["LD_PRELOAD"] = library
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as child:
        for line in child.stdout:
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            memory = (f" {r['tensors_before_gib']:9.2f} / {r['tensors_peak_gib']:5.2f}GiB"
                      if args.tensor_memory else "")
            print(f"{allocator:9} {r['mode']:6} {r['precision']:14} {r['phase']:11} "
                  f"{r['median_s']:8.3f} {r['data_wait_s']:10.4f} "
                  f"{r['first_step_s']:10.1f}s {r['peak_rss_gib']:7.2f}GiB{memory}", flush=True)
    if child.returncode:
        sys.exit(f"the {allocator} {mode} {precision} measurement failed (exit "
                 f"{child.returncode})")


if __name__ == "__main__":
    main()
