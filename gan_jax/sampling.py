"""Drawing samples from a trained generator, outside the train step.

Samples come from G in inference mode. G's BatchNorm running statistics were gathered for
G's raw parameters, not for their EMA, so for EMA parameters we recompute "standing"
statistics (Brock et al. 2019, BigGAN): one train-mode pass of the EMA generator over a
fixed batch of noise with BatchNorm momentum 0, which stores that batch's exact statistics.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

STANDING_BATCH = 1024  # noise vectors for standing statistics


def _uses_batch_norm(batch_stats: Any) -> bool:
  return bool(jax.tree_util.tree_leaves(batch_stats))


@functools.partial(jax.jit, static_argnums=(0, 4))
def standing_stats(g_model: nn.Module, params: Any, batch_stats: Any, key: jax.Array,
                   z_dim: int) -> Any:
  """BatchNorm statistics of G with `params` over STANDING_BATCH noise vectors from `key`."""
  z = jax.random.normal(key, (STANDING_BATCH, z_dim), jnp.float32)
  model = g_model.clone(axis_name=None, bn_momentum=0.0)
  _, updates = model.apply({'params': params, 'batch_stats': batch_stats}, z, train=True,
                           mutable=['batch_stats'])
  return updates['batch_stats']


def apply_inference(g_model: nn.Module, variables: dict[str, Any], z: jax.Array) -> jax.Array:
  """G(z) in inference mode (running BatchNorm statistics, no collectives); traceable."""
  return g_model.clone(axis_name=None).apply(variables, z, train=False)


_generate = jax.jit(apply_inference, static_argnums=0)


def inference_variables(g_model: nn.Module, params: Any, batch_stats: Any, z_dim: int,
                        recompute_stats: bool = True,
                        stats_key: jax.Array | None = None) -> dict[str, Any]:
  """G's variables for sampling: standing BatchNorm statistics if `recompute_stats` (for EMA
  parameters) and G has BatchNorm, else the stored ones."""
  if recompute_stats and _uses_batch_norm(batch_stats):
    key = jax.random.PRNGKey(0) if stats_key is None else stats_key
    batch_stats = standing_stats(g_model, params, batch_stats, key, z_dim)
  return {'params': params, 'batch_stats': batch_stats}


def generate(g_model: nn.Module, params: Any, batch_stats: Any, z: jax.Array,
             recompute_stats: bool = True, stats_key: jax.Array | None = None,
             chunk: int = 1024) -> jax.Array:
  """G(z) in inference mode, in chunks; raw generator output ([-1, 1] for images)."""
  variables = inference_variables(g_model, params, batch_stats, z.shape[1], recompute_stats,
                                  stats_key)
  parts = [_generate(g_model, variables, z[i:i + chunk]) for i in range(0, len(z), chunk)]
  return jnp.concatenate(parts)


def to_unit_range(images: jax.Array) -> jax.Array:
  """Maps tanh outputs [-1, 1] to [0, 1] (what PNG grids and .npz files hold)."""
  return jnp.clip((images + 1.0) / 2.0, 0.0, 1.0)
