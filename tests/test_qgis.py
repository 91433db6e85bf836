"""GeoPackages opened by QGIS itself (Debian python3-qgis, system Python, in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from spatial._style import ROLE_STYLE
from spatial.cli import main

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).parent / "qgis" / "open_gpkg.py"


def _has_qgis() -> bool:
    return subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def qgis_python() -> str:
    if not Path(SYSTEM_PYTHON).exists() or not _has_qgis():
        if os.environ.get("CI"):
            pytest.fail("python3-qgis is not installed (scripts/system-deps.sh installs it)")
        pytest.skip("python3-qgis not installed")
    return SYSTEM_PYTHON


def open_in_qgis(python: str, gpkg: Path) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    res = subprocess.run([python, str(SCRIPT), str(gpkg)], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_qgis_opens_the_district_geopackage_with_styles(synth: Path, qgis_python: str):
    res = CliRunner().invoke(main, ["build", "--data", str(synth / "data"), "--seeds", str(synth / "seeds"),
                                    "--layers", str(synth / "layers"), "--maps", str(synth / "maps")])
    assert res.exit_code == 0, res.output
    out = synth / "layers" / "999901"
    report = open_in_qgis(qgis_python, out / "999901.gpkg")["layers"]
    assert set(report) >= {"boundary", "townships", "elements", "axes", "places", "features_lines"}
    for name, info in report.items():
        assert info["valid"], name
        assert info["crs"] == "EPSG:4490", name
    elements = gpd.read_file(out / "elements.geojson")
    assert report["elements"]["count"] == len(elements) == 6
    assert report["elements"]["ids"] == sorted(elements["id"])
    assert report["elements"]["renderer"] == "categorizedSymbol"
    assert report["elements"]["attr"] == "role"
    assert report["elements"]["categories"]["core"] == ROLE_STYLE["core"]["fill"]
    assert report["townships"]["count"] == 4
    # QGIS's own ellipsoidal measure (GRS80) agrees with area_km2 to 0.01 %.
    for fid, km2 in zip(elements["id"], elements["area_km2"]):
        assert report["elements"]["area_m2"][fid] / 1e6 == pytest.approx(km2, rel=1e-4), fid


def test_qgis_overlap_analysis_agrees_with_ours(synth: Path, qgis_python: str):
    """QGIS's Overlap analysis (ellipsoid GRS80) is the independent route for red-line areas."""
    res = CliRunner().invoke(main, ["build", "--data", str(synth / "data"), "--seeds", str(synth / "seeds"),
                                    "--layers", str(synth / "layers"), "--maps", str(synth / "maps")])
    assert res.exit_code == 0, res.output
    out = synth / "layers" / "999901"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([qgis_python, str(SCRIPT.with_name("overlap_analysis.py")), str(out / "999901.gpkg")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    qgis = json.loads(run.stdout.strip().splitlines()[-1])
    ours = pd.read_csv(out / "elements.csv", encoding="utf-8-sig").set_index("id")["redline_m2"]
    assert sorted(qgis) == sorted(ours.index)
    touched = ours[ours > 0]
    assert len(touched) >= 3
    for fid, m2 in touched.items():
        assert qgis[fid] == pytest.approx(m2, rel=1e-5), fid
