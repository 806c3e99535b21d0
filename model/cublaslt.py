"""A cuBLASLt matrix product with a GELU epilogue, called through ctypes (the standard library).

``gelu_aux_bias(x, w, b)`` computes ``h = x @ w.T + b`` and ``a = gelu_tanh(h)`` for row-major bf16
or fp16 tensors in one cuBLASLt call: the product's epilogue (``CUBLASLT_EPILOGUE_GELU_AUX_BIAS``)
writes both, so no element-wise kernel reads ``h`` (model/fused_mlp.py keeps ``h`` for the
backward pass). The library is the one PyTorch's CUDA build has already loaded. In cuBLASLt's
column-major view a row-major (n, m) output is an (m, n) matrix, so ``x @ w.T`` is ``w``
(transposed) times ``x``, and the bias runs along the m rows, the features. One plan (descriptors
and the heuristic's algorithm) is kept per shape and operand alignment; the pointers are set per
call.

Its backward counterpart, ``CUBLASLT_EPILOGUE_DGELU_BGRAD`` (the GELU derivative and the bias
gradient in the epilogue of the down projection's input gradient), was measured and is not used:
on an H100 with CUDA 13.0 cuBLASLt ran it as a separate epilogue kernel of 2.6 ms a call at
131,072 x 3,072, three times the element-wise GELU backward (docs/benchmarks.md).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import torch

# cublasLtEpilogue_t
EPILOGUES = {"none": 1, "bias": 4, "gelu_aux_bias": 164, "dgelu": 192, "bgradb": 512}
_TRANSA, _TRANSB, _EPILOGUE, _BIAS_POINTER, _AUX_POINTER, _AUX_LD = 3, 4, 7, 8, 11, 12
_PREF_WORKSPACE = 1
_PREF_ALIGNMENT = (5, 6, 7, 8)  # minimum alignment of A, B, C and D in bytes
_COMPUTE_32F, _R_32F = 68, 0  # cublasComputeType_t, cudaDataType_t
DATA_TYPES = {torch.bfloat16: 14, torch.float16: 2}  # cudaDataType_t
_OP_N, _OP_T = 0, 1  # cublasOperation_t
_WORKSPACE_BYTES = 32 << 20
_ONE, _ZERO = ctypes.c_float(1.0), ctypes.c_float(0.0)


class CublasLtError(RuntimeError):
    pass


class _Heuristic(ctypes.Structure):
    _fields_ = [
        ("algo", ctypes.c_uint64 * 8),
        ("workspace_size", ctypes.c_size_t),
        ("state", ctypes.c_int),
        ("waves", ctypes.c_float),
        ("reserved", ctypes.c_int * 4),
    ]


_P = ctypes.c_void_p
_SIGNATURES = {
    "cublasLtCreate": [ctypes.POINTER(_P)],
    "cublasLtMatmulDescCreate": [ctypes.POINTER(_P), ctypes.c_int, ctypes.c_int],
    "cublasLtMatmulDescSetAttribute": [_P, ctypes.c_int, _P, ctypes.c_size_t],
    "cublasLtMatrixLayoutCreate": [
        ctypes.POINTER(_P),
        ctypes.c_int,
        ctypes.c_uint64,
        ctypes.c_uint64,
        ctypes.c_int64,
    ],
    "cublasLtMatmulPreferenceCreate": [ctypes.POINTER(_P)],
    "cublasLtMatmulPreferenceSetAttribute": [_P, ctypes.c_int, _P, ctypes.c_size_t],
    "cublasLtMatmulAlgoGetHeuristic": [_P] * 7
    + [ctypes.c_int, ctypes.POINTER(_Heuristic), ctypes.POINTER(ctypes.c_int)],
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
    _check(
        setter(handle, attribute, ctypes.byref(value), ctypes.sizeof(value)),
        f"attribute {attribute}",
    )


def _layout(dtype: int, rows: int, cols: int, ld: int) -> _P:
    layout = _P()
    _check(
        library().cublasLtMatrixLayoutCreate(ctypes.byref(layout), dtype, rows, cols, ld), "layout"
    )
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


def _plan(state: _Device, key: tuple) -> _Plan:
    """Descriptors and the heuristic's first algorithm for one product's shapes, operations,
    epilogue and operand alignments."""
    if key in _plans:
        return _plans[key]
    lib = library()
    _, a_shape, trans_a, b_shape, trans_b, (m, n), epilogue, dtype, aligns = key
    desc = _P()
    _check(lib.cublasLtMatmulDescCreate(ctypes.byref(desc), _COMPUTE_32F, _R_32F), "descriptor")
    for attribute, value in (
        (_TRANSA, ctypes.c_int(_OP_T if trans_a else _OP_N)),
        (_TRANSB, ctypes.c_int(_OP_T if trans_b else _OP_N)),
        (_EPILOGUE, ctypes.c_int(EPILOGUES[epilogue])),
        (_AUX_LD, ctypes.c_int64(m)),
    ):
        _set(lib.cublasLtMatmulDescSetAttribute, desc, attribute, value)
    layouts = (_layout(dtype, *a_shape, a_shape[0]), _layout(dtype, *b_shape, b_shape[0]),
               _layout(dtype, m, n, m))
    pref = _P()
    _check(lib.cublasLtMatmulPreferenceCreate(ctypes.byref(pref)), "preference")
    _set(lib.cublasLtMatmulPreferenceSetAttribute, pref, _PREF_WORKSPACE,
         ctypes.c_uint64(_WORKSPACE_BYTES))
    for attribute, align in zip(_PREF_ALIGNMENT, aligns):
        _set(lib.cublasLtMatmulPreferenceSetAttribute, pref, attribute, ctypes.c_uint32(align))
    found, count = _Heuristic(), ctypes.c_int(0)
    _check(
        lib.cublasLtMatmulAlgoGetHeuristic(state.handle, desc, layouts[0], layouts[1], layouts[2],
                                           layouts[2], pref, 1, ctypes.byref(found),
                                           ctypes.byref(count)),
        f"heuristic for m={m} n={n} ({epilogue})",
    )
    if count.value < 1:
        raise CublasLtError(f"cuBLASLt has no {epilogue} algorithm for m={m} n={n}")
    _plans[key] = _Plan(desc, layouts, found)
    return _plans[key]


def matmul(p: torch.Tensor, q: torch.Tensor, *, p_t: bool = False, q_t: bool = False,
           epilogue: str = "none", bias: torch.Tensor | None = None,
           aux: torch.Tensor | None = None, add: torch.Tensor | None = None) -> torch.Tensor:
    """``op(p) @ op(q)`` (``op`` transposes where ``p_t``/``q_t`` say) for contiguous row-major
    bf16/fp16 matrices, through one cuBLASLt call with ``epilogue`` (``EPILOGUES``) and ``add``
    (the output's shape) added to the product.

    In cuBLASLt's column-major view the row-major output (R, C) is a (C, R) matrix D = op(q)ᵀ-wise
    A times B, so ``q`` is cuBLASLt's A and ``p`` its B. ``bias``: the bias added along the C
    output columns ("bias", "gelu_aux_bias"), or where "bgradb" writes the sum of ``op(p)`` over
    the inner dimension (R values). ``aux``: where "gelu_aux_bias" writes the pre-activation, or
    the pre-activation "dgelu" multiplies the product by ``gelu'`` of (the output's shape).
    """
    rows = p.shape[1] if p_t else p.shape[0]
    cols = q.shape[0] if q_t else q.shape[1]
    out = p.new_empty(rows, cols)
    state = _device(out.device.index)
    c = add if add is not None else out
    aligns = tuple(_alignment(t) for t in (q, p, c, out))
    key = (out.device.index, (q.shape[1], q.shape[0]), q_t, (p.shape[1], p.shape[0]), p_t,
           (cols, rows), epilogue, DATA_TYPES[out.dtype], aligns)
    plan = _plan(state, key)
    lib = library()
    for attribute, tensor in ((_BIAS_POINTER, bias), (_AUX_POINTER, aux)):
        if tensor is not None:
            _set(lib.cublasLtMatmulDescSetAttribute, plan.desc, attribute, _P(tensor.data_ptr()))
    a_layout, b_layout, out_layout = plan.layouts
    _check(
        lib.cublasLtMatmul(
            state.handle, plan.desc, ctypes.byref(_ONE), _P(q.data_ptr()), a_layout,
            _P(p.data_ptr()), b_layout, ctypes.byref(_ONE if add is not None else _ZERO),
            _P(c.data_ptr()), out_layout, _P(out.data_ptr()), out_layout,
            ctypes.byref(plan.heuristic.algo), _P(state.workspace.data_ptr()), _WORKSPACE_BYTES,
            _P(torch.cuda.current_stream(out.device).cuda_stream),
        ),
        "matmul",
    )
    return out


def gelu_aux_bias(
    x: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(gelu_tanh(h), h) for h = x @ w.T + b; x (n, k), w (m, k), b (m,), contiguous, one dtype."""
    h = x.new_empty(x.shape[0], w.shape[0])
    return matmul(x, w, q_t=True, epilogue="gelu_aux_bias", bias=b, aux=h), h
