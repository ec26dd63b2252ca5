"""Test setup: 4 fake CPU devices (set before JAX starts) and shared tiny runs."""

import os
import sys

os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') +
                           ' --xla_force_host_platform_device_count=4').strip()
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
os.environ.setdefault('TQDM_DISABLE', '1')

import importlib.util  # noqa: E402

import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_config(name: str, arg: str | None = 'runlocal'):
  """experiments/<name>.py's get_config(arg), as `--config=experiments/<name>.py:arg` would."""
  path = os.path.join(ROOT, 'experiments', f'{name}.py')
  spec = importlib.util.spec_from_file_location(f'experiments_{name}', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


@pytest.fixture(scope='session')
def dcgan_run(tmp_path_factory):
  """A finished 6-step mnist_dcgan:runlocal run: (config, workdir, final host state)."""
  from gan_jax import train
  config = load_config('mnist_dcgan')
  workdir = str(tmp_path_factory.mktemp('mnist_dcgan'))
  state = train.train_and_evaluate(config, workdir)
  return config, workdir, state


def python_cmd(*args: str) -> list[str]:
  return [sys.executable, *args]
