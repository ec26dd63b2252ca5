"""Joining a multi-process (multi-host) JAX run before anything else touches the devices.

TPU pod slices (and SLURM) are detected by `jax.distributed.initialize()` itself; elsewhere the
three flags of `gan_jax.main` say where the coordinator is. On CPU the collectives between
processes go through gloo.
"""

from __future__ import annotations

import os

import jax


def _on_multihost_cluster() -> bool:
  hosts = os.environ.get('TPU_WORKER_HOSTNAMES', '')
  return ',' in hosts or int(os.environ.get('SLURM_NTASKS', '1')) > 1


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> bool:
  """Calls jax.distributed.initialize when this is one process of several; returns whether it did."""
  explicit = (coordinator_address, num_processes, process_id)
  if any(v is not None for v in explicit):
    if any(v is None for v in explicit):
      raise ValueError('--coordinator_address, --num_processes and --process_id go together '
                       f'(got {coordinator_address!r}, {num_processes!r}, {process_id!r}).')
    if not 0 <= process_id < num_processes:
      raise ValueError(f'--process_id={process_id} must be in [0, --num_processes={num_processes}).')
  elif not _on_multihost_cluster():
    return False
  # Cross-process collectives of the CPU backend need an implementation (gloo ships with
  # jaxlib); accelerators ignore this setting.
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  jax.distributed.initialize(coordinator_address, num_processes, process_id)
  return True
