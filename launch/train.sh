#!/usr/bin/env bash
# Sets up .venv if needed, then trains an experiment (default: mnist_dcgan, ~4 min on 2 CPU cores).
#   bash launch/train.sh [EXPERIMENT] [--config.some.field=value ...]
# The workdir is runs/EXPERIMENT unless WORKDIR is set; running again resumes from it.
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/setup.sh
experiment=mnist_dcgan
if [ $# -gt 0 ] && [[ "$1" != --* ]]; then experiment=$1; shift; fi
exec .venv/bin/python -m gan_jax.main --config="experiments/$experiment.py" \
  --workdir="${WORKDIR:-runs/$experiment}" "$@"
