#!/usr/bin/env bash
# The one prepared GPU check (docs/scaling.md, "GPU"): run it as is on a machine with a GPU.
#   bash benchmarks/gpu_check.sh            # about 3-6 minutes on a GPU, ~2 on an idle CPU
# It says whether it found a GPU; without one it runs the same steps on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
export MISCOPE_THREADS="${MISCOPE_THREADS:-1}"
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
uv sync --locked --all-extras --quiet

echo "== environment"
uv run python - <<'PY'
import torch
if torch.cuda.is_available():
    print(f"GPU found: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
          f"CUDA {torch.version.cuda}")
else:
    print(f"NO GPU FOUND: torch {torch.__version__} sees no CUDA device; the steps below run "
          f"on CPU and their numbers are CPU numbers")
PY

echo "== device selection and a tiny run on the default device (CUDA when present)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
uv run miscope train modulo_addition --preset tiny --epochs 20 --data-dir "$tmp/train"
uv run miscope variants --data-dir "$tmp/train"
grep -h '"device"' "$tmp"/train/results/*/*/variant.json

echo "== benchmarks/bench_gpu.py: canonical epochs/s, seed-group throughput, member vs solo"
uv run python benchmarks/bench_gpu.py
