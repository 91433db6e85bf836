"""Chinese for planners: citations by chapter and section, Chinese fields in specs and gazetteers,
and no English sentence in the maps' popups, tooltips and panels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from spatial import basis
from spatial.citations import PlanText, headings, locate, quote
from spatial.cli import main
from spatial.errors import InputError
from spatial.gazetteer import places_from_table
from spatial.io.tables import read_table
from spatial.pipeline import DataDir, load_district

REPO = Path(__file__).resolve().parents[1]
ADCODES = ["360104", "360121", "360202", "360403", "360704"]
#: Three or more ASCII words in a row: an English phrase (codes such as G206, S226/S452, WGS84 or
#: units such as km² are single words).
ENGLISH = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,;:.()/&-]+[A-Za-z][A-Za-z'’-]*){2,}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _specs() -> dict[str, dict]:
    return {c: yaml.safe_load((REPO / "data" / "plans" / f"{c}.yaml").read_text(encoding="utf-8")) for c in ADCODES}


def _cites(spec: dict):
    """(where, cite, is_element) of every structure and element."""
    for s in spec["structures"]:
        yield f"structure {s['id']}", s["cite"], False
        for e in s["elements"]:
            yield f"structure {s['id']}, element {e['id']}", e["cite"], True


# --- the heading parser on the five plans ---------------------------------------------------------

@pytest.mark.parametrize("seed", ["000_92046d1ee9d50d5a.txt", "001_8ad56f86adaae66f.txt", "003_d98279a541ec3a3b.txt"])
def test_headings_equal_the_heading_lines(seeds, seed):
    """Plans with headings on their own lines: the parser finds exactly the lines that start with
    第…篇/章/节 (an independent line-by-line reading), plus the chapters it infers."""
    text = (seeds / seed).read_text(encoding="utf-8")
    expected, offset = [], 0
    for line in text.split("\n"):
        m = re.match(r"\s*(第[一二三四五六七八九十]+[篇章节])", line)
        if m:
            expected.append((offset + m.start(1), m.group(1)))
        offset += len(line) + 1
    found = headings(text)
    assert [(h.offset, h.number) for h in found if h.title] == expected
    inferred = [(h.number, h.offset) for h in found if not h.title]
    if seed.startswith("001"):  # 浔阳区: 第七章 and 第九章 are missing from the text
        assert inferred == [("第七章", text.index("第一节 强化战略基点")), ("第九章", text.index("第二节\u2002\u2002厚植开放新优势"))]
        assert PlanText(text).section(text.index("第一节 强化战略基点") + 40) == "第三篇 第七章 第一节 强化战略基点,扩大国内投资与消费"
    else:
        assert inferred == []


def test_headings_of_a_plan_run_into_one_line_follow_its_table_of_contents(seeds):
    """赣县区's text is one line with a table of contents: every entry of the contents (dot
    leaders and page numbers) is found, in order, among the body's headings, and no heading is
    taken from the contents itself."""
    text = (seeds / "002_f001dce688a3cc86.txt").read_text(encoding="utf-8")
    toc = re.findall(r"(第[一二三四五六七八九十]+[篇章节])\s*(\S+?)\.{3,}", text)
    assert len(toc) > 150
    body = [(h.number, h.title) for h in headings(text)]
    it = iter(body)
    assert all(entry in it for entry in toc)  # a subsequence
    toc_end = text.rindex("......")
    assert min(h.offset for h in headings(text)) > toc_end
    assert PlanText(text).section(text.index("一极一核两带三区")) == "第四篇 第一章 第一节 落实主体功能区战略"


def test_work_report_parts_are_its_chapters(seeds):
    """南昌县's work report has no 第…章: its numbered parts 一、… at the start of a line are."""
    text = (seeds / "004_ccbdf7e4ff8551e2.txt").read_text(encoding="utf-8")
    lines = [line for line in text.split("\n") if re.match(r"[一二三四五六七八九十]+、", line)]
    found = headings(text)
    assert [h.number for h in found] == [line.split("、")[0] + "、" for line in lines]
    assert all(h.level == "章" for h in found)
    at = text.index("北融南扩、东拓西连")
    assert PlanText(text).section(at) == "三、聚焦彰显文明城市新魅力"


def test_every_citation_resolves_to_a_chapter_and_matches_the_spec(seeds):
    """Every element's citation stands under a chapter (第…章, a work report's part); the spec's
    cite.section is what the parser gives. A structure may be cited from a 篇's lead text."""
    counted = {True: 0, False: 0}
    for code, spec in _specs().items():
        text = PlanText((seeds / spec["plan"]["seed"]).read_text(encoding="utf-8"))
        for where, cite, is_element in _cites(spec):
            path = locate(text.headings, cite["offset"])
            levels = [h.level for h in path]
            if is_element:
                assert "章" in levels, (code, where)
                assert re.match(r"(第[一二三四五六七八九十]+篇 )?(第[一二三四五六七八九十]+章|[一二三四五]、)", cite["section"])
            else:
                assert levels, (code, where)
            assert cite["section"] == text.section(cite["offset"]), (code, where)
            counted[is_element] += 1
    assert counted == {True: 209, False: 56}


def test_quote_is_the_cited_words_not_the_sentence():
    text = "第一章 总体\n\n一是甲。二是" + "乙" * 100 + "，其中丙镇为核心" + "丁" * 100 + "。三是戊。"
    assert quote(text, text.index("丙镇")) == "丙镇为核心" + "丁" * 15 + "…"
    assert quote(text, text.index("其中")) == "其中丙镇为核心" + "丁" * 13 + "…"
    assert quote(text, text.index("戊")) == "戊"
    assert quote("甲乙。丙 丁 — 12 — 戊己，庚", 3) == "丙丁戊己"  # broken lines and page footers removed
    assert PlanText(text).quote(text.index("一是")) == "一是甲"


# --- Chinese fields -------------------------------------------------------------------------------

def test_every_interpretation_and_place_has_its_chinese():
    interpretations = places = 0
    for code, spec in _specs().items():
        for s in spec["structures"]:
            for item in [s, *s["elements"]]:
                if item.get("interpretation"):
                    assert CJK.search(item.get("interpretation_zh") or ""), (code, item["id"])
                    assert not ENGLISH.search(item["interpretation_zh"]), (code, item["id"])
                    interpretations += 1
        file = REPO / "data" / "gazetteer" / f"{code}.csv"
        table = places_from_table(read_table(file), file=str(file))
        for name, zh in zip(table["name"], table["basis_zh"]):
            assert CJK.search(zh) and not ENGLISH.search(zh), (code, name, zh)
        places += len(table)
    assert interpretations == 72
    assert places == sum(len(pd.read_csv(REPO / "data" / "gazetteer" / f"{c}.csv")) for c in ADCODES)


def test_spec_checks_report_a_wrong_section_and_a_missing_chinese_interpretation(synth: Path):
    spec_path = synth / "data" / "plans" / "999901.yaml"
    (synth / "seeds" / "synth.txt").write_text("第一章 布局\n" + (synth / "seeds" / "synth.txt").read_text(encoding="utf-8"),
                                               encoding="utf-8")
    text = spec_path.read_text(encoding="utf-8")
    for old, new in (("offset: 7, quote: 一核}", "offset: 14, quote: 一核, section: 第一章 总体}"),
                     ("offset: 21,", "offset: 28,"), ("offset: 27,", "offset: 34,"), ("offset: 33}", "offset: 40}"),
                     ("offset: 36}", "offset: 43}"), ("offset: 39}", "offset: 46}"), ("cite: {offset: 0}",
                     "cite: {offset: 7, section: 第一章 布局}\n    interpretation: read as drawn")):
        text = text.replace(old, new)
    spec_path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_district(DataDir(synth / "data", synth / "seeds"), "999901")
    msg = str(err.value)
    assert "element core: cite.section '第一章 总体', but offset 14 stands under '第一章 布局' in synth.txt" in msg
    assert "fix: set cite.section: 第一章 布局" in msg
    assert "element river: no cite.section, but offset 28 stands under '第一章 布局'" in msg
    assert "structure layout: interpretation has no interpretation_zh" in msg
    assert msg.count("fix:") == 7  # core wrong, five elements without a section, the interpretation


def test_every_basis_has_a_chinese_rendering():
    made = [basis.VORONOI_CELL, basis.official_cell("乡镇.shp"), basis.township_union(True), basis.township_union(False),
            basis.hull(["甲镇", "乙村"], 800), basis.band(1500, feature="赣江"), basis.band(1000, through=["甲镇", "乙村"]),
            basis.feature_shape("象湖", 0), basis.feature_shape("象湖", 400), basis.node("甲镇", 500),
            basis.project_at_feature("g206", "206国道"), basis.project_at_place("甲镇"), basis.project_at_coordinates("gcj02")]
    for b in made:
        assert re.search("[a-z]{4,}", b.en) and CJK.search(b.zh) and not ENGLISH.search(b.zh), b
    assert basis.band(1000, through=["甲镇", "乙村"]).zh == "沿甲镇—乙村连线、总宽 1000 米的带状范围"
    assert basis.hull(["甲镇", "乙村"], 800).en == "convex hull of 甲镇、乙村, buffered by 800 m"


# --- the five maps --------------------------------------------------------------------------------

def _page_texts(page: str) -> tuple[list[str], list[str], list[str]]:
    """(popups, tooltips, other HTML fragments: panels and layer-tree labels) of a built map."""
    specs = [json.loads(m) for m in re.findall(r"var spec = (\{.*?\});\n", page)]
    feats = [f["properties"] for b in specs for f in b["data"]["features"]]
    popups = [p["popup"] for p in feats if p.get("popup")]
    tooltips = [p["tooltip"] for p in feats if p.get("tooltip")]
    fragments = []
    for script in re.findall(r"<script>(.*?)</script>", page, flags=re.S):
        for literal in re.findall(r'"(?:[^"\\\n]|\\.)*"', script):
            try:
                value = json.loads(literal)
            except json.JSONDecodeError:
                continue
            if "<" in value and CJK.search(value) and "sp-popup" not in value:
                fragments.append(value)
    return popups, tooltips, fragments


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture(scope="module")
def built(tmp_path_factory, seeds) -> Path:
    out = tmp_path_factory.mktemp("chinese")
    result = CliRunner().invoke(main, ["build", "--data", str(REPO / "data"), "--seeds", str(seeds),
                                       "--layers", str(out / "layers"), "--maps", str(out / "maps"), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def test_no_english_sentence_in_any_popup_tooltip_or_panel(built, seeds):
    for code, spec in _specs().items():
        page = (built / "maps" / f"{code}.html").read_text(encoding="utf-8")
        popups, tooltips, fragments = _page_texts(page)
        assert popups and tooltips, code
        assert any("sp-row" in f for f in fragments) and any("<h1>" in f for f in fragments), code  # legend, title
        for html in popups + tooltips + fragments:
            hit = ENGLISH.search(_visible(html))
            assert hit is None, (code, hit and hit.group(0), html[:200])
        assert not any(spec["plan"]["seed"] in p for p in popups), code  # file names stay in the layers
        assert "other" not in _visible("".join(fragments + tooltips))


def test_element_popups_cite_title_chapter_and_quote(built, seeds):
    for code, spec in _specs().items():
        layer = json.loads((built / "layers" / code / "elements.geojson").read_text(encoding="utf-8"))
        text = PlanText((seeds / spec["plan"]["seed"]).read_text(encoding="utf-8"))
        page = (built / "maps" / f"{code}.html").read_text(encoding="utf-8")
        popups, _, _ = _page_texts(page)
        for f in layer["features"]:
            p = f["properties"]
            assert p["seed"] == spec["plan"]["seed"] and p["section"] == text.section(p["offset"])
            assert CJK.search(p["basis_zh"]) and p["basis"]  # both languages in the layer
            cite = f"<th>出处</th><td>《{spec['plan']['title']}》{p['section']}<div class=\"sp-quote\""
            mine = [h for h in popups if f"<h3>{p['name']}</h3>" in h and cite in h]
            assert mine, (code, p["id"])
            quoted = re.search(r"“(.*?)”</div>", mine[0].split(cite, 1)[1]).group(1)
            flat = re.sub(r"\s+", "", re.sub(r"—\s*\d+\s*—", "", text.text))  # as quoted: no line breaks or page footers
            assert 0 < len(quoted.strip("…")) <= 20 and quoted.strip("…") in flat


def test_without_the_seeds_popups_still_give_title_and_chapter(tmp_path):
    empty = tmp_path / "no-seeds"
    empty.mkdir()
    result = CliRunner().invoke(main, ["build", "360202", "--data", str(REPO / "data"), "--seeds", str(empty),
                                       "--layers", str(tmp_path / "layers"), "--maps", str(tmp_path / "maps"), "--quiet"])
    assert result.exit_code == 0, result.output
    popups, _, _ = _page_texts((tmp_path / "maps" / "360202.html").read_text(encoding="utf-8"))
    core = next(p for p in popups if "<h3>中心城区</h3>" in p)
    assert "<th>出处</th><td>《昌江区国民经济和社会发展第十四个五年规划》第七篇 第一章 第一节 优化城乡空间格局</td>" in core
    assert "sp-quote" not in core
