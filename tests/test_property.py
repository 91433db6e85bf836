"""Property: for random but plausible project tables and red-line files (encodings, column orders,
coordinate systems, empty cells, hostile names, invalid rings) every ``spatial build`` either
succeeds with outputs that validate, or exits 2 with only ``error:`` lines and leaves the
previous outputs byte-identical. Never a traceback."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from conftest import build_synth, snapshot
from spatial.cli import main
from spatial.io.cells import risky

#: The synthetic district's box (114.8-115.2°E, 25.85-26.12°N) and a margin around it.
LON, LAT = (114.7, 115.3), (25.8, 26.2)
CATEGORIES = ["工业", "文旅", "交通运输", "生态", "商贸", "未知类", ""]
HOSTILE = ["=1+1", '=HYPERLINK("http://x","y")', "+cmd", "-2+3", "@SUM(A1)", "名称,带逗号", '引"号', "换\n行",
           "<script>alert(1)</script>", "-5", ""]


def outputs(folder: Path) -> dict[str, str]:
    return {f"{d}/{k}": v for d in ("layers", "maps") for k, v in snapshot(folder / d).items()}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return build_synth(tmp_path_factory.mktemp("prop"))


coord = st.one_of(st.floats(*LON).map(lambda v: f"{v:.5f}"), st.sampled_from(["", "abc", "nan", "1e400", "-115"]))
lat = st.one_of(st.floats(*LAT).map(lambda v: f"{v:.5f}"), st.sampled_from(["", "26,0", "inf"]))
names = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))
row = st.fixed_dictionaries({"id": st.one_of(st.from_regex(r"P[0-9]{1,2}", fullmatch=True), st.sampled_from(["", "=id"])),
                             "name": names, "category": st.sampled_from(CATEGORIES), "lon": coord, "lat": lat,
                             "crs": st.sampled_from(["wgs84", "gcj02", "bd09", "", "火星", "utm"])})
projects = st.fixed_dictionaries({
    "rows": st.lists(row, max_size=6),
    "order": st.permutations(["id", "name", "category", "lon", "lat", "crs"]),
    "drop_crs": st.booleans(),
    "encoding": st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
    "sep": st.sampled_from([",", ";", "\t"]),
    "format": st.sampled_from(["csv", "xlsx"]),
    "option_crs": st.sampled_from([None, "wgs84", "gcj02", "mars"]),
})
ring = st.one_of(
    st.tuples(st.floats(*LON), st.floats(*LAT), st.floats(0.001, 0.2), st.floats(0.001, 0.2)).map(
        lambda t: box(t[0], t[1], t[0] + t[2], t[1] + t[3])),
    st.tuples(st.floats(*LON), st.floats(*LAT), st.floats(0.01, 0.1)).map(  # bow-tie: self-intersecting
        lambda t: Polygon([(t[0], t[1]), (t[0] + t[2], t[1] + t[2]), (t[0] + t[2], t[1]), (t[0], t[1] + t[2])])),
)
redlines = st.one_of(st.none(), st.fixed_dictionaries({
    "rings": st.lists(ring, min_size=0, max_size=4),
    "crs": st.sampled_from([4326, 4490, 4547, 4548, None]),
    "format": st.sampled_from(["geojson", "gpkg", "shp"]),
    "names": st.lists(names, min_size=4, max_size=4),
    "option_crs": st.sampled_from([None, "EPSG:4547"]),
}))


def _write_projects(folder: Path, spec: dict) -> tuple[Path, list[str]]:
    columns = [c for c in spec["order"] if not (c == "crs" and spec["drop_crs"])]
    frame = pd.DataFrame([{c: r[c] for c in columns} for r in spec["rows"]], columns=columns)
    if spec["format"] == "xlsx":
        path = folder / "projects.xlsx"
        wb = openpyxl.Workbook()
        wb.active.append(columns)
        for values in frame.itertuples(index=False):  # a workbook cannot hold control characters
            wb.active.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
        wb.save(path)
    else:
        path = folder / "projects.csv"
        text = frame.to_csv(index=False, sep=spec["sep"], lineterminator="\n")
        try:
            path.write_bytes(text.encode(spec["encoding"]))
        except UnicodeEncodeError:  # text the encoding cannot hold: as a user's editor would, write UTF-8
            path.write_bytes(text.encode("utf-8"))
    return path, ["--projects-crs", spec["option_crs"]] if spec["option_crs"] else []


def _write_redlines(folder: Path, spec: dict) -> tuple[Path, list[str]]:
    gdf = gpd.GeoDataFrame({"名称": spec["names"][:len(spec["rings"])]}, geometry=spec["rings"], crs=4326)
    crs = spec["crs"]
    if crs not in (None, 4326):
        gdf = gdf.to_crs(crs)
    if crs is None:
        gdf = gdf.to_crs(4547).set_crs(None, allow_override=True)
    path = folder / f"redlines.{spec['format']}"
    gdf.to_file(path, engine="pyogrio")
    return path, ["--redlines-crs", spec["option_crs"]] if spec["option_crs"] else []


def _validate(folder: Path) -> None:
    """Outputs of a successful build: every layer readable, ids unique, tables neutralised."""
    out = folder / "layers" / "999901"
    for path in out.glob("*.geojson"):
        gdf = gpd.read_file(path)
        assert gdf["id"].is_unique if "id" in gdf.columns else True, path
    assert len(gpd.list_layers(out / "999901.gpkg")) >= 5
    for path in out.glob("*.csv"):
        table = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        for col in table.columns:
            assert not any(risky(v) for v in table[col]), (path, col)
    openpyxl.load_workbook(out / "999901.xlsx")
    assert (folder / "maps" / "999901.html").stat().st_size > 10_000


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(proj=st.one_of(st.none(), projects), red=redlines)
def test_random_inputs_succeed_or_fail_cleanly(base: Path, proj, red):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "w"
        shutil.copytree(base, folder)
        inputs = Path(tmp) / "in"
        inputs.mkdir()
        args = ["build", "--data", str(folder / "data"), "--seeds", str(folder / "seeds"),
                "--layers", str(folder / "layers"), "--maps", str(folder / "maps"), "--quiet"]
        if proj is not None:
            path, extra = _write_projects(inputs, proj)
            args += ["--projects", str(path), *extra]
        if red is not None:
            path, extra = _write_redlines(inputs, red) if red["rings"] else (inputs / "none.geojson", [])
            if not red["rings"]:
                path.write_text('{"type": "FeatureCollection", "features": []}')
            args += ["--redlines", str(path), *extra]
        before = outputs(folder)
        res = CliRunner().invoke(main, args)
        assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
        event(f"exit {res.exit_code}")  # (pytest --hypothesis-show-statistics: how many of each)
        if res.exit_code == 0:
            _validate(folder)
        else:
            assert res.exit_code == 2, res.output
            lines = [line for line in res.stderr.splitlines() if line.strip()]
            # one line per problem: the rows skipped while reading, then what stopped the build
            assert all(line.startswith(("error: ", "skipped: ", "warning: ")) for line in lines), res.stderr
            errors = [line for line in lines if line.startswith("error: ")]
            assert errors, res.stderr
            assert outputs(folder) == before
            event("refused: " + errors[0].split(": ", 2)[-1][:40])
