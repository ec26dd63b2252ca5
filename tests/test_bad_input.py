"""Bad flags and inputs outside the config get one clear error naming the problem and the fix.

(Bad config values are in tests/test_config.py, bad data in tests/test_data_sources.py.)
"""

import json
import os
import subprocess

import pytest

from conftest import ROOT, python_cmd
from gan_jax import distributed, evaluate, sample, train


@pytest.mark.parametrize('kwargs, message', [
    (dict(coordinator_address='127.0.0.1:1234'),
     '--coordinator_address, --num_processes and --process_id go together'),
    (dict(coordinator_address='127.0.0.1:1234', num_processes=2, process_id=2),
     r'--process_id=2 must be in \[0, --num_processes=2\)'),
])
def test_incomplete_or_wrong_process_flags(kwargs, message):
  args = {'coordinator_address': None, 'num_processes': None, 'process_id': None, **kwargs}
  with pytest.raises(ValueError, match=message):
    distributed.initialize(**args)


def test_a_directory_that_is_not_a_workdir(tmp_path):
  with pytest.raises(FileNotFoundError, match='config.json not found: --workdir must be a directory'):
    train.load_run(str(tmp_path))


def test_a_workdir_without_checkpoints(tmp_path):
  from conftest import load_config
  with open(tmp_path / 'config.json', 'w') as f:
    json.dump(load_config('toy_ring').to_dict(), f)
  with pytest.raises(FileNotFoundError, match='No checkpoint in .*; train first'):
    evaluate.evaluate(str(tmp_path))
  with pytest.raises(FileNotFoundError, match='No checkpoint in .*; train first'):
    sample.sample(str(tmp_path), 4)


def test_a_config_value_of_the_wrong_type_on_the_command_line(tmp_path):
  out = subprocess.run(python_cmd('-m', 'gan_jax.main', '--config=experiments/toy_ring.py:runlocal',
                                  f'--workdir={tmp_path}', '--config.train.num_steps=ten'),
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert out.returncode != 0
  assert "num_steps" in out.stderr and "ten" in out.stderr
  assert not os.listdir(tmp_path)  # nothing written before the error
