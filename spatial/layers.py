"""The layers of one district: what the pipeline computes and every output is made from."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from .plans import PlanMeta

#: Columns every element layer (elements, axes, nodes) carries, in this order.
ELEMENT_COLUMNS = [
    "id", "adcode", "structure_id", "structure", "structure_name", "kind", "role", "term", "name",
    "members", "function", "categories", "defined_in_text", "interpretation", "interpretation_zh", "seed",
    "offset", "section", "draw", "basis", "basis_zh", "precision_m", "approximate", "area_km2",
]
#: Separator of list-valued text properties (members, categories); ids are joined with ",".
LIST_SEP = "、"


@dataclass
class StructureInfo:
    """A structure's headline facts, for titles, legends and layer groups."""

    id: str
    slogan: str
    name: str
    kind: str
    defined_in_text: bool
    interpretation: str | None
    offset: int
    interpretation_zh: str | None = None
    section: str | None = None


@dataclass
class DistrictLayers:
    """Everything built for one district, in EPSG:4326.

    ``elements`` holds every element as a polygon (axes as their corridor band, nodes as a
    buffer); ``axes`` their centrelines; ``nodes`` the points. ``projects``, ``redlines``,
    ``overlaps`` and ``element_stats`` are filled by later stages and may be None; so is
    ``landcover`` (class areas per element, long form; ``spatial build --raster``).
    """

    plan: PlanMeta
    structures: list[StructureInfo]
    boundary: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    places: gpd.GeoDataFrame
    features: gpd.GeoDataFrame
    elements: gpd.GeoDataFrame
    axes: gpd.GeoDataFrame
    nodes: gpd.GeoDataFrame
    projects: gpd.GeoDataFrame | None = None
    redlines: gpd.GeoDataFrame | None = None
    redlines_official: bool = False
    redlines_source: str = ""
    overlaps: gpd.GeoDataFrame | None = None
    element_stats: pd.DataFrame | None = None
    project_stats: pd.DataFrame | None = None
    landcover: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    #: The plan's text when it was at hand: maps quote the cited passages from it (not stored).
    seed_text: str | None = None
