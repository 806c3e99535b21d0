"""User-facing errors of the trainer: the CLI prints them as one line and exits with 2."""

from __future__ import annotations


class ModelError(Exception):
    """Bad input, configuration or checkpoint; the message names the file or step and the cause."""


class OtherTraining(ModelError):
    """The output folder holds a training run of another configuration; ``changes`` says how."""

    def __init__(self, message: str, changes: list[str]) -> None:
        super().__init__(message)
        self.changes = changes


class TrainingInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped training after a step whose checkpoint was then saved."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
