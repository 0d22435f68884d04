"""Corrections: the SQLite store, geometry checks, applying them to a build, and the CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import shapely
from shapely.geometry import Point, box

from geoplan.cli import main
from geoplan.corrections import (
    Correction,
    CorrectionStore,
    apply_corrections,
    current_geometry,
    default_store_path,
    parse_geometry,
)
from geoplan.errors import CorrectionError, GeometryError
from geoplan.features import check_rfc7946, features_to_geojson, validate_geojson
from geoplan.gazetteer import load_gazetteer


# A rough box around Taiyuan, so the checks do not depend on the shipped boundaries.
CITY = box(111.45, 37.40, 113.21, 38.48)
IN_CITY = "POINT (112.55 37.87)"
SQUARE = "POLYGON ((112.50 37.80, 112.52 37.80, 112.52 37.82, 112.50 37.82, 112.50 37.80))"
BOW_TIE = "POLYGON ((112.5 37.8, 112.6 37.9, 112.6 37.8, 112.5 37.9, 112.5 37.8))"


@pytest.fixture
def store(tmp_path: Path) -> CorrectionStore:
    return CorrectionStore(tmp_path / "data" / "corrections.sqlite", city_area=CITY)


def _placeless_item(gdf) -> str:
    """An item with a single row and no geometry (city-wide or unlocated)."""
    counts = gdf["item_id"].value_counts()
    rows = gdf[gdf["item_id"].map(counts).eq(1) & gdf.geometry.isna()]
    if rows.empty:
        pytest.skip("the shipped report has no city-wide or unlocated item")
    city = rows[rows["precision"] == "city"]
    return str((city if not city.empty else rows)["item_id"].iloc[0])


def _located_row(gdf):
    """A row with a name and a geometry, of an item that has other rows too if possible."""
    rows = gdf[gdf.geometry.notna() & gdf["name"].notna()]
    if rows.empty:
        pytest.skip("the shipped report has no located place")
    counts = gdf["item_id"].value_counts()
    multi = rows[rows["item_id"].map(counts).gt(1)]
    return (multi if not multi.empty else rows).iloc[0]


# -- the store ---------------------------------------------------------------------------------------


def test_store_round_trip(store: CorrectionStore) -> None:
    assert not store.path.exists()
    assert store.list() == []
    assert store.path.exists()  # directory and schema made on first use
    c = store.add("it-0123456789", IN_CITY, note="site visit 2025-03", author="amy", place="某路")
    assert isinstance(c, Correction)
    assert (c.id, c.item_id, c.place, c.note, c.author, c.undone_at) == (
        1, "it-0123456789", "某路", "site visit 2025-03", "amy", None)
    assert c.geometry.equals_exact(Point(112.55, 37.87), 0)
    assert c.created_at.endswith("+00:00")
    d = store.add("it-0123456789", SQUARE, note="area", previous="POINT (112.5 37.8)")
    assert store.list() == [c, d]
    got = store.get(d.id)
    assert got == d
    assert got.geometry.equals(shapely.from_wkt(SQUARE))
    assert got.previous.equals(Point(112.5, 37.8))
    assert store.active_for(["it-0123456789", "it-other"]) == [c, d]
    assert store.active_for(["it-other"]) == []
    assert store.schema_version == 1
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM corrections").fetchone()[0] == 2


def test_full_precision_survives(store: CorrectionStore) -> None:
    c = store.add("it-x", "POINT (112.123456789012 37.987654321098)", note="precise")
    assert store.get(c.id).geometry.equals_exact(Point(112.123456789012, 37.987654321098), 0)


def test_default_store_path_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOPLAN_DATA_DIR", str(tmp_path / "env"))
    assert default_store_path() == tmp_path / "env" / "corrections.sqlite"
    assert CorrectionStore().path == tmp_path / "env" / "corrections.sqlite"
    assert default_store_path(tmp_path) == tmp_path / "corrections.sqlite"


def test_note_and_item_required(store: CorrectionStore) -> None:
    with pytest.raises(CorrectionError, match="note"):
        store.add("it-x", IN_CITY, note="  ")
    with pytest.raises(CorrectionError, match="item id"):
        store.add("", IN_CITY, note="n")
    assert store.list(include_undone=True) == []


def test_undo(store: CorrectionStore) -> None:
    a = store.add("it-a", IN_CITY, note="one")
    b = store.add("it-b", IN_CITY, note="two")
    undone = store.undo(a.id)
    assert undone.undone_at is not None and not undone.active
    assert store.list() == [b]
    assert [c.id for c in store.list(include_undone=True)] == [a.id, b.id]
    assert store.get(a.id).undone_at == undone.undone_at  # kept for review
    assert store.active_for(["it-a"]) == []
    with pytest.raises(CorrectionError, match="already undone"):
        store.undo(a.id)
    with pytest.raises(CorrectionError, match="no correction with id 99"):
        store.undo(99)
    with pytest.raises(CorrectionError, match="no correction with id 99"):
        store.get(99)


def test_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "corrections.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(CorrectionError, match="newer"):
        CorrectionStore(path, city_area=None).list()


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "corrections.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CorrectionError, match="corrections store"):
        CorrectionStore(path, city_area=None).list()


# -- geometry checks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("POINT (112.5", "not valid WKT"),
        ("garbage", "not valid WKT"),
        ('{"type": "Point", "coordinates": [112.5', "not valid GeoJSON"),
        ('{"type": "Point", "coordinates": "x"}', "malformed GeoJSON"),
        (BOW_TIE, "Self-intersection"),
        ("POINT (200 37.8)", "outside lon/lat range"),
        ("POINT (37.8 112.5)", "lat/lon swapped"),
        ('{"type": "Point", "coordinates": [37.87, 112.55]}', "lat/lon swapped"),
        ("POINT (116.40 39.90)", "outside the city"),  # Beijing
        ("POINT EMPTY", "empty"),
        ("GEOMETRYCOLLECTION EMPTY", "empty"),
        ("", "empty"),
        ('{"type": "Feature", "properties": {}, "geometry": null}', "no geometry"),
    ],
)
def test_bad_geometry_refused_nothing_written(store: CorrectionStore, text: str, message: str) -> None:
    with pytest.raises(GeometryError, match=message):
        store.add("it-x", text, note="bad")
    assert store.list(include_undone=True) == []


def test_invalid_polygon_not_silently_repaired() -> None:
    with pytest.raises(GeometryError, match="invalid Polygon"):
        parse_geometry(BOW_TIE, city_area=None)


def test_swapped_inside_city_detected() -> None:
    # Both orders are valid lon/lat here, so only the city says which is right.
    with pytest.raises(GeometryError, match="swapped"):
        parse_geometry("POINT (40.5 50.5)", city_area=box(50, 40, 51, 41))


def test_parse_geometry_accepts_wkt_and_geojson() -> None:
    pt = Point(112.55, 37.87)
    assert parse_geometry(IN_CITY, city_area=CITY).equals(pt)
    assert parse_geometry("POINT Z (112.55 37.87 800)", city_area=CITY).equals_exact(pt, 0)
    geom = {"type": "Point", "coordinates": [112.55, 37.87]}
    assert parse_geometry(json.dumps(geom), city_area=CITY).equals(pt)
    feature = {"type": "Feature", "properties": {"x": 1}, "geometry": geom}
    assert parse_geometry(json.dumps(feature), city_area=CITY).equals(pt)
    fc = {"type": "FeatureCollection", "features": [feature]}
    assert parse_geometry(json.dumps(fc), city_area=CITY).equals(pt)
    assert parse_geometry("POINT (116.40 39.90)", city_area=None).equals(Point(116.4, 39.9))


def test_shipped_city_area_refuses_beijing(tmp_path: Path) -> None:
    if load_gazetteer(strict=False).city_area is None:
        pytest.skip("no city boundary shipped")
    s = CorrectionStore(tmp_path / "c.sqlite")  # default: the shipped gazetteer's city area
    with pytest.raises(GeometryError, match="outside the city"):
        s.add("it-x", "POINT (116.40 39.90)", note="Beijing")
    assert s.add("it-x", IN_CITY, note="Taiyuan").id == 1


# -- applying corrections to a build ----------------------------------------------------------------


def test_apply_point_to_city_wide_item(gdf, store: CorrectionStore) -> None:
    item = _placeless_item(gdf)
    c = store.add(item, IN_CITY, note="the new depot is here", author="amy")
    out, left = apply_corrections(gdf, store.list())
    assert left == []
    assert len(out) == len(gdf)
    assert out.attrs == gdf.attrs
    row = out[out["item_id"] == item].iloc[0]
    assert row["precision"] == "corrected"
    assert row["precision_code"] == 1 and row["precision_en"] == "corrected by hand"
    assert row.geometry.equals(c.geometry)
    assert row["geometry_kind"] == "point"
    assert row["geocoder"] == "correction" and row["confidence"] == "high"
    assert "the new depot is here" in row["source"] and "amy" in row["source"]
    assert str(out["precision_code"].dtype) == "Int64"
    # the input is left alone, and the result is still valid RFC 7946
    assert gdf[gdf["item_id"] == item].geometry.isna().all()
    validate_geojson(features_to_geojson(out))
    gaz = load_gazetteer(strict=False)
    out2, _ = apply_corrections(gdf, store.list(), gazetteer=gaz)
    assert out2[out2["item_id"] == item]["district"].iloc[0] == gaz.district_of(c.geometry)


def test_apply_named_place_to_placeless_item_locates_it(gdf, store: CorrectionStore) -> None:
    item = _placeless_item(gdf)
    store.add(item, SQUARE, note="from the plan drawing", place="新区片")
    out, left = apply_corrections(gdf, store.list())
    assert left == []
    rows = out[out["item_id"] == item]
    assert len(rows) == 1
    assert rows["name"].iloc[0] == "新区片" and rows["precision"].iloc[0] == "corrected"
    assert rows["geometry_kind"].iloc[0] == "area"


def test_apply_to_existing_place(gdf, store: CorrectionStore) -> None:
    target = _located_row(gdf)
    c = store.add(target["item_id"], SQUARE, note="traced from the zoning map", place=target["name"])
    out, left = apply_corrections(gdf, store.list())
    assert left == []
    assert len(out) == len(gdf)
    row = out[out["fid"] == target["fid"]].iloc[0]
    assert row.geometry.equals(c.geometry) and row["precision"] == "corrected"
    assert row["name"] == target["name"] and row["geometry_kind"] == "area"
    others = out[(out["item_id"] == target["item_id"]) & (out["fid"] != target["fid"])]
    before = gdf[(gdf["item_id"] == target["item_id"]) & (gdf["fid"] != target["fid"])]
    assert list(others["precision"]) == list(before["precision"])
    assert current_geometry(gdf, target["item_id"], target["name"]).equals(target.geometry)


def test_apply_new_place_appends_row(gdf, store: CorrectionStore) -> None:
    target = _located_row(gdf)
    item = target["item_id"]
    c = store.add(item, "LINESTRING (112.50 37.80, 112.55 37.85)", note="a third section", place="某新路")
    out, left = apply_corrections(gdf, store.list())
    assert left == []
    assert len(out) == len(gdf) + 1
    fids = list(out.loc[out["item_id"] == item, "fid"])
    assert fids[-1] == f"{item}-c{c.id}"  # kept with its item's rows
    idx = list(out["fid"]).index(fids[-1])
    assert out["item_id"].iloc[idx - 1] == item
    row = out.iloc[idx]
    assert row["name"] == "某新路" and row["geometry_kind"] == "line" and row["text"] == target["text"]
    validate_geojson(features_to_geojson(out))


def test_later_correction_wins_and_undone_ignored(gdf, store: CorrectionStore) -> None:
    item = _placeless_item(gdf)
    a = store.add(item, IN_CITY, note="first")
    b = store.add(item, "POINT (112.6 37.9)", note="second")
    out, _ = apply_corrections(gdf, store.list())
    assert out[out["item_id"] == item].geometry.iloc[0].equals(b.geometry)
    store.undo(b.id)
    out, _ = apply_corrections(gdf, store.list(include_undone=True))
    row = out[out["item_id"] == item].iloc[0]
    assert row.geometry.equals(a.geometry) and "first" in row["source"]


def test_orphans_and_ambiguous_reported(gdf, store: CorrectionStore) -> None:
    orphan = store.add("it-0000000000", IN_CITY, note="the report changed")
    counts = gdf["item_id"].value_counts()
    multi = counts[counts > 1]
    ambiguous = store.add(multi.index[0], IN_CITY, note="which place?") if len(multi) else None
    out, left = apply_corrections(gdf, store.list())
    assert left == [c for c in (orphan, ambiguous) if c is not None]
    assert len(out) == len(gdf)
    assert (out["precision"] == "corrected").sum() == 0
    with pytest.raises(CorrectionError, match="no item"):
        current_geometry(gdf, "it-0000000000", None)
    if len(multi):
        with pytest.raises(CorrectionError, match="places"):
            current_geometry(gdf, multi.index[0], None)


# -- export and import ------------------------------------------------------------------------------


def test_export_import_round_trip(tmp_path: Path, store: CorrectionStore) -> None:
    cw = "POLYGON ((112.50 37.80, 112.50 37.82, 112.52 37.82, 112.52 37.80, 112.50 37.80))"  # clockwise
    a = store.add("it-a", cw, note="traced", author="amy", place="片区", previous=IN_CITY)
    b = store.add("it-b", "LINESTRING (112.50 37.80, 112.55 37.85)", note="road course")
    dropped = store.add("it-c", IN_CITY, note="wrong")
    store.undo(dropped.id)
    out = store.export_geojson(tmp_path / "out" / "corrections.geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert check_rfc7946(doc) == []
    assert [f["properties"]["item_id"] for f in doc["features"]] == ["it-a", "it-b"]
    assert set(doc["features"][0]["properties"]) >= {
        "id", "item_id", "place", "previous", "note", "author", "created_at", "undone_at"}

    fresh = CorrectionStore(tmp_path / "fresh" / "corrections.sqlite", city_area=CITY)
    imported = fresh.import_geojson(out)
    assert len(imported) == 2 and fresh.list() == imported
    for old, new in zip((a, b), imported, strict=True):
        assert (new.item_id, new.place, new.note, new.author, new.created_at) == (
            old.item_id, old.place, old.note, old.author, old.created_at)
        assert new.geometry.equals(old.geometry)
        assert (new.previous is None and old.previous is None) or new.previous.equals(old.previous)
    assert fresh.import_geojson(out) == []  # importing again adds nothing
    assert len(fresh.list()) == 2


def test_import_is_all_or_nothing(tmp_path: Path, store: CorrectionStore) -> None:
    good = {"type": "Feature", "properties": {"item_id": "it-good", "note": "fine"},
            "geometry": {"type": "Point", "coordinates": [112.55, 37.87]}}
    swapped = {"type": "Feature", "properties": {"item_id": "it-swapped", "note": "oops"},
               "geometry": {"type": "Point", "coordinates": [37.87, 112.55]}}
    no_note = {"type": "Feature", "properties": {"item_id": "it-nonote"},
               "geometry": {"type": "Point", "coordinates": [112.55, 37.87]}}
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [good, swapped, no_note]}))
    with pytest.raises(CorrectionError) as err:
        store.import_geojson(path)
    msg = str(err.value)
    assert "feature 1 (item it-swapped)" in msg and "swapped" in msg
    assert "feature 2 (item it-nonote)" in msg and "note" in msg
    assert "it-good" not in msg
    assert store.list(include_undone=True) == []
    path.write_text("{not json")
    with pytest.raises(CorrectionError, match="not valid JSON"):
        store.import_geojson(path)
    path.write_text(json.dumps({"type": "Feature"}))
    with pytest.raises(CorrectionError, match="FeatureCollection"):
        store.import_geojson(path)


# -- concurrency ------------------------------------------------------------------------------------


def test_concurrent_threads_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "corrections.sqlite"

    def session(n: int) -> None:
        s = CorrectionStore(path, city_area=None)  # one store per app session, as Streamlit would
        for k in range(25):
            s.add(f"it-t{n}", f"POINT (112.{n}{k:02d} 37.8)", note=f"thread {n} #{k}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(session, range(8)))
    rows = CorrectionStore(path, city_area=None).list()
    assert len(rows) == 200
    assert sorted(c.id for c in rows) == list(range(1, 201))
    assert {c.note for c in rows} == {f"thread {n} #{k}" for n in range(8) for k in range(25)}


def test_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "corrections.sqlite"
    script = textwrap.dedent("""
        import sys
        from geoplan.corrections import CorrectionStore
        s = CorrectionStore(sys.argv[1], city_area=None)
        for k in range(100):
            s.add("it-p" + sys.argv[2], "POINT (112.5 37.8)", note=f"process {sys.argv[2]} #{k}")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), str(n)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    rows = CorrectionStore(path, city_area=None).list()
    assert len(rows) == 200
    assert len({c.note for c in rows}) == 200


# -- the CLI ----------------------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["corrections", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("sub", [[], ["add"], ["list"], ["undo"], ["export"], ["import"]])
def test_cli_help(capsys: pytest.CaptureFixture[str], sub: list[str]) -> None:
    code, out, _ = _run(capsys, *sub, "--help")
    assert code == 0
    assert "Usage" in out
    if sub:
        assert "--data-dir" in out


def test_cli_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str], gdf) -> None:
    d = str(tmp_path / "data")
    item = _placeless_item(gdf)
    code, out, err = _run(capsys, "add", item, "--geometry", IN_CITY, "--note", "seen on site",
                          "--author", "amy", "--data-dir", d)
    assert code == 0, err
    assert out.split("  ")[:5] == ["1", item, "-", "Point", "amy"]
    assert out.rstrip("\n").endswith("seen on site")

    target = _located_row(gdf)
    geojson = json.dumps({"type": "Point", "coordinates": [112.56, 37.86]})
    code, out, err = _run(capsys, "add", target["item_id"], "-g", geojson, "-n", "moved",
                          "--place", target["name"], "--data-dir", d)
    assert code == 0, err
    store = CorrectionStore.in_data_dir(d, city_area=None)
    assert store.get(2).previous.equals(target.geometry)  # the replaced geometry is kept
    assert store.get(1).previous is None  # a city-wide item had none

    code, out, _ = _run(capsys, "list", "--data-dir", d)
    assert [line.split("  ")[0] for line in out.splitlines()] == ["1", "2"]
    code, out, _ = _run(capsys, "undo", "1", "--data-dir", d)
    assert code == 0 and out.startswith("undone: 1  ")
    code, out, _ = _run(capsys, "list", "--data-dir", d)
    assert [line.split("  ")[0] for line in out.splitlines()] == ["2"]
    code, out, _ = _run(capsys, "list", "--all", "--data-dir", d)
    lines = out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["1", "2"] and "[undone " in lines[0]
    code, _, err = _run(capsys, "undo", "1", "--data-dir", d)
    assert code == 2 and err.startswith("geoplan: error:") and "already undone" in err

    exported = tmp_path / "c.geojson"
    code, _, err = _run(capsys, "export", "-o", str(exported), "--data-dir", d)
    assert code == 0 and exported.exists() and "1 corrections" in err
    code, out, err = _run(capsys, "import", str(exported), "--data-dir", str(tmp_path / "other"))
    assert code == 0 and "imported 1" in err
    assert [c.item_id for c in CorrectionStore.in_data_dir(tmp_path / "other", city_area=None).list()] == [
        target["item_id"]]


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], gdf) -> None:
    d = str(tmp_path / "data")
    code, _, err = _run(capsys, "add", "it-0000000000", "-g", IN_CITY, "-n", "x", "--data-dir", d)
    assert code == 2 and "no item" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(capsys, "add", "it-x", "-g", "POINT (37.87 112.55)", "-n", "x", "--no-check",
                        "--data-dir", d)
    assert code == 2 and "swapped" in err and "Traceback" not in err
    counts = gdf["item_id"].value_counts()
    if (counts > 1).any():
        code, _, err = _run(capsys, "add", counts[counts > 1].index[0], "-g", IN_CITY, "-n", "x",
                            "--data-dir", d)
        assert code == 2 and "--place" in err
    assert CorrectionStore.in_data_dir(d, city_area=None).list(include_undone=True) == []
    code, _, err = _run(capsys, "import", str(tmp_path / "missing.geojson"), "--data-dir", d)
    assert code == 2 and "cannot read" in err


def test_cli_uses_env_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GEOPLAN_DATA_DIR", str(tmp_path / "env"))
    code, _, err = _run(capsys, "add", "it-x", "-g", IN_CITY, "-n", "by env", "--no-check")
    assert code == 0, err
    assert (tmp_path / "env" / "corrections.sqlite").exists()
    code, out, _ = _run(capsys, "list")
    assert out.startswith("1  it-x  -  Point  -  ")


def test_cli_console_script_with_env(tmp_path: Path) -> None:
    env = {**os.environ, "GEOPLAN_DATA_DIR": str(tmp_path / "proc")}
    cmd = [sys.executable, "-m", "geoplan.cli", "corrections"]
    done = subprocess.run([*cmd, "add", "it-x", "-g", IN_CITY, "-n", "from a shell", "--no-check"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([*cmd, "list"], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("1  it-x  ")
    done = subprocess.run([*cmd, "undo", "7"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    path = tmp_path / "proc" / "corrections.sqlite"
    assert done.stderr.strip() == f"geoplan: error: no correction with id 7 in {path}"
