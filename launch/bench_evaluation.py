"""Checks the k-NN metrics against the published reference case and times FID (and KID).

  .venv/bin/python launch/bench_evaluation.py          # ~2 min on 2 CPU cores

(a) Real and fake both 10,000 draws of N(0, I_1000), k = 5 (shared/REFERENCE.md §5, from
    Naeem et al. 2020): expected precision ~0.477, recall ~0.471, density ~1.056, coverage
    ~0.974. That case uses k = 5 for precision/recall too (the improved-PR paper's default is
    k = 3, printed as well). Seeds 0-3 give precision 0.467-0.500, recall 0.462-0.475,
    density 0.985-1.102 and coverage 0.966-0.977, so the reference values are one draw.
(b) Wall time of FID on 10,000 x 10,000 features of the MNIST classifier's dimension and of
    Inception's 2,048: float64 statistics, then the trace of the matrix square root.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from gan_jax import evaluation
from gan_jax.evaluation import classifier, fid


def timed(fn, *args, **kwargs):
  start = time.perf_counter()
  out = fn(*args, **kwargs)
  return out, time.perf_counter() - start


def manifold_reference_case(n: int, dim: int) -> None:
  rng = np.random.default_rng(0)
  real = rng.standard_normal((n, dim), dtype=np.float32)
  fake = rng.standard_normal((n, dim), dtype=np.float32)
  out, secs = timed(evaluation.manifold_metrics, real, fake, k=5)
  print(f'(a) N(0, I_{dim}), {n:,} vs {n:,}, k=5 for all four ({secs:.1f} s):')
  print(f'    precision {out["precision"]:.3f} (ref ~0.477)  recall {out["recall"]:.3f} (ref ~0.471)  '
        f'density {out["density"]:.3f} (ref ~1.056)  coverage {out["coverage"]:.3f} (ref ~0.974)')
  (precision, recall), secs = timed(evaluation.precision_recall, real, fake, k=3)
  print(f'    precision/recall with k=3 (Kynkäänniemi et al. default): {precision:.3f} / {recall:.3f} '
        f'({secs:.1f} s)')


def fid_timing(n: int, dim: int, kid: bool) -> None:
  rng = np.random.default_rng(1)
  mix = rng.standard_normal((dim, dim)) / np.sqrt(dim)
  # ReLU features, like a network's penultimate layer: non-negative, correlated.
  real = np.maximum(rng.standard_normal((n, dim)) @ mix, 0).astype(np.float32)
  fake = np.maximum(rng.standard_normal((n, dim)) @ mix + 0.1, 0).astype(np.float32)
  start = time.perf_counter()
  stats_r, stats_f = fid.FeatureStats.from_features(real), fid.FeatureStats.from_features(fake)
  mid = time.perf_counter()
  value = fid.stats_fid(stats_r, stats_f)
  end = time.perf_counter()
  print(f'(b) FID, {n:,} x {n:,} features of dimension {dim}: {value:.4f} in {end - start:.2f} s '
        f'(statistics {mid - start:.2f} s, trace sqrt {end - mid:.2f} s)')
  if kid:
    (mean, std), secs = timed(evaluation.kernel_distance, real, fake)
    print(f'    KID (100 subsets of 1,000): {mean:.5f} +- {std:.5f} in {secs:.1f} s')


def main(argv: list[str]) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--n', type=int, default=10_000)
  parser.add_argument('--dim', type=int, default=1000, help='dimension of the PRDC reference case')
  args = parser.parse_args(argv)
  manifold_reference_case(args.n, args.dim)
  fid_timing(args.n, classifier.LeNet.feature_dim, kid=True)
  fid_timing(args.n, 2048, kid=False)


if __name__ == '__main__':
  main(sys.argv[1:])
