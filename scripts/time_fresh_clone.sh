#!/usr/bin/env bash
# A study timed as a reviewer meets it: a fresh clone of this checkout's HEAD, `make install` into an empty .venv,
# then the reproduce call; the timings go into results/benchmarks.md ("The <profile> study ... From a fresh clone,
# the install included"), the clone and its runs stay in WORKDIR for a later --baseline.
# Usage: bash scripts/time_fresh_clone.sh PROFILE [reproduce options]      (commit first: the clone has HEAD only)
#   bash scripts/time_fresh_clone.sh quick                                 the default study, make reproduce (~17 min on 2 cores)
#   bash scripts/time_fresh_clone.sh end_to_end --seeds 0 1 2 3 4          the 5-seed end-to-end sub-grid (~34 min)
#   WORKDIR=/tmp/new BASELINE=/tmp/old/runs/quick bash scripts/time_fresh_clone.sh quick   also against another commit's study
# OUT=DIR writes the report there instead of results/. Needs this checkout's .venv (make install) for the report, and
# about 7 GB free for the clone's own environment.
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
profile=$1; shift
repo=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$repo/.venv/bin/mmkd-study" ] || { echo "time_fresh_clone.sh: run make install in $repo first (its mmkd-study writes the report)" >&2; exit 2; }
W=${WORKDIR:-$(mktemp -d /tmp/mmkd-fresh-XXXXXX)}
[ ! -e "$W/clone" ] || { echo "time_fresh_clone.sh: $W/clone exists; give another WORKDIR (a fresh clone means an empty one)" >&2; exit 2; }
mkdir -p "$W"
git clone -q "$repo" "$W/clone"
cd "$W/clone"
t0=$(date +%s)
make install > "$W/install.log" 2>&1 || { echo "make install failed: see $W/install.log" >&2; exit 1; }
install_s=$(( $(date +%s) - t0 ))
echo "make install: ${install_s} s; now the $profile study (log: $W/reproduce.log)"
.venv/bin/mmkd-study reproduce --profile "$profile" --runs "$W/runs/$profile" --results "$W/results" --figures "$W/figures" "$@" \
    > "$W/reproduce.log" 2>&1 || { echo "the study failed: see $W/reproduce.log" >&2; exit 1; }
"$repo/.venv/bin/mmkd-study" bench --study "$W/runs/$profile" ${BASELINE:+--baseline "$BASELINE"} --install-s "$install_s" --out "${OUT:-$repo/results}"
echo "total from the clone: $(( $(date +%s) - t0 )) s; the study's runs: $W/runs/$profile"
