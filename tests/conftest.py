"""Shared fixtures: the repo, the seed texts, and a small synthetic district."""

from __future__ import annotations

import hashlib
import os
import textwrap
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import settings
from shapely.geometry import Polygon

from spatial.io.geofiles import write_geojson

REPO = Path(__file__).resolve().parents[1]
# CI replays the same examples every run (a failure there is reproducible, never luck);
# locally hypothesis explores new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
SEEDS = Path(os.environ.get("SPATIAL_SEEDS", REPO.parent / "shared" / "seeds"))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def seeds() -> Path:
    """The five plan texts; required in CI, where ../shared sits beside the clone."""
    if not SEEDS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"seed texts missing at {SEEDS}")
        pytest.skip(f"seed texts not found at {SEEDS}")
    return SEEDS


SYNTH_SEED = "一核两带三区：一核为青石镇与白沙乡，一带沿清河，一带沿新路，三区为东区、西区、南区。"
SYNTH_SPEC = """\
plan: {adcode: "999901", district: 测试区, city: 测试市, province: 江西省, title: 测试规划, period: 2021-2025,
       seed: synth.txt}
structures:
  - id: layout
    slogan: 一核两带三区
    name: 总体布局
    kind: overall
    cite: {offset: 0}
    elements:
      - {id: core, role: core, name: 一核, function: 城区核心, categories: [商贸], members: [青石镇, 白沙乡],
         draw: {method: townships}, cite: {offset: 7, quote: 一核}}
      - {id: river, role: belt, name: 清河带, function: 滨河生态带, categories: [生态], members: [],
         draw: {method: corridor, feature: qinghe, width_m: 1000}, cite: {offset: 21, quote: 清河}}
      - {id: road, role: belt, name: 新路带, function: 产业带, categories: [工业], members: [青石镇, 东岭村],
         draw: {method: corridor, waypoints: [青石镇, 东岭村], width_m: 2000}, cite: {offset: 27, quote: 新路}}
      - {id: east, role: zone, name: 东区, function: 东部片区, categories: [工业], members: [东岭镇],
         draw: {method: townships}, cite: {offset: 33}}
      - {id: west, role: zone, name: 西区, function: 西部片区, categories: [农业], members: [西山乡],
         draw: {method: townships}, cite: {offset: 36}}
      - {id: south, role: zone, name: 南区, function: 南部片区, categories: [文旅], members: [南湖村, 东岭村],
         draw: {method: landmarks, buffer_m: 3000}, cite: {offset: 39}}
"""
SYNTH_GAZETTEER = """\
name,aliases,level,kind,lon,lat,crs,precision_m,basis,outside
青石镇,青石,township,town,115.00,26.00,wgs84,500,synthetic,
白沙乡,,township,town,115.06,26.02,wgs84,500,synthetic,
东岭镇,,township,town,115.15,26.00,wgs84,500,synthetic,
西山乡,,township,town,114.88,26.00,wgs84,500,synthetic,
南湖村,,place,village,115.02,25.90,wgs84,300,synthetic,
东岭村,,place,village,115.12,25.93,wgs84,300,synthetic,
"""


@pytest.fixture()
def synth(tmp_path: Path) -> Path:
    """A synthetic district 999901 (about 40 x 30 km near 115°E 26°N) with data and seed."""
    return make_synth(tmp_path)


def make_synth(tmp_path: Path) -> Path:
    """Write the synthetic district's data/ and seeds/ into ``tmp_path`` (see :func:`synth`)."""
    data = tmp_path / "data"
    for sub in ("plans", "gazetteer", "features", "boundaries"):
        (data / sub).mkdir(parents=True)
    (data / "plans" / "999901.yaml").write_text(SYNTH_SPEC, encoding="utf-8")
    (data / "gazetteer" / "999901.csv").write_text(SYNTH_GAZETTEER, encoding="utf-8")
    boundary = gpd.GeoDataFrame(
        {"id": ["999901-boundary"], "adcode": ["999901"], "name": ["测试区"], "source": ["synthetic test boundary"],
         "area_km2": [0.0]},
        geometry=[Polygon([(114.8, 25.85), (115.2, 25.85), (115.2, 26.12), (114.8, 26.12)])], crs=4326)
    write_geojson(data / "boundaries" / "999901.geojson", boundary)
    (data / "features" / "999901.geojson").write_text(textwrap.dedent("""\
        {"type": "FeatureCollection", "features": [
         {"type": "Feature", "properties": {"id": "qinghe", "name": "清河", "kind": "river", "crs": "wgs84",
          "precision_m": 200, "basis": "synthetic", "ecological": true, "width_m": 100},
          "geometry": {"type": "LineString", "coordinates": [[114.85, 26.05], [115.0, 26.04], [115.18, 26.06]]}},
         {"type": "Feature", "properties": {"id": "lake", "name": "南湖", "kind": "lake", "crs": "wgs84",
          "precision_m": 100, "basis": "synthetic", "ecological": true},
          "geometry": {"type": "Polygon", "coordinates": [[[115.01, 25.89], [115.03, 25.89], [115.03, 25.905],
                                                          [115.01, 25.905], [115.01, 25.89]]]}}]}
        """), encoding="utf-8")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "synth.txt").write_text(SYNTH_SEED, encoding="utf-8")
    return tmp_path




def snapshot(out: Path) -> dict[str, str]:
    """sha256 of every file below ``out`` (hidden lock, journal and staging names left out)."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)}


def build_synth(root: Path) -> Path:
    """The synthetic district written into ``root`` and built into ``root/layers`` and ``root/maps``."""
    from click.testing import CliRunner

    from spatial.cli import main

    make_synth(root)
    result = CliRunner().invoke(main, ["build", "--data", str(root / "data"), "--seeds", str(root / "seeds"),
                                       "--layers", str(root / "layers"), "--maps", str(root / "maps"), "--quiet"])
    assert result.exit_code == 0, result.output
    return root
