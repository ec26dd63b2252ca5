"""Inception score (Salimans et al. 2016) and its MNIST-classifier analogue."""

from __future__ import annotations

import numpy as np


def inception_score(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
  """exp(E_x KL(p(y|x) || p(y))) per split: (mean, std over splits).

  probs: [N, C] class probabilities p(y|x) of N samples (rows sum to 1). Split s holds rows
  [s*N//splits, (s+1)*N//splits) (the original code's split); p(y) is that split's mean row.
  KL terms with p(y|x) = 0 contribute 0 (x log x -> 0). The std uses ddof=0, as the original.
  Rows must come in random order: a split holding one class has p(y) = p(y|x) and scores ~1.
  With the shipped MNIST classifier (gan_jax.evaluation.classifier) this is the MNIST analogue;
  it is comparable only with scores from the same classifier, and small splits lower it.
  """
  p = np.asarray(probs, np.float64)
  if p.ndim != 2 or len(p) < splits:
    raise ValueError(f'probs must be [N, C] with N >= splits={splits}; got shape {p.shape}.')
  scores = []
  for s in range(splits):
    part = p[s * len(p) // splits:(s + 1) * len(p) // splits]
    marginal = part.mean(axis=0, keepdims=True)
    safe = np.where(part > 0, part, 1.0)  # log(1) = 0 where p = 0, so the term vanishes
    kl = np.sum(part * (np.log(safe) - np.log(np.where(part > 0, marginal, 1.0))), axis=1)
    scores.append(np.exp(kl.mean()))
  return float(np.mean(scores)), float(np.std(scores))
