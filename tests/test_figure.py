"""Print figures (spatial figure): size, content, labels, PDF fonts, SVG, errors, build --figures."""

from __future__ import annotations

import itertools
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from spatial._style import PAPER
from spatial.cli import main
from spatial.figure import make_figure, save_figure
from spatial.io.layers import read_district
from spatial.pipeline import DataDir, load_spec

REPO = Path(__file__).resolve().parents[1]
DISTRICTS = ("360104", "360121", "360202", "360403", "360704")
DPI = 100
#: A4 at 100 dpi: 210 x 297 mm -> 826.77 x 1169.29 px, to the nearest pixel.
A4_100 = (827, 1169)
#: 浔阳区 is 13.8 km wide and 9.4 km tall in its Gauss-Kruger zone: the only landscape sheet.
LANDSCAPE = {"360403"}


def _layers(code: str):
    return read_district(REPO / "layers", load_spec(DataDir(REPO / "data", None), code))


@pytest.fixture(scope="module", params=DISTRICTS)
def drawn(request, tmp_path_factory):
    """The headline structure of each district drawn at 100 dpi and saved as PNG."""
    layers = _layers(request.param)
    fig = make_figure(layers, dpi=DPI)
    path = save_figure(fig, tmp_path_factory.mktemp(request.param) / f"{request.param}.png")
    return request.param, layers, fig, path


def test_png_has_the_paper_size_in_pixels(drawn):
    code, _, _, path = drawn
    size = Image.open(path).size
    assert size == (A4_100[::-1] if code in LANDSCAPE else A4_100)


def test_figure_is_not_blank(drawn):
    _, _, fig, path = drawn
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    x0, y0, x1, y1 = fig.map_ax.get_window_extent().extents.round().astype(int)
    inside = rgb[rgb.shape[0] - y1:rgb.shape[0] - y0, x0:x1]  # the map frame (image rows run downwards)
    paper = np.array([int(PAPER[i:i + 2], 16) for i in (1, 3, 5)])
    background = (inside == 255).all(axis=2) | (inside == paper).all(axis=2)
    assert inside.std() > 20
    assert 0.05 < (~background).mean() < 0.95
    # the palette reaches the map: elements, red lines, water in colour, not only grey lines
    saturated = (inside.max(axis=2) - inside.min(axis=2)) > 60
    assert saturated.mean() > 0.003


def test_every_element_is_labelled_and_labels_do_not_overlap(drawn):
    _, layers, fig, _ = drawn
    renderer = fig.figure.canvas.get_renderer()
    head = layers.structures[0].id
    names = set(layers.elements.loc[layers.elements["structure_id"] == head, "name"])
    texts = [t.get_text() for t in fig.labels]
    assert fig.unplaced == []
    assert names <= set(texts)
    assert len(texts) == len(set(texts))  # a river or town that is also an element is labelled once
    frame = fig.map_ax.get_window_extent(renderer)
    boxes = [t.get_window_extent(renderer) for t in fig.labels]
    for box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not a.overlaps(b), f"labels {texts[i]!r} and {texts[j]!r} overlap"
    for box, obstacle in itertools.product(boxes, fig.obstacles):  # markers, scale bar, north arrow
        assert not box.overlaps(obstacle)


def test_legend_and_notes_fit_on_the_page_below_the_map(drawn):
    code, _, fig, _ = drawn
    renderer = fig.figure.canvas.get_renderer()
    page = fig.figure.bbox
    notes = fig.notes.get_window_extent(renderer)
    legend = fig.figure.legends[0].get_window_extent(renderer)
    frame = fig.map_ax.get_window_extent(renderer)
    margin = 10 / 25.4 * DPI  # the 10 mm page margin
    for box in (notes, legend):
        assert page.x0 + margin - 1 <= box.x0 and box.x1 <= page.x1 - margin + 1
        assert page.y0 + margin - 1 <= box.y0 and box.y1 <= page.y1 - margin + 1
        assert not box.overlaps(frame)
    assert not notes.overlaps(legend)
    assert "示意" in fig.notes.get_text()


def test_figure_command_pdf_opens_with_embedded_cjk_fonts(tmp_path: Path):
    out = tmp_path / "fig.pdf"
    res = CliRunner().invoke(main, ["figure", "360202", "--out", str(out), "--layers", str(REPO / "layers"),
                                    "--data", str(REPO / "data")])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(out)
    ppm = subprocess.run(["pdftoppm", "-r", "50", "-png", str(out), str(tmp_path / "page")], capture_output=True,
                         text=True)
    assert ppm.returncode == 0 and ppm.stderr == ""
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "595.276 x 841.89 pts (A4)" in info
    assert np.asarray(Image.open(pages[0]).convert("L")).std() > 30
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    cjk = [line for line in fonts if "NotoSansCJK" in line]
    assert cjk and len(cjk) == len(fonts)
    assert all(line.split()[-5] == "yes" for line in cjk)  # the "emb" column
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "昌江区城乡空间格局示意图" in text and "示意" in text


def test_figure_command_png_at_300_dpi_and_a3(tmp_path: Path):
    args = ["--layers", str(REPO / "layers"), "--data", str(REPO / "data")]
    res = CliRunner().invoke(main, ["figure", "360202", "--out", str(tmp_path / "a4.png"), *args])
    assert res.exit_code == 0, res.output
    assert Image.open(tmp_path / "a4.png").size == (2480, 3508)
    res = CliRunner().invoke(main, ["figure", "360403", "--structure", "huan-baishuihu", "--size", "A3", "--dpi", "72",
                                    "--out", str(tmp_path / "a3.png"), *args])
    assert res.exit_code == 0, res.output
    assert Image.open(tmp_path / "a3.png").size == (1191, 842)  # A3 landscape: 420 x 297 mm at 72 dpi


def test_svg_draws_text_as_paths(tmp_path: Path):
    path = save_figure(make_figure(_layers("360104"), dpi=72), tmp_path / "f.svg")
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and (root.get("width"), root.get("height")) == ("595.275591pt", "841.889764pt")
    assert not list(root.iter(f"{ns}text"))
    assert len(list(root.iter(f"{ns}path"))) > 100


@pytest.mark.parametrize("args, message", [
    (["--out", "f.jpg"], "f.jpg: unknown figure format '.jpg'; fix: give --out a file name ending in .png, .pdf or .svg"),
    (["--structure", "nope", "--out", "f.png"], "--structure: 昌江区 (360202) has no structure 'nope'; fix: give --structure one of layout,"),
])
def test_bad_figure_arguments_exit_2_with_one_line_and_no_file(tmp_path: Path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["figure", "360202", *args, "--layers", str(REPO / "layers"),
                                    "--data", str(REPO / "data")])
    assert res.exit_code == 2
    assert res.stderr.startswith(f"error: {message}")
    assert len(res.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_figure_without_built_layers_says_to_build(tmp_path: Path):
    res = CliRunner().invoke(main, ["figure", "360202", "--out", str(tmp_path / "f.png"), "--layers",
                                    str(tmp_path / "none"), "--data", str(REPO / "data")])
    assert res.exit_code == 2
    assert "no layers of 360202 here; fix: run `spatial build 360202` first, or give the folder it wrote with --layers" \
        in res.stderr
    assert not (tmp_path / "f.png").exists()


def test_build_figures_writes_one_png_per_structure(synth: Path):
    res = CliRunner().invoke(main, ["build", "--data", str(synth / "data"), "--seeds", str(synth / "seeds"),
                                    "--layers", str(synth / "layers"), "--maps", str(synth / "maps"), "--figures",
                                    "--quiet"])
    assert res.exit_code == 0, res.output
    figures = sorted(p.name for p in (synth / "maps" / "figures").iterdir())
    assert figures == ["999901_layout.png"]
    # the synthetic district is 40 km wide and 30 km tall: A4 landscape at 300 dpi
    assert Image.open(synth / "maps" / "figures" / "999901_layout.png").size == (3508, 2480)
