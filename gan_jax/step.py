"""The train step: one D update, then one G update against the new D, then G's EMA.

`train_step` is pure; everything static (models, losses, hyperparameters) is bound with
`functools.partial` by `make_train_step`. It must run under a named axis (`AXIS_NAME`):
`parallel.py` wraps it in `jax.pmap` or `jax.shard_map`, with one device or many.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax
from jax import lax

from gan_jax import losses
from gan_jax.models import AXIS_NAME
from gan_jax.state import GANState

Metrics = dict[str, jax.Array]


def local_noise(key: jax.Array, local_batch: int, z_dim: int, axis_name: str) -> jax.Array:
  """This device's slice of the global batch's noise.

  The global noise depends only on `key`, so a run gives the same result on 1 or N devices
  (tests/test_parallel.py); generating B x z_dim normals per device is negligible.
  """
  n_dev = lax.psum(1, axis_name)
  z = jax.random.normal(key, (n_dev * local_batch, z_dim), jnp.float32)
  return lax.dynamic_slice_in_dim(z, lax.axis_index(axis_name) * local_batch, local_batch)


def _apply(model: nn.Module, params, batch_stats, x: jax.Array):
  """Train-mode forward; returns (output, updated batch_stats)."""
  out, updates = model.apply({'params': params, 'batch_stats': batch_stats}, x, train=True,
                             mutable=['batch_stats'])
  return out, updates.get('batch_stats', batch_stats)


def train_step(state: GANState, batch: jax.Array, *, g_model: nn.Module, d_model: nn.Module,
               loss: losses.LossPair, z_dim: int, ema_decay: float,
               axis_name: str = AXIS_NAME) -> tuple[GANState, Metrics]:
  """One GAN iteration on this device's share `batch` [B_local, ...] of the global batch."""
  key = jax.random.fold_in(state.rng, state.step)
  z = local_noise(key, batch.shape[0], z_dim, axis_name)

  # G's forward runs once; its VJP is kept for the G update (the reference DCGAN also
  # reuses the D-step fakes), so G's BatchNorm statistics advance once per step.
  def g_forward(params):
    return _apply(g_model, params, state.g.batch_stats, z)

  fake, g_vjp, g_batch_stats = jax.vjp(g_forward, state.g.params, has_aux=True)

  # D update. Real and fake go through D separately, as in the reference DCGAN, so D's
  # BatchNorm never mixes the two.
  def d_objective(params):
    real_logits, stats = _apply(d_model, params, state.d.batch_stats, batch)
    fake_logits, stats = _apply(d_model, params, stats, lax.stop_gradient(fake))
    return loss.d_loss(real_logits, fake_logits), (stats, real_logits, fake_logits)

  (d_loss, (d_batch_stats, real_logits, fake_logits)), d_grads = jax.value_and_grad(
      d_objective, has_aux=True)(state.d.params)
  d_grads = lax.pmean(d_grads, axis_name)
  d = state.d.apply_gradients(grads=d_grads, batch_stats=d_batch_stats)

  # G update against the new D. D's BatchNorm statistics from this pass are discarded:
  # they would count the fakes twice.
  def g_objective(fake_images):
    fake_logits_new, _ = _apply(d_model, d.params, d.batch_stats, fake_images)
    real_logits_new = None
    if loss.g_uses_real:
      real_logits_new, _ = _apply(d_model, d.params, d.batch_stats, batch)
    return loss.g_loss(real_logits_new, fake_logits_new)

  g_loss, d_fake = jax.value_and_grad(g_objective)(fake)
  (g_grads,) = g_vjp(d_fake)
  g_grads = lax.pmean(g_grads, axis_name)
  g = state.g.apply_gradients(grads=g_grads, batch_stats=g_batch_stats)

  # EMA with the usual warm-up, so early samples are not dominated by the random init.
  decay = jnp.minimum(ema_decay, (1.0 + state.step) / (10.0 + state.step))
  ema_params = jax.tree_util.tree_map(lambda e, p: decay * e + (1.0 - decay) * p,
                                      state.ema_params, g.params)

  metrics = {
      'd_loss': d_loss,
      'g_loss': g_loss,
      'd_real_logit': jnp.mean(real_logits.astype(jnp.float32)),
      'd_fake_logit': jnp.mean(fake_logits.astype(jnp.float32)),
      'd_accuracy': 0.5 * (jnp.mean(real_logits > 0) + jnp.mean(fake_logits < 0)),
      'd_grad_norm': optax.tree.norm(d_grads),
      'g_grad_norm': optax.tree.norm(g_grads),
  }
  metrics = lax.pmean(metrics, axis_name)
  new_state = state.replace(step=state.step + 1, g=g, d=d, ema_params=ema_params)
  return new_state, metrics


def make_train_step(config: ml_collections.ConfigDict, g_model: nn.Module,
                    d_model: nn.Module) -> Callable[[GANState, Any], tuple[GANState, Metrics]]:
  """Binds the static parts of the config; the result still needs a named axis (parallel.py)."""
  return functools.partial(train_step, g_model=g_model, d_model=d_model,
                           loss=losses.get(config.loss.name), z_dim=config.model.z_dim,
                           ema_decay=config.train.ema_decay)
