"""Evaluation sharded under pmap over 4 fake devices equals 1 device and the unsharded host path."""

import json
import os

import jax
import numpy as np
import pytest

from conftest import load_config
from gan_jax import evaluate, evaluation, train
from gan_jax.data import embedded
from gan_jax.evaluation import protocol, sharded

ONE, FOUR = jax.local_devices()[:1], jax.local_devices()[:4]
RTOL = 1e-5  # float32 features from differently sized batches; measured: ~1e-7 or better


@pytest.fixture(scope='module')
def clf():
  return evaluation.load_classifier()


@pytest.fixture(scope='module')
def heldout_digits():
  images, _ = embedded.load_mnist_5k()
  return images[evaluation.mnist_5k_split()[1]]


@pytest.mark.parametrize('per_device', [sharded.PER_DEVICE, 16])  # 16: several padded chunks
def test_streaming_fid_under_pmap_equals_one_shot(clf, heldout_digits, monkeypatch, per_device):
  monkeypatch.setattr(sharded, 'PER_DEVICE', per_device)
  a, b = heldout_digits[:300], heldout_digits[300:601]  # 301 rows: the last chunk is padded
  features_a, features_b = clf.features(a), clf.features(b)  # unsharded, one-shot
  for devices in (ONE, FOUR):
    fa, pa, stats_a = sharded.image_features(clf, a, devices)
    fb, _, stats_b = sharded.image_features(clf, b, devices)
    assert (stats_a.count, stats_b.count, len(fb)) == (300, 301, 301)  # padding dropped
    np.testing.assert_allclose(fb, features_b, rtol=RTOL, atol=1e-5)
    np.testing.assert_allclose(pa, clf.probs(a), rtol=RTOL, atol=1e-6)
    np.testing.assert_allclose(evaluation.stats_fid(stats_a, stats_b),
                               evaluation.frechet_distance(features_a, features_b), rtol=RTOL)


def test_reference_features_computed_sharded_on_a_cache_miss(clf, monkeypatch, tmp_path):
  monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
  features = protocol.mnist_reference_features(clf, FOUR)
  assert os.listdir(os.path.join(tmp_path, 'gan_jax', 'reference'))  # now cached
  np.testing.assert_allclose(features, clf.features(embedded.load_mnist_5k()[0]), rtol=RTOL, atol=1e-5)


def _host_scores(clf, real, images):
  """The unsharded path: classifier on the host's jit, metrics on host features."""
  fake = clf.features(images)
  out = {'fid': evaluation.frechet_distance(real, fake)}
  out['kid'], out['kid_std'] = evaluation.kernel_distance(real, fake, subset_size=min(1000, len(fake)))
  out['precision'], out['recall'] = evaluation.precision_recall(real, fake, k=3)
  out['density'], out['coverage'] = evaluation.density_coverage(real, fake, k=5)
  out['score'], out['score_std'] = evaluation.inception_score(clf.probs(images), splits=10)
  return out


def _assert_scores_equal(got, want):
  assert got.keys() == want.keys()
  for name in want:
    np.testing.assert_allclose(got[name], want[name], rtol=RTOL, atol=1e-9, err_msg=name)


@pytest.fixture(scope='module')
def mnist_run(tmp_path_factory):
  """mnist_dcgan:runlocal's untrained G (BatchNorm, so standing statistics are exercised)."""
  config = load_config('mnist_dcgan')
  config.eval.num_samples = 150  # not a multiple of 4: the last chunk is padded
  run = train.Run(config, str(tmp_path_factory.mktemp('mnist')))
  return config, run, run.initial_state()


@pytest.mark.parametrize('ema', [True, False])
def test_mnist_evaluation_on_four_devices_equals_one_device(clf, mnist_run, ema):
  config, run, state = mnist_run
  one = protocol.Evaluator(config, ema=ema, devices=ONE)
  four = protocol.Evaluator(config, ema=ema, devices=FOUR)
  scores = four(run, state)
  _assert_scores_equal(scores, one(run, state))
  z = run.fixed_noise(150, seed=protocol._EVAL_NOISE_SEED)
  images = run.samples(state, z, ema=ema) * 2.0 - 1.0
  _assert_scores_equal(scores, _host_scores(clf, one.reference()[1], images))


def test_scores_of_given_images_on_four_devices_equal_the_host_path(clf, heldout_digits):
  """Real digits as the 'samples', so PR/DC/score take informative values (not 0 or 1)."""
  config = load_config('mnist_dcgan')
  digits = heldout_digits[:250]
  unit = digits.astype(np.float32) / 255.0
  four = protocol.Evaluator(config, devices=FOUR)
  scores = four.score_samples(unit)
  assert 0 < scores['recall'] < 1 and scores['score'] > 5
  _assert_scores_equal(scores, protocol.Evaluator(config, devices=ONE).score_samples(unit))
  _assert_scores_equal(scores, _host_scores(clf, four.reference()[1], unit * 2.0 - 1.0))


def test_toy_evaluation_on_four_devices_equals_one_device(tmp_path):
  config = load_config('toy_ring')
  config.eval.num_samples = 203
  run = train.Run(config, str(tmp_path))
  state = run.initial_state()
  four = protocol.Evaluator(config, devices=FOUR)(run, state)
  assert four == protocol.Evaluator(config, devices=ONE)(run, state)
  points = run.samples(state, run.fixed_noise(203, seed=protocol._EVAL_NOISE_SEED))
  assert four == protocol.Evaluator(config).score_samples(points)


def test_evaluate_follows_config_eval_ema_unless_overridden(tmp_path):
  config = load_config('toy_ring')
  config.train.num_steps = config.train.checkpoint_every = config.eval.every = 3
  workdir = str(tmp_path)
  train.train_and_evaluate(config, workdir, devices=FOUR)  # with a periodic evaluation
  assert 'reverse_kl' in open(os.path.join(workdir, 'eval.jsonl')).read()
  path = os.path.join(workdir, 'config.json')
  for config_ema, flag, used in [(False, None, 'raw'), (True, None, 'ema'), (False, True, 'ema'),
                                 (True, False, 'raw')]:
    with open(path) as f:
      saved = json.load(f)
    saved['eval']['ema'] = config_ema
    with open(path, 'w') as f:
      json.dump(saved, f)
    _, _, proto = evaluate.evaluate(workdir, num_samples=50, ema=flag)
    assert proto['generator'] == used, (config_ema, flag)


def test_evaluator_rejects_image_metrics_on_other_data():
  config = load_config('cifar10_sngan', None)
  config.eval.metrics = 'fid'
  with pytest.raises(ValueError, match="config.data.name='tfds:cifar10' is not MNIST digits"):
    protocol.Evaluator(config)
