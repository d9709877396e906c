#!/usr/bin/env bash
# One entry point for a fresh machine with Python 3.11:
#   ./dev.sh demo [--audio A] [-o demo.blend] [--render]   the main job (talking head -> .blend)
#   ./dev.sh test [pytest args]                            the whole test suite
#   ./dev.sh <program> [args]                              run a program from the environment
# The first run creates .venv and installs everything pinned in requirements/test.txt
# (torch CPU build pinned, numpy < 2 beside bpy 5.0.1); later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
VENV=${DT_VENV:-.venv}
stamp="$VENV/.installed-$(cat requirements/test.txt pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -r requirements/test.txt
  "$VENV/bin/python" -m pip install -q --no-deps -e .
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  demo) exec "$VENV/bin/python" -m diffusiontalker demo "$@" ;;
  test) exec "$VENV/bin/python" -m pytest "$@" ;;
  "") echo "usage: ./dev.sh demo|test|<program> [args]" >&2; exit 2 ;;
  *) exec "$VENV/bin/$cmd" "$@" ;;
esac
