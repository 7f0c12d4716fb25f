#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install pymc_hier with its test extras.
#
#   bash setup.sh            # test extras
#   EXTRAS=test,docs bash setup.sh
#   PYTHON=/path/to/python3.13 bash setup.sh
#
# The interpreter is found in this order: $PYTHON, python3.13 / python3.12 / python3 /
# python on PATH, then versions installed by pyenv. Each candidate is run to check its
# version, so pyenv shims for versions that are not active are skipped cleanly.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-test}

is_ok() {  # prints the interpreter's path when it is CPython >= 3.12 with venv
  "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1 \
    && "$1" -c 'import sys; print(sys.executable)'
}

find_python() {
  local c
  for c in ${PYTHON:-} python3.13 python3.12 python3 python; do
    command -v "$c" >/dev/null 2>&1 && is_ok "$c" && return 0
  done
  if command -v pyenv >/dev/null 2>&1; then
    local root; root=$(pyenv root)
    for c in $(ls -d "$root"/versions/3.1[2-9]* 2>/dev/null | sort -rV); do
      [ -x "$c/bin/python" ] && is_ok "$c/bin/python" && return 0
    done
  fi
  return 1
}

if ! PY=$(find_python); then
  echo "setup.sh: no Python >= 3.12 found (tried \$PYTHON, python3.13, python3.12, python3," >&2
  echo "python and pyenv's versions). Install one (e.g. 'pyenv install 3.12') or set PYTHON=." >&2
  exit 1
fi
echo "setup.sh: using $PY ($("$PY" -c 'import sys; print(sys.version.split()[0])'))"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[$EXTRAS]"
echo "setup.sh: ready. Run the tests with: $VENV/bin/python -m pytest"
