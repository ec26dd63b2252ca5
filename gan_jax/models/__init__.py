"""Model construction from a config."""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import ml_collections

from gan_jax.models import dcgan, mlp, pacgan, resnet

NAMES = ('dcgan', 'mlp', 'pacgan', 'resnet')
AXIS_NAME = 'batch'  # the named axis the step runs under (pmap or shard_map)


def build(config: ml_collections.ConfigDict, data_shape: Sequence[int]) -> tuple[nn.Module, nn.Module]:
  """Returns (generator, discriminator) for samples of shape `data_shape` (no batch axis)."""
  m = config.model
  if m.name == 'dcgan':
    size, _, channels = data_shape
    g = dcgan.Generator(image_size=size, channels=channels, features=m.g_features,
                        axis_name=AXIS_NAME)
    # config.json of runs made before model.pack existed lacks it (sample/evaluate read those).
    d = dcgan.Discriminator(image_size=size, features=m.d_features, axis_name=AXIS_NAME,
                            spectral_norm=m.d_spectral_norm, pack=m.get('pack', 1))
  elif m.name == 'resnet':
    size, _, channels = data_shape
    g = resnet.Generator(image_size=size, channels=channels, features=m.g_features,
                         axis_name=AXIS_NAME)
    d = resnet.Discriminator(image_size=size, features=m.d_features,
                             spectral_norm=m.d_spectral_norm)
  elif m.name == 'mlp':
    g = mlp.Generator(out_shape=tuple(data_shape), hidden=tuple(m.g_hidden),
                      batch_norm=m.g_batch_norm, tanh_output=len(data_shape) == 3,
                      axis_name=AXIS_NAME)
    d = mlp.Discriminator(hidden=tuple(m.d_hidden), spectral_norm=m.d_spectral_norm)
  elif m.name == 'pacgan':
    g = pacgan.Generator(out_shape=tuple(data_shape), hidden=tuple(m.g_hidden),
                         batch_norm=m.g_batch_norm, tanh_output=len(data_shape) == 3,
                         axis_name=AXIS_NAME)
    d = pacgan.Discriminator(hidden=tuple(m.d_hidden), pieces=m.d_pieces, pack=m.pack,
                             maxout=m.get('d_maxout', True),  # older runs' config.json lack it
                             spectral_norm=m.d_spectral_norm)
  else:
    raise ValueError(f'Unknown config.model.name={m.name!r}; valid: {", ".join(NAMES)}.')
  return g, d


# Image sizes each convolutional model supports.
IMAGE_SIZES = {'dcgan': tuple(sorted(dcgan.GEOMETRY)), 'resnet': resnet.SIZES}


def config_problem(config: ml_collections.ConfigDict, image_size: int | None) -> str | None:
  """Why config.model cannot take the data (`image_size` None for 2D points), or None."""
  name = config.model.name
  if name not in IMAGE_SIZES:
    return None
  if image_size is None:
    return (f'config.model.name={name!r} needs image data; config.data.name={config.data.name!r} '
            "is 2D points: use config.model.name='mlp'.")
  if image_size not in IMAGE_SIZES[name]:
    return (f'config.model.name={name!r} supports image sizes {list(IMAGE_SIZES[name])}; '
            f'config.data.name={config.data.name!r} gives {image_size} (set config.data.image_size).')
  return None
