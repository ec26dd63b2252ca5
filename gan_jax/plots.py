"""Pictures a run leaves: sample grids, 2D scatter plots, loss curves."""

from __future__ import annotations

import json
import math
import os

import matplotlib

matplotlib.use('Agg')  # headless: files only
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def image_grid(images: np.ndarray, ncol: int | None = None, pad: int = 2) -> np.ndarray:
  """Tiles images [N, H, W, C] in [0, 1] into one uint8 array [rows*(H+pad)+pad, ..., C]."""
  n, h, w, c = images.shape
  ncol = ncol or int(math.ceil(math.sqrt(n)))
  nrow = int(math.ceil(n / ncol))
  grid = np.ones((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), np.float32)
  for i, img in enumerate(images):
    r, q = divmod(i, ncol)
    grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = img
  return (np.clip(grid, 0, 1) * 255).round().astype(np.uint8)


def save_image_grid(images: np.ndarray, path: str, scale: int = 2) -> None:
  """Writes a PNG grid of images [N, H, W, C] in [0, 1], upscaled for viewing."""
  grid = image_grid(np.asarray(images))
  if grid.shape[-1] == 1:
    grid = grid[..., 0]
  img = Image.fromarray(grid)
  if scale > 1:
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  img.save(path)


def save_scatter(points: np.ndarray, centers: np.ndarray | None, path: str, title: str = '') -> None:
  """2D samples as dots, with the true mode centres as red crosses."""
  fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
  ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, label='samples')
  if centers is not None:
    ax.scatter(centers[:, 0], centers[:, 1], s=60, c='red', marker='x', label='mode centres')
    lim = 1.5 * np.abs(centers).max() + 0.5
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
  ax.set_aspect('equal')
  ax.legend(loc='upper right', fontsize=8)
  ax.set_title(title)
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  fig.savefig(path, bbox_inches='tight')
  plt.close(fig)


def save_loss_curves(metrics_path: str, path: str) -> None:
  """Plots D and G losses and D's logits against step from a metrics.jsonl file."""
  with open(metrics_path) as f:
    rows = [json.loads(line) for line in f if line.strip()]
  if not rows:
    return
  steps = [r['step'] for r in rows]
  fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5), dpi=100)
  for key in ('d_loss', 'g_loss'):
    ax1.plot(steps, [r[key] for r in rows], label=key)
  ax1.set_xlabel('step')
  ax1.set_title('losses')
  ax1.legend()
  for key in ('d_real_logit', 'd_fake_logit'):
    ax2.plot(steps, [r[key] for r in rows], label=key)
  ax2.set_xlabel('step')
  ax2.set_title('mean D logits')
  ax2.legend()
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)
