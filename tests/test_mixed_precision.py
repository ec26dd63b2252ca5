"""config.model.dtype='bfloat16': bf16 activations and matmuls, float32 weights and losses."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import load_config
from gan_jax import parallel, step as step_lib, train


def _two_steps(config, workdir):
  run = train.Run(config, workdir)
  runner = parallel.Runner(step_lib.make_train_step(config, run.g_model, run.d_model),
                           jax.local_devices()[:1])
  state = runner.put_state(run.initial_state())
  start = runner.get_state(state)
  metrics = []
  for i in range(2):
    state, m = runner.step(state, runner.put_batch(run.batches(i)))
    metrics.append(runner.mean_metrics([m]))
  hlo = runner.compile(state, runner.put_batch(run.batches(0))).as_text()
  return start, runner.get_state(state), metrics, hlo


@pytest.mark.parametrize('experiment', ['mnist_dcgan', 'mnist_mlp'])
def test_bfloat16_compute_keeps_float32_state_and_tracks_float32(experiment, tmp_path):
  config = load_config(experiment)
  config.loss.regularizers.r1 = 1.0  # a penalty's second backward pass runs in bf16 too
  start, f32, _, f32_hlo = _two_steps(config, str(tmp_path / 'f32'))
  config.model.dtype = 'bfloat16'
  _, bf16, metrics, bf16_hlo = _two_steps(config, str(tmp_path / 'bf16'))
  assert 'bf16' in bf16_hlo and 'bf16' not in f32_hlo
  leaves = jax.tree_util.tree_leaves((bf16.g, bf16.d, bf16.ema_params))
  assert all(x.dtype != jnp.bfloat16 for x in leaves)  # master weights, Adam moments, BN stats
  assert all(np.isfinite(v) for m in metrics for v in m.values())
  # Both precisions move the weights the same way: updates agree in direction.
  for name in ('g', 'd'):
    a, b, s = (np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(getattr(t, name).params)])
               for t in (f32, bf16, start))
    cos = np.dot(a - s, b - s) / (np.linalg.norm(a - s) * np.linalg.norm(b - s))
    assert cos > 0.9, (name, cos)
