"""TFDS datasets by name, user folders and .npz files, Stacked MNIST, and per-process shards.

Named TFDS datasets are read under `tfds.testing.mock_data` (it mocks `tfds.data_source`
too: random records of the real feature shapes). The ArrayRecord reading path itself is
tested on a tiny dataset built in tmp by a real tfds builder (PNG bytes need no TensorFlow).
"""

import io
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from conftest import load_config
from gan_jax import data, validation
from gan_jax.data import embedded, images as images_lib, stacked, tfds as tfds_lib


def _config(name: str, size: int, preprocess: str = 'none', crop: int = 0, workers: int = 0,
            batch: int = 8):
  config = load_config('celeba_dcgan')  # has every image-source key
  d = config.data
  d.name, d.image_size, d.preprocess, d.crop, d.batch_size = name, size, preprocess, crop, batch
  d.num_workers, d.prefetch, d.cache = workers, 2, False
  return config


@pytest.mark.parametrize('name,size,channels,preprocess,crop', [
    ('mnist', 28, 1, 'none', 0), ('fashion_mnist', 28, 1, 'none', 0),
    ('cifar10', 32, 3, 'none', 0), ('celeb_a', 64, 3, 'center_crop', 140)])
def test_named_tfds_datasets_load_through_make_source(name, size, channels, preprocess, crop):
  config = _config(f'tfds:{name}', size, preprocess, crop)
  validation.validate(config, num_devices=4)
  with tfds.testing.mock_data(num_examples=12):
    source = data.make_source(config)
    threaded = data.make_source(_config(f'tfds:{name}', size, preprocess, crop, workers=2))
    raw = tfds.data_source(name, split='train')
    b0 = source.batch(0)
    assert source.element_shape == (size, size, channels)
    assert b0.shape == (8, size, size, channels) and b0.dtype == np.float32
    assert -1.0 <= b0.min() and b0.max() <= 1.0
    for step in (0, 1, 2, 7):  # same batches with worker threads and prefetch, wrapping epochs
      np.testing.assert_array_equal(threaded.batch(step), source.batch(step))
    assert not np.array_equal(source.batch(0), source.batch(1))
    config.seed += 1  # another seed, another order
    assert not np.array_equal(data.make_source(config).indices(0), source.indices(0))
    # Element k of a batch is the record the epoch order names, fitted by the policy.
    i = int(source.indices(1)[3])
    want = images_lib.fit(raw[i]['image'], size, preprocess, crop, 'test')
    np.testing.assert_array_equal(source.batch(1)[3], images_lib.to_unit_scale(want))
    threaded.close()
  # One epoch reads every record once.
  seen = np.concatenate([source.indices(s) for s in range(3)])[:12]
  assert sorted(seen.tolist()) == list(range(12))


def test_celeba_crop_takes_the_centre_140_then_resizes():
  image = np.zeros((218, 178, 3), np.uint8)
  image[39:179, 19:159] = 200  # exactly the central 140 x 140 square
  out = images_lib.fit(image, 64, 'center_crop', 140, 'face')
  assert out.shape == (64, 64, 3) and out.min() == 200


class GanJaxTinyImages(tfds.core.GeneratorBasedBuilder):
  """A real (not mocked) TFDS dataset of 10 PNG images, written as ArrayRecord."""

  VERSION = tfds.core.Version('1.0.0')

  def _info(self):
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
        'image': tfds.features.Image(shape=(6, 6, 3)), 'label': tfds.features.ClassLabel(num_classes=2)}))

  def _split_generators(self, dl_manager):
    return {'train': self._generate_examples()}

  def _generate_examples(self):
    for i, image in enumerate(_tiny_images()):
      png = io.BytesIO()
      Image.fromarray(image).save(png, format='PNG')
      yield i, {'image': png.getvalue(), 'label': i % 2}


def _tiny_images() -> np.ndarray:
  return np.random.default_rng(0).integers(0, 256, (10, 6, 6, 3), dtype=np.uint8)


def test_real_array_record_dataset_round_trips(tmp_path):
  GanJaxTinyImages(data_dir=str(tmp_path), file_format='array_record').download_and_prepare()
  config = _config('tfds:gan_jax_tiny_images', 6, batch=4)
  config.data.data_dir = str(tmp_path)
  source = data.make_source(config)
  raw = tfds.data_source('gan_jax_tiny_images', split='train', data_dir=str(tmp_path))
  order = np.concatenate([source.indices(s) for s in range(5)])
  got = np.concatenate([source.batch(s) for s in range(5)])
  np.testing.assert_array_equal(got, images_lib.to_unit_scale(np.stack([raw[int(i)]['image'] for i in order])))
  # PNG is lossless: the 10 records of an epoch are exactly the 10 images written (tfds
  # shuffles records when writing, so compare as sets).
  assert _as_set(got[:10]) == _as_set(images_lib.to_unit_scale(_tiny_images()))


def _as_set(images: np.ndarray) -> set[bytes]:
  return {x.tobytes() for x in images}


def test_unprepared_dataset_names_the_dir_and_the_command(tmp_path):
  config = _config('tfds:cifar10', 32)
  config.data.data_dir = str(tmp_path)
  with pytest.raises(tfds_lib.NotPreparedError) as info:
    data.make_source(config)
  message = str(info.value)
  assert f"searched {tmp_path}{os.sep}cifar10" in message
  assert "pip install 'gan_jax[tfds]'" in message
  assert f'tfds build cifar10 --data_dir={tmp_path} --file_format=array_record' in message
  assert "file_format='array_record').download_and_prepare()" in message
  config.data.name = 'tfds:no_such_dataset_zz'
  with pytest.raises(ValueError, match="TFDS has no dataset 'no_such_dataset_zz'"):
    data.make_source(config)


def _write(folder, name, array, fmt='PNG'):
  path = os.path.join(folder, name)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path, format=fmt)
  return path


def test_folder_of_images_happy_path(tmp_path):
  rng = np.random.default_rng(1)
  pics = rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
  for i, pic in enumerate(pics):  # nested folders, sorted by path: a/0..2 then b/3..5
    _write(tmp_path, f'{"ab"[i // 3]}/{i}.png', pic)
  Image.fromarray(pics[0]).save(tmp_path / 'notes.txt.bmp')  # other extensions are ignored
  source = data.make_source(_config(f'folder:{tmp_path}', 8, batch=3, workers=2))
  assert source.element_shape == (8, 8, 3)
  for step in range(4):
    want = images_lib.to_unit_scale(pics[source.indices(step)])
    np.testing.assert_array_equal(source.batch(step), want)
  # Any sizes are fine once they are cropped/resized; grayscale gives one channel.
  gray = tmp_path / 'gray'
  _write(gray, 'x.jpg', rng.integers(0, 256, (20, 12), dtype=np.uint8), 'JPEG')
  _write(gray, 'y.png', rng.integers(0, 256, (9, 15), dtype=np.uint8))
  source = data.make_source(_config(f'folder:{gray}', 8, 'center_crop', batch=2))
  assert source.batch(0).shape == (2, 8, 8, 1)


@pytest.mark.parametrize('files,policy,message', [
    ({'a.png': (8, 8, 3), 'b.png': (8, 8, 4)}, 'none', r"b.png: PIL mode 'RGBA'; expected 8-bit grayscale \('L'\) or RGB"),
    ({'a.png': (8, 8, 3), 'b.png': (8, 8)}, 'none', r"b.png: 1 channel\(s\) \(L\), but .*a.png has 3 \(RGB\)"),
    ({'a.png': (8, 8, 3), 'b.png': (8, 9, 3)}, 'none', r"b.png: image is 8x9, expected 8x8 \(config.data.image_size\)"),
    ({'a.png': (8, 8, 3), 'b.png': b'not an image'}, 'none', r'b.png: not a readable PNG/JPEG image'),
    ({'a.png': (4, 9, 3)}, 'center_crop', r'a.png: image is 4x9, smaller than config.data.crop=6'),
    ({'readme.txt': b'hi'}, 'none', r'holds no .png/.jpg/.jpeg files'),
])
def test_bad_folders_name_the_file_and_the_expectation(tmp_path, files, policy, message):
  for name, spec in files.items():
    if isinstance(spec, bytes):
      (tmp_path / name).write_bytes(spec)
    else:
      _write(tmp_path, name, np.zeros(spec, np.uint8))
  config = _config(f'folder:{tmp_path}', 8, policy, crop=6 if policy == 'center_crop' else 0, batch=1)
  with pytest.raises((ValueError, FileNotFoundError), match=message):
    data.make_source(config).batch(0)


def test_cache_serves_later_epochs_without_decoding(tmp_path):
  for i in range(6):
    _write(tmp_path, f'{i}.png', np.full((4, 4, 3), 40 * i, np.uint8))
  plain = data.make_source(_config(f'folder:{tmp_path}', 4, batch=3))
  for workers in (0, 2):
    config = _config(f'folder:{tmp_path}', 4, batch=3, workers=workers)
    config.data.cache = True
    cached = data.make_source(config)
    decode, calls = cached._decode, []
    cached._decode = lambda i: calls.append(i) or decode(i)  # noqa: B023
    for step in range(6):  # three epochs
      np.testing.assert_array_equal(cached.batch(step), plain.batch(step))
    cached.close()
    # Without threads each record is decoded exactly once (look-ahead may decode one twice).
    if not workers:
      assert sorted(calls) == list(range(6))


def test_npz_happy_paths(tmp_path):
  rng = np.random.default_rng(2)
  pics = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
  np.savez(tmp_path / 'u8.npz', images=pics, labels=np.arange(5))
  np.savez(tmp_path / 'float.npz', pics.astype(np.float32) / 255)
  np.savez(tmp_path / 'gray.npz', x=pics[..., 0].astype(np.int64))
  for name in ('u8', 'float'):
    source = data.make_source(_config(f'npz:{tmp_path / name}.npz', 8, batch=5))
    assert _as_set(source.batch(0)) == _as_set(images_lib.to_unit_scale(pics))
  gray = data.make_source(_config(f'npz:{tmp_path}/gray.npz', 4, 'resize', batch=5))
  assert gray.batch(0).shape == (5, 4, 4, 1)


@pytest.mark.parametrize('arrays,message', [
    ({'images': np.zeros((2, 8, 8, 3)) - 1}, r'float values span \[-1, -1\]; expected uint8 in \[0, 255\] or floats in \[0, 1\] \(for data in \[-1, 1\] store \(x \+ 1\) / 2\)'),
    ({'images': np.full((2, 8, 8, 3), 300, np.uint16)}, r'uint16 values span \[300, 300\]'),
    ({'images': np.zeros((2, 8, 8, 4), np.uint8)}, r'images have shape \(2, 8, 8, 4\); expected \[N, H, W\] or \[N, H, W, C\]'),
    ({'images': np.zeros((2, 8, 8, 3), bool)}, r'images have dtype bool'),
    ({'images': np.full((2, 8, 8, 3), np.nan)}, r'images contain NaN or Inf'),
    ({'a': np.zeros((2, 8, 8), np.uint8), 'b': np.zeros(2)}, r"holds arrays \['a', 'b'\]; name the image array 'images'"),
    ({'images': np.zeros((2, 9, 9), np.uint8)}, r"images are 9x9, expected 8x8 \(config.data.image_size\)"),
])
def test_bad_npz_files_say_what_is_expected(tmp_path, arrays, message):
  path = tmp_path / 'bad.npz'
  np.savez(path, **arrays)
  with pytest.raises(ValueError, match=rf'{path}: {message}'):
    data.make_source(_config(f'npz:{path}', 8))


def test_stacked_mnist_batches_labels_and_channel_split():
  config = load_config('stacked_mnist_dcgan')
  source = data.make_source(config)
  digits, labels = embedded.load_mnist_5k()
  images, modes = source.batch_with_labels(3)
  assert images.shape == (16, 28, 28, 3) and images.dtype == np.float32
  np.testing.assert_array_equal(images, data.make_source(config).batch(3))  # pure in (seed, step)
  assert not np.array_equal(images, source.batch(4))
  triples = source.triples(3)
  np.testing.assert_array_equal(modes, labels[triples] @ np.array([100, 10, 1]))
  # Channel k of sample n is digit triples[n, k]; split_channels gives them back in order.
  split = stacked.split_channels(images)
  np.testing.assert_array_equal(split, images_lib.to_unit_scale(digits[triples.ravel()]))
  np.testing.assert_array_equal(stacked.mode_labels(labels[triples.ravel()]), modes)
  # Uniform over the 1,000 modes: 6,400 draws cover ~998 of them.
  source = data.make_source(load_config('stacked_mnist_dcgan', None))
  seen = np.concatenate([source.batch_with_labels(s)[1] for s in range(100)])
  assert seen.min() >= 0 and seen.max() < 1000 and len(np.unique(seen)) > 990
  # At 32x32 the digits are resized; split_channels resizes them back for a 28x28 classifier.
  config.data.image_size = 32
  big = data.make_source(config).batch(3)
  assert big.shape == (16, 32, 32, 3) and stacked.split_channels(big).shape == (48, 28, 28, 1)


def _sources(tmp_path):
  np.savez(tmp_path / 'x.npz', images=np.random.default_rng(3).integers(0, 256, (40, 4, 4, 3), np.uint8))
  for i in range(10):
    _write(tmp_path / 'pics', f'{i}.png', np.full((4, 4, 3), i * 20, np.uint8))
  return {'npz': _config(f'npz:{tmp_path}/x.npz', 4), 'folder': _config(f'folder:{tmp_path}/pics', 4),
          'stacked': load_config('stacked_mnist_dcgan'), 'tfds': _config('tfds:cifar10', 32)}


def test_two_processes_get_disjoint_shards_of_every_source(tmp_path):
  for kind, config in _sources(tmp_path).items():
    config.data.batch_size = 8
    with tfds.testing.mock_data(num_examples=40):
      whole, first, second = (data.make_source(config, i, n) for i, n in ((0, 1), (0, 2), (1, 2)))
      for step in (0, 4):
        a, b = first.batch(step), second.batch(step)
        assert len(a) == len(b) == 4, kind
        np.testing.assert_array_equal(np.concatenate([a, b]), whole.batch(step), err_msg=kind)
    if kind == 'stacked':
      picks = first.triples(0), second.triples(0)
    else:
      picks = first.indices(0), second.indices(0)
    np.testing.assert_array_equal(np.concatenate(picks), whole.triples(0) if kind == 'stacked'
                                  else whole.indices(0))
    if kind != 'stacked':  # records within an epoch: the two shards never share one
      assert not set(picks[0].tolist()) & set(picks[1].tolist()), kind


@pytest.mark.parametrize('change,message', [
    ({'name': 'tfds:'}, "config.data.name='tfds:' is not valid"),
    ({'preprocess': 'squash'}, "config.data.preprocess='squash' is not valid; choose one of: none, resize, center_crop"),
    ({'crop': -1}, 'config.data.crop=-1 >= 0'),
    ({'num_workers': -2}, 'config.data.num_workers=-2 and config.data.prefetch=0 must be >= 0'),
    ({'image_size': 48}, r"config.model.name='dcgan' supports image sizes \[28, 32, 64\]; .* gives 48"),
])
def test_bad_data_keys_fail_validation(change, message):
  config = load_config('celeba_dcgan')
  for key, value in change.items():
    config.data[key] = value
  with pytest.raises(validation.ConfigError, match=message):
    validation.validate(config, num_devices=4)


def test_image_sources_need_their_keys_and_models_their_sizes():
  config = load_config('mnist_dcgan')
  config.data.name = 'tfds:cifar10'
  with pytest.raises(validation.ConfigError, match=r'needs config.data.image_size, .*config.data.data_dir'):
    validation.validate(config, num_devices=4)
  config = load_config('cifar10_sngan')
  config.data.image_size = 28
  with pytest.raises(validation.ConfigError, match=r"'resnet' supports image sizes \[32, 64\]"):
    validation.validate(config, num_devices=4)
  config = load_config('stacked_mnist_dcgan')
  config.data.image_size, config.data.preprocess = 32, 'none'
  with pytest.raises(validation.ConfigError, match="stacked MNIST digits are 28x28"):
    validation.validate(config, num_devices=4)


def test_a_fresh_source_continues_where_a_used_one_is(tmp_path):
  # The data position is just the step: a source created after a restart, reading from step 3,
  # gives what a source that has read (and prefetched) since step 0 gives.
  for kind, config in _sources(tmp_path).items():
    config.data.batch_size = 4
    with tfds.testing.mock_data(num_examples=10):
      used, fresh = data.make_source(config), data.make_source(config)
      straight = [used.batch(step) for step in range(6)]
      for step in range(3, 6):
        np.testing.assert_array_equal(fresh.batch(step), straight[step], err_msg=kind)


def test_resumed_run_on_a_user_npz_matches_an_uninterrupted_one(tmp_path, capsys):
  import jax
  from gan_jax import train
  images = np.random.default_rng(0).integers(0, 256, (40, 28, 28, 1), dtype=np.uint8)
  np.savez(tmp_path / 'digits.npz', images=images)

  def config(steps):
    c = load_config('mnist_dcgan')
    c.data.unlock()
    c.data.name = f'npz:{tmp_path}/digits.npz'
    c.data.image_size, c.data.preprocess, c.data.crop = 28, 'none', 0
    c.eval.every = 0  # the MNIST scores are for mnist_5k
    c.train.num_steps = steps
    return c

  train.train_and_evaluate(config(3), str(tmp_path / 'resumed'))
  resumed = train.train_and_evaluate(config(6), str(tmp_path / 'resumed'))
  assert 'Resuming from the checkpoint at step 3.' in capsys.readouterr().out
  straight = train.train_and_evaluate(config(6), str(tmp_path / 'straight'))
  assert int(resumed.step) == 6
  for a, b in zip(jax.tree_util.tree_leaves(resumed), jax.tree_util.tree_leaves(straight)):
    np.testing.assert_array_equal(a, b)
