"""DiffAugment-style augmentations (Zhao et al. 2020, "Differentiable Augmentation for
Data-Efficient GAN Training"): jittable, vmappable, differentiable w.r.t. the images.

Images are NHWC floats (the project's are in [-1, 1]); every function takes an explicit PRNG
key, draws one set of parameters per example, and returns an array of x's shape and dtype
(arithmetic in float32). Apply the same policy to real and fake images inside D's loss so
G's gradient flows back through the augmentation. Per example:

  brightness   x + (u - 0.5)                                   u ~ U[0, 1)
  saturation   (x - mean_c x) * 2u + mean_c x                  mean over channels
  contrast     (x - mean_hwc x) * (u + 0.5) + mean_hwc x       mean over the whole image
  translation  shift by integers in [-round(H/8), round(H/8)] (and W), zero padding
  cutout       zero a square of side round(H/2) x round(W/2) centred uniformly; it may be
               clipped at the border, as in DiffAugment's code
'color' = brightness, then saturation, then contrast. (round(t) here is int(t + 0.5).)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array

DEFAULT_POLICY = 'color,translation,cutout'


# Each op draws its per-example parameters with one PRNG call: every threefry draw adds
# noticeably to compile time on CPU.
def _uniform(key: Array, n: int, k: int = 1) -> Array:
  """U[0, 1) of shape [k, N, 1, 1, 1]: k parameters per example, broadcasting over pixels."""
  return jax.random.uniform(key, (k, n, 1, 1, 1), jnp.float32)


def _brightness(x: Array, u: Array) -> Array:
  return x + (u - 0.5)


def _saturation(x: Array, u: Array) -> Array:
  mean = jnp.mean(x, axis=3, keepdims=True)
  return (x - mean) * (2.0 * u) + mean


def _contrast(x: Array, u: Array) -> Array:
  mean = jnp.mean(x, axis=(1, 2, 3), keepdims=True)
  return (x - mean) * (u + 0.5) + mean


def brightness(x: Array, key: Array) -> Array:
  """Adds one uniform offset in [-0.5, 0.5) per example."""
  return _brightness(x.astype(jnp.float32), _uniform(key, x.shape[0])[0]).astype(x.dtype)


def saturation(x: Array, key: Array) -> Array:
  """Scales each pixel's deviation from its channel mean by a factor in [0, 2)."""
  return _saturation(x.astype(jnp.float32), _uniform(key, x.shape[0])[0]).astype(x.dtype)


def contrast(x: Array, key: Array) -> Array:
  """Scales each image's deviation from its mean by a factor in [0.5, 1.5)."""
  return _contrast(x.astype(jnp.float32), _uniform(key, x.shape[0])[0]).astype(x.dtype)


def color(x: Array, key: Array) -> Array:
  """Brightness, saturation, then contrast, as DiffAugment's 'color' (independent factors)."""
  u = _uniform(key, x.shape[0], 3)
  y = _contrast(_saturation(_brightness(x.astype(jnp.float32), u[0]), u[1]), u[2])
  return y.astype(x.dtype)


def translate(x: Array, shift_y: Array, shift_x: Array,
              max_shift: tuple[int, int] | None = None) -> Array:
  """Moves example i's content down by shift_y[i] and right by shift_x[i] pixels (negative:
  up/left); vacated pixels are 0. out[i, h, w] = x[i, h - shift_y[i], w - shift_x[i]].

  Shifts must lie in [-max_shift, max_shift] (default: the image size); larger ones would be
  clamped by `dynamic_slice`.
  """
  _, height, width, channels = x.shape
  pad_y, pad_x = max_shift if max_shift is not None else (height, width)
  padded = jnp.pad(x, ((0, 0), (pad_y, pad_y), (pad_x, pad_x), (0, 0)))

  def one(img, dy, dx):
    return lax.dynamic_slice(img, (pad_y - dy, pad_x - dx, 0), (height, width, channels))

  return jax.vmap(one)(padded, shift_y.astype(jnp.int32), shift_x.astype(jnp.int32))


def _randint(key: Array, shape: tuple[int, ...], low: Array, high: Array) -> Array:
  """Integers uniform in [low, high) from one float draw (cheaper to compile than randint)."""
  u = jax.random.uniform(key, shape, jnp.float32)
  return jnp.clip(low + jnp.floor(u * (high - low)).astype(jnp.int32), low, high - 1)


def _round(t: float) -> int:
  return int(t + 0.5)


def translation(x: Array, key: Array, ratio: float = 0.125) -> Array:
  """Random integer shift in [-round(ratio H), round(ratio H)] per axis and example."""
  _, height, width, _ = x.shape
  max_y, max_x = _round(height * ratio), _round(width * ratio)
  bound = jnp.array([[max_y], [max_x]])
  dy, dx = _randint(key, (2, x.shape[0]), -bound, bound + 1)
  return translate(x, dy, dx, (max_y, max_x))


def cutout_mask(key: Array, shape: tuple[int, ...], ratio: float = 0.5) -> Array:
  """float32 [N, H, W, 1]: 0 inside each example's cut square, 1 elsewhere.

  The square has sides round(ratio H) x round(ratio W); its centre c is drawn uniformly from
  [0, H + 1 - size % 2) and it covers rows c - size // 2 .. c - size // 2 + size - 1, clipped
  to the image (DiffAugment's rand_cutout).
  """
  n, height, width = shape[0], shape[1], shape[2]
  size_y, size_x = _round(height * ratio), _round(width * ratio)
  upper = jnp.array([[[height + 1 - size_y % 2]], [[width + 1 - size_x % 2]]])
  cy, cx = _randint(key, (2, n, 1), 0, upper)
  rows, cols = jnp.arange(height)[None], jnp.arange(width)[None]
  in_y = (rows >= cy - size_y // 2) & (rows < cy - size_y // 2 + size_y)  # [N, H]
  in_x = (cols >= cx - size_x // 2) & (cols < cx - size_x // 2 + size_x)  # [N, W]
  cut = in_y[:, :, None] & in_x[:, None, :]
  return jnp.where(cut, 0.0, 1.0)[..., None].astype(jnp.float32)


def cutout(x: Array, key: Array, ratio: float = 0.5) -> Array:
  """Zeroes a random square of half the image size per example (see `cutout_mask`)."""
  return x * cutout_mask(key, x.shape, ratio).astype(x.dtype)


_OPS = {'color': color, 'translation': translation, 'cutout': cutout}


def parse_policy(policy: str) -> tuple[str, ...]:
  """'color,translation' -> ('color', 'translation'); '' is the identity. Names are checked."""
  names = tuple(p.strip() for p in policy.split(',') if p.strip())
  for name in names:
    if name not in _OPS:
      raise ValueError(f'Unknown augmentation {name!r} in policy {policy!r}; '
                       f'valid: {", ".join(_OPS)}.')
  return names


def augment(x: Array, key: Array, policy: str = DEFAULT_POLICY) -> Array:
  """Applies the comma-separated `policy` in order, one fresh key per operation.

  `policy` is static (a Python string): under `jax.jit`, bind it with functools.partial or
  mark it static. x is [N, H, W, C]; vmap adds outer axes.
  """
  names = parse_policy(policy)
  if not names:
    return x
  for name, k in zip(names, jax.random.split(key, len(names))):
    x = _OPS[name](x, k)
  return x
