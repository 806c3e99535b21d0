"""Atomic writes of the arrays and small files dedup keeps under its work folder."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from curate.writer import write_atomic


def save_npy(path: Path, array: np.ndarray) -> None:
    """``np.save`` under a temporary name, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(array))
    os.replace(tmp, path)


def save_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True))


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
