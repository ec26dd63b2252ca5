"""The FID Inception: weight files (torch zip, torch legacy, .npz) -> Flax variables -> features.

torch is not installed here, so the .pth files are written by the minimal torch-format writers
below (pickle with torch's persistent storage ids and tensor-rebuild globals, as torch.save
writes them). That the network equals pytorch-fid's on the same weights, and that real
torch.save files read back identically, is checked by launch/check_inception_torch.py.
"""

import collections
import hashlib
import io
import math
import os
import pickle
import zipfile

import numpy as np
import pytest

from gan_jax.evaluation import inception

RESIZE = 75  # the smallest input Inception-v3 takes: keeps these tests fast


# ----- minimal torch.save-format writers -----

class _Global:
  """Pickled as GLOBAL module.name, without importing that module (torch is absent)."""

  def __init__(self, module: str, name: str):
    self.module, self.name = module, name

  def __call__(self, *args):  # pickle insists that a reduce function be callable
    raise NotImplementedError


class _Storage:
  def __init__(self, key: str, data: np.ndarray):
    self.key, self.data = key, np.ascontiguousarray(data).reshape(-1)


class _Tensor:
  def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
    self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

  def __reduce__(self):
    return (_Global('torch._utils', '_rebuild_tensor_v2'),
            (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict()))


_KIND = {np.dtype('float32'): 'FloatStorage', np.dtype('float64'): 'DoubleStorage',
         np.dtype('float16'): 'HalfStorage', np.dtype('int64'): 'LongStorage'}


class _TorchPickler(pickle._Pickler):  # the pure-Python pickler lets us emit raw GLOBALs
  dispatch = dict(pickle._Pickler.dispatch)
  legacy = False

  def _save_global_ref(self, obj):
    self.write(pickle.GLOBAL + f'{obj.module}\n{obj.name}\n'.encode())
    self.memoize(obj)

  dispatch[_Global] = _save_global_ref

  def persistent_id(self, obj):
    if isinstance(obj, _Storage):
      pid = ('storage', _Global('torch', _KIND[obj.data.dtype]), obj.key, 'cpu', obj.data.size)
      return pid + (None,) if self.legacy else pid
    return None


def _pickle(obj, legacy: bool = False) -> bytes:
  buf = io.BytesIO()
  pickler = _TorchPickler(buf, protocol=2)
  pickler.legacy = legacy
  pickler.dump(obj)
  return buf.getvalue()


def write_torch(path, tensors: dict, legacy: bool = False) -> None:
  """torch.save of {name: _Tensor} in the zip (torch >= 1.6) or the legacy format."""
  state = collections.OrderedDict(tensors)
  state._metadata = collections.OrderedDict({'': {'version': 1}})  # as module.state_dict() has
  storages = {t.storage.key: t.storage for t in tensors.values()}
  if not legacy:
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as zf:
      zf.writestr('archive/data.pkl', _pickle(state))
      zf.writestr('archive/byteorder', 'little')
      for key, s in storages.items():
        zf.writestr(f'archive/data/{key}', s.data.astype(s.data.dtype.newbyteorder('<')).tobytes())
      zf.writestr('archive/version', '3\n')
    return
  with open(path, 'wb') as f:
    for header in (0x1950a86a20f9469cfc6c, 1001, {'protocol_version': 1001, 'little_endian': True}):
      f.write(pickle.dumps(header, protocol=2))
    f.write(_pickle(state, legacy=True))
    f.write(pickle.dumps(sorted(storages), protocol=2))
    for key in sorted(storages):
      data = storages[key].data
      f.write(np.int64(data.size).tobytes() + data.tobytes())


def contiguous(arrays: dict) -> dict:
  """{name: array} -> {name: _Tensor}, one storage each (as torch.save of a state_dict)."""
  out = {}
  for i, (name, a) in enumerate(arrays.items()):
    a = np.asarray(a)
    stride = tuple(int(np.prod(a.shape[d + 1:])) for d in range(a.ndim))
    out[name] = _Tensor(_Storage(str(i), a), 0, a.shape, stride)
  return out


# ----- fixtures -----

def random_state_dict(seed: int = 0) -> dict:
  """Random weights with torch's key names and shapes, scaled so activations stay O(1)."""
  rng = np.random.default_rng(seed)
  sd = {}
  for key, shape in inception.expected_shapes().items():
    if key.endswith('conv.weight') or key == 'fc.weight':
      fan_in = math.prod(shape[1:])
      sd[key] = rng.standard_normal(shape, np.float32) * np.float32(np.sqrt(2 / fan_in))
    elif key.endswith('running_var') or key.endswith('bn.weight'):
      sd[key] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    else:  # biases, running means
      sd[key] = rng.normal(0, 0.1, shape).astype(np.float32)
    if key.endswith('bn.running_var'):
      sd[key.replace('running_var', 'num_batches_tracked')] = np.array(0, np.int64)
  return sd


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
  """(state_dict, .pth path, .npz path) of one random set of FID Inception weights."""
  folder = tmp_path_factory.mktemp('inception')
  sd = random_state_dict()
  pth, npz = str(folder / inception.WEIGHTS_NAME), str(folder / 'weights.npz')
  write_torch(pth, contiguous(sd))
  np.savez(npz, **sd)
  return sd, pth, npz


@pytest.fixture(scope='module')
def images():
  return np.random.default_rng(1).uniform(-1, 1, (5, 16, 16, 3)).astype(np.float32)


# ----- tests -----

def test_layout_is_pytorch_fids():
  # Values read off pytorch-fid's fid_inception_v3().state_dict() (launch/check_inception_torch.py
  # compares the whole key set and every shape), here as an independent pin of the architecture.
  shapes = inception.expected_shapes()
  assert len(shapes) == 472  # + 94 num_batches_tracked counters in torch's state_dict
  assert sum(math.prod(s) for s in shapes.values()) == 23_885_392
  assert shapes['Conv2d_1a_3x3.conv.weight'] == (32, 3, 3, 3)
  assert shapes['Mixed_5b.branch_pool.bn.running_var'] == (32,)
  assert shapes['Mixed_6b.branch7x7_2.conv.weight'] == (128, 128, 1, 7)
  assert shapes['Mixed_6e.branch7x7dbl_2.conv.weight'] == (192, 192, 7, 1)
  assert shapes['Mixed_7c.branch3x3dbl_3b.conv.weight'] == (384, 384, 3, 1)
  assert shapes['Mixed_7c.branch_pool.conv.weight'] == (192, 2048, 1, 1)
  assert shapes['fc.weight'] == (1008, 2048) and shapes['fc.bias'] == (1008,)


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_reads_torch_formats(tmp_path, legacy):
  rng = np.random.default_rng(0)
  shared = _Storage('7', rng.standard_normal(40).astype(np.float32))
  tensors = contiguous({'w': rng.standard_normal((2, 3, 1, 4)).astype(np.float32),
                        'd': rng.standard_normal(3), 'h': np.arange(4, dtype=np.float16),
                        'n': np.array(12, np.int64)})
  # A transposed view into a shared storage, at an offset: strides must be honoured.
  tensors['t'] = _Tensor(shared, 5, (3, 4), (1, 3))
  path = tmp_path / 'w.pth'
  write_torch(path, tensors, legacy=legacy)
  got = inception.read_state_dict(str(path))
  assert list(got) == ['w', 'd', 'h', 'n', 't']
  for name in 'wdhn':
    np.testing.assert_array_equal(got[name], tensors[name].storage.data.reshape(tensors[name].size))
    assert got[name].dtype == tensors[name].storage.data.dtype
  np.testing.assert_array_equal(got['t'], shared.data[5:17].reshape(4, 3).T)


def test_refuses_code_and_corrupt_tensors(tmp_path):
  evil = tmp_path / 'evil.pth'
  with zipfile.ZipFile(evil, 'w') as zf:  # a pickle that would call os.getcwd() when loaded
    zf.writestr('archive/data.pkl', pickle.dumps({'x': _Reduce(os.getcwd, ())}, protocol=2))
  with pytest.raises(ValueError, match=r'Refusing to load global \w+\.getcwd'):
    inception.read_state_dict(str(evil))
  corrupt = tmp_path / 'corrupt.pth'
  write_torch(corrupt, {'x': _Tensor(_Storage('0', np.zeros(6, np.float32)), 2, (2, 3), (3, 1))})
  with pytest.raises(ValueError, match="'x' reads past the end of its storage"):
    inception.read_state_dict(str(corrupt))
  (tmp_path / 'junk.pth').write_bytes(b'not a checkpoint')
  with pytest.raises(ValueError, match='Cannot read Inception weights'):
    inception.read_state_dict(str(tmp_path / 'junk.pth'))


class _Reduce:
  def __init__(self, fn, args):
    self.fn, self.args = fn, args

  def __reduce__(self):
    return self.fn, self.args


def test_key_and_shape_errors_name_the_key(weights):
  sd = dict(weights[0])
  inception.state_dict_to_variables(sd)  # complete: fine (num_batches_tracked is ignored)
  missing = {k: v for k, v in sd.items() if k != 'Mixed_6c.branch7x7_2.bn.running_mean'}
  with pytest.raises(ValueError, match=r'1 missing key\(s\): Mixed_6c\.branch7x7_2\.bn\.running_mean'):
    inception.state_dict_to_variables(missing)
  with pytest.raises(ValueError, match=r'1 unexpected key\(s\): AuxLogits\.fc\.weight'):
    inception.state_dict_to_variables({**sd, 'AuxLogits.fc.weight': np.zeros((1000, 768))})
  bad = {**sd, 'Mixed_5b.branch5x5_2.conv.weight': np.zeros((64, 48, 3, 3), np.float32)}
  with pytest.raises(ValueError, match=r'Mixed_5b\.branch5x5_2\.conv\.weight has shape '
                                       r'\(64, 48, 3, 3\), want \(64, 48, 5, 5\)'):
    inception.state_dict_to_variables(bad)


def test_missing_weights_message(tmp_path, monkeypatch):
  monkeypatch.delenv(inception.ENV_VAR, raising=False)
  monkeypatch.setenv('HOME', str(tmp_path))
  default = os.path.join(str(tmp_path), '.cache', 'gan_jax', inception.WEIGHTS_NAME)
  assert inception.weights_path() == (default, 'the default location')
  with pytest.raises(FileNotFoundError) as err:
    inception.load_inception()
  message = str(err.value)
  for part in (f'not found at {default}', inception.WEIGHTS_NAME, 'pytorch-fid GitHub releases',
               'https://github.com/mseitzer/pytorch-fid/releases', '$GAN_JAX_INCEPTION_WEIGHTS',
               'overrides the default location'):
    assert part in message
  monkeypatch.setenv(inception.ENV_VAR, str(tmp_path / 'elsewhere.pth'))
  assert inception.weights_path() == (str(tmp_path / 'elsewhere.pth'), '$GAN_JAX_INCEPTION_WEIGHTS')
  assert inception.weights_path('explicit.npz') == ('explicit.npz', 'the path argument')
  with pytest.raises(FileNotFoundError, match=r'elsewhere\.pth \(from \$GAN_JAX_INCEPTION_WEIGHTS\)'):
    inception.load_inception()


def test_loaded_variables_are_the_files_arrays(weights, monkeypatch):
  sd, pth, npz = weights
  monkeypatch.setenv(inception.ENV_VAR, pth)  # no path argument: the variable is used
  net = inception.load_inception(resize=RESIZE)
  assert net.path == pth
  with open(pth, 'rb') as f:
    assert net.checksum == hashlib.sha256(f.read()).hexdigest()
  assert not net.is_reference_weights
  params, stats = net.variables['params'], net.variables['batch_stats']
  conv = params['Mixed_6b']['branch7x7_2']
  np.testing.assert_array_equal(conv['conv']['kernel'],  # OIHW -> HWIO
                                sd['Mixed_6b.branch7x7_2.conv.weight'].transpose(2, 3, 1, 0))
  np.testing.assert_array_equal(conv['bn']['scale'], sd['Mixed_6b.branch7x7_2.bn.weight'])
  np.testing.assert_array_equal(conv['bn']['bias'], sd['Mixed_6b.branch7x7_2.bn.bias'])
  bn = stats['Mixed_7c']['branch_pool']['bn']
  np.testing.assert_array_equal(bn['mean'], sd['Mixed_7c.branch_pool.bn.running_mean'])
  np.testing.assert_array_equal(bn['var'], sd['Mixed_7c.branch_pool.bn.running_var'])
  np.testing.assert_array_equal(params['fc']['kernel'], sd['fc.weight'].T)
  np.testing.assert_array_equal(params['fc']['bias'], sd['fc.bias'])


def test_features_and_probs(weights, images):
  _, pth, npz = weights
  net = inception.load_inception(pth, resize=RESIZE, batch_size=2)  # batches 2, 2, 1 (padded)
  feats, probs = net.features_and_probs(images)
  assert feats.shape == (5, inception.FEATURE_DIM) and probs.shape == (5, inception.NUM_CLASSES)
  assert np.all(np.isfinite(feats)) and np.all(feats >= 0)  # pool3 averages ReLU outputs
  assert feats.std(axis=0).mean() > 1e-3  # images are told apart
  np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
  np.testing.assert_array_equal(net.features(images), feats)
  np.testing.assert_array_equal(net.probs(images), probs)
  from_npz = inception.load_inception(npz, resize=RESIZE, batch_size=2)
  np.testing.assert_array_equal(from_npz.features(images), feats)
  np.testing.assert_array_equal(from_npz.logits(images), net.logits(images))
  # Batching does not change the result; grey images are replicated to RGB; uint8 is scaled.
  whole = inception.load_inception(npz, resize=RESIZE, batch_size=100)
  np.testing.assert_allclose(whole.features(images), feats, rtol=1e-4, atol=1e-5)
  grey = images[..., :1]
  np.testing.assert_array_equal(net.features(grey), net.features(np.repeat(grey, 3, axis=-1)))
  pixels = np.random.default_rng(2).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
  np.testing.assert_allclose(net.features(pixels), net.features(pixels / 127.5 - 1),
                             rtol=1e-4, atol=1e-5)
  with pytest.raises(ValueError, match='1 or 3 channels'):
    net.features(images[..., :2])
