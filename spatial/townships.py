"""Official township polygons supplied by the user, matched to the gazetteer's townships."""

from __future__ import annotations

import re

import geopandas as gpd
import shapely

from . import basis
from .crs import to_lonlat
from .errors import InputError
from .gazetteer import name_index

NAME_FIELDS = ("name", "NAME", "名称", "乡镇名称", "XZQMC", "xzqmc", "乡镇", "街道")
_SUFFIX = re.compile(r"(街道办事处|街道|镇|乡)$")


def _key(name: str) -> str:
    return _SUFFIX.sub("", str(name).strip())


def _names(names: list[str], limit: int = 12) -> str:
    return "、".join(names[:limit]) + (f" … ({len(names)} in all)" if len(names) > limit else "")


def match_official(official: gpd.GeoDataFrame, places: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame, *,
                   file: str, name_field: str | None = None) -> gpd.GeoDataFrame:
    """The district's townships from a user's polygon file.

    Polygons are matched by name (gazetteer name, alias, or the name without 镇/乡/街道) and
    clipped to the district. A file that covers only some of the district's townships is an
    error: mixing official polygons with approximate cells would leave gaps and overlaps; so is a
    file that matches none of them (the names found and expected are listed).
    """
    field = name_field or next((f for f in NAME_FIELDS if f in official.columns), None)
    if field is None or field not in official.columns:
        raise InputError.one(file, "fields", f"no township name field among {', '.join(map(str, official.columns))}",
                             "pass --township-field NAME")
    seats = places[places["level"] == "township"]
    index = name_index(seats.reset_index(drop=True))
    by_key = {_key(n): n for n in index}
    district = boundary.geometry.iloc[0]
    official = to_lonlat(official)
    hits: dict[str, list] = {}
    for name, geom in zip(official[field], official.geometry):
        if geom is None or not geom.intersects(district):
            continue
        seat = index.get(str(name).strip())
        seat = seats["name"].iloc[seat] if seat is not None else None
        if seat is None and _key(name) in by_key:
            seat = seats["name"].iloc[index[by_key[_key(name)]]]
        if seat is not None:
            hits.setdefault(seat, []).append(geom)
    if not hits:
        found = sorted({str(n).strip() for n, g in zip(official[field], official.geometry)
                        if g is not None and g.intersects(district)} or {str(n).strip() for n in official[field]})
        raise InputError.one(file, field, f"no polygon matches a township of the district: found "
                             f"{_names(found)}; expected {_names(sorted(seats['name']))}",
                             "pass --township-field with the field holding these names, or build only the "
                             "districts the file covers (ADCODE arguments)")
    missing = sorted(set(seats["name"]) - set(hits))
    if missing:
        raise InputError.one(file, field, f"no polygon for {', '.join(missing)}",
                             "give every township of the district, or none (approximate cells are used then)")
    names = sorted(hits)
    geoms = [shapely.intersection(shapely.union_all(shapely.make_valid(hits[n])), district) for n in names]
    b = basis.official_cell(str(file))
    return gpd.GeoDataFrame({"name": names, "basis": b.en, "basis_zh": b.zh, "precision_m": 50.0},
                            geometry=geoms, crs=4326)
