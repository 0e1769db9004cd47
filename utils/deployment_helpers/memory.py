"""Give the memory of a large request back: glibc's allocator settings for a server.

onnxruntime's buffers for one [32, 256]-token MiniLM call run to a few hundred MB. With
its arena off (``served_model.session_options``) they are freed after the call, but glibc
keeps freed memory when it came from a heap rather than from ``mmap``: its mmap threshold
grows with every large block freed (up to 32 MB), so after one big request every later
big buffer is carved from a heap that never shrinks, and each inference thread has a heap
of its own. Measured here with every default model and MiniLM v1 + v2 loaded, after three
[32, 256] calls to each version: 668 MB of RSS left behind in the server; with the
threshold pinned at 1 MB (every buffer above it mmapped, so unmapped when freed) and two
heaps at most, the process stays near its loaded size.

Linux with glibc only; elsewhere (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from typing import Final

logger = logging.getLogger(__name__)

M_ARENA_MAX: Final[int] = -8
M_MMAP_THRESHOLD: Final[int] = -3
MMAP_THRESHOLD_BYTES: Final[int] = 1 << 20
"""Blocks of 1 MB and more come from mmap and go back to the system when freed."""
ARENA_MAX: Final[int] = 2
"""Heaps at most (glibc's default is 8 per core): fewer heaps hold less freed memory."""

_configured = False


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") else None


def bound_allocator() -> bool:
    """Pin glibc's mmap threshold and heap count, once per process; True when applied."""
    global _configured
    if _configured:
        return True
    libc = _libc()
    if libc is None:
        return False
    applied = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        libc.mallopt(M_ARENA_MAX, ARENA_MAX)
    )
    _configured = applied
    if not applied:
        logger.warning("could not set glibc's allocator options: large requests may keep memory")
    return applied


def release_free_memory() -> None:
    """Hand freed heap memory back to the system now (glibc's ``malloc_trim``)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
