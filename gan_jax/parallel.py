"""Running the step over devices: `jax.pmap` (the default) or `jax.shard_map`.

The step only uses collectives on the named axis, so both give the same numbers. Under pmap
the state carries a leading device axis; under shard_map it is one replicated global array.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from gan_jax.models import AXIS_NAME

MODES = ('pmap', 'shard_map')


class Runner:
  """Places state and batches on `devices` and runs the compiled step (built once)."""

  def __init__(self, step_fn: Callable, devices: Sequence[jax.Device], mode: str = 'pmap',
               batch_axis: int = 1, num_seeds: int = 1):
    """`batch_axis`: where the batch axis is in step_fn's batch (step.batch_axis(config));
    `num_seeds`: size of the trailing seed axis of the metrics (1: none)."""
    if mode not in MODES:
      raise ValueError(f'Unknown config.parallel={mode!r}; valid: {", ".join(MODES)}.')
    self.devices = list(devices)  # this process's devices
    self.mode = mode
    # Several processes: the step spans every process's devices; each feeds its local share.
    self.multiprocess = jax.process_count() > 1
    self.batch_axis = batch_axis
    self.num_seeds = num_seeds
    mesh = Mesh(np.array(jax.devices() if self.multiprocess else self.devices), (AXIS_NAME,))
    self._replicated = NamedSharding(mesh, P())
    self._sharded = NamedSharding(mesh, P(AXIS_NAME))  # leading axis split over devices
    batch_spec = P(*([None] * batch_axis), AXIS_NAME)  # e.g. [n_critic, B, ...]
    self._batch_sharding = NamedSharding(mesh, batch_spec)
    if mode == 'pmap':
      self._step = jax.pmap(step_fn, axis_name=AXIS_NAME, donate_argnums=0,
                            devices=None if self.multiprocess else self.devices)
    else:
      mapped = jax.shard_map(step_fn, mesh=mesh, in_specs=(P(), batch_spec), out_specs=(P(), P()))
      self._step = jax.jit(mapped, donate_argnums=0)

  @property
  def num_devices(self) -> int:
    return len(self.devices)

  def put_state(self, state: Any) -> Any:
    if self.mode == 'pmap':  # one copy per device along a new leading axis
      n = self.num_devices
      local = jax.tree_util.tree_map(lambda x: np.broadcast_to(np.asarray(x), (n, *np.shape(x))),
                                     state)
      # Multi-process pmap takes each process's [n_local, ...] host arrays as they are.
      return local if self.multiprocess else jax.device_put(local, self._sharded)
    if self.multiprocess:  # every process holds the same full copy
      return jax.tree_util.tree_map(
          lambda x: jax.make_array_from_callback(np.shape(x), self._replicated,
                                                 lambda idx, x=np.asarray(x): x[idx]), state)
    return jax.device_put(state, self._replicated)

  def get_state(self, state: Any) -> Any:
    """Host (numpy) copy of one replica; a sync point, so only for logging and saving."""
    # Replicas are identical; read one this process holds.
    return jax.device_get(jax.tree_util.tree_map(self._local_replica, state))

  def put_batch(self, batch: np.ndarray) -> Any:
    """Lays out this process's batches (e.g. [n_critic, B, ...]) so each device gets B/n of them."""
    n, a = self.num_devices, self.batch_axis
    if batch.shape[a] % n:
      raise ValueError(f'Batch of {batch.shape[a]} does not split over {n} devices; '
                       f'set config.data.batch_size to a multiple of {n}.')
    if self.mode == 'pmap':
      split = batch.reshape(*batch.shape[:a], n, batch.shape[a] // n, *batch.shape[a + 1:])
      split = np.moveaxis(split, a, 0)
      return split if self.multiprocess else jax.device_put(split, self._sharded)
    if self.multiprocess:  # this process's rows of the global batch
      return jax.make_array_from_process_local_data(self._batch_sharding, batch)
    return jax.device_put(batch, self._batch_sharding)

  def mean_metrics(self, history: Sequence[dict[str, jax.Array]],
                   ignore_nan: bool = False) -> dict[str, float | list[float]]:
    """Mean of the step metrics over a log interval, with one device-to-host copy.

    Each entry of `history` is one call's metrics ([S?, K?] per key). Values are floats, or
    lists of one float per seed when num_seeds > 1. `ignore_nan` averages only the finite
    steps (used when non-finite updates are skipped).
    """
    # Metrics are pmean-ed, so any local replica holds the value.
    history = [jax.tree_util.tree_map(self._local_replica, m) for m in history]
    stacked = jax.device_get(jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *history))
    out = {}
    for k, v in stacked.items():
      v = np.asarray(v, np.float64).reshape(-1, self.num_seeds)
      if ignore_nan:
        finite = np.isfinite(v)
        sums = np.where(finite, v, 0.0).sum(0)
        means = np.where(finite.any(0), sums / np.maximum(finite.sum(0), 1), np.nan)
      else:
        means = v.mean(0)
      out[k] = [float(m) for m in means] if self.num_seeds > 1 else float(means[0])
    return out

  def _local_replica(self, x: Any) -> Any:
    """One replica this process holds (works when other processes hold the rest)."""
    if not isinstance(x, jax.Array):  # host arrays fed to multi-process pmap
      return x[0] if self.mode == 'pmap' else x
    shard = x.addressable_data(0)
    return shard[0] if self.mode == 'pmap' else shard  # pmap: strip the device axis

  def step(self, state: Any, batch: Any) -> tuple[Any, Any]:
    """One compiled call; pmap's state and metrics carry a leading device axis."""
    return self._step(state, batch)

  def compile(self, state: Any, batch: Any) -> Any:
    """Ahead-of-time compiles the step for these shapes (for benchmarks; the loop compiles lazily)."""
    return self._step.lower(state, batch).compile()

