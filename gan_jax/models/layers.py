"""Layers shared by the models, with convolutions shaped for XLA CPU.

DCGAN's layers are 4x4 convolutions with stride 2, padding 1 (`Conv`) and their transposes
(`ConvTranspose`). Autodiff of `lax.conv_general_dilated` turns the transposes into
input-dilated convolutions ("base-dilated" in XLA dumps), which XLA CPU runs at a third to
a half of the speed of an ordinary convolution (shared/PERFORMANCE.md). So both layers have
hand-written VJPs, and every transposed convolution, the generator's forward pass and the
discriminator's input gradient alike, goes through `_transpose`:

* stride 2, kernel 4, padding 1 (DCGAN's): sub-pixel form. Each of the four output phases
  (even/odd row, even/odd column) is a 2x2 stride-1 convolution of the input with a quarter
  of the kernel; the phases are interleaved afterwards. Same sums, no multiplications by
  the zeros of the dilated input; 1.3-2.3x faster than the dilated form at DCGAN's shapes.
* anything else: `lax.conv_transpose` (correct, slower).

Weight gradients are XLA's own strided-convolution weight gradient in both layers (it beat
im2col-and-dot and space-to-depth forms here); input gradients of `ConvTranspose` are
ordinary strided convolutions. Values match plain autodiff of `lax.conv_transpose` /
`lax.conv_general_dilated` to float32 rounding (tests/test_models.py).
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


def _conv_weight_grad(y: jax.Array, w: jax.Array, stride: int, padding: int,
                      dz: jax.Array) -> jax.Array:
  """d/dw of <_conv(y, w), dz>: XLA's strided-convolution weight gradient."""
  _, w_vjp = jax.vjp(lambda w_: _conv(y, w_, stride, padding), w)
  return w_vjp(dz)[0]


def _transpose_dilated(x: jax.Array, w: jax.Array, stride: int, padding: int) -> jax.Array:
  # The transpose of `_conv(., w)`: an input-dilated convolution with the flipped kernel.
  pad = w.shape[0] - 1 - padding
  return lax.conv_transpose(x, w, (stride, stride), ((pad, pad), (pad, pad)), dimension_numbers=_DN,
                            transpose_kernel=True)


def _phase_kernels(w: jax.Array) -> jax.Array:
  """[ty, ry, tx, rx, I, O] of a 4x4 HWIO kernel: tap (ty, tx) of output phase (ry, rx).

  With stride 2 and padding 1, output row 2m + ry sums input rows m - 1 + ry + ty (ty = 0, 1)
  against kernel row 3 - ry - 2 ty; likewise for columns.
  """
  k, _, i, o = w.shape
  return w[::-1, ::-1].reshape(2, 2, 2, 2, i, o)


def _interleave(phases: jax.Array) -> jax.Array:
  """[N, H, 2 (ry), W, 2 (rx), C] -> [N, 2H, 2W, C]."""
  n, h, _, w_, _, c = phases.shape
  return phases.reshape(n, 2 * h, 2 * w_, c)


def _transpose_subpixel_split(x: jax.Array, w: jax.Array) -> jax.Array:
  """Four 2x2 convolutions, one per output phase (best when the output is wide)."""
  taps = _phase_kernels(w)  # [ty, ry, tx, rx, Cout, Cin]
  rows = []
  for ry in range(2):
    cols = []
    for rx in range(2):
      kernel = jnp.swapaxes(taps[:, ry, :, rx], 2, 3)  # [ty, tx, Cin, Cout]
      pad = ((1 - ry, ry), (1 - rx, rx))
      cols.append(lax.conv_general_dilated(x, kernel, (1, 1), pad, dimension_numbers=_DN))
    rows.append(jnp.stack(cols, axis=3))  # [N, H, W, 2 (rx), C]
  return _interleave(jnp.stack(rows, axis=2))


def _transpose_subpixel_fused(x: jax.Array, w: jax.Array) -> jax.Array:
  """One 2x2 convolution to all four phases on the padded input (best for narrow outputs).

  It computes (H+1) x (W+1) positions per phase, of which each phase keeps H x W.
  """
  n, h, w_, cin = x.shape
  cout = w.shape[2]
  taps = _phase_kernels(w)  # [ty, ry, tx, rx, Cout, Cin]
  kernel = taps.transpose(0, 2, 5, 1, 3, 4).reshape(2, 2, cin, 4 * cout)  # [ty, tx, Cin, (ry, rx, C)]
  xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  y = lax.conv_general_dilated(xp, kernel, (1, 1), 'VALID', dimension_numbers=_DN)
  y = y.reshape(n, h + 1, w_ + 1, 2, 2, cout)
  rows = [jnp.stack([y[:, ry:ry + h, rx:rx + w_, ry, rx] for rx in range(2)], axis=3)
          for ry in range(2)]
  return _interleave(jnp.stack(rows, axis=2))


def _transpose(x: jax.Array, w: jax.Array, stride: int, padding: int) -> jax.Array:
  """The linear transpose of `_conv(., w, stride, padding)` applied to `x` (no autodiff)."""
  if (w.shape[0], w.shape[1], stride, padding) != (4, 4, 2, 1):
    return _transpose_dilated(x, w, stride, padding)
  h, cin, cout = x.shape[1], x.shape[3], w.shape[2]
  # Chosen by timing each form at DCGAN's shapes on 2 cores (the generator's layers and, the
  # same shapes, the discriminator's input gradients), median of alternating runs:
  #   7x7 128->64: fused 1.1x the dilated form; 4x4 512->256: split 1.35x;
  #   8x8 256->128: fused 1.4x; 16x16 128->64: fused or split 1.8x; 32x32 64->3: fused 1.3x;
  #   14x14 64->1: dilated (sub-pixel 0.4-0.6x: too little work per phase).
  if cout < 16:
    return _transpose_subpixel_fused(x, w) if h >= 16 else _transpose_dilated(x, w, stride, padding)
  if h <= 4 or cout >= cin:  # the fused form's extra border row/column costs most on small maps
    return _transpose_subpixel_split(x, w)
  return _transpose_subpixel_fused(x, w)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def conv_transpose(x: jax.Array, w: jax.Array, stride: int, padding: int) -> jax.Array:
  """Transposed convolution, NHWC; `w` is the HWIO kernel of the strided conv it transposes.

  With PyTorch's ConvTranspose2d(kernel k, stride s, padding p) semantics: the output is
  the input-gradient of `conv(y, w, stride=s, padding=p)`, so H_out = s*(H-1) - 2p + k.
  """
  return _transpose(x, w, stride, padding)


def _conv_transpose_fwd(x, w, stride, padding):
  return _transpose(x, w, stride, padding), (x, w)


def _conv_transpose_bwd(stride, padding, res, dy):
  x, w = res
  return _conv(dy, w, stride, padding), _conv_weight_grad(dy, w, stride, padding, x)


conv_transpose.defvjp(_conv_transpose_fwd, _conv_transpose_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def conv(x: jax.Array, w: jax.Array, stride: int, padding: int) -> jax.Array:
  """Strided convolution, NHWC input, HWIO kernel, symmetric zero padding, no bias.

  Same values as `lax.conv_general_dilated`; its input gradient is computed by `_transpose`.
  """
  return _conv(x, w, stride, padding)


def _conv_fwd(x, w, stride, padding):
  return _conv(x, w, stride, padding), (x, w)


def _conv_bwd(stride, padding, res, dz):
  x, w = res
  if x.shape[1] % stride or x.shape[2] % stride:  # odd sizes: XLA's own input gradient
    dx = jax.vjp(lambda x_: _conv(x_, w, stride, padding), x)[1](dz)[0]
  else:
    dx = _transpose(dz, w, stride, padding)
  return dx, _conv_weight_grad(x, w, stride, padding, dz)


conv.defvjp(_conv_fwd, _conv_bwd)


class Conv(nn.Module):
  """Conv2d(kernel 4, stride 2, padding 1) without bias: halves H and W (DCGAN's D).

  Parameters are named and shaped like `nn.Conv(features, (k, k), use_bias=False)`'s.
  """

  features: int
  kernel_size: int = 4
  stride: int = 2
  padding: int = 1
  dtype: jnp.dtype | None = None

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    k = self.kernel_size
    w = self.param('kernel', dcgan_init, (k, k, x.shape[-1], self.features))
    dtype = self.dtype or x.dtype
    return conv(x.astype(dtype), w.astype(dtype), self.stride, self.padding)


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
