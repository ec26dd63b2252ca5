"""Expands an experiment's `get_hyper(h)` sweep into runs and launches them.

  python launch/sweep.py --config=experiments/toy_grid.py[:arg] --root=runs/NAME [--parallel=N] [--dry_run]
  python launch/sweep.py --config=... --root=... --backend=tpu --tpu=NAME[,NAME2] --zone=Z [--project=P]

Each run gets the workdir `<root>/<name>`, the name built from its overrides
(`loss.name=hinge,seed=1`; long or unusual ones are shortened and end in `+<hash>`), and runs
`python -m gan_jax.main --config=<config> --workdir=<workdir> --config.<key>=<value> ...`
with its output in `<workdir>/stdout.log`. Runs whose workdir already holds the final
checkpoint (step >= train.num_steps) are skipped, so relaunching the same command finishes
what is left; unfinished runs resume from their latest checkpoint.

Local backend: `--parallel` runs at once (on CPU they share the cores). TPU backend: each run
is `gcloud compute tpus tpu-vm ssh NAME --worker=all --command="cd ~/gan_jax && .venv/bin/python
-m gan_jax.main ..."`, queued one after another per slice, spread round-robin over the slices
named in `--tpu`; `--root` is then an absolute path on a filesystem every worker mounts (finished
runs there are not visible here, but a finished run restarted by main exits right after restoring).
`--dry_run` prints the exact commands and runs nothing. Afterwards: `launch/summarize.py`.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from typing import Any, Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gan_jax import hyper  # noqa: E402

PREEMPTED_EXIT_CODE = 75  # gan_jax.train's exit code after a signal: checkpoint saved, rerun resumes
MAX_NAME = 100  # characters of a workdir name; well under the usual 255-byte limit
_UNSAFE = re.compile(r'[^A-Za-z0-9._,=+-]')


# --- Names and commands -------------------------------------------------------------------

def flag_value(value: Any) -> str:
  """`value` as ml_collections' flag parser reads it back (tuples via literal_eval)."""
  if isinstance(value, bool):
    return 'true' if value else 'false'
  if isinstance(value, tuple):
    inner = ','.join(repr(v) for v in value)  # no spaces: fewer shell quotes
    return f'({inner},)' if len(value) == 1 else f'({inner})'
  if isinstance(value, float):
    return repr(value)  # shortest exact form
  return str(value)


def _name_value(value: Any) -> str:
  if isinstance(value, bool):
    return 'true' if value else 'false'
  if isinstance(value, tuple):
    return '-'.join(_name_value(v) for v in value) or 'empty'
  if value is None:
    return 'none'
  return repr(value) if isinstance(value, float) else str(value)


def _ordered(overrides: dict[str, Any]) -> list[str]:
  # Sorted for a name independent of declaration order; seed last, as it varies fastest.
  return sorted(overrides, key=lambda k: (k == 'seed', k))


def _short_keys(keys: Sequence[str]) -> dict[str, str]:
  """Each key's shortest dotted suffix that no other key of the run ends with."""
  out = {}
  for key in keys:
    parts = key.split('.')
    for n in range(1, len(parts) + 1):
      suffix = '.'.join(parts[-n:])
      if not any(k != key and (k == suffix or k.endswith('.' + suffix)) for k in keys):
        break
    out[key] = suffix
  return out


def run_name(overrides: dict[str, Any]) -> str:
  """A readable, filesystem- and shell-safe, deterministic workdir name for one run.

  Distinct overrides give distinct names: a name that had to be sanitized or shortened
  ends in `+` and 8 hex digits of a hash of the exact overrides.
  """
  if not overrides:
    return 'default'
  keys = _ordered(overrides)
  exact = ','.join(f'{k}={_name_value(overrides[k])}' for k in keys)
  name = _UNSAFE.sub('_', exact)
  if name == exact and len(name) <= MAX_NAME:
    return name
  if len(name) > MAX_NAME:
    short = _short_keys(keys)
    name = _UNSAFE.sub('_', ','.join(f'{short[k]}={_name_value(overrides[k])}' for k in keys))
  digest = hashlib.sha1(repr(sorted(overrides.items())).encode()).hexdigest()[:8]
  return f'{name[:MAX_NAME - 9]}+{digest}'


def main_args(config: str, workdir: str, overrides: dict[str, Any]) -> list[str]:
  """The arguments after `python` for one run of gan_jax.main."""
  return ['-m', 'gan_jax.main', f'--config={config}', f'--workdir={workdir}',
          *(f'--config.{k}={flag_value(overrides[k])}' for k in _ordered(overrides))]


def tpu_command(tpu: str, zone: str, project: str | None, args: Sequence[str],
                remote_dir: str = '~/gan_jax') -> list[str]:
  """gcloud argv running `.venv/bin/python <args>` in `remote_dir` on every worker of `tpu`."""
  remote = f'cd {remote_dir} && .venv/bin/python {shlex.join(args)}'
  return ['gcloud', 'compute', 'tpus', 'tpu-vm', 'ssh', tpu, f'--zone={zone}',
          *([f'--project={project}'] if project else []), '--worker=all', f'--command={remote}']


def display(argv: Sequence[str]) -> str:
  """A shell line for argv (shlex.split gives argv back); --command= is double-quoted."""
  words = []
  for arg in argv:
    if arg.startswith('--command='):
      body = re.sub(r'(["\\$`])', r'\\\1', arg[len('--command='):])
      words.append(f'--command="{body}"')
    else:
      words.append(shlex.quote(arg))
  return ' '.join(words)


# --- Planning -------------------------------------------------------------------------------

@dataclasses.dataclass
class Run:
  name: str
  workdir: str
  overrides: dict[str, Any]
  num_steps: int
  argv: list[str] = dataclasses.field(default_factory=list)
  lane: str | None = None  # TPU slice: one run at a time on each


def checkpoint_steps(workdir: str) -> list[int]:
  """Steps of the complete checkpoints in `<workdir>/checkpoints` (names only; no arrays read)."""
  directory = os.path.join(workdir, 'checkpoints')
  if not os.path.isdir(directory):
    return []
  from orbax.checkpoint.path import step as ocp_step  # slow import: only when needed
  return sorted(ocp_step.checkpoint_steps(directory))  # skips orbax's in-progress tmp dirs


def is_finished(run: Run) -> bool:
  # >= rather than ==: a run trained further before would resume past num_steps and do nothing.
  return any(step >= run.num_steps for step in checkpoint_steps(run.workdir))


def plan(config: str, root: str) -> list[Run]:
  """The sweep's runs, each checked as gan_jax.main would before compiling anything."""
  from gan_jax import validation  # imports JAX; worth it to fail before launching N runs
  base, sweep = hyper.from_experiment(config)
  runs, errors = [], []
  for overrides in sweep:
    name = run_name(overrides)
    resolved = hyper.apply(base, overrides)
    try:
      validation.validate(resolved, num_devices=1)  # the batch split is checked by each run
    except validation.ConfigError as e:
      errors.append(f'  {name}: {e}')
    runs.append(Run(name, os.path.join(root, name), overrides, resolved.train.num_steps))
  names = [r.name for r in runs]
  if len(set(names)) != len(names):  # cannot happen unless hashes collide; never share a workdir
    raise ValueError(f'Two runs map to the same workdir name: {names}')
  if errors:
    raise ValueError('Invalid runs in the sweep:\n' + '\n'.join(errors))
  return runs


# --- Running --------------------------------------------------------------------------------

def _log_path(run: Run) -> str:
  return os.path.join(run.workdir, 'stdout.log')


def execute(runs: Sequence[Run], parallel: int,
            env: dict[str, str] | None = None) -> tuple[dict[str, int], set[str]]:
  """Runs each run's argv, at most `parallel` at once and one per lane.

  Returns (exit code by name, names stopped by an interrupt). Ctrl-C or SIGTERM asks the
  running ones to checkpoint and stop (SIGTERM), waits for them and starts nothing new;
  those not started are missing from the codes.
  """
  pending, running, codes, stopped = list(runs), {}, {}, set()
  total = len(runs)

  def start(run: Run) -> None:
    os.makedirs(run.workdir, exist_ok=True)
    log = open(_log_path(run), 'a')
    log.write(f'\n=== {datetime.datetime.now().isoformat(timespec="seconds")} {display(run.argv)}\n')
    log.flush()
    proc = subprocess.Popen(run.argv, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env)
    running[proc] = (run, log, time.time())
    print(f'[{len(codes) + len(running)}/{total}] started {run.name}', flush=True)

  def reap(proc: subprocess.Popen, code: int, interrupted: bool = False) -> None:
    run, log, t0 = running.pop(proc)
    log.close()
    codes[run.name] = code
    if interrupted and code != 0:
      stopped.add(run.name)
    status = ('done' if code == 0 else
              'stopped, checkpoint saved' if code == PREEMPTED_EXIT_CODE else
              f'stopped (exit {code})' if interrupted else
              f'FAILED (exit {code}; log {_log_path(run)})')
    print(f'  {status}: {run.name} ({time.time() - t0:.0f} s)', flush=True)

  try:
    while pending or running:
      busy = {run.lane for run, _, _ in running.values()}
      for run in list(pending):
        if len(running) >= parallel:
          break
        if run.lane is None or run.lane not in busy:
          pending.remove(run)
          busy.add(run.lane)
          start(run)
      for proc in list(running):
        code = proc.poll()
        if code is not None:
          reap(proc, code)
      time.sleep(0.2)
  except KeyboardInterrupt:
    print(f'\nInterrupted: asking {len(running)} running run(s) to checkpoint and stop...', flush=True)
    for proc in running:
      proc.send_signal(signal.SIGTERM)  # not a 2nd SIGINT: that makes training stop unsaved
    for proc in list(running):
      reap(proc, proc.wait(), interrupted=True)
  return codes, stopped


def _raise_interrupt(signum, frame):
  raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--config', required=True, help='experiments/<name>.py[:arg] with get_hyper(h)')
  parser.add_argument('--root', required=True, help='folder holding one workdir per run')
  parser.add_argument('--parallel', type=int, default=1, help='local runs at once')
  parser.add_argument('--backend', choices=('local', 'tpu'), default='local')
  parser.add_argument('--tpu', default='', help='TPU VM name(s), comma-separated (--backend=tpu)')
  parser.add_argument('--zone', default='', help='TPU zone (--backend=tpu)')
  parser.add_argument('--project', default=None, help='GCP project (--backend=tpu; optional)')
  parser.add_argument('--remote_dir', default='~/gan_jax', help='checkout on the TPU VMs')
  parser.add_argument('--dry_run', action='store_true', help='print the commands, run nothing')
  args = parser.parse_args(argv)
  if args.parallel < 1:
    parser.error('--parallel must be >= 1')
  slices = [t for t in args.tpu.split(',') if t]
  if args.backend == 'tpu' and not (slices and args.zone):
    parser.error('--backend=tpu needs --tpu=NAME[,NAME2,...] and --zone=ZONE')
  if args.backend == 'tpu' and not os.path.isabs(args.root):
    # Every worker of a slice writes its part of each checkpoint: a per-VM relative path
    # would scatter checkpoints over local disks that no restore can put back together.
    parser.error(f'--root={args.root}: with --backend=tpu the workdirs must be on a filesystem '
                 'every worker of the slice mounts; give its absolute path, e.g. '
                 '--root=/mnt/shared/runs/NAME.')

  try:
    runs = plan(args.config, args.root)
  except (ValueError, KeyError, TypeError, FileNotFoundError) as e:
    print(f'error: {e.args[0] if isinstance(e, KeyError) else e}', file=sys.stderr)
    return 2
  todo, skipped = [], []
  for run in runs:
    (skipped if is_finished(run) else todo).append(run)
  for i, run in enumerate(todo):
    args_ = main_args(args.config, run.workdir, run.overrides)
    if args.backend == 'tpu':
      run.lane = slices[i % len(slices)]  # round-robin; each slice runs its queue in order
      run.argv = tpu_command(run.lane, args.zone, args.project, args_, args.remote_dir)
    else:
      run.argv = [sys.executable, *args_]
  print(f'{len(runs)} runs in {args.root}: {len(todo)} to run, {len(skipped)} finished (skipped).')
  for run in skipped:
    print(f'# skip {run.name} (checkpoint at step >= {run.num_steps})')

  if args.dry_run:
    for lane in (slices if args.backend == 'tpu' else [None]):
      queue = [r for r in todo if r.lane == lane]
      if lane is not None:
        print(f'# {lane}: {len(queue)} run(s), one after another')
      for run in queue:
        print(display(run.argv))
    return 0

  os.makedirs(args.root, exist_ok=True)
  with open(os.path.join(args.root, 'sweep.json'), 'w') as f:
    json.dump({'config': args.config, 'backend': args.backend,
               'runs': [{'name': r.name, 'overrides': r.overrides, 'finished': r in skipped,
                         'command': display(r.argv) if r.argv else None} for r in runs]},
              f, indent=2)
  env = dict(os.environ)
  env.setdefault('TQDM_MININTERVAL', '10')  # a progress line every 10 s, not a flood, in the logs
  signal.signal(signal.SIGTERM, _raise_interrupt)
  parallel = len(slices) if args.backend == 'tpu' else args.parallel
  codes, stopped = execute(todo, parallel, env)
  failed = [name for name, code in codes.items() if code != 0 and name not in stopped]
  not_started = len(todo) - len(codes)
  extra = (f', interrupted {len(stopped)}' if stopped else '') + (
      f', not started {not_started}' if not_started else '')
  print(f'Summary: ran {len(codes)}, skipped {len(skipped)}, failed {len(failed)}{extra} '
        f'(of {len(runs)} runs).')
  for name in failed:
    print(f'  failed: {name} (exit {codes[name]}): {os.path.join(args.root, name, "stdout.log")}')
  if stopped or not_started:
    print('Run the same command again to resume.')
  elif not failed:
    print(f'Next: python launch/summarize.py --root={args.root}')
  return 1 if failed or stopped or not_started else 0


if __name__ == '__main__':
  sys.exit(main())
