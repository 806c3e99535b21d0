"""cuBLASLt matrix products with a GELU epilogue, called through ctypes (the standard library).

Two products of the MLP (model/fused_mlp.py), each one cuBLASLt call on row-major bf16 tensors:

- ``gelu_aux_bias(x, w, b)``: ``h = x @ w.T + b`` and ``a = gelu_tanh(h)``; both are written by the
  product's epilogue (``CUBLASLT_EPILOGUE_GELU_AUX_BIAS``), so no element-wise kernel reads ``h``.
- ``dgelu_bgrad(dy, w, h)``: ``dh = (dy @ w) * gelu_tanh'(h)`` and ``db = dh.sum(0)``, again in the
  epilogue (``CUBLASLT_EPILOGUE_DGELU_BGRAD``).

The library is the one PyTorch's CUDA build has already loaded. In cuBLASLt's column-major view a
row-major (n, m) output is an (m, n) matrix, so ``x @ w.T`` is ``w`` (transposed) times ``x``;
the bias and the bias gradient run along the m rows, the features. One plan (descriptors and the
heuristic's algorithm) is kept per shape and operand alignment; the pointers are set per call.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

import torch

_GELU_AUX_BIAS, _DGELU_BGRAD = 164, 208  # cublasLtEpilogue_t
_TRANSA, _TRANSB, _EPILOGUE, _BIAS_POINTER, _AUX_POINTER, _AUX_LD = 3, 4, 7, 8, 11, 12  # desc attributes
_PREF_WORKSPACE = 1
_PREF_ALIGNMENT = (5, 6, 7, 8)  # minimum alignment of A, B, C and D in bytes
_COMPUTE_32F, _R_32F = 68, 0  # cublasComputeType_t, cudaDataType_t
DATA_TYPES = {torch.bfloat16: 14, torch.float16: 2}  # cudaDataType_t
_OP_N, _OP_T = 0, 1
_WORKSPACE_BYTES = 32 << 20
_ALPHA, _BETA = ctypes.c_float(1.0), ctypes.c_float(0.0)


class CublasLtError(RuntimeError):
    pass


class _Heuristic(ctypes.Structure):
    _fields_ = [("algo", ctypes.c_uint64 * 8), ("workspace_size", ctypes.c_size_t), ("state", ctypes.c_int),
                ("waves", ctypes.c_float), ("reserved", ctypes.c_int * 4)]


_P = ctypes.c_void_p
_SIGNATURES = {
    "cublasLtCreate": [ctypes.POINTER(_P)],
    "cublasLtMatmulDescCreate": [ctypes.POINTER(_P), ctypes.c_int, ctypes.c_int],
    "cublasLtMatmulDescSetAttribute": [_P, ctypes.c_int, _P, ctypes.c_size_t],
    "cublasLtMatrixLayoutCreate": [ctypes.POINTER(_P), ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64,
                                   ctypes.c_int64],
    "cublasLtMatmulPreferenceCreate": [ctypes.POINTER(_P)],
    "cublasLtMatmulPreferenceSetAttribute": [_P, ctypes.c_int, _P, ctypes.c_size_t],
    "cublasLtMatmulAlgoGetHeuristic": [_P] * 7 + [ctypes.c_int, ctypes.POINTER(_Heuristic),
                                                  ctypes.POINTER(ctypes.c_int)],
    "cublasLtMatmul": [_P] * 14 + [ctypes.c_size_t, _P],
}


def _loaded_path() -> str | None:
    """The file of the cuBLASLt library mapped into this process (PyTorch's CUDA build links it)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            for line in maps:
                if "libcublasLt.so" in line:
                    return line.split()[-1]
    except OSError:
        return None
    return None


_library: ctypes.CDLL | None = None


def library() -> ctypes.CDLL:
    """The loaded cuBLASLt with its functions' signatures; ``CublasLtError`` if there is none."""
    global _library
    if _library is None:
        names = [p for p in (_loaded_path(),) if p] + ["libcublasLt.so.13", "libcublasLt.so.12"]
        for name in names:
            try:
                lib = ctypes.CDLL(name)
            except OSError:
                continue
            for fn, args in _SIGNATURES.items():
                getattr(lib, fn).argtypes = args
                getattr(lib, fn).restype = ctypes.c_int
            _library = lib
            break
        else:
            raise CublasLtError(f"no cuBLASLt library could be loaded (tried {', '.join(names)})")
    return _library


def _check(status: int, what: str) -> None:
    if status != 0:
        raise CublasLtError(f"cuBLASLt {what} failed with status {status}")


def _set(setter, handle: _P, attribute: int, value: ctypes._SimpleCData) -> None:
    _check(setter(handle, attribute, ctypes.byref(value), ctypes.sizeof(value)), f"attribute {attribute}")


def _layout(dtype: int, rows: int, cols: int, ld: int) -> _P:
    layout = _P()
    _check(library().cublasLtMatrixLayoutCreate(ctypes.byref(layout), dtype, rows, cols, ld), "layout")
    return layout


def _alignment(tensor: torch.Tensor) -> int:
    """The largest power of two up to 256 that divides the tensor's address."""
    address = tensor.data_ptr()
    return min(address & -address, 256) if address else 256


@dataclass
class _Plan:
    desc: _P
    layouts: tuple[_P, _P, _P]  # A, B, D (C is D)
    heuristic: _Heuristic


class _Device:
    """A cuBLASLt handle and a workspace for one GPU."""

    def __init__(self, device: torch.device) -> None:
        self.handle = _P()
        with torch.cuda.device(device):
            _check(library().cublasLtCreate(ctypes.byref(self.handle)), "create")
        self.workspace = torch.empty(_WORKSPACE_BYTES, dtype=torch.uint8, device=device)


_devices: dict[int, _Device] = {}
_plans: dict[tuple, _Plan] = {}


def _device(index: int) -> _Device:
    if index not in _devices:
        _devices[index] = _Device(torch.device("cuda", index))
    return _devices[index]


def _plan(state: _Device, key: tuple, aligns: tuple[int, ...], epilogue_ptrs: tuple[int, int]) -> _Plan:
    """Descriptors and the heuristic's first algorithm for one product shape."""
    if key in _plans:
        return _plans[key]
    lib = library()
    epilogue, transa, m, n, k, lda, dtype = key[1:8]
    desc = _P()
    _check(lib.cublasLtMatmulDescCreate(ctypes.byref(desc), _COMPUTE_32F, _R_32F), "descriptor")
    for attribute, value in ((_TRANSA, ctypes.c_int(transa)), (_TRANSB, ctypes.c_int(_OP_N)),
                             (_EPILOGUE, ctypes.c_int(epilogue)), (_AUX_LD, ctypes.c_int64(m)),
                             (_BIAS_POINTER, _P(epilogue_ptrs[0])), (_AUX_POINTER, _P(epilogue_ptrs[1]))):
        _set(lib.cublasLtMatmulDescSetAttribute, desc, attribute, value)
    a_rows, a_cols = (k, m) if transa == _OP_T else (m, k)
    layouts = (_layout(dtype, a_rows, a_cols, lda), _layout(dtype, k, n, k), _layout(dtype, m, n, m))
    pref = _P()
    _check(lib.cublasLtMatmulPreferenceCreate(ctypes.byref(pref)), "preference")
    _set(lib.cublasLtMatmulPreferenceSetAttribute, pref, _PREF_WORKSPACE, ctypes.c_uint64(_WORKSPACE_BYTES))
    for attribute, align in zip(_PREF_ALIGNMENT, aligns):
        _set(lib.cublasLtMatmulPreferenceSetAttribute, pref, attribute, ctypes.c_uint32(align))
    found, count = _Heuristic(), ctypes.c_int(0)
    _check(lib.cublasLtMatmulAlgoGetHeuristic(state.handle, desc, layouts[0], layouts[1], layouts[2],
                                              layouts[2], pref, 1, ctypes.byref(found), ctypes.byref(count)),
           f"heuristic for epilogue {epilogue}, m={m} n={n} k={k}")
    if count.value < 1:
        raise CublasLtError(f"cuBLASLt has no algorithm for epilogue {epilogue}, m={m} n={n} k={k}")
    _plans[key] = _Plan(desc, layouts, found)
    return _plans[key]


def _matmul(epilogue: int, transa: int, a: torch.Tensor, b: torch.Tensor, m: int, out: torch.Tensor,
            bias: torch.Tensor, aux: torch.Tensor) -> None:
    """``out`` (n, m) row-major = the column-major product op(a) · b with ``epilogue``."""
    n, k = b.shape
    lda = a.shape[1]
    state = _device(out.device.index)
    aligns = tuple(_alignment(t) for t in (a, b, out, out))
    key = (out.device.index, epilogue, transa, m, n, k, lda, DATA_TYPES[out.dtype], aligns)
    plan = _plan(state, key, aligns, (bias.data_ptr(), aux.data_ptr()))
    lib = library()
    _set(lib.cublasLtMatmulDescSetAttribute, plan.desc, _BIAS_POINTER, _P(bias.data_ptr()))
    _set(lib.cublasLtMatmulDescSetAttribute, plan.desc, _AUX_POINTER, _P(aux.data_ptr()))
    d_layout = plan.layouts[2]
    _check(lib.cublasLtMatmul(state.handle, plan.desc, ctypes.byref(_ALPHA), _P(a.data_ptr()), plan.layouts[0],
                              _P(b.data_ptr()), plan.layouts[1], ctypes.byref(_BETA), _P(out.data_ptr()), d_layout,
                              _P(out.data_ptr()), d_layout, ctypes.byref(plan.heuristic.algo),
                              _P(state.workspace.data_ptr()), _WORKSPACE_BYTES,
                              _P(torch.cuda.current_stream(out.device).cuda_stream)), "matmul")


def gelu_aux_bias(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(gelu_tanh(h), h) for h = x @ w.T + b; x (n, k), w (m, k), b (m,), contiguous, one dtype."""
    n, m = x.shape[0], w.shape[0]
    a, h = x.new_empty(n, m), x.new_empty(n, m)
    _matmul(_GELU_AUX_BIAS, _OP_T, w, x, m, a, b, h)
    return a, h


def dgelu_bgrad(dy: torch.Tensor, w: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(dh, dh.sum(0)) for dh = (dy @ w) * gelu_tanh'(h); dy (n, k), w (k, m), h (n, m), contiguous."""
    n, m = dy.shape[0], w.shape[1]
    dh, db = dy.new_empty(n, m), dy.new_empty(m)
    _matmul(_DGELU_BGRAD, _OP_N, w, dy, m, dh, db, h)
    return dh, db
