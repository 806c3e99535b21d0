"""Loading a ``tokenizer.json``: the one place that decides how ``<|endoftext|>`` inside a text
encodes."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from scratchlm.curate.errors import ConfigError
from scratchlm.tokenizer.config import EOS_TOKEN, TOKENIZER_FILE


def tokenizer_file(path: str | Path) -> Path:
    """The ``tokenizer.json`` that ``path`` names (the file, or the folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / TOKENIZER_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: no tokenizer.json there")
    return path


def load_tokenizer(path: str | Path, special_tokens_as_text: bool = True) -> Tokenizer:
    """The tokenizer in ``path`` (the file, or the folder holding it). By default a special
    token's text inside a document (a literal ``<|endoftext|>``) encodes as ordinary text, as the
    shards encode it, so only the end of a document is the end-of-text id;
    ``special_tokens_as_text=False`` makes it the special token (for prompts a person types)."""
    path = tokenizer_file(path)
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as err:  # tokenizers raises its own Exception subclass for a bad file
        raise ConfigError(f"{path}: not a readable tokenizer.json ({err})") from None
    tokenizer.encode_special_tokens = special_tokens_as_text
    return tokenizer


def token_id(tokenizer: Tokenizer, where: str | Path, token: str = EOS_TOKEN) -> int:
    """The id of ``token`` (by default the end-of-text token); a ConfigError naming ``where``
    without it."""
    found = tokenizer.token_to_id(token)
    if found is None:
        raise ConfigError(f"{where}: the tokenizer has no {token!r} token")
    return found
