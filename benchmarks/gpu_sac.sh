#!/usr/bin/env bash
# The SAC benchmark on a GPU with the JAX backend (the GPU machine has JAX but no TensorFlow).
# Run from the repository root with the keras/namex/optree wheels in .whl/ (see README).
set -eu
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 benchmarks/sac_bench.py --repeats=20 --bandwidth_gbps=3350 \
  --shapes=8x64x64x32x5,16x8x8x16x5,16x16x16x128x5,16x32x32x32x5,16x64x64x3x5,160x64x64x64x5
