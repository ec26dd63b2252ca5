"""Never lose a run: unreadable checkpoints fall back, non-finite training stops or skips."""

import json
import os

import jax
import numpy as np
import pytest

from conftest import load_config
from gan_jax import checkpoint, train


def _tiny(num_steps, eval_every=None, **train_overrides):
  config = load_config('mnist_mlp')
  config.train.num_steps = num_steps
  if eval_every is not None:
    config.eval.every = eval_every
  for key, value in train_overrides.items():
    config.train[key] = value
  return config


def _largest_file(directory):
  files = [os.path.join(d, f) for d, _, fs in os.walk(directory) for f in fs]
  return max(files, key=os.path.getsize)


def test_truncated_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
  workdir = str(tmp_path)
  one_device = jax.local_devices()[:1]
  train.train_and_evaluate(_tiny(6), workdir, one_device)  # checkpoints at 3 and 6
  with open(_largest_file(os.path.join(workdir, 'checkpoints', '6')), 'r+b') as f:
    f.truncate(100)
  state = train.train_and_evaluate(_tiny(9), workdir, one_device)
  out = capsys.readouterr().out
  assert 'checkpoints/6 is unreadable' in out
  assert 'Resuming from the checkpoint at step 3.' in out
  assert int(state.step) == 9
  # Resumed from step 3, so steps 4..9 were trained again; the bad copy is kept aside.
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    assert [json.loads(line)['step'] for line in f] == [2, 4, 6, 8, 9]
  assert os.listdir(os.path.join(workdir, 'checkpoints_unreadable'))[0].startswith('6.')
  straight = train.train_and_evaluate(_tiny(9), str(tmp_path / 'straight'), one_device)
  for a, b in zip(jax.tree_util.tree_leaves(state), jax.tree_util.tree_leaves(straight)):
    np.testing.assert_array_equal(a, b)


def test_nan_stops_the_run_naming_network_step_and_kept_checkpoint(tmp_path):
  workdir = str(tmp_path)
  one_device = jax.local_devices()[:1]
  train.train_and_evaluate(_tiny(6), workdir, one_device)
  exploding = _tiny(30, log_every=2)
  exploding.optim.d_lr = 1e30  # D's weights overflow within a step or two
  with pytest.raises(train.NonFiniteError, match=r'in D( and G)? by step \d+; the last good '
                     r'checkpoint \(kept\) is .*checkpoints/6'):
    train.train_and_evaluate(exploding, workdir, one_device)
  assert '6' in os.listdir(os.path.join(workdir, 'checkpoints'))


def test_nan_between_log_steps_is_never_checkpointed(tmp_path):
  workdir = str(tmp_path)
  one_device = jax.local_devices()[:1]
  train.train_and_evaluate(_tiny(6, eval_every=0), workdir, one_device)  # checkpoints 3 and 6
  # Checkpoints every 3 steps but metrics only at step 30: the NaN state is first seen at a save.
  exploding = _tiny(30, log_every=30, eval_every=0)
  exploding.optim.d_lr = 1e30
  with pytest.raises(train.NonFiniteError, match=r'Non-finite parameters or optimizer state in '
                     r'D( and G)? by step 9; the last good checkpoint \(kept\) is .*checkpoints/6'):
    train.train_and_evaluate(exploding, workdir, one_device)
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['3', '6']


def test_checkpoint_of_another_config_is_an_error_and_stays_in_place(tmp_path):
  workdir = str(tmp_path)
  one_device = jax.local_devices()[:1]
  train.train_and_evaluate(_tiny(6, eval_every=0), workdir, one_device)
  wider = _tiny(9, eval_every=0)
  wider.model.d_hidden = (48,)
  with pytest.raises(checkpoint.ConfigMismatchError) as error:
    train.train_and_evaluate(wider, workdir, one_device)
  message = str(error.value)
  assert f'Checkpoint {workdir}/checkpoints/6 was written by a different config' in message
  assert 'd/params/Dense_0/bias has shape (32,) in the checkpoint but (48,) in this config' in message
  assert 'config.json' in message and 'new --workdir' in message
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['3', '6']
  assert not os.path.exists(os.path.join(workdir, 'checkpoints_unreadable'))
  with open(os.path.join(workdir, 'config.json')) as f:
    assert json.load(f)['model']['d_hidden'] == [32]  # still the config that wrote them


def test_skip_mode_keeps_the_state_finite_and_counts_skips(tmp_path):
  config = _tiny(8, log_every=4, on_nonfinite='skip')
  config.optim.d_lr = 1e30
  state = train.train_and_evaluate(config, str(tmp_path), jax.local_devices()[:1])
  assert int(state.step) == 8
  assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(state.g.params))
  with open(os.path.join(str(tmp_path), 'metrics.jsonl')) as f:
    rows = [json.loads(line) for line in f]
  assert sum(r['skipped'] for r in rows) > 0
