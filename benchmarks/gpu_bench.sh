#!/usr/bin/env bash
# Every GPU measurement in one call, on the Keras JAX backend (the GPU machine has JAX but no
# TensorFlow): sac_bench.py (forward and forward+backward, shift vs patches, XLA memory) and
# generate_bench.py's jax mode at the Weizmann preset (batch 16 / T=10, batch 32 / T=12, and
# batch 128 / T=10 to see how far batching fills the GPU).
#
#   benchmarks/gpu_bench.sh              # from the repository root; logs under $OUT (./gpu_logs)
#   QUICK=1 PYTHON=/work/venv/bin/python benchmarks/gpu_bench.sh   # dry run on a CPU: tiny sizes
#
# If keras is missing and .whl/ holds the keras, namex and optree wheels (Python 3.12,
# manylinux; see README, "Performance"), they are installed into /tmp/site first.
# Each step has its own time limit and a failing step does not stop the next one.
set -u
OUT=${OUT:-gpu_logs}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
if ! "$PYTHON" -c "import keras" 2>/dev/null && ls .whl/*.whl >/dev/null 2>&1; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD

{
  echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader \
    2>/dev/null || echo "no nvidia-smi"
  "$PYTHON" -c "import jax, keras, sys; d = jax.devices()[0]
print('python', sys.version.split()[0], 'jax', jax.__version__, 'keras', keras.__version__,
      'backend', keras.backend.backend(), 'device', d.platform, d.device_kind)
print('tensorflow imported:', any(m.startswith('tensorflow') for m in sys.modules))"
} 2>&1 | tee "$OUT/env.txt"

# Memory bandwidth for sac_bench's bound column (GB/s, datasheet): H200 4800, H100 SXM 3350.
case "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null)" in
  *H200*) BW=4800 ;; *H100*) BW=3350 ;; *) BW=0 ;;
esac

if [ "${QUICK:-0}" = 1 ]; then
  SAC_ARGS="--repeats=2 --shapes=2x8x8x4x3,2x16x16x8x5"
  GEN_ARGS="--repeats=1 --settings=2x2,2x3"
else
  SAC_ARGS="--repeats=20 --shapes=8x64x64x32x5,16x8x8x16x5,16x16x16x128x5,16x32x32x32x5"
  SAC_ARGS="$SAC_ARGS,16x64x64x3x5,160x64x64x64x5"
  GEN_ARGS="--repeats=10 --settings=16x10,32x12,128x10"
fi

echo "== sac_bench (bandwidth ${BW} GB/s)" | tee "$OUT/sac.log"
timeout -k 5 "${SAC_LIMIT:-130}" "$PYTHON" benchmarks/sac_bench.py --bandwidth_gbps=$BW \
  $SAC_ARGS 2>&1 | tee -a "$OUT/sac.log"

echo "== generate_bench (jax)" | tee "$OUT/generate.log"
timeout -k 5 "${GEN_LIMIT:-345}" "$PYTHON" benchmarks/generate_bench.py --modes=jax $GEN_ARGS \
  --timeout="${GEN_SETTING_LIMIT:-170}" 2>&1 | tee -a "$OUT/generate.log"
echo "== done"
