"""Metric sinks: metrics.jsonl (one line per log step) and TensorBoard event files."""

from __future__ import annotations

import json
import os

from tensorboardX import SummaryWriter


class MetricWriter:
  """Writes scalars to `workdir/metrics.jsonl` and TensorBoard; a no-op unless `active`."""

  def __init__(self, workdir: str, active: bool = True):
    self.active = active
    self.path = os.path.join(workdir, 'metrics.jsonl')
    if active:
      self._tb = SummaryWriter(os.path.join(workdir, 'tensorboard'))

  def write(self, step: int, scalars: dict[str, float]) -> None:
    if not self.active:
      return
    with open(self.path, 'a') as f:
      f.write(json.dumps({'step': step, **scalars}) + '\n')
    for name, value in scalars.items():
      self._tb.add_scalar(name, value, step)

  def close(self) -> None:
    if self.active:
      self._tb.close()

  def drop_after(self, step: int) -> None:
    """On resume: forget lines logged after the checkpoint we resumed from."""
    if not (self.active and os.path.exists(self.path)):
      return
    with open(self.path) as f:
      kept = [line for line in f if line.strip() and json.loads(line)['step'] <= step]
    with open(self.path, 'w') as f:
      f.writelines(kept)
