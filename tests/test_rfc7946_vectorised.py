"""The vectorised GeoJSON reader and RFC 7946 check against the per-feature code they replaced.

``check_rfc7946`` now reads every geometry in one ``shapely.from_geojson`` call and validates them in
vectorised shapely calls; ``tests/rfc7946_loop.py`` keeps the old loop (``shape()`` per feature) as the
oracle. Every hand-made bad document of the suite, and random ones, must get the same messages in the
same order; random valid geometries must read exactly as ``shape()`` reads them.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from shapely.geometry import mapping, shape

from geoplan.errors import ValidationError
from geoplan.features import (
    check_rfc7946,
    features_from_geojson,
    geometries_from_geojson,
    geometries_to_geojson,
)

from conftest import DATA, ROOT
from rfc7946_loop import check_rfc7946_loop

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "geoplan-hypothesis")

CW = [[112.5, 37.8], [112.5, 37.9], [112.6, 37.9], [112.5, 37.8]]
CCW = CW[::-1]
SQUARE = [[112.0, 37.0], [113.0, 37.0], [113.0, 38.0], [112.0, 38.0], [112.0, 37.0]]  # counter-clockwise
HOLE_CW = [[112.2, 37.2], [112.2, 37.4], [112.4, 37.4], [112.4, 37.2], [112.2, 37.2]]
BOWTIE = [[112.0, 37.0], [113.0, 38.0], [113.0, 37.0], [112.0, 38.0], [112.0, 37.0]]


def feature(geometry, **extra):
    return {"type": "Feature", "properties": {"fid": "x-1"}, "geometry": geometry, **extra}


def collection(*features, **extra):
    return {"type": "FeatureCollection", **extra, "features": list(features)}


# The cases of tests/test_features.py and tests/test_robustness.py, and one for every branch of the check.
HAND_MADE = [
    collection(
        feature({"type": "Polygon", "coordinates": [CW]}),
        feature({"type": "Point", "coordinates": [212.5, 37.8]}),
        feature({"type": "Polygon", "coordinates": [CW[:3]]}),
        crs={},
    ),
    {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": [1], "geometry": None}]},
    collection(feature({"type": "Point", "coordinates": [112.5, 37.8]}, bbox=["a", 0, 1, 2])),
    {"type": "FeatureCollection", "features": ["x", None, 3]},
    collection({"type": "Feature", "properties": None, "geometry": {"type": "Nope", "coordinates": 1}}),
    "not a dict",
    {"type": "FeatureCollection", "features": {}},
    collection({"type": "Feature", "properties": {}}, {"type": "Thing", "properties": {}, "geometry": None}),
    collection(
        feature({"type": "Polygon", "coordinates": [SQUARE, HOLE_CW[::-1]]}),  # hole counter-clockwise
        feature({"type": "Polygon", "coordinates": [SQUARE, HOLE_CW]}),
    ),  # valid
    collection(feature({"type": "MultiPolygon", "coordinates": [[SQUARE], [CW], [CCW, CW]]})),
    collection(feature({"type": "Polygon", "coordinates": [BOWTIE]})),
    collection(feature({"type": "Polygon", "coordinates": [SQUARE[:-1]]})),  # open: shape() closes it
    collection(feature({"type": "Polygon", "coordinates": [[[112.0, 37.0], [113.0, 37.0], [112.0, 37.0]]]})),
    collection(feature({"type": "Polygon", "coordinates": [[]]})),
    collection(
        feature(
            {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Polygon", "coordinates": [CW]},
                    {"type": "Point", "coordinates": [112.5, 37.8]},
                    {"type": "GeometryCollection", "geometries": [{"type": "MultiPolygon", "coordinates": [[CW]]}]},
                ],
            }
        )
    ),
    collection(feature({"type": "LineString", "coordinates": [[112.5, 37.8]]})),
    collection(feature({"type": "LineString", "coordinates": [[112.5, 37.8], [112.5, 95.0]]})),
    collection(feature({"type": "Point", "coordinates": [112.5]})),
    collection(feature({"type": "Point", "coordinates": [math.nan, 37.8]})),
    collection(
        feature({"type": "Point", "coordinates": [112.5, 37.8]}, bbox=[113, 38, 114, 39]),
        feature({"type": "Point", "coordinates": [112.5, 37.8]}, bbox=[112, 37, 113, 38]),
        feature(None),
        bbox=[0, 0, 1, 1],
    ),
    collection(feature({"type": "MultiLineString", "coordinates": [[[112.5, 37.8], [112.6, 37.9]], 5]})),
    collection(
        feature({"type": "Polygon", "coordinates": [CW]}, id="named"),
        {"type": "Feature", "id": 7, "properties": None, "geometry": {"type": "Polygon", "coordinates": [CW]}},
    ),
]
# Odd members the loop accepted (shape() reads them): the vectorised check accepts them too, and reads
# the same geometry. (A Feature as a geometry and text coordinates stay accepted, as before.)
ACCEPTED = [
    collection(feature({"type": "Polygon", "coordinates": []})),
    collection(feature({"type": "Point", "coordinates": []})),
    collection(feature({"type": "Point", "coordinates": ["112.5", "37.8"]})),
    collection(feature({"type": "Point", "coordinates": [112.5, 37.8, 800.0]})),
    collection(feature({"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.5, 37.8]}})),
    collection(feature({"type": "Point", "coordinates": [112.5, 37.8]}), bbox=[112, 37, 113, 38]),
]


def _bad_files() -> list[Path]:
    out = []
    for path in sorted((DATA / "bad").glob("*.geojson")):
        try:
            json.loads(path.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        out.append(path)
    return out


@pytest.mark.parametrize("doc", HAND_MADE)
def test_vectorised_check_gives_the_loops_messages(doc):
    want = check_rfc7946_loop(doc)
    assert check_rfc7946(doc) == want
    assert want  # every hand-made case is bad: the comparison is not between two empty lists


@pytest.mark.parametrize("doc", ACCEPTED)
def test_vectorised_check_accepts_what_the_loop_accepted(doc):
    assert check_rfc7946(doc) == check_rfc7946_loop(doc) == []
    member = doc["features"][0]["geometry"]
    read, errors = geometries_from_geojson([member])
    assert errors == {} and shapely.to_wkb(read[0]) == shapely.to_wkb(shape(member))


@pytest.mark.parametrize("path", _bad_files(), ids=lambda p: p.name)
def test_vectorised_check_on_the_bad_fixtures(path):
    doc = json.loads(path.read_text("utf-8"))
    assert check_rfc7946(doc) == check_rfc7946_loop(doc)


def test_shipped_geojson_is_clean_both_ways():
    doc = json.loads((ROOT / "geodata" / "taiyuan-2025.geojson").read_text("utf-8"))
    assert check_rfc7946(doc) == check_rfc7946_loop(doc) == []
    wrong = copy.deepcopy(doc)
    polygons = [f for f in wrong["features"] if f["geometry"] and f["geometry"]["type"] == "Polygon"]
    for f in polygons:
        f["geometry"]["coordinates"][0].reverse()
    got = check_rfc7946(wrong)
    assert got == check_rfc7946_loop(wrong) and len(got) == len(polygons)


def test_reading_refuses_what_the_check_refuses():
    with pytest.raises(ValidationError, match="right-hand rule"):
        features_from_geojson(HAND_MADE[0])


# --------------------------------------------------------------------------- random geometries

lon = st.floats(min_value=-180, max_value=180, allow_nan=False)
lat = st.floats(min_value=-90, max_value=90, allow_nan=False)
xy = st.tuples(lon, lat)


@st.composite
def polygons(draw):
    """A valid polygon: a circle of 4-60 vertices anywhere, with a smaller hole now and then."""
    x, y = draw(st.floats(-170, 170)), draw(st.floats(-80, 80))
    r = draw(st.floats(0.001, 5))
    quad = draw(st.integers(1, 15))
    outer = shapely.Point(x, y).buffer(r, quad_segs=quad)
    if draw(st.booleans()):
        outer = outer.difference(shapely.Point(x, y).buffer(r / 3, quad_segs=quad))
    return outer


geometries = st.one_of(
    xy.map(shapely.Point),
    st.lists(xy, min_size=2, max_size=30, unique=True).map(shapely.LineString),
    st.lists(xy, min_size=1, max_size=10, unique=True).map(shapely.MultiPoint),
    st.lists(st.lists(xy, min_size=2, max_size=10, unique=True), min_size=1, max_size=4).map(shapely.MultiLineString),
    polygons(),
    st.lists(polygons(), min_size=1, max_size=3).map(shapely.MultiPolygon),
    st.lists(st.one_of(xy.map(shapely.Point), polygons()), min_size=1, max_size=3).map(shapely.GeometryCollection),
)


@hsettings(max_examples=150, deadline=None)
@given(st.lists(geometries, min_size=1, max_size=8))
def test_vectorised_reader_reads_as_shape_does(geoms):
    members = [json.loads(json.dumps(mapping(g))) for g in geoms]

    def only_collections(member):  # valid members build vectorised: shape() is the path for collections only
        assert member["type"] == "GeometryCollection", member["type"]
        return shape(member)

    with mock.patch("geoplan.features.shape", only_collections):
        read, errors = geometries_from_geojson(members)
    assert errors == {}
    for got, member in zip(read, members, strict=True):
        want = shape(member)
        assert got.geom_type == want.geom_type
        assert shapely.to_wkb(got) == shapely.to_wkb(want)  # the same coordinates to the last bit
    written = geometries_to_geojson(np.array(read, dtype=object))
    assert written == members  # and back: what mapping() gives, as JSON


@hsettings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(geometries, st.booleans(), st.booleans()), min_size=1, max_size=8))
def test_vectorised_check_agrees_on_random_collections(drawn):
    """Random geometries, exteriors and holes reversed at random, coordinates pushed out of range at random."""
    features = []
    for g, reverse, shift in drawn:
        member = json.loads(json.dumps(shapely.geometry.mapping(g)))
        if reverse:
            for rings in (
                [member["coordinates"]]
                if member["type"] == "Polygon"
                else member["coordinates"]
                if member["type"] == "MultiPolygon"
                else []
            ):
                for ring in rings:
                    ring.reverse()
        if shift and member["type"] == "Point":
            member["coordinates"][0] += 360
        features.append(feature(member))
    doc = collection(*features)
    assert check_rfc7946(doc) == check_rfc7946_loop(doc)
