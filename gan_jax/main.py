"""Entry point: python -m gan_jax.main --config=experiments/<name>.py[:arg] --workdir=DIR."""

import os
import sys

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from gan_jax import distributed, train

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Where checkpoints, samples and logs go.')
_COORDINATOR = flags.DEFINE_string('coordinator_address', None,
                                   'host:port of process 0, for multi-process runs off TPU pods.')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', None, 'Processes in a multi-process run.')
_PROCESS_ID = flags.DEFINE_integer('process_id', None, "This process's index in [0, num_processes).")
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)  # orbax and jax log a lot at INFO
  workdir = os.path.abspath(_WORKDIR.value)
  # Before any device use; TPU pods and SLURM are detected without the flags.
  if distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value):
    print(f'Process {jax.process_index()} of {jax.process_count()}: {jax.local_device_count()} '
          f'local of {jax.device_count()} devices.', flush=True)
  try:
    train.train_and_evaluate(_CONFIG.value, workdir)
  except train.Preempted as e:
    print(f'\n{e}', flush=True)
    sys.exit(train.PREEMPTED_EXIT_CODE)
  print(f'\nDone. Workdir: {workdir}\n'
        f'  samples:     {os.path.join(workdir, "samples")}/step_*.png\n'
        f'  metrics:     {os.path.join(workdir, "metrics.jsonl")} (TensorBoard: {workdir}/tensorboard)\n'
        f'  loss curves: {os.path.join(workdir, "loss_curves.png")}\n'
        f'  checkpoints: {os.path.join(workdir, "checkpoints")}', flush=True)


if __name__ == '__main__':
  app.run(main)
