"""Entry point: python -m gan_jax.main --config=experiments/<name>.py[:arg] --workdir=DIR."""

import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from gan_jax import train

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None, 'Where checkpoints, samples and logs go.')
flags.mark_flags_as_required(['config', 'workdir'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)  # orbax and jax log a lot at INFO
  workdir = os.path.abspath(_WORKDIR.value)
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
