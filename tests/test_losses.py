"""The seed's losses: exact values, stability, and agreement with optax's BCE."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gan_jax import losses


def softplus(t):
  return math.log1p(math.exp(t)) if t < 30 else t + math.log1p(math.exp(-t))


def test_values_by_hand():
  real = jnp.array([2.0, -1.0])
  fake = jnp.array([0.5, -3.0])
  want_d = (np.mean([softplus(-2.0), softplus(1.0)]) + np.mean([softplus(0.5), softplus(-3.0)]))
  np.testing.assert_allclose(losses.d_bce(real, fake), want_d, rtol=1e-6)
  np.testing.assert_allclose(losses.g_nonsaturating(real, fake),
                             np.mean([softplus(-0.5), softplus(3.0)]), rtol=1e-6)
  np.testing.assert_allclose(losses.g_minimax(real, fake),
                             -np.mean([softplus(0.5), softplus(-3.0)]), rtol=1e-6)
  # At logit 0, D outputs 1/2 and every BCE term is log 2.
  zero = jnp.zeros(3)
  np.testing.assert_allclose(losses.d_bce(zero, zero), 2 * math.log(2), rtol=1e-6)
  np.testing.assert_allclose(losses.g_nonsaturating(None, zero), math.log(2), rtol=1e-6)


def test_matches_optax_bce():
  key1, key2 = jax.random.split(jax.random.PRNGKey(0))
  real = 3 * jax.random.normal(key1, (64,))
  fake = 3 * jax.random.normal(key2, (64,))
  bce = optax.sigmoid_binary_cross_entropy
  want_d = jnp.mean(bce(real, jnp.ones_like(real))) + jnp.mean(bce(fake, jnp.zeros_like(fake)))
  np.testing.assert_allclose(losses.d_bce(real, fake), want_d, rtol=1e-5)
  np.testing.assert_allclose(losses.g_nonsaturating(real, fake),
                             jnp.mean(bce(fake, jnp.ones_like(fake))), rtol=1e-5)
  np.testing.assert_allclose(losses.g_minimax(real, fake),
                             -jnp.mean(bce(fake, jnp.zeros_like(fake))), rtol=1e-5)


@pytest.mark.parametrize('name', losses.NAMES)
def test_finite_values_and_gradients_at_extreme_logits(name):
  d_loss, g_loss = losses.get(name)[:2]
  real = jnp.array([100.0, -100.0, 0.0])
  fake = jnp.array([-100.0, 100.0, 0.0])
  for fn in (d_loss, g_loss):
    value, grads = jax.value_and_grad(fn, argnums=(0, 1))(real, fake)
    assert jnp.isfinite(value)
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)
  # Confidently wrong D pays ~100 per wrong term; confidently right D pays ~0.
  np.testing.assert_allclose(losses.d_bce(jnp.array([100.0]), jnp.array([-100.0])), 0.0, atol=1e-6)
  np.testing.assert_allclose(losses.d_bce(jnp.array([-100.0]), jnp.array([100.0])), 200.0, rtol=1e-6)


def test_gradient_signs():
  # D lowers its loss by raising real logits and lowering fake ones; G by raising fake logits.
  real, fake = jnp.zeros(4), jnp.zeros(4)
  g_real, g_fake = jax.grad(losses.d_bce, argnums=(0, 1))(real, fake)
  assert jnp.all(g_real < 0) and jnp.all(g_fake > 0)
  for g_loss in (losses.g_nonsaturating, losses.g_minimax):
    assert jnp.all(jax.grad(g_loss, argnums=1)(real, fake) < 0)


def test_nonsaturating_gradient_does_not_vanish_when_d_wins():
  fake = jnp.array([-10.0])  # D is sure the fake is fake
  ns = jax.grad(losses.g_nonsaturating, argnums=1)(None, fake)
  mm = jax.grad(losses.g_minimax, argnums=1)(None, fake)
  assert abs(float(ns[0])) > 0.99 and abs(float(mm[0])) < 1e-4


def test_per_example_reduction_and_bfloat16():
  real = jnp.array([1.0, 2.0], jnp.bfloat16)
  fake = jnp.array([0.0, -1.0], jnp.bfloat16)
  per = losses.d_bce(real, fake, reduction=None)
  assert per.shape == (2,) and per.dtype == jnp.float32
  np.testing.assert_allclose(jnp.mean(per), losses.d_bce(real, fake), rtol=1e-6)


def test_registry_rejects_unknown_names():
  with pytest.raises(ValueError, match='valid names: nonsaturating, minimax'):
    losses.get('hinge_typo')
