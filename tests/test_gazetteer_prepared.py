"""The gazetteer's fast paths: geometries made a type at a time, and the prepared form kept by content (issue 14).

Both must give exactly what reading the GeoJSON one feature at a time gives: the same entries, geometries (to
the WKB byte), problems and errors; and a prepared form must never outlive the bytes it was made from.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import shapely
from hypothesis import given, settings as hsettings, strategies as st
from shapely.geometry import shape

from geoplan import gazetteer as G
from geoplan import settings
from geoplan.errors import GazetteerError

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"
BOUNDARIES = settings.packaged_geodata_dir() / "boundaries" / "taiyuan.geojson"


def _facts(gaz: G.Gazetteer) -> tuple[object, ...]:
    """Everything an entry holds, geometries as WKB (exact coordinates and type)."""
    return (
        tuple(
            (*(getattr(e, f) for f in G._FIELDS), None if e.geometry is None else shapely.to_wkb(e.geometry))
            for e in gaz.entries
        ),
        gaz.problems,
        gaz.paths,
        gaz.home,
    )


def _one_by_one(raw: object) -> object:
    try:
        return shapely.to_wkb(shape(raw))
    except Exception as err:
        return (type(err), str(err))


def _fast(raws: list[object]) -> list[object]:
    return [
        None if g is None else (type(g), str(g)) if isinstance(g, Exception) else shapely.to_wkb(g)
        for g in G._shapes(raws)
    ]


RING = [[112.5, 37.8], [112.6, 37.8], [112.6, 37.9], [112.5, 37.8]]
HOLE = [[112.52, 37.82], [112.55, 37.82], [112.55, 37.85], [112.52, 37.82]]
ODD = [
    {"type": "Point", "coordinates": [112.5, 37.8]},
    {"type": "Point", "coordinates": [112.5, 37.8, 800.0]},
    {"type": "Point", "coordinates": []},
    {"type": "Point", "coordinates": ["112.5", "37.8"]},
    {"type": "LineString", "coordinates": [[112.5, 37.8], [112.6, 37.9]]},
    {"type": "LineString", "coordinates": [[112.5, 37.8, 1.0], [112.6, 37.9, 2.0]]},
    {"type": "LineString", "coordinates": [[112.5, 37.8], [112.6, 37.9, 2.0]]},  # mixed dimensions
    {"type": "LineString", "coordinates": [[112.5, 37.8]]},  # one position
    {"type": "LineString", "coordinates": []},
    {"type": "LineString", "coordinates": [[112.5, "x"], [112.6, 37.9]]},
    {"type": "Polygon", "coordinates": [RING]},
    {"type": "Polygon", "coordinates": [RING, HOLE]},
    {"type": "Polygon", "coordinates": [RING[:-1] + [[112.45, 37.85]]]},  # not closed: shape closes it
    {"type": "Polygon", "coordinates": [RING[:3]]},  # three positions, not closed
    {"type": "Polygon", "coordinates": [RING[:2]]},  # two: refused
    {"type": "Polygon", "coordinates": []},
    {"type": "Polygon", "coordinates": [[]]},
    {"type": "MultiPoint", "coordinates": [[112.5, 37.8], [112.6, 37.9]]},
    {"type": "MultiLineString", "coordinates": [[[112.5, 37.8], [112.6, 37.9]], [[112.7, 37.8], [112.8, 37.9]]]},
    {"type": "MultiLineString", "coordinates": [[[112.5, 37.8], [112.6, 37.9]], []]},
    {"type": "MultiPolygon", "coordinates": [[RING, HOLE], [RING]]},
    {"type": "MultiPolygon", "coordinates": [[RING], [[]]]},
    {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [112.5, 37.8]}]},
    {"type": "Circle", "coordinates": [112.5, 37.8]},
    {"coordinates": [112.5, 37.8]},
    "not a geometry",
    None,
]


def test_geometries_made_a_type_at_a_time_are_shapes_own():
    """Each odd geometry alone, and all of them in one batch (a bad one must not spoil its type's batch)."""
    expected = [None if raw is None else _one_by_one(raw) for raw in ODD]
    assert _fast(ODD) == expected
    for raw, want in zip(ODD, expected, strict=True):
        assert _fast([raw]) == [want], raw


_coord = st.floats(112.0, 113.0, allow_nan=False)
_pos = st.lists(_coord, min_size=2, max_size=2)
_line = st.lists(_pos, min_size=1, max_size=6)


@hsettings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.builds(lambda p: {"type": "Point", "coordinates": p}, _pos),
            st.builds(lambda c: {"type": "LineString", "coordinates": c}, _line),
            st.builds(lambda c: {"type": "MultiPoint", "coordinates": c}, _line),
            st.builds(lambda r: {"type": "Polygon", "coordinates": r}, st.lists(_line, min_size=0, max_size=3)),
            st.builds(lambda r: {"type": "MultiLineString", "coordinates": r}, st.lists(_line, max_size=3)),
            st.builds(
                lambda r: {"type": "MultiPolygon", "coordinates": r}, st.lists(st.lists(_line, max_size=2), max_size=2)
            ),
        ),
        max_size=12,
    )
)
def test_any_batch_of_geometries_is_what_shape_makes(raws):
    assert _fast(raws) == [_one_by_one(r) for r in raws]


def _copy(tmp_path: Path, features: list[dict]) -> list[Path]:
    path = tmp_path / "gazetteer.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return [path, BOUNDARIES]


def _shipped_features() -> list[dict]:
    return json.loads((settings.packaged_geodata_dir() / "gazetteer.geojson").read_text("utf-8"))["features"]


def test_a_prepared_gazetteer_is_the_loaded_one_and_is_read_back(tmp_path, monkeypatch):
    paths = _copy(tmp_path, _shipped_features())
    prepared = tmp_path / "prepared"
    fresh = G.load_gazetteer(paths)
    first = G.load_gazetteer(paths, prepared_dir=prepared)
    assert len(list(prepared.glob("gazetteer-*.npz"))) == 1
    monkeypatch.setattr(G, "_load", lambda *a, **k: pytest.fail("read from the GeoJSON again"))
    again = G.load_gazetteer(paths, prepared_dir=prepared)
    assert _facts(fresh) == _facts(first) == _facts(again)
    assert again.city is not None and again.city.name == fresh.city.name
    assert [u.name for u in again.admin_units] == [u.name for u in fresh.admin_units]


def test_a_changed_gazetteer_is_read_again(tmp_path):
    """Same size, same file name, one place renamed and moved: the prepared form of the old bytes is not used."""
    features = _shipped_features()
    paths = _copy(tmp_path, features)
    prepared = tmp_path / "prepared"
    before = G.load_gazetteer(paths, prepared_dir=prepared)
    place = next(f for f in features if f["geometry"] and f["geometry"]["type"] == "Point")
    old_name, old_xy = place["properties"]["name"], list(place["geometry"]["coordinates"])
    place["properties"]["name"] = "乙" * len(old_name)
    place["geometry"]["coordinates"] = [old_xy[0] + 0.001 if old_xy[0] < 112.9 else old_xy[0] - 0.001, old_xy[1]]
    _copy(tmp_path, features)
    after = G.load_gazetteer(paths, prepared_dir=prepared)
    assert old_name in before and old_name not in after
    moved = after["乙" * len(old_name)].geometry
    assert moved is not None and moved.equals(shape(place["geometry"]))
    assert _facts(after) == _facts(G.load_gazetteer(paths))
    assert len(list(prepared.glob("gazetteer-*.npz"))) == 2  # one per content; the newest few are kept


def test_problems_of_a_repaired_gazetteer_come_back_with_it(tmp_path):
    paths = [BAD / "gazetteer-unclosed-ring.geojson", BOUNDARIES]
    fresh = G.load_gazetteer(paths, strict=False)
    assert fresh.problems
    G.load_gazetteer(paths, strict=False, prepared_dir=tmp_path)
    assert _facts(G.load_gazetteer(paths, strict=False, prepared_dir=tmp_path)) == _facts(fresh)


def test_a_refused_gazetteer_is_refused_every_time_and_never_kept(tmp_path):
    for _ in range(2):
        with pytest.raises(GazetteerError, match="lat/lon swapped"):
            G.load_gazetteer([BAD / "gazetteer-swapped.geojson", BOUNDARIES], prepared_dir=tmp_path)
    assert not list(tmp_path.glob("gazetteer-*.npz"))


def test_a_damaged_prepared_file_is_read_from_the_geojson_again(tmp_path, caplog):
    paths = [BAD / "gazetteer-unclosed-ring.geojson", BOUNDARIES]
    fresh = G.load_gazetteer(paths)
    G.load_gazetteer(paths, prepared_dir=tmp_path)
    (kept,) = tmp_path.glob("gazetteer-*.npz")
    kept.write_bytes(kept.read_bytes()[:200])
    with caplog.at_level(logging.WARNING, logger="geoplan.gazetteer"):
        assert _facts(G.load_gazetteer(paths, prepared_dir=tmp_path)) == _facts(fresh)
    assert "not read" in caplog.text
    assert _facts(G.load_gazetteer(paths, prepared_dir=tmp_path)) == _facts(fresh)  # kept again, whole


def test_a_prepared_dir_that_cannot_be_written_costs_only_time(tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    paths = [BAD / "gazetteer-unclosed-ring.geojson", BOUNDARIES]
    with caplog.at_level(logging.WARNING, logger="geoplan.gazetteer"):
        gaz = G.load_gazetteer(paths, prepared_dir=blocked / "prepared")
    assert _facts(gaz) == _facts(G.load_gazetteer(paths))
    assert "not kept" in caplog.text
    assert not [p for p in tmp_path.iterdir() if p.name != "file"]


def test_the_app_keeps_its_gazetteer_prepared_in_the_data_dir(_data_dir, monkeypatch):
    """The app's gazetteer (a cached resource) loads through the data dir's ``prepared/``: a restarted server
    reads it back (its cache empty again) instead of the GeoJSON."""
    from geoplan.app import data

    data.gazetteer.clear()
    try:
        first = data.gazetteer(settings.default_city_adcode)
        (kept,) = (_data_dir / "prepared").glob("gazetteer-*.npz")
        data.gazetteer.clear()  # as a new server process
        monkeypatch.setattr(G, "_load", lambda *a, **k: pytest.fail("read from the GeoJSON again"))
        again = data.gazetteer(settings.default_city_adcode)
        assert again is not first and _facts(again) == _facts(first)
        assert [p.name for p in (_data_dir / "prepared").glob("gazetteer-*.npz")] == [kept.name]
    finally:
        data.gazetteer.clear()
