"""Two real JAX processes (jax.distributed on 127.0.0.1, gloo CPU collectives) train like one."""

import os
import socket
import subprocess

import jax
import numpy as np
import pytest

from conftest import ROOT, load_config, python_cmd
from gan_jax import train


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _flags(workdir, mode):
  # BatchNorm in G and D makes the check cover cross-process statistics too.
  return ['--config=experiments/mnist_mlp.py:runlocal', f'--workdir={workdir}',
          '--config.train.num_steps=4', '--config.eval.every=0', '--config.data.batch_size=16',
          f'--config.parallel={mode}']


@pytest.mark.parametrize('mode', ['pmap', 'shard_map'])
def test_two_processes_match_one_process_on_the_same_global_batch(tmp_path, mode):
  workdir = str(tmp_path / 'two')
  port = _free_port()
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=2', JAX_PLATFORMS='cpu')
  procs = [subprocess.Popen(
      python_cmd('-m', 'gan_jax.main', *_flags(workdir, mode), f'--coordinator_address=127.0.0.1:{port}',
                 '--num_processes=2', f'--process_id={i}'),
      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
      for i in range(2)]
  outputs = [p.communicate(timeout=300)[0] for p in procs]
  for p, out in zip(procs, outputs):
    assert p.returncode == 0, out[-3000:]
  # Only process 0 writes logs and samples; both wrote their share of the checkpoint.
  assert 'Process 1 of 2: 2 local of 4 devices.' in outputs[1]
  assert 'Done. Workdir' in outputs[0]
  assert len(open(os.path.join(workdir, 'metrics.jsonl')).readlines()) == 2

  config = load_config('mnist_mlp')
  config.train.num_steps = 4
  config.eval.every = 0
  config.data.batch_size = 16
  config.parallel = mode
  one = train.train_and_evaluate(config, str(tmp_path / 'one'), jax.local_devices()[:4])
  run = train.Run(config, workdir)
  two = run.checkpointer.restore(run.initial_state(), 4)
  run.checkpointer.close()
  for a, b in zip(jax.tree_util.tree_leaves((one.g, one.d, one.ema_params)),
                  jax.tree_util.tree_leaves((two.g, two.d, two.ema_params))):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
