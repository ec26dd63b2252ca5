"""Samples from a run's checkpoint.

  python -m gan_jax.sample --workdir=DIR --num=64 --out=grid.png [--seed=0] [--noema] [--step=N]
      [--seed_index=I]

`.png` writes an image grid (a scatter plot with the true mode centres for 2D toy data);
`.npz` writes the raw samples under key `samples`: images float32 NHWC in [0, 1], toy data
as raw coordinates. The same checkpoint and seed always give the same output.
"""

from __future__ import annotations

import os

import numpy as np
from absl import app, flags, logging

from gan_jax import data, plots, train


def _define_flags() -> None:
  """CLI flags, defined only when run as a program so the module imports cleanly."""
  flags.DEFINE_string('workdir', None, 'Run directory (holds config.json and checkpoints/).')
  flags.DEFINE_integer('num', 64, 'Number of samples.')
  flags.DEFINE_string('out', None, 'Output file: .png (grid or scatter) or .npz (raw samples).')
  flags.DEFINE_integer('seed', 0, 'Noise seed.')
  flags.DEFINE_bool('ema', True, "Use G's EMA parameters (the default) or the raw ones.")
  flags.DEFINE_integer('step', None, 'Checkpoint step; the latest by default.')
  flags.DEFINE_integer('seed_index', 0, 'Which GAN of a num_seeds > 1 run (0..K-1).')
  flags.mark_flags_as_required(['workdir', 'out'])


def sample(workdir: str, num: int, seed: int = 0, ema: bool = True, step: int | None = None,
           seed_index: int = 0) -> tuple[np.ndarray, train.Run]:
  """Samples from the checkpoint at `step` (latest by default): images in [0, 1] or 2D points.

  `seed_index` picks one GAN of a run trained with num_seeds K > 1.
  """
  run = train.load_run(workdir)
  if run.checkpointer.latest_step() is None:
    raise FileNotFoundError(f'No checkpoint in {run.checkpointer.directory}; train first.')
  if not 0 <= seed_index < run.num_seeds:
    raise ValueError(f'--seed_index={seed_index} is out of range: this run trained '
                     f'num_seeds={run.num_seeds} GANs (0..{run.num_seeds - 1}).')
  state = run.seed_states(run.checkpointer.restore(run.initial_state(), step))[seed_index]
  return run.samples(state, run.fixed_noise(num, seed), ema=ema), run


def main(argv):
  del argv
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)
  out = flags.FLAGS.out
  ext = os.path.splitext(out)[1].lower()
  if ext not in ('.png', '.npz'):
    raise app.UsageError(f'--out must end in .png or .npz, got {out!r}.')
  f = flags.FLAGS
  samples, run = sample(f.workdir, f.num, f.seed, f.ema, f.step, f.seed_index)
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  if ext == '.npz':
    np.savez(out, samples=samples.astype(np.float32))
  elif run.is_toy:
    plots.save_scatter(samples, data.toy_centers(run.config), out)
  else:
    plots.save_image_grid(samples, out)
  print(f'Wrote {len(samples)} samples to {out}')


if __name__ == '__main__':
  _define_flags()
  app.run(main)
