"""The tool as people who only want the tool meet it: a wheel in a fresh virtual environment,
run in an empty folder far from the repository, with no node_modules and no data/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

ADCODES = ["360104", "360121", "360202", "360403", "360704"]


def _run(args: list, cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SPATIAL_SEEDS", "VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``spatial`` from a wheel built here, in a new venv holding the locked dependencies."""
    root = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", root / "dist", REPO], cwd=root)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (root / "dist").glob("spatial_layout-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    pip = venv / "bin" / "pip"
    for args in (["--require-hashes", "-r", REPO / "requirements.lock"], ["--no-deps", wheel]):
        done = _run([pip, "install", "--quiet", *args], cwd=root)
        assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin" / "spatial"


def test_the_wheel_carries_the_embedded_default_and_the_map_assets(installed: Path, tmp_path: Path):
    version = _run([installed, "--version"], cwd=tmp_path)
    assert version.returncode == 0 and re.fullmatch(r"spatial, version \d+\.\d+\.\d+\n", version.stdout)
    done = _run([installed, "build", "--offline", "--quiet"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "layers").glob("*/*.gpkg")) == [f"{c}.gpkg" for c in ADCODES]
    maps = sorted((tmp_path / "maps").glob("*.html"))
    assert [p.stem for p in maps] == [*ADCODES, "index"]
    for page in maps:
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]+src=|<link[^>]+href=\"?https?:", html), f"{page.name} loads from the network"
    assert "L.map(" in (tmp_path / "maps" / "360202.html").read_text(encoding="utf-8")  # Leaflet inlined and used


def test_spatial_init_writes_a_district_that_builds(installed: Path, tmp_path: Path):
    made = _run([installed, "init", "mine", "--adcode", "360102", "--province", "江西省", "--city", "南昌市",
                 "--district", "东湖区"], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.split() == ["mine/plans/360102.yaml", "mine/gazetteer/360102.csv", "mine/projects/360102.csv",
                                   "mine/README.md"]
    assert (tmp_path / "mine" / "plans" / "360102.yaml").read_text(encoding="utf-8").startswith("# 东湖区 (360102)")
    again = _run([installed, "init", "mine", "--adcode", "360102", "--province", "江西省", "--city", "南昌市",
                  "--district", "东湖区"], cwd=tmp_path)
    assert again.returncode == 2 and "never overwrites" in again.stderr
    done = _run([installed, "build", "--data", "mine", "--offline", "--quiet"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "layers" / "360102" / "360102.gpkg").exists() and (tmp_path / "maps" / "360102.html").exists()
    assert sorted(p.name for p in (tmp_path / "maps").glob("*.html")) == ["360102.html", "index.html"]
