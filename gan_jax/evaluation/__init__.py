"""Sample-quality metrics (definitions: shared/REFERENCE.md §1 and §5) and the MNIST feature extractor.

All metrics take feature arrays on the host and return Python floats. MNIST-family scores use
the shipped classifier (`load_classifier`); they are comparable only between runs that used
the same weights (`classifier.CHECKSUM`). Natural-image scores use `load_inception`
(pytorch-fid's FID Inception-v3, weights supplied by the user; see inception.py).
`protocol.Evaluator` generates samples and computes classifier features sharded under pmap
over the local devices (sharded.py), then scores them with these functions.
"""

from gan_jax.evaluation.classifier import Classifier, load_classifier, mnist_5k_split
from gan_jax.evaluation.fid import FeatureStats, feature_sums, fid_from_stats, frechet_distance, stats_fid
from gan_jax.evaluation.inception import InceptionFeatures, load_inception
from gan_jax.evaluation.inception_score import inception_score
from gan_jax.evaluation.kid import kernel_distance
from gan_jax.evaluation.modes import mode_stats, reverse_kl_to_uniform
from gan_jax.evaluation.prdc import density_coverage, manifold_metrics, precision_recall

__all__ = [
    'Classifier', 'FeatureStats', 'density_coverage', 'feature_sums', 'fid_from_stats',
    'frechet_distance', 'InceptionFeatures', 'inception_score', 'load_inception', 'kernel_distance', 'load_classifier', 'mnist_5k_split',
    'manifold_metrics', 'mode_stats', 'precision_recall', 'reverse_kl_to_uniform', 'stats_fid',
]
