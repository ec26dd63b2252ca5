"""The train step: n_critic D updates, then one G update against the new D, then G's EMA.

`train_step` is pure; everything static (models, losses, regularizer weights) is bound with
`functools.partial` by `make_train_step`. It must run under a named axis (`AXIS_NAME`):
`parallel.py` wraps it in `jax.pmap` or `jax.shard_map`, with one device or many.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax
from jax import lax

from gan_jax import losses, penalties as penalties_lib
from gan_jax.models import AXIS_NAME
from gan_jax.state import GANState, TrainState

Metrics = dict[str, jax.Array]


def step_keys(rng: jax.Array, step: jax.Array, critic_iter: int | jax.Array) -> tuple[jax.Array, jax.Array]:
  """(noise key, regularizer key) for D iteration `critic_iter` of train step `step`."""
  key = jax.random.fold_in(jax.random.fold_in(rng, step), critic_iter)
  z_key, reg_key = jax.random.split(key)
  return z_key, reg_key


def local_noise(key: jax.Array, local_batch: int, z_dim: int, axis_name: str) -> jax.Array:
  """This device's slice of the global batch's noise.

  The global noise depends only on `key`, so a run gives the same result on 1 or N devices
  (tests/test_parallel.py); generating B x z_dim normals per device is negligible.
  """
  n_dev = lax.psum(1, axis_name)
  z = jax.random.normal(key, (n_dev * local_batch, z_dim), jnp.float32)
  return lax.dynamic_slice_in_dim(z, lax.axis_index(axis_name) * local_batch, local_batch)


def device_key(key: jax.Array, axis_name: str) -> jax.Array:
  """`key` made unique to this device: random penalties draw per local example, so devices
  sharing one key would reuse the same interpolation weights and augmentations."""
  return jax.random.fold_in(key, lax.axis_index(axis_name))


def _apply(model: nn.Module, params, batch_stats, x: jax.Array, dtype: Any = jnp.float32):
  """Train-mode forward; returns (output, updated batch_stats).

  With a `dtype` other than float32 (mixed precision), float32 parameters and the input are
  cast to it, so every layer computes in it; gradients flow back through the casts to the
  float32 master weights, and flax's BatchNorm still reduces its statistics in float32.
  """
  if dtype != jnp.float32:
    params = jax.tree_util.tree_map(
        lambda p: p.astype(dtype) if jnp.issubdtype(p.dtype, jnp.floating) else p, params)
    x = x.astype(dtype)
  out, updates = model.apply({'params': params, 'batch_stats': batch_stats}, x, train=True,
                             mutable=['batch_stats'])
  return out, updates.get('batch_stats', batch_stats)


def _d_update(d: TrainState, reg_state: Any, real: jax.Array, fake: jax.Array, reg_key: jax.Array,
              regularize: jax.Array, *, d_model, loss, penalties, reg_every, axis_name,
              apply=_apply):
  """One D step on (real, fake) with the configured penalties; returns (d, reg_state, metrics)."""
  reg_key = device_key(reg_key, axis_name)

  def objective(params, with_penalties: bool):
    real_logits, stats = apply(d_model, params, d.batch_stats, real)
    fake_logits, stats = apply(d_model, params, stats, fake)
    d_loss = loss.d_loss(real_logits, fake_logits)
    d_fn = lambda x: apply(d_model, params, d.batch_stats, x)[0]  # noqa: E731
    terms = penalties_lib.compute(penalties, d_fn, real, fake, real_logits, fake_logits,
                                  reg_state, reg_key, enabled=with_penalties)
    # Lazy regularization (StyleGAN2): a penalty applied every k steps is scaled by k.
    total = d_loss + sum(w * reg_every * terms[name] for name, w in penalties)
    return total, (stats, real_logits, fake_logits, d_loss, terms)

  grad_fn = lambda with_p: jax.grad(objective, has_aux=True)(d.params, with_p)  # noqa: E731
  if reg_every == 1 or not penalties:
    grads, (stats, real_logits, fake_logits, d_loss, terms) = grad_fn(True)
  else:
    grads, (stats, real_logits, fake_logits, d_loss, terms) = lax.cond(
        regularize, lambda: grad_fn(True), lambda: grad_fn(False))
  grads = lax.pmean(grads, axis_name)
  d = d.apply_gradients(grads=grads, batch_stats=stats)
  reg_state = penalties_lib.update_state(penalties, reg_state, real_logits, fake_logits, axis_name)
  metrics = {
      'd_loss': d_loss,
      'd_real_logit': jnp.mean(real_logits.astype(jnp.float32)),
      'd_fake_logit': jnp.mean(fake_logits.astype(jnp.float32)),
      'd_accuracy': 0.5 * (jnp.mean(real_logits > 0) + jnp.mean(fake_logits < 0)),
      'd_grad_norm': optax.tree.norm(grads),
      **{f'penalty_{name}': value for name, value in terms.items()},
  }
  return d, reg_state, metrics


def train_step(state: GANState, batch: jax.Array, *, g_model: nn.Module, d_model: nn.Module,
               loss: losses.LossPair, z_dim: int, ema_decay: float, n_critic: int = 1,
               g_uses_real: bool = False, skip_nonfinite: bool = False,
               penalties: Sequence[tuple[str, float]] = (), reg_every: int = 1,
               compute_dtype: Any = jnp.float32,
               axis_name: str = AXIS_NAME) -> tuple[GANState, Metrics]:
  """One GAN iteration on this device's share of the data.

  `batch` is [n_critic, B_local, ...]: a fresh real batch for each D update. `compute_dtype`
  is the networks' activation/matmul dtype (bfloat16 for mixed precision on accelerators);
  parameters, optimizer state, losses and metrics stay float32.
  """
  if batch.shape[0] != n_critic:
    raise ValueError(f'train_step expects [n_critic={n_critic}, B, ...] batches, got {batch.shape}.')
  regularize = state.step % reg_every == 0
  apply = functools.partial(_apply, dtype=compute_dtype)
  d_update = functools.partial(_d_update, regularize=regularize, d_model=d_model, loss=loss,
                               penalties=tuple(penalties), reg_every=reg_every, axis_name=axis_name,
                               apply=apply)

  def g_forward(params, stats, z):
    return apply(g_model, params, stats, z)

  # D iterations before the last one (WGAN-GP style n_critic > 1), each with fresh noise.
  def critic(carry, xs):
    d, reg_state, g_stats = carry
    real, i = xs
    z_key, reg_key = step_keys(state.rng, state.step, i)
    fake, g_stats = g_forward(state.g.params, g_stats, local_noise(z_key, real.shape[0], z_dim, axis_name))
    d, reg_state, _ = d_update(d, reg_state, real, lax.stop_gradient(fake), reg_key)
    return (d, reg_state, g_stats), None

  carry = (state.d, state.reg_state, state.g.batch_stats)
  if n_critic > 1:
    carry, _ = lax.scan(critic, carry, (batch[:-1], jnp.arange(n_critic - 1)))
  d, reg_state, g_stats = carry

  # The last D iteration's fakes also serve the G update: G's forward runs once and its VJP
  # is kept (the reference DCGAN likewise reuses the D-step fakes).
  real = batch[-1]
  z_key, reg_key = step_keys(state.rng, state.step, n_critic - 1)
  z = local_noise(z_key, real.shape[0], z_dim, axis_name)
  fake, g_vjp, g_stats = jax.vjp(lambda p: g_forward(p, g_stats, z), state.g.params, has_aux=True)
  d, reg_state, metrics = d_update(d, reg_state, real, lax.stop_gradient(fake), reg_key)

  # G update against the new D. D's BatchNorm statistics from this pass are discarded:
  # they would count the fakes twice.
  def g_objective(fake_images):
    fake_logits, _ = apply(d_model, d.params, d.batch_stats, fake_images)
    real_logits = apply(d_model, d.params, d.batch_stats, real)[0] if g_uses_real else None
    return loss.g_loss(real_logits, fake_logits)

  g_loss, d_fake = jax.value_and_grad(g_objective)(fake)
  (g_grads,) = g_vjp(d_fake)
  g_grads = lax.pmean(g_grads, axis_name)
  g = state.g.apply_gradients(grads=g_grads, batch_stats=g_stats)

  # EMA with the usual warm-up, so early samples are not dominated by the random init.
  decay = jnp.minimum(ema_decay, (1.0 + state.step) / (10.0 + state.step))
  ema_params = jax.tree_util.tree_map(lambda e, p: decay * e + (1.0 - decay) * p,
                                      state.ema_params, g.params)

  metrics = lax.pmean({**metrics, 'g_loss': g_loss, 'g_grad_norm': optax.tree.norm(g_grads)},
                      axis_name)
  new_state = state.replace(step=state.step + 1, g=g, d=d, ema_params=ema_params,
                            reg_state=reg_state)
  if skip_nonfinite:
    # Metrics are pmean-ed, so every device takes the same decision. A NaN anywhere in the
    # gradients makes their norm NaN. The step counter still advances: the next step sees
    # new data and noise.
    ok = jnp.all(jnp.isfinite(jnp.stack([metrics[k] for k in
                                         ('d_loss', 'g_loss', 'd_grad_norm', 'g_grad_norm')])))
    kept = jax.tree_util.tree_map(lambda new, old: jnp.where(ok, new, old), new_state, state)
    new_state = kept.replace(step=state.step + 1)
    metrics = {**metrics, 'skipped': 1.0 - ok.astype(jnp.float32)}
  return new_state, metrics


def make_train_step(config: ml_collections.ConfigDict, g_model: nn.Module,
                    d_model: nn.Module) -> Callable[[GANState, Any], tuple[GANState, Metrics]]:
  """Binds the static parts of the config; the result still needs a named axis (parallel.py).

  With `train.steps_per_call` S > 1 the function runs S steps in a `lax.scan` (batch
  [S, n_critic, B, ...]); with `num_seeds` K > 1 it maps over K independent states and their
  batches (leading K axis). Metrics come back with shape [S?, K?] (axes present only if > 1).
  """
  step_fn = functools.partial(train_step, g_model=g_model, d_model=d_model,
                              loss=losses.get(config.loss.name), z_dim=config.model.z_dim,
                              g_uses_real=config.loss.name in losses.RELATIVISTIC,
                              skip_nonfinite=config.train.on_nonfinite == 'skip',
                              ema_decay=config.train.ema_decay, n_critic=config.train.n_critic,
                              penalties=penalties_lib.from_config(config),
                              reg_every=config.loss.reg_every,
                              compute_dtype=jnp.dtype(config.model.dtype))
  steps, seeds = config.train.steps_per_call, config.num_seeds
  if steps > 1:
    # Several steps per compiled call amortise dispatch, which dominates small models.
    step_fn = functools.partial(lax.scan, step_fn)
  if seeds > 1:
    mapped = jax.vmap(step_fn)  # collectives name only the device axis, so seeds stay apart

    def step_fn(state, batch):
      state, metrics = mapped(state, batch)
      # [K, S] -> [S, K]: the logging code averages leading axes and keeps the seed axis.
      return state, jax.tree_util.tree_map(lambda m: jnp.moveaxis(m, 0, -1), metrics) \
          if steps > 1 else metrics
  return step_fn


def batch_axis(config: ml_collections.ConfigDict) -> int:
  """Position of the per-device batch axis in make_train_step's batch: [K?, S?, n_critic, B, ...]."""
  return 1 + (config.train.steps_per_call > 1) + (config.num_seeds > 1)
