"""Convert between WGS84 and the Chinese GCJ-02 / BD-09 datums.

Chinese map services (AMap/Gaode, Tencent: GCJ-02; Baidu: BD-09) publish shifted coordinates.
geoplan stores WGS84 only; everything from those services passes through here on the way in,
and the AMap basemap gets its data shifted to GCJ-02 on the way out. The arithmetic is
``prcoords`` (public domain); this module lifts it to shapely geometries.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import prcoords  # type: ignore[import-untyped]  # prcoords ships no type hints
import shapely
from shapely.geometry.base import BaseGeometry


class Datum(StrEnum):
    WGS84 = "WGS84"
    GCJ02 = "GCJ-02"
    BD09 = "BD-09"


def _convert_point(lon: float, lat: float, src: Datum, dst: Datum) -> tuple[float, float]:
    if src == dst:
        return lon, lat
    c = prcoords.Coords(lat, lon)
    # Precise inverses (``*_bored``) iterate to sub-centimetre error; the forward shifts are exact formulas.
    if src is Datum.WGS84:
        c = prcoords.wgs_gcj(c, True)
        if dst is Datum.BD09:
            c = prcoords.gcj_bd(c)
    elif src is Datum.GCJ02:
        c = prcoords.gcj_bd(c) if dst is Datum.BD09 else prcoords.gcj_wgs_bored(c, True)
    else:  # BD-09
        c = prcoords.bd_gcj(c) if dst is Datum.GCJ02 else prcoords.bd_wgs_bored(c, True)
    return c.lon, c.lat


def convert_coords(lon: float, lat: float, *, src: Datum | str, dst: Datum | str = Datum.WGS84) -> tuple[float, float]:
    """Convert one lon/lat pair from ``src`` to ``dst`` datum."""
    return _convert_point(float(lon), float(lat), Datum(src), Datum(dst))


def convert_geometry(geom: BaseGeometry, *, src: Datum | str, dst: Datum | str = Datum.WGS84) -> BaseGeometry:
    """Convert every vertex of a shapely geometry from ``src`` to ``dst`` datum."""
    s, d = Datum(src), Datum(dst)
    if s == d or geom.is_empty:
        return geom

    def _apply(xy: np.ndarray) -> np.ndarray:
        return np.array([_convert_point(x, y, s, d) for x, y in xy], dtype=float).reshape(-1, 2)

    return shapely.transform(geom, _apply)
