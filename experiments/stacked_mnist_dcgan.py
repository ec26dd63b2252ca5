r"""DCGAN on Stacked MNIST (shared/REFERENCE.md section 2): counts how many of 1,000 modes G covers.

Each real sample stacks three random embedded MNIST digits as its R, G, B channels (no
download). PacGAN's and VEEGAN's DCGAN runs covered 79-99 of the 1,000 modes (KL 3.4-4.5).
Run (20,000 steps; ~45 min on 2 CPU cores at ~130 ms/step, ~10 min on one GPU, an estimate):
  python -m gan_jax.main --config=experiments/stacked_mnist_dcgan.py --workdir=runs/stacked_mnist_dcgan
PacDCGAN2 (D judges pairs of images stacked on channels, so half as many D inputs per step):
  python -m gan_jax.main --config=experiments/stacked_mnist_dcgan.py:best --workdir=runs/stacked_mnist_best
Measured at 5,000 steps, 5 vmapped seeds (docs/results.md): DCGAN 983 modes / KL 0.34
(1.4 steps/s alone), PacDCGAN2 966 / KL 0.43 (~2 steps/s); packing had not helped at that budget.
Scores (every 5,000 steps and at the end, into eval.jsonl): modes covered of 1,000 and
KL(p_modes || uniform) over 26,000 samples, each channel labelled by the shipped MNIST classifier.
Tiny variant used by the tests (seconds):
  python -m gan_jax.main --config=experiments/stacked_mnist_dcgan.py:runlocal --workdir=/tmp/stacked_mnist_dcgan
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0  # model init, noise and data order all derive from this
  c.num_seeds = 1  # K > 1 trains K independent GANs (seeds seed..seed+K-1) in one vmapped program
  c.parallel = 'pmap'  # 'pmap' or 'shard_map': how the step is mapped over local devices

  c.data = ml_collections.ConfigDict()
  c.data.name = 'stacked_mnist'  # 3 random embedded digits as R, G, B: 1,000 modes ('stacked_mnist:tfds': 60k digits)
  c.data.batch_size = 64  # global batch, split over all devices of all processes
  c.data.image_size = 28  # side of the square images (32 resizes the digits)
  c.data.preprocess = 'resize'  # how digits reach image_size when it is not 28
  c.data.crop = 0  # centre-crop side for 'center_crop' (0 = the largest square)

  c.model = ml_collections.ConfigDict()
  c.model.name = 'dcgan'  # models/dcgan.py: ConvTranspose G, strided-conv D, BatchNorm
  c.model.z_dim = 100  # noise dimension, z ~ N(0, I)
  c.model.dtype = 'float32'  # G/D compute dtype; 'bfloat16': mixed precision (float32 weights, losses)
  c.model.g_features = 64  # G's last hidden width (7x7x128 -> 14x14x64 -> 28x28x3)
  c.model.d_features = 64  # D's first width (14x14x64 -> 7x7x128 -> logit)
  c.model.d_spectral_norm = False  # spectral normalization of every D layer
  c.model.pack = 1  # images per D input, stacked on channels (PacDCGAN; the paper's best: 2)

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
  c.train.num_steps = 20000  # D+G iterations (1.28M stacked samples at batch 64)
  c.train.log_every = 50  # steps between metrics.jsonl / TensorBoard lines (mean over the interval)
  c.train.sample_every = 2000  # steps between fixed-noise sample grids (and one at the end)
  c.train.checkpoint_every = 2000  # steps between checkpoints (and one at the end)
  c.train.keep_checkpoints = 3  # most recent checkpoints kept on disk
  c.train.ema_decay = 0.999  # EMA of G's parameters, used for all samples
  c.train.on_nonfinite = 'stop'  # NaN/Inf in losses or gradients: 'stop' at the next log step, or 'skip' the update
  c.train.num_samples = 64  # fixed-noise samples in each grid

  c.eval = ml_collections.ConfigDict()
  c.eval.every = 5000  # steps between evaluations (and one at the end; 0 = off)
  c.eval.num_samples = 26000  # generated samples scored per evaluation (REFERENCE.md section 2)
  c.eval.metrics = 'modes,kl'  # modes covered of 1,000 and KL(p_modes || uniform); gan_jax/evaluation/protocol.py
  c.eval.ema = True  # score G's EMA parameters (False: the raw ones)

  if arg == 'best':
    c.model.pack = 2  # PacDCGAN2: D judges pairs, 32 inputs per batch of 64 samples
  elif arg == 'runlocal':
    c.data.batch_size = 16
    c.model.g_features = 8
    c.model.d_features = 8
    c.train.num_steps = 6
    c.train.log_every = 2
    c.train.sample_every = 3
    c.train.checkpoint_every = 3
    c.train.num_samples = 16
    c.eval.every = 3
    c.eval.num_samples = 64
  elif arg:
    raise ValueError(f"Unknown variant {arg!r} for stacked_mnist_dcgan; valid: 'best', 'runlocal' or none.")
  return c
