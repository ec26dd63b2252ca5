#!/usr/bin/env bash
# Runs gan_jax on every worker of a Cloud TPU VM (a single host or a pod slice).
#   bash launch/tpu_pod.sh TPU_NAME ZONE setup                       # copy this checkout, install
#   bash launch/tpu_pod.sh TPU_NAME ZONE train EXPERIMENT WORKDIR [--config.x=y ...]
# Set PROJECT for --project, DRY_RUN=1 to print the gcloud commands instead of running them.
# Every worker runs the same command; jax.distributed.initialize() finds the others on its
# own. WORKDIR must be a directory all workers see (an NFS/Filestore or gcsfuse mount), since
# they write their parts of each checkpoint there; logs and samples come from worker 0.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 3 ]; then sed -n '2,8p' "$0"; exit 2; fi
tpu=$1 zone=$2 action=$3; shift 3
remote_dir=${REMOTE_DIR:-'~/gan_jax'}
gcloud_args=(compute tpus tpu-vm)
extra=(--zone="$zone" --worker=all)
if [ -n "${PROJECT:-}" ]; then extra+=(--project="$PROJECT"); fi
run() { if [ -n "${DRY_RUN:-}" ]; then printf '%q ' "$@"; echo; else "$@"; fi; }

case $action in
  setup)
    # Sends the tracked files (no .venv or runs/) and installs with TPU jaxlib (libtpu).
    archive=$(mktemp --suffix=.tar.gz)
    git archive --format=tar.gz -o "$archive" HEAD
    run gcloud "${gcloud_args[@]}" scp "$archive" "$tpu:/tmp/gan_jax.tar.gz" "${extra[@]}"
    run gcloud "${gcloud_args[@]}" ssh "$tpu" "${extra[@]}" --command="mkdir -p $remote_dir && \
tar -xzf /tmp/gan_jax.tar.gz -C $remote_dir && cd $remote_dir && python3 -m venv .venv && \
.venv/bin/pip install -q -e '.[tpu]'"
    rm -f "$archive"
    ;;
  train)
    if [ $# -lt 2 ]; then echo "train needs EXPERIMENT WORKDIR" >&2; exit 2; fi
    experiment=$1 workdir=$2; shift 2
    cmd="cd $remote_dir && .venv/bin/python -m gan_jax.main --config=experiments/$experiment.py"
    cmd+=" --workdir=$workdir"
    for a in "$@"; do cmd+=" $(printf '%q' "$a")"; done
    run gcloud "${gcloud_args[@]}" ssh "$tpu" "${extra[@]}" --command="$cmd"
    ;;
  *) echo "Unknown action '$action': use setup or train." >&2; exit 2 ;;
esac
