"""Discriminator regularizers: pure functions of a D closure, no model library needed.

Every penalty takes `d_fn(x) -> logits [N]` for a batch x [N, ...] (close over D's params,
e.g. `lambda x: model.apply(variables, x, train=False)`), so Flax, Haiku or plain JAX all
work, and the result is differentiable w.r.t. whatever `d_fn` closes over (double backprop).
Input gradients are taken as grad_x sum_i D(x_i), which is the per-example gradient only when
D treats examples independently: BatchNorm in train mode couples them (batch statistics), so
prefer eval-mode statistics inside penalties or accept the cross-example terms. Gradients and
penalties are float32 whatever the dtype of x. Each penalty is returned without its weight.

  gradient_penalty  WGAN-GP, Gulrajani et al. 2017: E[(||grad D(x_hat)||_2 - 1)^2]
  r1 / r2           Mescheder et al. 2018: E[||grad D(x)||^2] at real / fake (times gamma/2)
  dragan            Kodali et al. 2017: E[(||grad D(x_p)||_2 - 1)^2] near real data
  lecam             Tseng et al. 2021: E[relu(r - ema_f)^2] + E[relu(ema_r - f)^2]
  consistency       bCR, Zhao et al. 2020: E[(D(x) - D(T(x)))^2]
  spectral_norm_estimate  power iteration for ||W||_2 (Miyato et al. 2018); for layers use
                          flax.linen.SpectralNorm(layer)(x, update_stats=train).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array
DFn = Callable[[Array], Array]
AugmentFn = Callable[[Array, Array], Array]

_NORM_EPS = 1e-12  # keeps d||g||/dg finite where g = 0 (e.g. dead ReLUs); value change ~1e-12


def input_grads(d_fn: DFn, x: Array) -> Array:
  """grad_x sum_i D(x_i) flattened per example: float32 [N, prod(x.shape[1:])]."""
  grads = jax.grad(lambda x_: jnp.sum(d_fn(x_).astype(jnp.float32)))(x)
  return grads.astype(jnp.float32).reshape(x.shape[0], -1)


def _grad_sq_norms(d_fn: DFn, x: Array) -> Array:
  return jnp.sum(jnp.square(input_grads(d_fn, x)), axis=1)


def _one_centred(d_fn: DFn, x: Array) -> Array:
  norms = jnp.sqrt(_grad_sq_norms(d_fn, x) + _NORM_EPS)
  return jnp.mean(jnp.square(norms - 1.0))


def _per_example_uniform(key: Array, x: Array) -> Array:
  """U[0, 1) of shape [N, 1, ..., 1] in x's dtype, broadcasting over each example."""
  shape = (x.shape[0],) + (1,) * (x.ndim - 1)
  return jax.random.uniform(key, shape, jnp.float32).astype(x.dtype)


def random_interpolates(real: Array, fake: Array, key: Array) -> Array:
  """x_hat = eps * real + (1 - eps) * fake with eps ~ U[0, 1] per example (x's dtype)."""
  eps = _per_example_uniform(key, real)
  return eps * real + (1 - eps) * fake.astype(real.dtype)


def gradient_penalty(d_fn: DFn, real: Array, fake: Array, key: Array) -> Array:
  """WGAN-GP (Gulrajani et al. 2017): E_i[(||grad_x D(x_hat_i)||_2 - 1)^2].

  x_hat_i = eps_i real_i + (1 - eps_i) fake_i, eps_i ~ U[0, 1] (`random_interpolates`).
  The paper's weight is lambda = 10. `real` and `fake` need the same shape.
  """
  return _one_centred(d_fn, random_interpolates(real, fake, key))


def r1(d_fn: DFn, real: Array) -> Array:
  """Zero-centred penalty on real data (Mescheder et al. 2018): E_i[||grad_x D(real_i)||^2].

  Returned WITHOUT the gamma/2 factor of the paper: add `0.5 * gamma * r1(...)` to L_D.
  """
  return jnp.mean(_grad_sq_norms(d_fn, real))


def r2(d_fn: DFn, fake: Array) -> Array:
  """Zero-centred penalty on fake data: E_i[||grad_x D(fake_i)||^2]; caller multiplies by gamma/2.

  Pass fakes with `jax.lax.stop_gradient` applied: this is a D-side penalty.
  """
  return jnp.mean(_grad_sq_norms(d_fn, fake))


def dragan_perturb(real: Array, key: Array, scale: float = 0.5, interpolate: bool = True) -> Array:
  """The points DRAGAN penalises: x_p = real + alpha * scale * std(real) * u.

  u ~ U[0, 1) elementwise, std is one scalar over the whole batch, alpha ~ U[0, 1) per example
  (alpha = 1 when `interpolate=False`). No gradient flows through the perturbation.
  """
  u_key, alpha_key = jax.random.split(key)
  std = jnp.std(real.astype(jnp.float32))
  delta = scale * std * jax.random.uniform(u_key, real.shape, jnp.float32)
  if interpolate:
    delta = delta * _per_example_uniform(alpha_key, real).astype(jnp.float32)
  return real + jax.lax.stop_gradient(delta).astype(real.dtype)


def dragan(d_fn: DFn, real: Array, key: Array, scale: float = 0.5,
           interpolate: bool = True) -> Array:
  """DRAGAN (Kodali et al. 2017): E_i[(||grad_x D(x_p,i)||_2 - 1)^2] around real data.

  The variant of the authors' released code, not the paper's Gaussian delta ~ N(0, cI)
  (compare_gan, used by Lucic et al. 2018, perturbs differently: see its source): x_noisy = x + scale * std(x) * u with
  u ~ U[0, 1) elementwise and std over the whole batch, then the penalty is taken at
  x + alpha (x_noisy - x), alpha ~ U[0, 1) per example (`dragan_perturb`). With
  `interpolate=False` it is taken at x_noisy itself. The paper's weight is lambda = 10.
  """
  return _one_centred(d_fn, dragan_perturb(real, key, scale, interpolate))


class LeCamState(NamedTuple):
  """EMA anchors of D's mean logits (float32 scalars)."""
  ema_real: Array
  ema_fake: Array


def lecam_init(ema_real: float = 0.0, ema_fake: float = 0.0) -> LeCamState:
  """Initial anchors; Tseng et al. start them at 0."""
  return LeCamState(jnp.asarray(ema_real, jnp.float32), jnp.asarray(ema_fake, jnp.float32))


def lecam_update(state: LeCamState, real_logits: Array, fake_logits: Array,
                 decay: float = 0.99) -> LeCamState:
  """ema <- decay * ema + (1 - decay) * mean(logits), for real and fake separately.

  Logits are stop-gradiented. Under pmap, `lax.pmean` the result to keep devices in step.
  """
  def ema(old, logits):
    mean = jnp.mean(jax.lax.stop_gradient(logits).astype(jnp.float32))
    return decay * old + (1.0 - decay) * mean

  return LeCamState(ema(state.ema_real, real_logits), ema(state.ema_fake, fake_logits))


def lecam(real_logits: Array, fake_logits: Array, state: LeCamState) -> Array:
  """LeCam penalty (Tseng et al. 2021): E[relu(r - ema_f)^2] + E[relu(ema_r - f)^2].

  Pulls real logits down towards the fake anchor and fake logits up towards the real one.
  The anchors are constants here (stop-gradient). The paper tunes its weight per setting,
  always well below 1.
  """
  ema_real = jax.lax.stop_gradient(state.ema_real)
  ema_fake = jax.lax.stop_gradient(state.ema_fake)
  real, fake = real_logits.astype(jnp.float32), fake_logits.astype(jnp.float32)
  return (jnp.mean(jnp.square(jax.nn.relu(real - ema_fake)))
          + jnp.mean(jnp.square(jax.nn.relu(ema_real - fake))))


def consistency(d_fn: DFn, x: Array, key: Array, augment_fn: AugmentFn,
                logits: Array | None = None) -> Array:
  """Consistency regularization: E_i[(D(x_i) - D(T(x_i)))^2], T = `augment_fn(x, key)`.

  Gradients flow through both D(x) and D(T(x)). Pass `logits` = D(x) when already computed
  to save a forward pass. Balanced CR (bCR, Zhao et al. 2020) applies it to both sides:

    L_D += lambda_real * consistency(d_fn, real, k1, aug, real_logits)
         + lambda_fake * consistency(d_fn, stop_gradient(fake), k2, aug, fake_logits)

  with lambda_real = lambda_fake = 10 in the paper. `augment.augment` with a fixed policy
  (`functools.partial(augment.augment, policy='translation')`) is a valid `augment_fn`.
  """
  if logits is None:
    logits = d_fn(x)
  diff = logits.astype(jnp.float32) - d_fn(augment_fn(x, key)).astype(jnp.float32)
  return jnp.mean(jnp.square(diff))


def spectral_norm_estimate(w: Array, u: Array, n_iters: int = 1,
                           eps: float = 1e-12) -> tuple[Array, Array]:
  """Power-iteration estimate of the top singular value of w (Miyato et al. 2018).

  w is viewed as a matrix W [prod(w.shape[:-1]), w.shape[-1]] (Flax kernel layout:
  inputs x outputs); u [w.shape[-1]] is the running right singular vector. Each iteration
  v = normalize(W u), u = normalize(W^T v); sigma = v^T W u. Returns (sigma, new u) in
  float32; u and v carry no gradient, so grad sigma = v u^T as in SN-GAN. Keep u between
  steps (one iteration per step suffices then) and divide the kernel by sigma.
  """
  mat = w.astype(jnp.float32).reshape(-1, w.shape[-1])
  u = u.astype(jnp.float32)

  def normalize(a):
    return a / (jnp.linalg.norm(a) + eps)

  fixed = jax.lax.stop_gradient(mat)

  def body(_, u_):
    return normalize(fixed.T @ normalize(fixed @ u_))

  u = jax.lax.fori_loop(0, n_iters, body, jax.lax.stop_gradient(u))
  v = normalize(fixed @ u)
  return v @ mat @ u, u
