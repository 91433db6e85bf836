"""The hostile-input matrix: every command, awkward and bad inputs by kind. Each case either
succeeds (with the warning it should give) or exits 2 with only ``error:`` lines whose ``fix:``
names options the command has, and leaves the previous outputs byte-identical. Never a traceback.

The kinds and their counts are printed by ``pytest tests/test_hostile.py -s -k counts``.
"""

from __future__ import annotations

import ast
import re
import shutil
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import geopandas as gpd
import openpyxl
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, Polygon, box

from conftest import build_synth, snapshot
from spatial.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
#: Inside the synthetic district (114.8-115.2°E, 25.85-26.12°N).
INSIDE = box(114.95, 25.95, 115.05, 26.03)
PROJECTS = "id,name,category,lon,lat,crs\nP1,新材料园,工业,115.00,26.00,wgs84\nP2,滨河公园,文旅,115.02,26.05,wgs84\n"


@dataclass
class Case:
    kind: str
    name: str
    args: Callable[[Path], list[str]]  # writes its input files into the folder, returns the command line
    expect: str  # "error" or "ok"
    says: tuple[str, ...] = ()  # substrings of the output


def _write(path: Path, data: str | bytes, encoding: str = "utf-8") -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def _layer(path: Path, geoms: list, crs: int | None = 4326, **cols) -> Path:
    gdf = gpd.GeoDataFrame({"name": [f"p{i}" for i in range(len(geoms))], **cols}, geometry=geoms, crs=crs)
    gdf.to_file(path)
    return path


def _zip_shapefile(d: Path, name: str, mutate: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Path:
    shp = _layer(d / "rl.shp", [INSIDE])
    members = {f"rl.{e}": shp.with_suffix(f".{e}").read_bytes() for e in ("shp", "shx", "dbf", "prj", "cpg")}
    with zipfile.ZipFile(d / name, "w") as z:
        for n, data in mutate(members).items():
            z.writestr(n, data)
    return d / name


def _crc_broken(d: Path) -> Path:
    path = _zip_shapefile(d, "crc.zip", lambda m: {k: v for k, v in m.items() if k != "rl.cpg"})
    raw = bytearray(path.read_bytes())
    at = raw.find(b"rl.dbf") + len(b"rl.dbf") + 10  # a byte of the stored .dbf data
    raw[at] ^= 0xFF
    return _write(path, bytes(raw))


def _wrong_zone(d: Path) -> Path:
    """Red lines over the district in EPSG:4547 numbers, declared as the neighbouring zone 4548."""
    gk = gpd.GeoSeries([INSIDE], crs=4326).to_crs(4547)
    return _layer(d / "zone.gpkg", list(gk.set_crs(4548, allow_override=True)), crs=4548)


def _two_layers(d: Path) -> Path:
    path = d / "two.gpkg"
    gpd.GeoDataFrame({"n": [1]}, geometry=[INSIDE], crs=4326).to_file(path, layer="a")
    gpd.GeoDataFrame({"n": [1]}, geometry=[box(115.1, 25.9, 115.12, 25.92)], crs=4326).to_file(path, layer="b")
    return path


def _no_prj(d: Path, geoms: list, **cols) -> Path:
    shp = _layer(d / "noprj.shp", gpd.GeoSeries(geoms, crs=4326).to_crs(4547).tolist(), crs=4547, **cols)
    shp.with_suffix(".prj").unlink()
    return shp


def _xlsx(d: Path, rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(d / "p.xlsx")
    return d / "p.xlsx"


def B(*more: str) -> Callable[[Path], list[str]]:
    return lambda d: ["build", *more]


def P(text: str | bytes, *more: str, name: str = "p.csv", encoding: str = "utf-8") -> Callable[[Path], list[str]]:
    return lambda d: ["build", "--projects", str(_write(d / name, text, encoding)), *more]


def R(make: Callable[[Path], Path], *more: str) -> Callable[[Path], list[str]]:
    return lambda d: ["build", "--redlines", str(make(d)), *more]


def T(make: Callable[[Path], Path], *more: str) -> Callable[[Path], list[str]]:
    return lambda d: ["build", "--townships", str(make(d)), *more]


def O(make: Callable[[Path], dict[str, Path]], *more: str) -> Callable[[Path], list[str]]:
    def args(d: Path) -> list[str]:
        files = make(d)
        return ["overlap", "--elements", str(files.get("elements", d / "layers" / "999901" / "elements.geojson")),
                "--redlines", str(files.get("redlines", _layer(d / "r.geojson", [INSIDE]))),
                *(["--projects", str(files["projects"])] if "projects" in files else []),
                "--out", str(d / "maps"), "--quiet", *more]  # (into maps/: refusals must leave it as it was)
    return args


INIT = ["--adcode", "360102", "--province", "江西省", "--city", "南昌市", "--district", "东湖区"]
HOSTILE = "=HYPERLINK(\"http://evil.example/x\",\"点我\")"
CASES = [
    # --- project tables ---------------------------------------------------------------------------
    Case("projects", "header only", P("id,name,category,lon,lat,crs\n"), "error", ("header but no project rows",)),
    Case("projects", "empty file", P(""), "error", ("the file is empty",)),
    Case("projects", "GBK", P(PROJECTS, encoding="gbk"), "ok"),
    Case("projects", "UTF-16", P(PROJECTS, encoding="utf-16"), "ok"),
    Case("projects", "BOM + semicolons", P(PROJECTS.replace(",", ";"), encoding="utf-8-sig"), "ok"),
    Case("projects", "columns reordered", P("lat,crs,category,lon,name,id\n26.00,wgs84,工业,115.00,甲,P1\n"), "ok"),
    Case("projects", "hostile names", P(f"id,name,category,lon,lat,crs\n@P1,\"{HOSTILE.replace(chr(34), chr(34) * 2)}\","
                                        "工业,115.00,26.00,wgs84\n+P2,-1+2,文旅,115.02,26.05,wgs84\n"), "ok"),
    Case("projects", "no crs anywhere", P(PROJECTS.replace(",crs", "").replace(",wgs84", "")), "error",
         ("--projects-crs",)),
    Case("projects", "unknown crs option", P(PROJECTS, "--projects-crs", "mars"), "error", ("unknown coordinate",)),
    Case("projects", "no lon column", P("id,name,category,east,lat,crs\nP1,a,工业,115,26,wgs84\n"), "error",
         ("--projects-lon-field",)),
    Case("projects", "lon field option", P("id,name,category,east,lat,crs\nP1,a,工业,115,26,wgs84\n",
                                           "--projects-lon-field", "east"), "ok"),
    Case("projects", "wrong lon field option", P(PROJECTS, "--projects-lon-field", "x坐标"), "error", ("no column",)),
    Case("projects", "every row outside", P("id,name,category,lon,lat,crs\nP1,a,工业,120.0,30.0,wgs84\n"), "error",
         ("outside the district",)),
    Case("projects", "NaN and text coordinates", P("id,name,category,lon,lat,crs\nP1,a,工业,nan,26,wgs84\n"
                                                   "P2,b,工业,东经115,26,wgs84\n"), "error"),
    Case("projects", "strict with one bad row", P(PROJECTS + "P3,c,工业,,26,wgs84\n", "--strict"), "error"),
    Case("projects", "duplicate ids skipped", P(PROJECTS + "P1,again,工业,115.01,26.01,wgs84\n"), "ok",
         ("already used",)),
    Case("projects", "not a table", P(b"\x00\x01\x02binary\xff\xfe\x00", name="p.doc"), "error", ("not a readable vector file",)),
    Case("projects", "corrupt workbook", P(b"PK\x03\x04 not really", name="p.xlsx"), "error", ("not a readable Excel",)),
    Case("projects", "header-only workbook", lambda d: ["build", "--projects", str(_xlsx(d, [["id", "name", "category",
                                                                                              "lon", "lat", "crs"]]))],
         "error", ("no project rows",)),
    # --- red lines ----------------------------------------------------------------------------------
    Case("redlines", "misses the district", R(lambda d: _layer(d / "far.geojson", [box(116.5, 28.0, 116.6, 28.1)])),
         "ok", ("miss 999901", "lon 116.500..116.600")),
    Case("redlines", "wrong Gauss-Kruger zone", R(_wrong_zone), "error", ("wrong Gauss-Kruger zone", "EPSG:4547")),
    Case("redlines", "no .prj", R(lambda d: _no_prj(d, [INSIDE])), "error", ("--redlines-crs", "EPSG:4547")),
    Case("redlines", "no .prj with --redlines-crs", R(lambda d: _no_prj(d, [INSIDE]), "--redlines-crs", "EPSG:4547"),
         "ok"),
    Case("redlines", "corrupt .shp in zip", R(lambda d: _zip_shapefile(
        d, "c.zip", lambda m: {**m, "rl.shp": m["rl.shp"][:50]})), "error", ("not a readable vector file",)),
    Case("redlines", "CRC error in zip", R(_crc_broken), "error", ("Bad CRC-32",)),
    Case("redlines", "two Shapefiles in zip", R(lambda d: _zip_shapefile(
        d, "2.zip", lambda m: {**m, "b.shp": m["rl.shp"], "b.shx": m["rl.shx"], "b.dbf": m["rl.dbf"]})), "error",
         ("holds 2 Shapefiles",)),
    Case("redlines", "not a zip", R(lambda d: _write(d / "x.zip", b"PK\x03\x04garbage" * 4)), "error",
         ("not a readable vector file",)),
    Case("redlines", "no features", R(lambda d: _write(d / "e.geojson", '{"type":"FeatureCollection","features":[]}')),
         "error", ("no features",)),
    Case("redlines", "points", R(lambda d: _layer(d / "pt.geojson", [Point(115, 26)])), "error", ("Point",)),
    Case("redlines", "bow-tie ring", R(lambda d: _layer(d / "bow.geojson", [Polygon(
        [(114.9, 25.9), (115.0, 26.0), (115.0, 25.9), (114.9, 26.0)])])), "ok"),
    Case("redlines", "two layers, none chosen", R(_two_layers), "error", ("--redlines-layer",)),
    Case("redlines", "unknown layer", R(_two_layers, "--redlines-layer", "zz"), "error", ("no layer 'zz'",)),
    # --- townships ----------------------------------------------------------------------------------
    Case("townships", "names match nothing", T(lambda d: _layer(d / "t.geojson", [INSIDE], name=["甲镇"])), "error",
         ("found 甲镇", "expected", "青石镇")),
    Case("townships", "no .prj", T(lambda d: _no_prj(d, [INSIDE], name=["青石镇"])), "error",
         ("--townships-crs",)),
    Case("townships", "names in another field", T(lambda d: _layer(d / "t2.geojson", [INSIDE], name=["1"], XZQMC=["青石镇"])),
         "error", ("found 1", "--township-field")),
    Case("townships", "unknown name field", T(lambda d: _layer(d / "t3.geojson", [INSIDE]), "--township-field", "乡镇"),
         "error", ("--township-field",)),
    # --- options --------------------------------------------------------------------------------------
    Case("options", "--buffer-m nan", B("--buffer-m", "nan"), "error", ("not a distance",)),
    Case("options", "--buffer-m inf", B("--buffer-m", "inf"), "error", ("not a distance",)),
    Case("options", "--buffer-m -1", B("--buffer-m", "-1"), "error", ("not a distance",)),
    Case("options", "unknown basemap", B("--basemap", "google"), "error", ("--basemap",)),
    Case("options", "tile URL without custom", B("--tile-url", "http://t/{z}/{x}/{y}.png"), "error", ("--tile-url",)),
    Case("options", "unknown CDN", B("--cdn", "nowhere"), "error", ("unknown CDN",)),
    Case("options", "--embed-token without a token", B("--basemap", "tianditu", "--embed-token"), "error",
         ("TIANDITU_TOKEN",)),
    Case("options", "unknown adcode", B("360999"), "error", ("no plan spec for adcode",)),
    Case("options", "wrong --data folder", lambda d: ["build", "--data", str(d / "nowhere")], "error",
         ("no plan spec", "--data")),
    # --- spatial overlap ------------------------------------------------------------------------------
    Case("overlap", "CSV as --projects", O(lambda d: {"projects": _write(d / "p.csv", PROJECTS)}), "error",
         ("a table, not a layer",)),
    Case("overlap", "--buffer-m nan", O(lambda d: {}, "--buffer-m", "nan"), "error", ("not a distance",)),
    Case("overlap", "missing id field", O(lambda d: {"elements": _layer(d / "el.geojson", [INSIDE])}), "error",
         ("--id-field",)),
    Case("overlap", "elements without CRS", O(lambda d: {"elements": _no_prj(d, [INSIDE])}), "error",
         ("--elements-crs",)),
    Case("overlap", "red lines miss the elements", O(lambda d: {"redlines": _layer(
        d / "far.geojson", [box(116.5, 28.0, 116.6, 28.1)])}), "ok"),
    Case("overlap", "workers and scheduler", O(lambda d: {}, "--workers", "1", "--scheduler", "tcp://x:1"), "error",
         ("--scheduler",)),
    Case("overlap", "--out not writable", lambda d: [a if a != str(d / "maps") else "/proc/spatial-out"
                                                     for a in O(lambda d: {})(d)], "error", ("/proc/spatial-out",)),
    # --- spatial init -----------------------------------------------------------------------------------
    Case("init", "a starter file exists", lambda d: ["init", str(_write(d / "README.md", "mine").parent), *INIT], "error",
         ("never overwrites",)),
    Case("init", "folder not creatable", lambda d: ["init", "/proc/spatial-init", *INIT], "error",
         ("/proc/spatial-init",)),
    Case("init", "unknown adcode format", lambda d: ["init", str(d / "new"), "--adcode", "36-01", *INIT[2:]], "error"),
    # --- spatial extract ------------------------------------------------------------------------------
    Case("extract", "missing file", lambda d: ["extract", str(d / "none.txt")], "error"),
    Case("extract", "binary file", lambda d: ["extract", str(_write(d / "b.txt", b"\xff\xfe\x00\x81" * 50))], "ok",
         ("0 slogans", "unresolved")),
    Case("extract", "empty file", lambda d: ["extract", str(_write(d / "e.txt", b""))], "error"),
]


def options_of(command: str) -> set[str]:
    """The options a command's --help lists."""
    result = CliRunner().invoke(main, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", result.output))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The synthetic district built once: the 'previous outputs' every case starts from."""
    return build_synth(tmp_path_factory.mktemp("base"))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}: {c.name}" for c in CASES])
def test_hostile_input(case: Case, built: Path, tmp_path: Path, monkeypatch):
    d = tmp_path / "w"
    shutil.copytree(built, d)
    monkeypatch.chdir(d)  # the defaults data/, layers/, maps/ are this copy's
    monkeypatch.delenv("TIANDITU_TOKEN", raising=False)
    before = snapshot(d / "layers") | {f"maps/{k}": v for k, v in snapshot(d / "maps").items()}
    args = case.args(d)
    if args[0] == "build":
        args += ["--seeds", str(d / "seeds"), "--quiet"] if "--quiet" not in args else []
    result = CliRunner().invoke(main, args, terminal_width=400)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        "".join(__import__("traceback").format_exception(result.exception))
    out = result.output
    for text in case.says:
        assert text in out, out
    if case.expect == "ok":
        assert result.exit_code == 0, out
        return
    assert result.exit_code == 2, out
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("error: ") and "; fix: " in line for line in lines), result.stderr
    have = options_of(args[0])
    for line in lines:
        named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", line.split("; fix: ", 1)[1]))
        assert named <= have, f"fix names {named - have}, which spatial {args[0]} does not have"
    after = snapshot(d / "layers") | {f"maps/{k}": v for k, v in snapshot(d / "maps").items()}
    assert after == before


def test_counts_by_kind():
    counts = Counter(c.kind for c in CASES)
    outcomes = Counter((c.kind, c.expect) for c in CASES)
    print("\nhostile matrix:", dict(counts), "total", len(CASES))
    print("outcomes:", {f"{k} {e}": n for (k, e), n in sorted(outcomes.items())})
    assert len(CASES) == sum(counts.values()) >= 50 and len({(c.kind, c.name) for c in CASES}) == len(CASES)


# --- static: every fix text in the source names options its command has ------------------------

#: Which command reaches the error messages of a module (modules not listed may name no option).
REACHED_BY = {
    "commands/build.py": ["build"], "pipeline.py": ["build"], "projects.py": ["build"], "townships.py": ["build"],
    "render.py": ["build"], "assets.py": ["build"], "redlines.py": ["build"], "commands/options.py": ["build", "overlap"],
    "commands/overlap.py": ["overlap"], "scale.py": ["overlap"], "commands/extract.py": ["extract"],
    "extract.py": ["extract"], "io/vector.py": ["overlap", "zonal", "rasterize"], "io/layers.py": ["build", "figure"],
    "raster/zonal.py": ["build", "zonal"], "transaction.py": ["build"],
    "starter.py": ["init"], "commands/init.py": ["init"], "commands/rasterize.py": ["rasterize"],
    "commands/zonal.py": ["zonal"], "figure.py": ["figure"], "commands/figure.py": ["figure"],
    "commands/slope.py": ["slope"],
}


def _error_strings(tree: ast.AST) -> list[str]:
    """Text of every string (f-string parts too) in the arguments of InputError.one / .add / Problem calls."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "one", "add", "Problem"):
            for arg in node.args[1:]:
                out += [n.value for n in ast.walk(arg) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return out


def test_every_fix_in_the_source_names_real_options():
    options = {c: options_of(c) for c in COMMANDS}
    checked = 0
    for path in sorted((ROOT / "spatial").rglob("*.py")):
        rel = path.relative_to(ROOT / "spatial").as_posix()
        named = {f for s in _error_strings(ast.parse(path.read_text(encoding="utf-8")))
                 for f in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", s)}
        # names built from an option prefix (read_vector's option="--redlines" etc.) are checked by the matrix
        named -= {"--layer", "--crs"} if rel == "io/vector.py" else set()
        if not named:
            continue
        commands = REACHED_BY.get(rel)
        assert commands, f"{rel} names {sorted(named)} but no command is known to reach it"
        for command in commands:
            missing = named - options[command]
            assert not missing, f"{rel}: spatial {command} has no {sorted(missing)}"
        checked += len(named)
    assert checked >= 15
