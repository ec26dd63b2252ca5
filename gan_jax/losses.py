"""GAN losses: pure functions on discriminator logits, no framework state.

Every family is a pair (d_loss, g_loss) with the signature `(real_logits, fake_logits)`,
so `get(name)` hands back interchangeable pairs. G losses take `real_logits` first even when
they ignore it; only the relativistic ones (`RELATIVISTIC`) use it. "Logits" are D's
raw outputs: pre-sigmoid for the BCE family, critic values for hinge/Wasserstein, the linear
output for least squares. All BCE terms use -log sigmoid(t) = softplus(-t), exact and finite
for any finite logit (no log(0) at |t| = 100). Inputs are cast to float32 first, so values
and reductions are float32 whatever the input dtype. `reduction='mean'` (default) gives a
scalar; `reduction=None` gives per-example values [N] (a D loss sums its real and fake terms
pairwise, so real and fake must then have the same shape).

Notation: r = real logits, f = fake logits, E = batch mean.

Goodfellow et al. 2014, "Generative Adversarial Nets" ('minimax', 'nonsaturating'):
  d_bce:            L_D = E[softplus(-r)] + E[softplus(f)] = BCE(r, 1) + BCE(f, 0)
  g_minimax:        L_G = -E[softplus(f)] = E[log(1 - sigmoid(f))]   (saturates early)
  g_nonsaturating:  L_G = E[softplus(-f)] = BCE(f, 1)
Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018 ('hinge'):
  L_D = E[relu(1 - r)] + E[relu(1 + f)];  L_G = -E[f]
Arjovsky et al. 2017, "Wasserstein GAN" ('wasserstein'; needs a Lipschitz D, e.g.
regularizers.gradient_penalty or spectral normalization):
  L_D = E[f] - E[r];  L_G = -E[f]
Mao et al. 2017, "Least Squares GANs" ('least_squares', labels a=0 fake, b=1 real, c=1):
  L_D = 0.5 E[(r - b)^2] + 0.5 E[(f - a)^2];  L_G = 0.5 E[(f - c)^2]
Jolicoeur-Martineau 2019, "The relativistic discriminator"; Huang et al. 2024, "The GAN is
dead; long live the GAN!" ('rpgan', relativistic paired; r_i and f_i paired elementwise):
  L_D = E[softplus(-(r - f))];  L_G = E[softplus(-(f - r))]
Jolicoeur-Martineau 2019 ('ragan', relativistic average, BCE form):
  L_D = E[softplus(-(r - E[f]))] + E[softplus(f - E[r])]
  L_G = E[softplus(-(f - E[r]))] + E[softplus(r - E[f])]
The batch means in 'ragan' are over this call's arrays: under pmap they are per device.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array
LossFn = Callable[[Array | None, Array], Array]

# Least-squares label constants (Mao et al. 2017, the a-b-c = 0-1-1 scheme).
LSGAN_FAKE = 0.0  # a
LSGAN_REAL = 1.0  # b
LSGAN_G_TARGET = 1.0  # c


def _f32(x: Array) -> Array:
  return jnp.asarray(x).astype(jnp.float32)


def _reduce(values: Array, reduction: str | None) -> Array:
  if reduction is None:
    return values
  if reduction == 'mean':
    return jnp.mean(values)
  raise ValueError(f"reduction must be 'mean' or None, got {reduction!r}.")


def _d_terms(real: Array, fake: Array, reduction: str | None) -> Array:
  """E[real terms] + E[fake terms], or their pairwise sum per example."""
  if reduction is None:
    return real + fake
  return _reduce(real, reduction) + _reduce(fake, reduction)


def _needs_real(real_logits: Array | None, name: str) -> Array:
  if real_logits is None:
    raise ValueError(f'{name} is relativistic and needs real_logits (see losses.RELATIVISTIC).')
  return _f32(real_logits)


# --- Goodfellow et al. 2014: minimax and non-saturating -------------------------------------

def d_bce(real_logits: Array, fake_logits: Array, reduction: str | None = 'mean') -> Array:
  """The seed's D loss: BCE with real labelled 1 and fake labelled 0.

  L_D = E[softplus(-r)] + E[softplus(f)]. With `reduction=None` returns per-example values
  [N] (real and fake terms summed pairwise).
  """
  return _d_terms(jax.nn.softplus(-_f32(real_logits)), jax.nn.softplus(_f32(fake_logits)),
                  reduction)


def g_nonsaturating(real_logits: Array | None, fake_logits: Array,
                    reduction: str | None = 'mean') -> Array:
  """Non-saturating G loss: BCE of D on fakes labelled real. `real_logits` is unused."""
  del real_logits
  return _reduce(jax.nn.softplus(-_f32(fake_logits)), reduction)


def g_minimax(real_logits: Array | None, fake_logits: Array,
              reduction: str | None = 'mean') -> Array:
  """Minimax G loss: minus D's BCE on fakes labelled fake, i.e. E[log(1 - D(G(z)))]."""
  del real_logits
  return _reduce(-jax.nn.softplus(_f32(fake_logits)), reduction)


# Aliases under the family names used by the registry.
d_nonsaturating = d_bce
d_minimax = d_bce


# --- Hinge (Lim & Ye 2017) ------------------------------------------------------------------

def d_hinge(real_logits: Array, fake_logits: Array, reduction: str | None = 'mean') -> Array:
  """Hinge D loss: L_D = E[relu(1 - r)] + E[relu(1 + f)]."""
  return _d_terms(jax.nn.relu(1.0 - _f32(real_logits)), jax.nn.relu(1.0 + _f32(fake_logits)),
                  reduction)


def g_hinge(real_logits: Array | None, fake_logits: Array,
            reduction: str | None = 'mean') -> Array:
  """Hinge G loss: L_G = -E[f] (no margin on G's side). `real_logits` is unused."""
  del real_logits
  return _reduce(-_f32(fake_logits), reduction)


# --- Wasserstein (Arjovsky et al. 2017) -----------------------------------------------------

def d_wasserstein(real_logits: Array, fake_logits: Array,
                  reduction: str | None = 'mean') -> Array:
  """Wasserstein critic loss: L_D = E[f] - E[r]. Bound D's Lipschitz constant separately."""
  return _d_terms(-_f32(real_logits), _f32(fake_logits), reduction)


def g_wasserstein(real_logits: Array | None, fake_logits: Array,
                  reduction: str | None = 'mean') -> Array:
  """Wasserstein G loss: L_G = -E[f]. `real_logits` is unused."""
  del real_logits
  return _reduce(-_f32(fake_logits), reduction)


# --- Least squares (Mao et al. 2017) --------------------------------------------------------

def d_least_squares(real_logits: Array, fake_logits: Array,
                    reduction: str | None = 'mean') -> Array:
  """LSGAN D loss: L_D = 0.5 E[(r - b)^2] + 0.5 E[(f - a)^2], a = 0, b = 1, on raw outputs."""
  real = 0.5 * jnp.square(_f32(real_logits) - LSGAN_REAL)
  fake = 0.5 * jnp.square(_f32(fake_logits) - LSGAN_FAKE)
  return _d_terms(real, fake, reduction)


def g_least_squares(real_logits: Array | None, fake_logits: Array,
                    reduction: str | None = 'mean') -> Array:
  """LSGAN G loss: L_G = 0.5 E[(f - c)^2], c = 1. `real_logits` is unused."""
  del real_logits
  return _reduce(0.5 * jnp.square(_f32(fake_logits) - LSGAN_G_TARGET), reduction)


# --- Relativistic paired (Jolicoeur-Martineau 2019; Huang et al. 2024) ----------------------

def d_rpgan(real_logits: Array, fake_logits: Array, reduction: str | None = 'mean') -> Array:
  """RpGAN D loss: L_D = E[softplus(-(r_i - f_i))], real and fake paired elementwise.

  `real_logits` and `fake_logits` must have the same shape (one fake per real example).
  """
  return _reduce(jax.nn.softplus(_f32(fake_logits) - _f32(real_logits)), reduction)


def g_rpgan(real_logits: Array | None, fake_logits: Array,
            reduction: str | None = 'mean') -> Array:
  """RpGAN G loss: L_G = E[softplus(-(f_i - r_i))]; needs `real_logits`."""
  real = _needs_real(real_logits, 'g_rpgan')
  return _reduce(jax.nn.softplus(real - _f32(fake_logits)), reduction)


# --- Relativistic average (Jolicoeur-Martineau 2019) ----------------------------------------

def d_ragan(real_logits: Array, fake_logits: Array, reduction: str | None = 'mean') -> Array:
  """RaGAN D loss: L_D = E[softplus(-(r - E[f]))] + E[softplus(f - E[r])].

  Real logits are judged against the mean fake logit and vice versa (BCE form, RaSGAN).
  """
  real, fake = _f32(real_logits), _f32(fake_logits)
  return _d_terms(jax.nn.softplus(jnp.mean(fake) - real), jax.nn.softplus(fake - jnp.mean(real)),
                  reduction)


def g_ragan(real_logits: Array | None, fake_logits: Array,
            reduction: str | None = 'mean') -> Array:
  """RaGAN G loss: L_G = E[softplus(-(f - E[r]))] + E[softplus(r - E[f])]; needs `real_logits`.

  The labels of d_ragan swapped; G's gradient reaches it through both terms via f.
  """
  real = _needs_real(real_logits, 'g_ragan')
  fake = _f32(fake_logits)
  return _d_terms(jax.nn.softplus(jnp.mean(real) - fake), jax.nn.softplus(real - jnp.mean(fake)),
                  reduction)


class LossPair(NamedTuple):
  """Unpacks as `d_loss, g_loss = losses.get(name)`."""
  d_loss: LossFn
  g_loss: LossFn


_REGISTRY: dict[str, LossPair] = {
    'nonsaturating': LossPair(d_nonsaturating, g_nonsaturating),
    'minimax': LossPair(d_minimax, g_minimax),
    'hinge': LossPair(d_hinge, g_hinge),
    'wasserstein': LossPair(d_wasserstein, g_wasserstein),
    'least_squares': LossPair(d_least_squares, g_least_squares),
    'rpgan': LossPair(d_rpgan, g_rpgan),
    'ragan': LossPair(d_ragan, g_ragan),
}
NAMES = tuple(_REGISTRY)
# Families whose G loss also needs D's logits on real data.
RELATIVISTIC = frozenset({'rpgan', 'ragan'})


def get(name: str) -> LossPair:
  """Returns the (d_loss, g_loss) pair registered under `name`.

  Both losses take (real_logits, fake_logits); see the module docstring for the formulas.
  """
  if name not in _REGISTRY:
    raise ValueError(f'Unknown loss {name!r}; valid names: {", ".join(NAMES)}.')
  return _REGISTRY[name]
