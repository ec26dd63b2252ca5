"""Experiment configs: every variant loads, has the shared keys, and bad values fail early."""

import os
import subprocess

import pytest

from conftest import ROOT, load_config, python_cmd
from gan_jax import validation

EXPERIMENTS = ['mnist_dcgan', 'mnist_mlp', 'toy_ring', 'toy_grid']
SHARED_KEYS = ['seed', 'data.name', 'data.batch_size', 'train.num_steps', 'train.log_every',
               'train.sample_every', 'train.checkpoint_every', 'loss.name']
TOY_KEYS = ['data.num_modes', 'data.radius', 'data.std']


def _get(config, dotted):
  for part in dotted.split('.'):
    config = config[part]
  return config


@pytest.mark.parametrize('name', EXPERIMENTS)
@pytest.mark.parametrize('arg', [None, 'runlocal'])
def test_experiment_configs_are_valid(name, arg):
  config = load_config(name, arg)
  keys = SHARED_KEYS + (TOY_KEYS if name.startswith('toy') else [])
  for key in keys:
    _get(config, key)  # raises if missing
  validation.validate(config, num_devices=4 if arg else 1)


@pytest.mark.parametrize('name', EXPERIMENTS)
def test_docstring_gives_the_run_command(name):
  with open(os.path.join(ROOT, 'experiments', f'{name}.py')) as f:
    source = f.read()
  assert f'python -m gan_jax.main --config=experiments/{name}.py' in source


def test_unknown_variant_is_rejected():
  with pytest.raises(ValueError, match="valid: 'runlocal'"):
    load_config('toy_ring', 'tiny')


@pytest.mark.parametrize('key,value,message', [
    ('loss.name', 'hinge_typo', "config.loss.name='hinge_typo' is not valid; choose one of: nonsaturating, minimax"),
    ('data.name', 'cifar', "config.data.name='cifar' is not valid"),
    ('model.name', 'stylegan', "config.model.name='stylegan' is not valid; choose one of: dcgan, mlp, pacgan, resnet"),
    ('model.name', 'resnet', r"config.model.name='resnet' supports image sizes \[32, 64\]; config.data.name='mnist_5k' gives 28"),
    ('parallel', 'pjit', "config.parallel='pjit' is not valid"),
    ('model.dtype', 'float16', "config.model.dtype='float16' is not valid; choose one of: float32, bfloat16"),
    ('optim.d_lr', -1e-4, 'config.optim.d_lr=-0.0001 must be > 0'),
    ('optim.b1', 1.0, r'config.optim.b1=1.0 must be in \[0, 1\)'),
    ('train.ema_decay', 1.5, r'config.train.ema_decay=1.5 must be in \[0, 1\)'),
    ('data.batch_size', 30, 'config.data.batch_size=30 does not split over 4 devices'),
    ('eval.metrics', 'fid,modes', "config.eval.metrics entry for mnist_5k='modes' is not valid; choose one of: fid, kid"),
    ('eval.every', -1, r'config.eval.every=-1 must be >= 0 \(0 = off\)'),
    ('eval.num_samples', 0, 'config.eval.num_samples=0 must be > 0'),
    ('train.n_critic', 0, 'config.train.n_critic=0 must be an integer >= 1'),
    ('loss.reg_every', 0, 'config.loss.reg_every=0 must be an integer >= 1'),
    ('train.on_nonfinite', 'ignore', "config.train.on_nonfinite='ignore' is not valid; choose one of: stop, skip"),
    ('train.num_steps', 0, 'config.train.num_steps=0 must be > 0'),
    ('model.z_dim', -3, 'config.model.z_dim=-3 must be > 0'),
])
def test_bad_values_name_the_key_and_the_fix(key, value, message):
  config = _with(load_config('mnist_dcgan'), {key: value})
  with pytest.raises(validation.ConfigError, match=message):
    validation.validate(config, num_devices=4)


def _with(config, overrides):
  for key, value in overrides.items():
    *parents, last = key.split('.')
    node = config
    for part in parents:
      node = node[part]
    node[last] = value
  return config


_EVAL_ON = {'eval.every': 100}
_NOT_DIGITS = (r"config.eval.metrics='{m}' asks for {m}, which use the shipped MNIST digit "
               r"classifier; config.data.name='{d}' is not MNIST digits \(allowed: mnist_5k, "
               r"tfds:mnist\)\. Set config.eval.every=0")


@pytest.mark.parametrize('name,overrides,message', [
    ('fashion_mnist_dcgan', {**_EVAL_ON, 'eval.metrics': 'fid'},
     _NOT_DIGITS.format(m='fid', d='tfds:fashion_mnist')),
    ('cifar10_sngan', {**_EVAL_ON, 'eval.metrics': 'score'}, _NOT_DIGITS.format(m='score', d='tfds:cifar10')),
    ('stacked_mnist_dcgan', {**_EVAL_ON, 'eval.metrics': 'kid'},
     "config.eval.metrics entry for stacked_mnist='kid' is not valid; choose one of: modes, kl"),
    ('fashion_mnist_dcgan', {**_EVAL_ON, 'eval.metrics': 'fid', 'data.name': 'tfds:mnist',
                             'data.image_size': 32, 'data.preprocess': 'resize'},
     r"takes 28x28 digits; config.data.name='tfds:mnist' with config.data.image_size=32 gives "
     r'32x32 \(allowed: config.data.image_size=28\)\. Set config.eval.every=0'),
    ('toy_ring', {'loss.regularizers.consistency': 1.0},
     r"config.loss.regularizers.consistency=1.0 needs images .*config.data.name='toy_ring' "
     'gives 2D points. Set it to 0.'),
])
def test_bad_combinations_name_the_keys_and_the_fix(name, overrides, message):
  config = _with(load_config(name, None), overrides)
  with pytest.raises(validation.ConfigError, match=message):
    validation.validate(config, num_devices=4)


@pytest.mark.parametrize('name,overrides', [
    ('fashion_mnist_dcgan', {'eval.metrics': 'fid'}),  # the fix: config.eval.every=0
    ('fashion_mnist_dcgan', {**_EVAL_ON, 'eval.metrics': 'fid', 'data.name': 'tfds:mnist'}),
    ('toy_ring', {'loss.regularizers.consistency': 0.0}),
])
def test_mnist_scores_on_digits_or_with_evaluation_off_are_valid(name, overrides):
  validation.validate(_with(load_config(name, None), overrides), num_devices=4)


def test_dcgan_on_points_is_rejected():
  config = load_config('toy_ring')
  config.model.name = 'dcgan'
  with pytest.raises(validation.ConfigError, match="needs image data"):
    validation.validate(config, num_devices=1)


def test_command_line_rejects_a_mistyped_key(tmp_path):
  out = subprocess.run(python_cmd('-m', 'gan_jax.main', '--config=experiments/toy_ring.py:runlocal',
                                  f'--workdir={tmp_path}', '--config.train.num_stepz=3'),
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert out.returncode != 0
  assert 'num_stepz' in out.stderr
  assert not os.listdir(tmp_path)  # failed before touching the workdir
