"""PacGAN's 2D networks (Lin et al. 2018, shared/REFERENCE.md section 1).

G is the seed MLP with PacGAN's sizes: z in R^2 -> 4 x [400, BatchNorm, ReLU] -> linear 2.
D is a maxout MLP that judges m samples at once ("packing", models/packing.py): a batch [B, d]
is regrouped into B/m packs [B/m, m*d] of consecutive samples, and D returns one logit per pack.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models import mlp, packing


class Generator(mlp.Generator):
  """mlp.Generator with PacGAN's 2D sizes as defaults: 4 hidden layers of 400, BatchNorm, ReLU."""

  out_shape: Sequence[int] = (2,)
  hidden: Sequence[int] = (400, 400, 400, 400)
  batch_norm: bool = True


class Maxout(nn.Module):
  """h_i = max_j (x . W_ij + b_ij) for i < features, j < pieces (Goodfellow et al. 2013).

  One Dense layer of features * pieces units, reshaped to [..., features, pieces]; unit
  i * pieces + j of the Dense output is piece j of feature i.
  """

  features: int
  pieces: int = 5
  spectral_norm: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    y = mlp.sn_dense(self.features * self.pieces, x, self.spectral_norm, train)
    return jnp.max(y.reshape(*y.shape[:-1], self.features, self.pieces), axis=-1)


class Discriminator(nn.Module):
  """samples [B, ...] -> logits [B / pack]; maxout (or LeakyReLU) hidden layers, linear output."""

  hidden: Sequence[int] = (200, 200, 200)
  pieces: int = 5  # linear pieces per maxout unit
  maxout: bool = True  # False: Dense + LeakyReLU(0.2) hidden layers, the seed MLP's D
  pack: int = 1  # samples per D input (m); 1 is an ordinary unpacked D
  spectral_norm: bool = False  # Miyato et al. 2018; power-iteration vectors live in batch_stats

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    if self.is_initializing():
      x = packing.init_batch(x, self.pack)
    h = packing.pack(x, self.pack)
    for width in self.hidden:
      if self.maxout:
        h = Maxout(width, self.pieces, self.spectral_norm)(h, train)
      else:
        h = nn.leaky_relu(mlp.sn_dense(width, h, self.spectral_norm, train), 0.2)
    return mlp.sn_dense(1, h, self.spectral_norm, train)[:, 0]
