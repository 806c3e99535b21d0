"""Shared by the rule-based filters: the first failing rule, and whether to stop there."""

from __future__ import annotations


class Verdict:
    """Collects rule outcomes for one document.

    In drop mode the first failure ends the evaluation (the document is gone anyway); in
    annotate mode every signal is still computed so that a user can study them all.
    """

    __slots__ = ("annotate", "prefix", "reason")

    def __init__(self, prefix: str, annotate: bool) -> None:
        self.prefix = prefix
        self.annotate = annotate
        self.reason: str | None = None

    def fail(self, failed: bool, rule: str) -> bool:
        """Record ``rule`` if it failed first; True when evaluation should stop now."""
        if failed and self.reason is None:
            self.reason = f"{self.prefix}:{rule}"
        return self.reason is not None and not self.annotate
