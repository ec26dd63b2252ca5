"""GAN losses: pure functions on discriminator logits, no framework state.

Every family is a pair (d_loss, g_loss) with the signature `(real_logits, fake_logits)`,
so `get(name)` hands back interchangeable pairs. Logits are D's pre-sigmoid outputs;
D(x) = sigmoid(logit). All BCE terms use the identity -log sigmoid(t) = softplus(-t),
which is exact and finite for any finite logit (no log(0) at |t| = 100).
Reductions happen in float32 whatever the input dtype.

Goodfellow et al. 2014, "Generative Adversarial Nets":
  d_bce:            L_D = E_x[softplus(-D(x))] + E_z[softplus(D(G(z)))]
                        = BCE(D(x), 1) + BCE(D(G(z)), 0)
  g_minimax:        L_G = -E_z[softplus(D(G(z)))] = -BCE(D(G(z)), 0)   (saturates early)
  g_nonsaturating:  L_G = E_z[softplus(-D(G(z)))] = BCE(D(G(z)), 1)
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array
LossFn = Callable[[Array | None, Array], Array]


def _reduce(values: Array, reduction: str | None) -> Array:
  if reduction is None:
    return values
  if reduction == 'mean':
    return jnp.mean(values)
  raise ValueError(f"reduction must be 'mean' or None, got {reduction!r}.")


def d_bce(real_logits: Array, fake_logits: Array, reduction: str | None = 'mean') -> Array:
  """The seed's D loss: BCE with real labelled 1 and fake labelled 0.

  With `reduction=None` returns per-example values [N] (real and fake terms summed pairwise).
  """
  real = jax.nn.softplus(-real_logits.astype(jnp.float32))
  fake = jax.nn.softplus(fake_logits.astype(jnp.float32))
  if reduction is None:
    return real + fake
  return _reduce(real, reduction) + _reduce(fake, reduction)


def g_nonsaturating(real_logits: Array | None, fake_logits: Array,
                    reduction: str | None = 'mean') -> Array:
  """Non-saturating G loss: BCE of D on fakes labelled real. `real_logits` is unused."""
  del real_logits
  return _reduce(jax.nn.softplus(-fake_logits.astype(jnp.float32)), reduction)


def g_minimax(real_logits: Array | None, fake_logits: Array,
              reduction: str | None = 'mean') -> Array:
  """Minimax G loss: minus D's BCE on fakes labelled fake, i.e. E[log(1 - D(G(z)))]."""
  del real_logits
  return _reduce(-jax.nn.softplus(fake_logits.astype(jnp.float32)), reduction)


# Aliases under the family names used by the registry.
d_nonsaturating = d_bce
d_minimax = d_bce


class LossPair(NamedTuple):
  d_loss: LossFn
  g_loss: LossFn
  g_uses_real: bool = False  # relativistic G losses also need D's logits on real data


_REGISTRY: dict[str, LossPair] = {
    'nonsaturating': LossPair(d_nonsaturating, g_nonsaturating),
    'minimax': LossPair(d_minimax, g_minimax),
}
NAMES = tuple(_REGISTRY)


def get(name: str) -> LossPair:
  """Returns the (d_loss, g_loss) pair registered under `name`; both take (real, fake) logits."""
  if name not in _REGISTRY:
    raise ValueError(f'Unknown loss {name!r}; valid names: {", ".join(NAMES)}.')
  return _REGISTRY[name]
