"""Projects: the plans' projects located, users' project files read, both joined to the elements.

Three steps, each reporting every bad row at once (row numbers as a spreadsheet shows them,
the header being row 1):

* :func:`locate_projects` puts the projects listed in ``data/projects/<adcode>.csv`` on the
  map (gazetteer anchor, ``feature:<id>`` or explicit lon/lat in WGS84/GCJ-02/BD-09).
* :func:`read_user_projects` reads a user's points or parcels (CSV/XLSX with lon/lat, or any
  vector file in any CRS) and keeps the good rows, listing the bad ones.
* :func:`join_projects` finds the element(s) each project falls in (points by intersection,
  parcels by overlap share), the nearest element for the others, and whether the project's
  category fits the element's function (:data:`CONFLICT_RULES`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .basis import Basis, project_at_coordinates, project_at_feature, project_at_place
from .crs import (
    LONLAT_CRS,
    ellipsoidal_area_m2,
    gk_zone_epsg,
    to_lonlat,
    to_wgs84,
    transform_geometries,
)
from .errors import InputError, Problem, ProblemList, option
from .gazetteer import name_index
from .io.tables import CSV_SUFFIXES, XLSX_SUFFIXES, read_table
from .io.vector import read_vector
from .layers import LIST_SEP
from .overlap import gk_epsg_of, nearest_m
from .plans import CATEGORIES

#: The ``spatial build`` option family of a user's project file: fixes name ``--projects-crs`` etc.
OPTION = "--projects"
#: Columns of ``data/projects/<adcode>.csv``.
PROJECT_COLUMNS = ("id", "name", "category", "anchor", "lon", "lat", "crs", "precision_m", "offset")

#: Words users write for the function categories (compared without spaces, lower case, and
#: also with a trailing 类/项目/产业 removed). Anything not here and not a category is a bad row.
CATEGORY_SYNONYMS = {
    "制造业": "工业", "工业制造": "工业", "先进制造": "工业", "工业园区": "工业", "industry": "工业",
    "industrial": "工业", "manufacturing": "工业",
    "科技": "科创", "科技创新": "科创", "创新": "科创", "研发": "科创", "数字经济": "科创",
    "innovation": "科创", "technology": "科创", "tech": "科创",
    "交通运输": "交通", "交通基础设施": "交通", "道路": "交通", "公路": "交通", "铁路": "交通",
    "transport": "交通", "transportation": "交通",
    "仓储": "物流", "仓储物流": "物流", "物流仓储": "物流", "logistics": "物流",
    "商业": "商贸", "商务": "商贸", "贸易": "商贸", "商贸服务": "商贸", "commerce": "商贸", "trade": "商贸",
    "retail": "商贸",
    "旅游": "文旅", "文化旅游": "文旅", "文化": "文旅", "文体旅游": "文旅", "tourism": "文旅", "culture": "文旅",
    "生态环保": "生态", "环保": "生态", "生态环境": "生态", "环境保护": "生态", "生态保护": "生态",
    "ecology": "生态", "ecological": "生态", "environment": "生态",
    "水利工程": "水利", "水务": "水利", "防洪": "水利", "water": "水利",
    "能源工程": "能源", "电力": "能源", "新能源": "能源", "energy": "能源",
    "社会事业": "公共服务", "公共设施": "公共服务", "市政": "公共服务", "市政设施": "公共服务",
    "publicservice": "公共服务", "publicservices": "公共服务",
    "学校": "教育", "education": "教育",
    "卫生": "医疗", "医疗卫生": "医疗", "卫生健康": "医疗", "health": "医疗", "healthcare": "医疗",
    "medical": "医疗",
    "城市更新": "住房更新", "棚户区改造": "住房更新", "棚改": "住房更新", "旧城改造": "住房更新",
    "老旧小区改造": "住房更新", "住房": "住房更新", "保障性住房": "住房更新", "housing": "住房更新",
    "urbanrenewal": "住房更新",
    "农业农村": "农业", "现代农业": "农业", "乡村振兴": "农业", "agriculture": "农业",
    "其他": "other", "其它": "other",
}

#: Column names recognised in users' files, first match wins (compared case-insensitively).
FIELD_CANDIDATES = {
    "lon": ("lon", "lng", "longitude", "long", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "id": ("id", "编号", "项目编号", "代码", "code"),
    "name": ("name", "名称", "项目名称", "项目"),
    "category": ("category", "类别", "项目类别", "类型", "项目类型", "行业", "type"),
    "crs": ("crs", "坐标系"),
}

#: What users write for the coordinate system of lon/lat values (compared lower case,
#: without spaces, '-' and '_'). CGCS2000 lon/lat differs from WGS84 by centimetres.
CRS_SYNONYMS = {
    "wgs84": "wgs84", "epsg:4326": "wgs84", "4326": "wgs84", "gps": "wgs84", "cgcs2000": "wgs84",
    "epsg:4490": "wgs84", "4490": "wgs84", "天地图": "wgs84",
    "gcj02": "gcj02", "gcj": "gcj02", "火星": "gcj02", "火星坐标": "gcj02", "火星坐标系": "gcj02",
    "高德": "gcj02", "腾讯": "gcj02", "amap": "gcj02",
    "bd09": "bd09", "bd09ll": "bd09", "百度": "bd09", "百度坐标": "bd09", "baidu": "bd09",
}

FITS, NEUTRAL, CONFLICT = "fits", "neutral", "conflict"
_FIT_CODE = {NEUTRAL: 0, FITS: 1, CONFLICT: 2}
_FIT_NAME = np.array([NEUTRAL, FITS, CONFLICT], dtype=object)


@dataclass(frozen=True)
class ConflictRule:
    """A project category that clashes with an element's purpose.

    The rule applies when the project's category is in ``projects``, is not one of the
    element's own categories, the element has every category in ``requires``, none in
    ``excludes``, and (when ``only`` is set) no category outside ``only``.
    """

    projects: frozenset[str]
    requires: frozenset[str]
    excludes: frozenset[str]
    only: frozenset[str] | None
    zh: str
    en: str

    def applies(self, category: str, element: frozenset[str]) -> bool:
        return (category in self.projects and category not in element and self.requires <= element
                and not (self.excludes & element) and (self.only is None or element <= self.only))


#: The explicit clash table, checked in this order after "fits" (the project's category is one
#: of the element's): (1) ecological elements keep out industry, logistics and energy plants
#: unless the element is also industrial; (2) purely ecological elements (生态, 水利 only) keep
#: out housing; (3) farmland elements (农业 with only 生态/文旅/水利 besides, not 工业/科创/物流)
#: keep out industry. Anything else is "neutral".
CONFLICT_RULES = (
    ConflictRule(frozenset({"工业", "物流", "能源"}), frozenset({"生态"}), frozenset({"工业"}), None,
                 "生态功能要素不宜布局工业、物流、能源设施",
                 "an ecological element is no place for industry, logistics or energy plants"),
    ConflictRule(frozenset({"住房更新"}), frozenset({"生态"}), frozenset(), frozenset({"生态", "水利"}),
                 "纯生态功能要素不宜新建或改造住房",
                 "a purely ecological element is no place for housing"),
    ConflictRule(frozenset({"工业"}), frozenset({"农业"}), frozenset({"工业", "科创", "物流"}),
                 frozenset({"农业", "生态", "文旅", "水利"}),
                 "农业功能要素（耕地保护）不宜布局工业项目",
                 "an agricultural element (farmland protection) is no place for industry"),
)


def normalize_category(value: str) -> str | None:
    """The function category a user's word stands for, or None when it is not recognised."""
    v = re.sub(r"\s+", "", str(value)).lower()
    for cand in (v, re.sub(r"(类项目|项目|类|产业)$", "", v)):
        if cand in CATEGORIES:
            return cand
        if cand in CATEGORY_SYNONYMS:
            return CATEGORY_SYNONYMS[cand]
    return None


def normalize_lonlat_crs(value: str) -> str | None:
    """``wgs84``, ``gcj02`` or ``bd09`` for what a user wrote, or None."""
    v = re.sub(r"[\s_\-]+", "", str(value)).lower()
    return CRS_SYNONYMS.get(v)


def fit_of(category: str, element_name: str, element_categories: str) -> tuple[str, str, str]:
    """Whether a project category suits an element: (fit, reason in Chinese, reason in English)."""
    cats = frozenset(c for c in str(element_categories).split(LIST_SEP) if c)
    shown = element_categories or "无"
    if category in cats:
        return (FITS, f"{category}类项目位于「{element_name}」，其功能类别（{shown}）包含{category}，相符",
                f"fits: {element_name} ({shown}) is meant for {category}")
    for rule in CONFLICT_RULES:
        if rule.applies(category, cats):
            return (CONFLICT, f"{category}类项目位于「{element_name}」，与其功能类别（{shown}）冲突：{rule.zh}",
                    f"conflict: a {category} project in {element_name} ({shown}): {rule.en}")
    return (NEUTRAL, f"{category}类项目位于「{element_name}」，其功能类别（{shown}）不含{category}，但不冲突",
            f"neutral: {element_name} ({shown}) is not meant for {category}, but does not exclude it")


# --- the plans' projects ---------------------------------------------------------------------

def _representative_point(geom: shapely.Geometry) -> shapely.Geometry:
    """A point standing for a feature: the middle of a line, a point inside a polygon."""
    if geom.geom_type in ("LineString", "MultiLineString", "LinearRing"):
        return shapely.line_interpolate_point(geom, 0.5, normalized=True)
    if geom.geom_type == "Point":
        return geom
    return geom.point_on_surface()


def _number(text: str) -> float:
    """A decimal number from text, NaN when the text is not one."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _check_lonlat(p: ProblemList, file: str, where: str, lon_text: str, lat_text: str,
                  names: tuple[str, str] = ("lon", "lat")) -> tuple[float, float] | None:
    """Parse one row's lon/lat, adding a problem (missing, not a number, swapped, not in China)."""
    fields = f"{names[0]}/{names[1]}"
    if not lon_text or not lat_text:
        p.add(file, f"{where}, {fields}", f"coordinates missing ({names[0]}='{lon_text}', {names[1]}='{lat_text}')",
              f"fill in both {names[0]} and {names[1]} (decimal degrees), or delete the row")
        return None
    lon, lat = _number(lon_text), _number(lat_text)
    for name, text, value in ((names[0], lon_text, lon), (names[1], lat_text, lat)):
        if not np.isfinite(value):
            p.add(file, f"{where}, {name}", f"'{text}' is not a decimal number",
                  "write decimal degrees, e.g. 115.0321 (not 115°1′55″)")
    if not (np.isfinite(lon) and np.isfinite(lat)):
        return None
    return _check_range(p, file, f"{where}, {fields}", lon, lat, names)


def _check_range(p: ProblemList, file: str, where: str, lon: float, lat: float,
                 names: tuple[str, str] = ("lon", "lat")) -> tuple[float, float] | None:
    """Check that lon/lat lie in China's range; name a swap or projected metres when they do not."""
    if 73 <= lon <= 135 and 3 <= lat <= 54:
        return lon, lat
    if 18 <= lon <= 54 and 73 <= lat <= 135:
        p.add(file, where, f"{names[0]}={lon:g}, {names[1]}={lat:g}: swapped? (a latitude in the "
              f"{names[0]} column)", f"swap the two values: in China {names[0]} is 73..135 and {names[1]} 18..54")
    elif abs(lon) > 360 or abs(lat) > 360:
        p.add(file, where, f"{names[0]}={lon:g}, {names[1]}={lat:g} are not degrees (projected metres?)",
              "give lon/lat in decimal degrees, or load the points as a vector file with its CRS")
    else:
        p.add(file, where, f"{names[0]}={lon:g}, {names[1]}={lat:g} lie outside China "
              f"({names[0]} 73..135, {names[1]} 18..54)", "check the values and the column order")
    return None


def _category_problem(p: ProblemList, file: str, where: str, value: str) -> None:
    if not value:
        p.add(file, where, "category missing", f"write one of {'、'.join(CATEGORIES)}")
        return
    canon = normalize_category(value)
    fix = f"write {canon}" if canon else f"use one of {'、'.join(CATEGORIES)}"
    p.add(file, where, f"unknown category '{value}'", fix)


def locate_projects(rows: pd.DataFrame, *, places: gpd.GeoDataFrame, features: gpd.GeoDataFrame,
                    adcode: str, source: str) -> gpd.GeoDataFrame:
    """Put the plan's projects on the map.

    Parameters
    ----------
    rows
        The table ``data/projects/<adcode>.csv`` (columns :data:`PROJECT_COLUMNS`), in file order.
    places
        The district gazetteer as WGS84 points (``name``, ``aliases`` "|"-joined, ``precision_m``).
    features
        The district's features (``id``, ``name``, geometry in EPSG:4326; ``precision_m`` if known).
    adcode
        The district code; ids must read ``<adcode>-pNNN``.
    source
        The file name used in messages.

    Returns
    -------
    GeoDataFrame
        One point per project (EPSG:4326), sorted by id: ``id, adcode, name, category, anchor,
        basis, basis_zh, precision_m, offset, origin`` ("plan"). Projects on the same anchor share the
        point and keep their own ids. ``precision_m`` is the larger of the row's and the anchor's.

    Raises
    ------
    InputError
        Every problem at once: missing columns, bad or duplicate id, empty name, unknown
        category, unknown anchor or feature, missing/contradictory/bad location or precision.
    """
    p = ProblemList()
    missing = [c for c in PROJECT_COLUMNS if c not in rows.columns]
    if missing:
        p.add(source, "header", f"missing columns {', '.join(missing)}", f"use the columns {','.join(PROJECT_COLUMNS)}")
        p.raise_if_any()
    df = rows[list(PROJECT_COLUMNS)].fillna("").astype(str).apply(lambda c: c.str.strip())
    index = name_index(places) if len(places) else {}
    place_names = sorted(index)
    feats = {str(f): i for i, f in enumerate(features["id"])} if len(features) else {}
    feat_prec = (pd.to_numeric(features["precision_m"], errors="coerce").fillna(0).to_numpy(float)
                 if "precision_m" in features.columns and len(features) else np.zeros(len(features)))
    id_pattern = re.compile(rf"^{re.escape(adcode)}-p\d{{3,}}$")
    seen: dict[str, int] = {}
    records = []
    for i, r in enumerate(df.itertuples(index=False)):
        n = i + 2
        where = f"row {n}"
        ok = True
        if not r.id:
            p.add(source, f"{where}, id", "id missing", f"give the project an id {adcode}-pNNN")
            ok = False
        elif not id_pattern.match(r.id):
            p.add(source, f"{where}, id", f"id '{r.id}' is not of the form {adcode}-pNNN",
                  f"write e.g. {adcode}-p{i + 1:03d}")
            ok = False
        elif r.id in seen:
            p.add(source, f"{where}, id", f"id '{r.id}' already used in row {seen[r.id]}",
                  "give every project its own id")
            ok = False
        else:
            seen[r.id] = n
        if not r.name:
            p.add(source, f"{where}, name", "name missing", "write the project's name as the plan gives it")
            ok = False
        if r.category not in CATEGORIES:
            _category_problem(p, source, f"{where}, category", r.category)
            ok = False
        offset = _number(r.offset) if r.offset else float("nan")
        if not (np.isfinite(offset) and offset >= 0 and offset.is_integer()):
            p.add(source, f"{where}, offset", f"offset '{r.offset}' is not a character index",
                  "give the position of the name in the seed file (a whole number >= 0)")
            ok = False
        prec = _number(r.precision_m) if r.precision_m else float("nan")
        if r.precision_m and not prec > 0:
            p.add(source, f"{where}, precision_m", f"precision_m '{r.precision_m}' is not a positive number",
                  "give the uncertainty radius in metres")
            ok = False
        point, anchor_prec, basis = None, 0.0, Basis("", "")
        has_xy = bool(r.lon or r.lat)
        if r.anchor and has_xy:
            p.add(source, f"{where}, anchor", f"both an anchor ('{r.anchor}') and lon/lat ({r.lon}, {r.lat}) given",
                  "keep either the anchor or the coordinates")
            ok = False
        elif r.anchor.startswith("feature:"):
            fid = r.anchor.removeprefix("feature:").strip()
            if fid in feats:
                j = feats[fid]
                point = _representative_point(features.geometry.iloc[j])
                anchor_prec = feat_prec[j]
                basis = project_at_feature(fid, features["name"].iloc[j])
            else:
                close = difflib.get_close_matches(fid, sorted(feats), n=1)
                p.add(source, f"{where}, anchor", f"unknown feature '{fid}'",
                      f"use a feature id of data/features/{adcode}.geojson"
                      + (f" (did you mean feature:{close[0]}?)" if close else ""))
                ok = False
        elif r.anchor:
            if r.anchor in index:
                j = index[r.anchor]
                point = places.geometry.iloc[j]
                anchor_prec = float(places["precision_m"].iloc[j])
                basis = project_at_place(places["name"].iloc[j])
            else:
                close = difflib.get_close_matches(r.anchor, place_names, n=1)
                p.add(source, f"{where}, anchor", f"unknown anchor '{r.anchor}'",
                      f"write a name or alias of data/gazetteer/{adcode}.csv"
                      + (f" (did you mean {places['name'].iloc[index[close[0]]]}?)" if close else "")
                      + ", or add the place there")
                ok = False
        elif has_xy:
            crs = r.crs.lower()
            if crs not in LONLAT_CRS:
                p.add(source, f"{where}, crs", f"coordinate system '{r.crs}' " + ("missing" if not r.crs else "unknown"),
                      f"write one of {', '.join(LONLAT_CRS)}")
                ok = False
            if not r.precision_m:
                p.add(source, f"{where}, precision_m", "precision_m missing for explicit coordinates",
                      "give how well the coordinates locate the project, in metres")
                ok = False
            lonlat = _check_lonlat(p, source, where, r.lon, r.lat)
            if lonlat is None:
                ok = False
            elif crs in LONLAT_CRS:
                x, y = to_wgs84(lonlat[0], lonlat[1], crs)
                point = shapely.Point(float(x), float(y))
                basis = project_at_coordinates(crs)
        else:
            p.add(source, f"{where}, anchor", "location missing: no anchor and no lon/lat",
                  "give an anchor (a gazetteer name or feature:<id>) or lon, lat and crs")
            ok = False
        if ok:
            records.append({
                "id": r.id, "adcode": adcode, "name": r.name, "category": r.category, "anchor": r.anchor,
                "basis": basis.en, "basis_zh": basis.zh, "precision_m": float(np.nanmax([prec, anchor_prec])),
                "offset": int(offset), "origin": "plan", "geometry": point,
            })
    p.raise_if_any()
    columns = ["id", "adcode", "name", "category", "anchor", "basis", "basis_zh", "precision_m", "offset", "origin",
               "geometry"]
    out = gpd.GeoDataFrame(pd.DataFrame(records, columns=columns), geometry="geometry", crs=4326)
    return out.sort_values("id", kind="mergesort").reset_index(drop=True)


# --- users' project files --------------------------------------------------------------------

def _find_field(file: str, columns: list[str], given: str | None, role: str, *, required: bool) -> str | None:
    """The column for ``role``: the one given (must exist) or the first candidate present."""
    if given is not None:
        if given not in columns:
            raise InputError.one(file, "header", f"no column '{given}' (columns: {', '.join(columns)})",
                                 f"pass {option(OPTION, role.replace('_', '-') + '-field')} with one of the columns")
        return given
    lowered = {str(c).strip().lower(): c for c in reversed(columns)}
    for cand in FIELD_CANDIDATES[role]:
        if cand in lowered:
            return lowered[cand]
    if required:
        names = "/".join(FIELD_CANDIDATES[role])
        raise InputError.one(file, "header", f"no {role} column (looked for {names}; columns: {', '.join(columns)})",
                             f"name the column {FIELD_CANDIDATES[role][0]} or pass {option(OPTION, role + '-field')} NAME")
    return None


def _table_geometries(p: ProblemList, file: str, df: pd.DataFrame, *, lon_field: str, lat_field: str,
                      crs_field: str | None, crs: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Points from a table's lon/lat (converted to WGS84) and the declared CRS per row."""
    n = len(df)
    geoms = np.full(n, None, dtype=object)
    declared = np.full(n, "", dtype=object)
    lons, lats, row_crs, rows = [], [], [], []
    for i, (label, lon_t, lat_t, crs_t) in enumerate(zip(
            df.index, df[lon_field], df[lat_field], df[crs_field] if crs_field else [""] * n)):
        where = f"row {label}"
        row_ok = True
        if crs_t:
            c = normalize_lonlat_crs(crs_t)
            if c is None:
                p.add(file, f"{where}, {crs_field}", f"unknown coordinate system '{crs_t}'",
                      f"write one of {', '.join(LONLAT_CRS)}")
                row_ok = False
        elif crs is not None:
            c = crs
        else:
            p.add(file, f"{where}, {crs_field}", "coordinate system missing",
                  f"write one of {', '.join(LONLAT_CRS)}, or pass --projects-crs for the whole file")
            row_ok = False
        lonlat = _check_lonlat(p, file, where, lon_t, lat_t, (lon_field, lat_field))
        if lonlat is not None and row_ok:
            lons.append(lonlat[0])
            lats.append(lonlat[1])
            row_crs.append(c)
            rows.append(i)
    rows_a, crs_a = np.asarray(rows, dtype=int), np.asarray(row_crs, dtype=object)
    x, y = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
    for c in LONLAT_CRS:
        sel = crs_a == c
        if sel.any():
            x[sel], y[sel] = to_wgs84(x[sel], y[sel], c)
            declared[rows_a[sel]] = c
    if len(rows_a):
        geoms[rows_a] = shapely.points(x, y)
    return geoms, declared


def _vector_geometries(p: ProblemList, file: str, gdf: gpd.GeoDataFrame, labels: list[str],
                       lonlat_crs: str | None) -> np.ndarray:
    """A vector layer's geometries in WGS84; lines, empty and out-of-China features reported."""
    if lonlat_crs is not None:
        if not gdf.crs.is_geographic:
            raise InputError.one(file, "CRS", f"--projects-crs {lonlat_crs} is for lon/lat files, but the file is in "
                                 f"{gdf.crs.name}", "leave --projects-crs out (the file's own CRS is used)")
        gdf = gdf.set_crs(4326, allow_override=True)
    geoms = np.asarray(to_lonlat(gdf).geometry.values, dtype=object).copy()
    if lonlat_crs not in (None, "wgs84"):
        geoms = transform_geometries(geoms, lonlat_crs)
    for i, g in enumerate(geoms):
        where = labels[i]
        if g is None or g.is_empty:
            p.add(file, where, "no geometry", "draw the project's point or parcel, or delete the feature")
            geoms[i] = None
        elif g.geom_type not in ("Point", "MultiPoint", "Polygon", "MultiPolygon"):
            p.add(file, where, f"{g.geom_type} geometry", "give projects as points or parcels (polygons)")
            geoms[i] = None
        else:
            c = g.centroid if g.geom_type != "Point" else g
            if _check_range(p, file, f"{where}, geometry", c.x, c.y, ("x", "y")) is None:
                geoms[i] = None
    return geoms


def _outside_boundary(p: ProblemList, file: str, labels: list[str], geoms: np.ndarray,
                      boundary: gpd.GeoDataFrame) -> np.ndarray:
    """Mask of geometries that do not touch the district boundary(ies); each one reported."""
    b4326 = boundary.to_crs(4326)
    area = shapely.union_all(np.asarray(b4326.geometry.values, dtype=object))
    shapely.prepare(area)
    has = np.array([g is not None for g in geoms])
    out = np.zeros(len(geoms), dtype=bool)
    out[has] = ~shapely.intersects(area, geoms[has].astype(object))
    if not out.any():
        return out
    names = next((b4326[c].astype(str).tolist() for c in ("district", "name") if c in b4326.columns), [])
    label = f" ({'、'.join(names)})" if names else ""
    epsg = gk_zone_epsg(area.centroid.x)
    far = gpd.GeoSeries(geoms[out], crs=4326).to_crs(epsg)
    dist = far.distance(gpd.GeoSeries([area], crs=4326).to_crs(epsg).iloc[0]).to_numpy()
    for i, g, d in zip(np.flatnonzero(out), geoms[out], dist):
        kind = "point" if g.geom_type == "Point" else "parcel"
        at = f" ({g.x:.6f}, {g.y:.6f})" if kind == "point" else ""
        p.add(file, labels[i], f"{kind}{at} lies outside the district boundary{label}, {d / 1000:.1f} km from it",
              "check the coordinates and their coordinate system (--projects-crs wgs84|gcj02|bd09), or remove the row")
    return out


def read_user_projects(path: str | Path, *, crs: str | None = None, lon_field: str | None = None,
                       lat_field: str | None = None, id_field: str | None = None, name_field: str | None = None,
                       category_field: str | None = None, layer: str | None = None, sheet: str | None = None,
                       strict: bool = False, boundary: gpd.GeoDataFrame | None = None,
                       ) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read a user's project file and keep its good rows.

    Parameters
    ----------
    path
        CSV/XLSX with lon/lat columns, or points/parcels in any vector format GDAL reads
        (Shapefile with GBK or UTF-8 attributes, GeoPackage, GeoJSON) and any CRS.
    crs
        Tables: the coordinate system of lon/lat, ``wgs84``, ``gcj02`` or ``bd09`` (also
        spelled WGS-84, GCJ-02, BD-09, 火星, 百度, EPSG:4326/4490); a ``crs``/``坐标系``
        column overrides it row by row, and one of the two is required. Vector files:
        ``gcj02``/``bd09`` for lon/lat layers holding such coordinates, or ``EPSG:NNNN`` for
        a file that declares no CRS.
    lon_field, lat_field, id_field, name_field, category_field
        Column names; detected when omitted (lon/lng/longitude/经度/x, lat/latitude/纬度/y,
        id/编号, name/名称/项目名称, category/类别/类型). Without an id column rows are
        numbered ``row-N`` (``feature-N``); without a name column the id is the name.
    layer, sheet
        Layer of a multi-layer vector file; sheet of a workbook (default the first).
    strict
        Raise on any bad row instead of returning the good ones.
    boundary
        District boundary(ies); rows lying outside all of them are bad rows.

    Returns
    -------
    (GeoDataFrame, list of Problem)
        Good rows in file order (EPSG:4326): ``id, name, category, origin`` ("user"),
        ``source_crs``, ``source_row``, geometry; and one problem per bad row/field.
        Category words are mapped to the function categories (交通运输 -> 交通, 旅游 -> 文旅, ...).

    Raises
    ------
    InputError
        Unreadable file or missing columns; with ``strict``, any bad row; in any case, a file
        without a single good row.
    """
    path = Path(path)
    file = str(path)
    p = ProblemList()
    suffix = path.suffix.lower()
    lonlat_crs = None
    if crs is not None:
        lonlat_crs = normalize_lonlat_crs(crs)
        if lonlat_crs is None and suffix in CSV_SUFFIXES + XLSX_SUFFIXES:
            raise InputError.one(file, "--projects-crs", f"unknown coordinate system '{crs}' for lon/lat",
                                 f"use one of {', '.join(LONLAT_CRS)}")
    if suffix in CSV_SUFFIXES + XLSX_SUFFIXES:
        df = read_table(path, sheet=sheet)
        columns = list(df.columns)
        lon_c = _find_field(file, columns, lon_field, "lon", required=True)
        lat_c = _find_field(file, columns, lat_field, "lat", required=True)
        crs_c = _find_field(file, columns, None, "crs", required=False)
        if crs_c is None and lonlat_crs is None:
            raise InputError.one(file, "header", "the coordinate system of lon/lat is not stated",
                                 "pass --projects-crs wgs84|gcj02|bd09, or add a crs (坐标系) column")
        blank = (df == "").all(axis=1).to_numpy()
        df = df[~blank]
        numbers, unit = [int(n) for n in df.index], "row"
        labels = [f"{unit} {n}" for n in numbers]
        geoms, declared = _table_geometries(p, file, df, lon_field=lon_c, lat_field=lat_c, crs_field=crs_c,
                                            crs=lonlat_crs)
    else:
        gdf = read_vector(path, layer=layer, crs=crs if lonlat_crs is None else "EPSG:4326", option=OPTION)
        df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).fillna("").astype(str).apply(
            lambda c: c.str.strip()) if len(gdf.columns) > 1 else pd.DataFrame(index=gdf.index)
        columns = list(df.columns)
        numbers, unit = list(range(1, len(gdf) + 1)), "feature"
        labels = [f"{unit} {n}" for n in numbers]
        geoms = _vector_geometries(p, file, gdf, labels, lonlat_crs)
        declared = np.full(len(gdf), lonlat_crs or (gdf.crs.to_string() if gdf.crs else ""), dtype=object)
    id_c = _find_field(file, columns, id_field, "id", required=False)
    name_c = _find_field(file, columns, name_field, "name", required=False)
    cat_c = _find_field(file, columns, category_field, "category", required=True)
    if not len(df):
        raise InputError.one(file, "rows", "the table has a header but no project rows",
                             "add the projects below the header, or leave out --projects")
    ids = df[id_c].tolist() if id_c else [f"{unit}-{n}" for n in numbers]
    names = df[name_c].tolist() if name_c else list(ids)
    good = np.array([g is not None for g in geoms], dtype=bool)
    categories = []
    seen: dict[str, str] = {}
    for i, (label, pid, raw_cat) in enumerate(zip(labels, ids, df[cat_c])):
        cat = normalize_category(raw_cat) if raw_cat else None
        categories.append(cat)
        if cat is None:
            _category_problem(p, file, f"{label}, {cat_c}", raw_cat)
            good[i] = False
        if not pid:
            p.add(file, f"{label}, {id_c}", "id missing", "give every project an id")
            good[i] = False
        elif pid in seen:
            p.add(file, f"{label}, {id_c}", f"id '{pid}' already used in {seen[pid]}",
                  "give every project its own id")
            good[i] = False
        else:
            seen[pid] = label
    if boundary is not None:
        good &= ~_outside_boundary(p, file, labels, np.where(good, geoms, None), boundary)
    p.items.sort(key=lambda prob: int(re.match(r"\w+ (\d+)", prob.where).group(1)))  # row order, stable
    if p.items and (strict or not good.any()):
        p.raise_if_any()
    keep = np.flatnonzero(good)
    out = gpd.GeoDataFrame({
        "id": [str(ids[i]) for i in keep], "name": [str(names[i]) for i in keep],
        "category": [categories[i] for i in keep], "origin": "user",
        "source_crs": [declared[i] for i in keep], "source_row": [numbers[i] for i in keep],
    }, geometry=list(geoms[keep]) if len(keep) else gpd.GeoSeries([], crs=4326), crs=4326)
    return out.reset_index(drop=True), list(p.items)


# --- the join --------------------------------------------------------------------------------

def _group_join(pos: np.ndarray, values: np.ndarray, n: int, sep: str) -> np.ndarray:
    """Join ``values`` per project position ``pos`` (sorted, grouped) with ``sep``; "" for none."""
    out = np.full(n, "", dtype=object)
    if len(pos) == 0:
        return out
    starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
    counts = np.diff(np.r_[starts, len(pos)])
    single = counts == 1
    out[pos[starts[single]]] = values[starts[single]]
    for s, c in zip(starts[~single], counts[~single]):
        out[pos[s]] = sep.join(values[s:s + c])
    return out


def element_pairs(geoms, elements: gpd.GeoDataFrame, *, share_threshold: float = 0.5
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which element(s) each project geometry belongs to (EPSG:4326 inputs).

    Points (and multipoints) belong to every element they intersect (one STRtree bulk query).
    Parcels belong to every element covering at least ``share_threshold`` of their
    (ellipsoidal) area, or else to the one covering the largest share.

    Returns
    -------
    (project positions, element positions, shares)
        Sorted by project, then element id; shares are 1 for points.
    """
    geoms = np.asarray(geoms, dtype=object)
    egeoms = np.asarray(elements.geometry.values, dtype=object)
    tree = shapely.STRtree(egeoms)
    poly = np.isin(shapely.get_type_id(geoms), (3, 6))
    pt_idx = np.flatnonzero(~poly)
    pp, pe = tree.query(geoms[pt_idx], predicate="intersects")
    pp, ps = pt_idx[pp], np.ones(len(pp))  # a point lies wholly in each element it meets
    if poly.any():
        poly_idx = np.flatnonzero(poly)
        qp, qe = tree.query(geoms[poly_idx], predicate="intersects")
        qp = poly_idx[qp]
        share = ellipsoidal_area_m2(shapely.intersection(geoms[qp], egeoms[qe])) / ellipsoidal_area_m2(geoms[qp])
        best = pd.Series(share).groupby(qp).transform("max").to_numpy()
        keep = (share > 0) & ((share >= share_threshold) | (share == best))
        pp, pe, ps = np.r_[pp, qp[keep]], np.r_[pe, qe[keep]], np.r_[ps, share[keep]]
    rank = np.empty(len(egeoms), dtype=int)
    rank[np.argsort(elements["id"].astype(str).to_numpy(), kind="stable")] = np.arange(len(egeoms))
    order = np.lexsort((rank[pe], pp))
    return pp[order].astype(int), pe[order].astype(int), ps[order]


def _nearest(geoms: np.ndarray, elements: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Nearest element (position, smallest id among ties) and distance in metres in the GK zone.

    The search is the red lines' (:func:`spatial.overlap.nearest_m`) over the elements' polygons,
    ordered by element id so that a tie goes to the smallest id.
    """
    order = np.argsort(elements["id"].astype(str).to_numpy(), kind="stable")
    parts, owner = shapely.get_parts(np.asarray(elements.geometry.values, dtype=object)[order], return_index=True)
    dist, part = nearest_m(np.asarray(geoms, dtype=object), parts, gk_epsg_of(elements))
    return np.where(part >= 0, order[owner[np.maximum(part, 0)]], -1), dist


def join_projects(projects: gpd.GeoDataFrame, elements: gpd.GeoDataFrame, *, share_threshold: float = 0.5
                  ) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Join projects (points or parcels) to the layout elements and judge the fit.

    Parameters
    ----------
    projects
        ``id, name, category`` and geometry (points or polygons).
    elements
        The element polygons (``id, name, structure_id, role, categories`` "、"-joined).
    share_threshold
        Least share of a parcel's area an element must cover to get the parcel (else the
        element covering the largest share gets it).

    Returns
    -------
    projects : GeoDataFrame
        The input plus ``element_ids`` (","-joined, sorted), ``element_names`` ("、"-joined, same
        order), ``share`` (the share of the project each of those elements covers, ","-joined, 3
        decimals: 1 for a point), ``nearest_element_id``, ``nearest_element_name``, ``nearest_distance_m``
        (only for projects in no element; metres in the district's Gauss-Kruger zone, 0.1 m),
        ``fit`` (conflict if any element clashes, else fits if any element is meant for the
        category, else neutral), ``fit_reason`` and ``fit_reason_en`` (one sentence per element).
    per_element : DataFrame
        One row per element: ``element_id, element_name, structure_id, role, categories,
        projects, project_ids``, a count per category, ``conflicts, conflict_ids``.
    """
    projects = projects.to_crs(4326) if projects.crs is not None and projects.crs.to_epsg() != 4326 else projects
    elements = elements.to_crs(4326) if elements.crs is not None and elements.crs.to_epsg() != 4326 else elements
    elements = elements.reset_index(drop=True)
    n = len(projects)
    geoms = np.asarray(projects.geometry.values, dtype=object)
    pos, epos, shares = element_pairs(geoms, elements, share_threshold=share_threshold)
    eids = elements["id"].astype(str).to_numpy(dtype=object)
    enames = elements["name"].astype(str).to_numpy(dtype=object)
    ecats = elements["categories"].fillna("").astype(str).to_numpy(dtype=object)
    pcats = projects["category"].astype(str).to_numpy(dtype=object)

    # fit per (category, element) combination, then per pair
    cat_code, cat_values = pd.factorize(pcats, sort=True)
    shape = (len(cat_values), len(elements))
    fit_code, zh, en = np.zeros(shape, dtype=int), np.empty(shape, dtype=object), np.empty(shape, dtype=object)
    for k, c in enumerate(cat_values):
        for j in range(len(elements)):
            fit, zh[k, j], en[k, j] = fit_of(c, enames[j], ecats[j])
            fit_code[k, j] = _FIT_CODE[fit]
    pc = cat_code[pos]
    pair_fit = fit_code[pc, epos]
    best = np.zeros(n, dtype=int)
    np.maximum.at(best, pos, pair_fit)

    out = projects.copy()
    out["element_ids"] = _group_join(pos, eids[epos], n, ",")
    out["element_names"] = _group_join(pos, enames[epos], n, LIST_SEP)
    share_text = np.array([f"{s:.3f}" for s in shares], dtype=object)
    out["share"] = _group_join(pos, share_text, n, ",")
    fit_zh = _group_join(pos, zh[pc, epos], n, "；")
    fit_en = _group_join(pos, en[pc, epos], n, "; ")

    none = np.ones(n, dtype=bool)
    none[pos] = False
    near_id = np.full(n, "", dtype=object)
    near_name = np.full(n, "", dtype=object)
    near_d = np.full(n, np.nan)
    if none.any() and len(elements):
        e, d = _nearest(geoms[none], elements)
        near_id[none], near_name[none], near_d[none] = eids[e], enames[e], np.round(d, 1)
        idx = np.flatnonzero(none)
        fit_zh[idx] = [f"{c}类项目不在任何布局要素内；最近的要素为「{nm}」，距离约{dd:.0f}米"
                       for c, nm, dd in zip(pcats[idx], near_name[idx], near_d[idx])]
        fit_en[idx] = [f"neutral: a {c} project in no element; the nearest is {nm}, {dd:,.0f} m away"
                       for c, nm, dd in zip(pcats[idx], near_name[idx], near_d[idx])]
    out["nearest_element_id"] = near_id
    out["nearest_element_name"] = near_name
    out["nearest_distance_m"] = near_d
    out["fit"] = _FIT_NAME[best]
    out["fit_reason"] = fit_zh
    out["fit_reason_en"] = fit_en

    per_element = _per_element(elements, projects, pos, epos, pair_fit)
    return out, per_element


def _per_element(elements: gpd.GeoDataFrame, projects: gpd.GeoDataFrame, pos: np.ndarray, epos: np.ndarray,
                 pair_fit: np.ndarray) -> pd.DataFrame:
    """Counts per element: projects, projects by category, conflicts (with their ids)."""
    pids = projects["id"].astype(str).to_numpy(dtype=object)
    pcats = projects["category"].astype(str).to_numpy()
    pairs = pd.DataFrame({"e": epos, "pid": pids[pos], "cat": pcats[pos], "conflict": pair_fit == _FIT_CODE[CONFLICT]})
    pairs = pairs.sort_values(["e", "pid"], kind="mergesort")
    table = pd.DataFrame({
        "element_id": elements["id"].astype(str), "element_name": elements["name"].astype(str),
        "structure_id": elements["structure_id"].astype(str), "role": elements["role"].astype(str),
        "categories": elements["categories"].fillna("").astype(str),
    })
    grouped = pairs.groupby("e")
    table["projects"] = grouped.size().reindex(table.index, fill_value=0).astype(int)
    table["project_ids"] = grouped["pid"].agg(",".join).reindex(table.index, fill_value="")
    counts = pd.crosstab(pairs["e"], pairs["cat"]).reindex(index=table.index, fill_value=0)
    for cat in CATEGORIES:
        table[cat] = counts[cat].astype(int) if cat in counts.columns else 0
    conflicts = pairs[pairs["conflict"]].groupby("e")["pid"]
    table["conflicts"] = conflicts.size().reindex(table.index, fill_value=0).astype(int)
    table["conflict_ids"] = conflicts.agg(",".join).reindex(table.index, fill_value="")
    return table.sort_values("element_id", kind="mergesort").reset_index(drop=True)


def project_table(projects: gpd.GeoDataFrame) -> pd.DataFrame:
    """The joined projects as a report table: no geometry, a lon/lat (6 decimals) per project.

    Parcels get the lon/lat of a point inside them. Rows sorted by id.
    """
    pts = shapely.point_on_surface(np.asarray(projects.geometry.values, dtype=object))
    lead = ["id", "name", "category", "origin", "seed", "offset", "anchor", "basis", "basis_zh", "precision_m",
            "source_row"]
    joined = ["element_ids", "element_names", "share", "fit", "fit_reason", "fit_reason_en",
              "nearest_element_id", "nearest_element_name", "nearest_distance_m"]
    table = pd.DataFrame(projects.drop(columns=projects.geometry.name))
    table["lon"] = np.round(shapely.get_x(pts), 6)
    table["lat"] = np.round(shapely.get_y(pts), 6)
    cols = [c for c in lead if c in table.columns] + ["lon", "lat"] + [c for c in joined if c in table.columns]
    return table[cols].sort_values("id", kind="mergesort").reset_index(drop=True)
