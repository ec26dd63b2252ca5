"""Cost of each D regularizer relative to the plain D loss + gradient, on this machine.

  .venv/bin/python launch/bench_regularizers.py [--batch=64] [--iters=20] [--features=64]

Times one jitted D gradient (w.r.t. D's params, BatchNorm in train mode) of the DCGAN
discriminator at 28x28 (gan_jax.models.dcgan), with and without each penalty from
gan_jax.regularizers, on fixed random real/fake batches (no generator). Prints compile
seconds, median ms over --iters calls after 3 warm-up calls (variants interleaved call by
call, so a busy machine slows all alike), and the ratio to the plain loss. Penalty closures re-run D on their own inputs with the same batch statistics mode.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import gan_jax  # noqa: E402,F401  (sets the CPU XLA flags before JAX starts)
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from gan_jax import augment, losses, regularizers as reg  # noqa: E402
from gan_jax.models import dcgan  # noqa: E402

_BATCH = flags.DEFINE_integer('batch', 64, 'Real and fake batch size.')
_ITERS = flags.DEFINE_integer('iters', 20, 'Timed calls per variant (after 3 warm-up calls).')
_FEATURES = flags.DEFINE_integer('features', 64, "D's first-layer width.")

# name -> weighted penalty(d_fn, real, fake, real_logits, fake_logits, key, lecam_state)
PENALTIES = {
    'plain': None,
    'gp (WGAN-GP)': lambda d, r, f, rl, fl, k, s: 10.0 * reg.gradient_penalty(d, r, f, k),
    'r1': lambda d, r, f, rl, fl, k, s: 5.0 * reg.r1(d, r),
    'r2': lambda d, r, f, rl, fl, k, s: 5.0 * reg.r2(d, f),
    'dragan': lambda d, r, f, rl, fl, k, s: 10.0 * reg.dragan(d, r, k),
    'bcr (DiffAugment, real+fake)': lambda d, r, f, rl, fl, k, s: 10.0 * (
        reg.consistency(d, r, jax.random.fold_in(k, 0), augment.augment, logits=rl)
        + reg.consistency(d, f, jax.random.fold_in(k, 1), augment.augment, logits=fl)),
    'lecam': lambda d, r, f, rl, fl, k, s: 0.3 * reg.lecam(rl, fl, s),
}


def make_grad_fn(model: dcgan.Discriminator, penalty):
  def apply(params, stats, x):
    out, updates = model.apply({'params': params, 'batch_stats': stats}, x, train=True,
                               mutable=['batch_stats'])
    return out, updates['batch_stats']

  def objective(params, stats, real, fake, key, lecam_state):
    real_logits, stats = apply(params, stats, real)
    fake_logits, stats = apply(params, stats, fake)
    total = losses.d_nonsaturating(real_logits, fake_logits)
    if penalty is not None:
      d_fn = lambda x: apply(params, stats, x)[0]
      total = total + penalty(d_fn, real, fake, real_logits, fake_logits, key, lecam_state)
    lecam_state = reg.lecam_update(lecam_state, real_logits, fake_logits)
    return total, (stats, lecam_state)

  return jax.jit(jax.grad(objective, has_aux=True))


def bench(grad_fns: dict, args, iters: int) -> list[dict]:
  """Compiles every variant, then times them round-robin, so load spikes hit all alike."""
  compiled, compile_s = {}, {}
  for name, fn in grad_fns.items():
    t0 = time.perf_counter()
    compiled[name] = fn.lower(*args).compile()
    compile_s[name] = time.perf_counter() - t0
  times = {name: [] for name in grad_fns}
  for _ in range(iters + 3):
    for name, fn in compiled.items():
      t0 = time.perf_counter()
      jax.block_until_ready(fn(*args))
      times[name].append(time.perf_counter() - t0)
  return [{'name': name, 'compile_s': compile_s[name],
           'median_ms': 1e3 * float(np.median(times[name][3:]))} for name in grad_fns]


def main(argv):
  del argv
  n, size = _BATCH.value, 28
  model = dcgan.Discriminator(image_size=size, features=_FEATURES.value)
  rng = np.random.default_rng(0)
  real, fake = (jnp.asarray(rng.uniform(-1, 1, (n, size, size, 1)).astype(np.float32))
                for _ in range(2))
  variables = model.init(jax.random.PRNGKey(0), real, train=False)
  args = (variables['params'], variables['batch_stats'], real, fake, jax.random.PRNGKey(1),
          reg.lecam_init())
  rows = bench({name: make_grad_fn(model, p) for name, p in PENALTIES.items()}, args, _ITERS.value)
  base = rows[0]['median_ms']
  print(f'DCGAN D 28x28, features={_FEATURES.value}, batch {n} real + {n} fake, '
        f'{jax.default_backend()} x{os.cpu_count()} cores, jax {jax.__version__}, '
        f'load avg {os.getloadavg()[0]:.1f}')
  print(f'| {"variant":30s} | compile s | median ms | x plain |')
  print(f'|{"-" * 32}|-----------|-----------|---------|')
  for row in rows:
    print(f'| {row["name"]:30s} | {row["compile_s"]:9.2f} | {row["median_ms"]:9.1f} | '
          f'{row["median_ms"] / base:7.2f} |')


if __name__ == '__main__':
  app.run(main)
