"""Scores a run's checkpoint and prints a table.

  python -m gan_jax.evaluate --workdir=DIR [--num_samples=N] [--step=S] [--[no]ema]

Uses the run's config.eval (metrics, sample count, EMA or raw G) unless overridden; prints
each score and the protocol that produced it.
"""

from __future__ import annotations

import json

import numpy as np

from absl import app, flags, logging

from gan_jax import train
from gan_jax.evaluation import protocol


def _define_flags() -> None:
  """CLI flags, defined only when run as a program so the module imports cleanly."""
  flags.DEFINE_string('workdir', None, 'Run directory (holds config.json and checkpoints/).')
  flags.DEFINE_integer('num_samples', None, 'Generated samples to score; config.eval.num_samples by default.')
  flags.DEFINE_integer('step', None, 'Checkpoint step; the latest by default.')
  flags.DEFINE_bool('ema', None, "Score G's EMA parameters (--ema) or the raw ones (--noema); "
                    "the run's config.eval.ema by default.")
  flags.mark_flags_as_required(['workdir'])


def evaluate(workdir: str, num_samples: int | None = None, step: int | None = None,
             ema: bool | None = None) -> tuple[int, dict[str, float | list[float]], dict]:
  """(step, scores, protocol) for the checkpoint at `step` (latest by default).

  `ema` None follows the run's config.eval.ema; protocol['generator'] says which was scored.

  A run with num_seeds K > 1 gets a list of K values per score.
  """
  run = train.load_run(workdir)
  step = run.checkpointer.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f'No checkpoint in {run.checkpointer.directory}; train first.')
  state = run.checkpointer.restore(run.initial_state(), step)
  evaluator = protocol.Evaluator(run.config, num_samples, ema)
  per_seed = [evaluator(run, s) for s in run.seed_states(state)]
  if len(per_seed) == 1:
    return step, per_seed[0], evaluator.protocol
  return step, {k: [s[k] for s in per_seed] for k in per_seed[0]}, evaluator.protocol


def main(argv):
  del argv
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)
  f = flags.FLAGS
  step, scores, proto = evaluate(f.workdir, f.num_samples, f.step, f.ema)
  print(f'{f.workdir} at step {step}')
  source = '--ema flag' if f.ema is not None else 'config.eval.ema of the run'
  print(f"generator: {proto['generator']} parameters (from {source})")
  print(f'| {"metric":<16} | {"value":>12} |\n|{"-" * 18}|{"-" * 14}|')
  for name, value in scores.items():
    if isinstance(value, list):  # one value per seed: mean ± std, then each seed
      text = f'{np.mean(value):.5g} ± {np.std(value):.2g} ({", ".join(f"{v:.4g}" for v in value)})'
      print(f'| {name:<16} | {text} |')
    else:
      print(f'| {name:<16} | {value:>12.5g} |')
  print('protocol: ' + json.dumps(proto))


if __name__ == '__main__':
  _define_flags()
  app.run(main)
