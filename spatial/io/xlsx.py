"""Excel workbooks written with xlsxwriter, in this process or in a light worker process beside it.

Writing a workbook is pure Python (about 5 µs a cell): the 80,000 cells of 10,000 projects take
0.4 s with the zip. A command
that computes with GEOS while it writes (``spatial overlap``) hands each table to a
:class:`WorkbookProcess` as soon as the table is ready, and the worker writes it on the other
core. The worker imports only this module and xlsxwriter (about 25 MiB, a tenth of a second),
receives sheets through a pipe (pickle) and writes them, streamed row by row
(``constant_memory``), into its own scratch folder; the caller moves the finished file into
place. Same tables, same bytes, in either process.

This module imports neither pandas nor numpy: tables arrive as :class:`Sheet` (plain columns
of Python values, see :func:`spatial.io.report.sheet_blocks`).
"""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import xlsxwriter

from .cells import risky

#: xlsxwriter: rows streamed to disk as written; text always stored as text, never as a formula, link or number.
_OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False}
_FIXED_TIME = datetime(2000, 1, 1)
#: Values (after the header) that set a column's width.
WIDTH_SAMPLE = 200
#: How a column's cells are written, by the column's type.
KINDS = ("bool", "number", "string", "any")


@dataclass
class Sheet:
    """Rows of a worksheet from data row ``row`` on (0: the first, which also writes the header
    and fits the widths): column names, each column's kind (:data:`KINDS`) and its values, one
    list per column, None for an empty cell. A table comes as blocks of rows, in order."""

    name: str
    columns: list[str]
    kinds: list[str]
    values: list[list]
    row: int = 0


class _Book:
    """A workbook whose sheets exist (in order) from the start and are filled in any order."""

    def __init__(self, path: str | Path, names: list[str], *, scratch: str | Path | None = None) -> None:
        options = dict(_OPTIONS, tmpdir=str(scratch)) if scratch is not None else _OPTIONS
        self.wb = xlsxwriter.Workbook(str(path), options)
        self.wb.set_properties({"created": _FIXED_TIME})
        self.bold = self.wb.add_format({"bold": True})
        self.quoted = self.wb.add_format({"quote_prefix": True})
        self.sheets = {name: self.wb.add_worksheet(name) for name in names}

    def fill(self, sheet: Sheet) -> None:
        """Write a block of rows into its worksheet; the first also writes the bold frozen header and fits the widths."""
        ws = self.sheets[sheet.name]
        if sheet.row == 0:
            ws.freeze_panes(1, 0)
            for c, (col, values) in enumerate(zip(sheet.columns, sheet.values)):
                width = max([len(str(col))] + [len(str(v)) for v in values[:WIDTH_SAMPLE] if v is not None])
                ws.set_column(c, c, min(max(width + 2, 8), 80))
                ws.write_string(0, c, str(col), self.bold)
        writers = [self._writer(ws, kind) for kind in sheet.kinds]
        for r, row in enumerate(zip(*sheet.values), start=sheet.row + 1):
            for c, (write, value) in enumerate(zip(writers, row)):
                if value is not None:
                    write(r, c, value)

    def _writer(self, ws, kind: str):
        """The worksheet method for a column of ``kind``; text that a spreadsheet would run as a
        formula gets the quote-prefix style (kept as typed, never evaluated)."""
        if kind == "bool":
            return ws.write_boolean
        if kind == "number":
            return ws.write_number
        write = ws.write_string if kind == "string" else ws.write
        return lambda r, c, v: ws.write_string(r, c, v, self.quoted) if risky(v) else write(r, c, v)

    def close(self) -> None:
        self.wb.close()


def write_workbook(path: str | Path, names: list[str], blocks: Iterable[Sheet]) -> None:
    """Write a workbook of the sheets ``names`` (in this order) from ``blocks`` at ``path``, in this process."""
    book = _Book(path, names)
    for block in blocks:
        book.fill(block)
    book.close()


def _interpreter() -> str | None:
    """This Python as a program to start, or None when it is embedded in another program (QGIS's
    console, for one, whose ``sys.executable`` is QGIS itself)."""
    return sys.executable if sys.executable and Path(sys.executable).name.lower().startswith("python") else None


class WorkbookProcess:
    """A workbook written by a worker process: :meth:`add` sheets as they are ready, then :meth:`finish`.

    Use as a context manager; leaving it without :meth:`finish` (an error) stops the worker and
    leaves no file. The sheets' order in the workbook is ``names``, whatever the order of adding.
    Where no Python can be started (:func:`_interpreter`), the sheets are written here as they
    are added: the same bytes, without the second core.
    """

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)
        self.added: set[str] = set()
        self._scratch = Path(tempfile.mkdtemp(prefix="spatial-xlsx-"))
        self._sender = ThreadPoolExecutor(1)  # a pipe write waits while the worker fills a sheet; we go on
        python = _interpreter()
        self._local = None if python else _Book(self._scratch / "workbook.xlsx", self.names, scratch=self._scratch)
        self._proc = subprocess.Popen([python, "-m", __name__, str(self._scratch)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE) if python else None
        self._send(self.names)

    def __enter__(self) -> WorkbookProcess:
        return self

    def __exit__(self, *exc) -> None:
        self._sender.shutdown(cancel_futures=True)
        if self._proc is not None:
            if self._proc.poll() is None:
                self._close_input()  # no "close" message: the worker stops without writing
                try:
                    self._proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc.stdout.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def _send(self, message: object) -> None:
        if self._proc is not None:
            self._sender.submit(self._write, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        elif isinstance(message, Sheet):
            self._local.fill(message)

    def _write(self, data: bytes) -> None:
        try:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError):  # the worker failed (finish() reports why) or we gave up
            pass

    def _close_input(self) -> None:
        """Close the worker's input. If the worker has stopped (an error it reports, or killed), what
        is still buffered cannot be sent: that is not the error to report."""
        try:
            self._proc.stdin.close()
        except BrokenPipeError:
            pass

    def add(self, blocks: Iterable[Sheet]) -> None:
        """Hand a table (the blocks of one of ``names``, each table once) to the worker."""
        for block in blocks:
            if block.row == 0:
                if block.name not in self.names or block.name in self.added:
                    raise ValueError(f"sheet {block.name!r}: expected one of {self.names} not yet added")
                self.added.add(block.name)
            self._send(block)

    def finish(self, path: str | Path) -> Path:
        """Wait for the workbook (every sheet added) and move it to ``path``; the worker's error is raised here."""
        if self.added != set(self.names):
            raise ValueError(f"sheets not added: {sorted(set(self.names) - self.added)}")
        if self._proc is None:
            self._local.close()
            return Path(shutil.move(self._scratch / "workbook.xlsx", path))
        self._send(None)
        self._sender.shutdown()
        self._close_input()
        try:
            result = pickle.load(self._proc.stdout) if self._proc.wait() == 0 else None
        except EOFError:  # it said nothing
            result = None
        if isinstance(result, BaseException):
            raise result
        if result is None:
            raise RuntimeError(f"the workbook worker stopped with exit code {self._proc.returncode}")
        return Path(shutil.move(result, path))


def _serve(scratch: Path, inp: BinaryIO, out: BinaryIO) -> None:
    """The worker: read sheet names, then sheets until None, write the workbook, reply with its path (or the error)."""
    path = scratch / "workbook.xlsx"
    try:
        book = _Book(path, pickle.load(inp), scratch=scratch)
        while (sheet := pickle.load(inp)) is not None:
            book.fill(sheet)
        book.close()
    except EOFError:  # the caller gave up: write nothing
        return
    except Exception as exc:  # noqa: BLE001 - handed to the caller, which raises it
        try:
            out.write(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 - an exception that does not pickle: its words
            out.write(pickle.dumps(RuntimeError(f"writing the workbook: {exc}")))
        return
    pickle.dump(str(path), out)


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), sys.stdin.buffer, sys.stdout.buffer)
