r"""SNGAN on CIFAR-10 (Miyato et al. 2018): ResNet G and spectrally normalised ResNet D,
hinge loss, 5 D updates per G update, Adam 2e-4 (beta1 0, beta2 0.9).

Prepare the data once (needs network and TensorFlow; ~170 MB):
  pip install 'gan_jax[tfds]'
  tfds build cifar10 --data_dir=$HOME/tensorflow_datasets --file_format=array_record
Run (50,000 G steps = 250,000 D steps, ~3-4 TFLOP per step: impractical on CPU, ~30-40 s
per step on 2 cores, i.e. weeks; roughly 1-3 h on one H100-class GPU, an estimate from the
FLOP count, not a measurement):
  python -m gan_jax.main --config=experiments/cifar10_sngan.py --workdir=runs/cifar10_sngan
Tiny variant (needs the data prepared; seconds on CPU):
  python -m gan_jax.main --config=experiments/cifar10_sngan.py:runlocal --workdir=/tmp/cifar10_sngan
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0  # model init, noise and data order all derive from this
  c.num_seeds = 1  # K > 1 trains K independent GANs (seeds seed..seed+K-1) in one vmapped program
  c.parallel = 'pmap'  # 'pmap' or 'shard_map': how the step is mapped over local devices

  c.data = ml_collections.ConfigDict()
  c.data.name = 'tfds:cifar10'  # TFDS CIFAR-10, 32x32x3; other sources: gan_jax/data/__init__.py
  c.data.batch_size = 64  # global batch per D update, split over all devices of all processes
  c.data.split = 'train'  # TFDS split (50,000 images)
  c.data.data_dir = ''  # TFDS data directory; '' = $TFDS_DATA_DIR or ~/tensorflow_datasets
  c.data.image_size = 32  # side of the square images the networks see
  c.data.preprocess = 'none'  # 'none' (images must be image_size), 'resize', 'center_crop' (then resize)
  c.data.crop = 0  # centre-crop side for 'center_crop' (0 = the largest square)
  c.data.num_workers = 4  # threads reading and decoding records (0 = in the calling thread)
  c.data.prefetch = 10  # batches decoded ahead (one train step reads n_critic batches)
  c.data.cache = True  # keep decoded images in memory after their first read (CIFAR-10: 150 MB)

  c.model = ml_collections.ConfigDict()
  c.model.name = 'resnet'  # models/resnet.py: SNGAN ResNet G (BatchNorm) and D (no BatchNorm)
  c.model.z_dim = 128  # noise dimension, z ~ N(0, I) (SNGAN)
  c.model.dtype = 'float32'  # G/D compute dtype; 'bfloat16': mixed precision (float32 weights, losses)
  c.model.g_features = 64  # G width unit: 4x4x256 -> three up-blocks of 256 -> 32x32x3
  c.model.d_features = 64  # D width unit: four blocks of 128 (two halve the size) -> sum -> logit
  c.model.d_spectral_norm = True  # spectral normalization of every D layer (the "SN" of SNGAN)

  c.loss = ml_collections.ConfigDict()
  c.loss.name = 'hinge'  # gan_jax.losses registry: see gan_jax/losses.py NAMES
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
  c.optim.g_lr = 2e-4  # Adam learning rate of G (SNGAN ResNet setting)
  c.optim.d_lr = 2e-4  # Adam learning rate of D
  c.optim.b1 = 0.0  # Adam beta1 for both networks (SNGAN)
  c.optim.b2 = 0.9  # Adam beta2 for both networks (SNGAN)

  c.train = ml_collections.ConfigDict()
  c.train.n_critic = 5  # D updates per G update, each on a fresh real batch (SNGAN n_dis)
  c.train.steps_per_call = 1  # steps per compiled call (a lax.scan; > 1 amortises dispatch); intervals must be multiples
  c.train.num_steps = 50000  # G updates (SNGAN; Mimicry reports 100k)
  c.train.log_every = 100  # steps between metrics.jsonl / TensorBoard lines (mean over the interval)
  c.train.sample_every = 2500  # steps between fixed-noise sample grids (and one at the end)
  c.train.checkpoint_every = 2500  # steps between checkpoints (and one at the end)
  c.train.keep_checkpoints = 3  # most recent checkpoints kept on disk
  c.train.ema_decay = 0.9999  # EMA of G's parameters, used for all samples
  c.train.on_nonfinite = 'stop'  # NaN/Inf in losses or gradients: 'stop' at the next log step, or 'skip' the update
  c.train.num_samples = 64  # fixed-noise samples in each grid

  c.eval = ml_collections.ConfigDict()
  c.eval.every = 0  # steps between evaluations (0 = off: the shipped features are MNIST-only)
  c.eval.num_samples = 10000  # generated samples scored per evaluation
  c.eval.metrics = ''  # comma-separated; none fit CIFAR-10 yet (see gan_jax/evaluation/protocol.py)
  c.eval.ema = True  # score G's EMA parameters (False: the raw ones)

  if arg == 'runlocal':
    c.data.batch_size = 16
    c.data.num_workers = 0
    c.data.prefetch = 0
    c.model.g_features = 4
    c.model.d_features = 4
    c.train.n_critic = 2
    c.train.num_steps = 4
    c.train.log_every = 2
    c.train.sample_every = 2
    c.train.checkpoint_every = 2
    c.train.num_samples = 16
  elif arg:
    raise ValueError(f"Unknown variant {arg!r} for cifar10_sngan; valid: 'runlocal' or none.")
  return c
