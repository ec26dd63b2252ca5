"""launch/results.py's page from fabricated runs (config.json + eval.jsonl); no training."""

import importlib.util
import json
import os
import sys

import pytest

from conftest import ROOT, load_config


def _results():
  spec = importlib.util.spec_from_file_location('results', os.path.join(ROOT, 'launch', 'results.py'))
  module = importlib.util.module_from_spec(spec)
  sys.modules['results'] = module  # dataclasses look their module up by name
  spec.loader.exec_module(module)
  return module


def _fake_run(workdir, experiment, variant, scores, steps=3000, seeds=5):
  os.makedirs(workdir)
  config = load_config(experiment, variant)
  config.num_seeds = seeds
  config.train.num_steps = steps
  with open(os.path.join(workdir, 'config.json'), 'w') as f:
    f.write(config.to_json())
  protocol = {'fake_samples': config.eval.num_samples, 'generator': 'raw'}
  with open(os.path.join(workdir, 'eval.jsonl'), 'w') as f:
    f.write(json.dumps({'step': steps // 2, **{k: [0.0] * seeds for k in scores}}) + '\n')
    f.write(json.dumps({'step': steps, **scores, 'protocol': protocol}) + '\n')


def test_page_gives_mean_and_standard_error_beside_the_paper(tmp_path):
  results = _results()
  root = str(tmp_path / 'runs')
  _fake_run(os.path.join(root, 'grid_pac4'), 'toy_grid_pacgan', 'pack4',
            {'modes': [24, 25, 25, 25, 25], 'high_quality': [0.9, 0.92, 0.94, 0.96, 0.98],
             'reverse_kl': [0.05, 0.03, 0.04, 0.04, 0.04]})
  _fake_run(os.path.join(root, 'stacked_dcgan'), 'stacked_mnist_dcgan', None,
            {'modes': [990.0, 1000.0], 'kl': [0.1, 0.2]}, steps=6, seeds=2)
  settings = [s for s in results.SETTINGS if s.name in ('grid_pac4', 'grid_pac1', 'stacked_dcgan')]
  page = results.markdown(settings, root, 'python launch/results.py --only=x')
  assert results.is_done(os.path.join(root, 'grid_pac4'))
  assert not results.is_done(os.path.join(root, 'grid_pac1'))
  row = next(line for line in page.splitlines() if line.startswith('| PacGAN4 |'))
  # modes 24.8 ± 0.2 (std 0.447 / sqrt 5), HQ 94.0 ± 1.4 %, rev-KL 0.04 ± 0.00; then the paper's.
  assert row == ('| PacGAN4 | 24.8 ± 0.2 | 24.8 ± 0.2 | 94.0 ± 1.4 | 93.6 ± 0.6 | 0.04 ± 0.00 | '
                 '0.04 ± 0.01 | 5 | 3000 |')
  assert '| GAN | not run | 17.3 ± 0.8 |' in page
  assert '| DCGAN | 995.0 ± 5.0 | 78.9 | 0.15 ± 0.05 | 4.50 | 2 | 6 |' in page
  assert '| PacGAN2 (paper only) |' in page
  assert 'Command: `python launch/results.py --only=x` (settings' in page
  assert '3000 steps, batch 400 samples (pack 4)' in page and 'scored on 2500 samples' in page
  assert 'G 400x400x400x400 ReLU + BatchNorm, D 200x200x200 maxout (5 pieces); 3000 steps' in page
  assert '(`stacked_mnist_dcgan.py`): DCGAN G/D widths 64/64; 6 steps' in page


def test_write_only_writes_the_page(tmp_path):
  results = _results()
  root = str(tmp_path / 'runs')
  _fake_run(os.path.join(root, 'ring_best'), 'toy_ring_pacgan', 'best',
            {'modes': [8, 8, 8, 8, 8], 'high_quality': [0.97] * 5, 'reverse_kl': [0.01] * 5})
  out = str(tmp_path / 'results.md')
  results.main(['--root', root, '--out', out, '--write_only', '--only=ring_best'])
  page = open(out).read()
  assert '| ours (best recipe) | 8.0 ± 0.0 |  | 97.0 ± 0.0 |' in page
  assert 'G 128x128x128 ReLU, D 128x128x128 LeakyReLU; 3000 steps, batch 512 samples (pack 2)' in page
  assert '--only=ring_best` (settings' in page and '--write_only' not in page  # rebuild flag dropped


def test_acceptance_lines_compare_the_best_recipe_with_the_bounds(tmp_path):
  results = _results()
  root = str(tmp_path / 'runs')
  _fake_run(os.path.join(root, 'grid_best'), 'toy_grid_pacgan', 'best',
            {'modes': [25] * 5, 'high_quality': [0.92] * 5, 'reverse_kl': [0.06] * 5})
  settings = [s for s in results.SETTINGS if s.name in ('grid_best', 'ring_best')]
  page = results.markdown(settings, root, 'x')
  assert ('- grid: modes 25.0 >= 24.5: met; HQ % 92.0 >= 90.0: met; rev-KL 0.06 <= 0.05: NOT met.'
          in page)
  assert '- ring: not measured (no finished run).' in page


def test_a_run_of_another_config_is_refused_and_a_longer_one_resumed(tmp_path):
  results = _results()
  root = str(tmp_path / 'runs')
  ring_best = next(s for s in results.SETTINGS if s.name == 'ring_best')
  steps = load_config('toy_ring_pacgan', 'best').train.num_steps
  _fake_run(os.path.join(root, 'ring_best'), 'toy_ring_pacgan', 'best',
            {'modes': [8] * 5, 'high_quality': [0.97] * 5, 'reverse_kl': [0.01] * 5}, steps=steps)
  assert not results.needs_run(ring_best, root, {'num_seeds': 5})  # the same config: done
  # Longer (--steps) resumes the run from its last checkpoint.
  assert results.needs_run(ring_best, root, {'num_seeds': 5, 'train.num_steps': 2 * steps})
  with pytest.raises(SystemExit, match=r'ring_best holds a run of a different config \(num_seeds\); '
                                       r'delete that directory'):
    results.run_setting(ring_best, root, {'num_seeds': 3}, env={})
