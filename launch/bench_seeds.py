"""Cost of K vmapped seeds against one seed (ms per train step), alternating A/B on this machine.

  python launch/bench_seeds.py [--experiments=toy_grid,mnist_mlp] [--seeds=4] [--rounds=5]

Runs each experiment's full config (steps_per_call forced to 1, so calls are single steps)
on one local device, timing blocks of steps for K=1 and K=seeds in turn; prints medians and
the ratio (K seeds cost / one seed cost; K means the ideal is K).
"""

from __future__ import annotations

import os
import tempfile
import time

import jax
import numpy as np
from absl import app, flags, logging

from gan_jax import hyper, train

_EXPERIMENTS = flags.DEFINE_list('experiments', ['toy_grid', 'mnist_mlp'], 'Experiment names.')
_SEEDS = flags.DEFINE_integer('seeds', 4, 'K for the vmapped case.')
_ROUNDS = flags.DEFINE_integer('rounds', 5, 'Alternating rounds (each: a block of K=1, a block of K).')
_STEPS = flags.DEFINE_integer('steps', 20, 'Timed steps per block.')


def _setup(name: str, seeds: int, workdir: str):
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  _, config = hyper.load_experiment(os.path.join(root, 'experiments', f'{name}.py'))
  config.num_seeds = seeds
  config.train.steps_per_call = 1
  run = train.Run(config, workdir)
  runner = run.runner(jax.local_devices()[:1])
  state = runner.put_state(run.initial_state())
  batches = [runner.put_batch(run.call_batches(i)) for i in range(4)]
  state, metrics = runner.step(state, batches[0])  # compile
  jax.block_until_ready(metrics)
  return {'runner': runner, 'state': state, 'batches': batches}


def _block(case: dict, steps: int) -> float:
  """Median ms per step over one block."""
  times = []
  for i in range(steps):
    t0 = time.perf_counter()
    case['state'], metrics = case['runner'].step(case['state'], case['batches'][i % 4])
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - t0)
  return float(np.median(times)) * 1e3


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  k = _SEEDS.value
  print(f'{"experiment":<12}{"1 seed ms":>11}{f"{k} seeds ms":>12}{"ratio":>8}{"per-seed cost":>15}')
  for name in _EXPERIMENTS.value:
    with tempfile.TemporaryDirectory() as w1, tempfile.TemporaryDirectory() as wk:
      cases = {1: _setup(name, 1, w1), k: _setup(name, k, wk)}
      ms = {1: [], k: []}
      for _ in range(_ROUNDS.value):
        for seeds in (1, k):
          ms[seeds].append(_block(cases[seeds], _STEPS.value))
    one, many = np.median(ms[1]), np.median(ms[k])
    print(f'{name:<12}{one:>11.2f}{many:>12.2f}{many / one:>8.2f}{many / one / k:>15.2f}', flush=True)


if __name__ == '__main__':
  app.run(main)
