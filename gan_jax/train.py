"""train_and_evaluate(config, workdir): the training loop. It only wires the pieces."""

from __future__ import annotations

import json
import math
import os
import time
from typing import Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from tqdm import tqdm

from gan_jax import checkpoint, data, models, parallel, plots, sampling, step as step_lib
from gan_jax import state as state_lib
from gan_jax import validation, writers

_FIXED_NOISE_SEED = 1234  # the grid's noise never changes, so grids are comparable over time


class NonFiniteError(FloatingPointError):
  pass


class Run:
  """The objects one experiment needs, built from its config (also used by sample.py)."""

  def __init__(self, config: ml_collections.ConfigDict, workdir: str):
    self.config = config
    self.workdir = workdir
    self.source = data.make_source(config)
    self.g_model, self.d_model = models.build(config, self.source.element_shape)
    self.checkpointer = checkpoint.Checkpointer(os.path.join(workdir, 'checkpoints'),
                                                config.train.keep_checkpoints)
    self.is_toy = config.data.name.startswith('toy_')

  def initial_state(self) -> state_lib.GANState:
    return state_lib.create(self.config, self.g_model, self.d_model, self.source.element_shape)

  def restore_or_init(self) -> state_lib.GANState:
    state = self.initial_state()
    if self.checkpointer.latest_step() is not None:
      state = self.checkpointer.restore(state)
    return state

  def fixed_noise(self, num: int, seed: int = _FIXED_NOISE_SEED) -> jax.Array:
    return jax.random.normal(jax.random.PRNGKey(seed), (num, self.config.model.z_dim))

  def samples(self, state: state_lib.GANState, z: jax.Array, ema: bool = True) -> np.ndarray:
    """Images in [0, 1] NHWC, or raw 2D points for toy data."""
    params = state.ema_params if ema else state.g.params
    out = sampling.generate(self.g_model, params, state.g.batch_stats, z, recompute_stats=ema)
    return np.asarray(out if self.is_toy else sampling.to_unit_range(out))

  def save_samples(self, state: state_lib.GANState, z: jax.Array, path: str, title: str = '') -> None:
    points = self.samples(state, z)
    if self.is_toy:
      plots.save_scatter(points, data.toy_centers(self.config), path, title)
    else:
      plots.save_image_grid(points, path)


def _grid_noise_count(run: Run) -> int:
  # Toy plots need enough points to show every mode (REFERENCE.md scores 2,500).
  return 2500 if run.is_toy else run.config.train.num_samples


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str,
                       devices: Sequence[jax.Device] | None = None) -> state_lib.GANState:
  """Trains `config` in `workdir`, resuming from its latest checkpoint; returns the host state.

  `devices` defaults to all local devices.
  """
  devices = list(devices or jax.local_devices())
  validation.validate(config, len(devices), jax.process_count())
  lead = jax.process_index() == 0
  os.makedirs(workdir, exist_ok=True)
  run = Run(config, workdir)
  state = run.restore_or_init()
  start = int(state.step)
  if lead:
    with open(os.path.join(workdir, 'config.json'), 'w') as f:
      f.write(config.to_json(indent=2))
  if start:
    logging.info('Resuming from checkpoint at step %d in %s', start, run.checkpointer.directory)
    print(f'Resuming from the checkpoint at step {start}.', flush=True)

  writer = writers.MetricWriter(workdir, active=lead)
  writer.drop_after(start)
  runner = parallel.Runner(step_lib.make_train_step(config, run.g_model, run.d_model), devices,
                           config.parallel)
  fixed_z = run.fixed_noise(_grid_noise_count(run))
  t = config.train
  pstate = runner.put_state(state)
  pending: list = []  # device metrics since the last log line; read only at log steps
  host_state = state
  bar = tqdm(total=t.num_steps, initial=start, desc='train', unit='step', disable=not lead,
             dynamic_ncols=True)
  t0 = time.time()
  for step in range(start, t.num_steps):
    pstate, metrics = runner.step(pstate, runner.put_batch(run.source.batch(step)))
    if pending:
      # At most two steps in flight: enough to keep the device busy, and it bounds queued
      # work (XLA CPU's in-process collectives can starve their thread pool otherwise).
      jax.block_until_ready(pending[-1])
    pending.append(metrics)
    done = step + 1
    last = done == t.num_steps
    bar.update(1)
    if done % t.log_every == 0 or last:
      means = runner.mean_metrics(pending)
      pending.clear()
      means['steps_per_sec'] = (done - start) / max(time.time() - t0, 1e-9)
      bad = [k for k, v in means.items() if not math.isfinite(v)]
      if bad:
        latest = run.checkpointer.latest_step()
        raise NonFiniteError(
            f'Non-finite {", ".join(bad)} by step {done}; the last good checkpoint is '
            f'{run.checkpointer.path(latest) if latest is not None else "(none yet)"}. '
            'Lower the learning rates or check the data.')
      writer.write(done, means)
      bar.set_postfix(d_loss=f'{means["d_loss"]:.3f}', g_loss=f'{means["g_loss"]:.3f}',
                      d_acc=f'{means["d_accuracy"]:.2f}')
    save_grid = done % t.sample_every == 0 or last
    save_ckpt = done % t.checkpoint_every == 0 or last
    if save_grid or save_ckpt:
      host_state = runner.get_state(pstate)
    if save_grid and lead:
      run.save_samples(host_state, fixed_z, os.path.join(workdir, 'samples', f'step_{done:06d}.png'),
                       f'step {done}')
    if save_ckpt:
      run.checkpointer.save(done, host_state)
  bar.close()
  writer.close()
  if start < t.num_steps:
    host_state = runner.get_state(pstate)
  if lead and os.path.exists(writer.path):
    plots.save_loss_curves(writer.path, os.path.join(workdir, 'loss_curves.png'))
  run.checkpointer.close()
  return host_state
