"""Ecological protection red lines (生态保护红线): official files cleaned, or an illustrative sample.

Official red lines come in any CRS (often a CGCS2000 Gauss-Kruger zone), with invalid rings
and patches that overlap each other. :func:`prepare_redlines` turns such a layer into clean,
non-overlapping polygons in EPSG:4326 and says, in plain words, what it did. When no official
file is given, :func:`sample_redlines` builds an illustrative layer from the ecological
features a plan names, marked ``official=False`` everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely import STRtree

from .arrays import in_sorted, in_threads, unique
from .crs import ellipsoidal_area_m2, gk_zone_epsg, to_lonlat
from .errors import InputError
from .io.vector import read_vector
from .overlap import boundaries_meet, inside_pairs, polygon_parts, polygonal

if TYPE_CHECKING:
    from .nearby import Selection

#: Field names that hold the red-line type in official data, tried in this order (any case).
TYPE_FIELDS = ("红线类型", "类型", "类别", "hxlx", "type", "kind")
#: Field names that hold a patch's name, tried in this order (any case).
NAME_FIELDS = ("名称", "红线名称", "hxmc", "name", "mc")
#: Column of a patch's (first member's) row in the layer, while it is prepared.
ROW = "_row"
#: Type given to patches whose type field is empty.
UNSPECIFIED = "unspecified"
#: Columns of a prepared red-line layer, in this order.
REDLINE_COLUMNS = ["id", "name", "type", "official", "source", "basis", "area_km2"]
#: Buffer width of an ecological line feature (a river) that gives no ``width_m``.
DEFAULT_LINE_WIDTH_M = 200.0


@dataclass
class RepairReport:
    """What :func:`prepare_redlines` did to a layer, in counts and in plain words."""

    source: str
    official: bool
    crs: str
    features_in: int
    epsg: int | None = None
    features_total: int | None = None  # of the whole layer, when only some were read
    repaired: int = 0
    dropped_empty: int = 0
    overlap_pairs: int = 0
    overlap_m2: float = 0.0
    merged_into: int = 0
    merged_from: int = 0
    cross_type_pairs: int = 0
    cross_type_m2: float = 0.0
    type_field: str | None = None
    types: list[str] = field(default_factory=list)
    patches_out: int = 0
    notes: list[str] = field(default_factory=list)


def detect_field(columns, candidates) -> str | None:
    """The first column whose name matches one of ``candidates`` (case-insensitive), or None."""
    lower = {str(c).lower(): c for c in columns}
    for name in candidates:
        if name.lower() in lower:
            return lower[name.lower()]
    return None


def _crs_label(crs) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label (the smallest member index) of each of ``n`` nodes joined by edges a-b."""
    labels = np.arange(n)
    while True:
        new = labels.copy()
        low = np.minimum(labels[a], labels[b])
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if np.array_equal(new, labels):
            return labels
        labels = new


def overlapping_pairs(geoms: np.ndarray, others: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs i < j of (multi)polygons ``geoms`` whose interiors intersect (touching edges do not
    count); with ``others``, pairs (i in ``geoms``, j in ``others``) instead.

    Linear in the vertices, as the overlap engine: boxes first; then, per pair of polygon
    parts, boundaries that meet (their interiors then intersect unless they only touch:
    ``relate`` decides those few) or one part inside the other (one vertex decides).
    """
    parts, owner = polygon_parts(geoms)
    other, other_owner = (parts, owner) if others is None else polygon_parts(others)
    a, b = STRtree(other).query(parts)
    if others is None:
        keep = owner[a] < other_owner[b]
        a, b = a[keep], b[keep]
    meet = boundaries_meet(parts, other, a, b, a_is_target=False)
    hit = np.zeros(len(a), dtype=bool)
    hit[meet] = shapely.relate_pattern(parts[a[meet]], other[b[meet]], "T********")
    rest = np.flatnonzero(~meet)
    hit[rest] = inside_pairs(parts, other, a[rest], b[rest]) | inside_pairs(other, parts, b[rest], a[rest])
    pairs = np.unique(np.column_stack([owner[a[hit]], other_owner[b[hit]]]), axis=0).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def _owned(rows: np.ndarray, owned: np.ndarray | None) -> np.ndarray:
    """Whether each layer row is among ``owned`` (sorted, no repeats; all when None)."""
    return np.ones(len(rows), dtype=bool) if owned is None else in_sorted(rows, owned)


def _dissolve_same_type(frame: pd.DataFrame, report: RepairReport, a: np.ndarray, b: np.ndarray,
                        owned: np.ndarray | None) -> tuple[pd.DataFrame, bool]:
    """Merge overlapping patches (pairs ``a``-``b``) of the same type into one patch each (first member's
    id and row); whether any were merged. The report counts pairs and merges whose first row is ``owned``."""
    same = frame["type"].to_numpy()[a] == frame["type"].to_numpy()[b]
    a, b = a[same], b[same]
    first = frame[ROW].to_numpy()
    report.overlap_pairs = int(_owned(np.minimum(first[a], first[b]), owned).sum())
    if not len(a):
        return frame, False
    labels = components(len(frame), a, b)
    rows = []
    for label, group in frame.groupby(labels, sort=True):
        if len(group) == 1:
            rows.append(group.iloc[0].to_dict())
            continue
        merged = shapely.union_all(group["geometry"].to_numpy())
        row = group.iloc[0].to_dict()
        if _owned(np.array([row[ROW]]), owned)[0]:
            before = ellipsoidal_area_m2(group["geometry"].to_numpy()).sum()
            report.overlap_m2 += before - ellipsoidal_area_m2([merged])[0]
            report.merged_from += len(group)
            report.merged_into += 1
        names = [n for n in dict.fromkeys(group["name"]) if isinstance(n, str) and n]
        row.update(geometry=merged, name="、".join(names) or None,
                   basis=f"{row['basis']}; dissolved from overlapping patches {', '.join(group['id'])}")
        rows.append(row)
    return pd.DataFrame(rows, columns=frame.columns), True


def _resolve_cross_type(frame: pd.DataFrame, report: RepairReport, a: np.ndarray, b: np.ndarray,
                        owned: np.ndarray | None) -> pd.DataFrame:
    """Give area where patches of different types overlap (pairs ``a``-``b``) to the type first in sort
    order. The report counts pairs whose first row, and losses of patches whose row, is ``owned``."""
    geoms = frame["geometry"].to_numpy()
    if not len(a):
        return frame
    types = frame["type"].to_numpy()
    first = frame[ROW].to_numpy()
    # the patch of the later type (ties: the later row) loses the shared area
    order = np.lexsort((np.arange(len(frame)), types))
    rank = np.empty(len(frame), dtype=int)
    rank[order] = np.arange(len(frame))
    winner = np.where(rank[a] < rank[b], a, b)
    loser = np.where(rank[a] < rank[b], b, a)
    report.cross_type_pairs = int(_owned(np.minimum(first[a], first[b]), owned).sum())
    out = frame.copy()
    for i in np.unique(loser):
        cut = shapely.union_all(geoms[winner[loser == i]])
        kept = polygonal(shapely.difference(geoms[i], cut))
        if _owned(first[i:i + 1], owned)[0]:
            before = ellipsoidal_area_m2([geoms[i]])[0]
            report.cross_type_m2 += before - (ellipsoidal_area_m2([kept])[0] if kept is not None else 0.0)
        out.at[out.index[i], "geometry"] = kept
    return out[out["geometry"].notna()]


def redline_ids(rows: pd.DataFrame, layer: pd.DataFrame) -> pd.Series:
    """The ids of ``rows`` of ``layer`` (their index: row numbers in it, from 0): the ``id`` field
    when the whole layer's is complete and unique, else ``rl-NNNNN`` by row number."""
    if "id" in layer.columns and layer["id"].notna().all() and layer["id"].is_unique:
        return rows["id"].astype(str)
    return pd.Series([f"rl-{i + 1:05d}" for i in rows.index], index=rows.index)


def _types(table: pd.DataFrame, type_field: str | None) -> pd.Series:
    """The red-line type of each row: the type field's text, :data:`UNSPECIFIED` where empty or missing."""
    if not type_field:
        return pd.Series(UNSPECIFIED, index=table.index)
    values = table[type_field]
    text = values.astype(str).str.strip()
    return text.mask(values.isna() | (text == ""), UNSPECIFIED).astype(object)


def _describe(report: RepairReport) -> list[str]:
    """The report in plain words, one sentence per line, for notes sheets and maps."""
    notes = [f"Red lines from {report.source}: " + (
        "official data." if report.official else
        "ILLUSTRATIVE, not the official ecological protection red lines (which are not public).")]
    read = f"{report.features_in} of the layer's {report.features_total} features (those that can change the " \
        "results: near the elements and projects)" if (report.features_total or 0) > report.features_in else \
        f"{report.features_in} features"
    notes.append(f"Read {read} in {report.crs}; reprojected to EPSG:4326 (WGS84 lon/lat).")
    if report.repaired:
        notes.append(f"{report.repaired} invalid polygon(s) (e.g. self-intersecting rings) repaired with "
                     "shapely.make_valid; only their polygonal parts were kept.")
    if report.dropped_empty:
        notes.append(f"{report.dropped_empty} feature(s) with an empty or missing geometry (or no area "
                     "left after repair) dropped.")
    if report.type_field:
        notes.append(f"Red-line type taken from field {report.type_field!r}: {'、'.join(report.types)}.")
    else:
        notes.append("No red-line type field found; all patches treated as one type.")
    if report.overlap_pairs:
        notes.append(f"{report.overlap_pairs} pair(s) of overlapping patches found ({report.overlap_m2 / 1e4:.4f} ha "
                     f"would be counted twice); {report.merged_from} patches dissolved into {report.merged_into} "
                     "so that every area is counted once.")
    else:
        notes.append("No overlapping patches of the same type found.")
    if report.cross_type_pairs:
        notes.append(f"{report.cross_type_pairs} overlap(s) between patches of different types "
                     f"({report.cross_type_m2 / 1e4:.4f} ha) given to the type first in sort order, so that "
                     "totals count every area once.")
    notes.append(f"{report.patches_out} red-line patch(es) used; areas ellipsoidal (geodesic) on CGCS2000/GRS80.")
    return notes


def clean_geometries(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Red-line shapes as the repair takes them, and which were invalid: 2D, invalid ones made valid,
    only polygonal parts kept (None where nothing polygonal is left), one-part MultiPolygons as Polygons."""
    geoms = np.asarray(geoms, dtype=object).copy()
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    invalid = ~in_threads(shapely.is_valid, geoms) & ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    geoms[invalid] = shapely.make_valid(geoms[invalid])
    other = ~np.isin(shapely.get_type_id(geoms), (3, 6)) | shapely.is_empty(geoms)  # (multi)polygons kept as they are
    geoms[other] = [polygonal(g) for g in geoms[other]]
    # one-part MultiPolygons (GDAL writes every polygon of a MultiPolygon layer so) as Polygons, once:
    # the overlap engine passes Polygons on without copies (spatial.overlap.polygon_parts)
    single = np.flatnonzero((shapely.get_type_id(geoms) == 6) & (shapely.get_num_geometries(geoms) == 1))
    geoms[single] = shapely.get_geometry(geoms[single], 0)
    return geoms, invalid


#: Counts of a :class:`RepairReport` that add up over parts of a layer prepared one after the other.
_ADDING = ("features_in", "repaired", "dropped_empty", "overlap_pairs", "overlap_m2", "merged_into", "merged_from",
           "cross_type_pairs", "cross_type_m2", "patches_out")


def merged_report(reports: list[RepairReport]) -> RepairReport:
    """One report for parts of a layer prepared apart (:func:`prepare_redlines` with selections that
    keep overlapping patches together): the counts added, the notes said anew."""
    out = replace(reports[0], **{name: sum(getattr(r, name) for r in reports) for name in _ADDING})
    out.notes = _describe(out)
    return out


def prepare_redlines(gdf: gpd.GeoDataFrame, *, source: str, official: bool,
                     type_field: str | None = None, selection: Selection | None = None,
                     owned: np.ndarray | None = None) -> tuple[gpd.GeoDataFrame, RepairReport]:
    """Clean a red-line layer: EPSG:4326, valid polygons, no overlapping patches.

    Parameters
    ----------
    gdf
        Red-line polygons in any CRS (declared).
    source
        Where the layer comes from (a file name), for the report and error messages.
    official
        Whether these are the official red lines; carried into every row and note.
    type_field
        Field holding the red-line type; detected from :data:`TYPE_FIELDS` when None.
    selection
        When ``gdf`` holds the rows of a larger layer that :func:`spatial.nearby.select_redlines`
        chose (its index: their row numbers, from 0): ids, row numbers and types are the whole
        layer's, so that the rows read get the ids and type columns a full read gives them.
    owned
        Rows (of the index) of a part of the layer read with what it overlaps (:mod:`spatial.chunks`):
        only the patches whose first member is one of them are returned, and the report counts
        only what belongs to those, so that the parts' patches and reports add up to the layer's.

    Returns
    -------
    (GeoDataFrame, RepairReport)
        Columns :data:`REDLINE_COLUMNS` + geometry, one row per patch, rows disjoint. Ids come
        from an ``id`` field when it is unique, else ``rl-NNNNN`` by row number.

    Raises
    ------
    InputError
        No CRS, an unknown ``type_field``, or no polygon left.
    """
    if gdf.crs is None:
        raise InputError.one(source, "CRS", "the layer declares no coordinate reference system",
                             "set the CRS of the layer (e.g. EPSG:4547) before preparing it")
    if type_field is not None and type_field not in gdf.columns:
        fields = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name)
        raise InputError.one(source, f"field {type_field}", "no such field", f"use one of: {fields}")
    report = RepairReport(source=source, official=official, crs=_crs_label(gdf.crs), features_in=len(gdf),
                          epsg=gdf.crs.to_epsg())
    data = to_lonlat(gdf)
    type_field = type_field or detect_field(gdf.columns.drop(gdf.geometry.name), TYPE_FIELDS)
    name_field = detect_field(gdf.columns.drop(gdf.geometry.name), NAME_FIELDS)
    ids = redline_ids(data, data if selection is None else selection.attributes)
    types = _types(data, type_field)
    basis = data["basis"].astype(str) if "basis" in data.columns else \
        pd.Series(f"{'official red line' if official else 'red line (not marked official)'} from {source}",
                  index=data.index)
    geoms, invalid = clean_geometries(data.geometry.to_numpy())
    rows = data.index.to_numpy() if owned is not None else np.arange(len(data))  # (any index when not owned)
    owned = None if owned is None else unique(owned)
    mine = _owned(rows, owned)
    report.features_in = int(mine.sum())
    report.repaired = int((invalid & mine).sum())
    frame = pd.DataFrame({
        "id": ids.to_numpy(), "name": data[name_field].to_numpy() if name_field else None,
        "type": types.to_numpy(), "official": official, "source": source, "basis": basis.to_numpy(),
        "geometry": geoms, ROW: rows,
    })
    keep = frame["geometry"].notna().to_numpy()
    report.dropped_empty = int((~keep & mine).sum())
    frame = frame[keep].reset_index(drop=True)
    if frame.empty:
        raise InputError.one(source, "", "no red-line polygon with an area is left", "check the layer's geometries")
    report.type_field = type_field
    report.types = sorted(frame["type"].unique() if selection is None else
                          set(_types(selection.attributes[selection.shaped], type_field)))
    if selection is not None:
        report.features_total = len(selection.attributes)
    a, b = overlapping_pairs(frame["geometry"].to_numpy())
    frame, merged = _dissolve_same_type(frame, report, a, b, owned)
    if len(report.types) > 1:
        if merged:  # find the remaining overlaps anew
            a, b = overlapping_pairs(frame["geometry"].to_numpy())
        frame = _resolve_cross_type(frame, report, a, b, owned)
    frame = frame[_owned(frame[ROW].to_numpy(), owned)]
    frame["area_km2"] = ellipsoidal_area_m2(frame["geometry"].to_numpy()) / 1e6
    out = gpd.GeoDataFrame(frame[REDLINE_COLUMNS], geometry=frame["geometry"].to_numpy(), crs=4326)
    report.patches_out = len(out)
    report.notes = _describe(report)
    return out.reset_index(drop=True), report


def sample_redlines(features_gdf: gpd.GeoDataFrame, boundary, *, adcode: str) -> gpd.GeoDataFrame:
    """The illustrative red-line layer of a district, built from the ecological features of its plan.

    Polygons are taken as they are; lines are buffered to their ``width_m`` (default 200 m, i.e.
    100 m each side) in the district's Gauss-Kruger zone; points are skipped. Everything is
    clipped to the district and dissolved per feature.

    Parameters
    ----------
    features_gdf
        The district's features (columns ``id``, ``name``, ``kind``, ``ecological``, optional ``width_m``).
    boundary
        The district boundary: a GeoDataFrame/GeoSeries or a lon/lat shapely geometry.
    adcode
        The district's code, the prefix of every id.

    Returns
    -------
    GeoDataFrame
        EPSG:4326; columns id, name, kind, official (False), basis, area_km2, geometry; sorted by id.
    """
    columns = ["id", "name", "kind", "official", "basis", "area_km2"]
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        boundary = shapely.union_all(boundary.to_crs(4326).geometry.to_numpy())
    feats = features_gdf.to_crs(4326) if features_gdf.crs is not None else features_gdf
    eco = feats[feats["ecological"].fillna(False).astype(bool)] if "ecological" in feats.columns else feats.iloc[:0]
    eco = eco[eco.geom_type.isin(["Polygon", "MultiPolygon", "LineString", "MultiLineString"])]
    if eco.empty:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=4326)
    gk = eco.to_crs(gk_zone_epsg(boundary.centroid.x))
    width = gk["width_m"].astype(float).fillna(DEFAULT_LINE_WIDTH_M) if "width_m" in gk.columns else \
        pd.Series(DEFAULT_LINE_WIDTH_M, index=gk.index)
    lines = gk.geom_type.isin(["LineString", "MultiLineString"])
    shapes = gk.geometry.copy()
    shapes[lines] = shapely.buffer(gk.geometry[lines].to_numpy(), width[lines].to_numpy() / 2.0)
    shapes = to_lonlat(gpd.GeoSeries(shapes, crs=gk.crs))
    clipped = [polygonal(g) for g in shapely.intersection(shapes.to_numpy(), boundary)]
    parts = pd.DataFrame({"fid": eco["id"].astype(str).to_numpy(), "name": eco["name"].to_numpy(),
                          "kind": eco["kind"].to_numpy(), "geometry": clipped})
    parts = parts[parts["geometry"].notna()]
    rows = []
    for fid, group in parts.groupby("fid", sort=True):
        name = group["name"].iloc[0]
        rows.append({
            "id": f"{adcode}-rl-{fid}", "name": name, "kind": group["kind"].iloc[0], "official": False,
            "basis": f"illustrative: built from {name} named in the plan; not the official red line",
            "geometry": shapely.union_all(group["geometry"].to_numpy()),
        })
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=4326)
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    out["area_km2"] = ellipsoidal_area_m2(out.geometry.to_numpy()) / 1e6
    return out[columns + ["geometry"]].sort_values("id", kind="mergesort").reset_index(drop=True)


def load_redlines(path: str | Path, *, layer: str | None = None, crs: str | None = None,
                  hint_lon: float | None = None, official: bool = True,
                  type_field: str | None = None, option: str = "",
                  selection: Selection | None = None, owned: np.ndarray | None = None
                  ) -> tuple[gpd.GeoDataFrame, RepairReport]:
    """Read an official red-line file (Shapefile, zipped Shapefile, GeoPackage, GeoJSON) and prepare it.

    A layer that carries an ``official`` column (as the layers this tool writes do) is taken as
    official only when every row says so. ``option`` is the command's option for the file (see
    :func:`spatial.io.vector.read_vector`). ``selection`` (:func:`spatial.nearby.select_redlines`)
    reads only the features a run needs, with the whole layer's ids, types and official flag;
    ``owned`` keeps the patches of some of them (see :func:`prepare_redlines`).

    Raises
    ------
    InputError
        Anything :func:`spatial.io.vector.read_vector` or :func:`prepare_redlines` rejects.
    """
    path = Path(path)
    gdf = read_vector(path, layer=layer, geometry="polygon", crs=crs, hint_lon=hint_lon, option=option,
                      fids=None if selection is None else selection.fids,
                      encoding=None if selection is None else selection.encoding)
    whole = gdf
    if selection is not None:
        gdf.index = selection.rows
        whole = selection.attributes
    if "official" in whole.columns:
        official = official and bool(whole["official"].map(lambda v: str(v).lower() in ("true", "1", "yes")).all())
    return prepare_redlines(gdf, source=path.name, official=official, type_field=type_field, selection=selection,
                            owned=owned)


#: EPSG codes of the CGCS2000 3-degree Gauss-Kruger zones: with zone prefix (zones 25-45), by central meridian.
GK3_PREFIXED, GK3_CM = range(4513, 4534), range(4534, 4555)


def extent(gdf: gpd.GeoDataFrame) -> str:
    """A lon/lat layer's extent in words, for messages."""
    x0, y0, x1, y1 = gdf.total_bounds
    return f"lon {x0:.3f}..{x1:.3f}, lat {y0:.3f}..{y1:.3f}"


def _zone_candidates(lon: float) -> list[int]:
    """EPSG codes of the CGCS2000 3-degree zone of a longitude and its two neighbours, by central
    meridian and with zone prefix (a wrong zone is most often the neighbouring one)."""
    cm = gk_zone_epsg(lon)
    codes = [c for c in (cm, cm - 1, cm + 1) if c in GK3_CM]
    return codes + [GK3_PREFIXED[c - GK3_CM.start] for c in codes]


def check_reach(redlines: gpd.GeoDataFrame, report: RepairReport, boundaries: dict[str, gpd.GeoDataFrame], *,
                file: str | Path) -> None:
    """Raise when red lines declared in one Gauss-Kruger zone miss every district but another zone
    would put them on one: the file declares the wrong zone.

    Red lines that miss some districts, or all of them in no zone, are no error: those districts
    get zero overlap (the build warns).
    """
    shapes = {code: b.geometry.iloc[0] for code, b in boundaries.items()}
    if report.epsg is None or any(redlines.intersects(shape).any() for shape in shapes.values()):
        return
    if report.epsg not in GK3_PREFIXED and report.epsg not in GK3_CM:
        return
    x0, y0, x1, y1 = redlines.to_crs(report.epsg).total_bounds
    for code, shape in shapes.items():
        for epsg in _zone_candidates(shape.centroid.x):
            if epsg == report.epsg:
                continue
            box = Transformer.from_crs(epsg, 4326, always_xy=True).transform_bounds(x0, y0, x1, y1)
            if np.all(np.isfinite(box)) and shapely.box(*box).intersects(shape):
                raise InputError.one(
                    file, "CRS", f"declares EPSG:{report.epsg}, which puts the red lines at {extent(redlines)}, "
                    f"missing every district built; read as EPSG:{epsg} they lie on {code}: the file names the "
                    "wrong Gauss-Kruger zone",
                    f"set the layer's CRS to EPSG:{epsg} (QGIS: Layer > Set CRS, then export; or fix the .prj), "
                    f"or for a file without .prj pass --redlines-crs EPSG:{epsg}")
