#!/usr/bin/env bash
# The Python package end to end, as a user installs it: a venv over Debian's Python (numpy, pytest, nbconvert,
# ipykernel and wheel come from its packages: nothing is downloaded), `pip install` of python/ with this build's
# libhattn.so, the package's tests (python/tests: the CLI's numbers bit for bit, errors, threads), and the
# notebook notebooks/vim_xai.ipynb executed headless (its executed copy goes to BUILD/notebooks/). Nothing is
# written into the source tree or $HOME: the package is built from a copy in BUILD/, Jupyter's files live there.
# Usage: bash scripts/python_check.sh [BUILD_DIR (build)]. Exit 77 (skipped) when Debian's python3 lacks one of
# those modules (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$(cd "${1:-build}" && pwd)
py=/usr/bin/python3
if [[ ! -x $py ]] || ! $py -c 'import venv, ensurepip, numpy, pytest, nbconvert, ipykernel, wheel, PIL' 2>/dev/null; then
  echo "python_check: skipped (Debian's python3 with venv, numpy, pytest, nbconvert, ipykernel, wheel and PIL is" \
       "needed; bash scripts/setup.sh installs them)"
  exit 77
fi
for f in libhattn.so hattn-reader; do
  [[ -f $build/bin/$f ]] || { echo "python_check: $build/bin/$f is missing: build first (make)"; exit 1; }
  # every RUNPATH entry absolute: an empty one would make the loader search the current folder
  if readelf -d "$build/bin/$f" | grep -E 'RUNPATH|RPATH' | grep -qE '\[:|::|:\]|\[\]|\[[^/]'; then
    echo "python_check: $f has a relative or empty RUNPATH entry:"; readelf -d "$build/bin/$f" | grep -E 'RUNPATH|RPATH'
    exit 1
  fi
done
work=$build/python-check
rm -rf "$work/src"
mkdir -p "$work"
cp -r python "$work/src"
venv=$build/python-venv
[[ -x $venv/bin/python ]] || $py -m venv --system-site-packages "$venv"
(cd "$work/src" && HATTN_SOURCE_DIR=$root HATTN_BUILD_DIR=$build \
  "$venv/bin/pip" install -q --no-build-isolation --no-deps --force-reinstall .)
export HATTN_ROOT=$root HATTN_BIN=$build/bin/hattn PYTHONDONTWRITEBYTECODE=1
export IPYTHONDIR=$work/ipython JUPYTER_DATA_DIR=$work/jupyter JUPYTER_RUNTIME_DIR=$work/jupyter/runtime
export JUPYTER_CONFIG_DIR=$work/jupyter/config JUPYTER_PATH=$venv/share/jupyter
(cd "$work" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$root/python/tests")
"$venv/bin/python" -m ipykernel install --prefix "$venv" --name hattn-venv --display-name "hattn (venv)" > /dev/null
mkdir -p "$build/notebooks"
(cd notebooks && PYDEVD_DISABLE_FILE_VALIDATION=1 "$venv/bin/python" -m nbconvert \
  --to notebook --execute --ExecutePreprocessor.kernel_name=hattn-venv --ExecutePreprocessor.timeout=600 \
  --output-dir "$build/notebooks" vim_xai.ipynb --log-level WARN)
echo "python_check: the package's tests pass and the notebook ran ($build/notebooks/vim_xai.ipynb)"
