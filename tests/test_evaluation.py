"""Metrics against plain NumPy/SciPy float64 versions of shared/REFERENCE.md's definitions.

The reference implementations below are written from the definitions, independently of
gan_jax.evaluation, and kept deliberately naive (cdist, sqrtm, explicit masks).
"""

import jax
import numpy as np
import pytest
import scipy.linalg
import scipy.stats
from scipy.spatial.distance import cdist

from gan_jax import evaluation
from gan_jax.data import embedded, toy
from gan_jax.evaluation import classifier, fid, modes, protocol
from gan_jax.evaluation.prdc import knn_radii_sq


# ----- reference implementations (float64, from the definitions) -----

def ref_fid(a, b):
  mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
  s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  covmean = scipy.linalg.sqrtm(s_a @ s_b)
  assert np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3)
  return np.sum((mu_a - mu_b) ** 2) + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(covmean.real)


def ref_mmd2(x, y):
  d, m = x.shape[1], len(x)
  k = lambda u, v: (u @ v.T / d + 1) ** 3
  off = ~np.eye(m, dtype=bool)
  return k(x, x)[off].mean() + k(y, y)[off].mean() - 2 * k(x, y).mean()


def ref_kid(a, b, num_subsets, m, seed):
  # The sampling protocol documented in kernel_distance: rows of a, then rows of b, per subset.
  rng = np.random.default_rng(seed)
  values = [ref_mmd2(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
            for _ in range(num_subsets)]
  return np.mean(values), np.std(values)


def ref_radii(x, k):
  d = cdist(x, x)
  np.fill_diagonal(d, np.inf)  # the point itself is excluded
  return np.sort(d, axis=1)[:, k - 1]


def ref_prdc(real, fake, k_pr, k_dc):
  """(precision, recall, density, coverage, smallest relative gap between a distance and a radius)."""
  d = cdist(real, fake)  # [N, M]
  r_pr, s_pr, r_dc = ref_radii(real, k_pr), ref_radii(fake, k_pr), ref_radii(real, k_dc)
  precision = np.mean([any(d[i, j] <= r_pr[i] for i in range(len(real))) for j in range(len(fake))])
  recall = np.mean([any(d[i, j] <= s_pr[j] for j in range(len(fake))) for i in range(len(real))])
  density = np.sum(d < r_dc[:, None]) / (k_dc * len(fake))
  coverage = np.mean(d.min(axis=1) < r_dc)
  gap = min(np.min(np.abs(d / r[:, None] - 1)) for r in (r_pr, r_dc))
  gap = min(gap, np.min(np.abs(d / s_pr[None, :] - 1)))
  return precision, recall, density, coverage, gap


def ref_inception_score(probs, splits):
  scores = []
  for part in np.array_split(probs, splits):
    p_y = part.mean(axis=0)
    kl = [scipy.stats.entropy(p, p_y) for p in part]  # KL(p(y|x) || p(y))
    scores.append(np.exp(np.mean(kl)))
  return np.mean(scores), np.std(scores)


@pytest.fixture(scope='module')
def gaussians():
  rng = np.random.default_rng(0)
  real = rng.standard_normal((500, 16))
  fake = 0.8 * rng.standard_normal((400, 16)) @ rng.standard_normal((16, 16)) / 4 + 0.3
  return real, fake


# ----- agreement with the references -----

def test_fid_matches_reference(gaussians):
  real, fake = gaussians
  np.testing.assert_allclose(evaluation.frechet_distance(real, fake), ref_fid(real, fake), rtol=1e-6)
  mu, cov = real.mean(0), np.cov(real, rowvar=False)
  mu2, cov2 = fake.mean(0), np.cov(fake, rowvar=False)
  np.testing.assert_allclose(evaluation.fid_from_stats(mu, cov, mu2, cov2), ref_fid(real, fake), rtol=1e-6)


def test_fid_of_a_set_with_itself_is_zero_even_when_singular():
  few = np.random.default_rng(1).standard_normal((10, 16))  # rank-9 covariance in 16 dims
  assert abs(evaluation.frechet_distance(few, few)) < 1e-8 * np.trace(np.cov(few, rowvar=False))


def test_fid_rejects_a_non_psd_product():
  with pytest.raises(ValueError, match='imaginary'):
    evaluation.fid_from_stats(np.zeros(3), np.eye(3), np.zeros(3), -np.eye(3))


def test_kid_matches_reference(gaussians):
  real, fake = gaussians
  mean, std = evaluation.kernel_distance(real, fake, num_subsets=7, subset_size=100, seed=3)
  ref_mean, ref_std = ref_kid(real, fake, 7, 100, 3)
  np.testing.assert_allclose([mean, std], [ref_mean, ref_std], rtol=1e-6)
  # subset_size above both set sizes: m = min(...) = 400, so with equal sets it is the whole set.
  whole, spread = evaluation.kernel_distance(real[:400], fake, num_subsets=3)
  np.testing.assert_allclose(whole, ref_mmd2(real[:400], fake), rtol=1e-6)
  assert spread < 1e-9 * abs(whole)


def test_precision_recall_density_coverage_match_reference_exactly(gaussians):
  real, fake = gaussians
  precision, recall, density, coverage, gap = ref_prdc(real, fake, k_pr=3, k_dc=5)
  assert gap > 1e-5, 'near-tie in the test data: float32 distances could flip a comparison'
  # chunk=128 does not divide 500 or 400, so padded chunks are exercised.
  assert evaluation.precision_recall(real, fake, k=3, chunk=128) == (precision, recall)
  assert evaluation.density_coverage(real, fake, k=5, chunk=128) == (density, coverage)
  both = evaluation.manifold_metrics(real, fake, k=5)
  ref5 = ref_prdc(real, fake, k_pr=5, k_dc=5)
  assert [both[n] for n in ('precision', 'recall', 'density', 'coverage')] == list(ref5[:4])


def test_knn_radius_excludes_the_point_but_not_its_duplicates():
  x = np.array([[0.0], [0.0], [1.0], [3.0]])
  np.testing.assert_allclose(knn_radii_sq(x, 1), [0, 0, 1, 4])


def test_inception_score_matches_reference():
  probs = np.random.default_rng(2).dirichlet(np.full(10, 0.3), size=1000)
  np.testing.assert_allclose(evaluation.inception_score(probs, splits=10),
                             ref_inception_score(probs, 10), rtol=1e-10)
  confident = np.eye(10)[np.arange(1000) % 10]  # each split: uniform over classes, one-hot rows
  np.testing.assert_allclose(evaluation.inception_score(confident), (10.0, 0.0), atol=1e-9)


# ----- streaming and sharded statistics -----

def test_streaming_and_merged_fid_equal_one_shot(gaussians):
  real, fake = gaussians
  stats = evaluation.FeatureStats()
  for start, stop in [(0, 7), (7, 300), (300, 500)]:
    stats.update(real[start:stop])
  merged = evaluation.FeatureStats.from_features(fake[:123]).merge(
      evaluation.FeatureStats.from_features(fake[123:]))
  np.testing.assert_allclose(stats.cov, np.cov(real, rowvar=False), rtol=1e-12, atol=1e-13)
  np.testing.assert_allclose(evaluation.stats_fid(stats, merged),
                             evaluation.frechet_distance(real, fake), rtol=1e-10)


def test_psum_stats_over_four_devices_equal_one_device(gaussians):
  real, _ = gaussians
  x = real[:496].astype(np.float32)
  mask = np.ones(496, np.float32)
  mask[-6:] = 0  # padding rows, as for a last partial batch
  sums_fn = lambda f, m: fid.feature_sums(f, m, axis_name='batch')
  results = []
  for n in (1, 4):
    mapped = jax.pmap(sums_fn, axis_name='batch', devices=jax.local_devices()[:n])
    count, total, outer = mapped(x.reshape(n, -1, 16), mask.reshape(n, -1))
    assert np.ptp(np.asarray(total), axis=0).max() == 0  # every device holds the totals
    results.append(evaluation.FeatureStats().add_sums(count[0], total[0], outer[0]))
  one, four = results
  host = evaluation.FeatureStats.from_features(real[:490])
  assert one.count == four.count == 490
  for stats in (one, four):
    np.testing.assert_allclose(stats.mean, host.mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats.cov, host.cov, rtol=1e-5, atol=1e-5)
  # Equal up to float32 summation order (the device sums are float32 without jax_enable_x64).
  np.testing.assert_allclose(four.outer, one.outer, atol=1e-6 * np.abs(one.outer).max())
  np.testing.assert_allclose(evaluation.stats_fid(one, host), evaluation.stats_fid(four, host), atol=1e-6)


# ----- behaviour on real data -----

@pytest.fixture(scope='module')
def mnist_classifier():
  return evaluation.load_classifier()


def test_shipped_classifier_checksum_and_heldout_accuracy(mnist_classifier):
  assert classifier.sha256(classifier.weights_path().read_bytes()) == classifier.CHECKSUM
  images, labels = embedded.load_mnist_5k()
  _, heldout = evaluation.mnist_5k_split()
  assert len(heldout) == 1000 and np.bincount(labels[heldout]).tolist() == [100] * 10
  accuracy = np.mean(mnist_classifier.probs(images[heldout]).argmax(axis=1) == labels[heldout])
  assert accuracy >= 0.98


def test_classifier_loader_names_the_file_and_the_fix(monkeypatch, tmp_path):
  monkeypatch.setattr(classifier, 'CHECKSUM', '0' * 64)
  with pytest.raises(RuntimeError, match='mnist_classifier.msgpack.*train_mnist_classifier.py'):
    evaluation.load_classifier()
  monkeypatch.setattr(classifier, 'weights_path', lambda: tmp_path / 'missing.msgpack')
  with pytest.raises(FileNotFoundError, match='missing.msgpack.*train_mnist_classifier.py'):
    evaluation.load_classifier()


def test_classifier_fid_is_near_zero_for_real_halves_and_grows_with_noise(mnist_classifier):
  images, _ = embedded.load_mnist_5k()
  _, heldout = evaluation.mnist_5k_split()
  x = images[heldout].astype(np.float32) / 127.5 - 1
  first = mnist_classifier.features(x[:500])
  rng = np.random.default_rng(0)
  scores = []
  for sigma in (0.0, 0.1, 0.2, 0.4, 0.8):
    noisy = np.clip(x[500:] + sigma * rng.standard_normal(x[500:].shape).astype(np.float32), -1, 1)
    scores.append(evaluation.frechet_distance(first, mnist_classifier.features(noisy)))
  assert np.all(np.diff(scores) > 0), scores
  # Real vs real is not 0 with 500 samples a side (FID's bias shrinks like 1/N: ~18 here,
  # ~4 with 2,000 a side), but it is small beside the features' total variance and the noise.
  scale = np.trace(np.cov(first, rowvar=False)) * 2
  assert scores[0] < 0.05 * scale and scores[0] < 0.1 * scores[-1], (scores, scale)


# ----- 2D mixtures -----

@pytest.mark.parametrize('centers,std', [(toy.ring_centers(8, 1.0), 0.01), (toy.grid_centers(25, 2.0), 0.05)])
def test_mode_stats_on_exact_mixture_samples(centers, std):
  n = 20_000
  samples = toy.sample_mixture_np(np.random.default_rng(0), centers, std, n)
  stats = evaluation.mode_stats(samples, centers, std)
  expected = 1 - np.exp(-4.5)  # P(chi^2_2 <= 9)
  assert stats['modes_covered'] == len(centers)
  assert abs(stats['high_quality_fraction'] - expected) < 4 * np.sqrt(expected * (1 - expected) / n)
  assert stats['reverse_kl'] < 0.01


def test_mode_stats_edge_cases():
  centers = toy.ring_centers(8, 1.0)
  collapsed = evaluation.mode_stats(np.repeat(centers[:1], 50, axis=0), centers, 0.01)
  assert collapsed['modes_covered'] == 1 and collapsed['high_quality_fraction'] == 1.0
  np.testing.assert_allclose(collapsed['reverse_kl'], np.log(8))
  nowhere = evaluation.mode_stats(np.full((50, 2), 10.0), centers, 0.01)
  assert nowhere['modes_covered'] == 0 and nowhere['high_quality_fraction'] == 0.0
  np.testing.assert_allclose(nowhere['reverse_kl'], np.log(8))  # defined as total collapse


# ----- Stacked MNIST -----

def _stacked_evaluator(num_samples=64):
  from conftest import load_config
  config = load_config('stacked_mnist_dcgan')
  return config, protocol.Evaluator(config, num_samples=num_samples)


def test_stacked_real_samples_cover_nearly_all_modes_with_small_kl():
  from gan_jax.data import stacked
  digits, labels = embedded.load_mnist_5k()
  n = 6000
  images, true_modes = stacked.StackedSource(digits, labels, n, seed=0).batch_with_labels(0)
  scores = _stacked_evaluator()[1].score_samples(images)
  counts = np.bincount(true_modes, minlength=1000)
  true_kl = evaluation.reverse_kl_to_uniform(counts)  # ~ 999 / (2n) from sampling alone
  assert scores['modes'] >= 990
  assert scores['kl'] < true_kl + 0.05 and true_kl < 0.12


def test_stacked_collapsed_samples_give_one_mode_and_kl_log_1000():
  from gan_jax.data import stacked
  digits, labels = embedded.load_mnist_5k()
  one = stacked.StackedSource(digits, labels, 1, seed=0).batch(0)
  scores = _stacked_evaluator()[1].score_samples(np.repeat(one, 100, axis=0))
  assert scores == {'modes': 1.0, 'kl': pytest.approx(np.log(1000))}


def test_stacked_mode_stats_counts_modes_from_channel_labels():
  stats = modes.stacked_mode_stats(np.array([[1, 2, 3], [1, 2, 3], [0, 0, 9]]))
  assert stats['modes_covered'] == 2 and stats['mode_counts'][123] == 2 and stats['mode_counts'][9] == 1
  np.testing.assert_allclose(stats['kl'], (2 / 3) * np.log(2000 / 3) + (1 / 3) * np.log(1000 / 3))


def test_stacked_evaluator_scores_a_generator(tmp_path):
  from gan_jax import train
  config, evaluator = _stacked_evaluator(num_samples=40)
  run = train.Run(config, str(tmp_path))
  scores = evaluator(run, run.initial_state())
  assert set(scores) == {'modes', 'kl'} and 1 <= scores['modes'] <= 40
  assert 0 <= scores['kl'] <= np.log(1000) + 1e-9
  assert evaluator.primary == 'kl' and evaluator.protocol['modes'] == 1000
