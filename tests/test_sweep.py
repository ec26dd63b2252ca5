"""Sweeps: get_hyper expansion and its errors, workdir names, flags, skipping, commands, runner."""

import importlib.util
import json
import os
import re
import shlex
import sys
import textwrap

import numpy as np
import pytest
from absl import flags
from ml_collections import config_flags

from conftest import ROOT, load_config
from gan_jax import hyper as h

_spec = importlib.util.spec_from_file_location('launch_sweep', os.path.join(ROOT, 'launch', 'sweep.py'))
sweep = importlib.util.module_from_spec(_spec)
sys.modules['launch_sweep'] = sweep  # dataclasses look their module up there
_spec.loader.exec_module(sweep)

TOY_GRID = os.path.join(ROOT, 'experiments', 'toy_grid.py')


def test_product_zip_fixed_chain_expand_in_order():
  runs = h.product([
      h.sweep('config.loss.name', ['hinge', 'nonsaturating']),
      h.zip([h.sweep('optim.g_lr', [1e-3, 2e-4]), h.sweep('config.optim.d_lr', [1e-3, 4e-4])]),
      h.fixed('config.train.num_steps', 10),
  ])
  assert runs == [
      {'loss.name': 'hinge', 'optim.g_lr': 1e-3, 'optim.d_lr': 1e-3, 'train.num_steps': 10},
      {'loss.name': 'hinge', 'optim.g_lr': 2e-4, 'optim.d_lr': 4e-4, 'train.num_steps': 10},
      {'loss.name': 'nonsaturating', 'optim.g_lr': 1e-3, 'optim.d_lr': 1e-3, 'train.num_steps': 10},
      {'loss.name': 'nonsaturating', 'optim.g_lr': 2e-4, 'optim.d_lr': 4e-4, 'train.num_steps': 10},
  ]
  assert h.expand(runs, load_config('toy_grid')) == runs
  assert h.chain([h.sweep('seed', [0]), h.fixed('loss.name', 'hinge')]) == [{'seed': 0}, {'loss.name': 'hinge'}]
  # Lists become tuples, as the config stores them.
  assert h.expand(h.sweep('model.g_hidden', [[8, 8]]), load_config('toy_grid')) == [{'model.g_hidden': (8, 8)}]


def test_expansion_errors_name_the_problem():
  config = load_config('toy_grid')
  with pytest.raises(ValueError, match=r'equal length.*loss.name: 2.*seed: 3'):
    h.zip([h.sweep('loss.name', ['hinge', 'wasserstein']), h.sweep('seed', range(3))])
  with pytest.raises(KeyError) as e:
    h.expand(h.sweep('config.loss.nam', ['hinge']), config)
  message = str(e.value)
  assert "Unknown config key 'loss.nam'" in message and "Did you mean 'loss.name'" in message
  assert 'Valid keys: data.batch_size, data.name,' in message and 'loss.regularizers.r1' in message
  with pytest.raises(KeyError, match="'loss.regularizers' is a section"):
    h.expand(h.fixed('loss.regularizers', {'r1': 1.0}), config)
  with pytest.raises(TypeError, match=r'config.train.num_steps=1.5 does not fit .*int'):
    h.expand(h.sweep('train.num_steps', [1.5]), config)
  with pytest.raises(ValueError, match="key 'seed' is set by more than one"):
    h.product([h.sweep('seed', [0, 1]), h.fixed('seed', 2)])
  with pytest.raises(ValueError, match='twice'):
    h.expand(h.sweep('seed', [0, 0]), config)


def test_experiment_sweeps_expand_and_validate():
  runs = sweep.plan(TOY_GRID, 'runs/x')
  assert len(runs) == 9 and runs[0].overrides == {'loss.name': 'nonsaturating', 'seed': 0}
  assert runs[0].workdir == 'runs/x/loss.name=nonsaturating,seed=0' and runs[0].num_steps == 8000
  ring = sweep.plan(os.path.join(ROOT, 'experiments', 'toy_ring.py:runlocal'), 'r')
  assert {r.overrides['train.n_critic'] for r in ring} == {1, 5} and ring[0].num_steps == 6


def test_workdir_names_are_readable_safe_deterministic_and_distinct():
  assert sweep.run_name({'seed': 1, 'loss.name': 'hinge'}) == 'loss.name=hinge,seed=1'
  assert sweep.run_name({'loss.name': 'hinge', 'seed': 1}) == 'loss.name=hinge,seed=1'
  assert sweep.run_name({'model.g_hidden': (64, 64), 'model.g_batch_norm': True,
                         'optim.g_lr': 1e-4}) == 'model.g_batch_norm=true,model.g_hidden=64-64,optim.g_lr=0.0001'
  long = {f'loss.regularizers.{k}': 0.123456789 * i for i, k in
          enumerate(['gp', 'r1', 'r2', 'dragan', 'consistency', 'lecam'])}
  variants = [dict(long, seed=s) for s in range(3)] + [
      {'data.name': 'a/b'}, {'data.name': 'a_b'}, {'data.name': 'a b'}, {'data.name': '../x'},
      {'data.name': 'toy', 'loss.name': 'hinge'}, {}]
  names = [sweep.run_name(v) for v in variants]
  assert names == [sweep.run_name(v) for v in variants]  # deterministic
  assert len(set(names)) == len(names)  # distinct
  for name in names:
    assert re.fullmatch(r'[A-Za-z0-9._,=+-]+', name) and len(name) <= sweep.MAX_NAME
    assert name not in ('.', '..') and shlex.quote(name) == name
  # Long names keep short unique keys, then a hash of the exact overrides.
  assert names[0].startswith('consistency=0.') and re.search(r'\+[0-9a-f]{8}$', names[0])
  assert names[3] == 'data.name=a_b+' + names[3][-8:] and names[4] == 'data.name=a_b'
  assert names[-1] == 'default'


@pytest.mark.filterwarnings('ignore:the load_module:DeprecationWarning')  # inside ml_collections
def test_override_flags_parse_back_to_the_same_config():
  overrides = {'model.g_hidden': (16,), 'model.d_hidden': (8, 8), 'model.g_batch_norm': True,
               'model.d_spectral_norm': False, 'optim.g_lr': 1e-4, 'loss.name': 'hinge',
               'train.num_steps': 7, 'loss.regularizers.r1': 1, 'data.std': 0.1}
  config_arg = TOY_GRID + ':runlocal'
  args = sweep.main_args(config_arg, '/tmp/w', overrides)
  assert args[:4] == ['-m', 'gan_jax.main', f'--config={config_arg}', '--workdir=/tmp/w']
  assert '--config.model.g_hidden=(16,)' in args and '--config.model.g_batch_norm=true' in args
  argv = ['main', *args[2:]]
  fv = flags.FlagValues()  # parse exactly as gan_jax.main does, without touching global flags
  config_flags.DEFINE_config_file('config', None, 'c', flag_values=fv, lock_config=True, sys_argv=argv)
  flags.DEFINE_string('workdir', None, 'w', flag_values=fv)
  fv(argv)
  expected = h.apply(load_config('toy_grid'), overrides)
  assert fv.config.to_dict() == expected.to_dict()
  assert fv.config.model.g_hidden == (16,) and fv.config.loss.regularizers.r1 == 1.0


@pytest.fixture
def tiny_experiment(tmp_path, monkeypatch):
  """exp.py in the cwd: toy_grid's config, a 3-run sweep with tuple and bool values."""
  monkeypatch.chdir(tmp_path)
  (tmp_path / 'exp.py').write_text(textwrap.dedent(f'''
      import importlib.util
      _spec = importlib.util.spec_from_file_location('toy_grid_base', {TOY_GRID!r})
      _base = importlib.util.module_from_spec(_spec)
      _spec.loader.exec_module(_base)

      def get_config(arg=None):
        return _base.get_config(arg)

      def get_hyper(h):
        return h.product([h.sweep('config.loss.name', ['hinge', 'least_squares', 'nonsaturating']),
                          h.fixed('config.model.g_hidden', (16, 16)),
                          h.fixed('config.model.g_batch_norm', True)])
  '''))
  return tmp_path


def _commands(out: str) -> list[str]:
  return [line for line in out.splitlines() if line.startswith('gcloud')]


def _tpu_line(tpu: str, loss: str, project: str = '') -> str:
  name = f'loss.name={loss},model.g_batch_norm=true,model.g_hidden=16-16'
  return (f'gcloud compute tpus tpu-vm ssh {tpu} --zone=us-central2-b{project} --worker=all '
          f'--command="cd ~/gan_jax && .venv/bin/python -m gan_jax.main --config=exp.py '
          f'--workdir=/mnt/shared/runs/s/{name} --config.loss.name={loss} --config.model.g_batch_norm=true '
          f"'--config.model.g_hidden=(16,16)'\"")


def test_tpu_dry_run_one_slice_queues_every_run(tiny_experiment, capsys):
  code = sweep.main(['--config=exp.py', '--root=/mnt/shared/runs/s', '--backend=tpu', '--tpu=v4-a',
                     '--zone=us-central2-b', '--dry_run'])
  out = capsys.readouterr().out
  assert code == 0 and not os.path.exists('/mnt/shared/runs')
  assert '# v4-a: 3 run(s), one after another' in out
  assert _commands(out) == [_tpu_line('v4-a', 'hinge'), _tpu_line('v4-a', 'least_squares'),
                            _tpu_line('v4-a', 'nonsaturating')]


def test_tpu_dry_run_two_slices_round_robin(tiny_experiment, capsys):
  code = sweep.main(['--config=exp.py', '--root=/mnt/shared/runs/s', '--backend=tpu', '--tpu=v4-a,v4-b',
                     '--zone=us-central2-b', '--project=my-proj', '--dry_run'])
  out = capsys.readouterr().out
  p = ' --project=my-proj'
  assert code == 0
  assert _commands(out) == [_tpu_line('v4-a', 'hinge', p), _tpu_line('v4-a', 'nonsaturating', p),
                            _tpu_line('v4-b', 'least_squares', p)]
  # The printed line is a valid shell line for the exact argv that would run.
  argv = shlex.split(_commands(out)[0])
  assert argv[-1].startswith('--command=cd ~/gan_jax && ') and shlex.split(argv[-1])[-1] == \
      '--config.model.g_hidden=(16,16)'


def test_tpu_backend_needs_a_shared_absolute_root(tiny_experiment, capsys):
  with pytest.raises(SystemExit):
    sweep.main(['--config=exp.py', '--root=runs/s', '--backend=tpu', '--tpu=v4-a',
                '--zone=us-central2-b', '--dry_run'])
  assert 'every worker of the slice mounts' in capsys.readouterr().err


def test_finished_runs_are_skipped_and_in_progress_ones_are_not(tiny_experiment, capsys):
  from gan_jax import checkpoint
  root = 'runs/s'
  done, partial, saving = [os.path.join(root, sweep.run_name(
      {'loss.name': n, 'model.g_hidden': (16, 16), 'model.g_batch_norm': True}))
      for n in ('hinge', 'least_squares', 'nonsaturating')]
  ckpt = checkpoint.Checkpointer(os.path.join(done, 'checkpoints'))
  for step in (3, 8000):  # a real orbax checkpoint at the final step (toy_grid's num_steps)
    ckpt.save(step, {'w': np.zeros(2, np.float32)})
  ckpt.close()
  os.makedirs(os.path.join(partial, 'checkpoints', '3'))
  os.makedirs(os.path.join(saving, 'checkpoints', '8000.orbax-checkpoint-tmp-1700000000'))
  assert sweep.checkpoint_steps(done) == [3, 8000] and sweep.checkpoint_steps(saving) == []
  code = sweep.main(['--config=exp.py', f'--root={root}', '--dry_run'])
  out = capsys.readouterr().out
  assert code == 0
  assert '3 runs in runs/s: 2 to run, 1 finished (skipped).' in out
  assert f'# skip {os.path.basename(done)} (checkpoint at step >= 8000)' in out
  commands = [line for line in out.splitlines() if line.startswith(sys.executable)]
  assert [shlex.split(c)[4] for c in commands] == [f'--workdir={partial}', f'--workdir={saving}']


def test_local_runner_limits_concurrency_logs_and_reports(tmp_path):
  script = ('import sys, time; t = time.time(); print("run", sys.argv[1], flush=True); '
            'time.sleep(0.4); print("span", t, time.time()); sys.exit(int(sys.argv[2]))')
  runs = [sweep.Run(f'r{i}', str(tmp_path / f'r{i}'), {}, 1,
                    [sys.executable, '-c', script, str(i), str(int(i == 1) * 3)], lane)
          for i, lane in enumerate([None, None, None, 'tpu-a', 'tpu-a'])]
  codes, stopped = sweep.execute(runs, parallel=2)
  assert codes == {'r0': 0, 'r1': 3, 'r2': 0, 'r3': 0, 'r4': 0} and stopped == set()
  spans = {}
  for i in range(5):
    log = (tmp_path / f'r{i}' / 'stdout.log').read_text()
    assert log.startswith('\n=== ') and f'run {i}\n' in log
    spans[i] = [float(x) for x in log.split('span ')[1].split()]
  # Never more than 2 at once, and the two runs of lane tpu-a one after the other.
  for i in range(5):
    t = spans[i][0] + 0.2
    assert sum(a <= t <= b for a, b in spans.values()) <= 2
  assert spans[4][0] >= spans[3][1] - 0.05 or spans[3][0] >= spans[4][1] - 0.05


def test_local_sweep_runs_logs_then_skips_on_relaunch(tiny_experiment, monkeypatch, capsys):
  # A stand-in for `python -m gan_jax.main`: prints its argv, fails for least_squares, and
  # leaves a checkpoint directory at toy_grid's final step otherwise.
  fake = tiny_experiment / 'fake_python'
  fake.write_text(textwrap.dedent(f"""\
      #!{sys.executable}
      import os, sys
      print('argv', sys.argv[1:])
      workdir = next(a.split('=', 1)[1] for a in sys.argv if a.startswith('--workdir='))
      if 'least_squares' in workdir:
        sys.exit(4)
      os.makedirs(os.path.join(workdir, 'checkpoints', '8000'))
  """))
  fake.chmod(0o755)
  monkeypatch.setattr(sweep.sys, 'executable', str(fake))
  assert sweep.main(['--config=exp.py', '--root=sw', '--parallel=2']) == 1
  out = capsys.readouterr().out
  assert 'Summary: ran 3, skipped 0, failed 1 (of 3 runs).' in out
  failed = 'loss.name=least_squares,model.g_batch_norm=true,model.g_hidden=16-16'
  assert f'  failed: {failed} (exit 4): sw/{failed}/stdout.log' in out
  log = open(f'sw/{failed}/stdout.log').read()
  assert "'--config.model.g_hidden=(16,16)'" in log.splitlines()[1]  # the command, as run
  assert "argv ['-m', 'gan_jax.main', '--config=exp.py'," in log
  assert {r['name']: r['finished'] for r in json.load(open('sw/sweep.json'))['runs']}[failed] is False
  # Relaunch: the two finished runs are skipped, the failed one runs again.
  assert sweep.main(['--config=exp.py', '--root=sw', '--parallel=2']) == 1
  assert 'Summary: ran 1, skipped 2, failed 1 (of 3 runs).' in capsys.readouterr().out
  assert open(f'sw/{failed}/stdout.log').read().count('\n=== ') == 2  # appended, not replaced
