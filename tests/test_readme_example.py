"""The README's example of using gan_jax's losses from a plain-JAX project runs as written."""

import os

import jax.numpy as jnp
import numpy as np

from conftest import ROOT

_MARKER = "# A plain-JAX GAN step with gan_jax's losses and penalties"


def _example_source() -> str:
  with open(os.path.join(ROOT, 'README.md')) as f:
    text = f.read()
  start = text.index(_MARKER)
  return text[start:text.index('```', start)]


def test_readme_loss_example_runs_and_gives_finite_values():
  scope: dict = {}
  exec(compile(_example_source(), 'README.md example', 'exec'), scope)  # noqa: S102
  assert scope['d_grads'].shape == (28 * 28,)
  assert np.all(np.isfinite(scope['d_grads'])) and float(jnp.linalg.norm(scope['d_grads'])) > 0
  assert scope['per_example'].shape == (8,) and np.isfinite(float(scope['g_loss']))
