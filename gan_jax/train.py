"""train_and_evaluate(config, workdir): the training loop. It only wires the pieces."""

from __future__ import annotations

import collections
import concurrent.futures
import json
import os
import signal
import threading
import time
from typing import Any, Callable, Iterator, Sequence

import jax
import ml_collections
import numpy as np
from absl import logging
from jax.experimental import multihost_utils
from tqdm import tqdm

from gan_jax import checkpoint, data, models, parallel, plots, sampling, step as step_lib
from gan_jax import state as state_lib
from gan_jax import validation, writers
from gan_jax.evaluation import protocol

_FIXED_NOISE_SEED = 1234  # the grid's noise never changes, so grids are comparable over time


# Exit code of `gan_jax.main` after a SIGTERM/SIGINT was honoured and a checkpoint saved
# (EX_TEMPFAIL: "try again"); rerunning the same command resumes.
PREEMPTED_EXIT_CODE = 75


class NonFiniteError(FloatingPointError):
  pass


class Preempted(Exception):
  """Training stopped on SIGTERM/SIGINT after saving a checkpoint at `step`."""

  def __init__(self, step: int, path: str):
    super().__init__(f'Stopped by signal at step {step}; checkpoint saved to {path}. '
                     'Run the same command again to resume.')
    self.step = step
    self.path = path


class _StopRequests:
  """Turns SIGTERM/SIGINT into a flag checked at step boundaries; a second SIGINT interrupts."""

  def __init__(self):
    self.requested = False
    self._previous = {}

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGTERM, signal.SIGINT):
        self._previous[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    if self.requested and signum == signal.SIGINT:
      raise KeyboardInterrupt
    self.requested = True

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)

  def agreed(self, step: int) -> bool:
    """Whether to stop now; on several hosts all must agree on the same step."""
    if jax.process_count() == 1:
      return self.requested
    if step % 10:  # a cross-host check every step would cost a sync per step
      return False
    flags = multihost_utils.process_allgather(np.int32(self.requested))
    return bool(np.max(flags))


def _scale(value: float | list[float], factor: int) -> int | list[int]:
  if isinstance(value, list):
    return [round(v * factor) for v in value]
  return round(value * factor)


def _fmt(value: float | list[float]) -> str:
  """A score for the progress bar; mean ± std over seeds when there are several."""
  if isinstance(value, list):
    return f'{np.mean(value):.4g}±{np.std(value):.2g}'
  return f'{value:.4g}'


def _prefetch(load: Callable[[int], Any], steps: Sequence[int], ahead: int = 2) -> Iterator[Any]:
  """`load(step)` for each step, computed `ahead` calls early on a background thread, so the
  device never waits for the host to read, decode and transfer the next batch."""
  with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix='prefetch') as pool:
    queue = collections.deque(pool.submit(load, s) for s in steps[:ahead])
    for s in steps[ahead:]:
      ready = queue.popleft().result()
      queue.append(pool.submit(load, s))
      yield ready
    while queue:
      yield queue.popleft().result()


def _nonfinite_networks(names: Sequence[str]) -> str:
  nets = sorted({'G' if n.startswith('g_') else 'D' for n in names})
  return ' and '.join(nets)


def _nonfinite_state_networks(state: state_lib.GANState) -> str:
  """'D', 'G', 'D and G' for the networks whose host state holds NaN/Inf; '' if none."""
  # Regularizer state (LeCam's anchors) follows D's logits, so it counts as D's.
  parts = {'G': (state.g, state.ema_params), 'D': (state.d, state.reg_state)}
  def finite(leaf: Any) -> bool:
    return not np.issubdtype(leaf.dtype, np.inexact) or bool(np.all(np.isfinite(leaf)))
  return ' and '.join(sorted(net for net, tree in parts.items()
                             if not all(map(finite, jax.tree_util.tree_leaves(tree)))))


def _nonfinite_error(run: Run, what: str, networks: str, step: int) -> NonFiniteError:
  latest = run.checkpointer.latest_step()
  return NonFiniteError(
      f'Non-finite {what} in {networks} by step {step}; the last good checkpoint (kept) is '
      f'{run.checkpointer.path(latest) if latest is not None else "(none yet)"}. '
      'Lower the learning rates or check the data.')


def _with_seed(config: ml_collections.ConfigDict, seed: int) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict(config.to_dict())
  c.seed = seed
  return c


class Run:
  """The objects one experiment needs, built from its config (also used by sample.py).

  With `config.num_seeds` K > 1 the state holds K independent GANs stacked on a leading axis;
  GAN i is exactly the single run with seed `config.seed + i` (init, noise and data order).
  """

  def __init__(self, config: ml_collections.ConfigDict, workdir: str):
    self.config = config
    self.workdir = workdir
    self.num_seeds = config.num_seeds
    self.seeds = [config.seed + i for i in range(self.num_seeds)]
    self.sources = [data.make_source(config if i == 0 else _with_seed(config, seed))
                    for i, seed in enumerate(self.seeds)]
    self.source = self.sources[0]
    self.g_model, self.d_model = models.build(config, self.source.element_shape)
    self.checkpointer = checkpoint.Checkpointer(os.path.join(workdir, 'checkpoints'),
                                                config.train.keep_checkpoints)
    self.is_toy = data.is_points(config)

  def initial_state(self) -> state_lib.GANState:
    states = [state_lib.create(self.config, self.g_model, self.d_model, self.source.element_shape,
                               seed=seed) for seed in self.seeds]
    if self.num_seeds == 1:
      return states[0]
    # Stack leaf by leaf: each state's optimizer is a distinct (equal) object in the treedef.
    leaves, treedef = jax.tree_util.tree_flatten(states[0])
    others = [jax.tree_util.tree_leaves(s) for s in states[1:]]
    return treedef.unflatten([np.stack(xs) for xs in zip(leaves, *others)])

  def seed_states(self, state: state_lib.GANState) -> list[state_lib.GANState]:
    """One host state per seed (just `state` when num_seeds is 1)."""
    if self.num_seeds == 1:
      return [state]
    return [jax.tree_util.tree_map(lambda x, i=i: x[i], state) for i in range(self.num_seeds)]

  def runner(self, devices: Sequence[jax.Device]) -> parallel.Runner:
    """The compiled step for this config over `devices`."""
    return parallel.Runner(step_lib.make_train_step(self.config, self.g_model, self.d_model),
                           devices, self.config.parallel, batch_axis=step_lib.batch_axis(self.config),
                           num_seeds=self.num_seeds)

  def restore_or_init(self) -> state_lib.GANState:
    """The newest readable checkpoint's state, or a fresh one."""
    return self.checkpointer.restore_latest_readable(self.initial_state())[0]

  def batches(self, step: int, seed_index: int = 0) -> np.ndarray:
    """The real data of train step `step`: [n_critic, B_process, ...], one batch per D update."""
    n = self.config.train.n_critic
    return np.stack([self.sources[seed_index].batch(step * n + i) for i in range(n)])

  def call_batches(self, step: int) -> np.ndarray:
    """The real data of one compiled call starting at `step`: [K?, S?, n_critic, B_process, ...]."""
    steps = self.config.train.steps_per_call
    per_seed = []
    for i in range(self.num_seeds):
      calls = [self.batches(s, i) for s in range(step, step + steps)]
      per_seed.append(np.stack(calls) if steps > 1 else calls[0])
    return np.stack(per_seed) if self.num_seeds > 1 else per_seed[0]

  def fixed_noise(self, num: int, seed: int = _FIXED_NOISE_SEED) -> jax.Array:
    return jax.random.normal(jax.random.PRNGKey(seed), (num, self.config.model.z_dim))

  def samples(self, state: state_lib.GANState, z: jax.Array, ema: bool = True) -> np.ndarray:
    """Images in [0, 1] NHWC, or raw 2D points for toy data."""
    params = state.ema_params if ema else state.g.params
    out = sampling.generate(self.g_model, params, state.g.batch_stats, z, recompute_stats=ema)
    return np.asarray(out if self.is_toy else sampling.to_unit_range(out))

  def save_samples(self, state: state_lib.GANState, z: jax.Array, path: str, title: str = '') -> None:
    """A grid (scatter plot for toy data) per seed; `_seed<i>` is added to the name if K > 1."""
    for i, seed_state in enumerate(self.seed_states(state)):
      points = self.samples(seed_state, z)
      out = path if self.num_seeds == 1 else path.replace('.png', f'_seed{i}.png')
      label = title if self.num_seeds == 1 else f'{title}, seed {self.seeds[i]}'
      if self.is_toy:
        plots.save_scatter(points, data.toy_centers(self.config), out, label)
      else:
        plots.save_image_grid(points, out)


def load_run(workdir: str) -> Run:
  """The Run of an existing workdir, from the config.json that training wrote there."""
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise FileNotFoundError(f'{path} not found: --workdir must be a directory written by gan_jax.main.')
  with open(path) as f:
    config = ml_collections.ConfigDict(json.load(f))
  return Run(config, workdir)


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
  start = int(np.ravel(state.step)[0])  # all seeds share the step
  if lead:
    with open(os.path.join(workdir, 'config.json'), 'w') as f:
      f.write(config.to_json(indent=2))
  if start:
    logging.info('Resuming from checkpoint at step %d in %s', start, run.checkpointer.directory)
    print(f'Resuming from the checkpoint at step {start}.', flush=True)

  writer = writers.MetricWriter(workdir, active=lead)
  writer.drop_after(start)
  runner = run.runner(devices)
  evals = _PeriodicEval(run, writer) if config.eval.every else None
  try:
    with _StopRequests() as stop:
      state = _loop(run, runner, writer, evals, state, start, stop, lead)
  finally:
    writer.close()
    run.checkpointer.close()
    if evals:
      evals.best.close()
  if lead and os.path.exists(writer.path):
    plots.save_loss_curves(writer.path, os.path.join(workdir, 'loss_curves.png'))
  return state


class _PeriodicEval:
  """Scores G every config.eval.every steps; keeps the best checkpoint by the primary score."""

  def __init__(self, run: Run, writer: writers.MetricWriter):
    self.run = run
    self.writer = writer
    self.evaluator = protocol.Evaluator(run.config)
    self.best = checkpoint.Checkpointer(os.path.join(run.workdir, 'checkpoints_best'), 1)
    primary = self.evaluator.primary
    previous = [float(np.mean(row[primary])) for row in writer.read_eval() if primary in row]
    self.best_value = None
    for value in previous:
      if self.evaluator.is_better(value, self.best_value):
        self.best_value = value

  def due(self, done: int, last: bool) -> bool:
    return done % self.run.config.eval.every == 0 or last

  def __call__(self, done: int, host_state: state_lib.GANState) -> dict[str, float | list[float]]:
    per_seed = [self.evaluator(self.run, s) for s in self.run.seed_states(host_state)]
    scores = per_seed[0] if len(per_seed) == 1 else {
        k: [s[k] for s in per_seed] for k in per_seed[0]}
    self.writer.write_eval(done, scores, self.evaluator.protocol)
    value = scores.get(self.evaluator.primary)
    if isinstance(value, list):  # several seeds: the best checkpoint by their mean
      value = float(np.mean(value))
    if value is not None and self.evaluator.is_better(value, self.best_value):
      self.best_value = value
      # A resumed run replays steps past its checkpoint, evaluations included.
      self.best.save(done, host_state, replace=True)
    return scores


def _loop(run: Run, runner: parallel.Runner, writer: writers.MetricWriter,
          evals: _PeriodicEval | None, state: state_lib.GANState, start: int,
          stop: _StopRequests, lead: bool) -> state_lib.GANState:
  """Steps from `start` to num_steps with periodic logging, samples and checkpoints."""
  t = run.config.train
  fixed_z = run.fixed_noise(_grid_noise_count(run))
  pstate = runner.put_state(state)
  pending: list = []  # device metrics since the last log line; read only at log steps
  host_state = state
  # An explicit `disable` overrides tqdm's TQDM_DISABLE, which launch scripts set for log files.
  bar = tqdm(total=t.num_steps, initial=start, desc='train', unit='step', dynamic_ncols=True,
             disable=not lead or os.environ.get('TQDM_DISABLE', '') not in ('', '0', 'false'))
  t0 = time.time()
  per_call = t.steps_per_call  # validation: every interval and num_steps are multiples of it
  steps = range(start, t.num_steps, per_call)
  for step, batch in zip(steps, _prefetch(lambda s: runner.put_batch(run.call_batches(s)), steps)):
    pstate, metrics = runner.step(pstate, batch)
    if pending:
      # At most two calls in flight: enough to keep the device busy, and it bounds queued
      # work (XLA CPU's in-process collectives can starve their thread pool otherwise).
      jax.block_until_ready(pending[-1])
    pending.append(metrics)
    done = step + per_call
    last = done == t.num_steps
    bar.update(per_call)
    if done % t.log_every == 0 or last:
      means = runner.mean_metrics(pending, ignore_nan=t.on_nonfinite == 'skip')
      if 'skipped' in means:  # 'skip' mode: count skipped updates, average the rest
        means['skipped'] = _scale(means['skipped'], len(pending) * per_call)
      pending.clear()
      means['steps_per_sec'] = (done - start) / max(time.time() - t0, 1e-9)
      bad = [k for k, v in means.items() if not np.all(np.isfinite(v))]
      if bad and t.on_nonfinite == 'stop':
        raise _nonfinite_error(run, ', '.join(bad), _nonfinite_networks(bad), done)
      writer.write(done, means)
      bar.set_postfix(d_loss=f'{np.mean(means["d_loss"]):.3f}', g_loss=f'{np.mean(means["g_loss"]):.3f}',
                      d_acc=f'{np.mean(means["d_accuracy"]):.2f}')
    preempted = stop.agreed(done)
    save_grid = done % t.sample_every == 0 or last
    save_ckpt = done % t.checkpoint_every == 0 or last or preempted
    evaluate = evals is not None and evals.due(done, last)
    if save_grid or save_ckpt or evaluate:
      host_state = runner.get_state(pstate)
      # Metrics are checked only at log steps; a save between them must not write a NaN state
      # (keep-N would then rotate out the good checkpoints). Cheap next to the transfer.
      nets = _nonfinite_state_networks(host_state) if t.on_nonfinite == 'stop' else ''
      if nets:
        raise _nonfinite_error(run, 'parameters or optimizer state', nets, done)
    if evaluate:
      scores = evals(done, host_state)
      bar.write(f'step {done}: ' + ', '.join(f'{k} {_fmt(v)}' for k, v in scores.items()))
    if save_grid and lead:
      run.save_samples(host_state, fixed_z,
                       os.path.join(run.workdir, 'samples', f'step_{done:06d}.png'), f'step {done}')
    if save_ckpt:
      run.checkpointer.save(done, host_state)
    if preempted:
      bar.close()
      raise Preempted(done, run.checkpointer.path(done))
  bar.close()
  return runner.get_state(pstate) if start < t.num_steps else host_state
