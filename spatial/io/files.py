"""Atomic, deterministic writers."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


@contextmanager
def atomic_files(folder: str | Path, names: list[str]) -> Iterator[list[Path]]:
    """Yield temporary paths for the files ``names`` in ``folder``; they replace them only if the block succeeds.

    The temporary files lie in a hidden folder of their own inside ``folder`` (same file
    system, so each rename is atomic; room for side files such as a GeoPackage's journal).
    Every file is complete before the first is renamed, and the hidden folder is removed
    whatever happens: a failure leaves nothing half-written behind, not even the folders this
    call created.
    """
    folder = Path(folder)
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # removed again if nothing is written
    folder.mkdir(parents=True, exist_ok=True)
    try:
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".{names[0]}.", suffix=".tmp", dir=folder))
        try:
            tmps = [tmp_dir / name for name in names]
            yield tmps
            for tmp in tmps:
                os.chmod(tmp, 0o644)
            for tmp in tmps:
                os.replace(tmp, folder / tmp.name)
        except OSError as exc:  # say which file failed by its name, not the temporary one's
            if exc.filename and Path(exc.filename).parent == tmp_dir:
                exc.filename = str(folder / Path(exc.filename).name)
            raise
        finally:
            shutil.rmtree(tmp_dir)
    except BaseException:
        for path in made:  # innermost first; a folder something else wrote into stays
            try:
                path.rmdir()
            except OSError:
                break
        raise


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path that replaces ``path`` only if the block succeeds (see :func:`atomic_files`)."""
    path = Path(path)
    with atomic_files(path.parent, [path.name]) as (tmp,):
        yield tmp


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text atomically (``\\n`` line endings)."""
    write_bytes(path, text.encode("utf-8"))


@contextmanager
def staged_dir(path: str | Path) -> Iterator[Path]:
    """Yield a fresh staging folder that replaces ``path`` only if the block succeeds.

    Files a build did not produce this time are not left behind from an earlier build, and a
    failure anywhere leaves the previous folder untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield stage
        os.chmod(stage, 0o755)
        old = path.with_name(f".{path.name}.old")
        if old.exists():
            shutil.rmtree(old)
        if path.exists():
            os.replace(path, old)
        os.replace(stage, path)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if stage.exists():
            shutil.rmtree(stage)


def by_id(df: pd.DataFrame) -> pd.DataFrame:
    """The rows sorted stably by ``id`` (by the first column when there is none), index reset."""
    key = "id" if "id" in df.columns else df.columns[0]
    return df.sort_values(key, kind="mergesort", ignore_index=True)


#: Single-part geometry types and the multi type each is written as.
MULTI = {"Polygon": "MultiPolygon", "LineString": "MultiLineString"}


def multi_parts(geoms: np.ndarray) -> np.ndarray:
    """``geoms`` with each Polygon (LineString) made a one-part MultiPolygon (MultiLineString); points stay points."""
    geoms = np.asarray(geoms, dtype=object).copy()
    types = shapely.get_type_id(geoms)
    for single, make in ((types == 3, shapely.multipolygons), (types == 1, shapely.multilinestrings)):
        geoms[single] = make(geoms[single], indices=np.arange(single.sum()))
    return geoms


def as_multi(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer with each Polygon (LineString) made a one-part MultiPolygon (MultiLineString).

    One geometry type per layer in every format and every district; points stay points.
    """
    out = gdf.copy()
    out[gdf.geometry.name] = multi_parts(gdf.geometry.values)
    return out
