"""One input API for every source: `make_source(config).batch(step)`.

A source's batch for a given step is a pure function of (seed, step), so the data position
is the step counter saved in the checkpoint, and a resumed run sees exactly the batches an
uninterrupted run would. Each process takes its own contiguous slice of the global batch.
"""

from __future__ import annotations

from typing import Protocol

import jax
import ml_collections
import numpy as np

from gan_jax.data import embedded, toy

NAMES = ('mnist_5k', 'toy_ring', 'toy_grid')


class Source(Protocol):
  element_shape: tuple[int, ...]  # one sample, no batch axis

  def batch(self, step: int) -> np.ndarray:
    """This process's share of global batch number `step`, float32."""


class ArraySource:
  """Shuffled epochs over an in-memory uint8 image array, scaled to [-1, 1]."""

  def __init__(self, images: np.ndarray, batch_size: int, seed: int,
               process_index: int = 0, process_count: int = 1):
    if batch_size % process_count:
      raise ValueError(f'config.data.batch_size={batch_size} must divide over {process_count} processes.')
    self.images = images
    self.element_shape = tuple(images.shape[1:])
    self.batch_size = batch_size
    self.seed = seed
    self.local = batch_size // process_count
    self.offset = process_index * self.local
    self._perm_epoch, self._perm = -1, None

  def _permutation(self, epoch: int) -> np.ndarray:
    if epoch != self._perm_epoch:
      self._perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.images))
      self._perm_epoch = epoch
    return self._perm

  def batch(self, step: int) -> np.ndarray:
    n = len(self.images)
    start = step * self.batch_size + self.offset  # position in the endless stream of epochs
    positions = np.arange(start, start + self.local)
    epochs, within = np.divmod(positions, n)
    idx = np.empty(self.local, np.int64)
    for epoch in np.unique(epochs):
      sel = epochs == epoch
      idx[sel] = self._permutation(int(epoch))[within[sel]]
    return self.images[idx].astype(np.float32) / 127.5 - 1.0


class ToySource:
  """Fresh points every step from a 2D Gaussian mixture; the generator is seeded by (seed, step)."""

  def __init__(self, centers: np.ndarray, std: float, batch_size: int, seed: int,
               process_index: int = 0, process_count: int = 1):
    self.centers = centers
    self.std = std
    self.element_shape = (centers.shape[1],)
    self.local = batch_size // process_count
    self.offset = process_index * self.local
    self.batch_size = batch_size
    self.seed = seed

  def batch(self, step: int) -> np.ndarray:
    rng = np.random.default_rng([self.seed, step])
    points = toy.sample_mixture_np(rng, self.centers, self.std, self.batch_size)
    return points[self.offset:self.offset + self.local]


def toy_centers(config: ml_collections.ConfigDict) -> np.ndarray:
  d = config.data
  if d.name == 'toy_ring':
    return toy.ring_centers(d.num_modes, d.radius)
  return toy.grid_centers(d.num_modes, d.spacing)


def make_source(config: ml_collections.ConfigDict, process_index: int | None = None,
                process_count: int | None = None) -> Source:
  d = config.data
  pi = jax.process_index() if process_index is None else process_index
  pc = jax.process_count() if process_count is None else process_count
  # The data order draws from its own stream, distinct from the model's PRNG key.
  data_seed = config.seed + 1
  if d.name == 'mnist_5k':
    images, _ = embedded.load_mnist_5k()
    return ArraySource(images, d.batch_size, data_seed, pi, pc)
  if d.name in ('toy_ring', 'toy_grid'):
    return ToySource(toy_centers(config), d.std, d.batch_size, data_seed, pi, pc)
  raise ValueError(f'Unknown config.data.name={d.name!r}; valid: {", ".join(NAMES)}.')
