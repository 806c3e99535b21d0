"""Building a configuration dataclass from plain options, refusing unknown keys and bad types.

The dataclass's fields and type hints are the schema; every error names the key's path, as in
``steps[2].gopher_quality.min_words: expected int, got 'ten'``, and every bad key of a mapping is
reported at once (one line each). A single value where a list is expected is a one-item list.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, Union, get_args, get_origin

from scratchlm.curate.errors import ConfigError


def known_names(name: str, known: list[str] | tuple[str, ...]) -> str:
    """``(did you mean 'closest'? known: a, b)``, the guess only where a known name is close."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return f"({guess}known: {', '.join(map(str, known)) or 'none'})"


class Problems:
    """ConfigErrors collected over one pass, so that all are reported together."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    @contextmanager
    def check(self) -> Iterator[None]:
        """Run the block; a ConfigError in it is noted (each of its lines) instead of raised."""
        try:
            yield
        except ConfigError as err:
            self.messages += str(err).splitlines()

    def raise_any(self) -> None:
        if self.messages:
            raise ConfigError("\n".join(self.messages))


SCALARS = (str, int, float, bool)


def type_name(hint: Any) -> str:
    """A type hint as the error messages and `scratchlm stages` write it."""
    if hint is type(None):
        return "null"
    origin = get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(hint))
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(a) for a in get_args(hint))
    if origin is not None:
        return str(hint).replace("typing.", "")
    return getattr(hint, "__name__", str(hint))


def coerce(value: Any, hint: Any, path: str, one_item: bool = True) -> Any:
    """Check ``value`` against a type hint, converting where it is lossless (int to float, list to
    tuple, with ``one_item`` a single value to a list of it)."""
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin is Literal:
        if value in get_args(hint):
            return value
        raise ConfigError(f"{path}: expected {type_name(hint)}, got {value!r}")
    if origin in (Union, types.UnionType):  # each option as it is, then with one-item lists
        for wrap in (False, True) if one_item else (False,):
            for option in get_args(hint):
                try:
                    return coerce(value, option, path, wrap)
                except ConfigError:
                    continue
        raise ConfigError(f"{path}: expected {type_name(hint)}, got {value!r}")
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{path}: expected null, got {value!r}")
    if origin in (list, tuple, typing.Sequence) or hint in (list, tuple):
        if one_item and isinstance(value, SCALARS):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        args = get_args(hint)
        item = args[0] if args else Any
        items = [coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if (origin is tuple or hint is tuple) else items
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        args = get_args(hint)
        if args:
            return {
                coerce(k, args[0], f"{path}.{k}"): coerce(v, args[1], f"{path}.{k}")
                for k, v in value.items()
            }
        return dict(value)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, path)
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif isinstance(hint, type) and isinstance(value, hint):
        return value
    raise ConfigError(f"{path}: expected {type_name(hint)}, got {value!r}")


def field_values(cls: type, namespace: object) -> dict[str, Any]:
    """The values ``namespace`` (parsed command-line options, say) holds for the fields of the
    dataclass ``cls``, matched by attribute name alone (an option's ``dest`` is its field's name);
    a field it has no attribute for is left out, keeping its default."""
    names = [f.name for f in dataclasses.fields(cls)]
    return {name: getattr(namespace, name) for name in names if hasattr(namespace, name)}


def build(cls: type, options: Any, path: str) -> Any:
    """An instance of dataclass ``cls`` from a mapping of options (``None`` means all defaults)."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ConfigError(f"{path}: expected a mapping of options, got {options!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    values = {}
    problems = Problems()
    for key, value in options.items():
        with problems.check():
            if key not in fields:
                known = known_names(key, sorted(fields))
                raise ConfigError(f"{path}.{key}: unknown option {known}")
            values[key] = coerce(value, hints[key], f"{path}.{key}")
    problems.raise_any()
    for (
        name,
        spec,
    ) in fields.items():  # defaults too, so a resolved recipe reloads to the same values
        if name not in values and spec.default is not dataclasses.MISSING:
            try:
                values[name] = coerce(spec.default, hints[name], f"{path}.{name}")
            except ConfigError:
                pass
    try:
        return cls(**values)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{path}: {err}") from None


def to_plain(config: Any) -> Any:
    """A config dataclass back as plain YAML-able data (tuples as lists)."""
    if dataclasses.is_dataclass(config):
        return {
            f.name: to_plain(getattr(config, f.name)) for f in dataclasses.fields(config) if f.init
        }
    if isinstance(config, (list, tuple)):
        return [to_plain(v) for v in config]
    if isinstance(config, dict):
        return {k: to_plain(v) for k, v in config.items()}
    return config
