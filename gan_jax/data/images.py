"""What every image source shares: the epoch order, the crop/resize policy, and a
random-access source that decodes its records on worker threads.

The order of samples is a pure function of (seed, step): position p of the endless stream
is element perm_e[p mod N] with e = p div N and perm_e a permutation seeded by (seed, e).
So `batch(step)` needs no iterator state and a resumed run reads exactly the same batches.
"""

from __future__ import annotations

import collections
import concurrent.futures
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image

POLICIES = ('none', 'resize', 'center_crop')


class EpochOrder:
  """Shuffled epochs over N elements; the permutation of epoch e is seeded by (seed, e)."""

  def __init__(self, n: int, seed: int):
    self.n = n
    self.seed = seed
    self._cache: collections.OrderedDict[int, np.ndarray] = collections.OrderedDict()

  def permutation(self, epoch: int) -> np.ndarray:
    if epoch not in self._cache:
      self._cache[epoch] = np.random.default_rng([self.seed, epoch]).permutation(self.n)
      if len(self._cache) > 2:  # a batch spans at most two epochs (unless B > N)
        self._cache.popitem(last=False)
    return self._cache[epoch]

  def indices(self, start: int, count: int) -> np.ndarray:
    """Element indices of stream positions start .. start + count - 1."""
    epochs, within = np.divmod(np.arange(start, start + count), self.n)
    idx = np.empty(count, np.int64)
    for epoch in np.unique(epochs):
      sel = epochs == epoch
      idx[sel] = self.permutation(int(epoch))[within[sel]]
    return idx


def process_slice(batch_size: int, process_index: int, process_count: int) -> tuple[int, int]:
  """(offset, size) of this process's contiguous share of a global batch."""
  if batch_size % process_count:
    raise ValueError(f'config.data.batch_size={batch_size} must divide over {process_count} processes.')
  local = batch_size // process_count
  return process_index * local, local


def to_unit_scale(images: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] -> float32 [-1, 1], the range G's tanh produces."""
  return images.astype(np.float32) / 127.5 - 1.0


def check_policy(policy: str, crop: int, size: int) -> None:
  if policy not in POLICIES:
    raise ValueError(f'config.data.preprocess={policy!r} is not valid; choose one of: {", ".join(POLICIES)}.')
  if size <= 0 or crop < 0:
    raise ValueError(f'config.data.image_size={size} must be > 0 and config.data.crop={crop} >= 0.')


def fit(image: np.ndarray, size: int, policy: str, crop: int, where: str) -> np.ndarray:
  """One uint8 [H, W, C] image to [size, size, C] by the configured policy.

  'none' demands the exact size; 'resize' resizes the whole image; 'center_crop' takes the
  central `crop` x `crop` square (0 = the largest one) and resizes it. Pillow's bilinear
  resize is antialiased when shrinking (like torchvision's Resize on PIL images).
  `where` names the file or record in error messages.
  """
  h, w = image.shape[:2]
  if policy == 'none':
    if (h, w) != (size, size):
      raise ValueError(f'{where}: image is {h}x{w}, expected {size}x{size} (config.data.image_size). '
                       "Set config.data.preprocess='resize' or 'center_crop' to adapt it.")
    return image
  if policy == 'center_crop':
    side = crop or min(h, w)
    if side > min(h, w):
      raise ValueError(f'{where}: image is {h}x{w}, smaller than config.data.crop={crop}.')
    top, left = (h - side) // 2, (w - side) // 2
    image = image[top:top + side, left:left + side]
  if image.shape[:2] == (size, size):
    return image
  pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
  out = np.asarray(pil.resize((size, size), Image.BILINEAR))
  return out.reshape(size, size, image.shape[-1])


def check_uint8_image(image: Any, channels: int | None, where: str) -> np.ndarray:
  """A decoded record as uint8 [H, W, C] with C in {1, 3} (and == `channels` if given)."""
  image = np.asarray(image)
  if image.dtype != np.uint8:
    raise ValueError(f'{where}: image dtype is {image.dtype}, expected uint8 (8-bit images).')
  if image.ndim == 2:
    image = image[..., None]
  if image.ndim != 3 or image.shape[-1] not in (1, 3):
    raise ValueError(f'{where}: image shape is {image.shape}, expected [H, W, 1] or [H, W, 3].')
  if channels is not None and image.shape[-1] != channels:
    raise ValueError(f'{where}: image has {image.shape[-1]} channel(s), expected {channels} '
                     'like the rest of the dataset.')
  return image


class RecordSource:
  """Batches from N random-access records, decoded on `num_workers` threads.

  `load(i)` returns record i as uint8 [size, size, C] (already fitted). Because batches are a
  pure function of the step, the next `prefetch` batches can be decoded ahead while the
  device trains; asking for any other step just computes it. Decoding (PIL, ArrayRecord
  reads) releases the GIL, so threads run in parallel without pickling records.
  With `cache`, each decoded record is kept (N x size^2 x C bytes, filled as records are
  first read), so from the second epoch on batches are plain array indexing.
  """

  def __init__(self, n: int, load: Callable[[int], np.ndarray], element_shape: Sequence[int],
               batch_size: int, seed: int, process_index: int = 0, process_count: int = 1,
               num_workers: int = 0, prefetch: int = 0, cache: bool = False):
    if n == 0:
      raise ValueError('The dataset is empty.')
    self.order = EpochOrder(n, seed)
    self._decode = load
    # np.empty only reserves address space; pages are committed as records arrive.
    self._cache = np.empty((n, *element_shape), np.uint8) if cache else None
    self._cached = np.zeros(n, bool)
    self.element_shape = tuple(element_shape)
    self.batch_size = batch_size
    self.offset, self.local = process_slice(batch_size, process_index, process_count)
    self.prefetch = prefetch if num_workers else 0
    self.num_workers = num_workers
    self._pool = (concurrent.futures.ThreadPoolExecutor(num_workers, thread_name_prefix='gan_jax_data')
                  if num_workers else None)
    self._pending: dict[int, list[concurrent.futures.Future]] = {}

  def indices(self, step: int) -> np.ndarray:
    """Record indices of this process's share of batch `step`."""
    return self.order.indices(step * self.batch_size + self.offset, self.local)

  def load(self, i: int) -> np.ndarray:
    if self._cached[i]:
      return self._cache[i]
    image = self._decode(i)
    if self._cache is not None:
      self._cache[i] = image
      self._cached[i] = True  # after the write: a reader never sees a half-filled row
    return image

  def _load_many(self, idx: np.ndarray) -> np.ndarray:
    return np.stack([self.load(int(i)) for i in idx])

  def _submit(self, step: int) -> list[concurrent.futures.Future]:
    # One task per worker, not per image: per-task overhead rivals decoding a 32x32 PNG.
    chunks = np.array_split(self.indices(step), self.num_workers)
    return [self._pool.submit(self._load_many, c) for c in chunks if len(c)]

  def uint8_batch(self, step: int) -> np.ndarray:
    idx = self.indices(step)
    if self._cached[idx].all():
      return self._cache[idx]
    if self._pool is None:
      return self._load_many(idx)
    futures = self._pending.pop(step, None) or self._submit(step)
    for old in [s for s in self._pending if not step < s <= step + self.prefetch]:
      for f in self._pending.pop(old):  # a jump (e.g. resume): drop stale look-ahead
        f.cancel()
    for ahead in range(step + 1, step + 1 + self.prefetch):
      if ahead not in self._pending:
        self._pending[ahead] = self._submit(ahead)
    return np.concatenate([f.result() for f in futures])

  def batch(self, step: int) -> np.ndarray:
    return to_unit_scale(self.uint8_batch(step))

  def close(self) -> None:
    if self._pool is not None:
      self._pool.shutdown(wait=False, cancel_futures=True)
