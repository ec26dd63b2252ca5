"""PacGAN's packed maxout discriminator and its 2D experiments (experiments/toy_*_pacgan.py)."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import load_config
from gan_jax import models, train, validation
from gan_jax.models import packing, pacgan


def _x(b: int, d: int = 2, seed: int = 0) -> jax.Array:
  return jax.random.normal(jax.random.PRNGKey(seed), (b, d))


def test_packing_shapes():
  d = pacgan.Discriminator(hidden=(8, 8), pieces=3, pack=4)
  x = _x(8)
  variables = d.init(jax.random.PRNGKey(0), x)
  assert d.apply(variables, x).shape == (2,)
  # The first maxout layer sees m * 2 inputs.
  assert variables['params']['Maxout_0']['Dense_0']['kernel'].shape == (8, 8 * 3)
  assert packing.pack(jnp.arange(16.0).reshape(8, 2), 4).tolist()[1] == list(range(8, 16))


def test_init_on_a_batch_smaller_than_the_pack():
  # state.create initialises D on 2 dummy samples, whatever the pack.
  d = pacgan.Discriminator(hidden=(4,), pieces=2, pack=3)
  variables = d.init(jax.random.PRNGKey(0), jnp.zeros((2, 2)))
  assert variables['params']['Maxout_0']['Dense_0']['kernel'].shape == (6, 8)


def test_pack_one_is_an_unpacked_per_sample_discriminator():
  d = pacgan.Discriminator(hidden=(8, 8), pieces=3, pack=1)
  x = _x(6)
  variables = d.init(jax.random.PRNGKey(1), x)
  batched = d.apply(variables, x)
  one_by_one = jnp.concatenate([d.apply(variables, x[i:i + 1]) for i in range(6)])
  np.testing.assert_allclose(batched, one_by_one, rtol=1e-6, atol=1e-6)


def test_pack_m_equals_pack_one_on_concatenated_samples():
  x = _x(8, seed=2)
  packed = pacgan.Discriminator(hidden=(8,), pieces=2, pack=4)
  plain = pacgan.Discriminator(hidden=(8,), pieces=2, pack=1)
  variables = packed.init(jax.random.PRNGKey(3), x)
  np.testing.assert_allclose(packed.apply(variables, x), plain.apply(variables, x.reshape(2, 8)),
                             rtol=1e-6)


def test_maxout_takes_the_max_over_pieces():
  layer = pacgan.Maxout(features=2, pieces=3)
  x = jnp.array([[1.0, 2.0]])
  # Dense unit i * pieces + j is piece j of feature i; pieces are x0, x1 and x0 + x1 - 10.
  kernel = jnp.array([[1.0, 0.0, 1.0, -1.0, 0.0, 0.0],
                      [0.0, 1.0, 1.0, 0.0, -1.0, 0.0]])
  bias = jnp.array([0.0, 0.0, -10.0, 0.0, 0.0, 0.5])
  out = layer.apply({'params': {'Dense_0': {'kernel': kernel, 'bias': bias}}}, x)
  # Feature 0: max(1, 2, -7) = 2; feature 1: max(-1, -2, 0.5) = 0.5.
  np.testing.assert_allclose(out, [[2.0, 0.5]])


def test_spectral_norm_variant_runs():
  d = pacgan.Discriminator(hidden=(8,), pieces=2, pack=2, spectral_norm=True)
  x = _x(4)
  variables = d.init(jax.random.PRNGKey(0), x)
  out, _ = d.apply(variables, x, train=True, mutable=['batch_stats'])
  assert out.shape == (2,) and bool(jnp.all(jnp.isfinite(out)))


def test_bad_pack_names_the_keys():
  d = pacgan.Discriminator(hidden=(4,), pieces=2, pack=4)
  variables = d.init(jax.random.PRNGKey(0), _x(8))
  with pytest.raises(ValueError, match=r'config.model.pack=4 got a batch of 6 samples.*'
                                       r'multiple of pack x number of devices'):
    d.apply(variables, _x(6))


@pytest.mark.parametrize('name', ['toy_grid_pacgan', 'toy_ring_pacgan'])
@pytest.mark.parametrize('arg', [None, 'pack2', 'pack3', 'pack4', 'best', 'runlocal'])
def test_configs_are_valid_and_the_batch_follows_the_pack(name, arg):
  config = load_config(name, arg)
  validation.validate(config, num_devices=4 if arg == 'runlocal' else 1)
  assert config.data.batch_size % config.model.pack == 0
  g, d = models.build(config, (2,))
  assert isinstance(d, pacgan.Discriminator) and d.pack == config.model.pack
  if arg in (None, 'pack2', 'pack3', 'pack4'):
    assert config.data.batch_size == 100 * config.model.pack  # 100 D inputs per step
  inputs_per_step = config.data.batch_size // config.model.pack
  config.model.pack = 3  # --config.model.pack=3 moves the batch with it
  assert config.data.batch_size == 3 * inputs_per_step


def test_one_train_step_of_runlocal(tmp_path):
  config = load_config('toy_grid_pacgan')
  for key in ('num_steps', 'log_every', 'sample_every', 'checkpoint_every'):
    config.train[key] = 1
  config.eval.every = 1
  state = train.train_and_evaluate(config, str(tmp_path))  # 4 fake devices, 2 packs each
  assert int(state.step) == 1
  metrics = [json.loads(line) for line in open(tmp_path / 'metrics.jsonl')]
  assert np.isfinite(metrics[-1]['d_loss']) and np.isfinite(metrics[-1]['g_loss'])
  scores = json.loads(open(tmp_path / 'eval.jsonl').readlines()[-1])
  assert {'modes', 'high_quality', 'reverse_kl'} <= set(scores)
  assert os.path.exists(tmp_path / 'samples' / 'step_000001.png')


def test_batch_not_divisible_by_pack_per_device_is_a_clear_error(tmp_path):
  config = load_config('toy_ring_pacgan')
  config.model.pack = 4
  config.data.batch_size = 8  # splits over 4 devices, but 2 samples per device cannot make a pack
  with pytest.raises(ValueError, match='config.model.pack=4 got a batch of 2 samples per device'):
    train.train_and_evaluate(config, str(tmp_path), devices=jax.local_devices()[:4])


# ----- PacDCGAN: the DCGAN discriminator with packing (experiments/stacked_mnist_dcgan.py:best) -----

def test_pack_channels_stacks_consecutive_images_on_channels():
  x = jax.random.normal(jax.random.PRNGKey(0), (4, 28, 28, 3))
  packed = packing.pack_channels(x, 2)
  assert packed.shape == (2, 28, 28, 6)
  np.testing.assert_array_equal(packed[1, ..., :3], x[2])
  np.testing.assert_array_equal(packed[1, ..., 3:], x[3])


def test_packed_dcgan_discriminator_is_the_plain_one_on_channel_stacked_images():
  from gan_jax.models import dcgan
  x = jax.random.normal(jax.random.PRNGKey(1), (4, 28, 28, 3))
  packed = dcgan.Discriminator(image_size=28, features=8, pack=2)
  variables = packed.init(jax.random.PRNGKey(2), x[:2])  # init on fewer samples than a pack too
  assert variables['params']['Conv_0']['kernel'].shape[2] == 6  # first conv sees 2 x RGB
  plain = dcgan.Discriminator(image_size=28, features=8)
  pairs = jnp.concatenate([x[0::2], x[1::2]], axis=-1)
  np.testing.assert_allclose(packed.apply(variables, x, train=False),
                             plain.apply(variables, pairs, train=False), rtol=1e-5, atol=1e-5)


def test_stacked_mnist_best_trains_a_packed_dcgan(tmp_path):
  config = load_config('stacked_mnist_dcgan')
  config.model.pack = 2  # as the 'best' variant
  validation.validate(config, num_devices=4)
  _, d = models.build(config, (28, 28, 3))
  assert d.pack == 2
  for key in ('num_steps', 'log_every', 'sample_every', 'checkpoint_every'):
    config.train[key] = 1
  config.eval.every = 1
  state = train.train_and_evaluate(config, str(tmp_path))  # 4 fake devices, 2 packs each
  assert int(state.step) == 1
  assert state.d.params['Conv_0']['kernel'].shape[2] == 6
  scores = json.loads(open(tmp_path / 'eval.jsonl').readlines()[-1])
  assert {'modes', 'kl'} <= set(scores) and np.isfinite(scores['kl'])
  assert load_config('stacked_mnist_dcgan', 'best').model.pack == 2
