"""Scores a run's checkpoint and prints a table.

  python -m gan_jax.evaluate --workdir=DIR [--num_samples=N] [--step=S] [--noema]

Uses the run's config.eval (metrics, sample count) unless overridden; prints each score and
the protocol that produced it.
"""

from __future__ import annotations

import json

from absl import app, flags, logging

from gan_jax import train
from gan_jax.evaluation import protocol

_WORKDIR = flags.DEFINE_string('workdir', None, 'Run directory (holds config.json and checkpoints/).')
_NUM = flags.DEFINE_integer('num_samples', None, 'Generated samples to score; config.eval.num_samples by default.')
_STEP = flags.DEFINE_integer('step', None, 'Checkpoint step; the latest by default.')
_EMA = flags.DEFINE_bool('ema', True, "Score G's EMA parameters (the default) or the raw ones.")
flags.mark_flags_as_required(['workdir'])


def evaluate(workdir: str, num_samples: int | None = None, step: int | None = None,
             ema: bool = True) -> tuple[int, dict[str, float], dict]:
  """(step, scores, protocol) for the checkpoint at `step` (latest by default)."""
  run = train.load_run(workdir)
  step = run.checkpointer.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f'No checkpoint in {run.checkpointer.directory}; train first.')
  state = run.checkpointer.restore(run.initial_state(), step)
  evaluator = protocol.Evaluator(run.config, num_samples, ema)
  return step, evaluator(run, state), evaluator.protocol


def main(argv):
  del argv
  if not flags.FLAGS['verbosity'].present:
    logging.set_verbosity(logging.WARNING)
  step, scores, proto = evaluate(_WORKDIR.value, _NUM.value, _STEP.value, _EMA.value)
  print(f'{_WORKDIR.value} at step {step}')
  print(f'| {"metric":<16} | {"value":>12} |\n|{"-" * 18}|{"-" * 14}|')
  for name, value in scores.items():
    print(f'| {name:<16} | {value:>12.5g} |')
  print('protocol: ' + json.dumps(proto))


if __name__ == '__main__':
  app.run(main)
