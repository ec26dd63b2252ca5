"""Kernel Inception Distance (KID; Bińkowski et al. 2018) on any features."""

from __future__ import annotations

import numpy as np


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
  """k(x, y) = (x . y / d + 1)^3, d the feature dimension: [n, d], [m, d] -> [n, m]."""
  return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
  """Unbiased MMD^2 between equal-size sets x, y [m, d] (m >= 2) under `polynomial_kernel`:

    sum_{i != j} k(x_i, x_j) / (m(m-1)) + sum_{i != j} k(y_i, y_j) / (m(m-1))
      - 2 sum_{i, j} k(x_i, y_j) / m^2
  """
  m = len(x)
  k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
  off_diag = lambda k: (k.sum() - np.trace(k)) / (m * (m - 1))
  return float(off_diag(k_xx) + off_diag(k_yy) - 2 * k_xy.sum() / m ** 2)


def kernel_distance(a: np.ndarray, b: np.ndarray, num_subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
  """KID between features a [N, d] and b [M, d]: (mean, std) of `mmd2_unbiased` over subsets.

  Each subset draws m = min(subset_size, N, M) rows of a and then m rows of b, each without
  replacement (rng.choice(..., replace=False) from one np.random.default_rng(seed), in that
  order), so with fewer than `subset_size` samples the subsets are smaller than the protocol's
  1,000, and when m equals both N and M every subset is the whole set (computed once, std 0).
  Computed in float64; the std is over subsets with ddof=0, as in the reference implementations.
  """
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
    raise ValueError(f'Features must be [N, d] and [M, d]; got {a.shape} and {b.shape}.')
  m = min(subset_size, len(a), len(b))
  if m < 2:
    raise ValueError(f'KID needs at least 2 samples per set; got {len(a)} and {len(b)}.')
  if m == len(a) == len(b):  # every subset is the whole set (in some order): one value, std 0
    return mmd2_unbiased(a, b), 0.0
  rng = np.random.default_rng(seed)
  values = []
  for _ in range(num_subsets):
    x = a[rng.choice(len(a), m, replace=False)]
    y = b[rng.choice(len(b), m, replace=False)]
    values.append(mmd2_unbiased(x, y))
  return float(np.mean(values)), float(np.std(values))
