"""The shipped MNIST classifier whose penultimate layer gives the features for MNIST scores.

No Inception weights can be downloaded here (shared/REFERENCE.md section 5), so FID, KID,
precision/recall and the Inception-score analogue on MNIST use this small CNN, trained by
`launch/train_mnist_classifier.py` on 4,000 of the embedded MNIST-5k digits. Scores computed
with it are comparable only with scores computed with the same weights (same CHECKSUM).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.resources

import flax.linen as nn
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.data import embedded

WEIGHTS_FILE = 'mnist_classifier.msgpack'
# SHA-256 of the shipped weights; scores are only comparable between runs with the same value.
CHECKSUM = 'e9d102681ae57545614d44bc325675ad7495f13d55d491e7d9d4f2e57f8a3dba'
REGENERATE = 'python launch/train_mnist_classifier.py'
SPLIT_SEED = 0
HELDOUT_PER_CLASS = 100  # of MNIST-5k's 500 digits per class: 4,000 train / 1,000 held out


class LeNet(nn.Module):
  """LeNet-like CNN: [N, 28, 28, 1] in [-1, 1] -> logits [N, 10].

  conv5x5(c1) - relu - maxpool2 - conv5x5(c2) - relu - maxpool2 - dense(feature_dim) - relu
  (the features) - dropout - dense(10).
  """

  channels: tuple[int, int] = (32, 32)
  feature_dim: int = 128
  dropout: float = 0.5

  def setup(self):
    self.conv1 = nn.Conv(self.channels[0], (5, 5), padding='SAME')
    self.conv2 = nn.Conv(self.channels[1], (5, 5), padding='SAME')
    self.hidden = nn.Dense(self.feature_dim)
    self.drop = nn.Dropout(self.dropout)
    self.head = nn.Dense(10)

  def features(self, x: jax.Array) -> jax.Array:
    """The penultimate layer [N, feature_dim] (post-ReLU), the features for FID/KID/PRDC."""
    x = nn.max_pool(nn.relu(self.conv1(x)), (2, 2), (2, 2))
    x = nn.max_pool(nn.relu(self.conv2(x)), (2, 2), (2, 2))
    return nn.relu(self.hidden(x.reshape(x.shape[0], -1)))

  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    return self.head(self.drop(self.features(x), deterministic=not train))

  def probs(self, x: jax.Array) -> jax.Array:
    """p(y | x) [N, 10]."""
    return jax.nn.softmax(self(x), axis=-1)

  def features_and_probs(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(features, p(y | x)) from one pass; equal to `features` and `probs` separately."""
    features = self.features(x)
    return features, jax.nn.softmax(self.head(features), axis=-1)


def to_model_input(images: np.ndarray | jax.Array) -> jax.Array:
  """uint8 pixels -> float32 in [-1, 1] (gan_jax.data's scaling); floats are taken as already scaled."""
  if images.dtype == np.uint8:
    return jnp.asarray(images, jnp.float32) / 127.5 - 1.0
  return jnp.asarray(images, jnp.float32)


def mnist_5k_split(seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
  """Stratified split of MNIST-5k: (train indices [4000], held-out indices [1000]).

  Within each class, a fixed permutation (numpy default_rng([seed, class])) sends the first
  HELDOUT_PER_CLASS digits to the held-out set. Both index arrays come in a fixed shuffled
  order (default_rng([seed, 10])), because MNIST-5k is sorted by class and consecutive
  slices (score splits, halves for FID) should hold every class. Used by the training script
  and the tests.
  """
  _, labels = embedded.load_mnist_5k()
  heldout = []
  for c in range(10):
    idx = np.flatnonzero(labels == c)
    heldout.append(np.random.default_rng([seed, c]).permutation(idx)[:HELDOUT_PER_CLASS])
  heldout = np.concatenate(heldout)
  train = np.setdiff1d(np.arange(len(labels)), heldout)
  rng = np.random.default_rng([seed, 10])
  return rng.permutation(train), rng.permutation(heldout)


@dataclasses.dataclass(frozen=True)
class Classifier:
  """Loaded weights plus jitted, batched `features`, `probs` and `logits` on host arrays.

  Inside a pmapped/jitted function use `module.apply({'params': params}, x, method='features')`.
  """

  module: LeNet
  params: dict
  batch_size: int = 1000  # bounds device memory; outputs do not depend on it

  def _run(self, method: str, images) -> np.ndarray:
    fn = _apply_fn(self.module, method)
    outs = [np.asarray(fn(self.params, to_model_input(images[i:i + self.batch_size])))
            for i in range(0, len(images), self.batch_size)]
    return np.concatenate(outs)

  def features(self, images) -> np.ndarray:
    return self._run('features', images)

  def probs(self, images) -> np.ndarray:
    return self._run('probs', images)

  def logits(self, images) -> np.ndarray:
    return self._run('__call__', images)


@functools.lru_cache(maxsize=None)
def _apply_fn(module: LeNet, method: str):
  return jax.jit(lambda params, x: module.apply({'params': params}, x, method=method))


def weights_path():
  return importlib.resources.files('gan_jax.evaluation').joinpath(WEIGHTS_FILE)


def sha256(data: bytes) -> str:
  return hashlib.sha256(data).hexdigest()


def load_classifier(verify: bool = True) -> Classifier:
  """The shipped classifier; raises if its weights file is missing or its checksum differs."""
  path = weights_path()
  if not path.is_file():
    raise FileNotFoundError(f'The MNIST classifier weights {path} are missing (they ship with '
                            f'gan_jax as package data). Regenerate them with: {REGENERATE}')
  data = path.read_bytes()
  if verify and sha256(data) != CHECKSUM:
    raise RuntimeError(
        f'{path} has SHA-256 {sha256(data)}, but gan_jax.evaluation.classifier.CHECKSUM is '
        f'{CHECKSUM}. Scores from different classifier weights are not comparable. Restore the '
        f'shipped file, or regenerate it with `{REGENERATE}` and update CHECKSUM to the value it prints.')
  module = LeNet()
  # Shapes only (no compute), to check the file's tree against the architecture.
  target = jax.eval_shape(module.init, jax.random.key(0), jnp.zeros((1, 28, 28, 1)))['params']
  params = flax.serialization.msgpack_restore(data)
  want = jax.tree_util.tree_map(lambda s: s.shape, target)
  got = jax.tree_util.tree_map(np.shape, params)
  if want != got:
    raise RuntimeError(f'{path} does not match the LeNet architecture in classifier.py '
                       f'(want shapes {want}, got {got}); regenerate it with: {REGENERATE}')
  return Classifier(module, jax.tree_util.tree_map(jnp.asarray, params))
