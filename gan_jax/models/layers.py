"""Layers shared by the models.

`ConvTranspose` computes a transposed convolution as the linear transpose of a strided
convolution, with a hand-written VJP whose weight gradient is an ordinary strided
convolution's weight gradient. XLA CPU runs the weight gradient of `lax.conv_transpose`
at a few GFLOP/s; this form was ~3x faster end to end (shared/PERFORMANCE.md) and gives the
same values (tests/test_models.py).
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

_DN = ('NHWC', 'HWIO', 'NHWC')

# DCGAN's initialisation (Radford et al. 2016): weights N(0, 0.02), BatchNorm scale N(1, 0.02).
dcgan_init = nn.initializers.normal(0.02)


def bn_scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def _conv(y: jax.Array, w: jax.Array, stride: int, padding: int) -> jax.Array:
  pad = ((padding, padding), (padding, padding))
  return lax.conv_general_dilated(y, w, (stride, stride), pad, dimension_numbers=_DN)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def conv_transpose(x: jax.Array, w: jax.Array, stride: int, padding: int) -> jax.Array:
  """Transposed convolution, NHWC; `w` is the HWIO kernel of the strided conv it transposes.

  With PyTorch's ConvTranspose2d(kernel k, stride s, padding p) semantics: the output is
  the input-gradient of `conv(y, w, stride=s, padding=p)`, so H_out = s*(H-1) - 2p + k.
  """
  return _conv_transpose_fwd(x, w, stride, padding)[0]


def _conv_transpose_fwd(x, w, stride, padding):
  # The transpose of `_conv(., w)`: an input-dilated convolution with the flipped kernel.
  pad = w.shape[0] - 1 - padding
  y = lax.conv_transpose(x, w, (stride, stride), ((pad, pad), (pad, pad)), dimension_numbers=_DN,
                         transpose_kernel=True)
  return y, (x, w)


def _conv_transpose_bwd(stride, padding, res, dy):
  x, w = res
  dx = _conv(dy, w, stride, padding)
  _, w_vjp = jax.vjp(lambda w_: _conv(dy, w_, stride, padding), w)
  (dw,) = w_vjp(x)
  return dx, dw


conv_transpose.defvjp(_conv_transpose_fwd, _conv_transpose_bwd)


class ConvTranspose(nn.Module):
  """PyTorch-style ConvTranspose2d (kernel 4, stride 2, padding 1 doubles H and W)."""

  features: int
  kernel_size: int = 4
  stride: int = 2
  padding: int = 1
  use_bias: bool = False
  dtype: jnp.dtype | None = None

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    k = self.kernel_size
    w = self.param('kernel', dcgan_init, (k, k, self.features, x.shape[-1]))
    dtype = self.dtype or x.dtype
    y = conv_transpose(x.astype(dtype), w.astype(dtype), self.stride, self.padding)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,)).astype(dtype)
    return y
