"""A run SIGKILLed at any point and restarted with the same command ends bitwise identical."""

import os
import signal
import subprocess
import time

import jax
import numpy as np
import pytest

from conftest import ROOT, load_config, python_cmd
from gan_jax import train

NUM_STEPS = 150


def _command(workdir):
  return python_cmd('-m', 'gan_jax.main', '--config=experiments/mnist_mlp.py:runlocal',
                    f'--workdir={workdir}', f'--config.train.num_steps={NUM_STEPS}',
                    '--config.train.log_every=4', '--config.train.checkpoint_every=7',
                    '--config.train.sample_every=1000', '--config.eval.every=30')


_ENV = dict(os.environ, XLA_FLAGS='')  # one CPU device, as a user's laptop run


def _checkpoint_steps(workdir):
  """Finished checkpoints (orbax's in-progress saves have non-numeric names)."""
  directory = os.path.join(workdir, 'checkpoints')
  return sorted(int(d) for d in os.listdir(directory) if d.isdigit()) if os.path.isdir(directory) else []


def _final_state(workdir):
  config = load_config('mnist_mlp')
  run = train.Run(config, workdir)
  try:
    return run.checkpointer.restore(run.initial_state(), NUM_STEPS)
  finally:
    run.checkpointer.close()


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('uninterrupted'))
  subprocess.run(_command(workdir), cwd=ROOT, env=_ENV, check=True, capture_output=True, timeout=300)
  return _final_state(workdir)


@pytest.mark.parametrize('kill_after_lines', [2, 8, 20])
def test_sigkill_then_restart_matches_uninterrupted_run(kill_after_lines, uninterrupted, tmp_path):
  workdir = str(tmp_path)
  metrics = os.path.join(workdir, 'metrics.jsonl')
  proc = subprocess.Popen(_command(workdir), cwd=ROOT, env=_ENV, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  deadline = time.time() + 120
  while time.time() < deadline and proc.poll() is None:
    # Kill only once a checkpoint exists, so the restart has something to resume from.
    if os.path.exists(metrics) and _checkpoint_steps(workdir):
      with open(metrics) as f:
        if sum(1 for _ in f) >= kill_after_lines:
          break
    time.sleep(0.02)
  assert proc.poll() is None, 'the run finished before it could be killed'
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  saved = _checkpoint_steps(workdir)
  assert saved and saved[-1] < NUM_STEPS, saved
  out = subprocess.run(_command(workdir), cwd=ROOT, env=_ENV, capture_output=True, text=True,
                       timeout=300)
  assert out.returncode == 0, out.stderr[-2000:]
  # It resumed from the newest checkpoint on disk at kill time, not from scratch.
  assert f'Resuming from the checkpoint at step {saved[-1]}.' in out.stdout, out.stdout[-2000:]
  resumed = _final_state(workdir)
  for name in ('g', 'd'):
    for a, b in zip(jax.tree_util.tree_leaves(getattr(resumed, name)),
                    jax.tree_util.tree_leaves(getattr(uninterrupted, name))):
      np.testing.assert_array_equal(a, b)  # params, optimizer state, BatchNorm statistics
  for a, b in zip(jax.tree_util.tree_leaves(resumed.ema_params),
                  jax.tree_util.tree_leaves(uninterrupted.ema_params)):
    np.testing.assert_array_equal(a, b)
