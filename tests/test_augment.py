"""DiffAugment-style augmentations: shapes, keys, exact geometry, colour formulas, gradients."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import augment

N, H, W, C = 16, 28, 28, 3
OPS = {'brightness': augment.brightness, 'saturation': augment.saturation,
       'contrast': augment.contrast, 'color': augment.color, 'translation': augment.translation,
       'cutout': augment.cutout, 'augment': augment.augment}


@pytest.fixture(scope='module')
def images():
  # Distinct values everywhere, so a shifted image identifies its shift.
  return jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (N, H, W, C)).astype(np.float32))


@pytest.mark.parametrize('name', sorted(OPS))
def test_shape_keys_and_gradient(name, images):
  op = OPS[name]
  r = jnp.asarray(np.random.default_rng(9).standard_normal(images.shape, np.float32))

  @jax.jit  # one compile per op: both keys and the gradient of sum(T(x) * r) w.r.t. x
  def run(x, k1, k2):
    out, grad = jax.value_and_grad(lambda x_: jnp.sum(op(x_, k1) * r))(x)
    return op(x, k1), op(x, k2), out, grad

  k1, k2 = jax.random.split(jax.random.PRNGKey(1))
  out1, out2, _, grad = run(images, k1, k2)
  assert out1.shape == images.shape and out1.dtype == images.dtype
  np.testing.assert_array_equal(out1, run(images, k1, k2)[0])  # deterministic for a key
  assert not np.array_equal(out1, out2)  # and random across keys
  assert jnp.all(jnp.isfinite(grad)) and float(jnp.abs(grad).sum()) > 0  # differentiable


def test_bfloat16_in_bfloat16_out(images):
  out = jax.jit(augment.augment)(images.astype(jnp.bfloat16), jax.random.PRNGKey(1))
  assert out.shape == images.shape and out.dtype == jnp.bfloat16
  assert jnp.all(jnp.isfinite(out.astype(jnp.float32)))


def shift_numpy(img, dy, dx):
  """Independent reference: out[h, w] = img[h - dy, w - dx], zero outside."""
  out = np.zeros_like(img)
  h, w = img.shape[:2]
  out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = (
      img[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)])
  return out


def test_translate_moves_content(images):
  out = augment.translate(images[:2], jnp.array([2, -1]), jnp.array([-3, 0]))
  # Example 0: down 2, left 3. Example 1: up 1.
  np.testing.assert_array_equal(out[0, 2:, :-3], images[0, :-2, 3:])
  assert jnp.all(out[0, :2] == 0) and jnp.all(out[0, :, -3:] == 0)
  np.testing.assert_array_equal(out[1, :-1], images[1, 1:])
  assert jnp.all(out[1, -1] == 0)


def test_translation_is_a_bounded_shift(images):
  out = np.asarray(jax.jit(augment.translation)(images, jax.random.PRNGKey(2)))
  x = np.asarray(images)
  max_shift = int(H / 8 + 0.5)  # 4 for 28 pixels
  shifts = [(dy, dx) for dy in range(-max_shift, max_shift + 1)
            for dx in range(-max_shift, max_shift + 1)]
  found = []
  for i in range(N):  # exactly one shift in range reproduces each example
    hits = [s for s in shifts if np.array_equal(out[i], shift_numpy(x[i], *s))]
    assert len(hits) == 1, hits
    found.append(hits[0])
  assert len(set(found)) > 1


def test_cutout_zeros_a_clipped_square():
  ones = jnp.ones((256, H, W, 1))
  cut = jax.jit(augment.cutout)
  mask = np.asarray(cut(ones, jax.random.PRNGKey(3)))[..., 0]
  side = int(H / 2 + 0.5)
  for m in mask:
    rows, cols = np.nonzero(m == 0)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert len(rows) == height * width  # a solid rectangle
    assert height <= side and width <= side
    # Clipped only where it touches the border.
    assert height == side or rows.min() == 0 or rows.max() == H - 1
    assert width == side or cols.min() == 0 or cols.max() == W - 1
  areas = (mask == 0).sum(axis=(1, 2))
  assert areas.max() == side * side and np.mean(areas == side * side) > 0.15  # P = (15/29)^2
  grad = jax.jit(jax.grad(lambda x: jnp.sum(cut(x, jax.random.PRNGKey(3)))))(ones)
  np.testing.assert_array_equal(grad[..., 0], mask)


def test_colour_formulas(images):
  key = jax.random.PRNGKey(4)
  offset = augment.brightness(images, key) - images  # one offset per example, in [-0.5, 0.5)
  np.testing.assert_allclose(offset, jnp.broadcast_to(offset[:, :1, :1, :1], images.shape),
                             atol=1e-6)
  assert jnp.all(jnp.abs(offset) <= 0.5) and jnp.std(offset[:, 0, 0, 0]) > 0
  # Saturation keeps each pixel's channel mean; contrast keeps each image's mean.
  np.testing.assert_allclose(augment.saturation(images, key).mean(-1), images.mean(-1), atol=1e-5)
  np.testing.assert_allclose(augment.contrast(images, key).mean((1, 2, 3)),
                             images.mean((1, 2, 3)), atol=1e-5)
  gray = images[..., :1]
  np.testing.assert_allclose(augment.saturation(gray, key), gray, atol=1e-6)  # no-op on 1 channel


def test_policy_order_vmap_and_errors(images):
  key = jax.random.PRNGKey(5)
  keys = jax.random.split(key, 2)

  @jax.jit
  def run(x):
    k_color, k_trans = jax.random.split(key)
    by_policy = augment.augment(x, key, policy='color,translation')
    by_hand = augment.translation(augment.color(x, k_color), k_trans)
    stacked = jax.vmap(augment.augment)(jnp.stack([x, -x]), keys)
    return by_policy, by_hand, stacked, augment.augment(-x, keys[1])

  by_policy, by_hand, stacked, second = run(images)
  np.testing.assert_allclose(by_policy, by_hand, atol=1e-6)
  np.testing.assert_allclose(stacked[1], second, atol=1e-6)
  assert augment.augment(images, key, policy='') is images
  with pytest.raises(ValueError, match='valid: color, translation, cutout'):
    augment.augment(images, key, policy='color,flip')
