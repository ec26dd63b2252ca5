"""Config checks that run before anything is compiled, each naming the key and what is allowed."""

from __future__ import annotations

import ml_collections

from gan_jax import data, losses, models, parallel, penalties
from gan_jax.evaluation import protocol


class ConfigError(ValueError):
  """A config value that cannot work; the message names the key and the allowed values."""


def _check(ok: bool, message: str) -> None:
  if not ok:
    raise ConfigError(message)


def _choice(key: str, value, allowed) -> None:
  _check(value in allowed, f'config.{key}={value!r} is not valid; choose one of: '
         f'{", ".join(map(str, allowed))}.')


def _positive(config: ml_collections.ConfigDict, *keys: str) -> None:
  for key in keys:
    value = config
    for part in key.split('.'):
      value = value[part]
    _check(value > 0, f'config.{key}={value!r} must be > 0.')


def validate(config: ml_collections.ConfigDict, num_devices: int, process_count: int = 1) -> None:
  """Raises ConfigError for the first problem found."""
  _check(data.valid_name(config.data.name), f'config.data.name={config.data.name!r} is not valid; '
         f'choose one of: {", ".join(data.NAMES)}.')
  _choice('model.name', config.model.name, models.NAMES)
  _choice('loss.name', config.loss.name, losses.NAMES)
  _choice('parallel', config.parallel, parallel.MODES)
  _choice('model.dtype', config.model.dtype, ('float32', 'bfloat16'))
  _choice('train.on_nonfinite', config.train.on_nonfinite, ('stop', 'skip'))
  _positive(config, 'data.batch_size', 'model.z_dim', 'optim.g_lr', 'optim.d_lr',
            'train.num_steps', 'train.log_every', 'train.sample_every',
            'train.checkpoint_every', 'train.keep_checkpoints', 'train.num_samples')
  for key in ('b1', 'b2'):
    value = config.optim[key]
    _check(0 <= value < 1, f'config.optim.{key}={value!r} must be in [0, 1).')
  _check(0 <= config.train.ema_decay < 1,
         f'config.train.ema_decay={config.train.ema_decay!r} must be in [0, 1).')
  for key in ('train.n_critic', 'loss.reg_every', 'train.steps_per_call'):
    section, name = key.split('.')
    value = config[section][name]
    _check(isinstance(value, int) and value >= 1, f'config.{key}={value!r} must be an integer >= 1.')
  _check(isinstance(config.num_seeds, int) and config.num_seeds >= 1,
         f'config.num_seeds={config.num_seeds!r} must be an integer >= 1.')
  per_call = config.train.steps_per_call
  for key in ('train.num_steps', 'train.log_every', 'train.sample_every', 'train.checkpoint_every',
              'eval.every'):
    section, name = key.split('.')
    value = config[section][name]
    # The loop acts only between compiled calls, so every interval must land on one.
    _check(value % per_call == 0, f'config.{key}={value} must be a multiple of '
           f'config.train.steps_per_call={per_call}; change one of them.')
  for name, weight in config.loss.regularizers.items():
    _choice('loss.regularizers key', name, penalties.NAMES)
    _check(weight >= 0, f'config.loss.regularizers.{name}={weight!r} must be >= 0 (0 turns it off).')
    _check(not (name == 'consistency' and weight > 0 and data.is_points(config)),
           f'config.loss.regularizers.consistency={weight!r} needs images (DiffAugment colour, '
           f'translation and cutout, NHWC); config.data.name={config.data.name!r} gives 2D '
           'points. Set it to 0.')
  _check(config.eval.every >= 0, f'config.eval.every={config.eval.every!r} must be >= 0 (0 = off).')
  _positive(config, 'eval.num_samples')
  allowed = protocol.valid_metrics(config)
  for metric in protocol.requested(config):
    _choice(f'eval.metrics entry for {config.data.name}', metric, allowed)
  total = num_devices * process_count
  _check(config.data.batch_size % total == 0,
         f'config.data.batch_size={config.data.batch_size} does not split over {total} devices '
         f'({process_count} process(es) x {num_devices} local); use a multiple of {total}.')
  problem = data.config_problem(config)  # before image_size, which reads the keys it checks
  _check(problem is None, problem)
  problem = protocol.metrics_problem(config)  # reads image_size
  _check(config.eval.every == 0 or problem is None,
         f'{problem}. Set config.eval.every=0 to train without periodic evaluation.')
  problem = models.config_problem(config, data.image_size(config))
  _check(problem is None, problem)
  if config.data.name == 'toy_grid':
    k = int(round(config.data.num_modes ** 0.5))
    _check(k * k == config.data.num_modes,
           f'config.data.num_modes={config.data.num_modes} must be a square number for toy_grid.')
  if data.is_points(config):
    _positive(config, 'data.num_modes', 'data.std')

