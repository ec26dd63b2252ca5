"""DCGAN generator and discriminator (Radford et al. 2016) for 28, 32 and 64 pixel images.

Follows pytorch/examples dcgan (shared/REFERENCE.md section 6): G projects z to a small
feature map, then doubles it with ConvTranspose(4, 2, 1) + BatchNorm + ReLU, tanh output;
D halves with Conv(4, 2, 1) + LeakyReLU(0.2), BatchNorm from the second layer, and a final
linear layer over the remaining map (the reference's Conv(4, 1, 0) on 4x4). No biases.
At 64x64 with `features=64` the layer widths equal the reference's ngf/ndf = 64.
With `pack=m` D is PacDCGAN's: it judges m images stacked on channels (models/packing.py).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models import packing
from gan_jax.models.layers import Conv, ConvTranspose, bn_scale_init, dcgan_init
from gan_jax.models.mlp import sn_dense

# image size -> (side of the first/last feature map, number of 2x resamplings)
GEOMETRY = {28: (7, 2), 32: (4, 3), 64: (4, 4)}


def _geometry(image_size: int) -> tuple[int, int]:
  if image_size not in GEOMETRY:
    raise ValueError(f'DCGAN supports image sizes {sorted(GEOMETRY)}, got {image_size}.')
  return GEOMETRY[image_size]


def _batch_norm(train: bool, axis_name: str | None, momentum: float) -> nn.BatchNorm:
  # momentum 0.9 == PyTorch's BatchNorm momentum 0.1.
  return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=1e-5,
                      axis_name=axis_name if train else None, scale_init=bn_scale_init)


class Generator(nn.Module):
  """z [N, z_dim] -> images [N, size, size, channels] in [-1, 1]."""

  image_size: int = 28
  channels: int = 1
  features: int = 64  # width of the last hidden layer; doubles towards the input
  axis_name: str | None = None  # BatchNorm statistics are averaged over this pmap axis
  bn_momentum: float = 0.9

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
    side, n_up = _geometry(self.image_size)
    width = self.features * 2 ** (n_up - 1)
    x = nn.Dense(side * side * width, use_bias=False, kernel_init=dcgan_init)(z)
    x = x.reshape(z.shape[0], side, side, width)
    x = nn.relu(_batch_norm(train, self.axis_name, self.bn_momentum)(x))
    for _ in range(n_up - 1):
      width //= 2
      x = ConvTranspose(width)(x)
      x = nn.relu(_batch_norm(train, self.axis_name, self.bn_momentum)(x))
    return jnp.tanh(ConvTranspose(self.channels)(x))


class Discriminator(nn.Module):
  """images [N, size, size, C] -> logits [N / pack]."""

  image_size: int = 28
  features: int = 64  # width of the first layer; doubles with depth
  axis_name: str | None = None
  bn_momentum: float = 0.9
  spectral_norm: bool = False  # normalise every layer's weight (Miyato et al. 2018)
  pack: int = 1  # images per D input, stacked on channels (PacDCGAN); 1 = plain DCGAN

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    if self.pack > 1:
      x = packing.pack_channels(packing.init_batch(x, self.pack) if self.is_initializing() else x,
                                self.pack)
    _, n_down = _geometry(self.image_size)
    width = self.features
    for i in range(n_down):
      conv = Conv(width)  # 4x4, stride 2, padding 1, no bias; parameters as nn.Conv's
      x = nn.SpectralNorm(conv)(x, update_stats=train) if self.spectral_norm else conv(x)
      if i > 0:
        x = _batch_norm(train, self.axis_name, self.bn_momentum)(x)
      x = nn.leaky_relu(x, 0.2)
      width *= 2
    x = sn_dense(1, x.reshape(x.shape[0], -1), self.spectral_norm, train, use_bias=False,
                 kernel_init=dcgan_init)
    return x[:, 0]
