"""TFDS image datasets by name (`config.data.name = 'tfds:cifar10'`), read without TensorFlow.

`tfds.data_source` gives random access to a dataset prepared in the ArrayRecord format, so
the shared epoch order (images.EpochOrder) picks the records of each step and batches stay
a pure function of (seed, step). Preparing a dataset (download + conversion) needs
TensorFlow and network access once: `pip install 'gan_jax[tfds]'`, then the `tfds build`
command that `NotPreparedError` prints.
"""

from __future__ import annotations

import ml_collections
import numpy as np

from gan_jax.data import images as images_lib


class NotPreparedError(FileNotFoundError):
  """The dataset is not in `data_dir` in a random-access format; the message says how to fix it."""


def _default_data_dir() -> str:
  from tensorflow_datasets.core import constants  # noqa: PLC0415  (tfds is imported lazily)
  return constants.get_default_data_dir()


def prepare_command(name: str, data_dir: str) -> str:
  return (f"  pip install 'gan_jax[tfds]'\n"
          f'  tfds build {name} --data_dir={data_dir} --file_format=array_record\n'
          f'or, from Python:\n'
          f'  python -c "import tensorflow_datasets as tfds; tfds.builder({name!r}, '
          f"data_dir={data_dir!r}, file_format='array_record').download_and_prepare()\"")


def _diagnose(name: str, split: str, data_dir: str, error: Exception) -> Exception:
  """A clear error for a failed `tfds.data_source` call."""
  import tensorflow_datasets as tfds  # noqa: PLC0415
  root = data_dir or _default_data_dir()
  try:
    builder = tfds.builder(name, data_dir=root)
  except tfds.core.registered.DatasetNotFoundError:
    return ValueError(f"config.data.name='tfds:{name}': TFDS has no dataset {name!r} "
                      '(tfds.list_builders() lists them).')
  if not builder.is_prepared():
    return NotPreparedError(
        f"TFDS dataset {name!r} is not prepared under config.data.data_dir={data_dir!r} "
        f'(searched {builder.data_dir}). Prepare it once (needs network and TensorFlow):\n'
        f'{prepare_command(name, root)}')
  formats = {f.value for f in builder.info.available_file_formats()}
  if 'array_record' not in formats:
    return NotPreparedError(
        f'TFDS dataset {name!r} in {builder.data_dir} was prepared as {builder.info.file_format}, '
        'which has no random access. Convert it:\n'
        f'  tfds convert_format --dataset_version_dir={builder.data_dir} --out_file_format=array_record\n'
        f'or rebuild it into another data_dir:\n{prepare_command(name, root)}')
  return ValueError(f"Could not open TFDS dataset {name!r}, split {split!r} in {builder.data_dir}: "
                    f'{type(error).__name__}: {error}')


def open_source(name: str, split: str, data_dir: str):
  """The random-access `tfds.data_source` of one split; never downloads."""
  try:
    import tensorflow_datasets as tfds  # noqa: PLC0415
  except ImportError as e:
    raise ImportError("config.data.name='tfds:...' needs tensorflow-datasets: "
                      "pip install 'gan_jax[tfds]'.") from e
  try:
    return tfds.data_source(name, split=split, data_dir=data_dir or None, download=False)
  except Exception as e:  # noqa: BLE001  tfds raises many types; _diagnose names the cause
    raise _diagnose(name, split, data_dir, e) from e


def image_channels(source, name: str) -> int | None:
  """Channels of the 'image' feature (None when the dataset does not fix them)."""
  features = source.dataset_info.features
  if 'image' not in features:
    raise ValueError(f"TFDS dataset {name!r} has no 'image' feature (it has: "
                     f'{", ".join(features.keys())}); gan_jax reads image datasets only.')
  shape = features['image'].shape
  return shape[-1] if shape and shape[-1] else None


def make(name: str, d: ml_collections.ConfigDict, batch_size: int, seed: int, process_index: int,
         process_count: int) -> images_lib.RecordSource:
  """The RecordSource for `config.data` `d` with d.name == 'tfds:<name>'."""
  images_lib.check_policy(d.preprocess, d.crop, d.image_size)
  source = open_source(name, d.split, d.data_dir)
  channels = image_channels(source, name)

  size, policy, crop = d.image_size, d.preprocess, d.crop  # plain values for the worker threads

  def load(i: int) -> np.ndarray:
    where = f'TFDS {name}[{d.split}] record {i}'
    image = images_lib.check_uint8_image(source[i]['image'], channels, where)
    return images_lib.fit(image, size, policy, crop, where)

  if channels is None:  # not fixed by the features: the first record decides (load checks the rest)
    channels = load(0).shape[-1]
  return images_lib.RecordSource(len(source), load, (size, size, channels),
                                 batch_size, seed, process_index, process_count,
                                 d.num_workers, d.prefetch, d.cache)

