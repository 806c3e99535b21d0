"""The safetensors file format, written and read with the standard library and torch alone.

Layout (https://huggingface.co/docs/safetensors): 8-byte little-endian header length, a JSON
header mapping each name to dtype, shape and [begin, end) byte offsets, then the raw
little-endian tensor bytes. No code is ever executed on load.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch

from scratchlm.model.errors import ModelError

DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
FROM_NAME = {name: dtype for dtype, name in DTYPES.items()}
MAX_HEADER = 100 * 1024 * 1024


def save_file(
    tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None
) -> None:
    header: dict[str, object] = {"__metadata__": metadata} if metadata else {}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {
            "dtype": DTYPES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the format pads the header to 8 bytes with spaces
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def load_file(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file; any inconsistency is a ModelError naming the file."""
    return tensors_from_bytes(Path(path).read_bytes(), path)


def tensors_from_bytes(data: bytes, path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file already read (``path`` names it in errors)."""
    try:
        (size,) = struct.unpack("<Q", data[:8])
        if size > MAX_HEADER or 8 + size > len(data):
            raise ValueError("header length beyond the file")
        header = json.loads(data[8 : 8 + size])
        header.pop("__metadata__", None)
        body = memoryview(data)[8 + size :]
        tensors, covered = {}, 0
        for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
            begin, end = info["data_offsets"]
            dtype = FROM_NAME[info["dtype"]]
            shape = [int(n) for n in info["shape"]]
            count = 1
            for n in shape:
                count *= n
            if begin != covered or end > len(body) or end - begin != count * dtype.itemsize:
                raise ValueError(f"tensor {name!r} has bad offsets {begin}..{end}")
            buf = bytearray(body[begin:end])
            tensors[name] = (
                torch.frombuffer(buf, dtype=dtype).reshape(shape)
                if count
                else torch.empty(shape, dtype=dtype)
            )
            covered = end
        if covered != len(body):
            raise ValueError(f"{len(body) - covered} bytes after the last tensor")
    except (ValueError, KeyError, TypeError, struct.error) as err:
        raise ModelError(f"{path}: not a valid safetensors file ({err})") from None
    return tensors
