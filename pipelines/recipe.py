"""Recipes: one YAML file describing a run, loaded and checked before any work starts."""

from __future__ import annotations

import dataclasses
import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scratchlm.curate.errors import ConfigError
from scratchlm.curate.stage import Source, Stage
from scratchlm.curate.stages import stage_class, stage_names
from scratchlm.pipelines.config import Problems, build, known_names, to_plain
from scratchlm.pipelines.deadline import check_deadline

# recipe section -> (module, dataclass) that configures it; run in this order after curation
SECTIONS: dict[str, tuple[str, str]] = {
    "mix": (
        "scratchlm.tokenizer.config",
        "MixConfig",
    ),  # instead of steps: weighted curated sources
    "bpe": ("scratchlm.tokenizer.config", "BpeConfig"),
    "shard": ("scratchlm.tokenizer.config", "ShardConfig"),
    "train": ("scratchlm.model.config", "TrainConfig"),
}
TOP_LEVEL_KEYS = (
    "name",
    "doc_timeout_s",
    "task_bytes",
    "keep_intermediate",
    "steps",
    "licences",
    *SECTIONS,
)
# the per-document deadline of every curation step, unless the recipe or --doc-timeout sets one
DOC_TIMEOUT_S = 60.0
# an input file larger than this is read as several tasks, unless the recipe or --task-bytes says
TASK_BYTES = 256 << 20
SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 1 << 10,
    "MIB": 1 << 20,
    "GIB": 1 << 30,
    "TIB": 1 << 40,
}
SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*")


@dataclass
class Step:
    name: str
    stage: Stage  # its folder is Recipe.step_folder(index)


@dataclass
class Recipe:
    name: str
    steps: list[Step]
    sections: dict[str, Any] = field(default_factory=dict)
    licences: list[str] = field(default_factory=list)
    # a setting of the run rather than of its data: not in recipe.yaml, so changing it keeps a run
    # resumable
    doc_timeout_s: float = DOC_TIMEOUT_S
    # a setting of the run too: the documents are the same whatever the split (tasks.json keeps it)
    task_bytes: int = TASK_BYTES
    # every step writes its full output, not only a segment's last (for debugging); also a run
    # setting
    keep_intermediate: bool = False

    @property
    def source(self) -> Source:
        """The first step's stage, which reads the input files."""
        stage = self.steps[0].stage
        if not isinstance(stage, Source):
            raise ConfigError(f"{self.name}: the first step must be 'read'")
        return stage

    def step_folder(self, index: int) -> str:
        """``01_read``, ``02_language``...: the step's output folder name."""
        return f"{index + 1:02d}_{self.steps[index].name}"

    def to_plain(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.licences:
            data["licences"] = list(self.licences)
        if self.steps:  # a mixture recipe has none
            data["steps"] = [{s.name: to_plain(s.stage)} for s in self.steps]
        for key in SECTIONS:
            if key in self.sections:
                data[key] = to_plain(self.sections[key])
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_plain(), sort_keys=False, allow_unicode=True)


def section_class(key: str) -> type:
    module, name = SECTIONS[key]
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ConfigError(
            f"{key}: this section is not available in this version of scratchlm"
        ) from None


def step_item(item: Any, path: str) -> tuple[str, Any]:
    """One entry of a recipe's ``steps`` as ``(stage, options)``, its stage known (options not
    checked yet)."""
    if isinstance(item, str):
        item = {item: {}}
    if not isinstance(item, dict) or len(item) != 1:
        raise ConfigError(f"{path}: expected one {{stage: {{options}}}} mapping, got {item!r}")
    ((stage_name, options),) = item.items()
    if stage_name not in stage_names():
        known = known_names(stage_name, stage_names())
        raise ConfigError(f"{path}.{stage_name}: unknown stage {known}")
    return stage_name, options


def step_list(raw_steps: Any, path: str) -> list[Any]:
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ConfigError(f"{path}: expected a non-empty list of {{stage: {{options}}}}")
    return raw_steps


def step_items(raw_steps: Any, path: str) -> list[tuple[str, Any]]:
    """A recipe's ``steps`` list as ``(stage, options)`` pairs, each stage known (options not
    checked yet); every bad entry is reported at once."""
    items, problems = [], Problems()
    for i, item in enumerate(step_list(raw_steps, path)):
        with problems.check():
            items.append(step_item(item, f"{path}[{i}]"))
    problems.raise_any()
    return items


def _at(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def yaml_problem(err: yaml.YAMLError) -> str:
    """Where and what: ``line 6, column 1: expected ',' or '}', but got '<stream end>' (while
    parsing a flow mapping from line 5, column 15)``."""
    mark, cause = getattr(err, "problem_mark", None), getattr(err, "problem", None)
    if mark is None or cause is None:
        return str(err).splitlines()[0]
    context, start = getattr(err, "context", None), getattr(err, "context_mark", None)
    opened = f" ({context} from {_at(start)})" if context and start is not None else ""
    return f"{_at(mark)}: {cause}{opened}"


def read_yaml(path: str | Path, what: str) -> Any:
    """The parsed YAML of ``path``; unreadable or invalid is one ConfigError naming ``what`` and the
    file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read {what} {path}: {err.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{what} {path} is not valid YAML: {yaml_problem(err)}") from None


def _steps(raw_steps: Any, problems: Problems) -> list[Step]:
    """The built steps, each bad entry or option noted in ``problems``."""
    steps = []
    with problems.check():
        for i, item in enumerate(step_list(raw_steps, "steps")):
            with problems.check():
                stage_name, options = step_item(item, f"steps[{i}]")
                steps.append(
                    Step(
                        stage_name,
                        build(stage_class(stage_name), options, f"steps[{i}].{stage_name}"),
                    )
                )
    with problems.check():
        if steps and not isinstance(steps[0].stage, Source):
            raise ConfigError("steps[0]: the first step must be 'read'")
        if any(isinstance(s.stage, Source) for s in steps[1:]):
            raise ConfigError("steps: 'read' may only be the first step")
    return steps


def parse_recipe(data: Any, origin: str = "recipe") -> Recipe:
    """A checked recipe from its parsed YAML; every problem is reported at once, one a line."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level")
    problems = Problems()
    for key in data:
        with problems.check():
            if key not in TOP_LEVEL_KEYS:
                known = known_names(key, TOP_LEVEL_KEYS)
                raise ConfigError(f"{key}: unknown recipe section {known}")
    name = data.get("name", "recipe")
    with problems.check():
        if not isinstance(name, str):
            raise ConfigError(f"name: expected str, got {name!r}")
    steps: list[Step] = []
    if "mix" not in data:
        steps = _steps(data.get("steps"), problems)
    elif "steps" in data:
        with problems.check():
            raise ConfigError(
                "steps: a mixture recipe (mix) curates each source with its own "
                "recipe; leave steps out"
            )
    sections = {}
    for key in SECTIONS:
        if key in data:
            with problems.check():
                sections[key] = build(section_class(key), data[key], key)
    licences = data.get("licences", [])
    with problems.check():
        if not isinstance(licences, list) or not all(isinstance(x, str) for x in licences):
            raise ConfigError(f"licences: expected a list of strings, got {licences!r}")
    timeout = DOC_TIMEOUT_S
    with problems.check():
        timeout = doc_timeout(data.get("doc_timeout_s", DOC_TIMEOUT_S), "doc_timeout_s")
    task_bytes = TASK_BYTES
    with problems.check():
        task_bytes = byte_size(data.get("task_bytes", TASK_BYTES), "task_bytes")
    keep = data.get("keep_intermediate", False)
    with problems.check():
        if not isinstance(keep, bool):
            raise ConfigError(f"keep_intermediate: expected true or false, got {keep!r}")
    problems.raise_any()
    return Recipe(
        name, steps, sections, licences, timeout, task_bytes=task_bytes, keep_intermediate=keep
    )


def byte_size(value: Any, where: str) -> int:
    """A size in bytes from an integer or a string such as ``256MiB`` or ``1.5 GB`` (0 allowed);
    anything else is a ConfigError."""
    match = SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is not None and match.group(2).upper() in SIZE_UNITS:
        number, unit = match.group(1), SIZE_UNITS[match.group(2).upper()]
        return int(float(number) * unit) if "." in number else int(number) * unit
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ConfigError(
        f"{where}: expected a size in bytes >= 0 such as 268435456, 256MiB or 1GB "
        f"(0: never split), got {value!r}"
    )


def doc_timeout(value: Any, where: str) -> float:
    """A per-document deadline in seconds (0 turns it off); anything else is a ConfigError."""
    try:
        return check_deadline(value, where)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def load_recipe(path: str | Path) -> Recipe:
    """Read and check a recipe file; any problem is a ConfigError naming the file or key."""
    data = read_yaml(path, "recipe")
    try:
        return parse_recipe(data, str(path))
    except ConfigError as err:
        lines = str(err).splitlines()
        if len(lines) == 1:
            raise ConfigError(f"recipe {path}: {lines[0]}") from None
        listed = "".join(f"\n  {line}" for line in lines)
        raise ConfigError(f"recipe {path}: {len(lines)} problems:{listed}") from None


def with_task_bytes(recipe: Recipe, size: str | None) -> Recipe:
    """The recipe with ``--task-bytes`` applied when it was given (it wins over the recipe's)."""
    if size is None:
        return recipe
    return dataclasses.replace(recipe, task_bytes=byte_size(size, "--task-bytes"))


def with_doc_timeout(recipe: Recipe, seconds: float | None) -> Recipe:
    """The recipe with ``--doc-timeout`` applied when it was given (it wins over the recipe's)."""
    if seconds is None:
        return recipe
    return dataclasses.replace(recipe, doc_timeout_s=doc_timeout(seconds, "--doc-timeout"))


def with_keep_intermediate(recipe: Recipe, keep: bool) -> Recipe:
    """The recipe with ``--keep-intermediate`` applied when it was given."""
    return dataclasses.replace(recipe, keep_intermediate=True) if keep else recipe
