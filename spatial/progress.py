"""Progress of long commands on stderr: a live bar per stage in a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from .memory import release


class Stages:
    """Announce a command's stages (reading, indexing, intersecting, writing …) on stderr.

    In a terminal each stage is a live rich progress row with a pulsing bar and its elapsed
    time; elsewhere (a pipe, a log file, CI) each finished stage is one plain line
    ``stage: 1.2 s``; with ``quiet`` nothing is printed. After each stage the memory it freed
    goes back to the system (:func:`spatial.memory.release`).
    """

    def __init__(self, *, quiet: bool = False, console: Console | None = None) -> None:
        self.quiet = quiet
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None

    def __enter__(self) -> Stages:
        if not self.quiet and self.console.is_terminal:
            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                      TimeElapsedColumn(), console=self.console)
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    @contextmanager
    def stage(self, label: str) -> Iterator[None]:
        """Run the block as one stage called ``label``."""
        start = time.perf_counter()
        task = self._progress.add_task(label, total=None) if self._progress is not None else None
        yield
        release()
        if task is not None:
            self._progress.update(task, total=1, completed=1)
        elif not self.quiet:
            self.console.print(f"{label}: {time.perf_counter() - start:.1f} s", highlight=False, soft_wrap=True)
