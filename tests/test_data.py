"""The embedded default: the five plans' specs against their seeds, the gazetteer against the
district boundaries, and the committed layers against a fresh build."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyproj import Geod

from spatial import slogan
from spatial.pipeline import DataDir, build_district, load_district

REPO = Path(__file__).resolve().parents[1]
ADCODES = ["360104", "360121", "360202", "360403", "360704"]
GEOD = Geod(ellps="GRS80")


@pytest.fixture(scope="module")
def data(seeds: Path) -> DataDir:
    return DataDir(REPO / "data", seeds)


@pytest.fixture(scope="module")
def loaded(data: DataDir) -> dict:
    # load_district checks every citation against the seed, slogan counts, members,
    # and that every gazetteer place lies inside its district; it raises on any problem.
    return {code: load_district(data, code) for code in ADCODES}


def test_all_five_districts_have_specs(data: DataDir):
    assert data.adcodes() == ADCODES


def test_every_citation_lands_on_its_text(loaded: dict, seeds: Path):
    for code, inp in loaded.items():
        text = (seeds / inp.spec.plan.seed).read_text(encoding="utf-8")
        for s in inp.spec.structures:
            q = s.cite.quote or s.slogan
            assert text[s.cite.offset:s.cite.offset + len(q)] == q, (code, s.id)
            for e in s.elements:
                q = e.cite.quote or e.name
                assert text[e.cite.offset:e.cite.offset + len(q)] == q, (code, s.id, e.id)


def test_gazetteer_places_lie_in_their_district(loaded: dict):
    for code, inp in loaded.items():
        district = inp.boundary.geometry.iloc[0]
        inside = inp.places[inp.places["outside"] == ""]
        assert inside.geometry.within(district).all(), (code, list(inside[~inside.geometry.within(district)]["name"]))
        assert (inp.places["level"] == "township").sum() >= 3, code


def test_ganxian_boundary_area(loaded: dict):
    geom = loaded["360704"].boundary.geometry.iloc[0]
    assert abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6 == pytest.approx(2988, abs=5)


def _structure(inp, sid):
    return next(s for s in inp.spec.structures if s.id == sid)


def _roles(structure) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in structure.elements:
        out[e.role] = out.get(e.role, 0) + 1
    return out


def test_headline_structures(loaded: dict):
    cj = _structure(loaded["360202"], "layout")
    assert cj.slogan == "一核引领、三轴驱动、三区协同"
    assert _roles(cj) == {"core": 1, "axis": 3, "zone": 3}
    core = next(e for e in cj.elements if e.role == "core")
    assert sorted(core.members) == sorted(["吕蒙乡", "新枫街道", "西郊街道"])
    gx = _structure(loaded["360704"], "layout")
    assert gx.slogan == "一极一核两带三区"
    assert _roles(gx) == {"pole": 1, "core": 1, "belt": 2, "zone": 3}
    qy = _structure(loaded["360104"], "layout")
    assert qy.slogan == "一核一带三区"
    assert _roles(qy) == {"core": 1, "belt": 1, "zone": 3}
    assert {e.name for e in qy.elements if e.role == "zone"} == {"新经济产业集聚区", "现代商务商贸带动区",
                                                               "总部经济创新发展引领区"}


def test_slogan_counts_hold_for_every_defined_structure(loaded: dict):
    for code, inp in loaded.items():
        for s in inp.spec.structures:
            if s.defined_in_text:
                for term, n in slogan.counts(s.slogan).items():
                    assert sum(e.slogan_term == term for e in s.elements) == n, (code, s.id, term)


def test_committed_layers_match_a_fresh_build(loaded: dict, tmp_path: Path):
    from spatial.io.files import write_geojson
    from spatial.io.layers import layer_frames

    for code, inp in loaded.items():
        layers = build_district(inp)
        committed = REPO / "layers" / code / "elements.geojson"
        assert committed.exists(), f"{committed} missing: run the README's build command"
        fresh = write_geojson(tmp_path / f"{code}.geojson", layer_frames(layers)["elements"], name=f"{code}-elements")
        assert committed.read_bytes() == fresh.read_bytes(), f"{committed} is stale: rebuild with `make build`"
