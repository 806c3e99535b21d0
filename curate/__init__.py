"""Curation: documents, readers, stages (filters, transforms, dedup), writers and stats."""

from scratchlm.curate.document import Document

__all__ = ["Document"]
