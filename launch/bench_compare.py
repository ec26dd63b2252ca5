"""gan_jax's train step against the PyTorch eager reference, in one process, alternating.

  .venv/bin/pip install torch==2.13.0   # the [bench] extra (CPU wheel)
  .venv/bin/python launch/bench_compare.py [--cases=dcgan28,dcgan64,toy_mlp] [--rounds=5] [--json=FILE]
      [--block_scale=1] [--torch_threads=N] [--torch_adam=fused|foreach|loop] [--torch_channels_last=true]

Per case, both sides are built and warmed up first, then timed in --rounds rounds; each
round times a block of steps on each side (A/B, then B/A in the next round, so neither side
always runs right after the other). The machine may be shared, so the ratio is the median
over rounds of (torch round median / jax round median): a load change between rounds hits
both sides of a round alike. Ratio > 1: gan_jax is faster.

Cases (models and data: launch/bench_torch.py and gan_jax/bench.py):
  dcgan28   gan_jax.bench 'dcgan28'  vs bench_torch 'dcgan28'   (batch 64)
  dcgan64   gan_jax.bench 'dcgan64'  vs bench_torch 'dcgan64'   (pytorch/examples dcgan, batch 64)
  toy_mlp   gan_jax.bench 'toy_grid' vs bench_torch 'toy_mlp'   (batch 128); gan_jax at
            train.steps_per_call 1 and, when the config has that key, 50 (rows 'toy_mlp' and
            'toy_mlp@50'; per-step time = call time / steps)

Torch runs with torch.set_num_threads(os.cpu_count()) intra-op threads, channels_last and
fused Adam (its fastest CPU settings, bench_torch.py); JAX with its default CPU thread pool
(one thread per core) and gan_jax's XLA flags (gan_jax/__init__.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gan_jax  # noqa: E402,F401  (sets the CPU XLA flags before JAX starts)
import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import logging  # noqa: E402

import bench_torch  # noqa: E402
from gan_jax import bench  # noqa: E402

# case -> (gan_jax.bench case, bench_torch case, steps per block, gan_jax steps_per_call values)
CASES = {
    'dcgan28': ('dcgan28', 'dcgan28', 10, (1,)),
    'dcgan64': ('dcgan64', 'dcgan64', 3, (1,)),
    'toy_mlp': ('toy_grid', 'toy_mlp', 200, (1, 50)),
}


class TorchSide:
  def __init__(self, name: str):
    self.step, self.real = bench_torch.make_case(name, adam=ARGS.torch_adam,
                                                 channels_last=ARGS.torch_channels_last)
    bench_torch.time_steps(self.step, self.real, 2)  # warm-up
    self.batch_size = self.real.shape[0]
    self.times: list[float] = []

  def block(self, steps: int) -> list[float]:
    t = bench_torch.time_steps(self.step, self.real, steps)
    self.times += t
    return t


class JaxSide:
  def __init__(self, case: str, spc: int, workdir: str):
    self.timed = bench.Timed(bench._CASE_TABLE[case], spc, workdir, jax.local_devices()[0])
    self.batch_size = self.timed.batch_size

  @property
  def times(self) -> list[float]:
    return self.timed.times

  def block(self, steps: int) -> list[float]:
    n0 = len(self.timed.times)
    self.timed.call(max(1, -(-steps // self.timed.spc)), record=True)
    return self.timed.times[n0:]


def compare(name: str, rounds: int) -> list[dict]:
  jax_case, torch_case, steps, spcs = CASES[name]
  steps = max(1, round(steps * ARGS.block_scale))
  records = []
  with tempfile.TemporaryDirectory() as workdir:
    jax_sides = {}
    for spc in spcs:
      side = JaxSide(jax_case, spc, os.path.join(workdir, str(spc)))
      if side.timed.spc == spc:  # configs without train.steps_per_call only give 1
        jax_sides[spc] = side
    torch_side = TorchSide(torch_case)
    per_round = {spc: [] for spc in jax_sides}
    for r in range(rounds):
      order = [('torch', torch_side)] + [(spc, s) for spc, s in jax_sides.items()]
      if r % 2:
        order.reverse()
      medians = {}
      for key, side in order:
        medians[key] = float(np.median(side.block(steps)))
      for spc in jax_sides:
        per_round[spc].append(medians['torch'] / medians[spc])
    torch_ms = np.array(torch_side.times) * 1e3
    for spc, side in jax_sides.items():
      jax_ms = np.array(side.times) * 1e3
      ratios = np.array(per_round[spc])
      records.append({
          'case': name if spc == 1 else f'{name}@{spc}', 'jax_case': jax_case, 'torch_case': torch_case,
          'batch_size': side.batch_size, 'steps_per_call': spc, 'rounds': rounds,
          'jax_compile_s': round(side.timed.compile_s, 2),
          'jax_median_ms': round(float(np.median(jax_ms)), 3),
          'jax_p10_ms': round(float(np.percentile(jax_ms, 10)), 3),
          'jax_p90_ms': round(float(np.percentile(jax_ms, 90)), 3),
          'torch_median_ms': round(float(np.median(torch_ms)), 3),
          'torch_p10_ms': round(float(np.percentile(torch_ms, 10)), 3),
          'torch_p90_ms': round(float(np.percentile(torch_ms, 90)), 3),
          'ratio_torch_over_jax': round(float(np.median(ratios)), 3),
          'ratio_min': round(float(ratios.min()), 3), 'ratio_max': round(float(ratios.max()), 3),
          'torch_threads': bench_torch.torch.get_num_threads(), 'torch_adam': ARGS.torch_adam,
          'torch_channels_last': ARGS.torch_channels_last and torch_case.startswith('dcgan'),
          'torch': bench_torch.torch.__version__, 'jax': jax.__version__,
          'xla_flags': os.environ.get('XLA_FLAGS', ''),
      })
  return records


def parse_args(argv=None) -> argparse.Namespace:
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--cases', default=','.join(CASES), help=f'comma-separated: {", ".join(CASES)}')
  p.add_argument('--rounds', type=int, default=5, help='A/B rounds per case')
  p.add_argument('--block_scale', type=float, default=1.0, help='multiplies the steps timed per block')
  p.add_argument('--torch_threads', type=int, default=None, help='torch intra-op threads (default: all cores)')
  p.add_argument('--torch_adam', default='fused', choices=('fused', 'foreach', 'loop'))
  p.add_argument('--torch_channels_last', type=lambda v: v.lower() in ('1', 'true', 'yes'), default=True)
  p.add_argument('--json', default=None, help='append one JSON record per row here')
  args = p.parse_args(argv)
  for name in args.cases.split(','):
    if name not in CASES:
      p.error(f'unknown case {name!r}; valid: {", ".join(CASES)}')
  return args


ARGS = parse_args([])


def main() -> None:
  global ARGS
  ARGS = parse_args()
  logging.set_verbosity(logging.WARNING)
  threads = bench_torch.setup_threads(ARGS.torch_threads)
  peak = bench.matmul_gflops()
  print(f'torch {bench_torch.torch.__version__} ({threads} intra-op threads, adam={ARGS.torch_adam}, '
        f'channels_last={ARGS.torch_channels_last}); jax {jax.__version__}; {os.cpu_count()} CPUs; '
        f'jnp.dot 4096^2: {peak:.0f} GFLOP/s; XLA_FLAGS={os.environ.get("XLA_FLAGS", "")!r}')
  print(f'{"case":<12}{"batch":>6}{"jax compile s":>14}{"jax ms":>10}{"torch ms":>10}'
        f'{"torch/jax":>11}{"(min-max over rounds)":>23}')
  for name in ARGS.cases.split(','):
    for r in compare(name, ARGS.rounds):
      print(f'{r["case"]:<12}{r["batch_size"]:>6}{r["jax_compile_s"]:>14.2f}{r["jax_median_ms"]:>10.2f}'
            f'{r["torch_median_ms"]:>10.2f}{r["ratio_torch_over_jax"]:>10.2f}x'
            f'{r["ratio_min"]:>13.2f}-{r["ratio_max"]:<.2f}', flush=True)
      if ARGS.json:
        with open(ARGS.json, 'a') as f:
          f.write(json.dumps(r) + '\n')


if __name__ == '__main__':
  main()
