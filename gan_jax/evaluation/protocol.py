"""Scoring a generator under a recorded protocol, during training and from the CLI.

Toy mixtures get PacGAN's mode statistics; MNIST data gets FID, KID, improved
precision/recall, density/coverage and the classifier score, all on the features of the
shipped MNIST classifier (comparable only between runs with the same classifier CHECKSUM).
Every score is returned with the protocol that produced it.
"""

from __future__ import annotations

import os
from typing import Any

import ml_collections
import numpy as np

from gan_jax import data
from gan_jax.data import embedded
from gan_jax.evaluation import classifier as classifier_lib
from gan_jax.evaluation.fid import frechet_distance
from gan_jax.evaluation.inception_score import inception_score
from gan_jax.evaluation.kid import kernel_distance
from gan_jax.evaluation.modes import mode_stats
from gan_jax.evaluation.prdc import density_coverage, precision_recall

TOY_METRICS = ('modes', 'high_quality', 'reverse_kl')
IMAGE_METRICS = ('fid', 'kid', 'precision_recall', 'density_coverage', 'score')
# The score that picks the best checkpoint, and whether lower is better.
PRIMARY = {'toy': ('reverse_kl', True), 'image': ('fid', True)}
_EVAL_NOISE_SEED = 4321  # fixed: every evaluation of a run scores G on the same noise


def valid_metrics(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  return TOY_METRICS if config.data.name.startswith('toy_') else IMAGE_METRICS


def requested(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  return tuple(m.strip() for m in config.eval.metrics.split(',') if m.strip())


def cache_dir() -> str:
  root = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(root, 'gan_jax', 'reference')


def mnist_reference_features(clf: classifier_lib.Classifier) -> np.ndarray:
  """Classifier features of all 5,000 embedded digits, cached on disk by classifier checksum."""
  path = os.path.join(cache_dir(), f'mnist_5k-all-5000-{classifier_lib.CHECKSUM[:16]}.npy')
  if os.path.exists(path):
    return np.load(path)
  images, _ = embedded.load_mnist_5k()
  features = clf.features(images)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = f'{path}.{os.getpid()}.tmp.npy'
  np.save(tmp, features)
  os.replace(tmp, path)  # atomic: concurrent runs never read a half-written file
  return features


class Evaluator:
  """Scores samples of a run's generator; `protocol` says exactly how."""

  def __init__(self, config: ml_collections.ConfigDict, num_samples: int | None = None,
               ema: bool | None = None):
    self.config = config
    self.is_toy = config.data.name.startswith('toy_')
    self.metrics = requested(config)
    self.num_samples = num_samples or config.eval.num_samples
    self.ema = config.eval.ema if ema is None else ema
    self.primary, self.lower_is_better = PRIMARY['toy' if self.is_toy else 'image']
    self._clf = None
    self._real = None
    self.protocol: dict[str, Any] = {
        'dataset': config.data.name, 'fake_samples': self.num_samples,
        'generator': 'ema' if self.ema else 'raw', 'noise_seed': _EVAL_NOISE_SEED}
    if self.is_toy:
      self.protocol.update(std=config.data.std, high_quality='within 3 std of nearest mode')
    else:
      self.protocol.update(real_split='all 5,000 embedded digits', real_samples=5000,
                           features='gan_jax MNIST classifier (penultimate, 128-d)',
                           classifier_sha256=classifier_lib.CHECKSUM,
                           kid='100 subsets of min(1000, N)', precision_recall_k=3,
                           density_coverage_k=5, score_splits=10)

  def _image_features(self):
    if self._clf is None:
      self._clf = classifier_lib.load_classifier()
      self._real = mnist_reference_features(self._clf)
    return self._clf, self._real

  def score_samples(self, samples: np.ndarray) -> dict[str, float]:
    """Scores generated samples: 2D points, or images in [0, 1] NHWC."""
    out: dict[str, float] = {}
    if self.is_toy:
      stats = mode_stats(samples, data.toy_centers(self.config), self.config.data.std)
      out = {'modes': stats['modes_covered'], 'high_quality': stats['high_quality_fraction'],
             'reverse_kl': stats['reverse_kl']}
      return {k: float(v) for k, v in out.items() if k in self.metrics}
    clf, real = self._image_features()
    images = samples * 2.0 - 1.0  # the classifier takes gan_jax's [-1, 1] scaling
    fake = clf.features(images)
    if 'fid' in self.metrics:
      out['fid'] = frechet_distance(real, fake)
    if 'kid' in self.metrics:
      out['kid'], out['kid_std'] = kernel_distance(real, fake, subset_size=min(1000, len(fake)))
    if 'precision_recall' in self.metrics:
      out['precision'], out['recall'] = precision_recall(real, fake, k=3)
    if 'density_coverage' in self.metrics:
      out['density'], out['coverage'] = density_coverage(real, fake, k=5)
    if 'score' in self.metrics:
      out['score'], out['score_std'] = inception_score(clf.probs(images), splits=10)
    return {k: float(v) for k, v in out.items()}

  def __call__(self, run, state) -> dict[str, float]:
    """Scores `run`'s generator in `state` (a host GANState) on the fixed evaluation noise."""
    z = run.fixed_noise(self.num_samples, seed=_EVAL_NOISE_SEED)
    return self.score_samples(run.samples(state, z, ema=self.ema))

  def is_better(self, value: float, best: float | None) -> bool:
    if best is None:
      return True
    return value < best if self.lower_is_better else value > best
