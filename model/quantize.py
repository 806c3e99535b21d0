"""int8 inference on CPU: PyTorch dynamic quantization of every ``nn.Linear``.

Weights are stored as int8 with a per-tensor scale; activations are quantized on the fly per
batch, and the products run in int8 (fbgemm/x86 kernels). Embeddings and LayerNorms stay float32;
a head tied to the embedding gets its own int8 copy. ``torch.ao.quantization`` is deprecated in
favour of the separate ``torchao`` package, but still ships with torch and needs nothing else.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from scratchlm.model.errors import ModelError


def quantize_int8(model: nn.Module) -> nn.Module:
    """An int8 copy of ``model`` for CPU inference (the original is left as it is)."""
    from torch.ao.quantization import quantize_dynamic

    if next(model.parameters()).device.type != "cpu":
        raise ModelError(
            "int8 dynamic quantization runs on the CPU; load the model with --device cpu"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return quantize_dynamic(copy.deepcopy(model).eval(), {nn.Linear}, dtype=torch.qint8)
