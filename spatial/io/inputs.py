"""Reading the project's own inputs in data/: specs, gazetteer, features, boundaries, seeds."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import yaml
from shapely.geometry import shape

from ..errors import InputError


def read_yaml(path: Path) -> object:
    """A YAML document; syntax errors name the line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError.one(path, "", f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError.one(path, where, f"malformed YAML: {what}",
                             "fix the indentation or quoting there (a YAML linter shows it)") from None


def read_feature_collection(path: Path) -> gpd.GeoDataFrame:
    """A GeoJSON FeatureCollection, properties kept as written (no CRS juggling)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        feats = doc["features"]
        rows = [{**(f.get("properties") or {}), "geometry": shape(f["geometry"]) if f.get("geometry") else None}
                for f in feats]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError.one(path, "", f"not a GeoJSON FeatureCollection ({exc})",
                             "write a FeatureCollection as in docs/data-format.md") from None
    if not rows:
        return gpd.GeoDataFrame({"id": [], "name": [], "kind": [], "crs": [], "precision_m": [], "basis": []},
                                geometry=[], crs=4326)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def read_text(path: Path) -> str:
    """A UTF-8 text file (a seed plan)."""
    return path.read_text(encoding="utf-8")


def read_boundary_cache(path: Path) -> gpd.GeoDataFrame | None:
    """The cached district boundary, or None when not cached yet."""
    if not path.exists():
        return None
    return gpd.read_file(path)
