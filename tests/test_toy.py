"""A real learning check: the seed GAN finds the modes of the 2D ring in well under a minute."""

import json
import os

import jax
import numpy as np

from conftest import load_config
from gan_jax import data, train


def test_toy_ring_covers_at_least_six_of_eight_modes(tmp_path):
  config = load_config('toy_ring', None)  # the experiment as users run it (~25 s here)
  config.train.sample_every = config.train.num_steps
  config.train.checkpoint_every = config.train.num_steps
  run_state = train.train_and_evaluate(config, str(tmp_path), devices=jax.local_devices()[:1])
  run = train.Run(config, str(tmp_path))
  points = run.samples(run_state, run.fixed_noise(2500, seed=11))
  centres = data.toy_centers(config)
  dist = np.linalg.norm(points[:, None, :] - centres[None], axis=-1)
  nearest = dist.argmin(axis=1)
  high_quality = dist.min(axis=1) < 3 * config.data.std
  covered = np.unique(nearest[high_quality])
  assert len(covered) >= 6, f'covered modes {covered.tolist()}'
  assert high_quality.mean() > 0.5
  # The run's own final evaluation (evaluation.mode_stats) agrees with the count above.
  with open(os.path.join(str(tmp_path), 'eval.jsonl')) as f:
    final = json.loads(f.readlines()[-1])
  assert final['step'] == config.train.num_steps and final['modes'] >= 6
