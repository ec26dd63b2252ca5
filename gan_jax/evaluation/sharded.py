"""Evaluation's heavy part under `jax.pmap`: generated samples and classifier features.

Rows (noise vectors, or images) are cut into chunks of `per_device` rows on each of the
devices; the last chunk is padded with zero rows, and a mask (1 = a real row) drops the
padding twice: from FID's sums inside the map (`fid.feature_sums(..., mask, AXIS)`, a psum
over the devices) and from the rows gathered to the host for KID, PR, DC and the score. Any
device count gives the same numbers up to float32 rounding. Each map is compiled once per
(model, devices, chunk shape).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import numpy as np

from gan_jax import sampling
from gan_jax.evaluation import classifier as classifier_lib
from gan_jax.evaluation.fid import FeatureStats, feature_sums

AXIS = 'eval'
PER_DEVICE = 512  # most rows per device in one chunk; bounds device memory

# shard(*broadcast_args, rows [p, ...], mask [p]) -> (outputs {name: [p, ...]}, psum-ed sums or None)
ShardFn = Callable[..., tuple[dict[str, jax.Array], Any]]


def _pmap(shard: ShardFn, num_broadcast: int, devices: tuple[jax.Device, ...]) -> Callable:
  # Over this process's devices only: with several processes, each evaluates on its own.
  return jax.pmap(shard, AXIS, in_axes=(None,) * num_broadcast + (0, 0), devices=devices)


def map_rows(mapped: Callable, args: tuple, rows: np.ndarray, devices: Sequence[jax.Device]
             ) -> tuple[dict[str, np.ndarray], FeatureStats | None]:
  """Runs `mapped(*args, chunk, mask)` over `rows` in padded chunks split over `devices`.

  Returns each output's rows in input order with the padding dropped, and the float64
  accumulation of the per-chunk sums (None when the map returns none).
  """
  n, total = len(devices), len(rows)
  per_device = min(PER_DEVICE, -(-total // n))
  size = n * per_device
  padded = np.zeros((-(-total // size) * size, *rows.shape[1:]), rows.dtype)
  padded[:total] = rows
  mask = (np.arange(len(padded)) < total).astype(np.float32)
  results = []
  for i in range(0, len(padded), size):
    if len(results) >= 2:  # two chunks in flight keep the devices busy (and, as in train.py,
      jax.block_until_ready(results[-2])  # bound the queue for XLA CPU's collectives)
    results.append(mapped(*args, padded[i:i + size].reshape(n, per_device, *rows.shape[1:]),
                          mask[i:i + size].reshape(n, per_device)))
  outputs = {name: np.concatenate([np.asarray(out[name]).reshape(size, *out[name].shape[2:])
                                   for out, _ in results])[:total] for name in results[0][0]}
  if results[0][1] is None:
    return outputs, None
  stats = FeatureStats()
  for _, sums in results:  # every device holds the psum; read device 0's copy
    stats.add_sums(*(np.asarray(s[0]) for s in sums))
  return outputs, stats


def _classify(module: classifier_lib.LeNet, params: Any, x: jax.Array, mask: jax.Array):
  features, probs = module.apply({'params': params}, x, method='features_and_probs')
  return {'features': features, 'probs': probs}, feature_sums(features, mask, AXIS)


@functools.lru_cache(maxsize=None)
def _generator_map(g_model: nn.Module, devices: tuple[jax.Device, ...]) -> Callable:
  def shard(variables, z, mask):
    del mask  # padded rows are dropped on the host
    return {'samples': sampling.apply_inference(g_model, variables, z)}, None
  return _pmap(shard, 1, devices)


@functools.lru_cache(maxsize=None)
def _generated_features_map(g_model: nn.Module, module: classifier_lib.LeNet,
                            devices: tuple[jax.Device, ...]) -> Callable:
  def shard(variables, params, z, mask):
    images = sampling.to_unit_range(sampling.apply_inference(g_model, variables, z))
    return _classify(module, params, images * 2.0 - 1.0, mask)  # the classifier's scaling
  return _pmap(shard, 2, devices)


@functools.lru_cache(maxsize=None)
def _features_map(module: classifier_lib.LeNet, devices: tuple[jax.Device, ...]) -> Callable:
  def shard(params, images, mask):
    return _classify(module, params, classifier_lib.to_model_input(images), mask)
  return _pmap(shard, 1, devices)


def generate(g_model: nn.Module, variables: dict[str, Any], z: np.ndarray,
             devices: Sequence[jax.Device]) -> np.ndarray:
  """G(z) in inference mode (`variables` from sampling.inference_variables), on the host."""
  out, _ = map_rows(_generator_map(g_model, tuple(devices)), (variables,), np.asarray(z), devices)
  return out['samples']


def generated_features(g_model: nn.Module, variables: dict[str, Any],
                       clf: classifier_lib.Classifier, z: np.ndarray, devices: Sequence[jax.Device]
                       ) -> tuple[np.ndarray, np.ndarray, FeatureStats]:
  """(features, probs, FID stats) of G(z), generated and classified on device."""
  mapped = _generated_features_map(g_model, clf.module, tuple(devices))
  out, stats = map_rows(mapped, (variables, clf.params), np.asarray(z), devices)
  return out['features'], out['probs'], stats


def image_features(clf: classifier_lib.Classifier, images: np.ndarray,
                   devices: Sequence[jax.Device]) -> tuple[np.ndarray, np.ndarray, FeatureStats]:
  """(features, probs, FID stats) of images (uint8, or floats in [-1, 1]) on device."""
  mapped = _features_map(clf.module, tuple(devices))
  out, stats = map_rows(mapped, (clf.params,), np.asarray(images), devices)
  return out['features'], out['probs'], stats
