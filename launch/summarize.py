"""Aggregates a sweep's workdirs over seeds: summary.md, summary.csv and summary.png in --root.

  python launch/summarize.py --root=runs/NAME [--metric=modes,high_quality]

Every folder under --root holding a config.json is a run. Runs are grouped into settings by
their config without `seed` and `num_seeds`, and labelled by the config keys that differ
between settings. For each setting and metric the table gives the final value (each run's
last eval.jsonl line) as mean ± std over seeds (sample std) and the number of seeds; the plot
shows each metric against step, the mean over seeds with a ±std band.

A metric value may be a float (one seed per workdir) or a list of K floats (a run with
`config.num_seeds = K`, one per seed); both count as seeds of their setting. --metric picks
the metrics (eval.jsonl names, or metrics.jsonl names such as d_loss); default: every eval
metric, or every training metric when no run has evaluations.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from typing import Any, Sequence

import matplotlib

matplotlib.use('Agg')  # headless: files only
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

_NOT_SETTING = ('seed', 'num_seeds')  # which seeds ran, not what was run


def _read_jsonl(path: str) -> list[dict[str, Any]]:
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def _flatten(d: dict[str, Any], prefix: str = '') -> dict[str, Any]:
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flatten(v, f'{prefix}{k}.'))
    else:
      out[f'{prefix}{k}'] = tuple(v) if isinstance(v, list) else v
  return out


def seed_values(value: Any) -> list[float] | None:
  """A metric value as one float per seed; None if it is not a metric (e.g. 'protocol')."""
  if isinstance(value, bool):
    return None
  if isinstance(value, (int, float)):
    return [float(value)]
  if isinstance(value, list) and value and all(
      isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
    return [float(v) for v in value]
  return None


class RunData:
  """One workdir: its flattened config and its eval/training rows."""

  def __init__(self, workdir: str):
    self.workdir = workdir
    with open(os.path.join(workdir, 'config.json')) as f:
      self.config = _flatten(json.load(f))
    self.rows = {'eval': _read_jsonl(os.path.join(workdir, 'eval.jsonl')),
                 'train': _read_jsonl(os.path.join(workdir, 'metrics.jsonl'))}
    self.setting = {k: v for k, v in self.config.items() if k not in _NOT_SETTING}

  def metrics(self, source: str) -> list[str]:
    names = []
    for row in self.rows[source]:
      names += [k for k, v in row.items() if k != 'step' and k not in names
                and seed_values(v) is not None]
    return names

  def series(self, source: str, metric: str) -> list[tuple[int, list[float]]]:
    """(step, values per seed) for each row that has the metric."""
    out = []
    for row in self.rows[source]:
      values = seed_values(row.get(metric))
      if values is not None:
        out.append((row['step'], values))
    return out

  def last_step(self) -> int | None:
    steps = [row['step'] for rows in self.rows.values() for row in rows]
    return max(steps) if steps else None


def find_workdirs(root: str) -> list[str]:
  """Folders under root (root included) with a config.json; not searched below a workdir."""
  found = []
  for path, dirs, files in os.walk(root):
    if 'config.json' in files:
      found.append(path)
      dirs.clear()
    dirs.sort()
  return sorted(found)


def _fmt_value(v: Any) -> str:
  if isinstance(v, tuple):
    return '(' + ', '.join(map(_fmt_value, v)) + (',)' if len(v) == 1 else ')')
  if isinstance(v, bool):
    return str(v)
  if isinstance(v, float):
    return f'{v:g}'
  return str(v)


def _sort_key(v: Any) -> tuple:
  # Numbers numerically, tuples element-wise, anything else as text; never compares across types.
  if isinstance(v, (int, float)) and not isinstance(v, bool):
    return (0, float(v))
  if isinstance(v, tuple):
    return (1, tuple(_sort_key(x) for x in v))
  return (2, str(v))


def group(runs: Sequence[RunData]) -> tuple[list[str], list[tuple[dict[str, Any], list[RunData]]]]:
  """(keys that differ between settings, [(their values, runs)] sorted by those values)."""
  groups: dict[str, list[RunData]] = {}
  for run in runs:
    groups.setdefault(json.dumps(run.setting, sort_keys=True, default=str), []).append(run)
  members = list(groups.values())
  keys = sorted({k for ms in members for k in ms[0].setting
                 if len({repr(m[0].setting.get(k)) for m in members}) > 1})
  out = [({k: ms[0].setting.get(k) for k in keys}, ms) for ms in members]
  out.sort(key=lambda item: [_sort_key(item[0][k]) for k in keys])
  return keys, out


def label(values: dict[str, Any]) -> str:
  return ', '.join(f'{k}={_fmt_value(v)}' for k, v in values.items()) or 'all runs'


def mean_std(values: Sequence[float]) -> tuple[float, float]:
  """Mean and sample std (ddof=1; nan for a single seed)."""
  a = np.asarray(values, np.float64)
  return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else math.nan


def final_values(runs: Sequence[RunData], source: str, metric: str) -> tuple[list[float], list[int]]:
  """Each seed's value at its run's last row with the metric, and those steps."""
  values, steps = [], []
  for run in runs:
    series = run.series(source, metric)
    if series:
      step, vals = series[-1]
      values += vals
      steps += [step] * len(vals)
  return values, steps


def curve(runs: Sequence[RunData], source: str, metric: str) -> tuple[np.ndarray, ...]:
  """(steps, mean, std, n) over all seeds present at each step."""
  by_step: dict[int, list[float]] = {}
  for run in runs:
    for step, vals in run.series(source, metric):
      by_step.setdefault(step, []).extend(vals)
  steps = sorted(by_step)
  stats = [mean_std(by_step[s]) for s in steps]
  return (np.array(steps), np.array([m for m, _ in stats]), np.array([s for _, s in stats]),
          np.array([len(by_step[s]) for s in steps]))


def _num(x: float) -> str:
  return '' if math.isnan(x) else f'{x:.4g}'


def summarize(root: str, metrics: Sequence[str] | None = None) -> list[dict[str, Any]]:
  """Writes summary.{md,csv,png} in root; returns the table as rows of the CSV."""
  runs = [RunData(w) for w in find_workdirs(root)]
  if not runs:
    raise FileNotFoundError(f'No run (a folder with config.json) under {root}.')
  available = {source: [] for source in ('eval', 'train')}
  for run in runs:
    for source, names in available.items():
      names += [m for m in run.metrics(source) if m not in names]
  if metrics:
    unknown = [m for m in metrics if m not in available['eval'] + available['train']]
    if unknown:
      raise ValueError(f'Unknown metric(s) {", ".join(unknown)}; eval metrics: '
                       f'{", ".join(available["eval"]) or "none"}; training metrics: '
                       f'{", ".join(available["train"]) or "none"}.')
  else:
    metrics = available['eval'] or available['train']
  chosen = [(m, 'eval' if m in available['eval'] else 'train') for m in metrics]
  keys, settings = group(runs)

  table = []
  for values, members in settings:
    row: dict[str, Any] = {'setting': label(values), **{k: _fmt_value(values[k]) for k in keys},
                           'runs': len(members)}
    seeds, all_steps = 0, []
    for metric, source in chosen:
      vals, steps = final_values(members, source, metric)
      mean, std = mean_std(vals) if vals else (math.nan, math.nan)
      row.update({f'{metric}_mean': mean, f'{metric}_std': std, f'{metric}_n': len(vals)})
      seeds = max(seeds, len(vals))
      all_steps += steps
    row['seeds'] = seeds
    row['step'] = ('' if not all_steps else str(min(all_steps)) if min(all_steps) == max(all_steps)
                   else f'{min(all_steps)}-{max(all_steps)}')
    table.append(row)

  columns = (['setting', *keys, 'runs', 'seeds', 'step']
             + [f'{m}_{s}' for m, _ in chosen for s in ('mean', 'std', 'n')])
  with open(os.path.join(root, 'summary.csv'), 'w', newline='') as f:
    writer = csv.DictWriter(f, columns)
    writer.writeheader()
    for row in table:
      # Full precision here (the markdown rounds); an empty cell where std needs 2+ seeds.
      writer.writerow({c: ('' if math.isnan(v) else repr(v)) if isinstance(v, float) else v
                       for c, v in row.items()})
  _write_markdown(root, runs, settings, table, chosen)
  _write_plot(root, settings, chosen)
  return table


def _write_markdown(root: str, runs: Sequence[RunData], settings, table, chosen) -> None:
  lines = [f'# Sweep summary: {root}', '',
           f'{len(runs)} runs in {len(settings)} settings (grouped by config without '
           f'{" and ".join(_NOT_SETTING)}). Each cell: final value (at each run\'s last row) '
           'as mean ± sample std over seeds; `(n=k)` when a metric has fewer seeds than the row.', '']
  protocols = {json.dumps(row.get('protocol'), sort_keys=True) for run in runs
               for row in run.rows['eval'] if 'protocol' in row}
  if len(protocols) > 1:
    lines += ['**The evaluation protocols differ between runs** (see each eval.jsonl); compare with care.', '']
  lines += ['| setting | seeds | step | ' + ' | '.join(m for m, _ in chosen) + ' |',
            '|---' * (3 + len(chosen)) + '|']
  for row in table:
    cells = []
    for metric, _ in chosen:
      mean, std, n = row[f'{metric}_mean'], row[f'{metric}_std'], row[f'{metric}_n']
      cell = '–' if not n else _num(mean) + (f' ± {_num(std)}' if n > 1 else '')
      cells.append(cell + (f' (n={n})' if n and n != row['seeds'] else ''))
    lines.append(f'| {row["setting"]} | {row["seeds"]} | {row["step"]} | ' + ' | '.join(cells) + ' |')
  lines += ['', '![metrics against step](summary.png)', '', '## Runs', '',
            '| workdir | setting | last step |', '|---|---|---|']
  for values, members in settings:
    for run in members:
      last, total = run.last_step(), run.config.get('train.num_steps')
      done = '' if last is None or total is None or last >= total else f' (unfinished, of {total})'
      lines.append(f'| {os.path.relpath(run.workdir, root)} | {label(values)} | {last}{done} |')
  with open(os.path.join(root, 'summary.md'), 'w') as f:
    f.write('\n'.join(lines) + '\n')


def _write_plot(root: str, settings, chosen) -> None:
  ncol = min(3, max(1, len(chosen)))
  nrow = max(1, math.ceil(len(chosen) / ncol))
  fig, axes = plt.subplots(nrow, ncol, figsize=(5 * ncol, 3.6 * nrow), squeeze=False)
  for ax in axes.flat[len(chosen):]:
    ax.axis('off')
  for ax, (metric, source) in zip(axes.flat, chosen):
    for values, members in settings:
      steps, mean, std, _ = curve(members, source, metric)
      if not len(steps):
        continue
      line, = ax.plot(steps, mean, marker='o' if len(steps) < 12 else None, ms=3, label=label(values))
      band = ~np.isnan(std)
      if band.any():
        ax.fill_between(steps[band], (mean - std)[band], (mean + std)[band], color=line.get_color(),
                        alpha=0.2, linewidth=0)
    ax.set_title(metric)
    ax.set_xlabel('step')
    ax.grid(alpha=0.3)
  handles, labels = axes.flat[0].get_legend_handles_labels()
  if handles:
    fig.legend(handles, labels, loc='lower center', ncol=min(3, len(labels)), fontsize='small',
               frameon=False)
  fig.tight_layout(rect=(0, min(0.3, 0.04 * (1 + len(labels) // 3)), 1, 1))
  fig.savefig(os.path.join(root, 'summary.png'), dpi=110)
  plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--root', required=True, help='folder of run workdirs (e.g. a sweep root)')
  parser.add_argument('--metric', default='', help='comma-separated metric names (default: all eval metrics)')
  args = parser.parse_args(argv)
  try:
    table = summarize(args.root, [m for m in args.metric.split(',') if m])
  except (FileNotFoundError, ValueError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  with open(os.path.join(args.root, 'summary.md')) as f:
    print(f.read())
  print(f'Wrote {len(table)} settings to {args.root}/summary.md, summary.csv and summary.png')
  return 0


if __name__ == '__main__':
  sys.exit(main())
