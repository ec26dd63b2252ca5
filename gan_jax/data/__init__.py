"""One input API for every source: `make_source(config).batch(step)`.

A source's batch for a given step is a pure function of (seed, step), so the data position
is the step counter saved in the checkpoint, and a resumed run sees exactly the batches an
uninterrupted run would. Each process takes its own contiguous slice of the global batch.

config.data.name selects the source:
  'mnist_5k'                 5,000 embedded MNIST digits (no download), 28x28x1
  'toy_ring', 'toy_grid'     2D Gaussian mixtures (data/toy.py)
  'stacked_mnist'            Stacked MNIST from the embedded digits (data/stacked.py), 28x28x3
  'stacked_mnist:tfds'       the same from TFDS mnist (60,000 digits; needs it prepared)
  'tfds:<name>'              any prepared TFDS image dataset, e.g. 'tfds:cifar10' (data/tfds.py)
  'folder:<dir>'             your PNG/JPEG files (data/user.py)
  'npz:<file>'               your image array in an .npz file (data/user.py)
All but mnist_5k and the toys read config.data.image_size, .preprocess and .crop
(data/images.py: fit); tfds and folder also .num_workers, .prefetch and .cache
(data/images.py: RecordSource); tfds and stacked_mnist:tfds also .split and .data_dir.
"""

from __future__ import annotations

from typing import Protocol

import jax
import ml_collections
import numpy as np

from gan_jax.data import embedded, stacked, toy, user
from gan_jax.data import images as images_lib

# What validation lists as allowed; <...> stands for a user-chosen part.
NAMES = ('mnist_5k', 'toy_ring', 'toy_grid', 'stacked_mnist', 'stacked_mnist:tfds', 'tfds:<name>',
         'folder:<dir>', 'npz:<file>')
_PREFIXES = ('tfds', 'folder', 'npz')
_FIT_KEYS = ('image_size', 'preprocess', 'crop')
_WORKER_KEYS = ('num_workers', 'prefetch', 'cache')
_TFDS_KEYS = ('split', 'data_dir')


class Source(Protocol):
  element_shape: tuple[int, ...]  # one sample, no batch axis

  def batch(self, step: int) -> np.ndarray:
    """This process's share of global batch number `step`, float32."""


def _kind(name: str) -> tuple[str, str]:
  """('tfds', 'cifar10') for 'tfds:cifar10'; (name, '') for the fixed names."""
  prefix, sep, rest = name.partition(':')
  return (prefix, rest) if sep and prefix in _PREFIXES else (name, '')


def valid_name(name: str) -> bool:
  kind, rest = _kind(name)
  return kind in NAMES or (kind in _PREFIXES and bool(rest))


def is_points(config: ml_collections.ConfigDict) -> bool:
  """Whether the data are 2D points (toy mixtures) rather than images."""
  return config.data.name.startswith('toy_')


def _needed_keys(name: str) -> tuple[str, ...]:
  kind, _ = _kind(name)
  if kind in ('mnist_5k', 'toy_ring', 'toy_grid'):
    return ()
  keys = _FIT_KEYS
  if kind in ('tfds', 'folder'):
    keys += _WORKER_KEYS
  if kind == 'tfds' or name == 'stacked_mnist:tfds':
    keys += _TFDS_KEYS
  return keys


def image_size(config: ml_collections.ConfigDict) -> int | None:
  """Side of the square images the source yields (None for 2D points); no data is read."""
  if is_points(config):
    return None
  return 28 if config.data.name == 'mnist_5k' else config.data.image_size


def config_problem(config: ml_collections.ConfigDict) -> str | None:
  """The first problem with config.data's source keys, as a message naming the key; or None."""
  d = config.data
  missing = [k for k in _needed_keys(d.name) if k not in d]
  if missing:
    return (f'config.data.name={d.name!r} needs config.data.{", config.data.".join(missing)}; '
            'copy them from experiments/celeba_dcgan.py.')
  if 'preprocess' in _needed_keys(d.name):
    if d.preprocess not in images_lib.POLICIES:
      return (f'config.data.preprocess={d.preprocess!r} is not valid; choose one of: '
              f'{", ".join(images_lib.POLICIES)}.')
    if d.image_size <= 0 or d.crop < 0:
      return f'config.data.image_size={d.image_size} must be > 0 and config.data.crop={d.crop} >= 0.'
    if d.name.startswith('stacked_mnist') and d.image_size != 28 and d.preprocess == 'none':
      return (f'config.data.image_size={d.image_size}: stacked MNIST digits are 28x28; '
              "set config.data.preprocess='resize'.")
  if 'num_workers' in _needed_keys(d.name) and (d.num_workers < 0 or d.prefetch < 0):
    return f'config.data.num_workers={d.num_workers} and config.data.prefetch={d.prefetch} must be >= 0.'
  return None


class ArraySource:
  """Shuffled epochs over an in-memory uint8 image array, scaled to [-1, 1]."""

  def __init__(self, images: np.ndarray, batch_size: int, seed: int,
               process_index: int = 0, process_count: int = 1):
    self.images = images
    self.element_shape = tuple(images.shape[1:])
    self.batch_size = batch_size
    self.order = images_lib.EpochOrder(len(images), seed)
    self.offset, self.local = images_lib.process_slice(batch_size, process_index, process_count)

  def indices(self, step: int) -> np.ndarray:
    """Image indices of this process's share of batch `step`."""
    start = step * self.batch_size + self.offset  # position in the endless stream of epochs
    return self.order.indices(start, self.local)

  def batch(self, step: int) -> np.ndarray:
    return images_lib.to_unit_scale(self.images[self.indices(step)])


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
  args = (d.batch_size, data_seed, pi, pc)
  kind, rest = _kind(d.name)
  if not valid_name(d.name):
    raise ValueError(f'Unknown config.data.name={d.name!r}; valid: {", ".join(NAMES)}.')
  problem = config_problem(config)
  if problem:
    raise ValueError(problem)
  if kind == 'mnist_5k':
    images, _ = embedded.load_mnist_5k()
    return ArraySource(images, *args)
  if kind in ('toy_ring', 'toy_grid'):
    return ToySource(toy_centers(config), d.std, *args)
  if kind.startswith('stacked_mnist'):
    digits, labels = stacked.load_digits('tfds' if kind.endswith(':tfds') else 'mnist_5k', d)
    return stacked.StackedSource(digits, labels, *args, d.image_size, d.preprocess, d.crop)
  if kind == 'tfds':
    from gan_jax.data import tfds as tfds_lib  # noqa: PLC0415  (tfds imports take ~1 s)
    return tfds_lib.make(rest, d, *args)
  if kind == 'folder':
    return user.make_folder(rest, d, *args)
  return ArraySource(user.load_npz(rest, d.image_size, d.preprocess, d.crop), *args)
