#!/usr/bin/env bash
# One entry point for a fresh machine with Python 3.11:
#   ./dev.sh demo [--audio A] [-o demo.blend] [--render]   the main job (talking head -> .blend)
#   ./dev.sh test [pytest args]                            the whole test suite
#   ./dev.sh <program> [args]                              run a program from the environment
# The first run creates .venv and installs everything pinned in requirements/test.txt
# (torch 2.13.0, numpy < 2 beside bpy 5.0.1); later runs reuse it. torch's CPU build comes
# only from a local wheel (pip's find-links) or PyTorch's CPU index (PIP_EXTRA_INDEX_URL=
# https://download.pytorch.org/whl/cpu); from PyPI alone Linux gets the CUDA build (~3 GB of
# nvidia-* packages). dev.sh prints which build each environment got.
# `test` also sets up, when missing or when their requirements change, the two extra
# environments some tests run programs in (docs/runtime.md):
#   .venv-export  Python 3.11 + requirements/export.txt (torch + onnx, numpy 2): ONNX export
#   .venv313      Python 3.13 + requirements/py313.txt (bpy 5.2): the light-install test
# and exports their folders as DT_EXPORT_VENV / DT_PY313_VENV (set them to use others).
# The Blender version matrix (docs/blender.md) adds, the same way:
#   .venv-bpy42   Python 3.11 + requirements/bpy42.txt (bpy 4.2 LTS)   DT_BPY42_VENV
#   .venv-bpy45   Python 3.11 + requirements/bpy45.txt (bpy 4.5 LTS)   DT_BPY45_VENV
#   .venv-bpy53   Python 3.13 + requirements/bpy53.txt (bpy 5.3)       DT_BPY53_VENV
# Python 3.13 is $PYTHON313, else python3.13, else pyenv's newest 3.13.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
VENV=${DT_VENV:-.venv}
export DT_EXPORT_VENV=${DT_EXPORT_VENV:-$PWD/.venv-export}
export DT_PY313_VENV=${DT_PY313_VENV:-$PWD/.venv313}
export DT_BPY42_VENV=${DT_BPY42_VENV:-$PWD/.venv-bpy42}
export DT_BPY45_VENV=${DT_BPY45_VENV:-$PWD/.venv-bpy45}
export DT_BPY53_VENV=${DT_BPY53_VENV:-$PWD/.venv-bpy53}

# One set-up at a time (several shells may share this checkout); released before running.
if command -v flock >/dev/null; then exec 9<dev.sh && flock 9; fi

# report_torch DIR: say which torch build DIR got. PyPI publishes torch for Linux only as the
# CUDA build (torch + ~3 GB of nvidia-* packages); the CPU build (+cpu) comes from a local
# wheel (pip's find-links, as on the project's machines) or PyTorch's CPU index.
report_torch() {
  local version cuda
  version=$("$1/bin/python" -c "from importlib.metadata import version; print(version('torch'))" \
    2>/dev/null) || return 0
  cuda=$("$1/bin/python" -m pip list --format=freeze 2>/dev/null | grep -ci '^nvidia-' || true)
  if [ "$cuda" -gt 0 ]; then
    echo "dev.sh: $1 got torch $version, the CUDA build, with $cuda nvidia-* packages (GBs)." \
         "For the CPU build: rm -rf $1, then rerun with" \
         "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu (or PIP_FIND_LINKS=a folder" \
         "holding torch-$version+cpu's wheel)." >&2
  else
    echo "dev.sh: $1 has torch $version (no CUDA packages)" >&2
  fi
}

stamp="$VENV/.installed-$(cat requirements/test.txt pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -r requirements/test.txt
  "$VENV/bin/python" -m pip install -q --no-deps -e .
  report_torch "$VENV"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

python313() {
  if [ -n "${PYTHON313:-}" ]; then echo "$PYTHON313"; return; fi
  if python3.13 -c "" 2>/dev/null; then command -v python3.13; return; fi
  local v
  if command -v pyenv >/dev/null && v=$(pyenv latest 3.13 2>/dev/null) \
      && [ -x "$(pyenv root)/versions/$v/bin/python3.13" ]; then
    echo "$(pyenv root)/versions/$v/bin/python3.13"; return
  fi
  return 1
}

# extra_venv DIR REQUIREMENTS PYTHON-FINDER: create DIR, or update it when REQUIREMENTS
# changed. A failure removes a DIR made by this call (the tests that need it then skip with
# the reason, or fail under CI=true).
extra_venv() {
  local dir=$1 req=$2 find=$3 py start made=0
  local mark="$dir/.installed-$(sha1sum <"$req" | cut -c1-12)"
  [ -f "$mark" ] && return 0
  start=$SECONDS
  echo "dev.sh: setting up $dir from $req ..." >&2
  [ -e "$dir" ] || made=1
  if py=$($find) && { [ -x "$dir/bin/python" ] || "$py" -m venv "$dir"; } \
      && "$dir/bin/python" -m pip install -q --upgrade pip \
      && "$dir/bin/python" -m pip install -q -r "$req"; then
    rm -f "$dir"/.installed-*
    touch "$mark"
    echo "dev.sh: $dir ready in $((SECONDS - start)) s" >&2
    report_torch "$dir"
  else
    echo "dev.sh: WARNING: could not set up $dir from $req; the tests that need it" \
         "skip (fail under CI=true)" >&2
    [ "$made" = 0 ] || rm -rf "$dir"
  fi
}
python311() { echo "$PY"; }

cmd=${1:-}
[ $# -gt 0 ] && shift
if [ "$cmd" = test ]; then
  extra_venv "$DT_EXPORT_VENV" requirements/export.txt python311
  extra_venv "$DT_PY313_VENV" requirements/py313.txt python313
  extra_venv "$DT_BPY42_VENV" requirements/bpy42.txt python311
  extra_venv "$DT_BPY45_VENV" requirements/bpy45.txt python311
  extra_venv "$DT_BPY53_VENV" requirements/bpy53.txt python313
fi
if command -v flock >/dev/null; then flock -u 9 && exec 9<&-; fi

case "$cmd" in
  demo) exec "$VENV/bin/python" -m diffusiontalker demo "$@" ;;
  test) exec "$VENV/bin/python" -m pytest "$@" ;;
  "") echo "usage: ./dev.sh demo|test|<program> [args]" >&2; exit 2 ;;
  *) exec "$VENV/bin/$cmd" "$@" ;;
esac
