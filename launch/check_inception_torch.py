"""Dev-time check: gan_jax's FID Inception equals pytorch-fid's on the same random weights.

Needs a separate venv with torch (CPU), torchvision and pytorch-fid; not part of CI:

  python3 -m venv /tmp/torchenv
  /tmp/torchenv/bin/pip install torch==2.13.0 numpy
  /tmp/torchenv/bin/pip install --no-deps torchvision==0.28.0 pytorch-fid scipy pillow
  /tmp/torchenv/bin/python launch/check_inception_torch.py --jax-python .venv/bin/python

The torch phase builds pytorch-fid's FIDInceptionV3 with random weights (BatchNorm statistics
calibrated on the images so activations keep a sane scale), saves its state_dict with torch.save
in both the zip and the legacy format, and records pool3 features and logits; the JAX phase
(run by --jax-python in the project venv) loads both files with gan_jax, checks the arrays,
and prints the largest differences. Exits non-zero past the tolerances.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

SIZES = (299, 64, 400)  # as is, upsampled, downsampled (torch's resize does not antialias)
TOLERANCE = 1e-3  # max |diff| relative to the largest |value|; float32 noise is ~1e-6


def torch_phase(workdir: str, n: int) -> None:
  import torch
  # PyPI's torchvision wheel is built against CUDA torch; on CPU torch only its fake-op
  # registration fails at import, and we need nothing but its Python Inception model.
  torch.library.register_fake = lambda *a, **k: (lambda f: f)
  import torchvision
  from pytorch_fid import inception as pfi

  torch.manual_seed(0)
  model = torchvision.models.inception_v3(num_classes=1008, aux_logits=False, weights=None,
                                          init_weights=False)
  # The same patches as pytorch_fid.inception.fid_inception_v3 (which would download weights).
  model.Mixed_5b = pfi.FIDInceptionA(192, pool_features=32)
  model.Mixed_5c = pfi.FIDInceptionA(256, pool_features=64)
  model.Mixed_5d = pfi.FIDInceptionA(288, pool_features=64)
  model.Mixed_6b = pfi.FIDInceptionC(768, channels_7x7=128)
  model.Mixed_6c = pfi.FIDInceptionC(768, channels_7x7=160)
  model.Mixed_6d = pfi.FIDInceptionC(768, channels_7x7=160)
  model.Mixed_6e = pfi.FIDInceptionC(768, channels_7x7=192)
  model.Mixed_7b = pfi.FIDInceptionE_1(1280)
  model.Mixed_7c = pfi.FIDInceptionE_2(2048)
  rng = np.random.default_rng(0)
  images = {s: rng.uniform(-1, 1, (n, s, s, 3)).astype(np.float32) for s in SIZES}
  with torch.no_grad():
    for m in model.modules():
      if isinstance(m, torch.nn.BatchNorm2d):
        m.weight.uniform_(0.5, 1.5)
        m.bias.normal_(0, 0.2)
        m.reset_running_stats()
        m.momentum = None  # cumulative average: one train-mode pass sets the batch statistics
    model.train()
    calib = torch.from_numpy(images[299]).permute(0, 3, 1, 2)
    model(calib)
    model.eval()
  state = model.state_dict()
  torch.save(state, os.path.join(workdir, 'zip.pth'))
  torch.save(state, os.path.join(workdir, 'legacy.pth'), _use_new_zipfile_serialization=False)
  np.savez(os.path.join(workdir, 'state.npz'), **{k: v.numpy() for k, v in state.items()})

  # pytorch-fid's own wrapper (resize to 299, [0, 1] -> [-1, 1]) with these weights.
  pfi.load_state_dict_from_url = lambda *a, **k: state
  wrapper = pfi.InceptionV3([3]).eval()
  assert all(torch.equal(a, b) for a, b in zip(wrapper.state_dict().values(),
                                               [v for k, v in state.items() if not k.startswith('fc.')]))
  out = {}
  with torch.no_grad():
    for s, x in images.items():
      pool = wrapper(torch.from_numpy((x + 1) / 2).permute(0, 3, 1, 2))[0].flatten(1)
      out[f'images_{s}'] = x
      out[f'pool3_{s}'] = pool.numpy()
      out[f'logits_{s}'] = model.fc(pool).numpy()
  np.savez(os.path.join(workdir, 'torch_out.npz'), **out)


def jax_phase(workdir: str) -> int:
  sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  from gan_jax.evaluation import inception

  state = dict(np.load(os.path.join(workdir, 'state.npz')))
  ref = np.load(os.path.join(workdir, 'torch_out.npz'))
  ok = True
  for name in ('zip.pth', 'legacy.pth'):
    read = inception.read_state_dict(os.path.join(workdir, name))
    same = read.keys() == state.keys() and all(np.array_equal(read[k], state[k]) for k in state)
    print(f'{name}: {len(read)} arrays, identical to torch\'s state_dict: {same}')
    ok &= same
  net = inception.load_inception(os.path.join(workdir, 'zip.pth'), batch_size=8)
  for s in SIZES:
    feats, logits = net._run(ref[f'images_{s}'])
    for what, mine in (('pool3', feats), ('logits', logits)):
      want = ref[f'{what}_{s}']
      diff, scale = np.abs(mine - want).max(), np.abs(want).max()
      print(f'{s}x{s} {what:6s} max|diff| {diff:.3e}  max|torch| {scale:.3e}  relative {diff / scale:.2e}')
      ok &= diff <= TOLERANCE * scale
  print('OK' if ok else 'MISMATCH')
  return 0 if ok else 1


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--phase', choices=('torch', 'jax'), default='torch')
  parser.add_argument('--dir', help='working folder (default: a fresh temporary one)')
  parser.add_argument('--jax-python', default='.venv/bin/python', help='python of the gan_jax venv')
  parser.add_argument('--n', type=int, default=8, help='images per size')
  args = parser.parse_args()
  if args.phase == 'jax':
    return jax_phase(args.dir)
  workdir = args.dir or tempfile.mkdtemp(prefix='inception_check_')
  os.makedirs(workdir, exist_ok=True)
  torch_phase(workdir, args.n)
  return subprocess.call([args.jax_python, os.path.abspath(__file__), '--phase', 'jax', '--dir', workdir])


if __name__ == '__main__':
  sys.exit(main())
