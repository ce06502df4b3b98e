#!/usr/bin/env bash
# The README's main job: a real multi-objective schedule search on the embedded default space
# (local Ray, local MLflow store in ./cpt_search_runs), then the knee of its front exported to
# NAME-knee.yaml. Rerunning it resumes the same search; a finished search is only re-exported.
#   scripts/quickstart.sh [SPACE.yaml] [NAME]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
space=${1:-$here/search_spaces/quickstart.yaml}
name=${2:-quickstart}
cli=cpt-search
[ -x "$here/.venv/bin/cpt-search" ] && cli="$here/.venv/bin/cpt-search"

# Data: $CPT_SEARCH_DATA, else ../shared/data beside the checkout (offline copies), else the
# standard torch-geometric / torchvision download.
download=()
if [ -z "${CPT_SEARCH_DATA:-}" ]; then
  if [ -d "$here/../shared/data" ]; then
    export CPT_SEARCH_DATA="$(cd "$here/../shared/data" && pwd)"
  else
    download=(--download)
  fi
fi

"$cli" run "$space" --name "$name" "${download[@]}"
"$cli" export "$name" --pick knee -o "$name-knee.yaml"
echo
echo "knee of the front, exported to $name-knee.yaml:"
"$cli" schedule --schedule-file "$name-knee.yaml"
echo
echo "see the front in MLflow: start the UI with  $cli ui  and open the links below"
echo "(they are printed again when the UI starts):"
"$cli" ui --links-only | grep -A2 -x "cpt_search/$name" || true
