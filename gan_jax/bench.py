"""Step-speed benchmark: compile seconds and median ms/step of experiments' train steps.

  python -m gan_jax.bench [--experiments=mnist_dcgan,mnist_mlp] [--steps=30] [--json=FILE]

Runs each experiment's full (not runlocal) config on one local device with its real data
source, timing each step to completion. Prints a table and, with --json, one record each.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
import time

import jax
import numpy as np
from absl import app, flags, logging

from gan_jax import parallel, step as step_lib, train

_EXPERIMENTS = flags.DEFINE_list('experiments', ['mnist_dcgan', 'mnist_mlp'], 'Experiment names.')
_STEPS = flags.DEFINE_integer('steps', 30, 'Timed steps per experiment (after 3 warm-up steps).')
_JSON = flags.DEFINE_string('json', None, 'Append JSON records here.')

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_experiment(name: str, arg: str | None = None):
  path = os.path.join(_ROOT, 'experiments', f'{name}.py')
  spec = importlib.util.spec_from_file_location(f'experiment_{name}', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def bench(name: str, steps: int) -> dict:
  config = load_experiment(name)
  with tempfile.TemporaryDirectory() as workdir:
    run = train.Run(config, workdir)
    runner = parallel.Runner(step_lib.make_train_step(config, run.g_model, run.d_model),
                             jax.local_devices()[:1], config.parallel)
    state = runner.put_state(run.initial_state())
    batches = [runner.put_batch(run.source.batch(i)) for i in range(4)]
    t0 = time.perf_counter()
    runner.compile(state, batches[0])
    compile_s = time.perf_counter() - t0
    times = []
    for i in range(steps + 3):
      t0 = time.perf_counter()
      state, metrics = runner.step(state, batches[i % len(batches)])
      jax.block_until_ready(metrics)
      times.append(time.perf_counter() - t0)
  ms = np.array(times[3:]) * 1e3
  return {'experiment': name, 'batch_size': config.data.batch_size, 'compile_s': round(compile_s, 2),
          'median_ms': round(float(np.median(ms)), 2),
          'p10_ms': round(float(np.percentile(ms, 10)), 2), 'p90_ms': round(float(np.percentile(ms, 90)), 2),
          'images_per_s': round(config.data.batch_size / float(np.median(ms)) * 1e3, 1),
          'backend': jax.default_backend(), 'jax': jax.__version__}


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  print(f'{"experiment":<14}{"compile s":>10}{"median ms":>11}{"p10-p90 ms":>16}{"samples/s":>11}')
  for name in _EXPERIMENTS.value:
    r = bench(name, _STEPS.value)
    print(f'{name:<14}{r["compile_s"]:>10.2f}{r["median_ms"]:>11.2f}'
          f'{r["p10_ms"]:>8.1f}-{r["p90_ms"]:<7.1f}{r["images_per_s"]:>11.1f}', flush=True)
    if _JSON.value:
      with open(_JSON.value, 'a') as f:
        f.write(json.dumps(r) + '\n')


if __name__ == '__main__':
  app.run(main)
