"""Input-pipeline throughput (images/s of `make_source(config).batch(step)`) vs the train step.

  .venv/bin/python launch/bench_input.py [--batches=50] [--batch=64] [--step_bench]

Sources timed, each at --batch images per batch, reading batches 0..--batches-1 in order
(as the train loop does, so look-ahead decoding can help):
  mnist_5k             the embedded digits (in memory)
  stacked_mnist        three embedded digits per sample
  tfds mock cifar10    tfds.testing.mock_data: the TFDS path without files or decoding
  array_record 32 PNG  a real ArrayRecord dataset of 32x32 PNGs written to a temp dir by a
                       tfds builder (CIFAR-10's format), 0 and 4 worker threads
  array_record celeba  218x178 JPEGs, centre crop 140, resize to 64 (CelebA's path)
                       (each also with config.data.cache, timed after one full epoch)
With --step_bench it also runs `python -m gan_jax.bench --experiments=mnist_dcgan` and prints
the images/s one train step consumes, for comparison.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from PIL import Image  # noqa: E402

_BATCHES = flags.DEFINE_integer('batches', 50, 'Batches timed per source (after 2 warm-up batches).')
_BATCH = flags.DEFINE_integer('batch', 64, 'Images per batch (mnist_dcgan uses 64).')
_STEP_BENCH = flags.DEFINE_bool('step_bench', False, 'Also time the mnist_dcgan train step.')
_RECORDS = flags.DEFINE_integer('records', 2000, 'Records in the temporary ArrayRecord datasets.')

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _config(experiment: str, batch: int, **data):
  from gan_jax import bench  # noqa: PLC0415
  config = bench.load_experiment(experiment)
  config.data.batch_size = batch
  for key, value in data.items():
    config.data[key] = value
  return config


def _smooth_images(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
  """Photo-like test images (low-frequency colour fields plus mild noise), uint8 [n, h, w, 3]."""
  rng = np.random.default_rng(seed)
  out = np.empty((n, h, w, 3), np.uint8)
  for i in range(n):
    small = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    base = np.asarray(small.resize((w, h), Image.BICUBIC), np.int16)
    out[i] = np.clip(base + rng.integers(-8, 9, (h, w, 3)), 0, 255)
  return out


def _builder(class_name: str, shape: tuple[int, int, int], fmt: str, n: int):
  """A tfds builder writing n photo-like images; TFDS registers it as snake_case(class_name)."""
  import tensorflow_datasets as tfds  # noqa: PLC0415

  def info(self):
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(
        {'image': tfds.features.Image(shape=shape, encoding_format=fmt)}))

  def generate(self):
    for i, image in enumerate(_smooth_images(n, *shape[:2])):
      buf = io.BytesIO()
      Image.fromarray(image).save(buf, format=fmt.upper(), quality=90)
      yield i, {'image': buf.getvalue()}

  return type(class_name, (tfds.core.GeneratorBasedBuilder,), {
      'VERSION': tfds.core.Version('1.0.0'), '_info': info, '_generate_examples': generate,
      '_split_generators': lambda self, dl_manager: {'train': self._generate_examples()}})


class _Offset:
  """`source` with its steps shifted by `start` (to time the later epochs)."""

  def __init__(self, source, start: int):
    self.source, self.start = source, start

  def batch(self, step: int):
    return self.source.batch(self.start + step)


def _time(source, batches: int) -> float:
  """Images per second over `batches` consecutive batches, after two warm-up batches."""
  source.batch(0), source.batch(1)
  t0 = time.perf_counter()
  for step in range(2, 2 + batches):
    images = source.batch(step)
  elapsed = time.perf_counter() - t0
  return batches * len(images) / elapsed


def main(argv):
  del argv
  import tensorflow_datasets as tfds  # noqa: PLC0415

  from gan_jax import data  # noqa: PLC0415
  b, n = _BATCH.value, _BATCHES.value
  rows = []
  rows.append(('mnist_5k (in memory)', _time(data.make_source(_config('mnist_dcgan', b)), n)))
  rows.append(('stacked_mnist', _time(data.make_source(_config('stacked_mnist_dcgan', b)), n)))
  with tfds.testing.mock_data(num_examples=50000):
    for workers in (0, 4):
      source = data.make_source(_config('cifar10_sngan', b, num_workers=workers, prefetch=2))
      rows.append((f'tfds mock cifar10, {workers} workers', _time(source, n)))
  with tempfile.TemporaryDirectory() as tmp:
    for class_name, name, shape, fmt, exp in [
        ('GanJaxBenchPng32', 'gan_jax_bench_png32', (32, 32, 3), 'png', 'cifar10_sngan'),
        ('GanJaxBenchCeleba', 'gan_jax_bench_celeba', (218, 178, 3), 'jpeg', 'celeba_dcgan')]:
      t0 = time.perf_counter()
      builder = _builder(class_name, shape, fmt, _RECORDS.value)
      builder(data_dir=tmp, file_format='array_record').download_and_prepare()
      print(f'built {name} ({_RECORDS.value} records) in {time.perf_counter() - t0:.1f} s', flush=True)
      label = f'array_record {shape[0]}x{shape[1]} {fmt} -> {data.image_size(_config(exp, b))}'
      for workers in (0, 4):
        config = _config(exp, b, name=f'tfds:{name}', data_dir=tmp, num_workers=workers,
                         prefetch=2, cache=False)
        rows.append((f'{label}, {workers} workers', _time(data.make_source(config), n)))
      config = _config(exp, b, name=f'tfds:{name}', data_dir=tmp, num_workers=4, prefetch=2,
                       cache=True)
      source = data.make_source(config)
      epoch = -(-_RECORDS.value // b)
      for step in range(epoch + 1):  # one whole epoch fills the cache
        source.batch(step)
      rows.append((f'{label}, cache (2nd epoch on)', _time(_Offset(source, epoch + 1), n)))
  if _STEP_BENCH.value:
    with tempfile.NamedTemporaryFile(suffix='.jsonl') as f:
      subprocess.run([sys.executable, '-m', 'gan_jax.bench', '--experiments=mnist_dcgan',
                      f'--json={f.name}'], check=True, cwd=_ROOT, stdout=subprocess.DEVNULL)
      record = json.loads(open(f.name).read().splitlines()[-1])
    rows.append((f'mnist_dcgan train step consumes ({record["median_ms"]} ms/step, '
                 f'batch {record["batch_size"]})', record['images_per_s']))
  width = max(len(r[0]) for r in rows)
  print(f'{"source":<{width}}  images/s   (batch {b}, {n} batches)')
  for label, rate in rows:
    print(f'{label:<{width}}  {rate:>9,.0f}')


if __name__ == '__main__':
  app.run(main)
