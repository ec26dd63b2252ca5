"""PacGAN's packing (Lin et al. 2018): D judges m samples at once, so it can see their spread.

A batch of B samples becomes B/m inputs of m consecutive samples each. The train step feeds
real and fake batches separately, so every pack is all-real or all-fake, as in the paper.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _check(b: int, m: int) -> None:
  if b % m:
    raise ValueError(
        f'PacGAN discriminator with config.model.pack={m} got a batch of {b} samples per '
        f'device, not a multiple of {m}: config.data.batch_size must be a multiple of '
        f'pack x number of devices.')


def init_batch(x: jax.Array, m: int) -> jax.Array:
  """state.create initialises D on 2 dummy samples; only shapes matter, so make it m of them."""
  return jnp.resize(x, (m, *x.shape[1:])) if x.shape[0] % m else x


def pack(x: jax.Array, m: int) -> jax.Array:
  """[B, ...] -> [B/m, m * prod(...)]: each row concatenates m consecutive samples."""
  _check(x.shape[0], m)
  return x.reshape(x.shape[0] // m, -1)


def pack_channels(x: jax.Array, m: int) -> jax.Array:
  """Images [B, H, W, C] -> [B/m, H, W, m * C]: m consecutive images stacked on channels."""
  b, h, w, c = x.shape
  _check(b, m)
  return x.reshape(b // m, m, h, w, c).transpose(0, 2, 3, 1, 4).reshape(b // m, h, w, m * c)
