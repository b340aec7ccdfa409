#!/usr/bin/env bash
# Issue 16 in one device call (run from the repository root, .whl carried; see train_speed.py's
# docstring for the wheels): install the wheels, name the GPU and versions, run the three modes and
# a profile of alignforge's step. If the run fails with Liger on, it runs once more with Liger off.
# Everything lands in $OUT as it is written, so a run cut short still says how far it got.
set -u
OUT=${OUT:-/tmp/train_speed_out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl >"$OUT/pip.txt" 2>&1 || { cat "$OUT/pip.txt"; exit 1; }
export PYTHONPATH=/tmp/site:src HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  python3 -c "import torch, transformers, trl, datasets, pyarrow, triton; print('torch', torch.__version__, 'transformers', transformers.__version__, 'trl', trl.__version__, 'datasets', datasets.__version__, 'pyarrow', pyarrow.__version__, 'triton', triton.__version__)"
  python3 -c "import liger_kernel.transformers as L; print('liger', L.__name__, 'imports')"
} 2>&1 | tee "$OUT/versions.txt"
run() {
  timeout "$1" python3 bench/train_speed.py --profile 3 --workdir /tmp --out "$OUT/$2.json" "${@:3}" \
    2>&1 | tee "$OUT/$2.log"
  return "${PIPESTATUS[0]}"
}
run 330 train_speed || run 150 train_speed_noliger --liger off
