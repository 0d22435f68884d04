"""Applying stored corrections to built features (a later correction of the same row wins)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from geoplan.corrections.store import Correction, CorrectionStore
from geoplan.errors import CorrectionError
from geoplan.gazetteer import Gazetteer
from geoplan.geocoders.base import PRECISION

PLACELESS_PRECISIONS = ("city", "unlocated")


def _blank(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _no_geometry(geom: Any) -> bool:
    return _blank(geom) or not isinstance(geom, BaseGeometry) or geom.is_empty


def _without(unresolved: Any, place: str) -> Any:
    if _blank(unresolved):
        return unresolved
    rest = [u for u in str(unresolved).split("；") if u and u != place]
    return "；".join(rest) or None


def apply_corrections(
    gdf: gpd.GeoDataFrame,
    corrections: Iterable[Correction],
    *,
    gazetteer: Gazetteer | None = None,
) -> tuple[gpd.GeoDataFrame, builtins.list[Correction]]:
    """Apply active corrections to built features, oldest first (a later one wins); return what was left.

    A correction replaces the geometry of the item's row whose ``name`` is its place (or, with no
    place, the item's single row). A place the item has no row for replaces the item's sole
    city-wide or unlocated row (the correction locates it), else it is added as a new row
    (``fid`` ``<item_id>-c<id>``). Corrected rows get precision ``corrected``, geocoder ``correction``,
    confidence ``high``, a ``source`` quoting the note, a recomputed ``geometry_kind`` and, when a
    ``gazetteer`` is given, a recomputed ``district``.

    Returned second: corrections that could not be applied — their item is not in ``gdf`` (orphans,
    e.g. the report changed) or they name no place although the item has several rows.
    """
    from geoplan.features import geometry_kind

    out = gdf.reset_index(drop=True)
    geom_col = out.geometry.name
    p = PRECISION["corrected"]
    left: builtins.list[Correction] = []
    active = sorted((c for c in corrections if c.undone_at is None), key=lambda c: (c.created_at, c.id))
    for c in active:
        of_item = out.index[out["item_id"] == c.item_id]
        if len(of_item) == 0:
            left.append(c)
            continue
        if c.place is None:
            if len(of_item) != 1:
                left.append(c)
                continue
            idx = of_item[0]
        else:
            same_name = (out.loc[of_item, "name"] == c.place).fillna(False).to_numpy(dtype=bool)
            named = of_item[same_name]
            sole = out.loc[of_item[0]]
            if len(named):
                idx = named[-1]
            elif (
                len(of_item) == 1
                and _no_geometry(sole[geom_col])
                and not _blank(sole["precision"])
                and str(sole["precision"]) in PLACELESS_PRECISIONS
            ):
                idx = of_item[0]
                out.at[idx, "name"] = c.place
                out.at[idx, "place_kind"] = None
                out.at[idx, "place_status"] = None
            else:
                row = out.loc[[of_item[0]]].copy()
                idx = int(out.index.max()) + 1
                row.index = pd.Index([idx])
                out = _insert_after_item(out, row)
                out.at[idx, "fid"] = f"{c.item_id}-c{c.id}"
                out.at[idx, "name"] = c.place
                for col in ("matched", "place_kind", "place_status", "district"):
                    if col in out.columns:
                        out.at[idx, col] = None
            for i in out.index[out["item_id"] == c.item_id]:
                if "unresolved" in out.columns:
                    out.at[i, "unresolved"] = _without(out.at[i, "unresolved"], c.place)
        out.at[idx, geom_col] = cast(Any, c.geometry)  # a shapely object in the geometry column
        out.at[idx, "precision"] = p.key
        out.at[idx, "precision_code"] = p.code
        out.at[idx, "precision_zh"] = p.label_zh
        out.at[idx, "precision_en"] = p.label_en
        out.at[idx, "source"] = f"corrected by {c.author or 'a planner'}: {c.note}"
        out.at[idx, "geocoder"] = "correction"
        out.at[idx, "confidence"] = "high"
        out.at[idx, "datum"] = "WGS84"
        for col in ("source_url", "converted_from"):
            if col in out.columns:
                out.at[idx, col] = None
        out.at[idx, "geometry_kind"] = geometry_kind(c.geometry)
        if gazetteer is not None:
            out.at[idx, "district"] = gazetteer.district_of(c.geometry)
    if "precision_code" in out.columns:
        out["precision_code"] = out["precision_code"].astype("Int64")
    out = out.reset_index(drop=True)
    out.attrs = dict(gdf.attrs)
    return out, left


def _insert_after_item(gdf: gpd.GeoDataFrame, row: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Append ``row`` after the last row of its item, so an item's features stay together."""
    item = row["item_id"].iloc[0]
    pos = int(np.flatnonzero((gdf["item_id"] == item).to_numpy())[-1]) + 1
    merged = pd.concat([gdf.iloc[:pos], row, gdf.iloc[pos:]])
    out = gpd.GeoDataFrame(merged, geometry=gdf.geometry.name, crs=gdf.crs)
    out.attrs = dict(gdf.attrs)
    return out


def current_geometry(gdf: gpd.GeoDataFrame, item_id: str, place: str | None) -> BaseGeometry | None:
    """The geometry a correction of ``item_id`` (at ``place``) would replace; ``None`` for a new place.

    Raise ``CorrectionError`` when the item is not in ``gdf``, or when no place is named although the
    item has several places (say which one).
    """
    rows = gdf[gdf["item_id"] == item_id]
    if rows.empty:
        msg = f"no item {item_id!r} in the report (list ids with `geoplan parse REPORT -f table`)"
        raise CorrectionError(msg)
    if place is None:
        if len(rows) != 1:
            names = ", ".join(str(n) for n in rows["name"] if not _blank(n))
            msg = f"item {item_id!r} has {len(rows)} places ({names}): name the one it moves (place, --place)"
            raise CorrectionError(msg)
        geom = rows.geometry.iloc[0]
    else:
        named = rows[rows["name"] == place]
        if named.empty:
            return None
        geom = named.geometry.iloc[-1]
    return None if geom is None or geom.is_empty else geom


def corrected_features(
    gdf: gpd.GeoDataFrame, *, data_dir: str | Path | None = None, gazetteer: Gazetteer | None = None
) -> tuple[gpd.GeoDataFrame, builtins.list[Correction]]:
    """``gdf`` with the store's active corrections applied; a missing store means no corrections.

    The store is the data dir's SQLite file, or the PostgreSQL database of ``GEOPLAN_DATABASE_URL`` when set.
    """
    store = CorrectionStore.in_data_dir(data_dir, city_area=None)
    if not store.exists():
        return gdf, []
    return apply_corrections(gdf, store.all(), gazetteer=gazetteer)
