"""The FID Inception-v3 (pytorch-fid's `FIDInceptionV3`) in Flax, for FID/KID/IS on natural images.

This is the network of the TF 2015-12-05 graph that the original FID and IS code used, as ported
by pytorch-fid: torchvision's Inception-v3 with patched blocks (average pools that ignore padding,
a max pool in the last E block), BatchNorm eps 1e-3, inputs bilinearly resized to 299x299. Its
2048-d pool3 output gives FID features and its 1008-way head the Inception-score probabilities.

Weights cannot be downloaded on our machines: the user supplies pytorch-fid's
`pt_inception-2015-12-05-6726825d.pth` (or an .npz with the same keys). It is read with numpy
and a restricted unpickler, without torch. Scores are comparable only between runs whose
weights have the same SHA-256 (`InceptionFeatures.checksum`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.evaluation.classifier import to_model_input
from gan_jax.evaluation.torch_weights import read_state_dict

WEIGHTS_NAME = 'pt_inception-2015-12-05-6726825d.pth'
ENV_VAR = 'GAN_JAX_INCEPTION_WEIGHTS'
RELEASES_URL = 'https://github.com/mseitzer/pytorch-fid/releases'  # tag fid_weights
# torch.hub-style names carry the first 8 hex digits of the file's SHA-256 (6726825d). This full
# value is the one reported for torch-fidelity's copy of the same weights (same tag); no copy of
# the file was at hand to confirm it, so a mismatch is reported (`is_reference_weights`), not fatal.
REFERENCE_SHA256 = '6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2'
FEATURE_DIM, NUM_CLASSES, RESOLUTION = 2048, 1008, 299
# Full float32 convolutions: GPUs/TPUs otherwise default to TF32/bf16, which shifts features.
_PRECISION = jax.lax.Precision.HIGHEST


# ----- the network (torch module names kept, so weights map by name) -----

class BasicConv(nn.Module):
  """Conv (no bias) - BatchNorm(eps 1e-3, running stats) - ReLU: torchvision's BasicConv2d."""

  features: int
  kernel: tuple[int, int] = (1, 1)
  stride: int = 1
  padding: tuple[int, int] = (0, 0)

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    x = nn.Conv(self.features, self.kernel, self.stride, padding=[(p, p) for p in self.padding],
                use_bias=False, precision=_PRECISION, name='conv')(x)
    x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name='bn')(x)
    return nn.relu(x)


def _avg_pool3(x: jax.Array) -> jax.Array:
  # TF's average pool divides by the number of real (unpadded) inputs: count_include_pad=False.
  return nn.avg_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool3(x: jax.Array, stride: int = 2, pad: int = 0) -> jax.Array:
  return nn.max_pool(x, (3, 3), (stride, stride), padding=((pad, pad), (pad, pad)))


class InceptionA(nn.Module):
  pool_features: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b1 = BasicConv(64, name='branch1x1')(x)
    b5 = BasicConv(48, name='branch5x5_1')(x)
    b5 = BasicConv(64, (5, 5), padding=(2, 2), name='branch5x5_2')(b5)
    b3 = BasicConv(64, name='branch3x3dbl_1')(x)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(b3)
    b3 = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_3')(b3)
    bp = BasicConv(self.pool_features, name='branch_pool')(_avg_pool3(x))
    return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b3 = BasicConv(384, (3, 3), stride=2, name='branch3x3')(x)
    bd = BasicConv(64, name='branch3x3dbl_1')(x)
    bd = BasicConv(96, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(bd)
    bd = BasicConv(96, (3, 3), stride=2, name='branch3x3dbl_3')(bd)
    return jnp.concatenate([b3, bd, _max_pool3(x)], axis=-1)


class InceptionC(nn.Module):
  channels_7x7: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    c = self.channels_7x7
    row, col = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
    b1 = BasicConv(192, name='branch1x1')(x)
    b7 = BasicConv(c, name='branch7x7_1')(x)
    b7 = BasicConv(c, **row, name='branch7x7_2')(b7)
    b7 = BasicConv(192, **col, name='branch7x7_3')(b7)
    bd = BasicConv(c, name='branch7x7dbl_1')(x)
    bd = BasicConv(c, **col, name='branch7x7dbl_2')(bd)
    bd = BasicConv(c, **row, name='branch7x7dbl_3')(bd)
    bd = BasicConv(c, **col, name='branch7x7dbl_4')(bd)
    bd = BasicConv(192, **row, name='branch7x7dbl_5')(bd)
    bp = BasicConv(192, name='branch_pool')(_avg_pool3(x))
    return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    b3 = BasicConv(192, name='branch3x3_1')(x)
    b3 = BasicConv(320, (3, 3), stride=2, name='branch3x3_2')(b3)
    b7 = BasicConv(192, name='branch7x7x3_1')(x)
    b7 = BasicConv(192, (1, 7), padding=(0, 3), name='branch7x7x3_2')(b7)
    b7 = BasicConv(192, (7, 1), padding=(3, 0), name='branch7x7x3_3')(b7)
    b7 = BasicConv(192, (3, 3), stride=2, name='branch7x7x3_4')(b7)
    return jnp.concatenate([b3, b7, _max_pool3(x)], axis=-1)


class InceptionE(nn.Module):
  # The TF graph's last block (Mixed_7c) max-pools here, where the paper average-pools.
  pool: str = 'avg'

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    row, col = dict(kernel=(1, 3), padding=(0, 1)), dict(kernel=(3, 1), padding=(1, 0))
    b1 = BasicConv(320, name='branch1x1')(x)
    b3 = BasicConv(384, name='branch3x3_1')(x)
    b3 = jnp.concatenate([BasicConv(384, **row, name='branch3x3_2a')(b3),
                          BasicConv(384, **col, name='branch3x3_2b')(b3)], axis=-1)
    bd = BasicConv(448, name='branch3x3dbl_1')(x)
    bd = BasicConv(384, (3, 3), padding=(1, 1), name='branch3x3dbl_2')(bd)
    bd = jnp.concatenate([BasicConv(384, **row, name='branch3x3dbl_3a')(bd),
                          BasicConv(384, **col, name='branch3x3dbl_3b')(bd)], axis=-1)
    pooled = _max_pool3(x, stride=1, pad=1) if self.pool == 'max' else _avg_pool3(x)
    bp = BasicConv(192, name='branch_pool')(pooled)
    return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class FIDInceptionV3(nn.Module):
  """[N, H, W, 3] in [-1, 1] -> (pool3 features [N, 2048], logits [N, 1008]).

  `resize` is the side the input is bilinearly resized to (299 for real scores; the tests use
  a smaller one, >= 75, for speed).
  """

  resize: int = RESOLUTION

  @nn.compact
  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    n, h, w, c = x.shape
    if (h, w) != (self.resize, self.resize):
      # torch's F.interpolate(bilinear, align_corners=False) does not antialias when shrinking.
      # pytorch-fid resizes [0, 1] images, then maps to [-1, 1]; resizing is affine-equivariant,
      # so resizing the [-1, 1] images directly is the same.
      x = jax.image.resize(x, (n, self.resize, self.resize, c), 'bilinear', antialias=False)
    x = BasicConv(32, (3, 3), stride=2, name='Conv2d_1a_3x3')(x)
    x = BasicConv(32, (3, 3), name='Conv2d_2a_3x3')(x)
    x = BasicConv(64, (3, 3), padding=(1, 1), name='Conv2d_2b_3x3')(x)
    x = _max_pool3(x)
    x = BasicConv(80, name='Conv2d_3b_1x1')(x)
    x = BasicConv(192, (3, 3), name='Conv2d_4a_3x3')(x)
    x = _max_pool3(x)
    for name, pool_features in (('Mixed_5b', 32), ('Mixed_5c', 64), ('Mixed_5d', 64)):
      x = InceptionA(pool_features, name=name)(x)
    x = InceptionB(name='Mixed_6a')(x)
    for name, channels in (('Mixed_6b', 128), ('Mixed_6c', 160), ('Mixed_6d', 160), ('Mixed_6e', 192)):
      x = InceptionC(channels, name=name)(x)
    x = InceptionD(name='Mixed_7a')(x)
    x = InceptionE('avg', name='Mixed_7b')(x)
    x = InceptionE('max', name='Mixed_7c')(x)
    pool3 = jnp.mean(x, axis=(1, 2))
    logits = nn.Dense(NUM_CLASSES, precision=_PRECISION, name='fc')(pool3)  # dropout: eval no-op
    return pool3, logits


# ----- torch names <-> Flax variables -----

# (Flax collection, leaf name) -> torch parameter suffix; kernels also transpose.
_TORCH_LEAF = {('params', 'kernel'): 'weight', ('params', 'scale'): 'weight',
               ('params', 'bias'): 'bias', ('batch_stats', 'mean'): 'running_mean',
               ('batch_stats', 'var'): 'running_var'}


def _torch_layout(shape: tuple[int, ...]) -> tuple[int, ...]:
  # Flax HWIO conv / (in, out) dense kernels are torch's OIHW / (out, in).
  return (*shape[-1:-3:-1], *shape[:-2]) if len(shape) == 4 else shape[::-1]


def _from_torch(array: np.ndarray) -> np.ndarray:
  return array.transpose(2, 3, 1, 0) if array.ndim == 4 else array.T


@functools.lru_cache(maxsize=None)
def _variable_layout() -> tuple[tuple[str, str, tuple[str, ...], tuple[int, ...]], ...]:
  """(torch key, collection, Flax path, torch shape) for every weight, from the architecture."""
  shapes = jax.eval_shape(FIDInceptionV3().init, jax.random.key(0), jnp.zeros((1, 75, 75, 3)))
  layout = []
  for collection, tree in shapes.items():
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
      names = tuple(p.key for p in path)
      suffix = _TORCH_LEAF[collection, names[-1]]
      shape = _torch_layout(leaf.shape) if names[-1] == 'kernel' else leaf.shape
      layout.append(('.'.join(names[:-1] + (suffix,)), collection, names, tuple(shape)))
  return tuple(layout)


def expected_shapes() -> dict[str, tuple[int, ...]]:
  """The torch state_dict keys and shapes the FID Inception weights must have."""
  return {key: shape for key, _, _, shape in _variable_layout()}


def state_dict_to_variables(state_dict: dict[str, np.ndarray]) -> dict[str, Any]:
  """torch-named arrays -> {'params', 'batch_stats'}; every key and shape is checked first."""
  want = expected_shapes()
  # BatchNorm's num_batches_tracked counter is training-only state (and absent in old files).
  got = {k: v for k, v in state_dict.items() if not k.endswith('.num_batches_tracked')}
  problems = []
  if missing := sorted(set(want) - set(got)):
    problems.append(f'{len(missing)} missing key(s): {", ".join(missing[:8])}{" ..." * (len(missing) > 8)}')
  if extra := sorted(set(got) - set(want)):
    problems.append(f'{len(extra)} unexpected key(s): {", ".join(extra[:8])}{" ..." * (len(extra) > 8)}')
  problems += [f'{k} has shape {tuple(np.shape(got[k]))}, want {want[k]}'
               for k in sorted(set(want) & set(got)) if tuple(np.shape(got[k])) != want[k]]
  if problems:
    raise ValueError('These are not the FID Inception-v3 weights (pytorch-fid '
                     f'{WEIGHTS_NAME} layout): ' + '; '.join(problems))
  variables: dict[str, Any] = {}
  for key, collection, names, _ in _variable_layout():
    array = np.asarray(got[key], np.float32)
    node = variables.setdefault(collection, {})
    for name in names[:-1]:
      node = node.setdefault(name, {})
    node[names[-1]] = _from_torch(array) if names[-1] == 'kernel' else array
  return variables


# ----- the public extractor -----

def default_weights_path() -> str:
  return os.path.join(os.path.expanduser('~'), '.cache', 'gan_jax', WEIGHTS_NAME)


def weights_path(path: str | os.PathLike | None = None) -> tuple[str, str]:
  """(path, where it came from): the argument, else $GAN_JAX_INCEPTION_WEIGHTS, else the cache."""
  if path is not None:
    return os.fspath(path), 'the path argument'
  if os.environ.get(ENV_VAR):
    return os.environ[ENV_VAR], f'${ENV_VAR}'
  return default_weights_path(), 'the default location'


@dataclasses.dataclass(frozen=True)
class InceptionFeatures:
  """Loaded FID Inception weights plus jitted, batched extractors on host arrays.

  Images are NHWC, any size, 1 (replicated) or 3 channels, float in [-1, 1] or uint8.
  Inside a jitted function use `module.apply(variables, x)` -> (pool3, logits).
  """

  module: FIDInceptionV3
  variables: dict
  checksum: str  # SHA-256 of the weights file: record it with every score
  path: str
  batch_size: int = 100  # bounds device memory; outputs do not depend on it

  @property
  def is_reference_weights(self) -> bool:
    """Whether the file's SHA-256 is REFERENCE_SHA256 (the weights every published FID used)."""
    return self.checksum == REFERENCE_SHA256

  def _run(self, images) -> tuple[np.ndarray, np.ndarray]:
    images = np.asarray(images) if not isinstance(images, jax.Array) else images
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
      raise ValueError(f'Images must be NHWC with 1 or 3 channels; got shape {images.shape}.')
    fn, n = _apply_fn(self.module), len(images)
    chunk = min(self.batch_size, n)
    feats, logits = [], []
    for i in range(0, n, chunk):
      x = to_model_input(images[i:i + chunk])
      if x.shape[-1] == 1:
        x = jnp.repeat(x, 3, axis=-1)  # grey -> RGB, as PIL's convert('RGB') does
      pad = chunk - len(x)  # pad the last batch: one compiled shape for all batches
      f, l = fn(self.variables, jnp.pad(x, ((0, pad), (0, 0), (0, 0), (0, 0))) if pad else x)
      feats.append(np.asarray(f)[:len(x)])
      logits.append(np.asarray(l)[:len(x)])
    if not feats:
      return np.zeros((0, FEATURE_DIM), np.float32), np.zeros((0, NUM_CLASSES), np.float32)
    return np.concatenate(feats), np.concatenate(logits)

  def features(self, images) -> np.ndarray:
    """pool3 features [N, 2048] (for FID/KID/PRDC)."""
    return self._run(images)[0]

  def logits(self, images) -> np.ndarray:
    return self._run(images)[1]

  def probs(self, images) -> np.ndarray:
    """softmax over the 1008 logits [N, 1008] (for the Inception score)."""
    return np.asarray(jax.nn.softmax(self._run(images)[1], axis=-1))

  def features_and_probs(self, images) -> tuple[np.ndarray, np.ndarray]:
    """Both from one pass over the images."""
    feats, logits = self._run(images)
    return feats, np.asarray(jax.nn.softmax(logits, axis=-1))


@functools.lru_cache(maxsize=None)
def _apply_fn(module: FIDInceptionV3):
  return jax.jit(module.apply)


def sha256_file(path: str) -> str:
  with open(path, 'rb') as f:
    return hashlib.file_digest(f, 'sha256').hexdigest()


def load_inception(path: str | os.PathLike | None = None, resize: int = RESOLUTION,
                   batch_size: int = 100) -> InceptionFeatures:
  """The FID Inception from a local weights file (see `weights_path` for where it is looked for)."""
  if resize < 75:
    raise ValueError(f'resize={resize}: Inception-v3 needs inputs of at least 75x75.')
  path, source = weights_path(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(
        f'Inception weights not found at {path} (from {source}). FID and IS on natural images '
        f'need pytorch-fid\'s FID Inception weights, which cannot be downloaded from here: get '
        f'{WEIGHTS_NAME} from the pytorch-fid GitHub releases page ({RELEASES_URL}, release '
        f'"fid_weights") and put it at {default_weights_path()}, or point ${ENV_VAR} at it '
        f'(the variable overrides the default location; a path argument overrides both). '
        f'An .npz with the same key names works too.')
  variables = state_dict_to_variables(read_state_dict(path))
  return InceptionFeatures(FIDInceptionV3(resize), jax.tree_util.tree_map(jnp.asarray, variables),
                           sha256_file(path), path, batch_size)
