"""Stacked MNIST (shared/REFERENCE.md section 2): three digits as the R, G, B channels.

Each sample draws three digits uniformly at random; its mode is 100 a + 10 b + c for the
digit labels (a, b, c) of the red, green and blue channels, one of 1,000. The draws of step s
come from a generator seeded by (seed, s), so batches are a pure function of the step.
The default digits are the 5,000 embedded ones ('stacked_mnist'); 'stacked_mnist:tfds'
uses TFDS mnist (config.data.split, config.data.data_dir), held in memory.

For evaluation, `split_channels` turns RGB samples into single digits for an MNIST
classifier, and `mode_labels` turns its three predictions per sample back into a mode.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gan_jax.data import embedded, images as images_lib

NUM_MODES = 1000
DIGIT_SIZE = 28


def load_digits(base: str, d: ml_collections.ConfigDict) -> tuple[np.ndarray, np.ndarray]:
  """(uint8 [N, 28, 28, 1], int labels [N]) of the base digits."""
  if base == 'mnist_5k':
    return embedded.load_mnist_5k()
  from gan_jax.data import tfds as tfds_lib  # noqa: PLC0415  (only this variant needs tfds)
  source = tfds_lib.open_source('mnist', d.split, d.data_dir)
  records = [source[i] for i in range(len(source))]
  return (np.stack([r['image'] for r in records]).astype(np.uint8),
          np.asarray([r['label'] for r in records], np.int32))


def mode_labels(digit_labels: np.ndarray) -> np.ndarray:
  """Per-channel digit labels [N, 3] (or [3N], sample-major) -> modes 100 a + 10 b + c [N]."""
  digits = np.asarray(digit_labels).reshape(-1, 3)
  return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def split_channels(samples: np.ndarray) -> np.ndarray:
  """RGB samples [N, H, W, 3] -> single-channel digits [3N, 28, 28, 1], sample-major.

  Values keep their range ([0, 1] or [-1, 1]); other sizes are resized back to 28x28, the
  MNIST classifier's input. Digit 3n + k is channel k of sample n, as `mode_labels` expects.
  """
  samples = np.asarray(samples, np.float32)
  if samples.ndim != 4 or samples.shape[-1] != 3:
    raise ValueError(f'Stacked MNIST samples are [N, H, W, 3]; got {samples.shape}.')
  n, h, w, _ = samples.shape
  digits = samples.transpose(0, 3, 1, 2).reshape(n * 3, h, w, 1)
  if (h, w) != (DIGIT_SIZE, DIGIT_SIZE):
    digits = np.asarray(jax.image.resize(jnp.asarray(digits), (n * 3, DIGIT_SIZE, DIGIT_SIZE, 1),
                                         'linear', antialias=True))
  return digits


class StackedSource:
  """Fresh random triples of digits every step; `batch_with_labels` also gives their modes."""

  def __init__(self, digits: np.ndarray, labels: np.ndarray, batch_size: int, seed: int,
               process_index: int = 0, process_count: int = 1, image_size: int = DIGIT_SIZE,
               policy: str = 'resize', crop: int = 0):
    if image_size != DIGIT_SIZE:
      images_lib.check_policy(policy, crop, image_size)
      if policy == 'none':
        raise ValueError(f'Stacked MNIST digits are 28x28; config.data.image_size={image_size} '
                         "needs config.data.preprocess='resize'.")
    self.digits = digits[..., 0]  # [N, 28, 28]
    self.labels = np.asarray(labels, np.int64)
    self.batch_size = batch_size
    self.seed = seed
    self.offset, self.local = images_lib.process_slice(batch_size, process_index, process_count)
    self.image_size, self.policy, self.crop = image_size, policy, crop
    self.element_shape = (image_size, image_size, 3)

  def triples(self, step: int) -> np.ndarray:
    """Digit indices [B_local, 3] of this process's share of batch `step`."""
    rng = np.random.default_rng([self.seed, step])
    whole = rng.integers(0, len(self.digits), (self.batch_size, 3))  # global, then sliced
    return whole[self.offset:self.offset + self.local]

  def batch_with_labels(self, step: int) -> tuple[np.ndarray, np.ndarray]:
    idx = self.triples(step)
    stacked = self.digits[idx].transpose(0, 2, 3, 1)  # [B, 28, 28, 3]
    if self.image_size != DIGIT_SIZE:
      stacked = np.stack([images_lib.fit(x, self.image_size, self.policy, self.crop, 'stacked digit')
                          for x in stacked])
    return images_lib.to_unit_scale(stacked), mode_labels(self.labels[idx])

  def batch(self, step: int) -> np.ndarray:
    return self.batch_with_labels(step)[0]
