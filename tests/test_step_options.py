"""Step options from the config: n_critic D updates, regularizers by name, lazy regularization."""

import jax
import numpy as np
import pytest

from conftest import load_config
from gan_jax import parallel, step as step_lib, train


def _run_steps(config, workdir, devices, steps=2):
  run = train.Run(config, workdir)
  runner = parallel.Runner(step_lib.make_train_step(config, run.g_model, run.d_model), devices)
  state = runner.put_state(run.initial_state())
  history = []
  for i in range(steps):
    state, metrics = runner.step(state, runner.put_batch(run.batches(i)))
    history.append(runner.mean_metrics([metrics]))
  return runner.get_state(state), history


def test_n_critic_and_penalties_match_across_device_counts(tmp_path):
  config = load_config('mnist_mlp')
  config.train.n_critic = 2
  config.loss.regularizers.r1 = 5.0
  config.loss.regularizers.lecam = 0.1
  devices = jax.local_devices()
  one, _ = _run_steps(config, str(tmp_path / 'one'), devices[:1])
  four, history = _run_steps(config, str(tmp_path / 'four'), devices[:4])
  for a, b in zip(jax.tree_util.tree_leaves(one), jax.tree_util.tree_leaves(four)):
    np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
  assert {'penalty_r1', 'penalty_lecam'} <= set(history[0])
  assert history[-1]['penalty_r1'] > 0


def test_each_d_update_takes_a_fresh_real_batch(tmp_path):
  config = load_config('mnist_mlp')
  config.train.n_critic = 3
  run = train.Run(config, str(tmp_path))
  batches = run.batches(1)
  assert batches.shape == (3, config.data.batch_size, 28, 28, 1)
  np.testing.assert_array_equal(batches[0], run.source.batch(3))
  np.testing.assert_array_equal(batches[2], run.source.batch(5))


def test_lazy_regularization_runs_every_k_steps(tmp_path):
  config = load_config('mnist_mlp')
  config.loss.regularizers.r1 = 1.0
  config.loss.reg_every = 2
  _, history = _run_steps(config, str(tmp_path), jax.local_devices()[:1], steps=3)
  assert history[0]['penalty_r1'] > 0
  assert history[1]['penalty_r1'] == 0
  assert history[2]['penalty_r1'] > 0


def test_lazy_penalty_is_scaled_by_k(tmp_path):
  # On a regularized step, weight w every k=2 steps gives D the gradient of weight 2w every
  # step (compared through its norm: Adam's first update is nearly sign(grad), too blunt).
  def first_step(weight, k, name):
    config = load_config('mnist_mlp')
    config.loss.regularizers.r1 = weight
    config.loss.reg_every = k
    return _run_steps(config, str(tmp_path / name), jax.local_devices()[:1], steps=1)[1][0]

  lazy, eager, plain = first_step(1.0, 2, 'lazy'), first_step(2.0, 1, 'eager'), first_step(0.0, 1, 'plain')
  np.testing.assert_allclose(lazy['d_grad_norm'], eager['d_grad_norm'], rtol=1e-5)
  assert abs(lazy['d_grad_norm'] - plain['d_grad_norm']) > 1e-3 * plain['d_grad_norm']


def test_unknown_regularizer_is_rejected():
  from gan_jax import validation
  config = load_config('mnist_mlp')
  config.loss.regularizers.unlock()
  config.loss.regularizers.r3 = 1.0
  with pytest.raises(validation.ConfigError, match="'r3' is not valid; choose one of: gp, r1"):
    validation.validate(config, num_devices=1)


def _short_toy_grid(loss_name, **overrides):
  config = load_config('toy_grid')  # runlocal: tiny MLPs
  config.loss.name = loss_name
  config.train.num_steps = 40
  for key, value in overrides.items():
    section, name = key.split('__')
    config[section][name] = value
  return config


@pytest.mark.parametrize('loss_name', ['minimax', 'nonsaturating', 'hinge', 'wasserstein',
                                       'least_squares', 'rpgan', 'ragan'])
def test_every_loss_family_trains_finite_on_toy_grid(loss_name, tmp_path):
  config = _short_toy_grid(loss_name)
  _, history = _run_steps(config, str(tmp_path), jax.local_devices()[:1], steps=config.train.num_steps)
  assert all(np.isfinite(v) for row in history for v in row.values())
  assert history[-1]['d_loss'] != history[0]['d_loss']


def test_wgan_gp_with_five_critic_steps(tmp_path):
  config = _short_toy_grid('wasserstein', train__n_critic=5)
  config.loss.regularizers.gp = 10.0
  state, history = _run_steps(config, str(tmp_path), jax.local_devices()[:1], steps=10)
  assert int(state.step) == 10
  assert all(np.isfinite(v) for row in history for v in row.values())
  assert history[-1]['penalty_gp'] >= 0


@pytest.mark.parametrize('experiment', ['mnist_mlp', 'mnist_dcgan'])
def test_spectral_norm_keeps_d_layers_at_unit_norm(experiment, tmp_path):
  config = load_config(experiment)
  config.model.d_spectral_norm = True
  state, history = _run_steps(config, str(tmp_path), jax.local_devices()[:1], steps=3)
  assert all(np.isfinite(v) for row in history for v in row.values())
  sigmas = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(state.d.batch_stats)
            if 'sigma' in jax.tree_util.keystr(path)]
  assert sigmas, 'spectral norm keeps its estimates in batch_stats'
  # Each stored sigma estimates the top singular value of the raw kernel it divides by.
  kernels = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(state.d.params)
             if 'kernel' in jax.tree_util.keystr(path)]
  true_top = sorted(float(np.linalg.svd(np.reshape(k, (-1, k.shape[-1])), compute_uv=False)[0])
                    for k in kernels)
  estimates = sorted(float(np.ravel(s)[0]) for s in sigmas)
  np.testing.assert_allclose(estimates, true_top, rtol=0.35)


def test_penalty_keys_differ_per_device():
  key = jax.random.PRNGKey(0)
  keys = jax.pmap(lambda _: step_lib.device_key(key, 'batch'), axis_name='batch')(np.arange(4))
  draws = jax.vmap(lambda k: jax.random.uniform(k, (3,)))(keys)
  assert len({tuple(np.asarray(d).round(6)) for d in draws}) == 4
