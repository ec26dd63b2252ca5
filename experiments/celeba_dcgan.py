r"""DCGAN on CelebA at 64x64 (pytorch/examples dcgan settings, shared/REFERENCE.md section 6).

Faces: centre crop 140x140 of the 178x218 aligned images, resized to 64x64.
Prepare the data once (needs network and TensorFlow; ~1.4 GB download):
  pip install 'gan_jax[tfds]'
  tfds build celeb_a --data_dir=$HOME/tensorflow_datasets --file_format=array_record
Run (12,500 steps, ~5 epochs of the 162,770 training faces, 130 GFLOP per step: ~4 h on
2 CPU cores at 1.2 s/step; on one GPU ~10-15 min, an estimate, bounded by JPEG decoding at
~1,700 images/s per core: raise config.data.num_workers on a many-core host):
  python -m gan_jax.main --config=experiments/celeba_dcgan.py --workdir=runs/celeba_dcgan
Tiny variant (needs the data prepared; seconds on CPU):
  python -m gan_jax.main --config=experiments/celeba_dcgan.py:runlocal --workdir=/tmp/celeba_dcgan
Your own faces instead: --config.data.name=folder:/path/to/images (PNG/JPEG) or npz:/path/file.npz.
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0  # model init, noise and data order all derive from this
  c.num_seeds = 1  # K > 1 trains K independent GANs (seeds seed..seed+K-1) in one vmapped program
  c.parallel = 'pmap'  # 'pmap' or 'shard_map': how the step is mapped over local devices

  c.data = ml_collections.ConfigDict()
  c.data.name = 'tfds:celeb_a'  # TFDS CelebA (218x178x3); other sources: gan_jax/data/__init__.py
  c.data.batch_size = 64  # global batch, split over all devices of all processes
  c.data.split = 'train'  # TFDS split (162,770 images)
  c.data.data_dir = ''  # TFDS data directory; '' = $TFDS_DATA_DIR or ~/tensorflow_datasets
  c.data.image_size = 64  # side of the square images the networks see
  c.data.preprocess = 'center_crop'  # 'none' (images must be image_size), 'resize', 'center_crop' (then resize)
  c.data.crop = 140  # centre-crop side for 'center_crop' (0 = the largest square)
  c.data.num_workers = 4  # threads reading and decoding records (0 = in the calling thread)
  c.data.prefetch = 2  # batches decoded ahead of the step
  c.data.cache = False  # keep decoded images in memory after their first read (2.0 GB at 64x64)

  c.model = ml_collections.ConfigDict()
  c.model.name = 'dcgan'  # models/dcgan.py: ConvTranspose G, strided-conv D, BatchNorm
  c.model.z_dim = 100  # noise dimension, z ~ N(0, I) (nz)
  c.model.dtype = 'float32'  # G/D compute dtype; 'bfloat16': mixed precision (float32 weights, losses)
  c.model.g_features = 64  # G's last hidden width (4x4x512 -> 8x8x256 -> ... -> 32x32x64 -> 64x64x3; ngf)
  c.model.d_features = 64  # D's first width (32x32x64 -> ... -> 4x4x512 -> logit; ndf)
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
  c.train.num_steps = 12500  # D+G iterations (~5 epochs at batch 64, as the reference)
  c.train.log_every = 100  # steps between metrics.jsonl / TensorBoard lines (mean over the interval)
  c.train.sample_every = 1000  # steps between fixed-noise sample grids (and one at the end)
  c.train.checkpoint_every = 1000  # steps between checkpoints (and one at the end)
  c.train.keep_checkpoints = 3  # most recent checkpoints kept on disk
  c.train.ema_decay = 0.999  # EMA of G's parameters, used for all samples
  c.train.on_nonfinite = 'stop'  # NaN/Inf in losses or gradients: 'stop' at the next log step, or 'skip' the update
  c.train.num_samples = 64  # fixed-noise samples in each grid

  c.eval = ml_collections.ConfigDict()
  c.eval.every = 0  # steps between evaluations (0 = off: the shipped features are MNIST-only)
  c.eval.num_samples = 10000  # generated samples scored per evaluation
  c.eval.metrics = ''  # comma-separated; none fit CelebA yet (see gan_jax/evaluation/protocol.py)
  c.eval.ema = True  # score G's EMA parameters (False: the raw ones)

  if arg == 'runlocal':
    c.data.batch_size = 16
    c.data.num_workers = 0
    c.data.prefetch = 0
    c.model.g_features = 4
    c.model.d_features = 4
    c.train.num_steps = 4
    c.train.log_every = 2
    c.train.sample_every = 2
    c.train.checkpoint_every = 2
    c.train.num_samples = 16
  elif arg:
    raise ValueError(f"Unknown variant {arg!r} for celeba_dcgan; valid: 'runlocal' or none.")
  return c
