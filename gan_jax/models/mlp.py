"""The seed's fully connected G and D, for 2D toy data and flattened images."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


class Generator(nn.Module):
  """z [N, z_dim] -> samples [N, *out_shape]; tanh output for images, linear for points."""

  out_shape: Sequence[int] = (2,)
  hidden: Sequence[int] = (256, 256)
  batch_norm: bool = True
  tanh_output: bool = False  # images live in [-1, 1]; toy points are unbounded
  axis_name: str | None = None
  bn_momentum: float = 0.9

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
    x = z
    for width in self.hidden:
      x = nn.Dense(width, use_bias=not self.batch_norm)(x)
      if self.batch_norm:
        x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,
                         axis_name=self.axis_name if train else None)(x)
      x = nn.relu(x)
    x = nn.Dense(int(np.prod(self.out_shape)))(x)
    if self.tanh_output:
      x = jnp.tanh(x)
    return x.reshape(z.shape[0], *self.out_shape)


class Discriminator(nn.Module):
  """samples [N, ...] -> logits [N]; LeakyReLU(0.2) hidden layers, optional spectral norm."""

  hidden: Sequence[int] = (256, 256)
  spectral_norm: bool = False  # Miyato et al. 2018; power-iteration vectors live in batch_stats

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    dense = lambda width, x: sn_dense(width, x, self.spectral_norm, train)  # noqa: E731
    x = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      x = nn.leaky_relu(dense(width, x), 0.2)
    return dense(1, x)[:, 0]


def sn_dense(width: int, x: jax.Array, spectral_norm: bool, train: bool, **kwargs) -> jax.Array:
  """A Dense layer, spectrally normalised when asked (one power iteration per train call)."""
  layer = nn.Dense(width, **kwargs)
  if not spectral_norm:
    return layer(x)
  return nn.SpectralNorm(layer)(x, update_stats=train)
