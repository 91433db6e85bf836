"""A build's outputs switched as one transaction: every district folder and map, or none.

The output folders (``layers/``, ``maps/``) hold plain folders and files, as the repository
commits them, so no single rename can switch them all. A build therefore:

1. takes an exclusive lock (``fcntl.flock`` on ``.spatial-build.lock`` in every output folder,
   removed again when done; a second build waits, or stops with ``--no-wait``);
2. completes a switch a killed build left half done (see 5), removes the staging folders of
   killed builds;
3. writes every new folder and file into a staging folder beside its target (same file system);
   an error here (full disk, no permission) removes the staging and leaves the outputs as they were;
4. writes the journal ``.spatial-build.journal`` (atomically): what replaces what, with the
   staged entries' inode numbers. This is the commit point;
5. switches each entry: a folder by exchanging it with its staged one (Linux ``renameat2``
   ``RENAME_EXCHANGE``: the folder is never missing), a file by ``os.replace``; then removes
   the staging (now the old outputs) and the journal.

A build killed in 5 leaves the journal; the next build (or :func:`recover`) finishes the switch
from the inode numbers, so the outputs end up all new, having been all old before 4. Where
``renameat2`` is missing (not Linux, or a file system without it) a folder is switched by two
renames, and a reader may find it missing for that instant; where ``fcntl`` is missing
(Windows) there is no lock and a warning says so.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_NAME = ".spatial-build.lock"
JOURNAL_NAME = ".spatial-build.journal"
STAGE_PREFIX = ".spatial-stage-"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _renameat2() -> Callable | None:
    """libc's ``renameat2``, or None where it does not exist."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn


_RENAMEAT2 = _renameat2()


def exchange(a: Path, b: Path) -> None:
    """Swap two existing paths atomically; two renames where the system cannot (see module doc)."""
    if _RENAMEAT2 is not None:
        if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), str(a))
    spare = a.with_name(a.name + ".swap")
    os.rename(b, spare)
    os.rename(a, b)
    os.rename(spare, a)


@dataclass
class Outputs:
    """Output folders of one build, and the command-line option that names each (for messages)."""

    folders: dict[Path, str]
    no_wait: bool = False
    say: Callable[[str], None] = field(default=lambda text: print(text, file=sys.stderr))

    def __post_init__(self) -> None:
        self.folders = {Path(os.path.abspath(p)): flag for p, flag in self.folders.items()}


def _io_error(exc: OSError, folder: Path, flag: str) -> InputError:
    """An OS error while writing outputs as one line naming the folder and the option to change."""
    what = exc.strerror or str(exc)
    fix = {errno.ENOSPC: f"free disk space there or choose another folder with {flag}",
           errno.EDQUOT: f"free disk space there or choose another folder with {flag}",
           errno.EACCES: f"make it writable or choose another folder with {flag}",
           errno.EPERM: f"make it writable or choose another folder with {flag}",
           errno.EROFS: f"choose a writable folder with {flag}",
           errno.EFBIG: f"raise the file size limit (ulimit -f) or choose another folder with {flag}"}
    return InputError.one(folder, "writing outputs", f"{what}; previous outputs left as they were",
                          fix.get(exc.errno, f"check the folder or choose another with {flag}"))


def _flock(handle, folder: Path, flag: str, out: Outputs):
    """Lock the open lock file ``handle``, waiting (or not: ``--no-wait``) for another build.

    The holder removes the file when done, so a lock won on a file that is no longer the one at
    its path is let go and taken anew on the new file.
    """
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            if out.no_wait:
                handle.close()
                raise InputError.one(folder, "", f"another build (pid {holder}) is writing outputs here",
                                     f"wait for it to finish, leave out --no-wait to wait, or choose "
                                     f"another folder with {flag}") from None
            out.say(f"waiting: another build (pid {holder}) is writing to {folder}")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if os.stat(handle.name).st_ino == os.fstat(handle.fileno()).st_ino:
                return handle
        except FileNotFoundError:
            pass
        handle.close()
        handle = open(handle.name, "a+")


@contextmanager
def _locked(out: Outputs) -> Iterator[None]:
    """Hold the build lock of every output folder (taken in path order: no deadlock)."""
    handles = []
    try:
        for folder in sorted(out.folders):
            flag = out.folders[folder]
            try:
                folder.mkdir(parents=True, exist_ok=True)
                handle = open(folder / LOCK_NAME, "a+")
            except OSError as exc:
                raise _io_error(exc, folder, flag) from None
            if fcntl is None:  # pragma: no cover - Windows
                handles.append(handle)
                out.say(f"warning: no file locks on this system; run one build at a time into {folder}")
                continue
            handle = _flock(handle, folder, flag, out)
            handles.append(handle)
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        yield
    finally:
        for handle in handles:
            with suppress(OSError):
                os.unlink(handle.name)  # still held: a waiting build sees the file gone and opens a new one
            handle.close()  # closing releases the lock


def _inode(path: Path) -> list[int]:
    st = os.lstat(path)
    return [st.st_dev, st.st_ino]


def _switch(entries: list[dict]) -> None:
    """Put each staged entry in place of its target (idempotent: entries already in place are skipped)."""
    for e in entries:
        staged, target = Path(e["staged"]), Path(e["target"])
        if target.exists() and _inode(target) == e["inode"]:
            continue
        if not staged.exists():
            continue  # neither here nor there: nothing left to switch
        if e["dir"] and target.exists():
            exchange(staged, target)
        else:
            os.replace(staged, target)


def _write_journal(path: Path, entries: list[dict]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f"{STAGE_PREFIX}journal.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump({"entries": entries}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def recover(folders: list[Path]) -> bool:
    """Finish a switch that a killed build left half done, and remove stale staging.

    Call only under the build lock. Returns whether a journal was found (and completed).
    """
    found = False
    for folder in folders:
        journal = folder / JOURNAL_NAME
        if journal.exists():
            try:
                entries = json.loads(journal.read_text())["entries"]
            except (ValueError, KeyError):
                entries = []  # written atomically, so never seen half-written; a foreign file is left alone
            _switch(entries)
            journal.unlink()
            found = True
        for stale in folder.iterdir() if folder.is_dir() else []:
            if stale.name.startswith(STAGE_PREFIX) or (
                    stale.name.startswith(".") and stale.name.endswith((".tmp", ".old")) and stale.is_dir()):
                shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    return found


#: What writers that do not raise OSError (GDAL, SQLite) say about a full disk or a closed folder.
_MESSAGES = {"no space left": errno.ENOSPC, "disk is full": errno.ENOSPC, "disk full": errno.ENOSPC,
             "permission denied": errno.EACCES, "read-only file system": errno.EROFS,
             "file too large": errno.EFBIG}


def _cause(exc: Exception, stage: Path) -> OSError | None:
    """The OS error behind a writer's failure (full disk, no permission), or None.

    GDAL, SQLite and the Excel writer report a failed write in their own exception types:
    their message, or a write into ``stage`` now, tells whether the folder was the cause.
    """
    text = str(exc).lower()
    for words, code in _MESSAGES.items():
        if words in text:
            return OSError(code, os.strerror(code))
    try:
        with open(stage / ".probe", "wb") as f:
            f.write(b"\0" * 65536)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        return exc
    return None


@contextmanager
def transaction(out: Outputs) -> Iterator[Callable[[Path], Path]]:
    """Yield ``staged(folder)``, the staging folder of an output folder; on success every staged
    entry replaces its namesake in the output folders, all together.

    Write ``staged(folder) / name`` for every ``folder / name`` the build replaces (folders and files).
    Names in the output folders that the build does not write are kept. On any error inside
    the block the staging is removed and the outputs are left exactly as they were; OS errors
    (no space, no permission) become one :class:`InputError` naming the folder.
    """
    with _locked(out):
        recover(list(out.folders))
        stages: dict[Path, Path] = {}
        committed = False
        try:
            try:
                for folder, flag in out.folders.items():
                    stages[folder] = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=folder))
                yield lambda folder: stages[Path(os.path.abspath(folder))]
                entries = []
                for folder, stage in stages.items():
                    for item in sorted(stage.iterdir()):
                        if item.name.startswith("."):
                            continue
                        entries.append({"staged": str(item), "target": str(folder / item.name),
                                        "dir": item.is_dir(), "inode": _inode(item)})
                first = next(iter(out.folders))
                _write_journal(first / JOURNAL_NAME, entries)
            except OSError as exc:
                where = next((f for f in out.folders if exc.filename and str(exc.filename).startswith(str(f))),
                             next(iter(out.folders)))
                raise _io_error(exc, where, out.folders[where]) from None
            except InputError:
                raise
            except Exception as exc:
                for folder, stage in stages.items():
                    cause = _cause(exc, stage)
                    if cause is not None:
                        raise _io_error(cause, folder, out.folders[folder]) from None
                raise
            committed = True  # past the commit point: a switch cut short is finished by the next build
            _switch(entries)
            (first / JOURNAL_NAME).unlink()
            committed = False
        finally:
            if not committed:  # (a switch cut short keeps its staging and journal for the next build)
                for stage in stages.values():
                    shutil.rmtree(stage, ignore_errors=True)
