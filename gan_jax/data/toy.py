"""2D mixtures of Gaussians (shared/REFERENCE.md section 1), sampled with explicit keys."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np


def ring_centers(num_modes: int = 8, radius: float = 1.0) -> np.ndarray:
  """`num_modes` centres evenly spaced on a circle: (r cos 2 pi i/n, r sin 2 pi i/n)."""
  angles = 2 * np.pi * np.arange(num_modes) / num_modes
  return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(np.float32)


def grid_centers(num_modes: int = 25, spacing: float = 2.0) -> np.ndarray:
  """A k x k grid centred at 0 (k^2 = num_modes); spacing 2 gives REFERENCE's (-4 + 2i, -4 + 2j)."""
  k = math.isqrt(num_modes)
  if k * k != num_modes:
    raise ValueError(f'A grid needs a square number of modes; got config.data.num_modes={num_modes}.')
  axis = spacing * (np.arange(k) - (k - 1) / 2)
  xx, yy = np.meshgrid(axis, axis, indexing='ij')
  return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)


def sample_mixture(key: jax.Array, centers: jax.Array, std: float, n: int) -> jax.Array:
  """n points from the equal-weight isotropic mixture with these centres [M, 2] (jittable)."""
  k_mode, k_noise = jax.random.split(key)
  modes = jax.random.randint(k_mode, (n,), 0, centers.shape[0])
  return centers[modes] + std * jax.random.normal(k_noise, (n, centers.shape[1]), jnp.float32)


def sample_mixture_np(rng: np.random.Generator, centers: np.ndarray, std: float, n: int) -> np.ndarray:
  """The same mixture on the host with NumPy: ~100x cheaper per call than dispatching to JAX,
  which matters when the whole train step of a toy MLP takes a millisecond."""
  modes = rng.integers(0, len(centers), n)
  return (centers[modes] + std * rng.standard_normal((n, centers.shape[1]))).astype(np.float32)
