#!/usr/bin/env bash
# How far the deep models' numbers move with the CPU's kernels (results/reproducibility.md).
# Trains part of the quick grid (7 deep models x seeds 0-2) twice from this checkout, in two fresh cohort folders:
# once with this CPU's default kernels, once with ATen, MKL and oneDNN held to AVX2 (the kernel set of a CPU
# without AVX-512), then seed 0 again with --jobs 1; prints per-run AUROC and the difference of the means.
# Usage: bash scripts/cpu_kernels_check.sh [WORKDIR]   (about 25 min on 2 cores; run `make install` first)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/mmkd-kernels}; mkdir -p "$W"
M="image_only text_only tabular_only proposed wo_kd wo_gm mbt"
run() { name=$1; seeds=$2; jobs=$3; shift 3
  env "$@" .venv/bin/mmkd-study reproduce --profile quick --seeds $seeds --models $M --cohort "$W/$name/cohort" \
      --results "$W/$name/results" --jobs "$jobs" > "$W/$name.log" 2>&1 || { echo "$name failed: see $W/$name.log"; exit 1; }; }
run default "0 1 2" 2 MMKD_KERNELS=default
run avx2 "0 1 2" 2 ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2 ONEDNN_MAX_CPU_ISA=AVX2
run jobs1 "0" 1 MMKD_KERNELS=default
.venv/bin/python - "$W" $M <<'PY'
import sys, pandas as pd
from sklearn.metrics import roc_auc_score
w, models = sys.argv[1], sys.argv[2:]
pred = lambda arm, m, s: pd.read_parquet(f"{w}/{arm}/results/runs/quick/{m}/seed{s}/predictions.parquet")
def auc(p):
    t = (p.split == "test") & (p.subset == "image+text+tabular"); return roc_auc_score(p[t].label, p[t].probability)
rows = [{"model": m, "seed": s, "default": auc(pred("default", m, s)), "avx2": auc(pred("avx2", m, s))} for m in models for s in (0, 1, 2)]
d = pd.DataFrame(rows); d["diff"] = d.avx2 - d.default
g = d.groupby("model", sort=False).agg(default=("default", "mean"), avx2=("avx2", "mean"), max_abs_run_diff=("diff", lambda x: x.abs().max()))
g["diff_of_means"] = g.avx2 - g.default
print(g.round(4).to_markdown())
print("jobs 1 vs 2, seed 0, identical predictions:", all(pred("default", m, 0).equals(pred("jobs1", m, 0)) for m in models))
PY
