"""The same global batch gives the same parameters on 1 and 4 devices, under pmap and shard_map."""

import jax
import numpy as np
import pytest

from conftest import load_config
from gan_jax import parallel, step as step_lib, train


def _train(config, workdir, devices, mode='pmap', steps=2):
  run = train.Run(config, workdir)
  runner = parallel.Runner(step_lib.make_train_step(config, run.g_model, run.d_model), devices, mode)
  state = runner.put_state(run.initial_state())
  for i in range(steps):
    state, _ = runner.step(state, runner.put_batch(run.batches(i)))
  return runner.get_state(state)


def _assert_close(a, b):
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
    np.testing.assert_allclose(x, y, rtol=2e-4, atol=2e-5)


def test_four_fake_devices_are_available():
  assert jax.local_device_count() == 4


# mnist_mlp has BatchNorm in G only; mnist_dcgan in both, so it checks cross-device statistics.
@pytest.mark.parametrize('experiment', ['mnist_mlp', 'mnist_dcgan'])
def test_four_devices_match_one(experiment, tmp_path):
  config = load_config(experiment)
  devices = jax.local_devices()
  one = _train(config, str(tmp_path / 'one'), devices[:1])
  four = _train(config, str(tmp_path / 'four'), devices[:4])
  _assert_close(one.g.params, four.g.params)
  _assert_close(one.d.params, four.d.params)
  _assert_close(one.g.batch_stats, four.g.batch_stats)
  _assert_close(one.d.batch_stats, four.d.batch_stats)
  _assert_close(one.ema_params, four.ema_params)


def test_shard_map_matches_pmap(tmp_path):
  config = load_config('mnist_dcgan')
  devices = jax.local_devices()
  with_pmap = _train(config, str(tmp_path / 'pmap'), devices, 'pmap')
  with_shard_map = _train(config, str(tmp_path / 'shard_map'), devices, 'shard_map')
  # The collectives sum in a different order. Adam turns a rounding-level change of a
  # near-zero gradient into up to one learning rate of parameter change, so a handful of
  # elements may differ by up to 2 * lr; everything else agrees to float32 noise.
  lr = config.optim.g_lr
  for tree_a, tree_b in [(with_pmap.g.params, with_shard_map.g.params),
                         (with_pmap.d.params, with_shard_map.d.params)]:
    diff = np.concatenate([np.abs(a - b).ravel() for a, b in
                           zip(jax.tree_util.tree_leaves(tree_a), jax.tree_util.tree_leaves(tree_b))])
    assert diff.max() <= 2 * lr
    assert np.mean(diff > 2e-5) < 1e-3


def test_batch_that_does_not_split_is_a_clear_error(tmp_path):
  config = load_config('mnist_mlp')
  run = train.Run(config, str(tmp_path))
  runner = parallel.Runner(step_lib.make_train_step(config, run.g_model, run.d_model),
                           jax.local_devices()[:4])
  with pytest.raises(ValueError, match='set config.data.batch_size to a multiple of 4'):
    runner.put_batch(np.zeros((1, 6, 28, 28, 1), np.float32))
