"""User text is data: formula-looking cells neutralised in CSV and workbooks, numbers kept as
numbers, and the Tianditu key never written into an output file unless asked to."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
from click.testing import CliRunner

from spatial.cli import main
from spatial.io.cells import neutralised, risky


def _build(root: Path, *extra: str, env: dict | None = None):
    return CliRunner().invoke(main, ["build", "--data", str(root / "data"), "--seeds", str(root / "seeds"),
                                     "--layers", str(root / "layers"), "--maps", str(root / "maps"), "--quiet",
                                     *extra], env=env)


HOSTILE = {
    "P1": '=HYPERLINK("http://evil.example/x","点我")',
    "P2": "+cmd|' /C calc'!A0",
    "P3": "-1+2",
    "P4": "@SUM(1+1)*cmd",
    "P5": "\tTAB开头",  # (input cells are stripped: no tab left to neutralise)
    "P6": "普通名称",
    "-7": "-7",  # text that is a plain number: left alone
}


def test_risky_cells_and_numbers():
    assert [risky(v) for v in ("=1", "+a", "-a", "@a", "\ta", "\ra", "a=1", "-5", "+3.5", "-1e5", "", None, -5)] == \
        [True] * 6 + [False] * 7
    df = pd.DataFrame({"name": ["=1+1", "ok", None], "n": [-5.0, 1.0, float("nan")], "k": [-1, 2, 3]})
    out = neutralised(df)
    assert out["name"].tolist()[:2] == ["'=1+1", "ok"] and out["name"].isna().tolist()[2]
    assert out["n"].dtype == float and out["k"].tolist() == [-1, 2, 3]


def test_formula_names_are_text_in_tables_and_workbook(synth: Path, tmp_path: Path):
    rows = "".join(f'{pid},"{name.replace(chr(34), chr(34) * 2)}",工业,115.00,26.00,wgs84\n' for pid, name in HOSTILE.items())
    csv = tmp_path / "p.csv"
    csv.write_text("id,name,category,lon,lat,crs\n" + rows, encoding="utf-8")
    res = _build(synth, "--projects", str(csv))
    assert res.exit_code == 0, res.output
    out = synth / "layers" / "999901"
    table = pd.read_csv(out / "projects.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False).set_index("id")
    expected = {pid: ("'" + name if risky(name.strip()) else name.strip()) for pid, name in HOSTILE.items()}
    assert sum(v.startswith("'") for v in expected.values()) == 4
    assert {pid: table.loc[pid, "name"] for pid in HOSTILE} == expected
    numbers = pd.read_csv(out / "projects.csv", encoding="utf-8-sig")
    assert pd.api.types.is_float_dtype(numbers["redline_distance_m"])  # numbers stay numbers
    wb = openpyxl.load_workbook(out / "999901.xlsx")
    ws = wb["projects"]
    head = [c.value for c in ws[1]]
    id_col, name_col = head.index("id"), head.index("name")
    cells = {row[id_col].value: row[name_col] for row in ws.iter_rows(min_row=2)}
    for pid, name in HOSTILE.items():
        cell = cells[pid if pid != "-7" else "-7"]
        assert cell.value == name.strip() and cell.data_type == "s"  # the text as typed, stored as text
        assert cell.quotePrefix is risky(name.strip())  # Excel's "text, not formula" style on the risky ones
    dist = ws.cell(row=2, column=head.index("redline_distance_m") + 1)
    assert dist.data_type == "n"


def test_tianditu_token_never_in_any_output(synth: Path):
    token = "tk-secret-0123456789abcdef"
    res = _build(synth, "--basemap", "tianditu", env={"TIANDITU_TOKEN": token})
    assert res.exit_code == 0, res.output
    files = [p for d in ("layers", "maps") for p in (synth / d).rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".geojson", ".gpkg", ".csv", ".xlsx", ".html"} and len(files) >= 15
    assert [p for p in files if token.encode() in p.read_bytes()] == []
    page = (synth / "maps" / "999901.html").read_text(encoding="utf-8")
    assert page.count("tk={tk}") == 3 and "localStorage" in page and "location.hash" in page
    res = _build(synth, "--basemap", "tianditu", "--embed-token", env={"TIANDITU_TOKEN": token})
    assert res.exit_code == 0, res.output
    assert [p.name for p in files if token.encode() in p.read_bytes()] == ["999901.html"]
    assert (synth / "maps" / "999901.html").read_text(encoding="utf-8").count(f"tk={token}") == 3
