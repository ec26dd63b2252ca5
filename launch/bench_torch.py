"""PyTorch eager reference for the step benchmarks (gan_jax.bench, launch/bench_compare.py).

  .venv/bin/pip install torch==2.13.0   # the [bench] extra; a CPU wheel
  .venv/bin/python launch/bench_torch.py [--cases=dcgan28,dcgan64,toy_mlp] [--steps=20] [--json=FILE]

The same GAN iteration as gan_jax/step.py, written as the usual eager PyTorch loop:
G makes one fake batch; one D update (Adam) on real + fake with BCE on logits; then one
non-saturating G update through the updated D, reusing the same fakes (as pytorch/examples
dcgan does; gan_jax keeps G's VJP from the same forward); then G's EMA (gan_jax keeps one,
so the reference does too: `torch._foreach_lerp_`, a few ms at 64x64). BatchNorm in train
mode everywhere, PyTorch defaults (momentum 0.1, eps 1e-5), which gan_jax's 0.9/1e-5 equal.

Cases (all on fixed synthetic real data, batch as in gan_jax.bench):
  dcgan64  pytorch/examples dcgan, 64x64x3, nz=100, ngf=ndf=64, batch 64; G starts with
           ConvTranspose(nz, 512, 4, 1, 0) and D ends with Conv(512, 1, 4, 1, 0), the
           equivalent of gan_jax's Dense layers on a 1x1 / 4x4 map.
  dcgan28  gan_jax/models/dcgan.py at 28x28x1, features 64, batch 64: G Dense(100 -> 7x7x128)
           BN ReLU, ConvT(128->64) BN ReLU, ConvT(64->1) tanh; D Conv(1->64) LReLU,
           Conv(64->128) BN LReLU, Dense(7x7x128 -> 1). No biases (as gan_jax).
  toy_mlp  experiments/toy_grid.py: G 2 -> 128 -> 128 -> 128 -> 2 (ReLU), D 2 -> 128 x3 -> 1
           (LeakyReLU 0.2), with biases, batch 128, Adam lr 1e-3.

Settings, chosen to give PyTorch its best case on CPU: torch.set_num_threads(os.cpu_count());
channels_last memory format for the conv models (oneDNN's preferred layout; --channels_last=false
to compare); Adam with `fused=True` (the fastest CPU implementation; --adam=foreach|loop to
compare). This file is only for benchmarking; the gan_jax package never imports torch.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

NZ = 100
CASES = ('dcgan28', 'dcgan64', 'toy_mlp')


def setup_threads(threads: int | None = None) -> int:
  """Sets torch's intra-op threads (default: all cores); returns the number used."""
  threads = threads or os.cpu_count()
  torch.set_num_threads(threads)
  return threads


def _dcgan_init(module: nn.Module) -> None:
  # Radford et al.: weights N(0, 0.02), BatchNorm scale N(1, 0.02), shift 0 (as gan_jax).
  for m in module.modules():
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
      nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
      nn.init.normal_(m.weight, 1.0, 0.02)
      nn.init.zeros_(m.bias)


class _Reshape(nn.Module):
  def __init__(self, *shape):
    super().__init__()
    self.shape = shape

  def forward(self, x):
    return x.reshape(x.shape[0], *self.shape)


def _up(cin: int, cout: int) -> list[nn.Module]:
  return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]


def _down(cin: int, cout: int, bn: bool) -> list[nn.Module]:
  layers = [nn.Conv2d(cin, cout, 4, 2, 1, bias=False)]
  if bn:
    layers.append(nn.BatchNorm2d(cout))
  return layers + [nn.LeakyReLU(0.2, inplace=True)]


def dcgan64(nz: int = NZ, ngf: int = 64, ndf: int = 64, nc: int = 3) -> tuple[nn.Module, nn.Module]:
  """pytorch/examples dcgan's netG and netD (the final Sigmoid dropped: the loss takes logits)."""
  g = nn.Sequential(
      _NoiseAsMap(), nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
      *_up(ngf * 8, ngf * 4), *_up(ngf * 4, ngf * 2), *_up(ngf * 2, ngf),
      nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())
  d = nn.Sequential(
      *_down(nc, ndf, False), *_down(ndf, ndf * 2, True), *_down(ndf * 2, ndf * 4, True),
      *_down(ndf * 4, ndf * 8, True),
      nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Flatten(0))
  return g, d


class _NoiseAsMap(nn.Module):
  def forward(self, z):
    return z.reshape(z.shape[0], -1, 1, 1)


def dcgan28(nz: int = NZ, features: int = 64) -> tuple[nn.Module, nn.Module]:
  """gan_jax.models.dcgan at image_size=28, channels=1."""
  w = features * 2
  g = nn.Sequential(
      nn.Linear(nz, 7 * 7 * w, bias=False), _Reshape(w, 7, 7), nn.BatchNorm2d(w), nn.ReLU(True),
      *_up(w, features), nn.ConvTranspose2d(features, 1, 4, 2, 1, bias=False), nn.Tanh())
  d = nn.Sequential(
      *_down(1, features, False), *_down(features, w, True),
      nn.Flatten(1), nn.Linear(7 * 7 * w, 1, bias=False), nn.Flatten(0))
  return g, d


def toy_mlp(width: int = 128, depth: int = 3, dim: int = 2) -> tuple[nn.Module, nn.Module]:
  """experiments/toy_grid.py's G and D (gan_jax.models.mlp, no BatchNorm, biases on)."""
  def mlp(act):
    layers, cin = [], dim
    for _ in range(depth):
      layers += [nn.Linear(cin, width), act()]
      cin = width
    return layers, cin
  g_layers, c = mlp(lambda: nn.ReLU(True))
  d_layers, _ = mlp(lambda: nn.LeakyReLU(0.2, inplace=True))
  return nn.Sequential(*g_layers, nn.Linear(c, dim)), nn.Sequential(*d_layers, nn.Linear(c, 1), nn.Flatten(0))


class GANStep:
  """One D update then one G update, in eager PyTorch; call it with a real batch."""

  def __init__(self, g: nn.Module, d: nn.Module, z_dim: int, lr: float, adam: str = 'fused',
               ema_decay: float = 0.999, channels_last: bool = False, seed: int = 0):
    torch.manual_seed(seed)
    self.g, self.d, self.z_dim = g, d, z_dim
    self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
    if channels_last:
      g.to(memory_format=torch.channels_last)
      d.to(memory_format=torch.channels_last)
    kwargs = {'fused': True} if adam == 'fused' else {'foreach': adam == 'foreach'}
    self.opt_g = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.5, 0.999), **kwargs)
    self.opt_d = torch.optim.Adam(d.parameters(), lr=lr, betas=(0.5, 0.999), **kwargs)
    self.g_params = list(g.parameters())
    self.ema = [p.detach().clone() for p in self.g_params]
    self.ema_decay = ema_decay
    g.train()
    d.train()

  def __call__(self, real: torch.Tensor) -> tuple[float, float]:
    n = real.shape[0]
    z = torch.randn(n, self.z_dim)
    fake = self.g(z)
    if fake.dim() == 4:
      fake = fake.contiguous(memory_format=self.memory_format)
    # D: BCE on logits, real -> 1, fake -> 0 (softplus form, as gan_jax.losses).
    self.opt_d.zero_grad(set_to_none=True)
    d_loss = F.softplus(-self.d(real)).mean() + F.softplus(self.d(fake.detach())).mean()
    d_loss.backward()
    self.opt_d.step()
    # G: non-saturating loss through the updated D, on the same fakes.
    self.opt_g.zero_grad(set_to_none=True)
    g_loss = F.softplus(-self.d(fake)).mean()
    g_loss.backward()
    self.opt_g.step()
    with torch.no_grad():
      torch._foreach_lerp_(self.ema, self.g_params, 1.0 - self.ema_decay)
    return d_loss.detach(), g_loss.detach()


def make_case(name: str, batch: int | None = None, adam: str = 'fused',
              channels_last: bool = True) -> tuple[GANStep, torch.Tensor]:
  """(step, real batch) for one of CASES, on synthetic data."""
  gen = torch.Generator().manual_seed(0)
  if name == 'dcgan64':
    batch = batch or 64
    g, d = dcgan64()
    real = torch.rand(batch, 3, 64, 64, generator=gen) * 2 - 1
    z_dim, lr = NZ, 2e-4
  elif name == 'dcgan28':
    batch = batch or 64
    g, d = dcgan28()
    real = torch.rand(batch, 1, 28, 28, generator=gen) * 2 - 1
    z_dim, lr = NZ, 2e-4
  elif name == 'toy_mlp':
    batch = batch or 128
    g, d = toy_mlp()
    centers = torch.stack(torch.meshgrid(torch.arange(5.) * 2 - 4, torch.arange(5.) * 2 - 4,
                                         indexing='ij'), -1).reshape(-1, 2)
    real = centers[torch.randint(0, 25, (batch,), generator=gen)] + 0.05 * torch.randn(batch, 2, generator=gen)
    z_dim, lr = 2, 1e-3
    channels_last = False
  else:
    raise ValueError(f'Unknown case {name!r}; valid: {", ".join(CASES)}.')
  if name.startswith('dcgan'):
    _dcgan_init(g)
    _dcgan_init(d)
  step = GANStep(g, d, z_dim, lr, adam=adam, channels_last=channels_last)
  if channels_last:
    real = real.contiguous(memory_format=torch.channels_last)
  return step, real


def time_steps(step: GANStep, real: torch.Tensor, steps: int, warmup: int = 0) -> list[float]:
  """Seconds per step (each step finishes on return: CPU eager is synchronous)."""
  times = []
  for i in range(warmup + steps):
    t0 = time.perf_counter()
    d_loss, g_loss = step(real)
    float(d_loss), float(g_loss)  # noqa: B018 (the host reads the losses, as a logging loop would)
    if i >= warmup:
      times.append(time.perf_counter() - t0)
  return times


def _max_rss_mb() -> float:
  import resource
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
  import argparse
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--cases', default=','.join(CASES))
  p.add_argument('--steps', type=int, default=20)
  p.add_argument('--threads', type=int, default=None, help='torch intra-op threads (default: all cores)')
  p.add_argument('--adam', default='fused', choices=('fused', 'foreach', 'loop'))
  p.add_argument('--channels_last', default='true', choices=('true', 'false'))
  p.add_argument('--json', default=None, help='append one JSON record per case here')
  args = p.parse_args()
  threads = setup_threads(args.threads)
  print(f'torch {torch.__version__}, {threads} threads, adam={args.adam}, channels_last={args.channels_last}')
  print(f'{"case":<10}{"batch":>6}{"median ms":>11}{"p10-p90 ms":>16}{"samples/s":>11}{"max RSS MB":>12}')
  for name in args.cases.split(','):
    step, real = make_case(name, adam=args.adam, channels_last=args.channels_last == 'true')
    ms = np.array(time_steps(step, real, args.steps, warmup=3)) * 1e3
    med = float(np.median(ms))
    r = {'case': name, 'side': 'torch', 'batch_size': real.shape[0], 'median_ms': round(med, 3),
         'p10_ms': round(float(np.percentile(ms, 10)), 3), 'p90_ms': round(float(np.percentile(ms, 90)), 3),
         'images_per_s': round(real.shape[0] / med * 1e3, 1), 'max_rss_mb': round(_max_rss_mb(), 1),
         'threads': threads, 'adam': args.adam, 'channels_last': args.channels_last == 'true',
         'torch': torch.__version__}
    print(f'{name:<10}{r["batch_size"]:>6}{med:>11.2f}{r["p10_ms"]:>8.1f}-{r["p90_ms"]:<7.1f}'
          f'{r["images_per_s"]:>11.1f}{r["max_rss_mb"]:>12.0f}', flush=True)
    if args.json:
      with open(args.json, 'a') as f:
        f.write(json.dumps(r) + '\n')


if __name__ == '__main__':
  main()
