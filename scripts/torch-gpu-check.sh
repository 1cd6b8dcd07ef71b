#!/usr/bin/env bash
# GPU check of `train --backend torch`: one CUDA GPU, no network, under 5 minutes. Runs the package's own
# Python trainer through torchrun on seeded Qwen2.5-0.5B-shape weights made here and the prepared batch
# file carried in scripts/fixtures (see scripts/torch-gpu-check.py for the checks):
#   a. 10 FSDP (full shard) bf16 steps match the same run without FSDP within bf16 tolerance;
#   b. save, SIGKILL and --resume continue the trajectory;
#   c. tokens/s and peak GPU memory against a plain PyTorch loop (ratio >= 0.95).
# Prints one JSON summary line; exit 0 when every check passes, 1 when one fails, 2 when no GPU.
# With one GPU torch runs FSDP as NO_SHARD (world size 1): sharding across several ranks stays untested.
# Usage: scripts/torch-gpu-check.sh [--python <interpreter>] [--dry --device cpu]
#   --dry --device cpu: a smoke run of the same plumbing on CPU (tiny model, no FSDP; the CI test runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--python" ]; then
  PYTHON=$2
  shift 2
else # the first of python3 and /usr/bin/python3 with torch, as train --backend torch picks
  PYTHON=python3
  "$PYTHON" -c "import torch" 2>/dev/null || PYTHON=/usr/bin/python3
fi
"$PYTHON" -c "import torch" 2>/dev/null || { echo "torch-gpu-check: $PYTHON cannot import torch (pip install 'torch>=2.0')" >&2; exit 2; }
case " $* " in
  *" --dry "*) ;;
  *) "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" ||
    { echo "torch-gpu-check: no CUDA GPU visible to $PYTHON; not run" >&2; exit 2; } ;;
esac
exec timeout --kill-after=10 290 "$PYTHON" scripts/torch-gpu-check.py "$@"
