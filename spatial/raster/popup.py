"""Land-cover shares of one element as the map popup shows them (pure pandas: rendering loads no raster library)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def popup_shares(table: pd.DataFrame | None, element_id: str) -> list[dict] | None:
    """(name, share, colour) of each class in one element, largest first, for the popup's bar chart."""
    if table is None:
        return None
    rows = table[table["id"] == element_id].sort_values("share", ascending=False, kind="mergesort")
    return [{"name": str(n), "share": float(s), "colour": c}
            for n, s, c in zip(rows["class_name"], rows["share"], rows["colour"]) if np.isfinite(s)]
