#!/usr/bin/env bash
# The Python package end to end, as a user installs it: a venv over Debian's Python (numpy, pytest, nbconvert,
# ipykernel and wheel come from its packages: nothing is downloaded), `pip install ./python` from this build's
# libhattn.so, the package's tests (python/tests: the CLI's numbers bit for bit, errors, threads), and the
# notebook notebooks/vim_xai.ipynb executed headless (its executed copy goes to BUILD/notebooks/).
# Usage: bash scripts/python_check.sh [BUILD_DIR (build)]. Exit 77 (skipped) when Debian's python3 lacks one of
# those modules (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import venv, numpy, pytest, nbconvert, ipykernel, wheel, PIL' 2>/dev/null; then
  echo "python_check: skipped (Debian's python3 with numpy, pytest, nbconvert, ipykernel, wheel and PIL is needed;" \
       "bash scripts/setup.sh installs them)"
  exit 77
fi
[[ -f $build/bin/libhattn.so ]] || { echo "python_check: $build/bin/libhattn.so is missing: build first (make)"; exit 1; }
venv=$build/python-venv
[[ -x $venv/bin/python ]] || $py -m venv --system-site-packages "$venv"
HATTN_BUILD_DIR=$build "$venv/bin/pip" install -q --no-build-isolation --no-deps --force-reinstall ./python
rm -rf python/build python/hattn.egg-info  # what the in-tree build leaves behind
export HATTN_ROOT=$PWD HATTN_BIN=$build/bin/hattn PYTHONDONTWRITEBYTECODE=1
(cd "$build" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$HATTN_ROOT/python/tests")
"$venv/bin/python" -m ipykernel install --prefix "$venv" --name hattn-venv --display-name "hattn (venv)" > /dev/null
mkdir -p "$build/notebooks"
(cd notebooks && PYDEVD_DISABLE_FILE_VALIDATION=1 JUPYTER_PATH=$venv/share/jupyter "$venv/bin/python" -m nbconvert \
  --to notebook --execute --ExecutePreprocessor.kernel_name=hattn-venv --ExecutePreprocessor.timeout=600 \
  --output-dir "$build/notebooks" vim_xai.ipynb --log-level WARN)
echo "python_check: the package's tests pass and the notebook ran ($build/notebooks/vim_xai.ipynb)"
