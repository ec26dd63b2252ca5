"""Orbax checkpoints of the GANState: save every N steps, keep the last few, restore latest.

Orbax writes each step into a temporary directory and renames it when complete, so an
interrupted save (crash, SIGKILL) is never picked up as a checkpoint. A checkpoint that is
complete but unreadable (truncated or corrupted files) is moved aside, never deleted, and
the previous one is used. A readable checkpoint of a different config (other shapes or
parameters) is an error that leaves every checkpoint in place.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging


class ConfigMismatchError(ValueError):
  """The checkpoint reads fine but holds a different tree or shapes than the config builds."""


def _shapes(tree: Any) -> dict[str, tuple[int, ...]]:
  """{'g/params/Dense_0/kernel': shape, ...} of a state or of orbax's metadata of one."""
  flat = ocp.tree.to_flat_dict(ocp.tree.serialize_tree(tree), sep='/')
  return {path: tuple(leaf.shape) if hasattr(leaf, 'shape') else np.shape(leaf)
          for path, leaf in flat.items()}


def _differences(saved: dict[str, tuple[int, ...]], wanted: dict[str, tuple[int, ...]]) -> list[str]:
  """Each path whose presence or shape differs; parameters first, as users know those names."""
  def order(path: str) -> tuple[bool, str]:
    return '/params/' not in f'/{path}', path
  out = []
  for path in sorted(saved.keys() | wanted.keys(), key=order):
    if path not in wanted:
      out.append(f'{path} is in the checkpoint but not in the state this config builds')
    elif path not in saved:
      out.append(f'{path} of this config is not in the checkpoint')
    elif saved[path] != wanted[path]:
      out.append(f'{path} has shape {saved[path]} in the checkpoint but {wanted[path]} in this config')
  return out


class Checkpointer:

  def __init__(self, directory: str, max_to_keep: int = 3):
    self.directory = os.path.abspath(directory)
    # Unreadable checkpoints go next to, not inside, the manager's directory.
    self.quarantine = self.directory.rstrip('/') + '_unreadable'
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                           enable_async_checkpointing=False)
    # A registered handler lets item_metadata() read a checkpoint's tree without restoring it.
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_handlers=ocp.StandardCheckpointHandler())

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def save(self, step: int, state: Any, replace: bool = False) -> None:
    """Saves a host copy of the state (one replica); blocks until written.

    `replace` rewrites an existing checkpoint of the same step (a resumed run replaying it).
    """
    if replace and step in self._manager.all_steps():
      self._manager.delete(step)
    self._manager.save(step, args=ocp.args.StandardSave(state), force=True)
    self._manager.wait_until_finished()

  def restore(self, target: Any, step: int | None = None) -> Any:
    """Restores into the structure, shapes and dtypes of `target` (e.g. a fresh state)."""
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f'No checkpoint in {self.directory}.')
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, target)
    return self._manager.restore(step, args=ocp.args.StandardRestore(abstract))

  def restore_latest_readable(self, target: Any) -> tuple[Any, int | None]:
    """(state, step) from the newest checkpoint that reads back; (target, None) if none exist.

    Each unreadable checkpoint is reported and moved to `<directory>_unreadable/` so the run
    can save that step again; if every checkpoint is unreadable this raises instead of
    silently starting over. A readable checkpoint whose tree or shapes differ from `target`
    raises ConfigMismatchError and nothing is moved: the files are fine, the config is not.
    """
    steps = self.all_steps()
    wanted = _shapes(target)
    for step in reversed(steps):
      try:
        saved = _shapes(self._manager.item_metadata(step).tree)
      except Exception as e:  # missing or corrupt metadata files
        self._report_unreadable(step, e)
        continue
      self._check_matches(step, saved, wanted)
      try:
        return self.restore(target, step), step
      except Exception as e:  # orbax/tensorstore raise assorted types for bad array files
        self._report_unreadable(step, e)
    if steps:
      raise RuntimeError(f'None of the checkpoints {steps} could be read; they are in '
                         f'{self.quarantine}. Move a good one back into {self.directory} or '
                         'use a new --workdir to start over.')
    return target, None

  def _check_matches(self, step: int, saved: dict[str, tuple[int, ...]],
                     wanted: dict[str, tuple[int, ...]]) -> None:
    differences = _differences(saved, wanted)
    if differences:
      more = f' ({len(differences)} differences in all)' if len(differences) > 1 else ''
      raise ConfigMismatchError(
          f'Checkpoint {self.path(step)} was written by a different config: {differences[0]}'
          f'{more}. All checkpoints in {self.directory} are kept as they are. To resume, use '
          'the config that wrote them (config.json in that workdir); to start over with this '
          'config, use a new --workdir.')

  def _report_unreadable(self, step: int, error: Exception) -> None:
    moved = self._set_aside(step)
    message = (f'Checkpoint {self.path(step)} is unreadable ({type(error).__name__}: '
               f'{str(error)[:200]}); moved it to {moved} and trying the previous one.')
    logging.warning(message)
    print(message, flush=True)

  def _set_aside(self, step: int) -> str:
    os.makedirs(self.quarantine, exist_ok=True)
    dest = os.path.join(self.quarantine, f'{step}.{int(time.time())}')
    shutil.move(self.path(step), dest)
    self._manager.reload()
    return dest

  def path(self, step: int) -> str:
    return os.path.join(self.directory, str(step))

  def close(self) -> None:
    self._manager.close()
