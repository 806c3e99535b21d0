"""The names in a curation run folder (``scratchlm curate --output RUN``) and its step folders.

::

    RUN/recipe.yaml  RUN/inputs.json  RUN/tasks.json  RUN/stats.json
    RUN/NN_STAGE/part-NNNNN.parquet        # a shard: read task NNNNN's documents after the step
    RUN/NN_STAGE/part-NNNNN.done           # the shard's stats, written last
    RUN/NN_STAGE/rejects/part-NNNNN.parquet
    RUN/NN_STAGE/kept-sample/part-NNNNN.parquet
    RUN/NN_STAGE/stats.json  RUN/NN_STAGE/_work/

The runner (``pipelines/``) writes them; readers of run and step folders on every layer
(``curate.inputs``, ``curate.shards``, ``tokenizer/``, the report) name them from here.
"""

from __future__ import annotations

RECIPE = "recipe.yaml"  # the run's recipe, resolved (defaults filled in)
INPUTS = "inputs.json"  # the run's inputs, in order
TASKS = "tasks.json"  # the read tasks: each input file, or its part
STATS = "stats.json"  # a run's summary per step folder; a step's totals
REJECTS = "rejects"  # a step's dropped documents, a shard each
KEPT_SAMPLE = "kept-sample"  # a step folder's sample of kept documents when it has no full output
WORK = "_work"  # a global stage's working folder
SHARD = ".parquet"  # a shard's suffix
DONE = ".done"  # a finished shard's marker's suffix
SHARDS = f"part-*{SHARD}"  # the shards of a step folder, as a glob
DONE_MARKERS = f"part-*{DONE}"


def part_name(index: int) -> str:
    """The name of read task ``index``'s shard (``part-00003``), in every step folder."""
    return f"part-{index:05d}"


def shard_file(part: str) -> str:
    """A shard's file name (``part-00003.parquet``)."""
    return part + SHARD


def done_file(part: str) -> str:
    """A shard's finished marker's name (``part-00003.done``)."""
    return part + DONE
