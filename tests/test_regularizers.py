"""Penalties against closed forms: a linear D (input gradient w everywhere) and a quadratic D
(input gradient x), plus LeCam and consistency by hand and spectral norm against the SVD."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import augment, regularizers as reg

SHAPE = (5, 3, 2, 2)  # N, H, W, C: small images; penalties see them flattened per example


def linear_d(w):
  return lambda x: x.reshape(x.shape[0], -1) @ w.astype(x.dtype)


def quadratic_d(x):
  return 0.5 * jnp.sum(jnp.square(x.reshape(x.shape[0], -1)), axis=1)


def norms(x):
  return np.linalg.norm(np.asarray(x, np.float64).reshape(x.shape[0], -1), axis=1)


@pytest.fixture
def data():
  # numpy's RNG for test data: every jax.random shape is another compile.
  rng = np.random.default_rng(0)
  w = 0.3 * rng.standard_normal(12, np.float32)
  return tuple(jnp.asarray(a) for a in (w, rng.standard_normal(SHAPE, np.float32),
                                        rng.standard_normal(SHAPE, np.float32)))


def test_linear_d_closed_forms(data):
  w, real, fake = data
  d_fn, key = linear_d(w), jax.random.PRNGKey(1)
  sq = float(jnp.sum(w ** 2))
  np.testing.assert_allclose(reg.r1(d_fn, real), sq, rtol=1e-5)
  np.testing.assert_allclose(reg.r2(d_fn, fake), sq, rtol=1e-5)
  one_centred = (np.sqrt(sq) - 1) ** 2
  np.testing.assert_allclose(reg.gradient_penalty(d_fn, real, fake, key), one_centred, rtol=1e-5)
  np.testing.assert_allclose(reg.dragan(d_fn, real, key), one_centred, rtol=1e-5)
  np.testing.assert_allclose(reg.dragan(d_fn, real, key, interpolate=False), one_centred, rtol=1e-5)


def test_quadratic_d_closed_forms(data):
  _, real, fake = data
  key = jax.random.PRNGKey(2)
  np.testing.assert_allclose(reg.r1(quadratic_d, real), np.mean(norms(real) ** 2), rtol=1e-5)
  np.testing.assert_allclose(reg.r2(quadratic_d, fake), np.mean(norms(fake) ** 2), rtol=1e-5)
  # real == fake pins every interpolate to real itself.
  np.testing.assert_allclose(reg.gradient_penalty(quadratic_d, real, real, key),
                             np.mean((norms(real) - 1) ** 2), rtol=1e-5)
  x_hat = reg.random_interpolates(real, fake, key)
  np.testing.assert_allclose(reg.gradient_penalty(quadratic_d, real, fake, key),
                             np.mean((norms(x_hat) - 1) ** 2), rtol=1e-5)
  x_p = reg.dragan_perturb(real, key)
  np.testing.assert_allclose(reg.dragan(quadratic_d, real, key), np.mean((norms(x_p) - 1) ** 2),
                             rtol=1e-5)


def test_interpolates_lie_on_the_segment(data):
  _, real, fake = data
  x_hat = reg.random_interpolates(real, fake, jax.random.PRNGKey(3))
  eps = (x_hat - fake) / (real - fake)  # one eps per example, in [0, 1]
  np.testing.assert_allclose(eps, jnp.broadcast_to(eps[:, :1, :1, :1], SHAPE), atol=1e-4)
  assert jnp.all((eps >= 0) & (eps <= 1)) and jnp.std(eps[:, 0, 0, 0]) > 0


def test_dragan_perturbation_scale(data):
  _, real, _ = data
  key = jax.random.PRNGKey(4)
  big = jnp.asarray(np.random.default_rng(1).standard_normal((64, 8, 8, 1), np.float32))

  @jax.jit
  def deltas(x):
    return (reg.dragan_perturb(x, key) - x,
            reg.dragan_perturb(x, key, interpolate=False) - x)

  bound = 0.5 * float(jnp.std(real))
  for delta in deltas(real):
    assert jnp.all(delta >= 0) and jnp.all(delta <= bound + 1e-6)
  # Without interpolation delta / bound is U[0, 1) elementwise: its mean is near 1/2.
  u = deltas(big)[1] / (0.5 * jnp.std(big))
  assert abs(float(jnp.mean(u)) - 0.5) < 0.02


def test_grads_wrt_d_params(data):
  w, real, fake = data
  key = jax.random.PRNGKey(5)

  @jax.jit
  def grads(w_):
    return [jax.grad(lambda v: penalty(linear_d(v)))(w_) for penalty in (
        lambda d: reg.r1(d, real),
        lambda d: reg.gradient_penalty(d, real, fake, key),
        lambda d: reg.dragan(d, real, key))]

  r1_grad, gp_grad, dragan_grad = grads(w)
  np.testing.assert_allclose(r1_grad, 2 * w, rtol=1e-5)
  norm = jnp.linalg.norm(w)
  want = 2 * (norm - 1) * w / norm  # d/dw (||w|| - 1)^2
  np.testing.assert_allclose(gp_grad, want, rtol=1e-4)
  np.testing.assert_allclose(dragan_grad, want, rtol=1e-4)
  # A D with zero input gradient gives a finite one-centred penalty gradient.
  assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads(jnp.zeros(12)))


def test_jit_vmap_and_bfloat16(data):
  w, real, fake = data
  key = jax.random.PRNGKey(6)
  d_fn = linear_d(w)
  penalties = {
      'r1': lambda r, f, k: reg.r1(d_fn, r),
      'r2': lambda r, f, k: reg.r2(d_fn, f),
      'gp': lambda r, f, k: reg.gradient_penalty(d_fn, r, f, k),
      'dragan': lambda r, f, k: reg.dragan(quadratic_d, r, k),
      'cr': lambda r, f, k: reg.consistency(quadratic_d, r, k, augment.translation),
  }
  keys = jax.random.split(key, 2)

  @jax.jit  # one compile for everything: each penalty plain, vmapped, and on bfloat16
  def run(real, fake):
    out = {}
    for name, fn in penalties.items():
      out[name] = (fn(real, fake, keys[0]), fn(fake, real, keys[1]),
                   jax.vmap(fn)(jnp.stack([real, fake]), jnp.stack([fake, real]), keys),
                   fn(real.astype(jnp.bfloat16), fake.astype(jnp.bfloat16), keys[0]))
    return out

  for name, (first, second, stacked, low) in run(real, fake).items():
    np.testing.assert_allclose(stacked, [first, second], rtol=1e-5, err_msg=name)
    assert low.dtype == jnp.float32 and jnp.isfinite(low), name
    np.testing.assert_allclose(low, first, rtol=0.05, atol=1e-2, err_msg=name)
  # A bfloat16 D (its input gradient is bfloat16) still gives float32 penalties.
  low_d = lambda x: quadratic_d(x).astype(jnp.bfloat16)
  assert reg.r1(low_d, real.astype(jnp.bfloat16)).dtype == jnp.float32


def test_lecam_by_hand():
  state = reg.lecam_init()
  assert state.ema_real.dtype == jnp.float32 and float(state.ema_real) == 0.0
  state = jax.jit(functools.partial(reg.lecam_update, decay=0.9))(
      state, jnp.array([1.0, 3.0]), jnp.array([-2.0, 0.0], jnp.bfloat16))
  np.testing.assert_allclose(state, (0.2, -0.1), rtol=1e-6)
  assert state.ema_fake.dtype == jnp.float32
  real, fake = jnp.array([1.0, -0.5]), jnp.array([0.5, -1.0])
  # relu(r - (-0.1))^2 = [1.21, 0]; relu(0.2 - f)^2 = [0, 1.44].
  np.testing.assert_allclose(reg.lecam(real, fake, state), 0.605 + 0.72, rtol=1e-6)
  g_real, g_fake, g_state = jax.grad(reg.lecam, argnums=(0, 1, 2))(real, fake, state)
  np.testing.assert_allclose(g_real, [1.1, 0.0], rtol=1e-6)  # d/dr mean(relu(r + 0.1)^2)
  np.testing.assert_allclose(g_fake, [0.0, -1.2], rtol=1e-6)
  assert float(g_state.ema_real) == 0.0 and float(g_state.ema_fake) == 0.0  # anchors fixed


def test_consistency(data):
  w, real, _ = data
  d_fn, key = linear_d(w), jax.random.PRNGKey(7)
  assert float(reg.consistency(d_fn, real, key, lambda x, k: x)) == 0.0
  # T(x) = x + 1 moves a linear D by sum(w) on every example.
  shift = lambda x, k: x + 1.0
  np.testing.assert_allclose(reg.consistency(d_fn, real, key, shift), float(jnp.sum(w)) ** 2,
                             rtol=1e-5)
  np.testing.assert_allclose(reg.consistency(d_fn, real, key, shift, logits=d_fn(real)),
                             float(jnp.sum(w)) ** 2, rtol=1e-5)
  # A real augmentation: the hand formula on the same augmented batch.
  aug = functools.partial(augment.augment, policy='translation,cutout')
  got, augmented = jax.jit(lambda x: (reg.consistency(d_fn, x, key, aug), aug(x, key)))(real)
  np.testing.assert_allclose(got, jnp.mean((d_fn(real) - d_fn(augmented)) ** 2), rtol=1e-5)
  # Gradient w.r.t. D's parameters flows through both D(x) and D(T(x)): here 2 sum(w) * 1.
  grad = jax.grad(lambda w_: reg.consistency(linear_d(w_), real, key, shift))(w)
  np.testing.assert_allclose(grad, jnp.full(12, 2 * jnp.sum(w)), rtol=1e-5)


def test_spectral_norm_estimate_approaches_top_singular_value():
  rng = np.random.default_rng(2)
  w = jnp.asarray(rng.standard_normal((3, 3, 4, 8), np.float32))  # a conv kernel, HWIO
  top = np.linalg.svd(np.asarray(w).reshape(-1, 8), compute_uv=False)[0]
  u0 = jnp.asarray(rng.standard_normal(8, np.float32))
  sigmas = jax.jit(lambda w_, u_: [reg.spectral_norm_estimate(w_, u_, n)[0] for n in (1, 5, 50)])
  errors = [abs(float(s) - top) for s in sigmas(w, u0)]
  assert errors[0] >= errors[1] >= errors[2] and errors[2] < 1e-4 * top
  # One iteration per call, carrying u, converges too (the training-time use).
  sigma, u = jnp.zeros(()), u0
  step = jax.jit(reg.spectral_norm_estimate)
  for _ in range(50):
    sigma, u = step(w, u)
  np.testing.assert_allclose(sigma, top, rtol=1e-4)
  # grad sigma = v u^T (the SN-GAN gradient), and it matches the SVD's top pair.
  mat = np.asarray(w).reshape(-1, 8)
  left, _, right = np.linalg.svd(mat)
  grad = jax.jit(jax.grad(lambda w_: reg.spectral_norm_estimate(w_, u, 1)[0]))(w)
  np.testing.assert_allclose(np.abs(np.asarray(grad).reshape(-1, 8)),
                             np.abs(np.outer(left[:, 0], right[0])), atol=1e-3)


def test_spectral_norm_agrees_with_flax():
  # Same matrix layout and start vector as flax.linen.SpectralNorm give the same sigma.
  layer = nn.SpectralNorm(nn.Dense(6), n_steps=20)
  rng = np.random.default_rng(3)
  kernel = jnp.asarray(rng.standard_normal((10, 6), np.float32))
  u0 = jnp.asarray(rng.standard_normal(6, np.float32))
  variables = {'params': {'layer_instance': {'kernel': kernel, 'bias': jnp.zeros(6)}},
               'batch_stats': {'layer_instance/kernel/u': u0[None],
                               'layer_instance/kernel/sigma': jnp.ones(())}}
  apply = jax.jit(functools.partial(layer.apply, update_stats=True, mutable=['batch_stats']))
  _, updates = apply(variables, jnp.ones((2, 10)))
  sigma, _ = reg.spectral_norm_estimate(kernel, u0, 20)
  np.testing.assert_allclose(updates['batch_stats']['layer_instance/kernel/sigma'], sigma,
                             rtol=1e-5)
