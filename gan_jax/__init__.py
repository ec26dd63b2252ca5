"""gan_jax: GANs in JAX/Flax."""

import os as _os

# XLA CPU routes convolutions through its experimental YNN fusion by default; the Eigen
# path was ~27% faster on our DCGAN step (shared/PERFORMANCE.md). XLA reads XLA_FLAGS when
# the backend first starts, so this works as long as no computation ran before this import.
# Set GAN_JAX_KEEP_XLA_FLAGS=1 to leave XLA_FLAGS untouched.
_YNN_FLAG = '--xla_cpu_experimental_ynn_fusion_type=-individual_convolution'
if not _os.environ.get('GAN_JAX_KEEP_XLA_FLAGS') and 'ynn_fusion_type' not in _os.environ.get('XLA_FLAGS', ''):
  _os.environ['XLA_FLAGS'] = (_os.environ.get('XLA_FLAGS', '') + ' ' + _YNN_FLAG).strip()

__version__ = '0.1.0'
