"""Several steps per compiled call (train.steps_per_call) and K vmapped seeds (num_seeds)."""

import json
import os

import jax
import numpy as np
import pytest
from jax import monitoring

from conftest import load_config
from gan_jax import evaluate, sample, train, validation


def _leaves(state):
  return jax.tree_util.tree_leaves((state.g, state.d, state.ema_params, state.step))


def _toy(**overrides):
  config = load_config('toy_grid')
  config.train.num_steps = 6
  config.train.log_every = 3
  config.train.sample_every = 6
  config.train.checkpoint_every = 6
  config.eval.every = 6
  for key, value in overrides.items():
    section, name = key.split('.') if '.' in key else (None, key)
    (config[section] if section else config)[name] = value
  return config


def test_three_steps_per_call_equal_three_calls_of_one(tmp_path):
  devices = jax.local_devices()[:2]
  one = train.train_and_evaluate(_toy(), str(tmp_path / 'one'), devices)
  three = train.train_and_evaluate(_toy(**{'train.steps_per_call': 3}), str(tmp_path / 'three'),
                                   devices)
  assert int(three.step) == 6
  for a, b in zip(_leaves(one), _leaves(three)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  # The log lines average the same steps either way.
  rows = [[json.loads(line) for line in open(tmp_path / name / 'metrics.jsonl')]
          for name in ('one', 'three')]
  assert [r['step'] for r in rows[0]] == [r['step'] for r in rows[1]] == [3, 6]
  np.testing.assert_allclose(rows[0][-1]['d_loss'], rows[1][-1]['d_loss'], rtol=1e-4)


def test_k_vmapped_seeds_equal_separate_single_seed_runs(tmp_path):
  devices = jax.local_devices()[:2]
  stacked = train.train_and_evaluate(_toy(num_seeds=3, seed=5), str(tmp_path / 'k3'), devices)
  assert np.shape(stacked.step) == (3,)
  for i in range(3):
    single = train.train_and_evaluate(_toy(seed=5 + i), str(tmp_path / f'seed{i}'), devices)
    for a, b in zip(_leaves(single), _leaves(stacked)):
      np.testing.assert_allclose(a, np.asarray(b)[i], rtol=1e-5, atol=1e-6)
  # Metrics and scores carry one value per seed; samples are written per seed.
  last = [json.loads(line) for line in open(tmp_path / 'k3' / 'metrics.jsonl')][-1]
  assert len(last['d_loss']) == 3 and last['d_loss'][0] != last['d_loss'][1]
  scores = [json.loads(line) for line in open(tmp_path / 'k3' / 'eval.jsonl')][-1]
  assert len(scores['modes']) == 3
  samples = sorted(os.listdir(tmp_path / 'k3' / 'samples'))
  assert samples == [f'step_000006_seed{i}.png' for i in range(3)]
  # The CLIs' functions read such a workdir: scores per seed, samples of a chosen seed.
  step, scores, _ = evaluate.evaluate(str(tmp_path / 'k3'), num_samples=100)
  assert step == 6 and len(scores['high_quality']) == 3
  points = sample.sample(str(tmp_path / 'k3'), 50, seed_index=2)[0]
  single = sample.sample(str(tmp_path / 'seed2'), 50)[0]
  np.testing.assert_allclose(points, single, rtol=1e-5, atol=1e-5)
  with pytest.raises(ValueError, match='--seed_index=3 is out of range'):
    sample.sample(str(tmp_path / 'k3'), 50, seed_index=3)


def test_the_step_compiles_once(tmp_path):
  config = _toy(**{'train.steps_per_call': 3})
  run = train.Run(config, str(tmp_path))
  runner = run.runner(jax.local_devices()[:2])
  state = runner.put_state(run.initial_state())
  compiles = []
  monitoring.register_event_duration_secs_listener(
      lambda name, *args, **kwargs: compiles.append(name) if 'backend_compile' in name else None)
  state, metrics = runner.step(state, runner.put_batch(run.call_batches(0)))
  jax.block_until_ready(metrics)
  first = len(compiles)
  assert first >= 1
  for call in range(1, 5):  # new data every call, same shapes: no new executable
    state, metrics = runner.step(state, runner.put_batch(run.call_batches(3 * call)))
  jax.block_until_ready(metrics)
  assert len(compiles) == first


@pytest.mark.parametrize('key, value, message', [
    ('train.steps_per_call', 0, 'config.train.steps_per_call=0 must be an integer >= 1'),
    ('train.steps_per_call', 4, 'config.train.num_steps=6 must be a multiple of '
                                'config.train.steps_per_call=4'),
    ('num_seeds', 0, 'config.num_seeds=0 must be an integer >= 1'),
])
def test_bad_call_and_seed_settings_are_named(key, value, message):
  with pytest.raises(validation.ConfigError, match=message.replace('.', r'\.')):
    validation.validate(_toy(**{key: value}), num_devices=1)
