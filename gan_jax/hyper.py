"""Sweep declarations: an experiment's `get_hyper(h)` builds its sweep with these helpers.

`h` is this module. A sweep is a list of override dicts, one per run, keyed by config path
(the leading 'config.' is optional and dropped):

  def get_hyper(h):
    return h.product([
        h.sweep('config.loss.name', ['nonsaturating', 'hinge']),
        h.zip([h.sweep('config.optim.g_lr', [1e-3, 2e-4]),
               h.sweep('config.optim.d_lr', [1e-3, 4e-4])]),
        h.fixed('config.train.num_steps', 4000),
        h.sweep('config.seed', range(3)),
    ])                                                  # 2 x 2 x 1 x 3 = 12 runs

`expand(get_hyper(h), get_config(arg))` checks every key and value against the config and
returns the override dicts, e.g. [{'loss.name': 'hinge', 'optim.g_lr': 0.001, ...}, ...];
`launch/sweep.py` turns each into a run.
"""

from __future__ import annotations

import builtins
import copy
import difflib
import importlib.util
import itertools
import os
import sys
import types
from typing import Any, Iterable, Sequence

import ml_collections

Sweep = list[dict[str, Any]]


def _key(name: str) -> str:
  if not isinstance(name, str) or not name:
    raise TypeError(f'A sweep key must be a config path string, got {name!r}.')
  return name[len('config.'):] if name.startswith('config.') else name


def sweep(name: str, values: Iterable[Any]) -> Sweep:
  """One run per value of config key `name`."""
  values = list(values)
  if not values:
    raise ValueError(f'h.sweep({name!r}, ...) got no values.')
  key = _key(name)
  return [{key: v} for v in values]


def fixed(name: str, value: Any) -> Sweep:
  """A single value for config key `name`, for every run it is combined with."""
  return [{_key(name): value}]


def _merge(parts: Sequence[dict[str, Any]], how: str) -> dict[str, Any]:
  merged: dict[str, Any] = {}
  for part in parts:
    for k, v in part.items():
      if k in merged:
        raise ValueError(f'h.{how}: key {k!r} is set by more than one of the combined sweeps.')
      merged[k] = v
  return merged


def product(sweeps: Sequence[Sweep]) -> Sweep:
  """Every combination of the sweeps' runs (the first sweep varies slowest)."""
  sweeps = [list(s) for s in sweeps]
  return [_merge(combo, 'product') for combo in itertools.product(*sweeps)]


def zip(sweeps: Sequence[Sweep]) -> Sweep:  # noqa: A001 - h.zip reads naturally in experiments
  """Run i takes run i of every sweep; all must have the same length."""
  sweeps = [list(s) for s in sweeps]
  lengths = [len(s) for s in sweeps]
  if len(set(lengths)) > 1:
    keys = [sorted({k for run in s for k in run}) for s in sweeps]
    detail = ', '.join(f'{"/".join(k)}: {n}' for k, n in builtins.zip(keys, lengths))
    raise ValueError(f'h.zip needs sweeps of equal length; got {detail}.')
  return [_merge(parts, 'zip') for parts in builtins.zip(*sweeps)]


def chain(sweeps: Sequence[Sweep]) -> Sweep:
  """The runs of each sweep one after another (e.g. two sub-grids with different keys)."""
  return [dict(run) for s in sweeps for run in s]


# --- Checking a sweep against the experiment's config -------------------------------------

def leaf_keys(config: ml_collections.ConfigDict, prefix: str = '') -> list[str]:
  """Dotted paths of every non-ConfigDict value, e.g. 'loss.regularizers.r1'."""
  keys = []
  for k, v in config.items():
    path = f'{prefix}{k}'
    if isinstance(v, ml_collections.ConfigDict):
      keys.extend(leaf_keys(v, path + '.'))
    else:
      keys.append(path)
  return keys


def get(config: ml_collections.ConfigDict, key: str) -> Any:
  value = config
  for part in key.split('.'):
    value = value[part]
  return value


def apply(config: ml_collections.ConfigDict, overrides: dict[str, Any]) -> ml_collections.ConfigDict:
  """A copy of `config` with the overrides set; errors name the key and the valid ones."""
  valid = leaf_keys(config)
  out = copy.deepcopy(config)
  for key, value in overrides.items():
    if key not in valid:
      if any(k.startswith(key + '.') for k in valid):
        raise KeyError(f'Sweep key {key!r} is a section of the config; sweep its entries '
                       f'instead, e.g. {next(k for k in valid if k.startswith(key + "."))!r}.')
      close = difflib.get_close_matches(key, valid, n=3)
      hint = f' Did you mean {", ".join(map(repr, close))}?' if close else ''
      raise KeyError(f'Unknown config key {key!r} in the sweep.{hint} Valid keys: '
                     f'{", ".join(valid)}.')
    parent, _, leaf = key.rpartition('.')
    node = get(out, parent) if parent else out
    if isinstance(value, list):  # configs hold tuples; a list literal means the same
      value = tuple(value)
    try:
      node[leaf] = value  # ml_collections checks the type (an int may become a float)
    except TypeError as e:
      raise TypeError(f'config.{key}={value!r} does not fit the config\'s type '
                      f'({type(get(config, key)).__name__}): {e}') from None
  return out


def expand(runs: Sweep, config: ml_collections.ConfigDict) -> Sweep:
  """Validated override dicts (lists made tuples); duplicate runs are an error."""
  if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
    raise TypeError('get_hyper(h) must return a sweep (a list of dicts) built with '
                    'h.sweep/h.fixed/h.product/h.zip/h.chain.')
  out, seen = [], set()
  for run in runs:
    run = {k: tuple(v) if isinstance(v, list) else v for k, v in run.items()}
    apply(config, run)
    ident = repr(sorted(run.items()))
    if ident in seen:
      raise ValueError(f'The sweep lists the run {run} twice.')
    seen.add(ident)
    out.append(run)
  return out


def load_experiment(spec: str) -> tuple[types.ModuleType, ml_collections.ConfigDict]:
  """`experiments/x.py[:arg]` -> (module, get_config(arg)), as `--config=` reads it."""
  path, *arg = spec.split(':', 1)  # ml_collections passes everything after the first ':'
  if not os.path.exists(path):
    raise FileNotFoundError(f'No experiment file {path!r}.')
  name = 'experiment_' + os.path.splitext(os.path.basename(path))[0]
  module_spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module, module.get_config(*arg)


def from_experiment(spec: str) -> tuple[ml_collections.ConfigDict, Sweep]:
  """(base config, expanded sweep) of `experiments/x.py[:arg]`; no get_hyper = one run."""
  module, config = load_experiment(spec)
  hyper = getattr(module, 'get_hyper', None)
  if hyper is None:
    return config, [{}]
  return config, expand(hyper(sys.modules[__name__]), config)  # `h` is this module
