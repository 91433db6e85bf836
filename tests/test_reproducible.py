"""The committed layers/ and maps/ are exactly what the README's build command makes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_fresh_build_reproduces_every_committed_byte(tmp_path: Path, seeds: Path):
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "spatial", "build", "--offline", "--quiet", "--data", str(REPO / "data"),
                    "--seeds", str(seeds), "--layers", str(out / "layers"), "--maps", str(out / "maps")],
                   check=True, cwd=tmp_path)
    for folder in ("layers", "maps"):
        committed, fresh = _files(REPO / folder), _files(out / folder)
        assert sorted(committed) == sorted(fresh), f"{folder}/: files differ: rebuild with `make build`"
        stale = [name for name in committed if committed[name] != fresh[name]]
        assert not stale, f"{folder}/: {len(stale)} stale files ({', '.join(stale[:8])}): rebuild with `make build`"
