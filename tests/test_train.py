"""End to end: a tiny mnist_dcgan run leaves its files, resumes, and can be sampled."""

import json
import os
import subprocess

import jax
import numpy as np
from PIL import Image

from conftest import ROOT, load_config, python_cmd
from gan_jax import evaluation, sample, train


def test_run_leaves_checkpoint_samples_and_metrics(dcgan_run):
  config, workdir, state = dcgan_run
  assert int(state.step) == config.train.num_steps == 6
  with open(os.path.join(workdir, 'config.json')) as f:
    assert json.load(f)['model']['name'] == 'dcgan'
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    rows = [json.loads(line) for line in f]
  assert [r['step'] for r in rows] == [2, 4, 6]
  assert {'d_loss', 'g_loss', 'd_accuracy', 'g_grad_norm'} <= set(rows[0])
  assert sorted(os.listdir(os.path.join(workdir, 'samples'))) == ['step_000003.png', 'step_000006.png']
  grid = np.asarray(Image.open(os.path.join(workdir, 'samples', 'step_000006.png')))
  assert grid.ndim == 2 and grid.std() > 0  # greyscale grid, not blank
  assert os.path.exists(os.path.join(workdir, 'loss_curves.png'))
  assert any(f.startswith('events.out.tfevents') for f in os.listdir(os.path.join(workdir, 'tensorboard')))
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['3', '6']


def test_periodic_evaluation_records_scores_protocol_and_best_checkpoint(dcgan_run):
  config, workdir, _ = dcgan_run
  with open(os.path.join(workdir, 'eval.jsonl')) as f:
    rows = [json.loads(line) for line in f]
  assert [r['step'] for r in rows] == [3, 6]
  for row in rows:
    assert {'fid', 'kid', 'precision', 'recall', 'density', 'coverage', 'score'} <= set(row)
    assert row['fid'] > 0 and 1.0 <= row['score'] <= 10.0
    proto = row['protocol']
    assert proto['fake_samples'] == config.eval.num_samples and proto['generator'] == 'ema'
    assert proto['classifier_sha256'] == evaluation.classifier.CHECKSUM
  best_step = min(rows, key=lambda r: r['fid'])['step']
  assert os.listdir(os.path.join(workdir, 'checkpoints_best')) == [str(best_step)]


def test_rerun_resumes_and_matches_an_uninterrupted_run(dcgan_run, tmp_path, capsys):
  config, workdir, _ = dcgan_run
  longer = load_config('mnist_dcgan')
  longer.train.num_steps = 9
  resumed_dir = str(tmp_path / 'resumed')
  # Copy the finished 6-step run, then ask for 9 steps: it must continue from step 6.
  subprocess.run(['cp', '-r', workdir, resumed_dir], check=True)
  resumed = train.train_and_evaluate(longer, resumed_dir)
  assert 'Resuming from the checkpoint at step 6.' in capsys.readouterr().out  # not a restart
  with open(os.path.join(resumed_dir, 'metrics.jsonl')) as f:
    assert [json.loads(line)['step'] for line in f] == [2, 4, 6, 8, 9]
  straight = train.train_and_evaluate(longer, str(tmp_path / 'straight'))
  for a, b in zip(jax.tree_util.tree_leaves(resumed), jax.tree_util.tree_leaves(straight)):
    np.testing.assert_array_equal(a, b)


def test_sample_is_deterministic_and_in_range(dcgan_run):
  _, workdir, _ = dcgan_run
  first, _ = sample.sample(workdir, num=5, seed=3)
  again, _ = sample.sample(workdir, num=5, seed=3)
  other, _ = sample.sample(workdir, num=5, seed=4)
  assert first.shape == (5, 28, 28, 1) and first.dtype == np.float32
  assert first.min() >= 0.0 and first.max() <= 1.0
  np.testing.assert_array_equal(first, again)
  assert np.abs(first - other).max() > 0


def test_command_lines(tmp_path):
  """The CLIs as a user types them: train a tiny run, then sample .npz and .png from it."""
  env = dict(os.environ, XLA_FLAGS='')  # one CPU device, like a laptop
  workdir = str(tmp_path / 'run')
  out = subprocess.run(python_cmd('-m', 'gan_jax.main', '--config=experiments/mnist_mlp.py:runlocal',
                                  f'--workdir={workdir}', '--config.train.num_steps=4'),
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr[-2000:]
  assert f'Workdir: {workdir}' in out.stdout
  npz = str(tmp_path / 's.npz')
  png = str(tmp_path / 's.png')
  for path in (npz, png):
    out = subprocess.run(python_cmd('-m', 'gan_jax.sample', f'--workdir={workdir}', '--num=8',
                                    f'--out={path}', '--seed=1'),
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
  samples = np.load(npz)['samples']
  assert samples.shape == (8, 28, 28, 1) and samples.dtype == np.float32
  assert Image.open(png).size[0] > 28
  out = subprocess.run(python_cmd('-m', 'gan_jax.evaluate', f'--workdir={workdir}', '--num_samples=300'),
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr[-2000:]
  assert f'{workdir} at step 4' in out.stdout
  assert '| fid ' in out.stdout and '"fake_samples": 300' in out.stdout
