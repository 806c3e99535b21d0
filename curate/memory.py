"""Allocator settings that give freed memory back to the system, for long curation processes.

A worker streams documents of every size through Python and Arrow. Two allocators keep what
they free: glibc raises its mmap threshold each time a large block is freed (up to 32 MB), so
later large strings come from the heap, which fragments and seldom shrinks; and Arrow's default
pool (mimalloc) keeps freed pages for reuse. With glibc's threshold fixed at 128 KiB and Arrow on
the system allocator, freed blocks go back to the system (docs/benchmarks.md, "Curation at
scale", has the workers' peak RSS with these settings).
"""

from __future__ import annotations

import ctypes
import functools

import pyarrow as pa

_M_MMAP_THRESHOLD = -3  # mallopt(3); setting it also stops the threshold's dynamic growth
MMAP_THRESHOLD = 128 * 1024


@functools.cache
def release_freed_memory() -> None:
    """Have this process's allocators return freed memory (once; forked children inherit it)."""
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    except (OSError, AttributeError):  # not glibc: its allocator's own policy stands
        pass
