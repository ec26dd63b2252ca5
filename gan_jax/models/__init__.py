"""Model construction from a config."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import ml_collections

from gan_jax.models import dcgan, mlp

NAMES = ('dcgan', 'mlp')
AXIS_NAME = 'batch'  # the named axis the step runs under (pmap or shard_map)


def build(config: ml_collections.ConfigDict, data_shape: Sequence[int]) -> tuple[nn.Module, nn.Module]:
  """Returns (generator, discriminator) for samples of shape `data_shape` (no batch axis)."""
  m = config.model
  if m.name == 'dcgan':
    size, _, channels = data_shape
    g = dcgan.Generator(image_size=size, channels=channels, features=m.g_features,
                        axis_name=AXIS_NAME)
    d = dcgan.Discriminator(image_size=size, features=m.d_features, axis_name=AXIS_NAME,
                            spectral_norm=m.d_spectral_norm)
  elif m.name == 'mlp':
    g = mlp.Generator(out_shape=tuple(data_shape), hidden=tuple(m.g_hidden),
                      batch_norm=m.g_batch_norm, tanh_output=len(data_shape) == 3,
                      axis_name=AXIS_NAME)
    d = mlp.Discriminator(hidden=tuple(m.d_hidden), spectral_norm=m.d_spectral_norm)
  else:
    raise ValueError(f'Unknown config.model.name={m.name!r}; valid: {", ".join(NAMES)}.')
  return g, d
