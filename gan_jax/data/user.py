"""Your own images: a folder of PNG/JPEG files (`'folder:/path'`) or an .npz file (`'npz:/path'`).

Both are checked where they are read, and every error names the file and what was expected:
images are 8-bit grayscale or RGB (1 or 3 channels, the same for all), and with
config.data.preprocess='none' exactly config.data.image_size pixels square.

Folder: every *.png, *.jpg, *.jpeg below the path (sorted, recursive). Headers are scanned at
load (mode and size, no decoding); the pixels are decoded per batch on worker threads.
npz: the array named 'images', or the only array; [N, H, W] or [N, H, W, C]; uint8 (or any
integers in 0..255), or floats in [0, 1]. It is held in memory.
"""

from __future__ import annotations

import os

import ml_collections
import numpy as np
from PIL import Image, UnidentifiedImageError

from gan_jax.data import images as images_lib

EXTENSIONS = ('.png', '.jpg', '.jpeg')
_CHANNELS = {'L': 1, 'RGB': 3}  # PIL modes we accept, without silent conversion


def list_images(folder: str) -> list[str]:
  if not os.path.isdir(folder):
    raise FileNotFoundError(f"config.data.name='folder:{folder}': no such directory.")
  paths = []
  for root, dirs, files in os.walk(folder):
    dirs.sort()
    paths += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(EXTENSIONS)]
  if not paths:
    raise FileNotFoundError(f'{folder} holds no {"/".join(EXTENSIONS)} files (searched recursively).')
  return paths


def _header(path: str) -> tuple[str, tuple[int, int]]:
  try:
    with Image.open(path) as image:
      return image.mode, image.size
  except (UnidentifiedImageError, OSError) as e:
    raise ValueError(f'{path}: not a readable PNG/JPEG image ({e}).') from e


def scan_folder(paths: list[str], size: int, policy: str) -> int:
  """Checks every file's mode (and size under policy 'none'); returns the channel count."""
  first = None
  for path in paths:
    mode, (w, h) = _header(path)
    if mode not in _CHANNELS:
      raise ValueError(f"{path}: PIL mode {mode!r}; expected 8-bit grayscale ('L') or RGB images. "
                       "Convert it, e.g. Image.open(f).convert('RGB').save(f).")
    if first is None:
      first = (path, mode)
    elif mode != first[1]:
      raise ValueError(f'{path}: {_CHANNELS[mode]} channel(s) ({mode}), but {first[0]} has '
                       f'{_CHANNELS[first[1]]} ({first[1]}); all images need the same channels.')
    if policy == 'none' and (h, w) != (size, size):
      raise ValueError(f'{path}: image is {h}x{w}, expected {size}x{size} (config.data.image_size). '
                       "Set config.data.preprocess='resize' or 'center_crop' to adapt it.")
  return _CHANNELS[first[1]]


def make_folder(folder: str, d: ml_collections.ConfigDict, batch_size: int, seed: int, process_index: int,
                process_count: int) -> images_lib.RecordSource:
  images_lib.check_policy(d.preprocess, d.crop, d.image_size)
  paths = list_images(folder)
  channels = scan_folder(paths, d.image_size, d.preprocess)

  size, policy, crop = d.image_size, d.preprocess, d.crop  # plain values for the worker threads

  def load(i: int) -> np.ndarray:
    with Image.open(paths[i]) as image:
      pixels = np.asarray(image)
    pixels = images_lib.check_uint8_image(pixels, channels, paths[i])
    return images_lib.fit(pixels, size, policy, crop, paths[i])

  return images_lib.RecordSource(len(paths), load, (size, size, channels),
                                 batch_size, seed, process_index, process_count,
                                 d.num_workers, d.prefetch, d.cache)


def _pick_array(path: str) -> np.ndarray:
  if not os.path.isfile(path):
    raise FileNotFoundError(f"config.data.name='npz:{path}': no such file.")
  try:
    archive = np.load(path, allow_pickle=False)
  except (ValueError, OSError) as e:
    raise ValueError(f'{path}: not a readable .npz file ({e}).') from e
  with archive:
    names = list(archive.files)
    if 'images' in names:
      return archive['images']
    if len(names) == 1:
      return archive[names[0]]
  raise ValueError(f"{path}: holds arrays {names}; name the image array 'images' "
                   '(np.savez(path, images=x)) or store only one array.')


def to_uint8(array: np.ndarray, path: str) -> np.ndarray:
  """An npz image array as uint8 [N, H, W, C], or a ValueError saying what is wrong."""
  if array.ndim == 3:
    array = array[..., None]
  if array.ndim != 4 or array.shape[-1] not in (1, 3) or array.shape[0] == 0:
    raise ValueError(f'{path}: images have shape {array.shape}; expected [N, H, W] or [N, H, W, C] '
                     'with N > 0 and C = 1 or 3 (channels last).')
  expected = 'expected uint8 in [0, 255] or floats in [0, 1]'
  if array.dtype == np.uint8:
    return array
  if np.issubdtype(array.dtype, np.integer):  # bool is not an integer dtype here
    lo, hi = int(array.min()), int(array.max())
    if lo < 0 or hi > 255:
      raise ValueError(f'{path}: {array.dtype} values span [{lo}, {hi}]; {expected}.')
    return array.astype(np.uint8)
  if np.issubdtype(array.dtype, np.floating):
    if not np.all(np.isfinite(array)):
      raise ValueError(f'{path}: images contain NaN or Inf.')
    lo, hi = float(array.min()), float(array.max())
    if lo < 0 or hi > 1:
      hint = ' (for data in [-1, 1] store (x + 1) / 2)' if lo >= -1 and hi <= 1 else ''
      raise ValueError(f'{path}: float values span [{lo:.3g}, {hi:.3g}]; {expected}{hint}.')
    return np.round(array * 255).astype(np.uint8)
  raise ValueError(f'{path}: images have dtype {array.dtype}; {expected}.')


def load_npz(path: str, size: int, policy: str, crop: int) -> np.ndarray:
  """The npz's images fitted to [N, size, size, C] uint8."""
  images_lib.check_policy(policy, crop, size)
  images = to_uint8(_pick_array(path), path)
  if images.shape[1:3] == (size, size):
    return images
  if policy == 'none':
    raise ValueError(f'{path}: images are {images.shape[1]}x{images.shape[2]}, expected {size}x{size} '
                     "(config.data.image_size). Set config.data.preprocess='resize' or 'center_crop'.")
  return np.stack([images_lib.fit(x, size, policy, crop, f'{path} image {i}')
                   for i, x in enumerate(images)])
