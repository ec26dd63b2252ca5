"""Model shapes, initialisation, and the fast transposed convolution."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from gan_jax.models import dcgan, mlp
from gan_jax.models.layers import conv, conv_transpose


def _reference_conv_transpose(x, w):
  # PyTorch ConvTranspose2d(4, 2, 1) written with lax.conv_transpose and plain autodiff.
  return lax.conv_transpose(x, w, (2, 2), ((2, 2), (2, 2)),
                            dimension_numbers=('NHWC', 'HWIO', 'NHWC'), transpose_kernel=True)


# (H, Cin, Cout) picking each form of layers._transpose: dilated, sub-pixel split, fused.
_TRANSPOSE_SHAPES = [(7, 8, 5), (4, 16, 8), (8, 8, 16), (8, 32, 16), (16, 16, 3)]


@pytest.mark.parametrize('h,cin,cout', _TRANSPOSE_SHAPES)
def test_conv_transpose_matches_autodiff_reference(h, cin, cout):
  kx, kw, kc = jax.random.split(jax.random.PRNGKey(0), 3)
  x = jax.random.normal(kx, (3, h, h, cin))
  w = 0.1 * jax.random.normal(kw, (4, 4, cout, cin))
  cot = jax.random.normal(kc, (3, 2 * h, 2 * h, cout))
  y, vjp = jax.vjp(lambda x, w: conv_transpose(x, w, 2, 1), x, w)
  y_ref, vjp_ref = jax.vjp(_reference_conv_transpose, x, w)
  assert y.shape == (3, 2 * h, 2 * h, cout)
  np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
  for g, g_ref in zip(vjp(cot), vjp_ref(cot)):
    np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('h,cin,cout', [(14, 3, 8), (8, 16, 32), (7, 4, 8)])
def test_strided_conv_matches_autodiff_reference(h, cin, cout):
  # Even sizes take the sub-pixel input gradient, odd ones XLA's own.
  kx, kw, kc = jax.random.split(jax.random.PRNGKey(1), 3)
  x = jax.random.normal(kx, (2, h, h, cin))
  w = 0.1 * jax.random.normal(kw, (4, 4, cin, cout))
  ref = lambda x, w: lax.conv_general_dilated(  # noqa: E731
      x, w, (2, 2), ((1, 1), (1, 1)), dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  y, vjp = jax.vjp(lambda x, w: conv(x, w, 2, 1), x, w)
  y_ref, vjp_ref = jax.vjp(ref, x, w)
  np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
  cot = jax.random.normal(kc, y.shape)
  for g, g_ref in zip(vjp(cot), vjp_ref(cot)):
    np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-4)


def test_input_gradient_penalties_differentiate_through_the_custom_vjps():
  # R1-style penalties take grad-of-grad through conv's and conv_transpose's hand-written VJPs.
  kx, kw, kv = jax.random.split(jax.random.PRNGKey(2), 3)
  x = jax.random.normal(kx, (2, 8, 8, 3))
  w = 0.1 * jax.random.normal(kw, (4, 4, 3, 16))
  v = 0.1 * jax.random.normal(kv, (4, 4, 5, 16))  # D-like conv, then a G-like transpose back

  def penalty(conv_fn, transpose_fn):
    def d(x, w, v):
      return jnp.sum(jnp.tanh(transpose_fn(jnp.tanh(conv_fn(x, w)), v)) ** 2)
    return lambda w, v: jnp.sum(jax.grad(d)(x, w, v) ** 2)

  ref_conv = lambda x, w: lax.conv_general_dilated(  # noqa: E731
      x, w, (2, 2), ((1, 1), (1, 1)), dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  ours = jax.grad(penalty(lambda x, w: conv(x, w, 2, 1), lambda x, v: conv_transpose(x, v, 2, 1)),
                  argnums=(0, 1))(w, v)
  ref = jax.grad(penalty(ref_conv, _reference_conv_transpose), argnums=(0, 1))(w, v)
  for g, g_ref in zip(ours, ref):
    np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('size,channels', [(28, 1), (32, 3), (64, 3)])
def test_dcgan_shapes(size, channels):
  g = dcgan.Generator(image_size=size, channels=channels, features=4)
  d = dcgan.Discriminator(image_size=size, features=4)
  z = jnp.ones((2, 10))
  g_vars = g.init(jax.random.PRNGKey(0), z)
  x = g.apply(g_vars, z, train=False)
  assert x.shape == (2, size, size, channels)
  assert float(jnp.max(jnp.abs(x))) <= 1.0  # tanh output
  d_vars = d.init(jax.random.PRNGKey(1), x)
  assert d.apply(d_vars, x, train=False).shape == (2,)
  # DCGAN init: conv/dense weights N(0, 0.02), BatchNorm scale N(1, 0.02).
  kernels = [v for p, v in jax.tree_util.tree_leaves_with_path(g_vars['params'])
             if 'kernel' in jax.tree_util.keystr(p)]
  assert 0.015 < float(jnp.std(jnp.concatenate([k.ravel() for k in kernels]))) < 0.025
  scales = [v for p, v in jax.tree_util.tree_leaves_with_path(g_vars['params'])
            if 'scale' in jax.tree_util.keystr(p)]
  assert abs(float(jnp.mean(jnp.concatenate(scales))) - 1.0) < 0.01


def test_dcgan_rejects_unsupported_size():
  with pytest.raises(ValueError, match=r'supports image sizes \[28, 32, 64\], got 48'):
    dcgan.Generator(image_size=48).init(jax.random.PRNGKey(0), jnp.ones((1, 4)))


def test_mlp_shapes_for_points_and_images():
  z = jnp.ones((3, 2))
  g = mlp.Generator(out_shape=(2,), hidden=(8,))
  assert g.apply(g.init(jax.random.PRNGKey(0), z), z, train=False).shape == (3, 2)
  g_img = mlp.Generator(out_shape=(28, 28, 1), hidden=(8,), tanh_output=True)
  x = g_img.apply(g_img.init(jax.random.PRNGKey(0), z), z, train=False)
  assert x.shape == (3, 28, 28, 1) and float(jnp.max(jnp.abs(x))) <= 1.0
  d = mlp.Discriminator(hidden=(8,))
  assert d.apply(d.init(jax.random.PRNGKey(0), x), x).shape == (3,)
