"""SNGAN's ResNet generator and discriminator (Miyato et al. 2018) for 32 and 64 pixel images.

G: z -> Dense to 4x4 -> residual up-blocks (BN, ReLU, nearest 2x, conv3x3, BN, ReLU, conv3x3;
shortcut: 2x, conv1x1) -> BN, ReLU, conv3x3, tanh.
D: an "optimized" first block (conv3x3, ReLU, conv3x3, avg-pool; shortcut: avg-pool, conv1x1),
residual down-blocks (ReLU, conv3x3, ReLU, conv3x3, avg-pool; shortcut conv1x1 then avg-pool),
ReLU, sum over space, linear. Every D layer is spectrally normalised when asked; D has no
BatchNorm. Initialisation as in the SNGAN code: Glorot-uniform with gain sqrt(2) inside the
residual branches, gain 1 elsewhere.

Widths are multiples of `features` (WIDTHS): with features=64, 32x32 gives SNGAN's CIFAR-10
networks (G 256 channels, D 128) and 64x64 the usual SNGAN-64 (G 1024 -> 64, D 64 -> 1024).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models.mlp import sn_dense

# image size -> (G: projection width then each up-block's width, D: each block's width, and
# whether it halves the resolution), all as multiples of `features`.
G_WIDTHS = {32: (4, 4, 4, 4), 64: (16, 8, 4, 2, 1)}
D_BLOCKS = {32: ((2, True), (2, True), (2, False), (2, False)),
            64: ((1, True), (2, True), (4, True), (8, True), (16, False))}
SIZES = tuple(sorted(G_WIDTHS))

_residual_init = nn.initializers.variance_scaling(2.0, 'fan_avg', 'uniform')  # Glorot, gain sqrt(2)
_plain_init = nn.initializers.xavier_uniform()


def _check_size(image_size: int) -> None:
  if image_size not in G_WIDTHS:
    raise ValueError(f'The SNGAN ResNet supports image sizes {list(SIZES)}, got {image_size}.')


def _upsample(x: jax.Array) -> jax.Array:
  """Nearest-neighbour 2x, as a broadcast (no gather)."""
  n, h, w, c = x.shape
  x = jnp.broadcast_to(x[:, :, None, :, None, :], (n, h, 2, w, 2, c))
  return x.reshape(n, 2 * h, 2 * w, c)


def _downsample(x: jax.Array) -> jax.Array:
  return nn.avg_pool(x, (2, 2), strides=(2, 2))


def _conv(x: jax.Array, features: int, kernel: int, init, spectral_norm: bool = False,
          train: bool = True, use_bias: bool = True) -> jax.Array:
  conv = nn.Conv(features, (kernel, kernel), padding='SAME', kernel_init=init, use_bias=use_bias)
  return nn.SpectralNorm(conv)(x, update_stats=train) if spectral_norm else conv(x)


class GBlock(nn.Module):
  features: int
  axis_name: str | None = None
  bn_momentum: float = 0.9

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    bn = lambda: nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,  # noqa: E731
                              epsilon=1e-5, axis_name=self.axis_name if train else None)
    # Every output here feeds a BatchNorm (this block's or the next one's), which cancels
    # biases: SNGAN's code has them, but they only add parameters whose gradient is ~0.
    conv = lambda y, k, init: _conv(y, self.features, k, init, use_bias=False)  # noqa: E731
    h = conv(_upsample(nn.relu(bn()(x))), 3, _residual_init)
    h = conv(nn.relu(bn()(h)), 3, _residual_init)
    return h + conv(_upsample(x), 1, _plain_init)


class DBlock(nn.Module):
  features: int
  down: bool = True
  first: bool = False  # SNGAN's "optimized" first block: no ReLU before its first conv
  spectral_norm: bool = True

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    conv = lambda y, k, init: _conv(y, self.features, k, init, self.spectral_norm, train)  # noqa: E731
    h = conv(x if self.first else nn.relu(x), 3, _residual_init)
    h = conv(nn.relu(h), 3, _residual_init)
    if self.down:
      h = _downsample(h)
    if self.first:  # pool first: the 1x1 conv then runs on a quarter of the pixels
      return h + conv(_downsample(x), 1, _plain_init)
    shortcut = x
    if self.down or x.shape[-1] != self.features:
      shortcut = conv(x, 1, _plain_init)
    return h + (_downsample(shortcut) if self.down else shortcut)


class Generator(nn.Module):
  """z [N, z_dim] -> images [N, size, size, channels] in [-1, 1]."""

  image_size: int = 32
  channels: int = 3
  features: int = 64  # width unit; see G_WIDTHS
  axis_name: str | None = None  # BatchNorm statistics are averaged over this named axis
  bn_momentum: float = 0.9

  @nn.compact
  def __call__(self, z: jax.Array, train: bool = True) -> jax.Array:
    _check_size(self.image_size)
    first, *blocks = [m * self.features for m in G_WIDTHS[self.image_size]]
    x = nn.Dense(4 * 4 * first, use_bias=False, kernel_init=_plain_init)(z).reshape(z.shape[0], 4, 4, first)
    for width in blocks:
      x = GBlock(width, self.axis_name, self.bn_momentum)(x, train)
    x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum, epsilon=1e-5,
                     axis_name=self.axis_name if train else None)(x)
    return jnp.tanh(_conv(nn.relu(x), self.channels, 3, _plain_init))


class Discriminator(nn.Module):
  """images [N, size, size, C] -> logits [N]."""

  image_size: int = 32
  features: int = 64  # width unit; see D_BLOCKS
  spectral_norm: bool = True  # Miyato et al. 2018; u and sigma live in batch_stats

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = True) -> jax.Array:
    _check_size(self.image_size)
    for i, (mult, down) in enumerate(D_BLOCKS[self.image_size]):
      x = DBlock(mult * self.features, down, i == 0, self.spectral_norm)(x, train)
    x = jnp.sum(nn.relu(x), axis=(1, 2))  # global sum pooling
    return sn_dense(1, x, self.spectral_norm, train, kernel_init=_plain_init)[:, 0]
