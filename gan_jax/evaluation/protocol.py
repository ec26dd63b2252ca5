"""Scoring a generator under a recorded protocol, during training and from the CLI.

Toy mixtures get PacGAN's mode statistics; Stacked MNIST gets the modes covered (of 1,000)
and KL(p_modes || uniform), each channel labelled by the shipped MNIST classifier; MNIST data
gets FID, KID, improved
precision/recall, density/coverage and the classifier score, all on the features of the
shipped MNIST classifier (comparable only between runs with the same classifier CHECKSUM).
Every score is returned with the protocol that produced it.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import jax
import ml_collections
import numpy as np

from gan_jax import data, sampling
from gan_jax.data import embedded
from gan_jax.data import stacked as stacked_data
from gan_jax.evaluation import classifier as classifier_lib
from gan_jax.evaluation import sharded
from gan_jax.evaluation.fid import FeatureStats, stats_fid
from gan_jax.evaluation.inception_score import inception_score
from gan_jax.evaluation.kid import kernel_distance
from gan_jax.evaluation.modes import mode_stats, stacked_mode_stats
from gan_jax.evaluation.prdc import density_coverage, precision_recall

TOY_METRICS = ('modes', 'high_quality', 'reverse_kl')
STACKED_METRICS = ('modes', 'kl')  # of 1,000 stacked modes; KL(p_modes || uniform)
IMAGE_METRICS = ('fid', 'kid', 'precision_recall', 'density_coverage', 'score')
MNIST_DIGITS = ('mnist_5k', 'tfds:mnist')  # the data the classifier behind IMAGE_METRICS fits
# The score that picks the best checkpoint, and whether lower is better.
PRIMARY = {'toy': ('reverse_kl', True), 'stacked': ('kl', True), 'image': ('fid', True)}
_EVAL_NOISE_SEED = 4321  # fixed: every evaluation of a run scores G on the same noise


def is_stacked(config: ml_collections.ConfigDict) -> bool:
  return config.data.name.startswith('stacked_mnist')


def valid_metrics(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  if data.is_points(config):
    return TOY_METRICS
  return STACKED_METRICS if is_stacked(config) else IMAGE_METRICS


def requested(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  return tuple(m.strip() for m in config.eval.metrics.split(',') if m.strip())


def metrics_problem(config: ml_collections.ConfigDict) -> str | None:
  """Why config.eval.metrics's image metrics cannot score config.data, or None.

  They use the shipped MNIST digit classifier (28x28x1 inputs), against the embedded digits.
  """
  if is_stacked(config):
    return None  # split_channels resizes any image size back to the classifier's 28x28
  image = [m for m in requested(config) if m in IMAGE_METRICS]
  if not image or data.is_points(config):
    return None  # toy data: valid_metrics already excludes image metrics
  name = config.data.name
  if name not in MNIST_DIGITS:
    return (f'config.eval.metrics={config.eval.metrics!r} asks for {", ".join(image)}, which use '
            f'the shipped MNIST digit classifier; config.data.name={name!r} is not MNIST digits '
            f'(allowed: {", ".join(MNIST_DIGITS)})')
  size = data.image_size(config)
  if size != 28:
    return (f'config.eval.metrics={config.eval.metrics!r} uses the MNIST classifier, which takes '
            f'28x28 digits; config.data.name={name!r} with config.data.image_size={size} gives '
            f'{size}x{size} (allowed: config.data.image_size=28)')
  return None


def cache_dir() -> str:
  root = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(root, 'gan_jax', 'reference')


def mnist_reference_features(clf: classifier_lib.Classifier,
                             devices: Sequence[jax.Device] | None = None) -> np.ndarray:
  """Classifier features of all 5,000 embedded digits, cached on disk by classifier checksum.

  Computed (on a cache miss) sharded over `devices`, all local devices by default.
  """
  path = os.path.join(cache_dir(), f'mnist_5k-all-5000-{classifier_lib.CHECKSUM[:16]}.npy')
  if os.path.exists(path):
    return np.load(path)
  images, _ = embedded.load_mnist_5k()
  features, _, _ = sharded.image_features(clf, images, devices or jax.local_devices())
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = f'{path}.{os.getpid()}.tmp.npy'
  np.save(tmp, features)
  os.replace(tmp, path)  # atomic: concurrent runs never read a half-written file
  return features


class Evaluator:
  """Scores samples of a run's generator; `protocol` says exactly how.

  Generation and classifier features run sharded over `devices` (this process's devices by
  default; sharded.py); the scores do not depend on how many there are.
  """

  def __init__(self, config: ml_collections.ConfigDict, num_samples: int | None = None,
               ema: bool | None = None, devices: Sequence[jax.Device] | None = None):
    problem = metrics_problem(config)
    if problem:
      raise ValueError(f'{problem}; these scores are not defined for this data.')
    self.config = config
    self.is_toy = data.is_points(config)
    self.is_stacked = is_stacked(config)
    self.metrics = requested(config)
    self.num_samples = num_samples or config.eval.num_samples
    self.ema = config.eval.ema if ema is None else ema
    self.devices = tuple(devices or jax.local_devices())
    kind = 'toy' if self.is_toy else 'stacked' if self.is_stacked else 'image'
    self.primary, self.lower_is_better = PRIMARY[kind]
    self._clf: classifier_lib.Classifier | None = None
    self._reference: tuple[classifier_lib.Classifier, np.ndarray, FeatureStats] | None = None
    self.protocol: dict[str, Any] = {
        'dataset': config.data.name, 'fake_samples': self.num_samples,
        'generator': 'ema' if self.ema else 'raw', 'noise_seed': _EVAL_NOISE_SEED}
    if self.is_toy:
      self.protocol.update(std=config.data.std, high_quality='within 3 std of nearest mode')
    elif self.is_stacked:
      self.protocol.update(modes=stacked_data.NUM_MODES,
                           labels='argmax of the gan_jax MNIST classifier on each channel',
                           classifier_sha256=classifier_lib.CHECKSUM,
                           kl='KL(p_modes || uniform) over all generated samples')
    else:
      self.protocol.update(real_split='all 5,000 embedded digits', real_samples=5000,
                           features='gan_jax MNIST classifier (penultimate, 128-d)',
                           classifier_sha256=classifier_lib.CHECKSUM,
                           kid='100 subsets of min(1000, N)', precision_recall_k=3,
                           density_coverage_k=5, score_splits=10)

  def classifier(self) -> classifier_lib.Classifier:
    """The shipped MNIST classifier, loaded (and checksum-verified) once per Evaluator."""
    if self._clf is None:
      self._clf = classifier_lib.load_classifier()
    return self._clf

  def reference(self) -> tuple[classifier_lib.Classifier, np.ndarray, FeatureStats]:
    """(classifier, real features, their FID stats), loaded once.

    The real stats come from the cached features in float64 on the host, so they are the
    same in every run whatever computed the cache.
    """
    if self._reference is None:
      clf = self.classifier()
      real = mnist_reference_features(clf, self.devices)
      self._reference = clf, real, FeatureStats.from_features(real)
    return self._reference

  def _toy_scores(self, points: np.ndarray) -> dict[str, float]:
    stats = mode_stats(points, data.toy_centers(self.config), self.config.data.std)
    out = {'modes': stats['modes_covered'], 'high_quality': stats['high_quality_fraction'],
           'reverse_kl': stats['reverse_kl']}
    return {k: float(v) for k, v in out.items() if k in self.metrics}

  def _stacked_scores(self, images: np.ndarray) -> dict[str, float]:
    """Scores for RGB samples [N, H, W, 3] scaled to [-1, 1]."""
    clf = self.classifier()
    digits = np.clip(stacked_data.split_channels(images), -1.0, 1.0)
    _, probs, _ = sharded.image_features(clf, digits, self.devices)
    stats = stacked_mode_stats(probs.argmax(axis=1), stacked_data.NUM_MODES)
    out = {'modes': stats['modes_covered'], 'kl': stats['kl']}
    return {k: float(v) for k, v in out.items() if k in self.metrics}

  def _image_scores(self, fake: np.ndarray, probs: np.ndarray,
                    fake_stats: FeatureStats) -> dict[str, float]:
    _, real, real_stats = self.reference()
    out: dict[str, float] = {}
    if 'fid' in self.metrics:
      out['fid'] = stats_fid(real_stats, fake_stats)
    if 'kid' in self.metrics:
      out['kid'], out['kid_std'] = kernel_distance(real, fake, subset_size=min(1000, len(fake)))
    if 'precision_recall' in self.metrics:
      out['precision'], out['recall'] = precision_recall(real, fake, k=3)
    if 'density_coverage' in self.metrics:
      out['density'], out['coverage'] = density_coverage(real, fake, k=5)
    if 'score' in self.metrics:
      out['score'], out['score_std'] = inception_score(probs, splits=10)
    return {k: float(v) for k, v in out.items()}

  def score_samples(self, samples: np.ndarray) -> dict[str, float]:
    """Scores given samples: 2D points, or images in [0, 1] NHWC."""
    if not self.metrics:
      return {}
    if self.is_toy:
      return self._toy_scores(np.asarray(samples))
    if self.is_stacked:
      return self._stacked_scores(np.asarray(samples, np.float32) * 2.0 - 1.0)
    clf = self.reference()[0]
    images = np.asarray(samples, np.float32) * 2.0 - 1.0  # the classifier's [-1, 1] scaling
    return self._image_scores(*sharded.image_features(clf, images, self.devices))

  def __call__(self, run, state) -> dict[str, float]:
    """Scores `run`'s generator in `state` (a host GANState) on the fixed evaluation noise."""
    if not self.metrics:
      return {}
    z = np.asarray(run.fixed_noise(self.num_samples, seed=_EVAL_NOISE_SEED))
    params = state.ema_params if self.ema else state.g.params
    # Standing BatchNorm statistics for EMA parameters, as run.samples does.
    variables = sampling.inference_variables(run.g_model, params, state.g.batch_stats,
                                             z.shape[1], recompute_stats=self.ema)
    if self.is_toy:
      return self._toy_scores(sharded.generate(run.g_model, variables, z, self.devices))
    if self.is_stacked:  # G's tanh outputs are already in the classifier's [-1, 1]
      return self._stacked_scores(sharded.generate(run.g_model, variables, z, self.devices))
    clf = self.reference()[0]
    return self._image_scores(*sharded.generated_features(run.g_model, variables, clf, z,
                                                          self.devices))

  def is_better(self, value: float, best: float | None) -> bool:
    if best is None:
      return True
    return value < best if self.lower_is_better else value > best
