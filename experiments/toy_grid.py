r"""The seed's MLP GAN on the 2D grid: 25 Gaussians at (-4 + 2i, -4 + 2j), std 0.05 (PacGAN's grid).

Run (about 25 seconds on 2 CPU cores; seed 0 covers 24/25 modes, 85% high-quality EMA samples):
  python -m gan_jax.main --config=experiments/toy_grid.py --workdir=runs/toy_grid
Tiny variant used by the tests (seconds):
  python -m gan_jax.main --config=experiments/toy_grid.py:runlocal --workdir=/tmp/toy_grid
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0  # model init, noise and data order all derive from this
  c.num_seeds = 1  # K > 1 trains K independent GANs (seeds seed..seed+K-1) in one vmapped program
  c.parallel = 'pmap'  # 'pmap' or 'shard_map': how the step is mapped over local devices

  c.data = ml_collections.ConfigDict()
  c.data.name = 'toy_grid'  # 'toy_ring' or 'toy_grid': 2D Gaussian mixture, fresh points each step
  c.data.batch_size = 128  # global batch, split over all devices of all processes
  c.data.num_modes = 25  # number of Gaussians
  c.data.radius = 1.0  # ring radius (toy_ring)
  c.data.spacing = 2.0  # distance between neighbouring modes (toy_grid)
  c.data.std = 0.05  # standard deviation of each Gaussian

  c.model = ml_collections.ConfigDict()
  c.model.name = 'mlp'  # models/mlp.py: fully connected G and D
  c.model.z_dim = 2  # noise dimension, z ~ N(0, I)
  c.model.dtype = 'float32'  # G/D compute dtype; 'bfloat16': mixed precision (float32 weights, losses)
  c.model.g_hidden = (128, 128, 128)  # G's hidden widths (ReLU)
  c.model.g_batch_norm = False  # BatchNorm after G's hidden layers (hurt mode coverage here)
  c.model.d_hidden = (128, 128, 128)  # D's hidden widths (LeakyReLU 0.2)
  c.model.d_spectral_norm = False  # spectral normalization of every D layer

  c.loss = ml_collections.ConfigDict()
  c.loss.name = 'nonsaturating'  # gan_jax.losses registry: see gan_jax/losses.py NAMES
  c.loss.regularizers = ml_collections.ConfigDict({  # D penalty weights; 0 = off (gan_jax/penalties.py)
      'gp': 0.0,  # WGAN-GP, one-centred gradient norm at interpolates (10 in the paper)
      'r1': 0.0,  # gamma/2 for R1, zero-centred gradient norm on real data
      'r2': 0.0,  # gamma/2 for R2, zero-centred gradient norm on fake data
      'dragan': 0.0,  # DRAGAN, gradient norm around perturbed real data
      'consistency': 0.0,  # bCR: D(x) vs D(augment(x)) on real and fake
      'lecam': 0.0,  # LeCam: D's logits vs EMA anchors of the other side
  })
  c.loss.reg_every = 1  # lazy regularization: penalties every k steps, scaled by k

  c.optim = ml_collections.ConfigDict()
  c.optim.g_lr = 1e-3  # Adam learning rate of G
  c.optim.d_lr = 1e-3  # Adam learning rate of D
  c.optim.b1 = 0.5  # Adam beta1 for both networks
  c.optim.b2 = 0.999  # Adam beta2 for both networks

  c.train = ml_collections.ConfigDict()
  c.train.n_critic = 1  # D updates per G update (each on a fresh real batch)
  c.train.steps_per_call = 50  # steps per compiled call (a lax.scan amortises dispatch, which dominates here); intervals must be multiples
  c.train.num_steps = 8000  # D+G iterations
  c.train.log_every = 500  # steps between metrics.jsonl / TensorBoard lines (mean over the interval)
  c.train.sample_every = 2000  # steps between scatter plots of 2,500 EMA samples (and one at the end)
  c.train.checkpoint_every = 4000  # steps between checkpoints (and one at the end)
  c.train.keep_checkpoints = 3  # most recent checkpoints kept on disk
  c.train.ema_decay = 0.999  # EMA of G's parameters, used for all samples
  c.train.on_nonfinite = 'stop'  # NaN/Inf in losses or gradients: 'stop' at the next log step, or 'skip' the update
  c.train.num_samples = 64  # image grids only; toy plots always show 2,500 points

  c.eval = ml_collections.ConfigDict()
  c.eval.every = 2000  # steps between evaluations (and one at the end; 0 = off); well under a second each
  c.eval.num_samples = 2500  # generated samples scored per evaluation
  c.eval.metrics = 'modes,high_quality,reverse_kl'  # comma-separated; see gan_jax/evaluation/protocol.py
  c.eval.ema = True  # score G's EMA parameters (False: the raw ones)

  if arg == 'runlocal':
    c.train.steps_per_call = 1
    c.eval.every = 3
    c.eval.num_samples = 200
    c.model.g_hidden = (32, 32)
    c.model.d_hidden = (32, 32)
    c.train.num_steps = 6
    c.train.log_every = 2
    c.train.sample_every = 3
    c.train.checkpoint_every = 3
  elif arg:
    raise ValueError(f"Unknown variant {arg!r} for toy_grid; valid: 'runlocal' or none.")
  return c


def get_hyper(h):
  """Three losses x three seeds (9 runs, ~4 min on 2 CPU cores with --parallel=1):
    python launch/sweep.py --config=experiments/toy_grid.py --root=runs/toy_grid_losses
    python launch/summarize.py --root=runs/toy_grid_losses
  """
  return h.product([
      h.sweep('config.loss.name', ['nonsaturating', 'hinge', 'least_squares']),
      h.sweep('config.seed', range(3)),
  ])
