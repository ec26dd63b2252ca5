"""GANState: everything a run needs to continue, as one pytree."""

from __future__ import annotations

from typing import Any, Sequence

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax.training import train_state

from gan_jax import penalties


class TrainState(train_state.TrainState):
  """Flax TrainState plus BatchNorm running statistics ({} for models without BatchNorm)."""

  batch_stats: Any = flax.core.FrozenDict()


@flax.struct.dataclass
class GANState:
  step: jax.Array  # number of completed train steps (int32 scalar)
  g: TrainState
  d: TrainState
  ema_params: Any  # exponential moving average of G's parameters, used for samples
  rng: jax.Array  # base key (uint32[2]); per-step keys are folded from it, never split in place
  reg_state: Any = flax.core.FrozenDict()  # regularizer state, e.g. LeCam's EMA anchors


def make_optimizer(lr: float, b1: float, b2: float) -> optax.GradientTransformation:
  return optax.adam(lr, b1=b1, b2=b2)


def _init_train_state(model: nn.Module, key: jax.Array, x: jax.Array, tx) -> TrainState:
  # Initialise outside any named axis: BatchNorm's cross-device mean needs the pmap axis.
  variables = model.clone(axis_name=None).init(key, x, train=True) if hasattr(model, 'axis_name') \
      else model.init(key, x, train=True)
  return TrainState.create(apply_fn=model.apply, params=variables['params'], tx=tx,
                           batch_stats=variables.get('batch_stats', {}))


def create(config: ml_collections.ConfigDict, g_model: nn.Module, d_model: nn.Module,
           data_shape: Sequence[int], seed: int | None = None) -> GANState:
  """Fresh state from `seed` (default `config.seed`); identical on every host."""
  key = jax.random.PRNGKey(config.seed if seed is None else seed)
  g_key, d_key, run_key = jax.random.split(key, 3)
  o = config.optim
  z = jnp.zeros((2, config.model.z_dim), jnp.float32)
  x = jnp.zeros((2, *data_shape), jnp.float32)
  g = _init_train_state(g_model, g_key, z, make_optimizer(o.g_lr, o.b1, o.b2))
  d = _init_train_state(d_model, d_key, x, make_optimizer(o.d_lr, o.b1, o.b2))
  return GANState(step=jnp.zeros((), jnp.int32), g=g, d=d,
                  ema_params=jax.tree_util.tree_map(jnp.copy, g.params), rng=run_key,
                  reg_state=penalties.init_state(penalties.from_config(config)))
