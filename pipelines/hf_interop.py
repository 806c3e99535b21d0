"""Checkpoints to and from Hugging Face GPT-2 folders (``config.json``, safetensors, tokenizer
files).

Reading and writing need no ``transformers``; loading the result does (the ``hf`` extra). The two
layouts differ in four ways, handled here:
- GPT-2's ``Conv1D`` stores weights as (in, out): the transpose of ``nn.Linear``'s (out, in);
- names: ``transformer.h.N.attn.c_attn`` is our ``blocks.N.att.qkv`` (query, key, value fused in
  the same order in both), ``c_proj``/``c_fc`` are our ``out_proj``/``up``/``down``;
- GPT-2 always has a query/key/value bias: exporting a model without one writes zeros;
- a tied head has no ``lm_head.weight`` of its own in either format.
GPT-2's activation ``gelu_new`` is the tanh approximation of GELU, the one our MLP uses
(``F.gelu(approximate="tanh")``); both LayerNorms use eps 1e-5, and attention scales by
1/sqrt(head size) in both, so the logits agree to float rounding.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import shutil
import tempfile
from pathlib import Path

import torch
from tokenizers import Tokenizer, models

from scratchlm.curate.errors import ConfigError
from scratchlm.model import checkpoint
from scratchlm.model.config import GPTConfig
from scratchlm.model.errors import ModelError
from scratchlm.model.safetensors_io import load_file, save_file
from scratchlm.tokenizer.config import EOS_TOKEN, TOKENIZER_FILE
from scratchlm.tokenizer.files import load_tokenizer, token_id
from scratchlm.tokenizer.train import new_byte_level_bpe

# gelu_fast and gelu_pytorch_tanh compute the same tanh approximation as gelu_new
TANH_GELU = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")
LAYER_NORM_EPS = 1e-5  # torch.nn.LayerNorm's default, which model.gpt uses
HF_WEIGHTS = "model.safetensors"  # a Hugging Face model folder's weights
# a block's layers: (ours, GPT-2's, a Conv1D in GPT-2, whose weight needs a transpose)
BLOCK_LAYERS = [
    ("norm1", "ln_1", False),
    ("att.qkv", "attn.c_attn", True),
    ("att.out_proj", "attn.c_proj", True),
    ("norm2", "ln_2", False),
    ("ff.up", "mlp.c_fc", True),
    ("ff.down", "mlp.c_proj", True),
]
# each layer's weight and bias: (ours, GPT-2's, needs a transpose)
BLOCK_NAMES = [
    (f"{ours}.{param}", f"{theirs}.{param}", conv1d and param == "weight")
    for ours, theirs, conv1d in BLOCK_LAYERS
    for param in ("weight", "bias")
]
TOP_NAMES = [
    ("tok_emb.weight", "wte.weight"),
    ("pos_emb.weight", "wpe.weight"),
    ("head.final_norm.weight", "ln_f.weight"),
    ("head.final_norm.bias", "ln_f.bias"),
]
BUFFERS = (
    ".attn.bias",
    ".attn.masked_bias",
)  # causal-mask buffers in older GPT-2 files, not weights


def name_pairs(config: GPTConfig) -> list[tuple[str, str, bool]]:
    """(our name, GPT-2 name without the ``transformer.`` prefix, transpose) of every weight."""
    pairs = [(ours, theirs, False) for ours, theirs in TOP_NAMES]
    for i in range(config.n_layer):
        pairs += [(f"blocks.{i}.{ours}", f"h.{i}.{theirs}", t) for ours, theirs, t in BLOCK_NAMES]
    return pairs


# ---- export ---------------------------------------------------------------------------------


def hf_config(config: GPTConfig, eos_id: int) -> dict:
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": config.vocab_size,
        "n_positions": config.block_size,
        "n_embd": config.n_embd,
        "n_layer": config.n_layer,
        "n_head": config.n_head,
        "n_inner": None,
        "activation_function": "gelu_new",
        "resid_pdrop": config.dropout,
        "embd_pdrop": config.dropout,
        "attn_pdrop": config.dropout,
        "layer_norm_epsilon": LAYER_NORM_EPS,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "use_cache": True,
        "bos_token_id": eos_id,
        "eos_token_id": eos_id,
        "tie_word_embeddings": config.tie_weights,
        "dtype": "float32",
    }


def to_hf_weights(weights: dict[str, torch.Tensor], config: GPTConfig) -> dict[str, torch.Tensor]:
    out = {}
    for ours, theirs, transpose in name_pairs(config):
        if ours not in weights and ours.endswith("att.qkv.bias") and not config.qkv_bias:
            tensor = torch.zeros(3 * config.n_embd)
        else:
            tensor = weights[ours].float()
        out["transformer." + theirs] = tensor.T.contiguous() if transpose else tensor.contiguous()
    if not config.tie_weights:
        out["lm_head.weight"] = weights[checkpoint.TIED].float().contiguous()
    return out


def write_tokenizer_files(tokenizer_path: Path, out: Path, block_size: int) -> int:
    """tokenizer.json and the files ``AutoTokenizer`` reads beside it; the end-of-text id."""
    eos_id = token_id(load_tokenizer(tokenizer_path), tokenizer_path)
    shutil.copyfile(tokenizer_path, out / TOKENIZER_FILE)
    special = {"bos_token": EOS_TOKEN, "eos_token": EOS_TOKEN, "unk_token": EOS_TOKEN}
    config = {
        "tokenizer_class": "GPT2Tokenizer",
        "model_max_length": block_size,
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        **special,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    (out / "special_tokens_map.json").write_text(json.dumps(special, indent=1), encoding="utf-8")
    return eos_id


def export_hf(checkpoint_path: Path, out: Path) -> Path:
    """Write a GPT-2 folder that ``transformers`` loads with ``from_pretrained(out)``."""
    saved = checkpoint.load(checkpoint_path)
    if saved.state.get("finetune", {}).get("task") == "classify":
        raise ConfigError(
            f"{saved.folder}: a classifier checkpoint has no language-model head to export"
        )
    config = GPTConfig(**saved.model_config)
    tokenizer_path = saved.tokenizer_path
    if not tokenizer_path.exists():
        raise ConfigError(f"{saved.folder}: no {TOKENIZER_FILE} beside the weights")
    out.mkdir(parents=True, exist_ok=True)
    eos_id = write_tokenizer_files(tokenizer_path, out, config.block_size)
    save_file(to_hf_weights(saved.weights, config), out / HF_WEIGHTS, metadata={"format": "pt"})
    (out / "config.json").write_text(
        json.dumps(hf_config(config, eos_id), indent=1), encoding="utf-8"
    )
    generation = {"bos_token_id": eos_id, "eos_token_id": eos_id}
    (out / "generation_config.json").write_text(json.dumps(generation, indent=1), encoding="utf-8")
    return out


# ---- import ---------------------------------------------------------------------------------


def gpt_config_from_hf(hf: dict, path: Path) -> GPTConfig:
    """Our config for a GPT-2 ``config.json``; what our GPT cannot compute exactly is refused."""

    def refuse(what: str) -> ConfigError:
        return ConfigError(f"{path}: {what}; scratchlm's GPT cannot reproduce this model")

    if hf.get("model_type") != "gpt2":
        raise refuse(f"model_type {hf.get('model_type')!r}, not gpt2")
    n_embd = hf.get("n_embd", 768)
    if hf.get("n_inner") not in (None, 4 * n_embd):
        raise refuse(f"n_inner {hf['n_inner']} (ours is 4 * n_embd = {4 * n_embd})")
    if hf.get("activation_function", "gelu_new") not in TANH_GELU:
        raise refuse(f"activation {hf['activation_function']!r} (ours is the tanh GELU, gelu_new)")
    if abs(hf.get("layer_norm_epsilon", LAYER_NORM_EPS) - LAYER_NORM_EPS) > 1e-12:
        raise refuse(f"layer_norm_epsilon {hf['layer_norm_epsilon']} (ours is {LAYER_NORM_EPS})")
    if not hf.get("scale_attn_weights", True) or hf.get("scale_attn_by_inverse_layer_idx", False):
        raise refuse("non-standard attention scaling")
    if hf.get("add_cross_attention", False):
        raise refuse("cross-attention layers")
    try:
        return GPTConfig(
            vocab_size=hf.get("vocab_size", 50257),
            block_size=hf.get("n_positions", 1024),
            n_layer=hf.get("n_layer", 12),
            n_head=hf.get("n_head", 12),
            n_embd=n_embd,
            dropout=hf.get("resid_pdrop", 0.1),
            qkv_bias=True,
            tie_weights=hf.get("tie_word_embeddings", True),
        )
    except ModelError as err:
        raise ConfigError(f"{path}: {err}") from None


def read_hf_tensors(folder: Path) -> dict[str, torch.Tensor]:
    """The tensors of ``model.safetensors``, a sharded safetensors index, or
    ``pytorch_model.bin``."""
    index = folder / f"{HF_WEIGHTS}.index.json"
    if (folder / HF_WEIGHTS).exists():
        return load_file(folder / HF_WEIGHTS)
    if index.exists():
        files = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return {k: v for name in files for k, v in load_file(folder / name).items()}
    if (folder / "pytorch_model.bin").exists():
        try:  # plain tensors only: no code in the file runs
            return torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError) as err:
            raise ConfigError(
                f"{folder / 'pytorch_model.bin'}: refused, not plain tensors ({err})"
            ) from None
    raise ConfigError(
        f"{folder}: no model.safetensors, model.safetensors.index.json or pytorch_model.bin"
    )


def from_hf_weights(
    tensors: dict[str, torch.Tensor], config: GPTConfig, folder: Path
) -> dict[str, torch.Tensor]:
    """Our state dict from GPT-2 tensors (names with or without the ``transformer.`` prefix)."""
    plain = {
        k.removeprefix("transformer."): v for k, v in tensors.items() if not k.endswith(BUFFERS)
    }
    out, used = {}, set()
    for ours, theirs, transpose in name_pairs(config):
        if theirs not in plain:
            raise ConfigError(f"{folder}: weight {theirs!r} missing")
        tensor = plain[theirs].float()
        out[ours] = tensor.T.contiguous() if transpose else tensor.contiguous()
        used.add(theirs)
    if not config.tie_weights:
        if "lm_head.weight" not in plain:
            raise ConfigError(f"{folder}: untied model without lm_head.weight")
        out[checkpoint.TIED] = plain["lm_head.weight"].float().contiguous()
        used.add("lm_head.weight")
    unknown = sorted(set(plain) - used - {"lm_head.weight"})
    if unknown:
        raise ConfigError(f"{folder}: unexpected weights {', '.join(unknown[:5])}")
    return out


def gpt2_tokenizer(folder: Path) -> Tokenizer:
    """The folder's tokenizer.json, or one built from GPT-2's vocab.json and merges.txt."""
    if (folder / TOKENIZER_FILE).exists():
        return load_tokenizer(folder / TOKENIZER_FILE)
    vocab, merges = folder / "vocab.json", folder / "merges.txt"
    if not (vocab.exists() and merges.exists()):
        raise ConfigError(f"{folder}: no tokenizer.json, nor vocab.json and merges.txt")
    tokenizer = new_byte_level_bpe()
    tokenizer.model = models.BPE.from_file(str(vocab), str(merges))
    tokenizer.add_special_tokens([EOS_TOKEN])
    return tokenizer


def import_hf(folder: Path, out: Path) -> Path:
    """Write a scratchlm checkpoint (``out/step-0000000``) from a local GPT-2 folder; its path."""
    config_path = folder / "config.json"
    try:
        hf = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{config_path}: unreadable ({err})") from None
    config = gpt_config_from_hf(hf, config_path)
    weights = from_hf_weights(read_hf_tensors(folder), config, folder)
    tokenizer = gpt2_tokenizer(folder)
    token_id(tokenizer, folder)  # an imported model must be able to end its text
    out.mkdir(parents=True, exist_ok=True)
    state = {
        "step": 0,
        "tokens": 0,
        "model_config": dataclasses.asdict(config),
        "imported_from": str(folder),
    }
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        tokenizer.save(str(Path(tmp) / TOKENIZER_FILE))
        return checkpoint.save(
            out,
            0,
            checkpoint.weights_for_saving(weights, config.tie_weights),
            state,
            [Path(tmp) / TOKENIZER_FILE],
            keep=1,
        )
