"""The maps' JavaScript and CSS: npm packages, CDN URLs and offline inlining.

Every script and stylesheet a map uses comes from one npm package pinned in the repository's
``package.json`` (:data:`NPM_VERSIONS` holds the same versions; a test checks they agree).
A normal build links them from a CDN (jsdelivr by default, or a mirror reachable in China, or
an intranet server with the same ``{package}@{version}/{path}`` layout); an offline build
reads them from ``node_modules`` (``npm ci`` in the repository root) and inlines them, with
the images their CSS uses turned into ``data:`` URIs, so the map opens with no network at all.

An installed wheel carries the same files in ``spatial/_vendor`` (same layout as
``node_modules``), copied from the pinned packages when the wheel is built (``setup.py``) and
checked against :data:`HASHES_FILE`, so offline maps need no ``node_modules`` there.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import shutil
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from .errors import InputError, ProblemList

#: npm package -> exact version, as pinned in package.json.
NPM_VERSIONS: Mapping[str, str] = MappingProxyType({
    "leaflet": "1.9.4",
    "leaflet-measure": "2.1.7",
    "leaflet-minimap": "3.6.1",
    "leaflet-mouse-position": "1.2.0",
    "leaflet-search": "2.9.7",
    "leaflet-textpath": "1.2.3",
    "leaflet.control.layers.tree": "1.1.0",
    "leaflet.fullscreen": "3.0.0",
    "leaflet.markercluster": "1.5.3",
    "leaflet.pattern": "0.1.0",
})

#: CDN name -> URL template with ``{package}``, ``{version}`` and ``{path}``.
CDNS: Mapping[str, str] = MappingProxyType({
    "jsdelivr": "https://cdn.jsdelivr.net/npm/{package}@{version}/{path}",
    "unpkg": "https://unpkg.com/{package}@{version}/{path}",
    "npmmirror": "https://registry.npmmirror.com/{package}/{version}/files/{path}",
})
FIX_NPM = "run `npm ci` in the repository root (it installs the pinned packages of package.json into node_modules)"
#: SHA-256 of every file the maps take from npm (``<hash>  <package>/<path>``, as ``sha256sum`` prints).
HASHES_FILE = Path(__file__).with_name("assets.sha256")
#: The map assets inside an installed wheel (absent in a source checkout).
VENDOR_DIR = Path(__file__).with_name("_vendor")


@dataclass(frozen=True)
class Asset:
    """One file of an npm package that a map loads: a script (``js``) or a stylesheet (``css``)."""

    name: str
    package: str
    path: str
    kind: str

    @property
    def version(self) -> str:
        return NPM_VERSIONS[self.package]


def _a(name: str, package: str, path: str) -> Asset:
    return Asset(name, package, path, "css" if path.endswith(".css") else "js")


#: Every asset a map may use, in load order (Leaflet first). Names are the keys folium's
#: elements give their links (``default_js``/``default_css``), so folium plugins map here.
ASSETS: tuple[Asset, ...] = (
    _a("leaflet_css", "leaflet", "dist/leaflet.css"),
    _a("leaflet", "leaflet", "dist/leaflet.js"),
    _a("markerclustercss", "leaflet.markercluster", "dist/MarkerCluster.css"),
    _a("markerclusterdefaultcss", "leaflet.markercluster", "dist/MarkerCluster.Default.css"),
    _a("markerclusterjs", "leaflet.markercluster", "dist/leaflet.markercluster.js"),
    _a("Control.FullScreen.css", "leaflet.fullscreen", "Control.FullScreen.css"),
    _a("Control.Fullscreen.js", "leaflet.fullscreen", "Control.FullScreen.js"),
    _a("leaflet_measure_css", "leaflet-measure", "dist/leaflet-measure.css"),
    _a("leaflet_measure_js", "leaflet-measure", "dist/leaflet-measure.min.js"),
    _a("Control_MiniMap_css", "leaflet-minimap", "dist/Control.MiniMap.min.css"),
    _a("Control_MiniMap_js", "leaflet-minimap", "dist/Control.MiniMap.min.js"),
    _a("Control_MousePosition_css", "leaflet-mouse-position", "src/L.Control.MousePosition.css"),
    _a("Control_MousePosition_js", "leaflet-mouse-position", "src/L.Control.MousePosition.js"),
    _a("L.Control.Layers.Tree.min.css", "leaflet.control.layers.tree", "L.Control.Layers.Tree.css"),
    _a("L.Control.Layers.Tree.min.js", "leaflet.control.layers.tree", "L.Control.Layers.Tree.js"),
    _a("Leaflet.Search.css", "leaflet-search", "dist/leaflet-search.min.css"),
    _a("Leaflet.Search.js", "leaflet-search", "dist/leaflet-search.min.js"),
    _a("pattern", "leaflet.pattern", "dist/leaflet.pattern.js"),
    _a("polylinetextpath", "leaflet-textpath", "leaflet.textpath.js"),
)
_BY_NAME: Mapping[str, Asset] = MappingProxyType({a.name: a for a in ASSETS})
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


def default_node_modules() -> Path:
    """Where offline maps read their assets: the wheel's :data:`VENDOR_DIR`, else the repository's ``node_modules``."""
    return VENDOR_DIR if VENDOR_DIR.is_dir() else Path(__file__).resolve().parent.parent / "node_modules"


def asset_files(node_modules: Path) -> list[str]:
    """Every file the maps take from ``node_modules`` (``package/path``, sorted): the assets and
    the images their stylesheets use."""
    check_installed(list(ASSETS), node_modules)
    files = {f"{a.package}/{a.path}" for a in ASSETS}
    for a in ASSETS:
        if a.kind == "css":
            for _, ref in _CSS_URL.findall(_file(a, node_modules).read_text(encoding="utf-8")):
                if not ref.strip().startswith(("#", "data:")):
                    rel = posixpath.normpath(posixpath.join(posixpath.dirname(a.path), ref.split("?")[0].split("#")[0]))
                    files.add(f"{a.package}/{rel}")
    return sorted(files)


def hash_manifest(node_modules: Path) -> str:
    """The text of :data:`HASHES_FILE` for the files in ``node_modules`` (see :func:`asset_files`)."""
    return "".join(f"{hashlib.sha256((node_modules / f).read_bytes()).hexdigest()}  {f}\n"
                   for f in asset_files(node_modules))


def vendor(node_modules: Path, dest: Path) -> list[Path]:
    """Copy the maps' files from ``node_modules`` into ``dest``, each checked against :data:`HASHES_FILE`,
    with each package's ``package.json`` (the version :func:`check_installed` reads).

    Raises
    ------
    InputError
        A file missing, or differing from the hash the repository pinned.
    """
    pinned = dict(reversed(line.split("  ", 1)) for line in HASHES_FILE.read_text(encoding="utf-8").splitlines())
    problems = ProblemList()
    copied = []
    for rel in asset_files(node_modules):
        src = node_modules / rel
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        if pinned.get(rel) != digest:
            problems.add(src, "map assets", f"sha256 {digest} is not the pinned {pinned.get(rel, '(none)')}",
                         f"{FIX_NPM}; after a deliberate upgrade, `make asset-hashes` pins the new files")
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        copied.append(Path(shutil.copyfile(src, dest / rel)))
    problems.raise_if_any()
    return copied + [Path(shutil.copyfile(node_modules / p / "package.json", dest / p / "package.json"))
                     for p in sorted(NPM_VERSIONS)]


def asset(name: str) -> Asset:
    """The asset registered under ``name`` (a folium link name); ValueError names the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"no npm asset is registered for the map link {name!r}; "
                         f"known: {', '.join(sorted(_BY_NAME))}") from None


def cdn_template(cdn: str) -> str:
    """URL template of a CDN name in :data:`CDNS`, or ``cdn`` itself when it is a template."""
    if cdn in CDNS:
        return CDNS[cdn]
    if all(f"{{{key}}}" in cdn for key in ("package", "version", "path")) and re.match(r"https?://", cdn):
        return cdn
    raise InputError.one("--cdn", "", f"unknown CDN {cdn!r}",
                         f"use one of {', '.join(CDNS)}, or an http(s) URL template with "
                         "{package}, {version} and {path} (e.g. an intranet npm mirror)")


def cdn_url(item: Asset, cdn: str = "jsdelivr") -> str:
    """The URL of an asset on a CDN (name or template, see :func:`cdn_template`)."""
    return cdn_template(cdn).format(package=item.package, version=item.version, path=item.path)


def _file(item: Asset, node_modules: Path) -> Path:
    return node_modules / item.package / item.path


def _installed_version(package: str, node_modules: Path) -> str | None:
    manifest = node_modules / package / "package.json"
    if not manifest.exists():
        return None
    match = re.search(r'"version"\s*:\s*"([^"]+)"', manifest.read_text(encoding="utf-8"))
    return match.group(1) if match else None


def check_installed(items: list[Asset], node_modules: Path) -> None:
    """Raise one :class:`InputError` listing every package missing or at the wrong version."""
    problems = ProblemList()
    for package in sorted({i.package for i in items}):
        found = _installed_version(package, node_modules)
        if found is None:
            problems.add(node_modules / package, "offline map assets",
                         f"npm package {package}@{NPM_VERSIONS[package]} is not installed", FIX_NPM)
        elif found != NPM_VERSIONS[package]:
            problems.add(node_modules / package, "offline map assets",
                         f"npm package {package} is {found}, the maps need {NPM_VERSIONS[package]}", FIX_NPM)
        else:
            for item in items:
                if item.package == package and not _file(item, node_modules).exists():
                    problems.add(_file(item, node_modules), "offline map assets",
                                 f"asset file {item.package}/{item.path} is missing", FIX_NPM)
    problems.raise_if_any()


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def inline_css(text: str, css_path: Path) -> str:
    """CSS with every relative ``url(...)`` replaced by a ``data:`` URI of the file it names.

    ``url(#...)`` (SVG/VML fragments) and ``data:`` URIs stay as they are; a referenced file
    that does not exist raises :class:`InputError`.
    """
    def repl(match: re.Match) -> str:
        ref = match.group(2).strip()
        if ref.startswith(("#", "data:")):
            return match.group(0)
        if re.match(r"[a-z]+://", ref):
            raise InputError.one(css_path, ref, "the stylesheet loads a file from the network", FIX_NPM)
        target = css_path.parent / posixpath.normpath(ref.split("?")[0].split("#")[0])
        if not target.exists():
            raise InputError.one(css_path, ref, f"image {target} is missing", FIX_NPM)
        return f'url("{_data_uri(target)}")'

    return _CSS_URL.sub(repl, text)


def _script_text(text: str) -> str:
    """Script text safe inside ``<script>``: no ``</script`` and no source-map comment."""
    text = re.sub(r"^//# sourceMappingURL=.*$", "", text, flags=re.MULTILINE)
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def head_html(names: list[str], *, offline: bool, cdn: str = "jsdelivr", node_modules: Path | None = None) -> str:
    """The ``<link>``/``<script>`` tags (or inlined ``<style>``/``<script>``) for ``names``.

    Assets load in :data:`ASSETS` order, so Leaflet comes before its plugins whatever order
    ``names`` has. Offline: everything is read from ``node_modules`` (default
    :func:`default_node_modules`) and inlined; missing packages raise :class:`InputError`.
    """
    wanted = set(names)
    items = [a for a in ASSETS if a.name in wanted]
    for name in wanted:
        asset(name)
    if not offline:
        return "\n".join(f'<link rel="stylesheet" href="{cdn_url(a, cdn)}"/>' if a.kind == "css" else
                         f'<script src="{cdn_url(a, cdn)}"></script>' for a in items)
    node_modules = node_modules or default_node_modules()
    check_installed(items, node_modules)
    out = []
    for a in items:
        path = _file(a, node_modules)
        text = path.read_text(encoding="utf-8")
        label = f"{a.package}@{a.version}/{a.path}"
        if a.kind == "css":
            css = re.sub(r"</(style)", r"<\\/\1", inline_css(text, path), flags=re.IGNORECASE)
            out.append(f"<style>/* {label} */\n{css}\n</style>")
        else:
            out.append(f"<script>/* {label} */\n{_script_text(text)}\n</script>")
    return "\n".join(out)
