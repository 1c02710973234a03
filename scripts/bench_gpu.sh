#!/usr/bin/env bash
# The GPU measurements of results/benchmarks.md in one short call, for a machine that has torch, timm and
# transformers but not this package (the lent GPU machines): the paper-sized model at the paper's setting,
# as a study run trains it (batch 8, deterministic vs autotuned kernels, the trainer's own step with and without
# gradient modulation, both stages' validation, a per-part breakdown), 1/4/8 such runs side by side on the GPU,
# at ours (batch 64, 128, and compiled, with a breakdown), and the loader. Then the end-to-end sub-grid's model
# (the quick sizes with every encoder trained, `mmkd-study reproduce --profile end_to_end`) as a study run trains it,
# and 1, 8 and 16 such runs side by side on the GPU: what that sub-grid would take here (E2E=0 skips it).
# benchmarks.json and benchmarks.md under $OUT are rewritten after every setting, so a run cut off early keeps what
# it measured.
#
#   OUT=/some/dir scripts/bench_gpu.sh                     # on the GPU machine (a few minutes)
#   SIZE=tiny DEVICE=cpu OUT=/tmp/b scripts/bench_gpu.sh    # the same script rehearsed on any CPU (4 min; COMPILE=0 E2E=0: 30 s)
#   .venv/bin/mmkd-study bench --merge /some/dir/benchmarks.json --out results    # then, here: into results/
#
# pytorch-tabnet is not on the GPU image: carry it as a wheel in .whl/ (ignored by git), made here with
#   python3 -m pip download --no-deps --only-binary=:all: -d .whl pytorch-tabnet==4.1.0
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-results/gpu}
if compgen -G ".whl/*.whl" >/dev/null && "$PY" -m pip --version >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/mmkd-site .whl/*.whl
  export PYTHONPATH=/tmp/mmkd-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
"$PY" - <<'PY'
import importlib.util, sys
need = ("torch", "timm", "transformers", "pytorch_tabnet", "tokenizers", "pandas", "PIL")
missing = [m for m in need if importlib.util.find_spec(m) is None]
if missing: sys.exit(f"bench_gpu.sh: missing Python packages {missing}: carry them as wheels in .whl/ (see this script's header)")
PY
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv || true
compile=(); [ "${COMPILE:-1}" = 1 ] && compile=(--compile)
bench() { "$PY" -c 'import sys; from mmkd_study.cli import main; sys.exit(main(sys.argv[1:]))' bench "$@"; }
bench --size "${SIZE:-paper}" --device "${DEVICE:-auto}" "${compile[@]}" --more-batches ${MORE_BATCHES-128} \
  --parallel ${PARALLEL-1 4 8} --parallel-seconds "${PARALLEL_SECONDS:-15}" --steps "${STEPS:-10}" --out "$OUT"
if [ "${E2E:-1}" = 1 ]; then
  bench --size quick --device "${DEVICE:-auto}" --parallel ${E2E_PARALLEL-1 8 16} \
    --parallel-seconds "${PARALLEL_SECONDS:-15}" --steps "${STEPS:-10}" --out "$OUT"
fi
