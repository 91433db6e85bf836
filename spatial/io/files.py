"""Atomic, deterministic writers."""

from __future__ import annotations

import json
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
from shapely.geometry import mapping

#: Decimal places of lon/lat in GeoJSON output (6 places ≈ 0.1 m).
PRECISION = 6


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def _plain(value):
    """JSON-ready scalar: numpy and pandas scalars unwrapped, NaN/NA as null."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return None
        return float(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def geojson_text(gdf: gpd.GeoDataFrame, *, sort_by: str | list[str] = "id", precision: int = PRECISION,
                 name: str | None = None) -> str:
    """RFC 7946 GeoJSON text, byte-for-byte reproducible.

    Features sorted by ``sort_by``, properties in sorted key order, coordinates in EPSG:4326
    rounded to ``precision`` decimals, floats in properties as Python writes them.
    """
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    if len(gdf):
        gdf = gdf.sort_values(sort_by, kind="mergesort")
    geoms = shapely.transform(np.asarray(gdf.geometry.values, dtype=object),
                              lambda c: np.round(c, precision))
    props = gdf.drop(columns=gdf.geometry.name)
    cols = sorted(props.columns)
    features = []
    for geom, row in zip(geoms, props[cols].itertuples(index=False, name=None)):
        features.append({
            "type": "Feature",
            "properties": {k: _plain(v) for k, v in zip(cols, row)},
            "geometry": None if geom is None or geom.is_empty else mapping(geom),
        })
    head = '{"type":"FeatureCollection",' + (f'"name":{json.dumps(name, ensure_ascii=False)},' if name else "")
    body = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    return head + '"features":[\n' + body + "\n]}\n"


def write_geojson(path: str | Path, gdf: gpd.GeoDataFrame, **kwargs) -> None:
    """Write :func:`geojson_text` atomically."""
    write_text(path, geojson_text(gdf, **kwargs))
