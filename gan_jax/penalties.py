"""Which regularizers a config turns on, and how the D step evaluates them.

`config.loss.regularizers` maps each name in NAMES to a weight (0 = off). The pure penalty
functions live in `regularizers.py`; this module only binds them to the D step's arrays.
The weight multiplies the value returned by `regularizers`, so for R1/R2 it plays the role of
gamma/2 in Mescheder et al. (2018).
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import ml_collections
from jax import lax

from gan_jax import augment, regularizers

NAMES = ('gp', 'r1', 'r2', 'dragan', 'consistency', 'lecam')
Penalties = Sequence[tuple[str, float]]


def from_config(config: ml_collections.ConfigDict) -> tuple[tuple[str, float], ...]:
  """The (name, weight) pairs with a non-zero weight, in NAMES order (static for jit)."""
  weights = config.loss.regularizers
  unknown = sorted(set(weights) - set(NAMES))
  if unknown:
    raise ValueError(f'Unknown regularizer(s) {unknown} in config.loss.regularizers; '
                     f'valid: {", ".join(NAMES)}.')
  return tuple((name, float(weights[name])) for name in NAMES if name in weights and weights[name])


def init_state(penalties: Penalties) -> dict[str, Any]:
  """Per-run regularizer state kept in GANState (LeCam's EMA anchors)."""
  return {'lecam': regularizers.lecam_init()} if 'lecam' in dict(penalties) else {}


def _consistency(d_fn, real, fake, key):
  k_real, k_fake = jax.random.split(key)
  aug = functools.partial(augment.augment, policy='color,translation,cutout')
  # Balanced consistency regularization (Zhao et al. 2021): on both real and fake images.
  return (regularizers.consistency(d_fn, real, k_real, aug) +
          regularizers.consistency(d_fn, fake, k_fake, aug))


def compute(penalties: Penalties, d_fn, real: jax.Array, fake: jax.Array, real_logits: jax.Array,
            fake_logits: jax.Array, reg_state: dict[str, Any], key: jax.Array,
            enabled: bool = True) -> dict[str, jax.Array]:
  """Each enabled penalty's value (unweighted); zeros when `enabled` is False (lazy steps)."""
  if not enabled:
    return {name: jnp.zeros((), jnp.float32) for name, _ in penalties}
  keys = dict(zip(NAMES, jax.random.split(key, len(NAMES))))
  fns = {
      'gp': lambda: regularizers.gradient_penalty(d_fn, real, fake, keys['gp']),
      'r1': lambda: regularizers.r1(d_fn, real),
      'r2': lambda: regularizers.r2(d_fn, fake),
      'dragan': lambda: regularizers.dragan(d_fn, real, keys['dragan']),
      'consistency': lambda: _consistency(d_fn, real, fake, keys['consistency']),
      'lecam': lambda: regularizers.lecam(real_logits, fake_logits, reg_state['lecam']),
  }
  return {name: fns[name]().astype(jnp.float32) for name, _ in penalties}


def update_state(penalties: Penalties, reg_state: dict[str, Any], real_logits: jax.Array,
                 fake_logits: jax.Array, axis_name: str) -> dict[str, Any]:
  """Advances LeCam's anchors with the logits of this D step, averaged over devices."""
  if 'lecam' not in dict(penalties):
    return reg_state
  real_mean = lax.pmean(jnp.mean(real_logits.astype(jnp.float32)), axis_name)
  fake_mean = lax.pmean(jnp.mean(fake_logits.astype(jnp.float32)), axis_name)
  return {**reg_state, 'lecam': regularizers.lecam_update(reg_state['lecam'], real_mean, fake_mean)}
