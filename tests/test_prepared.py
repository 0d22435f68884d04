"""The app's prepared files (``geoplan.prepared``): exact round trips, keys that change with every input, damaged
files recomputed, corrections never served stale, the app reading what a previous process kept, and
``geoplan prepare``."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings as hsettings, strategies as st

from geoplan import prepared as P
from geoplan.cli import main
from geoplan.features import CHECKED
from geoplan.maps import map_data, map_data_bytes, map_data_from_bytes

from conftest import REPORT, ROOT

sys.path.insert(0, str(ROOT / "bench"))

from app_distinct import distinct_geodata  # noqa: E402


def _same(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    """Equal as the app uses them: values, missing values, dtypes, index, CRS and attrs."""
    assert_geodataframe_equal(a, b, check_dtype=True, check_index_type=True, check_crs=True)
    assert list(a.dtypes) == list(b.dtypes)
    assert a.index.equals(b.index) and type(a.index) is type(b.index)
    # The record of checked geometries names one process's objects (features.CHECKED): never kept, never compared.
    assert {k: v for k, v in a.attrs.items() if k != CHECKED} == {k: v for k, v in b.attrs.items() if k != CHECKED}
    for col in a.columns:
        assert (a[col].isna() == b[col].isna()).all(), col


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the pipeline and the map data are computed (not read)."""
    import geoplan.features

    calls = {"pipeline": 0, "map_data": 0}
    real_features, real_map_data = geoplan.features.features_from_report, P.map_data

    def features(*args, **kwargs):
        calls["pipeline"] += 1
        return real_features(*args, **kwargs)

    def drawn(*args, **kwargs):
        calls["map_data"] += 1
        return real_map_data(*args, **kwargs)

    monkeypatch.setattr(geoplan.features, "features_from_report", features)
    monkeypatch.setattr(P, "map_data", drawn)
    return calls


@pytest.fixture
def shipped() -> tuple[bytes, str]:
    return REPORT.read_bytes(), REPORT.name


@pytest.fixture
def geodata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped geodata, to change a gazetteer file in."""
    root = tmp_path / "geodata"
    shutil.copytree(ROOT / "geodata", root)
    monkeypatch.setenv("GEOPLAN_GEODATA_DIR", str(root))
    return root


# -- round trips -----------------------------------------------------------------------------------------------


def test_the_shipped_report_round_trips_exactly(tmp_path, shipped, counted):
    gdf, key = P.prepared_frame(*shipped, directory=tmp_path)
    again, key2 = P.prepared_frame(*shipped, directory=tmp_path)
    assert key == key2 and counted["pipeline"] == 1  # the second was read
    _same(gdf, again)
    assert gdf["geometry"].isna().any() and gdf["district"].isna().any()  # missing values were there to keep
    assert again.attrs["report"]["city"]["adcode"] == "140100"


def test_distinct_places_round_trip_exactly(tmp_path, monkeypatch, counted):
    root = distinct_geodata(tmp_path / "geodata", 60, seed=3)
    counted["pipeline"] = 0  # generating the places builds the shipped report's features
    monkeypatch.setenv("GEOPLAN_GEODATA_DIR", str(root))
    report = root / "reports" / "taiyuan-2025.txt"
    data, name = report.read_bytes(), report.name
    gdf, key = P.prepared_frame(data, name, directory=tmp_path / "prepared")
    assert gdf.geometry.notna().sum() >= 60
    again, _ = P.prepared_frame(data, name, directory=tmp_path / "prepared")
    assert counted["pipeline"] == 1
    _same(gdf, again)
    md = P.prepared_drawn(key, "amap", gdf, directory=tmp_path / "prepared")
    assert P.prepared_drawn(key, "amap", gdf, directory=tmp_path / "prepared") == md
    assert counted["map_data"] == 1


_TEXT = st.one_of(st.none(), st.text(max_size=12))
_GEOM = st.one_of(
    st.none(),
    st.tuples(st.floats(-180, 180), st.floats(-90, 90)).map(shapely.Point),
    st.lists(st.tuples(st.floats(110, 114), st.floats(36, 39)), min_size=2, max_size=5).map(shapely.LineString),
)


@hsettings(max_examples=40)
@given(
    rows=st.lists(st.tuples(_TEXT, st.one_of(st.none(), st.integers(-(2**40), 2**40)), _GEOM), max_size=12),
    attrs=st.dictionaries(
        st.text(max_size=5), st.one_of(st.none(), st.text(max_size=5), st.floats(allow_nan=False, allow_infinity=False))
    ),
)
def test_any_frame_of_text_numbers_and_geometries_round_trips(tmp_path_factory, rows, attrs):
    gdf = gpd.GeoDataFrame(
        {
            "text": pd.array([r[0] for r in rows], dtype="str"),
            "code": pd.array([r[1] for r in rows], dtype="Int64"),
            "geometry": gpd.GeoSeries([r[2] for r in rows], dtype="geometry"),
        },
        geometry="geometry",
        crs="EPSG:4326",
    )
    gdf.attrs = {"report": attrs}
    folder = tmp_path_factory.mktemp("prepared")
    P.write_frame(folder, "k", gdf)
    _same(gdf, P.read_frame(folder, "k"))


@pytest.mark.parametrize("value", [("a tuple", "comes back a list"), float("inf"), float("nan")])
def test_attrs_json_would_change_are_not_kept(tmp_path, caplog, value):
    gdf = gpd.GeoDataFrame({"a": ["x"]}, geometry=[shapely.Point(1, 2)], crs="EPSG:4326")
    gdf.attrs = {"report": {"lead": value}}
    with caplog.at_level(logging.WARNING, logger="geoplan.prepared"):
        P.write_frame(tmp_path, "k", gdf)
    assert "would not read back" in caplog.text
    assert P.read_frame(tmp_path, "k") is None and not list(tmp_path.iterdir())


def test_map_data_round_trips_with_and_without_bands(tmp_path, monkeypatch, gdf):
    import geoplan.maps

    small = map_data(gdf, "osm", lod=True)
    assert not small.bands and map_data_from_bytes(map_data_bytes(small)) == small
    monkeypatch.setattr(geoplan.maps, "LOD_MIN_VERTICES", 2_000)  # bands for 300 places, as for 10k
    root = distinct_geodata(tmp_path / "geodata", 300, seed=1)
    monkeypatch.setenv("GEOPLAN_GEODATA_DIR", str(root))
    report = root / "reports" / "taiyuan-2025.txt"
    many, _ = P.prepared_frame(report.read_bytes(), report.name, directory=tmp_path / "prepared")
    banded = map_data(many, "light", lod=True)
    assert banded.bands and banded.props  # what 10k distinct places look like, in small
    assert map_data_from_bytes(map_data_bytes(banded)) == banded
    with pytest.raises(ValueError):
        map_data_from_bytes(map_data_bytes(banded)[:-5])


# -- keys: anything that changes the result changes the file ---------------------------------------------------------


def test_changed_report_bytes_or_name_are_recomputed(tmp_path, shipped, counted):
    data, name = shipped
    P.prepared_frame(data, name, directory=tmp_path)
    P.prepared_frame(data + "◆推进太原火车站东站房改造。\n".encode(), name, directory=tmp_path)
    P.prepared_frame(data, "other.txt", directory=tmp_path)
    assert counted["pipeline"] == 3
    P.prepared_frame(data, "other.txt", directory=tmp_path)
    assert counted["pipeline"] == 3


def test_a_changed_gazetteer_is_recomputed(tmp_path, geodata, shipped, counted):
    gdf, key = P.prepared_frame(*shipped, directory=tmp_path)
    path = geodata / "gazetteer.geojson"
    path.write_bytes(path.read_bytes().replace("太原火车站东站房".encode(), "太原火车站东站楼".encode()))
    changed, key2 = P.prepared_frame(*shipped, directory=tmp_path)
    assert key2 != key and counted["pipeline"] == 2
    assert "太原火车站东站房" in set(gdf["name"]) and "太原火车站东站房" not in set(changed["name"])
    (geodata / "admin" / "units.csv").write_bytes((geodata / "admin" / "units.csv").read_bytes() + b"\n")
    assert P.prepared_frame(*shipped, directory=tmp_path)[1] not in (key, key2)  # the admin units too


def test_changed_code_or_library_versions_are_recomputed(tmp_path, shipped, counted, monkeypatch):
    _, key = P.prepared_frame(*shipped, directory=tmp_path)
    monkeypatch.setattr(P, "code_key", lambda: "another geoplan")
    _, key2 = P.prepared_frame(*shipped, directory=tmp_path)
    assert key2 != key and counted["pipeline"] == 2


def test_the_code_key_covers_geoplans_modules_not_its_assets(tmp_path):
    package = tmp_path / "geoplan"
    shutil.copytree(ROOT / "src" / "geoplan", package, ignore=shutil.ignore_patterns("__pycache__"))
    key = P.package_key(package)
    (package / "static" / "geoplan.css").write_text("/* a page's style */", encoding="utf-8")
    assert P.package_key(package) == key
    (package / "features.py").write_bytes((package / "features.py").read_bytes() + b"\n# changed\n")
    changed = P.package_key(package)
    assert changed != key
    (package / "vocab.json").write_text("{}", encoding="utf-8")  # data shipped beside the code counts too
    assert P.package_key(package) != changed
    assert P.code_key() == P.code_key() and len(P.code_key()) == 64


# -- damaged files ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # cut short
        lambda raw: raw[:200] + bytes([raw[200] ^ 0xFF]) + raw[201:],  # one byte flipped
        lambda raw: b"PK\x03\x04" + raw[4:],  # another format
        lambda raw: b"",  # empty
    ],
    ids=["cut", "flipped", "other-format", "empty"],
)
def test_a_damaged_prepared_file_is_logged_and_recomputed(tmp_path, shipped, counted, caplog, damage):
    gdf, key = P.prepared_frame(*shipped, directory=tmp_path)
    (path,) = tmp_path.glob("report-*.gpk")
    path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="geoplan.prepared"):
        again, _ = P.prepared_frame(*shipped, directory=tmp_path)
    assert counted["pipeline"] == 2
    assert f"prepared report {path} ignored" in caplog.text
    _same(gdf, again)
    assert P.read_frame(tmp_path, key) is not None  # kept again, whole


def test_a_damaged_map_data_file_is_recomputed(tmp_path, gdf, counted, caplog):
    data = P.prepared_drawn("k", "osm", gdf, directory=tmp_path)
    (path,) = tmp_path.glob("mapdata-*.gpk")
    raw = path.read_bytes()
    path.write_bytes(raw[:100] + b"x" + raw[101:])
    with caplog.at_level(logging.WARNING, logger="geoplan.prepared"):
        assert P.prepared_drawn("k", "osm", gdf, directory=tmp_path) == data
    assert counted["map_data"] == 2 and "checksum" in caplog.text


def test_a_checksummed_file_of_nonsense_is_not_trusted(tmp_path, caplog):
    P._write(tmp_path, "report", "k", {"attrs": {}}, b"not parquet")
    P._write(tmp_path, "mapdata", P._map_key("k", "osm"), {}, b"\x05\x00\x00\x00\x00\x00\x00\x00{}")
    with caplog.at_level(logging.WARNING, logger="geoplan.prepared"):
        assert P.read_frame(tmp_path, "k") is None
        assert P.read_map_data(tmp_path, "k", "osm") is None
    assert caplog.text.count("ignored") == 2


def test_a_file_under_another_key_is_not_read(tmp_path, gdf):
    P.write_frame(tmp_path, "a", gdf)
    os.replace(tmp_path / "report-a.gpk", tmp_path / "report-b.gpk")
    assert P.read_frame(tmp_path, "b") is None


def test_old_keys_are_pruned_and_the_newest_used_kept(tmp_path, gdf):
    for i in range(P.KEPT["report"] + 3):
        P.write_frame(tmp_path, f"k{i}", gdf)
        os.utime(tmp_path / f"report-k{i}.gpk", (1000 + i, 1000 + i))
    P.read_frame(tmp_path, "k3")  # used: the newest now
    P.write_frame(tmp_path, "last", gdf)
    kept = {p.name for p in tmp_path.glob("report-*.gpk")}
    assert len(kept) == P.KEPT["report"] and "report-k3.gpk" in kept and "report-last.gpk" in kept
    assert "report-k4.gpk" not in kept
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_an_unwritable_folder_costs_only_the_keeping(tmp_path, shipped, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="geoplan.prepared"):
        gdf, _ = P.prepared_frame(*shipped, directory=blocked / "prepared")
    assert len(gdf) and "not kept" in caplog.text


# -- corrections ----------------------------------------------------------------------------------------------


def test_a_correction_names_other_map_data_and_is_never_served_stale(_data_dir, gdf, shipped):
    from geoplan.corrections import CorrectionStore

    first = P.prepare_report(*shipped, data_dir=_data_dir)
    assert first.computed and first.corrections == 0 and first.features == len(gdf)
    row = gdf[gdf["name"] == "太原火车站东站房"].iloc[0]
    moved = shapely.Point(row.geometry.x + 0.01, row.geometry.y - 0.005)
    store = CorrectionStore.in_data_dir(_data_dir)
    store.add(row["item_id"], moved.wkt, place=row["name"], note="东站房在铁路东侧", author="测试")
    second = P.prepare_report(*shipped, data_dir=_data_dir)
    assert not second.computed and second.corrections == 1  # the frame is read, the correction applied on it
    folder = P.prepared_dir(_data_dir)
    before = P.read_map_data(folder, P.drawn_key(first.key, P.corrections_key([])), "osm")
    after = P.read_map_data(folder, P.drawn_key(second.key, P.corrections_key(store.all())), "osm")
    assert before is not None and after is not None and before != after
    assert f"{moved.x:.6f}".rstrip("0") in "".join(layer[2] for layer in after.layers)
    assert f"{moved.x:.6f}".rstrip("0") not in "".join(layer[2] for layer in before.layers)
    store.undo(store.all()[0].id)  # undone: the corrections are as before, and so is the map data
    assert P.drawn_key(second.key, P.corrections_key(store.all())) == P.drawn_key(first.key, P.corrections_key([]))


# -- the app -------------------------------------------------------------------------------------------------


def _app_run():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90).run()
    assert not at.exception, at.exception
    return at


def test_a_second_app_process_reads_the_prepared_report_and_map(_data_dir, counted):
    import streamlit as st

    st.cache_resource.clear()  # as a fresh server process: nothing in memory
    try:
        _app_run()
        assert counted == {"pipeline": 1, "map_data": 1}
        assert len(list(P.prepared_dir(_data_dir).glob("report-*.gpk"))) == 1
        st.cache_resource.clear()  # the server restarts
        _app_run()
        assert counted == {"pipeline": 1, "map_data": 1}  # read, not computed
    finally:
        st.cache_resource.clear()


def test_the_app_reads_what_geoplan_prepare_kept(_data_dir, counted):
    import streamlit as st

    assert main(["prepare"]) == 0
    assert counted == {"pipeline": 1, "map_data": 1}  # the app's first basemap
    st.cache_resource.clear()
    try:
        _app_run()
        assert counted == {"pipeline": 1, "map_data": 1}
    finally:
        st.cache_resource.clear()


def test_the_app_shows_a_correction_made_after_prepare(_data_dir, gdf, counted):
    import streamlit as st

    from geoplan.corrections import CorrectionStore

    assert main(["prepare"]) == 0
    item = gdf[gdf["precision"] == "city"].iloc[0]
    CorrectionStore.in_data_dir(_data_dir).add(item["item_id"], "POINT (112.55 37.87)", note="市政府所在地")
    st.cache_resource.clear()
    try:
        at = _app_run()
        assert counted["pipeline"] == 1 and counted["map_data"] == 2  # the corrected map is drawn anew
        counts = next(h.proto.body for h in at.get("html") if "gp-counts" in h.proto.body)
        located = gdf.loc[gdf.geometry.notna(), "item_id"].nunique() + 1
        assert f"已定位 {located}" in counts
    finally:
        st.cache_resource.clear()


# -- the command ----------------------------------------------------------------------------------------------


def test_prepare_says_what_it_kept_and_then_that_it_was_kept(_data_dir, tmp_path, capsys):
    assert main(["prepare"]) == 0
    err = capsys.readouterr().err
    assert "taiyuan-2025.txt: 49 features (computed)" in err and str(P.prepared_dir(_data_dir)) in err
    assert "map data on osm with 0 corrections" in err
    names = sorted(p.name.split("-")[0] for p in P.prepared_dir(_data_dir).iterdir())
    assert names == ["gazetteer", "mapdata", "report"]
    other = tmp_path / "elsewhere"
    assert main(["prepare", str(REPORT), "--data-dir", str(other), "--basemap", "light", "--basemap", "amap"]) == 0
    assert "(computed)" in capsys.readouterr().err and len(list(P.prepared_dir(other).iterdir())) == 4
    assert main(["prepare", str(REPORT), "--data-dir", str(other)]) == 0
    assert "(already prepared)" in capsys.readouterr().err and len(list(P.prepared_dir(other).iterdir())) == 5
    assert main(["prepare", "--basemap", "mercator"]) == 2  # click's usage error
    assert "mercator" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "where"),
    [("item-first.txt", ":1: "), ("binary.bin", ":3: "), ("empty.txt", ":1: "), ("missing.txt", ": cannot read file")],
)
def test_prepare_names_a_bad_reports_file_and_line(data_dir, _data_dir, capsys, name, where):
    path = data_dir / "bad" / name if name != "binary.bin" else data_dir / name
    assert main(["prepare", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"geoplan: error: {path}{where}") and err.count("\n") == 1
    assert not list(P.prepared_dir(_data_dir).glob("report-*"))


def test_prepare_refuses_a_folder(tmp_path, capsys):
    assert main(["prepare", str(tmp_path)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_prepared_frames_are_independent_copies(tmp_path, shipped):
    """The app treats the frame as read-only, but a caller that writes to a read one must not change the file."""
    P.prepared_frame(*shipped, directory=tmp_path)
    gdf, _ = P.prepared_frame(*shipped, directory=tmp_path)
    gdf.loc[0, "name"] = "改过"
    again, _ = P.prepared_frame(*shipped, directory=tmp_path)
    assert again.loc[0, "name"] != "改过"
    assert np.array_equal(again.geometry.isna(), gdf.geometry.isna())


def test_the_record_of_checked_geometries_is_not_kept(tmp_path, shipped):
    """A report's frame marks the gazetteer's checked geometries for map_data; the frame read back holds other
    objects, so the record must not come back with it (map_data would trust nothing it names, or worse)."""
    computed, _ = P.prepared_frame(*shipped, directory=tmp_path)
    assert CHECKED in computed.attrs and computed.attrs[CHECKED].geoms
    read, _ = P.prepared_frame(*shipped, directory=tmp_path)
    assert CHECKED not in read.attrs
    _same(computed, read)
