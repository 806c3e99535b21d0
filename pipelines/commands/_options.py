"""Options that several subcommands share."""
from __future__ import annotations

import argparse

from pipelines.recipe import DOC_TIMEOUT_S


def add_doc_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--doc-timeout", type=float, default=None, metavar="SECONDS",
                        help="per-document deadline of every curation step; a document on which a step runs "
                             f"longer is that step's reject, '<step>:timeout' (default: the recipe's "
                             f"doc_timeout_s, else {DOC_TIMEOUT_S:g}; 0: none)")


def add_keep_intermediate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep-intermediate", action="store_true",
                        help="write every curation step's full output into its folder, not only the output of "
                             "the steps that end a fused segment (for debugging; default: the recipe's "
                             "keep_intermediate, else off)")
