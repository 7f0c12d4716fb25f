#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install pymc_hier with its test extras.
#
#   bash setup.sh                          # test extras
#   EXTRAS=test,docs bash setup.sh         # more extras
#   PYTHON=/path/to/python3.13 bash setup.sh
#
# With PYTHON set, that interpreter is used (or the script stops saying why it cannot be).
# Otherwise the first suitable one wins among: python3.12, python3.13, python3, python and
# python3.14 on PATH, then the 3.12+ versions installed by pyenv (oldest first; pyenv need
# not be on PATH, $PYENV_ROOT or ~/.pyenv is looked at). Every candidate is run to check its
# version, so pyenv shims of versions that are not active are skipped cleanly.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-test}
tried=()  # candidates rejected, with the reason
PY=""     # the interpreter chosen
version=""

# Succeeds (setting PY and version) when $1 is Python >= 3.12 able to make a virtual
# environment with pip; otherwise records why not in `tried`.
check() {
  local c=$1 out
  if ! out=$("$c" -c 'import sys; print(sys.executable); print("%d.%d.%d" % sys.version_info[:3]); print(int(sys.version_info >= (3, 12)))' 2>/dev/null); then
    tried+=("$c (does not run)")
    return 1
  fi
  local exe ver ok
  { read -r exe; read -r ver; read -r ok; } <<<"$out"
  if [ "$ok" != 1 ]; then
    tried+=("$c (Python $ver: too old)")
    return 1
  fi
  if ! "$c" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    tried+=("$c (Python $ver: no venv/ensurepip module; on Debian/Ubuntu install python${ver%.*}-venv)")
    return 1
  fi
  PY=$exe
  version=$ver
}

find_python() {
  local c
  if [ -n "${PYTHON:-}" ]; then
    if command -v "$PYTHON" >/dev/null 2>&1; then
      check "$PYTHON" && return 0
    else
      tried+=("PYTHON=$PYTHON (not found)")
    fi
    return 1
  fi
  for c in python3.12 python3.13 python3 python python3.14; do
    if command -v "$c" >/dev/null 2>&1; then
      check "$c" && return 0
    fi
  done
  local root=""
  if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root 2>/dev/null || true)
  fi
  root=${root:-${PYENV_ROOT:-$HOME/.pyenv}}
  if [ -d "$root/versions" ]; then
    for c in $(ls -d "$root"/versions/3.* 2>/dev/null | sort -V); do
      case "$(basename "$c")" in
        3.[0-9] | 3.[0-9].* | 3.1[01] | 3.1[01].*) continue ;;
      esac
      [ -x "$c/bin/python" ] && check "$c/bin/python" && return 0
    done
  fi
  return 1
}

if ! find_python; then
  {
    echo "setup.sh: no suitable Python found: pymc_hier needs CPython >= 3.12 with venv."
    if [ ${#tried[@]} -gt 0 ]; then
      echo "Tried:"
      printf '  %s\n' "${tried[@]}"
    else
      echo "Tried: python3.12, python3.13, python3, python, python3.14 on PATH and pyenv's"
      echo "versions; none exists."
    fi
    echo "Install one (e.g. 'pyenv install 3.12', 'apt install python3.12 python3.12-venv'"
    echo "or https://www.python.org/downloads/) and run this again, or point PYTHON= at one:"
    echo "  PYTHON=/path/to/python3.12 bash setup.sh"
  } >&2
  exit 1
fi
echo "setup.sh: using $PY (Python $version)"

# Reuse an existing environment of the same Python version; rebuild it otherwise.
clear=()
if [ -x "$VENV/bin/python" ]; then
  old=$("$VENV/bin/python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' \
    2>/dev/null || true)
  if [ "$old" != "$version" ]; then
    echo "setup.sh: $VENV has Python ${old:-?}; recreating it with $version"
    clear=(--clear)
  fi
fi
"$PY" -m venv "${clear[@]}" "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[$EXTRAS]"
echo "setup.sh: ready. Run the tests with: $VENV/bin/python -m pytest"
