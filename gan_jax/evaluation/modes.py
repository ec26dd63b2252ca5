"""Mode coverage on the 2D Gaussian mixtures (PacGAN, Lin et al. 2018; shared/REFERENCE.md §1)."""

from __future__ import annotations

import numpy as np


def reverse_kl_to_uniform(counts: np.ndarray) -> float:
  """KL(p || uniform) = sum_i p_i log(p_i M) for the histogram p = counts / sum(counts) over M bins.

  0 when every bin holds the same share; log M when all mass sits in one bin. With no counts
  at all p is undefined; we return log M, the value of total collapse, so that a generator
  with nothing near any mode never scores better than one that collapsed onto a single mode
  (and the value stays finite for averaging over trials and for JSON logs).
  """
  counts = np.asarray(counts, np.float64)
  total, num_bins = counts.sum(), len(counts)
  if total == 0:
    return float(np.log(num_bins))
  p = counts[counts > 0] / total
  return float(np.sum(p * np.log(p * num_bins)))


def mode_stats(samples: np.ndarray, centers: np.ndarray, std: float, num_std: float = 3.0) -> dict:
  """PacGAN's metrics for samples [N, D] of a mixture of isotropic Gaussians at centers [M, D].

  A sample is high quality (HQ) if its Mahalanobis distance |x - c| / std to its nearest
  centre c is at most `num_std` (3); a mode is covered if it is the nearest centre of at least
  one HQ sample; reverse_kl is `reverse_kl_to_uniform` of the HQ samples' histogram over modes.
  For exact samples of a 2D mixture, HQ fraction = P(chi^2_2 <= 9) = 1 - e^{-4.5} ~ 0.989.
  Returns {'modes_covered': int, 'high_quality_fraction': float, 'reverse_kl': float,
  'mode_counts': HQ samples per mode [M]}.
  """
  x = np.asarray(samples, np.float64)
  c = np.asarray(centers, np.float64)
  if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1]:
    raise ValueError(f'samples [N, D] and centers [M, D] must share D; got {x.shape} and {c.shape}.')
  nearest = np.empty(len(x), np.int64)
  dist2 = np.empty(len(x))
  for i in range(0, len(x), 4096):  # bounds the [chunk, M] distance matrix for large N
    d2 = np.sum((x[i:i + 4096, None, :] - c[None]) ** 2, axis=-1)
    nearest[i:i + 4096] = d2.argmin(axis=1)
    dist2[i:i + 4096] = d2.min(axis=1)
  high_quality = dist2 <= (num_std * std) ** 2
  counts = np.bincount(nearest[high_quality], minlength=len(c))
  return {
      'modes_covered': int(np.count_nonzero(counts)),
      'high_quality_fraction': float(high_quality.mean()) if len(x) else 0.0,
      'reverse_kl': reverse_kl_to_uniform(counts),
      'mode_counts': counts,
  }


def stacked_mode_stats(digit_labels: np.ndarray, num_modes: int = 1000) -> dict:
  """Stacked MNIST's metrics (shared/REFERENCE.md §2) from per-channel digit predictions.

  `digit_labels` is [N, 3] (or [3N], sample-major, as data/stacked.split_channels orders the
  channels); sample n's mode is 100 a + 10 b + c. Returns {'modes_covered': modes with at
  least one sample, 'kl': KL(p_modes || uniform) over the N samples (0 for a uniform
  histogram, log 1000 for a collapse onto one mode), 'mode_counts': [num_modes]}.
  """
  from gan_jax.data.stacked import mode_labels  # noqa: PLC0415  (keeps this module numpy-only)
  modes = mode_labels(digit_labels)
  counts = np.bincount(modes, minlength=num_modes)
  return {'modes_covered': int(np.count_nonzero(counts)), 'kl': reverse_kl_to_uniform(counts),
          'mode_counts': counts}
