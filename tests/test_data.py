"""The input API: embedded MNIST, toy mixtures, determinism and per-process shards."""

import numpy as np
import pytest

from conftest import load_config
from gan_jax import data
from gan_jax.data import embedded, toy


def test_embedded_mnist_is_real_digits():
  images, labels = embedded.load_mnist_5k()
  assert images.shape == (5000, 28, 28, 1) and images.dtype == np.uint8
  assert np.bincount(labels).tolist() == [500] * 10
  # Real digits: dark background, bright strokes in the centre.
  assert images[:, :3].mean() < 1 and images[:, 10:18, 10:18].mean() > 60


def test_image_batches_are_deterministic_scaled_and_cover_each_epoch():
  config = load_config('mnist_dcgan', None)
  source = data.make_source(config)
  again = data.make_source(config)
  b0 = source.batch(0)
  assert b0.shape == (64, 28, 28, 1) and b0.dtype == np.float32
  assert b0.min() >= -1.0 and b0.max() <= 1.0
  np.testing.assert_array_equal(again.batch(17), source.batch(17))  # a pure function of step
  assert not np.array_equal(source.batch(0), source.batch(1))
  # Batch 78 straddles the end of epoch 0 (5000 = 78 * 64 + 8); one epoch sees every digit once.
  images, _ = embedded.load_mnist_5k()
  seen = np.concatenate([source.batch(s) for s in range(79)])[:5000]
  want = np.sort(images.reshape(5000, -1).astype(np.float32) / 127.5 - 1, axis=0)
  np.testing.assert_array_equal(np.sort(seen.reshape(5000, -1), axis=0), want)


@pytest.mark.parametrize('name', ['mnist_dcgan', 'toy_ring'])
def test_two_processes_get_disjoint_halves_of_the_global_batch(name):
  config = load_config(name, None)
  whole = data.make_source(config, 0, 1).batch(5)
  first = data.make_source(config, 0, 2).batch(5)
  second = data.make_source(config, 1, 2).batch(5)
  assert len(first) == len(second) == len(whole) // 2
  np.testing.assert_array_equal(np.concatenate([first, second]), whole)


def test_toy_centres_match_the_reference():
  ring = toy.ring_centers(8, 1.0)
  np.testing.assert_allclose(ring[2], [0.0, 1.0], atol=1e-6)
  np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 1.0, rtol=1e-6)
  grid = toy.grid_centers(25, 2.0)
  assert sorted(set(grid[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
  with pytest.raises(ValueError, match='square number'):
    toy.grid_centers(24)


def test_toy_samples_stay_near_their_modes():
  config = load_config('toy_grid', None)
  points = data.make_source(config).batch(0)
  centres = data.toy_centers(config)
  dist = np.linalg.norm(points[:, None] - centres[None], axis=-1).min(axis=1)
  assert points.shape == (config.data.batch_size, 2)
  assert np.all(dist < 6 * config.data.std)
