"""Reading and checking the geometry of a correction: WKT or GeoJSON in, a valid 2D lon/lat geometry in the city out.

Kept apart from the store so the app's review page and the store's import check geometries the same way without
opening a store.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geoplan import settings
from geoplan._io import MAX_JSON_DEPTH, json_nesting
from geoplan.errors import GazetteerError, GeometryError


class _Default:
    """Marker for "use the shipped gazetteer's city area"."""

    def __repr__(self) -> str:
        return "<shipped city area>"


SHIPPED_CITY_AREA: Any = _Default()


def to_wkt(geom: BaseGeometry) -> str:
    """WKT at full precision, so a stored geometry reads back equal."""
    return shapely.to_wkt(geom, rounding_precision=-1)


def shipped_city_area() -> BaseGeometry | None:
    """The shipped gazetteer's city area, or ``None`` when boundaries are missing or unreadable."""
    from geoplan.gazetteer import load_gazetteer  # here: loading it pulls in geopandas

    try:
        return load_gazetteer(strict=False).city_area
    except GazetteerError:
        return None


def _in_range(coords: np.ndarray) -> bool:
    return bool((np.abs(coords[:, 0]) <= 180.0).all() and (np.abs(coords[:, 1]) <= 90.0).all())


def _swap(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda xy: xy[:, ::-1])


def _read_geometry_text(text: str) -> BaseGeometry:
    stripped = text.strip()
    if not stripped:
        raise GeometryError("no geometry given (empty text)")
    if stripped.startswith("{"):
        depth = json_nesting(stripped)
        if depth > MAX_JSON_DEPTH:
            raise GeometryError(f"GeoJSON nested {depth} levels deep (more than {MAX_JSON_DEPTH})")
        try:
            doc = json.loads(stripped)
        except json.JSONDecodeError as err:
            msg = f"not valid GeoJSON: {err.msg} at line {err.lineno} column {err.colno}"
            raise GeometryError(msg) from err
        return _geometry_from_geojson(doc)
    try:
        geom = shapely.from_wkt(stripped)
    except Exception as err:  # shapely.errors.GEOSException and friends
        msg = f"not valid WKT or GeoJSON: {stripped[:60]!r} ({err})"
        raise GeometryError(msg) from err
    if geom is None:
        raise GeometryError(f"not valid WKT or GeoJSON: {stripped[:60]!r}")
    return geom


def _geometry_from_geojson(doc: Any) -> BaseGeometry:
    """A geometry from parsed GeoJSON: a geometry, a Feature, or a one-feature collection."""
    if not isinstance(doc, dict):
        raise GeometryError("not a GeoJSON object")
    if doc.get("type") == "FeatureCollection":
        feats = doc.get("features") or []
        if not isinstance(feats, list) or len(feats) != 1:
            has = len(feats) if isinstance(feats, list) else "no list of features"
            msg = f"a FeatureCollection must hold exactly one feature (has {has})"
            raise GeometryError(msg)
        doc = feats[0]
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = doc.get("geometry")
        if doc is None:
            raise GeometryError("the GeoJSON feature has no geometry (geometry: null)")
    _check_rings_closed(doc)
    try:
        return shape(doc)
    except Exception as err:  # shapely raises several types for malformed GeoJSON
        msg = f"malformed GeoJSON geometry ({err})"
        raise GeometryError(msg) from err


def _check_rings_closed(geometry: Any) -> None:
    """RFC 7946 rings end where they start; shapely would close an open one silently, so refuse it."""
    if not isinstance(geometry, dict):
        return
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    for rings in polygons or []:
        for ring in rings or []:
            if isinstance(ring, list) and len(ring) >= 2 and ring[0] != ring[-1]:
                raise GeometryError("a polygon ring is not closed (its last position must repeat the first)")


def check_geometry(
    geom: BaseGeometry, *, city_area: BaseGeometry | None | _Default = SHIPPED_CITY_AREA
) -> BaseGeometry:
    """Refuse an empty, invalid, out-of-range or out-of-city geometry; return it (2D) when it is fine."""
    if not isinstance(geom, BaseGeometry):
        raise GeometryError(f"not a geometry: {geom!r}")
    if geom.is_empty:
        raise GeometryError(f"empty geometry ({geom.geom_type} EMPTY): give at least one coordinate")
    geom = shapely.force_2d(geom)
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise GeometryError("geometry has coordinates that are not finite numbers (NaN or infinity)")
    if not _in_range(coords):
        if _in_range(coords[:, ::-1]):
            x, y = coords[0]
            msg = (
                f"coordinates outside lon/lat range ({x:g}, {y:g}): they look like lat/lon swapped "
                "(WKT and GeoJSON are lon, lat — e.g. POINT (112.55 37.87))"
            )
            raise GeometryError(msg)
        raise GeometryError("coordinates outside lon/lat range (lon -180..180, lat -90..90; WGS84 degrees)")
    if not geom.is_valid:
        msg = f"invalid {geom.geom_type}: {shapely.is_valid_reason(geom)} (fix the geometry and try again)"
        raise GeometryError(msg)
    area = shipped_city_area() if isinstance(city_area, _Default) else city_area
    if area is not None and not area.intersects(geom):
        swapped = _swap(geom)
        if _in_range(shapely.get_coordinates(swapped)) and area.intersects(swapped):
            raise GeometryError(
                "geometry lies outside the city but inside it with lat/lon swapped: "
                "it looks like lat/lon swapped (WKT and GeoJSON are lon, lat)"
            )
        pt = geom.representative_point()
        msg = (
            f"geometry at ({pt.x:.4f}, {pt.y:.4f}) lies outside the city "
            f"(more than {settings.city_buffer_km:g} km beyond its boundary)"
        )
        raise GeometryError(msg)
    return geom


def parse_geometry(text: str, *, city_area: BaseGeometry | None | _Default = SHIPPED_CITY_AREA) -> BaseGeometry:
    """Read WKT or GeoJSON (a geometry, a Feature, or a one-feature collection) and check it.

    ``city_area`` defaults to the shipped gazetteer's city boundary buffered by
    ``settings.city_buffer_km``; pass ``None`` to skip the city check.

    >>> parse_geometry("POINT (112.55 37.87)", city_area=None).wkt
    'POINT (112.55 37.87)'
    >>> parse_geometry("POINT EMPTY", city_area=None)
    Traceback (most recent call last):
    geoplan.errors.GeometryError: empty geometry (Point EMPTY): give at least one coordinate
    """
    return check_geometry(_read_geometry_text(text), city_area=city_area)


def _as_geometry(value: str | BaseGeometry | dict[str, Any], city_area: Any) -> BaseGeometry:
    if isinstance(value, BaseGeometry):
        return check_geometry(value, city_area=city_area)
    if isinstance(value, dict):  # already parsed (its file's nesting was checked): no JSON round trip
        return check_geometry(_geometry_from_geojson(value), city_area=city_area)
    return parse_geometry(value, city_area=city_area)


def _previous_geometry(value: str | BaseGeometry | None) -> BaseGeometry | None:
    """The replaced geometry is a record of what was there: read it, but do not judge it."""
    if value is None or isinstance(value, BaseGeometry):
        return None if value is None or value.is_empty else value
    if not str(value).strip():
        return None
    geom = _read_geometry_text(str(value))
    return None if geom.is_empty else geom
