#!/usr/bin/env bash
# Creates .venv and installs gan_jax with its test extra; re-installs only when pyproject.toml
# changes. Sourced by train.sh and test.sh. Needs Python >= 3.11 ($PYTHON, default python3).
set -euo pipefail
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "gan_jax needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $("$PYTHON" --version)..."
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.gan_jax-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing gan_jax and its dependencies into .venv (first time: a few minutes)..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  echo "$want" > "$stamp"
fi
