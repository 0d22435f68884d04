"""check_rfc7946 as it was before it was vectorised (one Python pass per feature, ``shape()`` each).

Kept only as the oracle the vectorised validator is compared with (tests/test_rfc7946_vectorised.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from geoplan.features import _bbox_ok


def _polygons(geom: dict[str, Any]) -> Iterable[list[list[list[float]]]]:
    """Each polygon's rings (exterior first) of a GeoJSON geometry."""
    t = geom.get("type")
    if t == "Polygon":
        yield geom["coordinates"]
    elif t == "MultiPolygon":
        yield from geom["coordinates"]
    elif t == "GeometryCollection":
        for g in geom.get("geometries", []):
            yield from _polygons(g)


def _signed_area(ring: list[list[float]]) -> float:
    xy = np.asarray(ring, dtype=float)[:, :2]
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def check_rfc7946_loop(doc: Any) -> list[str]:
    """Problems that make ``doc`` not RFC 7946 (empty list when valid)."""
    problems: list[str] = []
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        return ["not a FeatureCollection"]
    if "crs" in doc:
        problems.append("has a 'crs' member (RFC 7946 §4: coordinates are WGS84 lon/lat, no crs)")
    features = doc.get("features")
    if not isinstance(features, list):
        return [*problems, "'features' is not a list"]
    all_coords: list[np.ndarray] = []
    for i, f in enumerate(features):
        if not isinstance(f, dict):
            problems.append(f"feature {i}: not a Feature")
            continue
        props = f.get("properties")
        where = f"feature {i} ({props.get('fid', f.get('id')) if isinstance(props, dict) else f.get('id')})"
        if f.get("type") != "Feature":
            problems.append(f"{where}: not a Feature")
            continue
        if "properties" not in f or "geometry" not in f:
            problems.append(f"{where}: lacks 'properties' or 'geometry'")
            continue
        if props is not None and not isinstance(props, dict):
            problems.append(f"{where}: 'properties' is neither an object nor null (RFC 7946 §3.2)")
            continue
        g = f["geometry"]
        if g is None:
            continue
        try:
            geom = shape(g)
        except Exception as err:  # shapely raises several types for malformed input
            problems.append(f"{where}: malformed geometry ({err})")
            continue
        coords = shapely.get_coordinates(geom)
        all_coords.append(coords)
        if len(coords) and not ((np.abs(coords[:, 0]) <= 180).all() and (np.abs(coords[:, 1]) <= 90).all()):
            problems.append(f"{where}: coordinates outside lon/lat range")
        if not geom.is_valid:
            problems.append(f"{where}: invalid geometry ({shapely.is_valid_reason(geom)})")
        for p_i, rings in enumerate(_polygons(g)):
            for k, ring in enumerate(rings):
                if len(ring) < 4 or ring[0] != ring[-1]:
                    problems.append(f"{where}: polygon {p_i} ring {k} is not closed")
                elif (k == 0) != (_signed_area(ring) > 0):
                    problems.append(f"{where}: polygon {p_i} ring {k} violates the right-hand rule")
        if "bbox" in f and not _bbox_ok(f["bbox"], coords):
            problems.append(f"{where}: bbox does not match its coordinates")
    if "bbox" in doc:
        stacked = np.vstack(all_coords) if all_coords else np.empty((0, 2))
        if not _bbox_ok(doc["bbox"], stacked):
            problems.append("collection bbox does not match its coordinates")
    return problems
