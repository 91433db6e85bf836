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
import pyogrio
import shapely

from .precision import DEGREE_DECIMALS, rounded, rounded_geometries

#: GDAL GeoJSON layer options: RFC 7946 (EPSG:4326, right-hand winding), coordinates to 6 places.
GEOJSON_OPTIONS = {"RFC7946": "YES", "COORDINATE_PRECISION": str(DEGREE_DECIMALS)}


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


def write_geojson(path: str | Path, gdf: gpd.GeoDataFrame, *, name: str | None = None, multi: bool = False) -> Path:
    """Write RFC 7946 GeoJSON through GDAL, atomically and byte-for-byte reproducibly.

    Features sorted by :func:`by_id`, properties in sorted key order and rounded by
    :func:`spatial.io.precision.rounded`, coordinates in EPSG:4326 to 6 decimals; NaN and NA
    are written as null.

    Parameters
    ----------
    path
        The file to write.
    gdf
        The layer.
    name
        The collection's ``name`` member (default: the file's stem).
    multi
        Write single parts as one-part multi geometries (GDAL converts while writing).
    """
    path = Path(path)
    frame = rounded(by_id(gdf if gdf.crs is None else gdf.to_crs(4326)))
    # rounded point by point here, as the other writers do: GDAL >= 3.9 rounds by GEOS set_precision,
    # which turns a part that rounding collapses into a line (a GeometryCollection in a polygon layer)
    frame[frame.geometry.name] = rounded_geometries(frame.geometry.values, 4326)
    geometry = frame.geometry.name
    frame = frame[sorted(c for c in frame.columns if c != geometry) + [geometry]]
    with atomic_path(path) as tmp:  # pyogrio's use_arrow=True: no faster here, three times the memory
        pyogrio.write_dataframe(frame, tmp, layer=name or path.stem, driver="GeoJSON", layer_options=GEOJSON_OPTIONS,
                                promote_to_multi=multi)
    return path


def write_geoparquet(path: str | Path, gdf: gpd.GeoDataFrame) -> Path:
    """Write GeoParquet (rows sorted by :func:`by_id`) atomically; same frame, same bytes. Attributes
    and coordinates are rounded as in every other format (:mod:`spatial.io.precision`)."""
    frame = rounded(by_id(gdf))
    frame[frame.geometry.name] = rounded_geometries(frame.geometry.values, gdf.crs or 4326)
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return Path(path)
