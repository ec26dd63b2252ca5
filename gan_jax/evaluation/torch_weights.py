"""Reading PyTorch state_dict files (zip format and pre-1.6 legacy) and .npz with numpy, no torch.

A restricted unpickler allows only the globals a plain state_dict needs, so a weights file can
never run code; tensor views are bounds-checked against their storages.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import zipfile
from typing import Any, NamedTuple

import numpy as np


_STORAGE_DTYPES = {
    'FloatStorage': '<f4', 'DoubleStorage': '<f8', 'HalfStorage': '<f2', 'LongStorage': '<i8',
    'IntStorage': '<i4', 'ShortStorage': '<i2', 'CharStorage': 'i1', 'ByteStorage': 'u1',
    'BoolStorage': '?'}
_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c  # torch's pre-1.6 (non-zip) serialization


class _StorageRef(NamedTuple):
  key: str
  dtype: np.dtype
  offset: int = 0  # elements; legacy files may store views of a root storage


class _TensorRef(NamedTuple):  # materialised once the storages are read (legacy: after the pickle)
  storage: _StorageRef
  offset: int
  size: tuple[int, ...]
  stride: tuple[int, ...]


def _rebuild_tensor(storage, offset, size, stride, *unused) -> _TensorRef:
  return _TensorRef(storage, int(offset), tuple(size), tuple(stride))


class _TorchUnpickler(pickle.Unpickler):
  """Resolves only the globals a tensor state_dict needs: anything else (code) is refused."""

  _ALLOWED = {('collections', 'OrderedDict'): collections.OrderedDict,
              ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
              ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
              ('torch._utils', '_rebuild_parameter'): lambda data, *unused: data}

  def find_class(self, module: str, name: str) -> Any:
    if (module, name) in self._ALLOWED:
      return self._ALLOWED[module, name]
    if module == 'torch' and name in _STORAGE_DTYPES:
      return name  # the storage's type stands for its dtype
    raise pickle.UnpicklingError(f'Refusing to load global {module}.{name}: a weights file '
                                 'should hold only tensors (no code).')

  def persistent_load(self, pid: tuple) -> _StorageRef:
    # ('storage', type, key, location, numel[, view_metadata (legacy only)])
    if not (isinstance(pid, tuple) and pid and pid[0] == 'storage' and pid[1] in _STORAGE_DTYPES):
      raise pickle.UnpicklingError(f'Unsupported storage reference {pid!r} in torch checkpoint.')
    view = pid[5] if len(pid) > 5 else None
    return _StorageRef(str(pid[2]), np.dtype(_STORAGE_DTYPES[pid[1]]), int(view[1]) if view else 0)


def _materialize(name: str, ref: Any, storages: dict[str, np.ndarray]) -> np.ndarray:
  if not isinstance(ref, _TensorRef):
    raise ValueError(f'Entry {name!r} of the checkpoint is a {type(ref).__name__}, not a tensor.')
  flat = storages[ref.storage.key]
  base = ref.storage.offset + ref.offset
  if min(ref.size, default=1) < 0 or min(ref.stride, default=0) < 0:
    raise ValueError(f'Tensor {name!r} has a negative size or stride.')
  if math.prod(ref.size) == 0:
    return np.zeros(ref.size, flat.dtype.newbyteorder('='))
  last = base + sum((n - 1) * s for n, s in zip(ref.size, ref.stride))
  if base < 0 or last >= flat.size:  # bounds check before as_strided, which would not check
    raise ValueError(f'Tensor {name!r} reads past the end of its storage (corrupt checkpoint).')
  view = np.lib.stride_tricks.as_strided(flat[base:], ref.size, [s * flat.itemsize for s in ref.stride])
  return view.astype(flat.dtype.newbyteorder('='))  # a native-endian copy


def _read_torch_zip(zf: zipfile.ZipFile, pkl_name: str) -> dict[str, np.ndarray]:
  prefix = pkl_name[:-len('data.pkl')]
  refs = _TorchUnpickler(io.BytesIO(zf.read(pkl_name))).load()
  byteorder = '<'
  if f'{prefix}byteorder' in zf.namelist():
    byteorder = '>' if zf.read(f'{prefix}byteorder').strip() == b'big' else '<'
  storages = {}
  for ref in _tensor_refs(refs):
    key = ref.storage.key
    if key not in storages:
      storages[key] = np.frombuffer(zf.read(f'{prefix}data/{key}'), ref.storage.dtype.newbyteorder(byteorder))
  return {name: _materialize(name, ref, storages) for name, ref in refs.items()}


def _read_torch_legacy(f) -> dict[str, np.ndarray]:
  if _TorchUnpickler(f).load() != _LEGACY_MAGIC:
    raise ValueError('not a torch checkpoint (bad magic number)')
  _TorchUnpickler(f).load()  # protocol version
  sys_info = _TorchUnpickler(f).load()
  if not (isinstance(sys_info, dict) and sys_info.get('little_endian', True)):
    raise ValueError('big-endian legacy torch checkpoints are not supported')
  refs = _TorchUnpickler(f).load()
  dtypes = {ref.storage.key: ref.storage.dtype for ref in _tensor_refs(refs)}
  storages = {}
  for key in _TorchUnpickler(f).load():  # then each storage: int64 element count, raw data
    if key not in dtypes:
      raise ValueError(f'storage {key!r} is not used by any tensor (corrupt checkpoint)')
    count = int(np.frombuffer(f.read(8), '<i8')[0])
    if count < 0:
      raise ValueError(f'storage {key!r} has a negative size (corrupt checkpoint)')
    storages[key] = np.frombuffer(f.read(count * dtypes[key].itemsize), dtypes[key], count)
  return {name: _materialize(name, ref, storages) for name, ref in refs.items()}


def _tensor_refs(refs: Any) -> list[_TensorRef]:
  if not isinstance(refs, dict):
    raise ValueError(f'The checkpoint holds a {type(refs).__name__}, not a state_dict.')
  return [r for r in refs.values() if isinstance(r, _TensorRef)]


def read_state_dict(path: str) -> dict[str, np.ndarray]:
  """name -> array from a torch checkpoint (zip or legacy format) or an .npz, without torch."""
  try:
    if zipfile.is_zipfile(path):
      with zipfile.ZipFile(path) as zf:
        pkl = [n for n in zf.namelist() if n.endswith('/data.pkl') and n.count('/') == 1]
        if pkl:
          return _read_torch_zip(zf, pkl[0])
      with np.load(path, allow_pickle=False) as npz:  # an .npz is a zip without data.pkl
        return {k: npz[k] for k in npz.files}
    with open(path, 'rb') as f:
      return _read_torch_legacy(f)
  except (pickle.UnpicklingError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
    raise ValueError(f'Cannot read Inception weights from {path}: {e}') from e
