#!/usr/bin/env bash
# Regenerate the measured tables of docs/results.md: one command per table, CPU, default budgets.
#
#   scripts/results.sh TABLE...     TABLE in: cora citeseer fashion shakespeare
#                                             critical-cora critical-cora-recovery critical-fashion
#                                             range-cora range-fashion all
#
# Each table's Markdown/CSV/JSON/PNG land in docs/results/<name>/; every training is an MLflow run in
# $STORE (default cpt_search_runs/results; `cpt-search ui --store $STORE` shows them). Rerunning a
# table resumes: trainings already recorded in $STORE are read back, not repeated.
# Knobs: SEEDS (3), CONCURRENCY (2), STORE, PYTHON (.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
STORE=${STORE:-cpt_search_runs/results}
SEEDS=${SEEDS:-3}
CONCURRENCY=${CONCURRENCY:-2}
OUT=docs/results
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# Offline data: $CPT_SEARCH_DATA, else ../shared/data beside the checkout (as the tests look for it).
if [ -z "${CPT_SEARCH_DATA:-}" ] && [ -d ../shared/data ]; then
  CPT_SEARCH_DATA="$(cd ../shared/data && pwd)"; export CPT_SEARCH_DATA
fi
export RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=disabled MLFLOW_DISABLE_TELEMETRY=true

cpt() { "$PYTHON" -m cpt_search "$@"; }
common=(--seeds "$SEEDS" --concurrency "$CONCURRENCY" --store "$STORE")

table() {
  case "$1" in
    cora)        cpt reproduce --task cora/gcn "${common[@]}" --out "$OUT/reproduce-cora-gcn" ;;
    citeseer)    cpt reproduce --task citeseer/gcn "${common[@]}" --out "$OUT/reproduce-citeseer-gcn" ;;
    fashion)     cpt reproduce --task fashion-mnist/cnn "${common[@]}" --out "$OUT/reproduce-fashion-mnist-cnn" ;;
    shakespeare) cpt reproduce --task shakespeare/lstm --min-bits 5 "${common[@]}" \
                   --out "$OUT/reproduce-shakespeare-lstm" ;;
    critical-cora)    cpt critical-period --task cora/gcn --impair-bits 2 --impair-fracs 0,0.1,0.25,0.5,0.75 \
                        "${common[@]}" --out "$OUT/critical-cora-gcn" ;;
    critical-cora-recovery) cpt critical-period --task cora/gcn --impair-bits 2 --impair-fracs 0,0.1,0.25,0.5 \
                        --recovery-frac 0.25 "${common[@]}" --out "$OUT/critical-cora-gcn-recovery" ;;
    critical-fashion) cpt critical-period --task fashion-mnist/cnn --impair-bits 3 --impair-fracs 0,0.25,0.5 \
                        "${common[@]}" --out "$OUT/critical-fashion-mnist-cnn" ;;
    range-cora)       mkdir -p "$OUT/range-cora-gcn"
                      cpt range-test --task cora/gcn --start-bits 1 --max-bits 8 --steps-per-bits 25 \
                        --threads 1 --plot "$OUT/range-cora-gcn/range.png" \
                        --write-space "$OUT/range-cora-gcn/space.yaml" | tee "$OUT/range-cora-gcn/range.md" ;;
    range-fashion)    mkdir -p "$OUT/range-fashion-mnist-cnn"
                      cpt range-test --task fashion-mnist/cnn --start-bits 1 --max-bits 8 --steps-per-bits 60 \
                        --threads 1 --plot "$OUT/range-fashion-mnist-cnn/range.png" \
                        --write-space "$OUT/range-fashion-mnist-cnn/space.yaml" \
                        | tee "$OUT/range-fashion-mnist-cnn/range.md" ;;
    all) for t in cora citeseer critical-cora critical-cora-recovery range-cora fashion critical-fashion range-fashion shakespeare; do
           table "$t"; done ;;
    *) echo "results.sh: unknown table '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
}

[ $# -gt 0 ] || { sed -n '2,12p' "$0"; exit 2; }
for t in "$@"; do table "$t"; done
