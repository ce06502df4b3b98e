#!/usr/bin/env bash
# Set up a fresh machine: a Python 3.11 virtualenv in .venv with cpt_search and its pinned
# dependencies, plus the offline Fashion-MNIST files when we may install Debian packages.
# Idempotent: a second run only reinstalls when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
if ! command -v "$PYTHON" >/dev/null; then
  echo "setup: $PYTHON not found; cpt_search needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
stamp="$VENV/.cpt_search_installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  # pip (not uv/poetry): torch==2.14.1 / torchvision==0.29.1 come from the local wheel cache here.
  "$VENV/bin/python" -m pip install -q -e ".[all,test]"
  touch "$stamp"
fi
# The fused C++ quantizer kernels (cpt_search/quant/native.py) need a C++ compiler and Python's
# headers; build them once here so no trial pays the ~20 s. Without them training runs on the slower
# eager kernels.
missing=()
command -v c++ >/dev/null || missing+=(g++)
py_include=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
[ -f "$py_include/Python.h" ] || missing+=("python$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-dev")
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
    || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${missing[@]}" >/dev/null 2>&1)) \
    || echo "setup: could not install ${missing[*]}; the eager quantizer kernels will run (slower)" >&2
fi
"$VENV/bin/python" -m cpt_search.quant.native || true
# Fashion-MNIST for the image tasks: Debian's dataset-fashion-mnist (no download at run time).
if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
    || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1)) \
    || echo "setup: could not install dataset-fashion-mnist; Fashion-MNIST tests will be skipped" >&2
fi
# Headless Chromium for the browser test of the MLflow UI (tests/tracking/test_ui_browser.py; skipped without it).
if ! command -v chromedriver >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
    || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1)) \
    || echo "setup: could not install chromium; the MLflow UI browser test will be skipped" >&2
fi
echo "setup: ready ($("$VENV/bin/python" --version), $("$VENV/bin/cpt-search" --version))"
