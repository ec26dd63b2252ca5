r"""Reproduces shared/REFERENCE.md §1 (PacGAN 2D ring and grid) and §2 (Stacked MNIST); writes docs/results.md.

  python launch/results.py                      # the 2D settings (ring and grid: GAN, PacGAN2-4, ours)
  python launch/results.py --stacked            # also Stacked MNIST (DCGAN and ours); slow on CPU
  python launch/results.py --write_only         # only rebuild docs/results.md from finished runs
  python launch/results.py --only=grid_pac4,ring_best --steps=2000   # a subset, shorter

Each setting is one `python -m gan_jax.main` subprocess with `config.num_seeds` (5) seeds
vmapped in one program, in --root/<setting>. A setting whose eval.jsonl already reaches its
final step is not rerun; a larger --steps resumes it from its last checkpoint; a workdir that
holds a run of any other config is refused (delete it to rerun). The page gives, per setting,
the final evaluation (the last eval.jsonl line) as mean ± standard error over the seeds, beside
the papers' numbers, with the protocol actually used (steps, batch, samples scored, seeds, wall
time) read back from each run's config.json and eval.jsonl, and the command that produced it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shlex
import subprocess
import sys
import time
from typing import Any, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from gan_jax import hyper  # noqa: E402  (light: no JAX)


@dataclasses.dataclass(frozen=True)
class Setting:
  name: str  # workdir name under --root
  table: str  # 'ring', 'grid' or 'stacked'
  label: str  # the row's method name (the paper's row where there is one)
  experiment: str  # experiments/<experiment>.py
  variant: str | None  # get_config's arg
  paper: str | None  # key into PAPER[table]


SETTINGS_2D = tuple(
    Setting(f'{table}_pac{m}', table, 'GAN' if m == 1 else f'PacGAN{m}', f'toy_{table}_pacgan',
            f'pack{m}', 'GAN' if m == 1 else f'PacGAN{m}')
    for table in ('ring', 'grid') for m in (1, 2, 3, 4)) + tuple(
    Setting(f'{table}_best', table, 'ours (best recipe)', f'toy_{table}_pacgan', 'best', None)
    for table in ('ring', 'grid'))
SETTINGS_STACKED = (
    Setting('stacked_dcgan', 'stacked', 'DCGAN', 'stacked_mnist_dcgan', None, 'DCGAN (PacGAN run)'),
    Setting('stacked_best', 'stacked', 'PacDCGAN2 (ours)', 'stacked_mnist_dcgan', 'best',
            'PacDCGAN2'),
)
SETTINGS = SETTINGS_2D + SETTINGS_STACKED

# shared/REFERENCE.md: (mean, s.e.) per metric, in eval.jsonl's units (high_quality a fraction).
PAPER = {
    'ring': {
        'GAN': {'modes': (6.3, 0.5), 'high_quality': (0.982, 0.002), 'reverse_kl': (0.45, 0.09)},
        'ALI': {'modes': (6.6, 0.3), 'high_quality': (0.976, 0.004), 'reverse_kl': (0.36, 0.04)},
        'PacGAN2': {'modes': (7.9, 0.1), 'high_quality': (0.956, 0.020), 'reverse_kl': (0.07, 0.03)},
        'PacGAN3': {'modes': (7.8, 0.1), 'high_quality': (0.977, 0.003), 'reverse_kl': (0.10, 0.02)},
        'PacGAN4': {'modes': (7.8, 0.1), 'high_quality': (0.959, 0.014), 'reverse_kl': (0.07, 0.02)},
    },
    'grid': {
        'GAN': {'modes': (17.3, 0.8), 'high_quality': (0.948, 0.007), 'reverse_kl': (0.70, 0.07)},
        'ALI': {'modes': (24.1, 0.4), 'high_quality': (0.957, 0.006), 'reverse_kl': (0.14, 0.03)},
        'PacGAN2': {'modes': (23.8, 0.7), 'high_quality': (0.913, 0.008), 'reverse_kl': (0.13, 0.04)},
        'PacGAN3': {'modes': (24.6, 0.4), 'high_quality': (0.942, 0.004), 'reverse_kl': (0.06, 0.02)},
        'PacGAN4': {'modes': (24.8, 0.2), 'high_quality': (0.936, 0.006), 'reverse_kl': (0.04, 0.01)},
    },
    'stacked': {
        'DCGAN (VEEGAN run)': {'modes': (99.0, None), 'kl': (3.40, None)},
        'DCGAN (PacGAN run)': {'modes': (78.9, None), 'kl': (4.50, None)},
        'PacDCGAN2': {'modes': (1000.0, None), 'kl': (0.06, None)},
        'PacDCGAN4': {'modes': (1000.0, None), 'kl': (0.07, None)},
    },
}
METRICS = {'ring': ('modes', 'high_quality', 'reverse_kl'), 'grid': ('modes', 'high_quality', 'reverse_kl'),
           'stacked': ('modes', 'kl')}
HEADERS = {'modes': 'modes', 'high_quality': 'HQ %', 'reverse_kl': 'rev-KL', 'kl': 'KL'}
TITLES = {'ring': '2D ring (8 modes), PacGAN Table 1', 'grid': '2D grid (25 modes), PacGAN Table 1',
          'stacked': 'Stacked MNIST (1,000 modes), PacGAN Table 2'}
PAPER_PROTOCOL = {
    'ring': '~400k iterations, batch 100 (packs), fixed 100k training points, 2,500 samples, 10 trials',
    'grid': '~400k iterations, batch 100 (packs), fixed 100k training points, 2,500 samples, 10 trials',
    'stacked': 'DCGAN, 26,000 samples, 10 trials (their classifier, not ours)',
}
_TIME_FILE = 'results_time.json'

# How the best recipe was chosen: trials before the results runs (3 seeds each in the first table, final
# evaluation on 2,500 samples; "EMA" = G's EMA parameters scored, also post hoc with
# `python -m gan_jax.evaluate --ema`). Not rerun by this script; kept here so the page says it.
TRIALS = """\
| data | trial (differences from the paper's config) | steps | G scored | modes | HQ % | rev-KL |
|---|---|---|---|---|---|---|
| grid | pack 4, lr 1e-3, beta1 0.5 | 2000 | raw | 15.0 | 1.8 | 0.86 |
| grid | pack 4, lr 1e-3, beta1 0.5 | 2000 | EMA | 16.3 | 1.9 | 0.56 |
| grid | pack 4, lr 1e-3, beta1 0.5, R1 0.1 | 2000 | EMA | 17.0 | 2.3 | 0.62 |
| grid | pack 4, lr 1e-3, beta1 0.5, G 4x128, D 3x128 maxout | 6000 | raw | 17.0 | 1.9 | 0.61 |
| grid | pack 4, lr G 1e-4 / D 1e-3, betas (0.5, 0.9) | 2000 | raw | 19.3 | 2.3 | 0.43 |
| grid | pack 4, rpgan loss, R1 = R2 = 0.05, lr 2e-4, betas (0.5, 0.9) | 1000 | raw | 17.0 | 2.2 | 0.64 |
| grid | pack 2, spectral-norm D, hinge loss, lr 2e-4, betas (0.5, 0.99) | 2000 | raw | 11.3 | 1.7 | 1.06 |
| grid | pack 2, lr 2e-4, betas (0.5, 0.99) | 3000 | raw | 18.0 | 2.4 | 0.57 |
| grid | the same run | 3000 | EMA | 24.0 | 4.8 | 0.47 |
| grid | pack 1, lr 3e-4, betas (0.5, 0.99) | 2500 | EMA | 15.7 | 9.3 | 0.77 |
| ring | the paper's PacGAN2 (the results run below, 5 seeds) | 2500 | raw | 8.0 | 21.2 | 0.23 |
| ring | the same run | 2500 | EMA | 8.0 | 60.3 | 0.05 |
| ring | pack 2, lr 3e-4, betas (0.5, 0.99) | 3000 | raw | 8.0 | 36.9 | 0.40 |
| ring | the same run | 3000 | EMA | 8.0 | 81.1 | 0.02 |
| ring | pack 2, lr 1e-3, betas (0.5, 0.99) | 2500 | EMA | 8.0 | 70.9 | 0.12 |

A diagnostic behind the trials above: the paper's maxout D (3 x 200 x 5 pieces), trained alone with Adam
to tell grid samples from the same samples blurred by N(0, 0.5^2), reaches 72% accuracy after
400 steps at pack 1, 56% at pack 2 and stays at chance (50%) at pack 4, at lr 1e-4 or 1e-3 and
with spectral norm. At a few thousand steps D, not G, is the bottleneck on the grid: it cannot
yet resolve modes of std 0.05, so G stays a diffuse blob over the grid (HQ near the 1.8% a
uniform spread over [-5, 5]^2 would give). The EMA generator is the one change that helps a lot
on the ring, where D does learn the modes.

That led to the seed's MLP networks instead of the paper's, 5 vmapped seeds per trial: G = 3 x
[Dense 128, ReLU] without BatchNorm, D = 3 x [Dense 128, LeakyReLU 0.2] (`d_maxout=False`),
Adam 1e-3, betas (0.5, 0.999), EMA generator scored:

| data | trial | steps | modes | HQ % | rev-KL |
|---|---|---|---|---|---|
| grid | pack 1, batch 128 (`experiments/toy_grid.py`) | 10000 | 24.2 | 87.4 | 0.108 |
| grid | the same run | 30000 | 24.6 | 93.4 | 0.054 |
| grid | the same, run on | 50000 | 24.8 | 95.2 | 0.040 |
| grid | pack 2, 100 D inputs (200 samples) | 10000 | 17.0 | 14.2 | 1.03 |
| grid | pack 4, 100 D inputs (400 samples) | 10000 | 15.2 | 1.6 | 0.78 |
| grid | pack 1, batch 256 (the best recipe) | 10000 | 24.8 | 88.7 | 0.071 |
| grid | the same run | 30000 | 25.0 | 94.2 | 0.011 |
| ring | pack 1, batch 256 | 10000 | 7.8 | 96.2 | 0.092 |
| ring | the same run (one seed of five has dropped 2 modes) | 30000 | 7.6 | 98.1 | 0.074 |
| ring | pack 2, 128 D inputs (256 samples) | 20000 | 8.0 | 94.8 | 0.013 |
| ring | pack 2, 256 D inputs (512 samples; the best recipe) | 5000 | 8.0 | 95.7 | 0.002 |
| ring | the same run | 15000 | 8.0 | 97.1 | 0.002 |
| ring | the same run | 20000 | 8.0 | 96.0 | 0.006 |
"""


def _config_spec(setting: Setting) -> str:
  """The setting's `--config=` value: experiments/<experiment>.py[:variant]."""
  spec = os.path.join('experiments', f'{setting.experiment}.py')
  return f'{spec}:{setting.variant}' if setting.variant else spec


def command(setting: Setting, workdir: str, overrides: dict[str, Any] | None = None) -> list[str]:
  return [sys.executable, '-m', 'gan_jax.main', f'--config={_config_spec(setting)}',
          f'--workdir={workdir}', *(f'--config.{k}={v}' for k, v in (overrides or {}).items())]


def expected_config(setting: Setting, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
  """The config.json that `command(setting, ..., overrides)` would write, as a dict."""
  _, config = hyper.load_experiment(os.path.join(ROOT, _config_spec(setting)))
  return json.loads(hyper.apply(config, overrides or {}).to_json())


def _differences(saved: Any, expected: Any, prefix: str = '') -> list[str]:
  """Config keys whose values differ. Keys the saved run lacks are skipped: the run predates
  them, and new keys default to the old behaviour (as model.d_maxout does)."""
  if isinstance(saved, dict) and isinstance(expected, dict):
    return [d for k in sorted(saved) if k in expected
            for d in _differences(saved[k], expected[k], f'{prefix}{k}.')]
  return [] if saved == expected else [prefix.rstrip('.')]


def _read_jsonl(path: str) -> list[dict[str, Any]]:
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def final_eval(workdir: str) -> dict[str, Any] | None:
  """The last eval.jsonl line of a run, or None."""
  rows = _read_jsonl(os.path.join(workdir, 'eval.jsonl'))
  return rows[-1] if rows else None


def _num_steps(workdir: str) -> int | None:
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)['train']['num_steps']


def is_done(workdir: str) -> bool:
  row, steps = final_eval(workdir), _num_steps(workdir)
  return row is not None and steps is not None and row['step'] >= steps


def mean_se(values: float | Sequence[float]) -> tuple[float, float | None, int]:
  """(mean, standard error = sample std / sqrt(n), n); the error is None for one value."""
  values = [float(values)] if isinstance(values, (int, float)) else [float(v) for v in values]
  n = len(values)
  mean = sum(values) / n
  if n < 2:
    return mean, None, n
  var = sum((v - mean) ** 2 for v in values) / (n - 1)
  return mean, math.sqrt(var / n), n


def _fmt(metric: str, mean: float, se: float | None) -> str:
  scale, digits = (100.0, 1) if metric == 'high_quality' else (1.0, 1) if metric == 'modes' else (1.0, 2)
  text = f'{mean * scale:.{digits}f}'
  if se is not None:
    text += f' ± {se * scale:.{digits}f}'
  return text


STACKED_CAVEAT = (
    '**Read these Stacked MNIST numbers with care.** A mode is the argmax label of the MNIST '
    'classifier on each channel, with no confidence threshold, so malformed digits still get a '
    'label and count towards coverage. At 3,000 steps the sample grids showed overlapping '
    'coloured strokes in which most channels were blurry but digit-like; G has not converged at '
    '5,000 steps (what fit here: 3,000 steps, then resumed to 5,000, the two settings sharing '
    'the 2 CPU cores for the second part). At 3,000 steps both settings covered ~940 modes (KL '
    '~0.5); at 5,000 plain DCGAN is ahead (983 modes, KL 0.34) of PacDCGAN2 (966, KL 0.43), so '
    'packing had not helped at this budget, and neither reaches the 990 modes / KL 0.1 goal. '
    'Our DCGAN covers far more modes than the papers\' DCGAN rows (79-99): their D is not '
    'specified in REFERENCE.md, and Unrolled GAN\'s table shows how much the count depends on '
    'D\'s capacity (D = 1/4 G: 30.6 modes, D = 1/2 G: 628); ours has D as wide as G.')


# Issue 8's acceptance for our best recipe: (metric, bound, at least?) per table.
ACCEPTANCE = {
    'grid': (('modes', 24.5, True), ('high_quality', 0.90, True), ('reverse_kl', 0.05, False)),
    'ring': (('modes', 7.9, True), ('high_quality', 0.95, True)),
    'stacked': (('modes', 990.0, True), ('kl', 0.1, False)),
}


def _acceptance_lines(settings: Sequence[Setting], root: str) -> list[str]:
  lines = []
  for s in settings:
    if s.variant != 'best' or s.table not in ACCEPTANCE:
      continue
    final = final_eval(os.path.join(root, s.name))
    if final is None or not is_done(os.path.join(root, s.name)):
      lines.append(f'- {s.table}: not measured (no finished run).')
      continue
    checks = []
    for metric, bound, at_least in ACCEPTANCE[s.table]:
      mean = mean_se(final[metric])[0]
      ok = mean >= bound if at_least else mean <= bound
      shown = (lambda v: _fmt(metric, v, None))
      checks.append(f'{HEADERS[metric]} {shown(mean)} {">=" if at_least else "<="} {shown(bound)}: '
                    f'{"met" if ok else "NOT met"}')
    lines.append(f'- {s.table}: ' + '; '.join(checks) + '.')
  return lines


def _setting_rows(settings: Sequence[Setting], root: str, table: str) -> list[list[str]]:
  rows = []
  for s in settings:
    if s.table != table:
      continue
    workdir = os.path.join(root, s.name)
    final = final_eval(workdir)
    paper = PAPER[table].get(s.paper or '', {})
    cells = [s.label]
    n = 0
    for metric in METRICS[table]:
      if final is None or metric not in final:
        cells.append('not run')
      else:
        mean, se, n = mean_se(final[metric])
        cells.append(_fmt(metric, mean, se))
      cells.append(_fmt(metric, *paper[metric]) if metric in paper else '')
    cells.append(str(n) if final else '')
    steps = _num_steps(workdir)
    if final is None:
      cells.append('')
    elif steps is not None and final['step'] < steps:
      cells.append(f"{final['step']} of {steps} (unfinished)")
    else:
      cells.append(str(final['step']))
    rows.append(cells)
  for label, paper in PAPER[table].items():  # the paper's rows we do not run, for reference
    if not any(s.paper == label for s in settings if s.table == table):
      rows.append([f'{label} (paper only)'] + [c for m in METRICS[table]
                                              for c in ('', _fmt(m, *paper[m]))] + ['', ''])
  return rows


def _networks(model: dict[str, Any]) -> str:
  """The networks of a run's config.model, in words."""
  if model['name'] == 'dcgan':
    return f'DCGAN G/D widths {model["g_features"]}/{model["d_features"]}'
  widths = lambda key: 'x'.join(str(w) for w in model[key])  # noqa: E731
  g = f'G {widths("g_hidden")} ReLU' + (' + BatchNorm' if model.get('g_batch_norm') else '')
  if model['name'] == 'pacgan' and model.get('d_maxout', True):
    d = f'D {widths("d_hidden")} maxout ({model["d_pieces"]} pieces)'
  else:
    d = f'D {widths("d_hidden")} LeakyReLU'
  return f'{g}, {d}'


def _protocol_lines(settings: Sequence[Setting], root: str, table: str) -> list[str]:
  lines = []
  for s in settings:
    if s.table != table:
      continue
    workdir = os.path.join(root, s.name)
    path = os.path.join(workdir, 'config.json')
    final = final_eval(workdir)
    if final is None or not os.path.exists(path):
      continue
    with open(path) as f:
      config = json.load(f)
    proto = final.get('protocol', {})
    timing = ''
    if os.path.exists(os.path.join(workdir, _TIME_FILE)):
      with open(os.path.join(workdir, _TIME_FILE)) as f:
        timing = f', {json.load(f)["wall_s"] / 60:.1f} min wall'
    train, optim, loss = config['train'], config['optim'], config['loss']
    regs = ', '.join(f'{k}={v:g}' for k, v in loss['regularizers'].items() if v) or 'none'
    pack = config['model'].get('pack')
    lines.append(
        f'- **{s.label}** (`{s.experiment}.py{":" + s.variant if s.variant else ""}`): '
        f'{_networks(config["model"])}; '
        f'{train["num_steps"]} steps, batch {config["data"]["batch_size"]} samples'
        + (f' (pack {pack})' if pack else '') +
        f', {config["loss"]["name"]} loss, regularizers {regs}, Adam lr G {optim["g_lr"]:g} / '
        f'D {optim["d_lr"]:g}, betas ({optim["b1"]:g}, {optim["b2"]:g}), n_critic {train["n_critic"]}; '
        f'{config["num_seeds"]} seeds (vmapped); scored on {proto.get("fake_samples", "?")} samples '
        f'of the {proto.get("generator", "?")} generator at step {final["step"]}{timing}.')
  return lines


def _shown(path: str) -> str:
  return os.path.relpath(path, ROOT) if os.path.abspath(path).startswith(ROOT + os.sep) else path


def markdown(settings: Sequence[Setting], root: str, invocation: str) -> str:
  """The results page for the finished runs of `settings` under `root`."""
  out = ['# Results: PacGAN 2D mixtures and Stacked MNIST', '',
         'Written by `launch/results.py` (do not edit by hand). Papers\' numbers from '
         '`shared/REFERENCE.md`. Our numbers: mean ± standard error over the seeds of each '
         'setting, from the final evaluation of each run (the last line of its `eval.jsonl`).',
         '', f'Command: `{invocation}` (settings that already finished are not rerun, so the '
         'runs may also be split over several invocations with `--only`).', '',
         f'Runs: `{_shown(root)}/<setting>`.', '']
  for table in ('ring', 'grid', 'stacked'):
    if not any(s.table == table for s in settings):
      continue
    out += [f'## {TITLES[table]}', '']
    header = ['method'] + [f'{HEADERS[m]} {who}' for m in METRICS[table] for who in ('ours', 'paper')]
    header += ['seeds', 'steps']
    out.append('| ' + ' | '.join(header) + ' |')
    out.append('|' + '---|' * len(header))
    out += ['| ' + ' | '.join(r) + ' |' for r in _setting_rows(settings, root, table)]
    out += ['', f'Paper protocol: {PAPER_PROTOCOL[table]}.', '', 'Our protocol:', '']
    out += _protocol_lines(settings, root, table) or ['- (no finished runs yet)']
    out.append('')
    if table == 'stacked':
      out += [STACKED_CAVEAT, '']
  acceptance = _acceptance_lines(settings, root)
  if acceptance:
    out += ['## Acceptance (issue 8), our best recipe', ''] + acceptance + ['']
  if any(s.table in ('ring', 'grid') for s in settings):
    out += ['## How the best 2D recipe was chosen', '', TRIALS]
  out += ['## Differences from the papers', '',
          '- Far fewer iterations than the paper\'s ~400k (the whole 2D set must run on a 2-core '
          'CPU within an hour); the step counts are in the protocol lines above.',
          '- Fresh mixture samples every step instead of a fixed training set of 100k points.',
          '- 5 seeds per setting, not 10; the error is the standard error over those seeds.',
          '- Wall times are as measured on a 2-core CPU. The paper-network runs shared it with '
          'other jobs (two settings at a time, plus others\' tests); alone, one of those 2,500-step '
          'runs takes ~3.5-4.5 min (see the experiment docstrings). The best-recipe runs ran alone; '
          'the Stacked MNIST runs ran alone to 3,000 steps (DCGAN shared the CPU with a test-suite '
          'run for ~11 min), then both at once from 3,000 to 5,000.',
          '- Our best 2D recipes use the seed\'s MLP networks (G without BatchNorm, LeakyReLU D) '
          'rather than the paper\'s: at a CPU budget of minutes the paper\'s BatchNorm G and '
          'maxout D had not yet resolved the modes (trials above).',
          '- Stacked MNIST modes come from gan_jax\'s own MNIST classifier (argmax on each channel); '
          'the papers used theirs, so counts are comparable only in spirit.', '']
  return '\n'.join(out)


# Keys that only set a run's length and cadence: a run differing in them is resumed (training is
# step-indexed, so 3,000 steps resumed to 6,000 equal an uninterrupted 6,000-step run).
LENGTH_KEYS = ('train.num_steps', 'eval.every', 'train.sample_every', 'train.checkpoint_every')


def needs_run(setting: Setting, root: str, overrides: dict[str, Any]) -> bool:
  """Whether the setting still has steps to train; SystemExit if its workdir holds another config.

  Without the check, a run of an edited recipe would be reported as done, or resumed under the
  new config.
  """
  workdir = os.path.join(root, setting.name)
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    return True
  expected = expected_config(setting, overrides)
  with open(path) as f:
    changed = [k for k in _differences(json.load(f), expected) if k not in LENGTH_KEYS]
  if changed:
    raise SystemExit(f'{workdir} holds a run of a different config ({", ".join(changed)}); '
                     'delete that directory (or pass another --root) to rerun the setting.')
  final = final_eval(workdir)
  return final is None or final['step'] < expected['train']['num_steps']


def run_setting(setting: Setting, root: str, overrides: dict[str, Any], env: dict[str, str]) -> None:
  workdir = os.path.join(root, setting.name)
  if not needs_run(setting, root, overrides):
    print(f'{setting.name}: done already', flush=True)
    return
  cmd = command(setting, workdir, overrides)
  print(f'{setting.name}: {shlex.join(cmd)}', flush=True)
  time_file = os.path.join(workdir, _TIME_FILE)
  wall = 0.0  # a resumed run adds to the time already spent
  if os.path.exists(time_file):
    with open(time_file) as f:
      wall = json.load(f)['wall_s']
  start = time.time()
  subprocess.run(cmd, check=True, cwd=ROOT, env=env)
  with open(time_file, 'w') as f:
    json.dump({'wall_s': wall + time.time() - start}, f)


def main(argv: Sequence[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--root', default='runs/results', help='Where the runs go.')
  parser.add_argument('--out', default='docs/results.md', help='The page to write.')
  parser.add_argument('--stacked', action='store_true', help='Also run Stacked MNIST (slow on CPU).')
  parser.add_argument('--only', default='', help='Comma-separated setting names (default: all chosen).')
  parser.add_argument('--seeds', type=int, default=5, help='config.num_seeds of every run.')
  parser.add_argument('--steps', type=int, default=0, help='config.train.num_steps (0: the experiment\'s).')
  parser.add_argument('--stacked_steps', type=int, default=0,
                      help='config.train.num_steps for Stacked MNIST (0: the experiment\'s).')
  parser.add_argument('--write_only', action='store_true', help='Only rebuild the page.')
  args = parser.parse_args(argv)
  settings = list(SETTINGS_2D + (SETTINGS_STACKED if args.stacked else ()))
  if args.only:
    names = args.only.split(',')
    unknown = set(names) - {s.name for s in SETTINGS}
    if unknown:
      raise SystemExit(f'--only: unknown settings {sorted(unknown)}; valid: {[s.name for s in SETTINGS]}')
    settings = [s for s in SETTINGS if s.name in names]
  root = args.root if os.path.isabs(args.root) else os.path.join(ROOT, args.root)
  env = dict(os.environ, TQDM_DISABLE='1')
  if not args.write_only:
    for s in settings:
      overrides: dict[str, Any] = {'num_seeds': args.seeds}
      steps = args.stacked_steps if s.table == 'stacked' else args.steps
      if steps:
        # Evaluate (and sample, checkpoint) only at the end when the length is overridden.
        overrides.update({key: steps for key in LENGTH_KEYS})
      run_setting(s, root, overrides, env)
  given = list(argv if argv is not None else sys.argv[1:])
  # The command that (re)runs what the page shows; --write_only only rebuilt the page.
  invocation = shlex.join(['python', 'launch/results.py', *(a for a in given if a != '--write_only')])
  page = markdown(settings, root, invocation)
  out = args.out if os.path.isabs(args.out) else os.path.join(ROOT, args.out)
  os.makedirs(os.path.dirname(out), exist_ok=True)
  with open(out, 'w') as f:
    f.write(page)
  print(f'wrote {out}')


if __name__ == '__main__':
  main()
