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
  d_loss, g_loss = losses.get(name)
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


# --- The other families ---------------------------------------------------------------------

# The example of test_values_by_hand: real = [2, -1], fake = [0.5, -3], so E[r] = 0.5,
# E[f] = -1.25. Each entry: (D loss, G loss) worked out by hand.
_HAND = {
    'hinge': (np.mean([0.0, 2.0]) + np.mean([1.5, 0.0]), 1.25),
    'wasserstein': (-1.25 - 0.5, 1.25),
    'least_squares': (0.5 * np.mean([1.0, 4.0]) + 0.5 * np.mean([0.25, 9.0]),
                      0.5 * np.mean([0.25, 16.0])),
    'rpgan': (np.mean([softplus(-1.5), softplus(-2.0)]), np.mean([softplus(1.5), softplus(2.0)])),
    'ragan': (np.mean([softplus(-3.25), softplus(-0.25)]) + np.mean([softplus(0.0), softplus(-3.5)]),
              np.mean([softplus(0.0), softplus(3.5)]) + np.mean([softplus(3.25), softplus(0.25)])),
}


@pytest.mark.parametrize('name', sorted(_HAND))
def test_new_families_by_hand(name):
  d_loss, g_loss = losses.get(name)
  real, fake = jnp.array([2.0, -1.0]), jnp.array([0.5, -3.0])
  want_d, want_g = _HAND[name]
  np.testing.assert_allclose(d_loss(real, fake), want_d, rtol=1e-6)
  np.testing.assert_allclose(g_loss(real, fake), want_g, rtol=1e-6)


def _independent(name, r, f):
  """Each family written again with optax or plain numpy, per example."""
  bce = lambda t, y: np.asarray(optax.sigmoid_binary_cross_entropy(t, np.full_like(t, y)))
  if name in ('nonsaturating', 'minimax'):
    g = bce(f, 1.0) if name == 'nonsaturating' else -bce(f, 0.0)
    return bce(r, 1.0) + bce(f, 0.0), g
  if name == 'hinge':
    hinge = lambda t, y: np.asarray(optax.hinge_loss(t, np.full_like(t, y)))
    return hinge(r, 1.0) + hinge(f, -1.0), -f
  if name == 'wasserstein':
    return f - r, -f
  if name == 'least_squares':
    l2 = lambda t, y: np.asarray(optax.l2_loss(t, np.full_like(t, y)))
    return l2(r, 1.0) + l2(f, 0.0), l2(f, 1.0)
  if name == 'rpgan':  # D(x_r, x_f) = sigmoid(r - f) labelled 1; G's is sigmoid(f - r)
    return bce(r - f, 1.0), bce(f - r, 1.0)
  if name == 'ragan':
    d = bce(r - f.mean(), 1.0) + bce(f - r.mean(), 0.0)
    return d, bce(f - r.mean(), 1.0) + bce(r - f.mean(), 0.0)
  raise AssertionError(name)


@pytest.mark.parametrize('name', losses.NAMES)
def test_matches_independent_formulation(name):
  rng = np.random.default_rng(1)
  real, fake = 3 * rng.standard_normal((2, 32), np.float32)
  d_loss, g_loss = losses.get(name)
  want_d, want_g = _independent(name, real, fake)
  np.testing.assert_allclose(d_loss(real, fake, reduction=None), want_d, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(g_loss(real, fake, reduction=None), want_g, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(d_loss(real, fake), want_d.mean(), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(g_loss(real, fake), want_g.mean(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('name', losses.NAMES)
def test_gradient_signs_all_families(name):
  # Logits in (0, 1), where every family (least squares included, a=0, b=1) still has a
  # gradient: D raises real logits and lowers fake ones, G raises fake logits.
  d_loss, g_loss = losses.get(name)
  real = jnp.array([0.2, 0.4, 0.6, 0.8])
  fake = real[::-1]
  g_real, g_fake = jax.grad(d_loss, argnums=(0, 1))(real, fake)
  assert jnp.all(g_real < 0) and jnp.all(g_fake > 0)
  assert jnp.all(jax.grad(g_loss, argnums=1)(real, fake) < 0)


@pytest.mark.parametrize('name', losses.NAMES)
def test_per_example_bfloat16_jit_vmap(name):
  d_loss, g_loss = losses.get(name)
  real = jnp.array([1.0, 2.0, -0.5], jnp.bfloat16)
  fake = jnp.array([0.0, -1.0, 0.25], jnp.bfloat16)
  for fn in (d_loss, g_loss):
    per = fn(real, fake, reduction=None)
    assert per.shape == (3,) and per.dtype == jnp.float32
    mean = fn(real, fake)
    assert mean.shape == () and mean.dtype == jnp.float32
    np.testing.assert_allclose(jnp.mean(per), mean, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(fn)(real, fake), mean, rtol=1e-6)
    stacked = jax.vmap(fn)(jnp.stack([real, fake]), jnp.stack([fake, real]))
    np.testing.assert_allclose(stacked, [mean, fn(fake, real)], rtol=1e-6)


def test_registry_covers_all_families():
  assert set(losses.NAMES) == {'minimax', 'nonsaturating', 'hinge', 'wasserstein',
                               'least_squares', 'rpgan', 'ragan'}
  assert sorted(losses.RELATIVISTIC) == ['ragan', 'rpgan']
  pair = losses.get('hinge')
  assert isinstance(pair, losses.LossPair) and tuple(pair) == (losses.d_hinge, losses.g_hinge)
  with pytest.raises(ValueError, match='least_squares, rpgan, ragan'):
    losses.get('lsgan')


@pytest.mark.parametrize('g_loss', [losses.g_rpgan, losses.g_ragan])
def test_relativistic_g_needs_real_logits(g_loss):
  with pytest.raises(ValueError, match='needs real_logits'):
    g_loss(None, jnp.zeros(2))


def test_reduction_is_checked():
  with pytest.raises(ValueError, match="'mean' or None"):
    losses.d_hinge(jnp.zeros(2), jnp.zeros(2), reduction='sum')
