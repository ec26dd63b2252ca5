"""One train step: D improves on its batch, both networks move, metrics are sane."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import load_config
from gan_jax import losses, parallel, step as step_lib, train


def _d_loss_on(run, d_params, g_state, d_batch_stats, batch, z):
  """D's loss on (batch, G(z)) in train mode, computed outside the step."""
  g = run.g_model.clone(axis_name=None)
  fake = g.apply({'params': g_state.params, 'batch_stats': g_state.batch_stats}, z, train=True,
                 mutable=['batch_stats'])[0]
  d = run.d_model.clone(axis_name=None) if hasattr(run.d_model, 'axis_name') else run.d_model
  def logits(x):
    return d.apply({'params': d_params, 'batch_stats': d_batch_stats}, x, train=True,
                   mutable=['batch_stats'])[0]
  return float(losses.d_bce(logits(batch), logits(fake)))


@pytest.mark.parametrize('experiment', ['mnist_mlp', 'mnist_dcgan'])
def test_one_step_lowers_d_loss_and_moves_both_networks(experiment, tmp_path):
  config = load_config(experiment)
  run = train.Run(config, str(tmp_path))
  state = run.initial_state()
  batch = run.batches(0)  # [n_critic=1, B, ...]
  runner = parallel.Runner(step_lib.make_train_step(config, run.g_model, run.d_model),
                           jax.local_devices()[:1])
  new_state, metrics = runner.step(runner.put_state(state), runner.put_batch(batch))
  new_state = runner.get_state(new_state)
  metrics = runner.mean_metrics([metrics])

  # On one device the step's noise is the global noise: N(0, I) from its step key.
  z_key, _ = step_lib.step_keys(state.rng, 0, 0)
  z = jax.random.normal(z_key, (batch.shape[1], config.model.z_dim))
  before = _d_loss_on(run, state.d.params, state.g, state.d.batch_stats, batch[0], z)
  after = _d_loss_on(run, new_state.d.params, state.g, state.d.batch_stats, batch[0], z)
  assert after < before
  np.testing.assert_allclose(metrics['d_loss'], before, rtol=1e-5)

  for old, new in [(state.g.params, new_state.g.params), (state.d.params, new_state.d.params)]:
    changed = jax.tree_util.tree_map(lambda a, b: bool(np.any(np.asarray(a) != np.asarray(b))), old, new)
    assert all(jax.tree_util.tree_leaves(changed)), 'every parameter array should move'
  assert int(new_state.step) == 1
  # EMA after one step (decay 1/10 during warm-up) lies between the old and new G params.
  leaf = lambda t: np.asarray(jax.tree_util.tree_leaves(t)[0])
  np.testing.assert_allclose(leaf(new_state.ema_params),
                             0.1 * leaf(state.ema_params) + 0.9 * leaf(new_state.g.params), rtol=1e-5)
  assert set(metrics) == {'d_loss', 'g_loss', 'd_real_logit', 'd_fake_logit', 'd_accuracy',
                          'd_grad_norm', 'g_grad_norm'}
  assert 0.0 <= metrics['d_accuracy'] <= 1.0
  assert all(np.isfinite(v) for v in metrics.values())
