"""launch/summarize.py on fabricated workdirs: grouping, mean ± std over seeds, both layouts."""

import csv
import importlib.util
import json
import os
import statistics

import pytest
from PIL import Image

from conftest import ROOT

_spec = importlib.util.spec_from_file_location('launch_summarize',
                                               os.path.join(ROOT, 'launch', 'summarize.py'))
summarize = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(summarize)

# modes[seed] at eval steps 50 and 100, and d_loss at log steps 50 and 100, per setting.
MODES = {'hinge': [[10.0, 20.0], [12.0, 21.0], [15.0, 25.0]],
         'nonsaturating': [[8.0, 18.0], [9.0, 24.0], [13.0, 23.0]]}
D_LOSS = {'hinge': [[1.5, 1.25], [1.0, 0.75], [1.25, 0.5]],
          'nonsaturating': [[1.25, 1.0], [1.0, 1.5], [0.5, 0.75]]}
PROTOCOL = {'dataset': 'toy_grid', 'fake_samples': 200}


def _write(workdir, config, evals, logs):
  os.makedirs(workdir)
  with open(os.path.join(workdir, 'config.json'), 'w') as f:
    json.dump(config, f)
  with open(os.path.join(workdir, 'eval.jsonl'), 'w') as f:
    for step, row in evals:
      f.write(json.dumps({'step': step, 'protocol': PROTOCOL, **row}) + '\n')
  with open(os.path.join(workdir, 'metrics.jsonl'), 'w') as f:
    for step, row in logs:
      f.write(json.dumps({'step': step, **row, 'steps_per_sec': 100.0}) + '\n')


def _config(loss, seed, **extra):
  return {'seed': seed, 'loss': {'name': loss, 'regularizers': {'r1': 0.0}},
          'model': {'g_hidden': [16, 16]}, 'train': {'num_steps': 100}, **extra}


@pytest.fixture
def root(tmp_path):
  """hinge: one workdir per seed (floats); nonsaturating: one num_seeds=3 workdir (lists)."""
  for seed in range(3):
    _write(tmp_path / f'loss.name=hinge,seed={seed}', _config('hinge', seed),
           [(s, {'modes': MODES['hinge'][seed][i], 'high_quality': 0.5}) for i, s in enumerate((50, 100))],
           [(s, {'d_loss': D_LOSS['hinge'][seed][i]}) for i, s in enumerate((50, 100))])
  ns = 'nonsaturating'
  _write(tmp_path / 'loss.name=nonsaturating', _config(ns, 0, num_seeds=3),
         [(s, {'modes': [MODES[ns][k][i] for k in range(3)], 'high_quality': [0.5] * 3})
          for i, s in enumerate((50, 100))],
         [(s, {'d_loss': [D_LOSS[ns][k][i] for k in range(3)]}) for i, s in enumerate((50, 100))])
  return tmp_path


def _csv(root):
  with open(os.path.join(root, 'summary.csv')) as f:
    return {row['setting']: row for row in csv.DictReader(f)}


def test_final_values_mean_std_over_seeds_in_both_layouts(root):
  table = summarize.summarize(str(root))
  assert [row['setting'] for row in table] == ['loss.name=hinge', 'loss.name=nonsaturating']
  rows = _csv(root)
  for loss in ('hinge', 'nonsaturating'):
    final = [seed[-1] for seed in MODES[loss]]
    row = rows[f'loss.name={loss}']
    assert row['loss.name'] == loss and row['seeds'] == '3' and row['step'] == '100'
    assert float(row['modes_mean']) == pytest.approx(statistics.mean(final))
    assert float(row['modes_std']) == pytest.approx(statistics.stdev(final))
    assert row['modes_n'] == '3' and float(row['high_quality_std']) == 0.0
  assert 'd_loss_mean' not in rows['loss.name=hinge']  # default: eval metrics only
  md = open(os.path.join(root, 'summary.md')).read()
  hinge = [seed[-1] for seed in MODES['hinge']]
  assert (f'| loss.name=hinge | 3 | 100 | {statistics.mean(hinge):.4g} ± '
          f'{statistics.stdev(hinge):.4g} | 0.5 ± 0 |') in md
  assert '| loss.name=nonsaturating,seed=0 |' not in md and '| loss.name=nonsaturating | loss.name=nonsaturating | 100 |' in md
  assert 'protocols differ' not in md
  with Image.open(os.path.join(root, 'summary.png')) as img:
    assert img.format == 'PNG' and img.width > 400 and img.height > 200


def test_layouts_agree_and_curves_average_every_step(root, tmp_path_factory):
  # The same numbers stored per seed or as a num_seeds list give the same table.
  other = tmp_path_factory.mktemp('as_lists')
  _write(other / 'run', _config('hinge', 0, num_seeds=3),
         [(s, {'modes': [MODES['hinge'][k][i] for k in range(3)], 'high_quality': [0.5] * 3})
          for i, s in enumerate((50, 100))], [])
  summarize.summarize(str(other))
  summarize.summarize(str(root))
  assert _csv(other)['all runs']['modes_mean'] == _csv(root)['loss.name=hinge']['modes_mean']
  assert _csv(other)['all runs']['modes_std'] == _csv(root)['loss.name=hinge']['modes_std']
  runs = [summarize.RunData(os.path.join(root, f'loss.name=hinge,seed={s}')) for s in range(3)]
  steps, mean, std, n = summarize.curve(runs, 'eval', 'modes')
  first = [seed[0] for seed in MODES['hinge']]
  assert list(steps) == [50, 100] and list(n) == [3, 3]
  assert mean[0] == pytest.approx(statistics.mean(first)) and std[0] == pytest.approx(statistics.stdev(first))


def test_metric_flag_selects_training_metrics_and_rejects_unknown(root, capsys):
  assert summarize.main([f'--root={root}', '--metric=d_loss,modes']) == 0
  row = _csv(root)['loss.name=nonsaturating']
  final = [seed[-1] for seed in D_LOSS['nonsaturating']]
  assert float(row['d_loss_mean']) == pytest.approx(statistics.mean(final))
  assert float(row['d_loss_std']) == pytest.approx(statistics.stdev(final))
  assert 'high_quality_mean' not in row
  assert summarize.main([f'--root={root}', '--metric=fid']) == 2
  err = capsys.readouterr().err
  assert 'Unknown metric(s) fid; eval metrics: modes, high_quality; training metrics: d_loss, steps_per_sec' in err


def test_single_seed_unfinished_runs_and_differing_protocols_are_reported(tmp_path):
  _write(tmp_path / 'a', _config('hinge', 0), [(50, {'modes': 7.0})], [(50, {'d_loss': 1.0})])
  _write(tmp_path / 'b', _config('hinge', 0, model={'g_hidden': [8]}),
         [(100, {'modes': 9.0, 'protocol': {'dataset': 'other'}})], [(100, {'d_loss': 1.0})])
  table = summarize.summarize(str(tmp_path))
  assert [row['setting'] for row in table] == ['model.g_hidden=(8,)', 'model.g_hidden=(16, 16)']
  rows = _csv(tmp_path)
  assert rows['model.g_hidden=(16, 16)']['modes_std'] == ''  # std needs two seeds
  md = open(os.path.join(tmp_path, 'summary.md')).read()
  assert '| model.g_hidden=(16, 16) | 1 | 50 | 7 |' in md
  assert '| a | model.g_hidden=(16, 16) | 50 (unfinished, of 100) |' in md
  assert 'protocols differ' in md
  with pytest.raises(FileNotFoundError, match='No run'):
    summarize.summarize(str(tmp_path / 'a' / 'missing'))
