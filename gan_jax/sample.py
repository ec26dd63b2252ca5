"""Samples from a run's checkpoint.

  python -m gan_jax.sample --workdir=DIR --num=64 --out=grid.png [--seed=0] [--noema] [--step=N]

`.png` writes an image grid (a scatter plot with the true mode centres for 2D toy data);
`.npz` writes the raw samples under key `samples`: images float32 NHWC in [0, 1], toy data
as raw coordinates. The same checkpoint and seed always give the same output.
"""

from __future__ import annotations

import os

import numpy as np
from absl import app, flags, logging

from gan_jax import data, plots, train

_WORKDIR = flags.DEFINE_string('workdir', None, 'Run directory (holds config.json and checkpoints/).')
_NUM = flags.DEFINE_integer('num', 64, 'Number of samples.')
_OUT = flags.DEFINE_string('out', None, 'Output file: .png (grid or scatter) or .npz (raw samples).')
_SEED = flags.DEFINE_integer('seed', 0, 'Noise seed.')
_EMA = flags.DEFINE_bool('ema', True, "Use G's EMA parameters (the default) or the raw ones.")
_STEP = flags.DEFINE_integer('step', None, 'Checkpoint step; the latest by default.')
flags.mark_flags_as_required(['workdir', 'out'])


def sample(workdir: str, num: int, seed: int = 0, ema: bool = True,
           step: int | None = None) -> tuple[np.ndarray, train.Run]:
  """Samples from the checkpoint at `step` (latest by default): images in [0, 1] or 2D points."""
  run = train.load_run(workdir)
  if run.checkpointer.latest_step() is None:
    raise FileNotFoundError(f'No checkpoint in {run.checkpointer.directory}; train first.')
  state = run.checkpointer.restore(run.initial_state(), step)
  return run.samples(state, run.fixed_noise(num, seed), ema=ema), run


def main(argv):
  del argv
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)
  out = _OUT.value
  ext = os.path.splitext(out)[1].lower()
  if ext not in ('.png', '.npz'):
    raise app.UsageError(f'--out must end in .png or .npz, got {out!r}.')
  samples, run = sample(_WORKDIR.value, _NUM.value, _SEED.value, _EMA.value, _STEP.value)
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  if ext == '.npz':
    np.savez(out, samples=samples.astype(np.float32))
  elif run.is_toy:
    plots.save_scatter(samples, data.toy_centers(run.config), out)
  else:
    plots.save_image_grid(samples, out)
  print(f'Wrote {len(samples)} samples to {out}')


if __name__ == '__main__':
  app.run(main)
