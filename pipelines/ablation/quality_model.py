"""The ablation's own quality classifier: fastText on reference text (positive) against web text
(negative).

Both sides are read with the base recipe's ``read`` step, so web pages are reduced to their main
text exactly as the variants see them. The model is trained once per ablation folder.
"""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Iterator

from scratchlm.curate.document import Document
from scratchlm.curate.errors import ConfigError
from scratchlm.curate.inputs import expand_inputs
from scratchlm.curate.readers import FileError
from scratchlm.curate.stage import Source
from scratchlm.curate.text.classifier import TrainOptions, train
from scratchlm.curate.writer import write_atomic
from scratchlm.pipelines.ablation.spec import QualityModelSpec
from scratchlm.pipelines.config import build

MODEL_FILE, REPORT_FILE = "model.bin", "report.json"


def read_texts(read_stage: Source, paths: list[str], limit: int | None) -> Iterator[str]:
    """Texts of the documents in ``paths`` as the ``read`` step yields them, at most ``limit``."""

    def texts() -> Iterator[str]:
        for item in expand_inputs(paths):
            for record in read_stage.read(item.path, item.source):
                if isinstance(record, FileError):
                    raise ConfigError(
                        f"quality_model: {record.file} at {record.offset}: {record.error}"
                    )
                if isinstance(record, Document):
                    yield record.text

    return islice(texts(), limit)


def train_quality_model(spec: QualityModelSpec, read_stage: Source, folder: Path) -> Path:
    """``folder/model.bin``, trained unless an earlier run of the same spec left it there."""
    model, report_path = folder / MODEL_FILE, folder / REPORT_FILE
    plan = {
        "positive": spec.positive,
        "negative": spec.negative,
        "max_docs": spec.max_docs,
        "options": spec.options,
    }
    if (
        model.exists()
        and report_path.exists()
        and json.loads(report_path.read_text(encoding="utf-8"))["plan"] == plan
    ):
        return model
    options = build(TrainOptions, spec.options, "quality_model.options")
    report = train(
        read_texts(read_stage, spec.positive, spec.max_docs),
        read_texts(read_stage, spec.negative, spec.max_docs),
        model,
        options,
    )
    write_atomic(report_path, json.dumps({"plan": plan, "report": report}, indent=1))
    return model
