"""Step-speed benchmark of the train step, per case:

  python -m gan_jax.bench [--cases=mnist_dcgan,mnist_mlp,toy_grid,dcgan28,dcgan64]
                          [--steps=20] [--rounds=3] [--steps_per_call=] [--json=FILE]

Cases:
  mnist_dcgan, mnist_mlp, toy_grid   the experiments' full configs with their real data
  dcgan28   experiments/mnist_dcgan.py at batch 64 on synthetic 28x28x1 data
  dcgan64   the same config at 64x64x3 (pytorch/examples dcgan: nz=100, ngf=ndf=64), batch
            64, synthetic data (PyTorch reference: launch/bench_torch.py; side by side:
            launch/bench_compare.py)

Each case runs on one local device with the production step (gan_jax.step, parallel.Runner,
pmap, donated state). When the config has `train.steps_per_call`, each value in
--steps_per_call is timed as its own row (e.g. `toy_grid@50`); the default times 1 and the
config's value for the MLP cases and 1 for the DCGANs (a call of 50 DCGAN steps takes
minutes). Per-step numbers of an S-step call are the call's divided by S.

Reported per row: compile seconds (lower+compile, ahead of time); median and p10-p90 ms
per step over --rounds x --steps timed calls (each waited on with block_until_ready; 2
untimed warm-up calls first); samples/s; GFLOP per step from XLA's cost analysis of the
1-step program (XLA counts a while loop's body once, so scanned programs are not used for
this); that rate as a fraction of this machine's fp32 matmul throughput, measured in the
same run by timing a jitted 4096x4096 jnp.dot (best of 3; before the first and after the
last case, the larger kept); peak memory: the device's memory_stats() peak where the
backend has one, else the process's peak RSS during the case (Linux VmHWM, reset before
each case) minus its RSS before it, labelled 'rss'; and XLA's buffer plan for the program
(arguments + outputs + temporaries, from memory_analysis()).

The machine is often shared: compare rows from the same run, and use
launch/bench_compare.py (alternating A/B rounds) for ratios against PyTorch.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import resource
import tempfile
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import app, flags, logging

from gan_jax import models, parallel, step as step_lib, train

CASES = ('mnist_dcgan', 'mnist_mlp', 'toy_grid', 'dcgan28', 'dcgan64')

_CASES = flags.DEFINE_list('cases', list(CASES), f'Cases to run: {", ".join(CASES)}.')
_EXPERIMENTS = flags.DEFINE_list('experiments', None, 'Deprecated alias of --cases.')
_STEPS = flags.DEFINE_integer('steps', 20, 'Timed steps per row and round (at least 5 calls; '
                              'after 2 warm-up calls).')
_ROUNDS = flags.DEFINE_integer('rounds', 1, 'Rounds: each round times every row once, in turn.')
_SPC = flags.DEFINE_list('steps_per_call', [], 'Values of train.steps_per_call to time for every '
                         'case whose config has that key (default: per case, see the docstring).')
_JSON = flags.DEFINE_string('json', None, 'Append one JSON record per row here.')

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_experiment(name: str, arg: str | None = None) -> ml_collections.ConfigDict:
  path = os.path.join(_ROOT, 'experiments', f'{name}.py')
  spec = importlib.util.spec_from_file_location(f'experiment_{name}', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


@dataclasses.dataclass(frozen=True)
class Case:
  """A config plus, for synthetic cases, the sample shape that replaces its data source."""

  name: str
  experiment: str
  overrides: tuple[tuple[str, Any], ...] = ()
  synthetic_shape: tuple[int, ...] | None = None  # None: the experiment's own data
  steps_per_call: tuple[int | None, ...] = (1,)  # None: the config's own value

  def config(self, steps_per_call: int | None = None) -> ml_collections.ConfigDict:
    c = load_experiment(self.experiment)
    for key, value in self.overrides:
      section, name = key.split('.')
      c[section][name] = value
    if steps_per_call is not None and 'steps_per_call' in c.train:
      c.train.steps_per_call = steps_per_call
    return c


_CASE_TABLE = {
    'mnist_dcgan': Case('mnist_dcgan', 'mnist_dcgan'),
    'mnist_mlp': Case('mnist_mlp', 'mnist_mlp', steps_per_call=(1, None)),
    'toy_grid': Case('toy_grid', 'toy_grid', steps_per_call=(1, None)),
    'dcgan28': Case('dcgan28', 'mnist_dcgan', (('data.batch_size', 64),), (28, 28, 1)),
    'dcgan64': Case('dcgan64', 'mnist_dcgan',
                    (('data.batch_size', 64), ('model.z_dim', 100), ('model.g_features', 64),
                     ('model.d_features', 64)), (64, 64, 3)),
}


class SyntheticSource:
  """Uniform [-1, 1] images of a fixed shape; batch `step` is a pure function of (seed, step)."""

  def __init__(self, element_shape: tuple[int, ...], batch_size: int, seed: int):
    self.element_shape = tuple(element_shape)
    self.batch_size = batch_size
    self.local = batch_size // jax.process_count()
    self.seed = seed

  def batch(self, step: int) -> np.ndarray:
    rng = np.random.default_rng([self.seed, step])
    return rng.uniform(-1.0, 1.0, (self.local, *self.element_shape)).astype(np.float32)


def make_run(case: Case, config: ml_collections.ConfigDict, workdir: str) -> train.Run:
  """train.Run for the case; synthetic cases swap in SyntheticSource and rebuild the models."""
  run = train.Run(config, workdir)
  if case.synthetic_shape is not None:
    source = SyntheticSource(case.synthetic_shape, config.data.batch_size, config.seed + 1)
    run.source = source
    if hasattr(run, 'sources'):
      run.sources = [source] * len(run.sources)
    run.g_model, run.d_model = models.build(config, source.element_shape)
  return run


def _runner(run: train.Run, devices) -> parallel.Runner:
  if hasattr(run, 'runner'):
    return run.runner(devices)
  return parallel.Runner(step_lib.make_train_step(run.config, run.g_model, run.d_model), devices,
                         run.config.parallel)


def _call_batch(run: train.Run, call: int) -> np.ndarray:
  """Real data for compiled call number `call`."""
  if hasattr(run, 'call_batches'):
    return run.call_batches(call * _steps_per_call(run.config))
  return run.batches(call)


def _steps_per_call(config: ml_collections.ConfigDict) -> int:
  return config.train.get('steps_per_call', 1)


def _rss_kb(field: str = 'VmRSS') -> int | None:
  try:
    with open('/proc/self/status') as f:
      for line in f:
        if line.startswith(field + ':'):
          return int(line.split()[1])
  except OSError:
    pass
  return None


def _reset_peak_rss() -> bool:
  """Resets the kernel's peak-RSS counter (VmHWM) of this process; False where unsupported."""
  try:
    with open('/proc/self/clear_refs', 'w') as f:
      f.write('5')
    return True
  except OSError:
    return False


class PeakMemory:
  """Peak memory of a block: device memory_stats() where available, else process RSS."""

  def __init__(self, device: jax.Device):
    self.device = device

  def __enter__(self):
    stats = self.device.memory_stats()
    self.kind = 'device' if stats and 'peak_bytes_in_use' in stats else None
    if self.kind == 'device':
      self.before = stats.get('bytes_in_use', 0)
    else:
      self.kind = 'rss' if _reset_peak_rss() and _rss_kb() is not None else 'max_rss'
      self.before = (_rss_kb() if self.kind == 'rss'
                     else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
    return self

  def __exit__(self, *exc):
    if self.kind == 'device':
      self.peak = self.device.memory_stats()['peak_bytes_in_use']
    elif self.kind == 'rss':
      self.peak = _rss_kb('VmHWM') * 1024
    else:  # a lifetime maximum: this only shows growth beyond earlier cases' peaks
      self.peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    self.delta_mb = (self.peak - self.before) / 2**20
    self.peak_mb = self.peak / 2**20


def matmul_gflops(n: int = 4096, reps: int = 3) -> float:
  """fp32 matmul throughput of the default device, GFLOP/s (best of `reps`)."""
  a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
  b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
  dot = jax.jit(jnp.dot)
  dot(a, b).block_until_ready()
  best = float('inf')
  for _ in range(reps):
    t0 = time.perf_counter()
    dot(a, b).block_until_ready()
    best = min(best, time.perf_counter() - t0)
  return 2 * n**3 / best / 1e9


def _cost(compiled) -> dict[str, float]:
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0] if cost else {}
  return cost or {}


def _buffers_mb(compiled) -> float | None:
  try:
    m = compiled.memory_analysis()
    return (m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes
            - m.alias_size_in_bytes) / 2**20
  except Exception:  # noqa: BLE001 (not every backend implements it)
    return None


class Timed:
  """One benchmark row: a compiled step with its state and data, timed call by call."""

  def __init__(self, case: Case, steps_per_call: int | None, workdir: str,
               device: jax.Device):
    config = case.config(steps_per_call)
    self.config = config
    self.spc = _steps_per_call(config)
    has_key = 'steps_per_call' in config.train
    self.name = case.name if not has_key or self.spc == 1 else f'{case.name}@{self.spc}'
    self.case = case
    with PeakMemory(device) as mem:
      run = make_run(case, config, workdir)
      self.runner = _runner(run, [device])
      self.state = self.runner.put_state(run.initial_state())
      self.batches = [self.runner.put_batch(_call_batch(run, i)) for i in range(2)]
      t0 = time.perf_counter()
      self.compiled = self.runner.compile(self.state, self.batches[0])
      self.compile_s = time.perf_counter() - t0
      close = getattr(run.checkpointer, 'close', None)
      if close:
        close()  # no checkpoints here; stops its background threads
      self.call(2)  # warm-up, inside the memory window: the first calls allocate
    self.mem = mem
    self.batch_size = config.data.batch_size
    self.times: list[float] = []

  def call(self, n: int, record: bool = False) -> None:
    for i in range(n):
      t0 = time.perf_counter()
      self.state, metrics = self.compiled(self.state, self.batches[i % len(self.batches)])
      jax.block_until_ready(metrics)
      if record:
        self.times.append((time.perf_counter() - t0) / self.spc)


def _spc_values(case: Case) -> tuple[int | None, ...]:
  if _SPC.value:
    return tuple(int(v) for v in _SPC.value)
  return case.steps_per_call


def _one_step_flops(case: Case, rows: list[Timed]) -> float | None:
  """FLOPs of one step, from the 1-step program (compiled here if no row has one)."""
  for row in rows:
    if row.spc == 1:
      return _cost(row.compiled).get('flops')
  config = case.config(1)
  with tempfile.TemporaryDirectory() as workdir:
    run = make_run(case, config, workdir)
    runner = _runner(run, jax.local_devices()[:1])
    state = runner.put_state(run.initial_state())
    compiled = runner.compile(state, runner.put_batch(_call_batch(run, 0)))
  return _cost(compiled).get('flops')


def record(row: Timed, flops: float | None, peak_gflops: float) -> dict[str, Any]:
  ms = np.array(row.times) * 1e3
  med = float(np.median(ms))
  gflop = flops / 1e9 if flops else None
  achieved = gflop / med * 1e3 if gflop else None
  return {
      'case': row.name, 'experiment': row.case.experiment,
      'data': 'synthetic' if row.case.synthetic_shape else row.config.data.name,
      'batch_size': row.batch_size, 'steps_per_call': row.spc,
      'compile_s': round(row.compile_s, 2), 'median_ms': round(med, 3),
      'p10_ms': round(float(np.percentile(ms, 10)), 3), 'p90_ms': round(float(np.percentile(ms, 90)), 3),
      'timed_steps': len(ms) * row.spc,
      'images_per_s': round(row.batch_size / med * 1e3, 1),
      'gflop_per_step': round(gflop, 3) if gflop else None,
      'gflops': round(achieved, 1) if achieved else None,
      'fraction_of_matmul_peak': round(achieved / peak_gflops, 3) if achieved else None,
      'peak_memory_mb': round(row.mem.delta_mb, 1), 'peak_memory_kind': row.mem.kind,
      'process_peak_mb': round(row.mem.peak_mb, 1),
      'xla_buffers_mb': round(b, 1) if (b := _buffers_mb(row.compiled)) is not None else None,
      'backend': jax.default_backend(), 'jax': jax.__version__,
  }


def print_header(peak: float) -> None:
  print(f'fp32 matmul throughput (jnp.dot 4096^2): {peak:.1f} GFLOP/s; '
        f'{jax.default_backend()}, {os.cpu_count()} CPUs, jax {jax.__version__}')
  print(f'{"case":<16}{"compile s":>10}{"median ms":>11}{"p10-p90 ms":>18}{"samples/s":>11}'
        f'{"GFLOP":>9}{"GFLOP/s":>9}{"of peak":>9}{"peak MB":>9}{"XLA MB":>8}')


def print_row(r: dict[str, Any]) -> None:
  fmt = lambda v, spec: format(v, spec) if v is not None else '-'  # noqa: E731
  mem = f'{r["peak_memory_mb"]:.0f}{"*" if r["peak_memory_kind"] != "device" else ""}'
  print(f'{r["case"]:<16}{r["compile_s"]:>10.2f}{r["median_ms"]:>11.3f}'
        f'{r["p10_ms"]:>9.2f}-{r["p90_ms"]:<8.2f}{r["images_per_s"]:>11.0f}'
        f'{fmt(r["gflop_per_step"], ".3f"):>9}{fmt(r["gflops"], ".1f"):>9}'
        f'{fmt(r["fraction_of_matmul_peak"], ".1%"):>9}{mem:>9}{fmt(r["xla_buffers_mb"], ".0f"):>8}',
        flush=True)


def run_cases(names: list[str], steps: int, rounds: int,
              report: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
  unknown = [n for n in names if n not in _CASE_TABLE]
  if unknown:
    raise ValueError(f'Unknown case(s) {unknown}; valid: {", ".join(CASES)}.')
  device = jax.local_devices()[0]
  peak = matmul_gflops()
  print_header(peak)
  records = []
  with tempfile.TemporaryDirectory() as workdir:
    for name in names:
      case = _CASE_TABLE[name]
      rows = []
      for spc in dict.fromkeys(_spc_values(case)):  # ordered, without duplicates
        row = Timed(case, spc, os.path.join(workdir, f'{name}_{spc}'), device)
        if all(r.name != row.name for r in rows):
          rows.append(row)
      flops = _one_step_flops(case, rows)
      for _ in range(rounds):  # rows of a case alternate, so load changes hit all alike
        for row in rows:
          row.call(max(5, -(-steps // row.spc)), record=True)
      for row in rows:
        r = record(row, flops, peak)
        records.append(r)
        print_row(r)
        if report:
          report(r)
      del rows
  peak_after = matmul_gflops()
  if peak_after > peak:
    for r in records:  # the fraction is against the better of the two measurements
      if r['gflops']:
        r['fraction_of_matmul_peak'] = round(r['gflops'] / peak_after, 3)
  for r in records:
    r['matmul_gflops'] = round(max(peak, peak_after), 1)
  print(f'matmul throughput after the cases: {peak_after:.1f} GFLOP/s. '
        '* peak memory: process RSS growth during the case (compile + run), not device memory.')
  return records


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  names = _EXPERIMENTS.value or _CASES.value
  records = run_cases(names, _STEPS.value, _ROUNDS.value)
  if _JSON.value:
    with open(_JSON.value, 'a') as f:
      for r in records:
        f.write(json.dumps(r) + '\n')


if __name__ == '__main__':
  app.run(main)
