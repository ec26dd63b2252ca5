"""Orbax checkpoints of the GANState: save every N steps, keep the last few, restore latest.

Orbax writes each step into a temporary directory and renames it when complete, so an
interrupted save is never picked up as the latest checkpoint.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp


class Checkpointer:

  def __init__(self, directory: str, max_to_keep: int = 3):
    self.directory = os.path.abspath(directory)
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                           enable_async_checkpointing=False)
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state: Any) -> None:
    """Saves a host copy of the state (one replica); blocks until written."""
    self._manager.save(step, args=ocp.args.StandardSave(state), force=True)
    self._manager.wait_until_finished()

  def restore(self, target: Any, step: int | None = None) -> Any:
    """Restores into the structure, shapes and dtypes of `target` (e.g. a fresh state)."""
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f'No checkpoint in {self.directory}.')
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, target)
    return self._manager.restore(step, args=ocp.args.StandardRestore(abstract))

  def path(self, step: int) -> str:
    return os.path.join(self.directory, str(step))

  def close(self) -> None:
    self._manager.close()
