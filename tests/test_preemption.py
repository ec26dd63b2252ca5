"""SIGTERM saves a checkpoint at the next step boundary and exits with code 75; rerun resumes."""

import json
import os
import signal
import subprocess
import time

from conftest import ROOT, python_cmd
from gan_jax import train


def test_sigterm_saves_and_exits_then_resumes(tmp_path):
  workdir = str(tmp_path)
  args = python_cmd('-m', 'gan_jax.main', '--config=experiments/toy_ring.py:runlocal',
                    f'--workdir={workdir}', '--config.train.num_steps=1000000',
                    '--config.train.log_every=20', '--config.train.checkpoint_every=1000000',
                    '--config.train.sample_every=1000000')
  env = dict(os.environ, XLA_FLAGS='')
  proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
  metrics = os.path.join(workdir, 'metrics.jsonl')
  deadline = time.time() + 120
  while not (os.path.exists(metrics) and os.path.getsize(metrics)) and time.time() < deadline:
    time.sleep(0.2)
  assert proc.poll() is None, proc.stderr.read()[-2000:]
  proc.send_signal(signal.SIGTERM)
  sent = time.time()
  stdout, stderr = proc.communicate(timeout=60)
  assert time.time() - sent < 10
  assert proc.returncode == train.PREEMPTED_EXIT_CODE, stderr[-2000:]
  assert 'Run the same command again to resume' in stdout
  saved = [int(d) for d in os.listdir(os.path.join(workdir, 'checkpoints')) if d.isdigit()]
  assert len(saved) == 1 and saved[0] > 0

  # The same command (with an end in sight) continues from the saved step.
  args[-4] = f'--config.train.num_steps={saved[0] + 5}'
  out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
  assert out.returncode == 0, out.stderr[-2000:]
  assert f'Resuming from the checkpoint at step {saved[0]}' in out.stdout
  with open(metrics) as f:
    assert json.loads(f.readlines()[-1])['step'] == saved[0] + 5
