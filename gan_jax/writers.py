"""Metric sinks: metrics.jsonl and eval.jsonl (one line per log/eval step) and TensorBoard."""

from __future__ import annotations

import json
import os
from typing import Any

from tensorboardX import SummaryWriter


class MetricWriter:
  """Writes scalars to `workdir/{metrics,eval}.jsonl` and TensorBoard; a no-op unless `active`."""

  def __init__(self, workdir: str, active: bool = True):
    self.active = active
    self.path = os.path.join(workdir, 'metrics.jsonl')
    self.eval_path = os.path.join(workdir, 'eval.jsonl')
    if active:
      self._tb = SummaryWriter(os.path.join(workdir, 'tensorboard'))

  def write(self, step: int, scalars: dict[str, Any]) -> None:
    """Scalars are floats, or lists of one float per seed."""
    if not self.active:
      return
    _append(self.path, {'step': step, **scalars})
    self._scalars('', scalars, step)

  def write_eval(self, step: int, scores: dict[str, float], protocol: dict[str, Any]) -> None:
    """One eval.jsonl line: the scores and the protocol that produced them."""
    if not self.active:
      return
    _append(self.eval_path, {'step': step, **scores, 'protocol': protocol})
    self._scalars('eval/', scores, step)
    self._tb.flush()

  def _scalars(self, prefix: str, scalars: dict[str, Any], step: int) -> None:
    # A list holds one value per seed (config.num_seeds > 1): one TensorBoard curve each.
    for name, value in scalars.items():
      if isinstance(value, list):
        for i, v in enumerate(value):
          self._tb.add_scalar(f'{prefix}{name}/seed{i}', v, step)
      else:
        self._tb.add_scalar(f'{prefix}{name}', value, step)

  def read_eval(self) -> list[dict[str, Any]]:
    return _read(self.eval_path)

  def close(self) -> None:
    if self.active:
      self._tb.close()

  def drop_after(self, step: int) -> None:
    """On resume: forget lines logged after the checkpoint we resumed from."""
    if not self.active:
      return
    for path in (self.path, self.eval_path):
      if os.path.exists(path):
        kept = [row for row in _read(path) if row['step'] <= step]
        with open(path, 'w') as f:
          f.writelines(json.dumps(row) + '\n' for row in kept)


def _append(path: str, row: dict[str, Any]) -> None:
  with open(path, 'a') as f:
    f.write(json.dumps(row) + '\n')


def _read(path: str) -> list[dict[str, Any]]:
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]
