"""The fast paths for many distinct places (issue #14) against the plain code they stand in for.

orjson reads and writes, the numpy nesting scan, numpy coordinate views in the map data and the
column-wide property check must give what ``json``, the regular-expression scan, ``tolist`` and the
row-by-row check gave: same values, same messages.
"""

from __future__ import annotations

import json
import re
import tempfile
from typing import Any
from pathlib import Path
from unittest import mock

import numpy as np
import orjson
import pytest
import shapely
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

import geoplan._io as gio
import geoplan.features as features
from geoplan.errors import ValidationError
from geoplan.features import (
    features_and_gazetteer,
    features_from_geojson,
    features_from_path,
    features_to_geojson,
    geometries_to_geojson,
    loads_json,
)
from geoplan.maps import _SCRIPT_ESCAPES, js_json, map_data

from conftest import REPORT, ROOT, NoFork, NoSemaphores, dying_worker

SHIPPED = ROOT / "geodata" / "taiyuan-2025.geojson"

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "geoplan-hypothesis")

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_by_regex(text: str) -> int:
    """The scan ``json_nesting`` had before numpy (the oracle)."""
    opening = text.count("[") + text.count("{")
    if opening <= gio.MAX_JSON_DEPTH:
        return opening
    steps = [1 if b in "[{" else -1 for b in _BRACKET.findall(_STRING.sub('""', text))]
    return int(np.cumsum(steps).max()) if steps else 0


awkward_text = st.text(alphabet=st.sampled_from("[]{}\"\\a中\u2028<>&'/"), max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | awkward_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(awkward_text, inner, max_size=4),
    max_leaves=30,
)


@hsettings(max_examples=300, deadline=None)
@given(json_values, st.integers(0, 80), st.booleans(), st.sampled_from([1, 3, 7, 1 << 24]))
def test_nesting_scan_agrees_with_the_regex(value, wrap, ascii_only, chunk):
    for _ in range(wrap):
        value = [value]
    text = json.dumps(value, ensure_ascii=ascii_only)
    with mock.patch.object(gio, "_NESTING_CHUNK", chunk):  # strings and escapes across chunk ends too
        assert gio.json_nesting(text) == nesting_by_regex(text)
        assert gio.json_nesting(text.encode()) == nesting_by_regex(text)


@hsettings(max_examples=200, deadline=None)
@given(json_values)
def test_loads_json_reads_as_json_does(value):
    data = json.dumps(value, ensure_ascii=False).encode()
    assert loads_json(data) == json.loads(data)


@pytest.mark.parametrize("text", ['["\\ud800"]', '{"a": NaN}', "[1e999]"])
def test_loads_json_falls_back_to_json_on_what_orjson_refuses(text):
    got, want = loads_json(text.encode()), json.loads(text)
    assert json.dumps(got) == json.dumps(want)


def js_json_by_json(obj):
    """``js_json`` as it was: ``json.dumps`` and the escapes."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _SCRIPT_ESCAPES:
        text = text.replace(char, escaped)
    return text


@hsettings(max_examples=300, deadline=None)
@given(json_values)
def test_js_json_writes_what_json_wrote(value):
    assert js_json(value) == js_json_by_json(value)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=5))
def test_js_json_floats_read_back_equal(values):
    text = js_json(values)
    assert json.loads(text) == values


def test_js_json_is_safe_in_a_script_and_falls_back():
    text = js_json({"t": "</script><b>&'\u2028\u2029"})
    assert not set("<>&'\u2028\u2029") & set(text)
    assert js_json({"lone": "\ud800"}) == js_json_by_json({"lone": "\ud800"})  # orjson refuses it
    assert js_json({"big": 2**70}) == js_json_by_json({"big": 2**70})


polygons = st.builds(
    lambda x, y, r, n: shapely.Point(x, y).buffer(r, quad_segs=n),
    st.floats(100, 120),
    st.floats(30, 40),
    st.floats(0.001, 0.1),
    st.integers(1, 6),
)
lines = st.lists(st.tuples(st.floats(100, 120), st.floats(30, 40)), min_size=2, max_size=6).map(shapely.LineString)
points = st.tuples(st.floats(100, 120), st.floats(30, 40)).map(shapely.Point)
shapes = st.one_of(
    polygons,
    lines,
    points,
    st.lists(polygons, min_size=1, max_size=3).map(lambda ps: shapely.MultiPolygon(ps)),
    st.lists(lines, min_size=1, max_size=3).map(shapely.MultiLineString),
    st.lists(points, min_size=1, max_size=3).map(shapely.MultiPoint),
)


@hsettings(max_examples=150, deadline=None)
@given(st.lists(shapes, min_size=1, max_size=6))
def test_coordinate_views_write_the_same_json_as_lists(geoms):
    arr = np.array(geoms + [None], dtype=object)
    as_lists = geometries_to_geojson(arr)
    as_views = geometries_to_geojson(arr, arrays=True)
    assert json.loads(js_json(as_views)) == json.loads(json.dumps(as_lists))


def test_map_data_of_distinct_places_reads_back_as_the_features():
    """The map's JSON (numpy views through orjson) holds every feature's rounded coordinates."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from generate import distinct_features

    gdf = distinct_features(300, 0)
    data = map_data(gdf)
    drawn = [f for _d, _c, doc in data.layers for f in json.loads(doc)["features"]]
    assert data.shapes == len(drawn) == len(gdf)
    written = {f["id"]: f["geometry"] for f in features_to_geojson(gdf)["features"]}
    for f in drawn:
        (item,) = f["properties"]["items"]
        assert f["geometry"] == written[item["fid"]]


def _doc(n=40):
    return orjson.loads(orjson.dumps(features_to_geojson(features_from_path(SHIPPED)[:n])))


def _row_by_row(doc):
    with mock.patch.object(features, "_plainly_valid", lambda rows, table=None: False):
        return _outcome(doc)


def _outcome(doc):
    try:
        return features_from_geojson(doc).to_json()
    except ValidationError as err:
        return f"refused: {err}"


spoilers = st.sampled_from(
    [
        ("domain", None),
        ("domain", ""),
        ("domain", "  "),
        ("item_id", 5),
        ("text", 3.5),
        ("text", "\ud800x"),
        ("name", True),
        ("extra", [1]),
        ("extra", {"a": 1}),
        ("precision_code", "x"),
        ("drop", "domain"),
        ("text", "plain"),
    ]
)


def _spoiled(spoils: list[tuple[int, tuple[str, Any]]]) -> dict[str, Any]:
    """The shipped features with some properties dropped or replaced (hypothesis's ``spoilers``)."""
    doc = _doc()
    for i, (key, value) in spoils:
        props = doc["features"][i]["properties"]
        if key == "drop":
            props.pop(value, None)
        else:
            props[key] = value
    return doc


@hsettings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 39), spoilers), max_size=3))
def test_column_wide_check_refuses_as_row_by_row(spoils):
    doc = _spoiled(spoils)
    assert _outcome(doc) == _row_by_row(doc)


def _file_outcomes(doc: dict[str, Any]) -> tuple[str, str]:
    """What reading ``doc`` from a file laid out one feature per line gives, 7 features a chunk: checked
    column-wide, then row by row."""
    head = json.dumps({k: v for k, v in doc.items() if k != "features"}, separators=(",", ":"))[:-1]
    body = ",\n".join(json.dumps(f, separators=(",", ":")) for f in doc["features"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spoiled.geojson"
        path.write_text(f'{head},"features":[\n{body}\n]}}\n', encoding="ascii")
        with mock.patch.object(features, "LINES_CHUNK", 7):
            column_wide = _file_outcome_of(path)
            with mock.patch.object(features, "_plainly_valid", lambda rows, table=None: False):
                return column_wide, _file_outcome_of(path)


def _file_outcome_of(path: Path) -> str:
    try:
        return features_from_path(path).to_json()
    except ValidationError as err:
        return f"refused: {err}"


@hsettings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 39), spoilers), max_size=3))
def test_column_wide_check_of_a_file_read_in_chunks_refuses_as_row_by_row(spoils):
    """The chunked read checks each chunk's properties column by column (``_PropertyTable``, made once for
    the checks and the columns): what it refuses, and the frame it makes, are the row-by-row check's."""
    doc = _spoiled(spoils)
    column_wide, row_by_row = _file_outcomes(doc)
    assert column_wide == row_by_row


def test_features_and_gazetteer_load_the_gazetteer_once():
    calls = []
    real = features.gazetteer_for

    def counted(adcode):
        calls.append(adcode)
        return real(adcode)

    with mock.patch.object(features, "gazetteer_for", counted):
        gdf, gaz = features_and_gazetteer(REPORT)
    assert len(calls) == 1
    assert gaz.city is not None and gaz.city.name == "太原市"
    assert gdf.to_json() == features_from_path(REPORT).to_json()
    gdf2, gaz2 = features_and_gazetteer(SHIPPED)
    assert gaz2.city is not None and gaz2.city.name == "太原市" and len(gdf2)


def dumps_geojson_by_json(doc):
    """``dumps_geojson`` as it was, with ``json.dumps``."""
    head = {k: v for k, v in doc.items() if k != "features"}
    body = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in doc["features"])
    head_json = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    sep = "," if head_json != "{" else ""
    return f'{head_json}{sep}"features":[\n{body}\n]}}\n'


@hsettings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(awkward_text, json_values, max_size=4), max_size=4), json_values)
def test_dumps_geojson_writes_what_json_wrote(props, meta):
    doc = {"type": "FeatureCollection", "report": meta, "features": props}
    assert features.dumps_geojson(doc) == dumps_geojson_by_json(doc)


def test_dumps_geojson_of_the_shipped_file_is_unchanged():
    doc = features_to_geojson(features_from_path(SHIPPED))
    assert features.dumps_geojson(doc) == SHIPPED.read_text(encoding="utf-8")


def _read_both(doc, tmp_path, chunk=7, jobs=1):
    """``features_from_path`` on ``doc`` written by ``dumps_geojson`` (read in chunks of ``chunk`` lines; with
    ``jobs`` 2 its last lines by a forked worker), and ``features_from_geojson`` on the whole document, as
    comparable outcomes."""
    path = tmp_path / "built.geojson"
    # a lone surrogate as JSON spells it ("\\ud800"): orjson refuses it and the file is read whole
    path.write_bytes(features.dumps_geojson(doc).encode("utf-8", "backslashreplace"))
    with mock.patch.object(features, "LINES_CHUNK", chunk), mock.patch.object(features, "PARALLEL_MIN_BYTES", 0):
        try:
            by_lines = features_from_path(path, jobs=jobs).to_json()
        except ValidationError as err:
            by_lines = f"refused: {err}".replace(f"{path}: ", "")
    return by_lines, _outcome(doc)


def test_a_built_file_is_read_in_chunks(tmp_path):
    doc = _doc(60)
    path = tmp_path / "built.geojson"
    path.write_text(features.dumps_geojson(doc), encoding="utf-8")
    with (
        mock.patch.object(features, "loads_json", side_effect=AssertionError("read whole")),
        mock.patch.object(features, "LINES_CHUNK", 7),
    ):
        gdf = features_from_path(path)
    assert gdf.to_json() == features_from_geojson(doc).to_json()
    assert gdf.attrs["report"] == features_from_geojson(doc).attrs["report"]


@hsettings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 39), spoilers), max_size=3),
    st.sampled_from([1, 3, 7, 100]),
    st.sampled_from([1, 2]),
)
def test_chunked_read_refuses_as_the_whole_document(spoils, chunk, jobs):
    """Chunked, and with a worker reading the last lines: the same frame, or the same refusal with the same
    feature numbers (a worker's half that is not sound is read again here)."""
    doc = _spoiled(spoils)
    with tempfile.TemporaryDirectory() as tmp:
        by_lines, whole = _read_both(doc, Path(tmp), chunk, jobs)
    assert by_lines == whole


def test_chunked_read_gives_the_checks_messages(tmp_path):
    """The RFC 7946 cases of the vectorised check, written as geoplan writes files, one feature per line."""
    from test_rfc7946_vectorised import HAND_MADE

    for case in HAND_MADE:
        if not isinstance(case, dict) or not isinstance(case.get("features"), list):
            continue
        doc = copy_doc(case)
        for i, f in enumerate(doc["features"]):
            if isinstance(f, dict) and isinstance(f.get("properties"), dict):
                f["properties"].update(item_id=f"i{i}", domain="交通")
        for chunk in (1, 2, 100):
            by_lines, whole = _read_both(doc, tmp_path, chunk)
            assert by_lines == whole, (case, chunk)


def copy_doc(doc):
    return json.loads(json.dumps(doc))


def test_gc_paused_restores_the_collector():
    import gc

    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), gio.gc_paused():
        assert not gc.isenabled()
        1 / 0  # noqa: B018
    assert gc.isenabled()
    gc.disable()
    try:
        with gio.gc_paused():
            pass
        assert not gc.isenabled()  # a caller that had paused it keeps it paused
    finally:
        gc.enable()


# --------------------------------------------------------------------------- the streamed build


def _whole(gdf):
    """What ``geoplan build`` wrote before it streamed: the whole document, checked, then its text."""
    try:
        return features.dumps_geojson(features.validate_geojson(features_to_geojson(gdf))).encode("utf-8")
    except ValidationError as err:
        return f"refused: {err}"


def _streamed(gdf, chunk):
    with mock.patch.object(features, "GEOJSON_CHUNK", chunk):
        try:
            return b"".join(features.geojson_pieces(gdf))
        except ValidationError as err:
            return f"refused: {err}"


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_streamed_build_writes_the_whole_documents_bytes(chunk):
    """Shared geometries (the shipped report: rows of one place share its object), distinct ones, a frame
    with no rows and one with no ``report``: the pieces are the old text byte for byte."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from generate import distinct_features

    shipped = features_from_path(REPORT)
    distinct = distinct_features(120, 0)
    bare = distinct[:5].copy()
    bare.attrs = {}
    for gdf in (shipped, distinct, shipped[:0], bare):
        assert _streamed(gdf, chunk) == _whole(gdf)
    assert _streamed(shipped, chunk) == SHIPPED.read_bytes()


@hsettings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 39), st.sampled_from(["far", "3d", "empty", "nan"])), max_size=4),
    st.sampled_from([1, 3, 7, 100]),
)
def test_streamed_build_refuses_as_validate_geojson(spoils, chunk):
    """The check runs per chunk with the features' indices offset: same problems, same message."""
    gdf = features_from_path(SHIPPED)[:40].copy()
    geoms = list(gdf.geometry)
    for i, how in spoils:
        if how == "far":
            geoms[i] = shapely.Point(200.0 + i, 95.0)
        elif how == "3d":
            geoms[i] = shapely.Point(112.5, 37.8, 800.0)
        elif how == "empty":
            geoms[i] = shapely.Polygon()
        else:
            geoms[i] = shapely.LineString([(112.5, float("nan")), (112.6, 37.9)])
    gdf["geometry"] = geoms
    assert _streamed(gdf, chunk) == _whole(gdf)


def test_cli_build_streams_and_checks_before_printing(tmp_path, capsys):
    """``-o`` is written piece by piece and equals stdout, which is printed only once all of it is checked."""
    from geoplan import cli

    out = tmp_path / "out.geojson"
    assert cli.main(["build", str(REPORT), "-o", str(out)]) == 0
    assert cli.main(["build", str(REPORT)]) == 0
    assert capsys.readouterr().out.encode("utf-8") == out.read_bytes() == SHIPPED.read_bytes()
    with mock.patch.object(features, "_checked_features", return_value=(["feature 3 (x): broken"], None)):
        assert cli.main(["build", str(REPORT)]) != 0
        assert cli.main(["build", str(REPORT), "-o", str(out)]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "1 RFC 7946 problem(s): feature 3 (x): broken" in captured.err
    assert out.read_bytes() == SHIPPED.read_bytes()  # the bad build did not replace it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.geojson"]


@pytest.mark.parametrize("where", ["feature", "head"])
def test_chunked_read_refuses_deep_nesting_as_the_whole_file(tmp_path, where):
    """Nesting is checked per chunk on the line-by-line read; too deep, the file goes the whole way and
    gets the whole file's message, with its depth."""
    from geoplan.errors import ReportError

    doc = _doc(20)
    deep = json.loads("[" * 80 + "]" * 80)
    if where == "feature":
        doc["features"][9]["geometry"] = {"type": "Point", "coordinates": deep}
    else:
        doc["report"]["lead"] = deep
    path = tmp_path / "deep.geojson"
    text = features.dumps_geojson(doc)
    path.write_text(text, encoding="utf-8")
    with mock.patch.object(features, "LINES_CHUNK", 4), pytest.raises(ReportError) as err:
        features_from_path(path)
    assert f"JSON nested {gio.json_nesting(text)} levels deep" in str(err.value)


def _deep(levels: int, inner: str = "") -> object:
    return json.loads("[" * levels + inner + "]" * levels)


@pytest.mark.parametrize(
    "geometry, extra",
    [
        ({"type": "Point", "coordinates": _deep(62, "1, 2")}, {}),  # shape() takes it, squeezed: scanned after
        ({"type": "Point", "coordinates": _deep(80, "1, 2")}, {}),
        ({"type": "MultiPoint", "coordinates": [_deep(60, "1, 2")]}, {}),
        ({"type": "LineString", "coordinates": _deep(70)}, {}),  # an empty line to shape()
        ({"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]], _deep(70)]}, {}),
        ({"type": "Point", "coordinates": [1, 2]}, {"extra": _deep(70)}),  # a member RFC 7946 does not name
        ({"type": "Point", "coordinates": [1, 2], "bbox": _deep(70)}, {}),
        ({"type": "Point", "coordinates": [1, 2]}, {"properties": {"fid": "x", "deep": _deep(70)}}),
    ],
)
def test_chunks_skip_the_nesting_scan_only_when_nothing_can_nest_deep(tmp_path, geometry, extra):
    """The line-by-line read scans a chunk's nesting only when its parsed features could hide depth (a member,
    property or bbox that is not flat, coordinates ``shape()`` had to read); deep ones get the whole file's
    message, with its depth, wherever the depth is."""
    from geoplan.errors import ReportError

    doc = _doc(20)
    doc["features"][9]["geometry"] = geometry
    doc["features"][9].update(extra)
    path = tmp_path / "deep.geojson"
    text = features.dumps_geojson(doc)
    path.write_text(text, encoding="utf-8")
    assert gio.json_nesting(text) > gio.MAX_JSON_DEPTH
    with mock.patch.object(features, "LINES_CHUNK", 4), pytest.raises(ReportError) as err:
        features_from_path(path)
    assert f"JSON nested {gio.json_nesting(text)} levels deep" in str(err.value)


def test_plain_chunks_are_not_scanned(tmp_path, monkeypatch):
    """A file as geoplan writes it is read without scanning its text for nesting (0.44 s of 10k distinct)."""
    doc = _doc(30)
    path = tmp_path / "plain.geojson"
    path.write_text(features.dumps_geojson(doc), encoding="utf-8")
    scanned: list[int] = []
    real = features.json_nesting
    monkeypatch.setattr(features, "json_nesting", lambda text: scanned.append(len(text)) or real(text))
    monkeypatch.setattr(features, "LINES_CHUNK", 7)
    assert len(features_from_path(path)) == 30
    assert len(scanned) == 1  # the head line only


def test_chunked_read_does_not_hold_the_file(tmp_path, monkeypatch):
    """The line-by-line read never reads the whole file into memory."""
    doc = _doc(30)
    path = tmp_path / "built.geojson"
    path.write_text(features.dumps_geojson(doc), encoding="utf-8")
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read whole"))
    with mock.patch.object(features, "LINES_CHUNK", 4):
        assert features_from_path(path).to_json() == features_from_geojson(doc).to_json()


# Properties a valid file may give a column (kept or dropped per feature): text, null, numbers, booleans.
column_values = st.sampled_from(["drop", None, "", "a", "中\u2028<", 0, 7, 2.5, True])


_BASE_DOC: list[dict[str, Any]] = []


@hsettings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 39), st.sampled_from(["name", "district", "extra", "other"]), column_values)),
    st.sampled_from([1, 3, 7, 100]),
    st.sampled_from([1, 2]),
)
def test_chunked_read_builds_the_frame_of_the_rows_column_by_column(spoils, chunk, jobs):
    """The chunked read gathers properties column by column (text as Arrow strings a chunk at a time); the
    frame is the one ``pd.DataFrame`` of all the rows made, dtypes, missing values and column order included."""
    import pandas as pd

    if not _BASE_DOC:
        _BASE_DOC.append(_doc())
    doc = orjson.loads(orjson.dumps(_BASE_DOC[0]))
    for i, key, value in spoils:
        props = doc["features"][i]["properties"]
        if value == "drop":
            props.pop(key, None)
        else:
            props[key] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "built.geojson"
        path.write_text(features.dumps_geojson(doc), encoding="utf-8")
        with (
            mock.patch.object(features, "LINES_CHUNK", chunk),
            mock.patch.object(features, "PARALLEL_MIN_BYTES", 0),
        ):
            try:
                by_lines = features_from_path(path, jobs=jobs)
            except ValidationError as err:
                assert f"refused: {err}".replace(f"{path}: ", "") == _outcome(doc)
                return
    whole = features_from_geojson(doc)
    assert list(by_lines.columns) == list(whole.columns)
    assert by_lines.dtypes.to_dict() == whole.dtypes.to_dict()
    pd.testing.assert_frame_equal(by_lines, whole, check_exact=True)
    for column in whole.columns:  # None and NaN apart where pandas keeps them apart (object columns)
        if whole[column].dtype == object and column != "geometry":
            assert [type(v) for v in by_lines[column]] == [type(v) for v in whole[column]], column


# -- a built file read by two processes (`geoplan map --jobs`) -------------------------------------------------

_SPAN_OF_FILE = features._span_of_file


def _span_in_worker(path, start, end):
    """``_span_of_file``, leaving the worker's pid in ``$GEOPLAN_TEST_PIDS`` (a worker's module is this one's)."""
    import os

    with open(os.environ["GEOPLAN_TEST_PIDS"], "a") as fh:
        fh.write(f"{os.getpid()}\n")
    return _SPAN_OF_FILE(path, start, end)


def test_a_built_file_is_read_by_two_processes(tmp_path, monkeypatch):
    """With ``jobs`` 2 a worker reads the file's last lines and this process the rest; the frame is the one-process
    read's, geometries, dtypes, missing values and the checked-geometries record included."""
    import os

    import pandas as pd

    doc = _doc(60)
    doc["features"][45]["properties"].pop("district", None)  # a property missing in the worker's half only
    path = tmp_path / "built.geojson"
    path.write_text(features.dumps_geojson(doc), encoding="utf-8")
    pids = tmp_path / "pids"
    monkeypatch.setenv("GEOPLAN_TEST_PIDS", str(pids))
    monkeypatch.setattr(features, "_span_of_file", _span_in_worker)
    monkeypatch.setattr(features, "LINES_CHUNK", 7)
    one = features_from_path(path)
    assert not pids.exists()  # a file under PARALLEL_MIN_BYTES is read here
    monkeypatch.setattr(features, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(features, "PARALLEL_MAX_BYTES", 1000)  # a file over it is read here too (memory first)
    features_from_path(path, jobs=2)
    assert not pids.exists()
    monkeypatch.setattr(features, "PARALLEL_MAX_BYTES", 1 << 30)
    two = features_from_path(path, jobs=2)
    assert [int(p) for p in pids.read_text().split()] != [os.getpid()] and len(pids.read_text().split()) == 1
    pd.testing.assert_frame_equal(two, one, check_exact=True)
    assert two.to_json() == one.to_json() == features_from_geojson(doc).to_json()
    assert two["district"].isna().sum() == one["district"].isna().sum() >= 1
    checked = two.attrs[features.CHECKED]
    assert checked.rows(two.geometry.to_numpy()).sum() == two.geometry.notna().sum()


def test_a_worker_that_dies_leaves_its_lines_to_this_process(tmp_path, monkeypatch):
    doc = _doc(60)
    path = tmp_path / "built.geojson"
    path.write_text(features.dumps_geojson(doc), encoding="utf-8")
    monkeypatch.setattr(features, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(features, "_span_of_file", dying_worker)
    assert features_from_path(path, jobs=2).to_json() == features_from_geojson(doc).to_json()


def test_a_system_that_refuses_the_worker_leaves_the_whole_read_here(tmp_path, monkeypatch):
    """No semaphores for the pool's queues (no /dev/shm), or no process to fork: read in one process."""
    doc = _doc(60)
    path = tmp_path / "built.geojson"
    path.write_text(features.dumps_geojson(doc), encoding="utf-8")
    monkeypatch.setattr(features, "PARALLEL_MIN_BYTES", 0)
    for refused in (NoSemaphores, NoFork):
        monkeypatch.setattr(gio, "ProcessPoolExecutor", refused)
        assert features_from_path(path, jobs=2).to_json() == features_from_geojson(doc).to_json()
