"""cuBLASLt matrix products with epilogues, called through ctypes (the standard library).

``matmul`` computes a product of row-major bf16 or fp16 matrices in one cuBLASLt call whose
epilogue adds a bias ("bias"), applies GELU and keeps its input ("gelu_aux_bias": writes ``h`` and
``gelu_tanh(h)``), or multiplies by the GELU derivative of a kept input ("dgelu"), optionally with
a matrix added to the product (cuBLASLt's C operand). model/fused_mlp.py uses them so that no
element-wise kernel runs in the feed-forward block. The library is the one PyTorch's CUDA build has
already loaded. One plan (descriptors and the heuristic's candidate algorithms) is kept per
shape, operation, epilogue and operand alignment; at a plan's first call each candidate is timed
and the fastest kept (the heuristic's first pick is not always it: docs/benchmarks.md); the
pointers are set per call.

``CUBLASLT_EPILOGUE_DGELU_BGRAD`` (the bias gradient in the same epilogue) was measured and is not
used: cuBLASLt ran it as a separate kernel, three times the element-wise GELU backward
(docs/benchmarks.md).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import torch

# cublasLtEpilogue_t
EPILOGUES = {"none": 1, "bias": 4, "gelu_aux_bias": 164, "dgelu": 192}
_TRANSA, _TRANSB, _EPILOGUE, _BIAS_POINTER, _AUX_POINTER, _AUX_LD = 3, 4, 7, 8, 11, 12
_PREF_WORKSPACE = 1
_PREF_ALIGNMENT = (5, 6, 7, 8)  # minimum alignment of A, B, C and D in bytes
_COMPUTE_32F, _R_32F = 68, 0  # cublasComputeType_t, cudaDataType_t
DATA_TYPES = {torch.bfloat16: 14, torch.float16: 2}  # cudaDataType_t
_OP_N, _OP_T = 0, 1  # cublasOperation_t
_WORKSPACE_BYTES = 32 << 20
_ONE, _ZERO = ctypes.c_float(1.0), ctypes.c_float(0.0)
_CANDIDATES = 8  # algorithms asked of the heuristic and timed at a shape's first call


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
    candidates: list[_Heuristic]  # the heuristic's algorithms, best guess first
    chosen: _Heuristic | None = None  # the fastest candidate, timed at the first call


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
    """Descriptors and the heuristic's algorithms for one product's shapes, operations, epilogue
    and operand alignments."""
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
    layouts = (
        _layout(dtype, *a_shape, a_shape[0]),
        _layout(dtype, *b_shape, b_shape[0]),
        _layout(dtype, m, n, m),
    )
    pref = _P()
    _check(lib.cublasLtMatmulPreferenceCreate(ctypes.byref(pref)), "preference")
    _set(
        lib.cublasLtMatmulPreferenceSetAttribute,
        pref,
        _PREF_WORKSPACE,
        ctypes.c_uint64(_WORKSPACE_BYTES),
    )
    for attribute, align in zip(_PREF_ALIGNMENT, aligns):
        _set(lib.cublasLtMatmulPreferenceSetAttribute, pref, attribute, ctypes.c_uint32(align))
    found, count = (_Heuristic * _CANDIDATES)(), ctypes.c_int(0)
    _check(
        lib.cublasLtMatmulAlgoGetHeuristic(
            state.handle,
            desc,
            layouts[0],
            layouts[1],
            layouts[2],
            layouts[2],
            pref,
            _CANDIDATES,
            found,
            ctypes.byref(count),
        ),
        f"heuristic for m={m} n={n} ({epilogue})",
    )
    candidates = [found[i] for i in range(count.value) if found[i].state == 0]
    if not candidates:
        raise CublasLtError(f"cuBLASLt has no {epilogue} algorithm for m={m} n={n}")
    _plans[key] = _Plan(desc, layouts, candidates)
    return _plans[key]


def _fastest(candidates: list[_Heuristic], launch, stream: torch.cuda.Stream) -> _Heuristic:
    """The candidate whose product runs fastest here (CUDA events over 3 runs after one warm-up)."""
    if len(candidates) < 2:
        return candidates[0]
    times = []
    for algo in candidates:
        if launch(algo) != 0:
            times.append(float("inf"))
            continue
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record(stream)
        status = sum(launch(algo) != 0 for _ in range(3))
        end.record(stream)
        end.synchronize()
        times.append(start.elapsed_time(end) if status == 0 else float("inf"))
    return candidates[min(range(len(times)), key=times.__getitem__)]


def matmul(
    p: torch.Tensor,
    q: torch.Tensor,
    *,
    p_t: bool = False,
    q_t: bool = False,
    epilogue: str = "none",
    bias: torch.Tensor | None = None,
    aux: torch.Tensor | None = None,
    add: torch.Tensor | None = None,
) -> torch.Tensor:
    """``op(p) @ op(q)`` (``op`` transposes where ``p_t``/``q_t`` say) for contiguous row-major
    bf16/fp16 matrices, through one cuBLASLt call with ``epilogue`` (``EPILOGUES``) and ``add``
    (the output's shape) added to the product.

    In cuBLASLt's column-major view the row-major output (R, C) is a (C, R) matrix D = A B, so ``q``
    is cuBLASLt's A and ``p`` its B. ``bias``: the bias added along the C output columns ("bias",
    "gelu_aux_bias"). ``aux`` (the output's shape): where "gelu_aux_bias" writes the
    pre-activation, or the pre-activation at whose GELU derivative "dgelu" multiplies the product.
    """
    rows = p.shape[1] if p_t else p.shape[0]
    cols = q.shape[0] if q_t else q.shape[1]
    out = p.new_empty(rows, cols)
    state = _device(out.device.index)
    c = add if add is not None else out
    aligns = tuple(_alignment(t) for t in (q, p, c, out))
    key = (
        out.device.index,
        (q.shape[1], q.shape[0]),
        q_t,
        (p.shape[1], p.shape[0]),
        p_t,
        (cols, rows),
        epilogue,
        DATA_TYPES[out.dtype],
        aligns,
    )
    plan = _plan(state, key)
    lib = library()
    for attribute, tensor in ((_BIAS_POINTER, bias), (_AUX_POINTER, aux)):
        if tensor is not None:
            _set(lib.cublasLtMatmulDescSetAttribute, plan.desc, attribute, _P(tensor.data_ptr()))
    stream = torch.cuda.current_stream(out.device)

    def launch(algo: _Heuristic) -> int:
        a_layout, b_layout, out_layout = plan.layouts
        return lib.cublasLtMatmul(
            state.handle,
            plan.desc,
            ctypes.byref(_ONE),
            _P(q.data_ptr()),
            a_layout,
            _P(p.data_ptr()),
            b_layout,
            ctypes.byref(_ONE if add is not None else _ZERO),
            _P(c.data_ptr()),
            out_layout,
            _P(out.data_ptr()),
            out_layout,
            ctypes.byref(algo.algo),
            _P(state.workspace.data_ptr()),
            _WORKSPACE_BYTES,
            _P(stream.cuda_stream),
        )

    if plan.chosen is None:
        plan.chosen = _fastest(plan.candidates, launch, stream)
    _check(launch(plan.chosen), "matmul")
    return out


def gelu_aux_bias(
    x: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(gelu_tanh(h), h) for h = x @ w.T + b; x (n, k), w (m, k), b (m,), contiguous, one dtype."""
    h = x.new_empty(x.shape[0], w.shape[0])
    return matmul(x, w, q_t=True, epilogue="gelu_aux_bias", bias=b, aux=h), h
