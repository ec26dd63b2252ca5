"""Trains the MNIST feature-extractor classifier shipped as gan_jax/evaluation/mnist_classifier.msgpack.

  .venv/bin/python launch/train_mnist_classifier.py            # ~3-4 min on 2 CPU cores

Trains `gan_jax.evaluation.classifier.LeNet` on the 4,000 training digits of the embedded
MNIST-5k split (`classifier.mnist_5k_split`), with random +-2 pixel shifts, dropout and Adam,
then prints the held-out accuracy (1,000 digits), the classifier-based score (Inception-score
analogue) of the held-out digits, and the SHA-256 of the written weights. Paste that value
into `classifier.CHECKSUM`. The run is deterministic for a given seed on one machine; another
CPU or XLA version can round differently, so the checksum (not the accuracy) may differ.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax

from gan_jax.data import embedded
from gan_jax.evaluation import classifier
from gan_jax.evaluation.inception_score import inception_score

_DEFAULT_OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            'gan_jax', 'evaluation', classifier.WEIGHTS_FILE)


def random_shifts(rng: np.random.Generator, images: np.ndarray, max_shift: int) -> np.ndarray:
  """Each image moved by its own (dy, dx) in [-max_shift, max_shift]^2; the border fills with -1 (black)."""
  n, h, w, _ = images.shape
  m = max_shift
  padded = np.pad(images, ((0, 0), (m, m), (m, m), (0, 0)), constant_values=-1.0)
  dy, dx = rng.integers(0, 2 * m + 1, (2, n))
  rows = dy[:, None] + np.arange(h)[None]  # [n, h]
  cols = dx[:, None] + np.arange(w)[None]  # [n, w]
  return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def main(argv: list[str]) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--epochs', type=int, default=30)
  parser.add_argument('--batch_size', type=int, default=64)
  parser.add_argument('--lr', type=float, default=1e-3)
  parser.add_argument('--max_shift', type=int, default=2)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--output', default=_DEFAULT_OUT)
  args = parser.parse_args(argv)

  start = time.time()
  images, labels = embedded.load_mnist_5k()
  x = np.asarray(classifier.to_model_input(images))
  train_idx, heldout_idx = classifier.mnist_5k_split()
  x_train, y_train = x[train_idx], labels[train_idx]
  x_held, y_held = x[heldout_idx], labels[heldout_idx]

  model = classifier.LeNet()
  key = jax.random.key(args.seed)
  params = model.init(key, x_train[:1])['params']
  steps_per_epoch = len(x_train) // args.batch_size
  schedule = optax.cosine_decay_schedule(args.lr, args.epochs * steps_per_epoch)
  tx = optax.adam(schedule)
  opt_state = tx.init(params)

  @jax.jit
  def train_step(params, opt_state, xb, yb, step):
    def loss_fn(p):
      logits = model.apply({'params': p}, xb, train=True,
                           rngs={'dropout': jax.random.fold_in(key, step)})
      return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  rng = np.random.default_rng(args.seed)
  step = 0
  for epoch in range(args.epochs):
    perm = rng.permutation(len(x_train))
    losses = []
    for i in range(steps_per_epoch):
      idx = perm[i * args.batch_size:(i + 1) * args.batch_size]
      xb = random_shifts(rng, x_train[idx], args.max_shift) if args.max_shift else x_train[idx]
      params, opt_state, loss = train_step(params, opt_state, xb, y_train[idx], step)
      losses.append(loss)
      step += 1
    if (epoch + 1) % 5 == 0 or epoch + 1 == args.epochs:
      acc = (classifier.Classifier(model, params).logits(x_held).argmax(-1) == y_held).mean()
      print(f'epoch {epoch + 1:2d}  loss {np.mean(jax.device_get(losses)):.4f}  '
            f'held-out accuracy {acc:.4f}  ({time.time() - start:.0f} s)', flush=True)

  clf = classifier.Classifier(model, params)
  acc = (clf.logits(x_held).argmax(-1) == y_held).mean()
  probs = clf.probs(x_held)  # held-out order is shuffled, so every split mixes the classes
  score, score_std = inception_score(probs, splits=10)
  score_all, _ = inception_score(probs, splits=1)
  train_acc = (clf.logits(x_train).argmax(-1) == y_train).mean()
  data = flax.serialization.to_bytes(jax.device_get(params))
  with open(args.output, 'wb') as f:
    f.write(data)
  n_params = sum(p.size for p in jax.tree_util.tree_leaves(params))
  print(f'train accuracy {train_acc:.4f} (4,000 digits, no augmentation)')
  print(f'held-out accuracy {acc:.4f} (1,000 digits)')
  print(f'classifier score (IS analogue) of the held-out digits: {score:.3f} +- {score_std:.3f} '
        f'(10 splits of 100); {score_all:.3f} (1 split of 1,000)')
  print(f'wrote {args.output}: {len(data):,} bytes, {n_params:,} parameters')
  print(f"SHA-256 {classifier.sha256(data)}  (classifier.CHECKSUM = '{classifier.sha256(data)}')")
  print(f'total {time.time() - start:.0f} s')


if __name__ == '__main__':
  main(sys.argv[1:])
