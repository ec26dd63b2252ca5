"""SNGAN ResNets, spectral norm, and one train step of each new experiment's networks."""

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

from conftest import load_config
from gan_jax import models, parallel, penalties, state as state_lib, step as step_lib, train, validation
from gan_jax.models import resnet


def _filled(model: nn.Module, *args) -> dict:
  """Variables of `model` with the right structure, filled by NumPy (He-scaled kernels).

  Compiling a deep model's `init` costs far more here than its training step (each
  initializer is its own threefry program), so the tests skip it.
  """
  shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), *args))
  rng = np.random.default_rng(0)

  def fill(path, leaf):
    name = jax.tree_util.keystr(path)
    if name.endswith(("['scale']", "['var']", "/sigma']")):
      return jnp.ones(leaf.shape, leaf.dtype)
    if name.endswith(("['bias']", "['mean']")):
      return jnp.zeros(leaf.shape, leaf.dtype)
    std = np.sqrt(2.0 / np.prod(leaf.shape[:-1])) if name.endswith("['kernel']") else 1.0
    return jnp.asarray(std * rng.standard_normal(leaf.shape), leaf.dtype)

  return jax.tree_util.tree_map_with_path(fill, shapes)


@pytest.mark.parametrize('size', [32, 64])
def test_resnet_shapes_and_spectral_norm_everywhere_in_d(size):
  g = resnet.Generator(image_size=size, channels=3, features=2)
  d = resnet.Discriminator(image_size=size, features=2)
  z = jnp.ones((2, 8))
  g_vars = jax.eval_shape(lambda: g.init(jax.random.PRNGKey(0), z))
  x = jax.eval_shape(lambda v: g.apply(v, z, train=False), g_vars)
  assert x.shape == (2, size, size, 3)
  d_vars = jax.eval_shape(lambda x: d.init(jax.random.PRNGKey(1), x), x)
  assert jax.eval_shape(lambda v, x: d.apply(v, x, train=False), d_vars, x).shape == (2,)
  # Every D weight matrix has its power-iteration vector u; D has no BatchNorm.
  kernels = [p for p, _ in jax.tree_util.tree_leaves_with_path(d_vars['params'])
             if jax.tree_util.keystr(p).endswith("['kernel']")]
  us = [p for p, _ in jax.tree_util.tree_leaves_with_path(d_vars['batch_stats'])
        if jax.tree_util.keystr(p).endswith("/u']")]
  # 32: 3 convs in each down-block, 2 in the two plain ones, + the dense; 64: 5 x 3 + 1.
  assert len(kernels) == len(us) == {32: 11, 64: 16}[size]
  # G's up-blocks: two 3x3 convs + one 1x1 shortcut each, no biases (BatchNorm follows).
  g_convs = [v.shape for p, v in jax.tree_util.tree_leaves_with_path(g_vars['params'])
             if 'GBlock' in jax.tree_util.keystr(p)]
  assert len(g_convs) == 3 * (len(resnet.G_WIDTHS[size]) - 1) + 4 * (len(resnet.G_WIDTHS[size]) - 1)
  # Widths as in SNGAN at features=64: G 256 (32) or 1024 -> 64 (64); D 128 or 64 -> 1024.
  big = jax.eval_shape(lambda: resnet.Generator(image_size=size).init(jax.random.PRNGKey(0), z))
  assert big['params']['Dense_0']['kernel'].shape[1] == 16 * {32: 256, 64: 1024}[size]


def test_resnet_generator_output_is_an_image_in_range():
  g = resnet.Generator(image_size=32, channels=3, features=2)
  z = jax.random.normal(jax.random.PRNGKey(0), (3, 8))
  x = jax.jit(lambda v: g.apply(v, z, train=False))(_filled(g, z))
  assert x.shape == (3, 32, 32, 3) and float(jnp.max(jnp.abs(x))) <= 1.0


def test_resnet_rejects_unsupported_size():
  with pytest.raises(ValueError, match=r'supports image sizes \[32, 64\], got 28'):
    resnet.Generator(image_size=28).init(jax.random.PRNGKey(0), jnp.ones((1, 4)))


class _OneConv(nn.Module):
  @nn.compact
  def __call__(self, x, train):
    return resnet._conv(x, 5, 3, nn.initializers.lecun_normal(), spectral_norm=True, train=train)


def test_spectral_norm_power_iteration_finds_the_top_singular_value():
  # A conv kernel [3, 3, 4, 5] with known singular values, as D's layers see it ([36, 5]).
  rng = np.random.default_rng(0)
  u, _ = np.linalg.qr(rng.standard_normal((36, 5)))
  v, _ = np.linalg.qr(rng.standard_normal((5, 5)))
  sv = np.array([3.0, 2.0, 1.0, 0.5, 0.1])
  kernel = ((u * sv) @ v.T).reshape(3, 3, 4, 5).astype(np.float32)
  model = _OneConv()
  x = jnp.asarray(rng.standard_normal((1, 6, 6, 4)), jnp.float32)
  variables = model.init(jax.random.PRNGKey(0), x, train=True)
  params = jax.tree_util.tree_map(lambda p: jnp.asarray(kernel) if p.ndim == 4 else p,
                                  variables['params'])
  stats = variables['batch_stats']
  sigmas = []
  for _ in range(30):
    _, updates = model.apply({'params': params, 'batch_stats': stats}, x, train=True,
                             mutable=['batch_stats'])
    stats = updates['batch_stats']
    sigmas.append(float(jax.tree_util.tree_leaves(stats)[0]))  # leaves: sigma, u
  assert abs(sigmas[-1] - 3.0) < 1e-3 and abs(sigmas[0] - 3.0) > abs(sigmas[-1] - 3.0)
  # Inference leaves the statistics alone and divides the weight by the stored sigma.
  y = model.apply({'params': params, 'batch_stats': stats}, x, train=False)
  conv = nn.Conv(5, (3, 3), padding='SAME')
  bias = params['Conv_0']['bias']
  want = conv.apply({'params': {'kernel': kernel / 3.0, 'bias': bias}}, x)
  np.testing.assert_allclose(y, want, rtol=1e-3, atol=1e-4)


def _moved(old, new) -> list[bool]:
  return jax.tree_util.tree_leaves(jax.tree_util.tree_map(
      lambda a, b: bool(np.any(np.asarray(a) != np.asarray(b))), old, new))


def _filled_state(config, g, d, shape) -> state_lib.GANState:
  """state_lib.create's GANState, with `_filled` variables instead of the models' init."""
  o = config.optim
  g_vars = _filled(g.clone(axis_name=None), jnp.zeros((2, config.model.z_dim)))
  d_vars = _filled(d, jnp.zeros((2, *shape)))
  make = lambda m, v, lr: state_lib.TrainState.create(  # noqa: E731
      apply_fn=m.apply, params=v['params'], tx=state_lib.make_optimizer(lr, o.b1, o.b2),
      batch_stats=v.get('batch_stats', {}))
  return state_lib.GANState(step=jnp.zeros((), jnp.int32), g=make(g, g_vars, o.g_lr),
                            d=make(d, d_vars, o.d_lr), ema_params=g_vars['params'],
                            rng=jax.random.PRNGKey(0),
                            reg_state=penalties.init_state(penalties.from_config(config)))


def _one_step_on_mocked_data(experiment, arg, workdir, shape):
  """(batch, state before, state after, metrics) of one step of `experiment` at tiny width."""
  config = load_config(experiment, arg)
  config.data.batch_size = 4
  config.model.g_features = config.model.d_features = 2
  validation.validate(config, num_devices=1)
  with tfds.testing.mock_data(num_examples=8):
    run = train.Run(config, workdir)
    batch = run.batches(0)
  state = _filled_state(config, run.g_model, run.d_model, shape)
  runner = parallel.Runner(step_lib.make_train_step(config, run.g_model, run.d_model),
                           jax.local_devices()[:1])
  new, metrics = runner.step(runner.put_state(state), runner.put_batch(batch))
  new, metrics = runner.get_state(new), runner.mean_metrics([metrics])
  assert int(new.step) == 1 and all(np.isfinite(v) for v in metrics.values())
  assert all(_moved(state.g.params, new.g.params)) and all(_moved(state.d.params, new.d.params))
  return batch, state, new, run


def test_sngan_train_step_on_mocked_cifar10(tmp_path):
  """cifar10_sngan end to end at tiny width: TFDS source, ResNet G/D, hinge, 2 D updates."""
  batch, state, new, run = _one_step_on_mocked_data('cifar10_sngan', 'runlocal', str(tmp_path),
                                                    (32, 32, 3))
  assert batch.shape == (2, 4, 32, 32, 3) and isinstance(run.d_model, resnet.Discriminator)
  # Power iteration ran in train mode: every sigma moved, and every u with more than one entry.
  stats = jax.tree_util.tree_map(lambda a, b: (a.size, bool(np.any(a != b))),
                                 jax.device_get(state.d.batch_stats), jax.device_get(new.d.batch_stats))
  assert all(changed for size, changed in jax.tree_util.tree_leaves(stats, is_leaf=lambda x: isinstance(x, tuple))
             if size > 1)


def test_celeba_dcgan_train_step_on_mocked_celeb_a(tmp_path):
  """celeba_dcgan at tiny width: centre-cropped 64x64 faces through the 64x64 DCGAN step."""
  batch, *_ = _one_step_on_mocked_data('celeba_dcgan', None, str(tmp_path), (64, 64, 3))
  assert batch.shape == (1, 4, 64, 64, 3) and batch.min() >= -1 and batch.max() <= 1


def test_resnet64_hinge_gradient_step():
  """The 64x64 networks at tiny width: a direct hinge-loss gradient step moves every weight."""
  g = resnet.Generator(image_size=64, channels=3, features=1)
  d = resnet.Discriminator(image_size=64, features=1)
  z = jax.random.normal(jax.random.PRNGKey(0), (2, 8))
  real = jax.random.uniform(jax.random.PRNGKey(1), (2, 64, 64, 3), minval=-1, maxval=1)
  gv, dv = _filled(g, z), _filled(d, real)

  @jax.jit
  def step(gv, dv):
    def d_loss(dp, gp):
      fake, _ = g.apply({**gv, 'params': gp}, z, mutable=['batch_stats'])
      logits = lambda x: d.apply({**dv, 'params': dp}, x, mutable=['batch_stats'])[0]  # noqa: E731
      return jnp.mean(nn.relu(1 - logits(real))) + jnp.mean(nn.relu(1 + logits(fake)))
    dg, gg = jax.grad(d_loss, argnums=(0, 1))(dv['params'], gv['params'])
    sgd = lambda p, grad: jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, grad)  # noqa: E731
    return sgd(gv['params'], gg), sgd(dv['params'], dg), d_loss(dv['params'], gv['params'])

  g_new, d_new, loss = step(gv, dv)
  assert np.isfinite(float(loss))
  # Every weight gets a gradient (D's last bias may not: hinge terms cancel inside the margin).
  kernels = lambda p: {k: v for k, v in flax.traverse_util.flatten_dict(p).items() if k[-1] == 'kernel'}  # noqa: E731
  assert all(_moved(kernels(gv['params']), kernels(g_new)))
  assert all(_moved(kernels(dv['params']), kernels(d_new)))


@pytest.mark.parametrize('experiment,shape', [('celeba_dcgan', (64, 64, 3)),
                                              ('stacked_mnist_dcgan', (28, 28, 3)),
                                              ('fashion_mnist_dcgan', (28, 28, 1))])
def test_new_dcgan_experiments_build_their_networks(experiment, shape):
  config = load_config(experiment, None)
  g, d = models.build(config, shape)
  z = jnp.zeros((2, config.model.z_dim))
  g_vars = jax.eval_shape(lambda: g.clone(axis_name=None).init(jax.random.PRNGKey(0), z))
  x = jax.eval_shape(lambda v: g.clone(axis_name=None).apply(v, z, train=False), g_vars)
  assert x.shape == (2, *shape)
  d = d.clone(axis_name=None)
  d_vars = jax.eval_shape(lambda x: d.init(jax.random.PRNGKey(0), x), x)
  assert jax.eval_shape(lambda v, x: d.apply(v, x, train=False), d_vars, x).shape == (2,)
