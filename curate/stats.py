"""Per-stage counts: documents in, out, dropped by reason, bytes, per-file errors, seconds, and
what the read step counts that is no document (``counted``: blank lines, repeated ids)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageStats:
    docs_in: int = 0
    docs_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    annotated: Counter = field(default_factory=Counter)
    counted: Counter = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def docs_dropped(self) -> int:
        return sum(self.dropped.values())

    def merge(self, other: "StageStats") -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.dropped.update(other.dropped)
        self.annotated.update(other.annotated)
        self.counted.update(other.counted)
        self.errors.extend(other.errors)
        self.seconds += other.seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "docs_in": self.docs_in,
            "docs_out": self.docs_out,
            "docs_dropped": self.docs_dropped,
            "dropped": dict(sorted(self.dropped.items())),
            "annotated": dict(sorted(self.annotated.items())),
            "counted": dict(sorted(self.counted.items())),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StageStats":
        return cls(
            docs_in=data["docs_in"],
            docs_out=data["docs_out"],
            bytes_in=data["bytes_in"],
            bytes_out=data["bytes_out"],
            dropped=Counter(data["dropped"]),
            annotated=Counter(data.get("annotated", {})),
            counted=Counter(data.get("counted", {})),
            errors=list(data["errors"]),
            seconds=data["seconds"],
        )
