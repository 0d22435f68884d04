"""Corrections: the store (on SQLite and on PostgreSQL), geometry checks, applying them to a build, and the CLI.

The store tests take ``store_factory`` and run once per backend; the PostgreSQL ones share one throwaway cluster
per session (tests/pg_cluster.py), each test in fresh databases. Without PostgreSQL binaries they skip locally
and fail in CI (``CI=true``).
"""

from __future__ import annotations

import json
import os
import itertools
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import Point, box

from geoplan.cli import main
from geoplan.corrections import (
    SCHEMA_VERSION,
    Correction,
    CorrectionStore,
    PostgresCorrectionStore,
    SqliteCorrectionStore,
    apply_corrections,
    current_geometry,
    default_store_path,
    parse_geometry,
)
from geoplan.errors import CorrectionError, CorrectionStoreError, GeometryError
from geoplan.features import check_rfc7946, features_to_geojson, validate_geojson
from geoplan.gazetteer import load_gazetteer

from conftest import REPORT
from pg_cluster import Cluster, start_cluster

# A rough box around Taiyuan, so the checks do not depend on the shipped boundaries.
CITY = box(111.45, 37.40, 113.21, 38.48)
IN_CITY = "POINT (112.55 37.87)"
SQUARE = "POLYGON ((112.50 37.80, 112.52 37.80, 112.52 37.82, 112.50 37.82, 112.50 37.80))"
BOW_TIE = "POLYGON ((112.5 37.8, 112.6 37.9, 112.6 37.8, 112.5 37.9, 112.5 37.8))"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One PostgreSQL cluster for the session; missing binaries fail the run in CI and skip it elsewhere."""
    try:
        cluster = start_cluster()
    except FileNotFoundError as err:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"PostgreSQL tests cannot run: {err}")
        pytest.skip(f"PostgreSQL tests skipped: {err} (make test installs it)")
    yield cluster
    cluster.stop()


_databases = itertools.count()


class StoreFactory:
    """Stores of one backend for one test: ``factory("name")`` is a fresh store, the same name the same store."""

    def __init__(self, backend: str, tmp_path: Path, cluster: Cluster | None) -> None:
        self.backend, self.tmp_path, self.cluster = backend, tmp_path, cluster
        self._targets: dict[str, str] = {}

    def target(self, name: str = "corrections") -> str:
        """What ``CorrectionStore(target)`` opens: an SQLite path or a database URL (made on first use)."""
        if name not in self._targets:
            if self.cluster is None:
                self._targets[name] = str(self.tmp_path / "data" / f"{name}.sqlite")
            else:
                import psycopg

                # A fresh schema per store (instant, unlike CREATE DATABASE), chosen through the URL's options.
                schema = f"s{next(_databases)}"
                with psycopg.connect(self.cluster.url(), autocommit=True) as conn:
                    conn.execute(f"CREATE SCHEMA {schema}")
                self._targets[name] = self.cluster.url() + f"&options=-csearch_path%3D{schema}"
        return self._targets[name]

    def __call__(self, name: str = "corrections", **kwargs: Any) -> CorrectionStore:
        kwargs.setdefault("city_area", CITY)
        return CorrectionStore(self.target(name), **kwargs)

    def sql(self, name: str, statement: str) -> list[tuple[Any, ...]]:
        """Run one statement on the store's database directly (set-up and checks behind the API's back)."""
        if self.cluster is None:
            Path(self.target(name)).parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(self.target(name)) as conn:
                return conn.execute(statement).fetchall()
        import psycopg

        with psycopg.connect(self.target(name), autocommit=True) as pg:
            cur = pg.execute(statement)
            return cur.fetchall() if cur.description else []


@pytest.fixture(params=["sqlite", "postgres"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    cluster = request.getfixturevalue("pg_cluster") if request.param == "postgres" else None
    return StoreFactory(request.param, tmp_path, cluster)


@pytest.fixture
def store(store_factory: StoreFactory) -> CorrectionStore:
    return store_factory()


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
    assert not store.exists()
    assert store.all() == [] and store.history() == []
    assert not store.exists() and store.schema_version == 0  # reading creates nothing
    c = store.add("it-0123456789", IN_CITY, note="site visit 2025-03", author="amy", place="某路")
    assert isinstance(c, Correction)
    assert (c.id, c.item_id, c.place, c.note, c.author, c.undone_at) == (
        1,
        "it-0123456789",
        "某路",
        "site visit 2025-03",
        "amy",
        None,
    )
    assert c.geometry.equals_exact(Point(112.55, 37.87), 0)
    assert c.created_at.endswith("+00:00")
    d = store.add("it-0123456789", SQUARE, note="area", previous="POINT (112.5 37.8)")
    assert store.exists()  # directory and schema made on the first write
    assert store.all() == [c, d]
    got = store.get(d.id)
    assert got == d
    assert got.geometry.equals(shapely.from_wkt(SQUARE))
    assert got.previous.equals(Point(112.5, 37.8))
    assert store.active_for(["it-0123456789", "it-other"]) == [c, d]
    assert store.active_for(["it-other"]) == []
    assert store.schema_version == SCHEMA_VERSION == 1
    if isinstance(store, SqliteCorrectionStore):
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
    assert store.history() == []


def test_nul_characters_refused_on_both_backends(store: CorrectionStore, tmp_path: Path) -> None:
    """PostgreSQL text cannot hold U+0000; SQLite refuses it too, so every stored correction moves anywhere."""
    with pytest.raises(CorrectionError, match="note contains a NUL character"):
        store.add("it-a", IN_CITY, note="bad\x00note")
    src = tmp_path / "nul.geojson"
    feature = {
        "type": "Feature",
        "properties": {"item_id": "it-a", "note": "fine", "author": "a\u0000b"},
        "geometry": {"type": "Point", "coordinates": [112.55, 37.87]},
    }
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(CorrectionError, match="author contains a NUL character"):
        store.import_geojson(src)
    assert store.history() == []


def test_undo(store: CorrectionStore) -> None:
    a = store.add("it-a", IN_CITY, note="one")
    b = store.add("it-b", IN_CITY, note="two")
    undone = store.undo(a.id)
    assert undone.undone_at is not None and not undone.active
    assert store.all() == [b]
    assert [c.id for c in store.history()] == [a.id, b.id]
    assert store.get(a.id).undone_at == undone.undone_at  # kept for review
    assert store.active_for(["it-a"]) == []
    with pytest.raises(CorrectionError, match="already undone"):
        store.undo(a.id)
    with pytest.raises(CorrectionError, match="no correction with id 99"):
        store.undo(99)
    with pytest.raises(CorrectionError, match="no correction with id 99"):
        store.get(99)


def test_newer_schema_refused(store_factory: StoreFactory) -> None:
    store_factory().add("it-a", IN_CITY, note="one")
    if store_factory.backend == "sqlite":
        store_factory.sql("corrections", "PRAGMA user_version = 99")
    else:
        store_factory.sql("corrections", "UPDATE geoplan_schema_version SET version = 99")
    with pytest.raises(CorrectionStoreError, match="schema version 99 is newer"):
        store_factory(city_area=None).all()
    with pytest.raises(CorrectionStoreError, match="schema version 99 is newer"):
        store_factory(city_area=None).add("it-b", IN_CITY, note="two")


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "corrections.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CorrectionError, match="corrections store"):
        CorrectionStore(path, city_area=None).all()


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
    assert store.history() == []


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
    out, left = apply_corrections(gdf, store.all())
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
    out2, _ = apply_corrections(gdf, store.all(), gazetteer=gaz)
    assert out2[out2["item_id"] == item]["district"].iloc[0] == gaz.district_of(c.geometry)


def test_apply_named_place_to_placeless_item_locates_it(gdf, store: CorrectionStore) -> None:
    item = _placeless_item(gdf)
    store.add(item, SQUARE, note="from the plan drawing", place="新区片")
    out, left = apply_corrections(gdf, store.all())
    assert left == []
    rows = out[out["item_id"] == item]
    assert len(rows) == 1
    assert rows["name"].iloc[0] == "新区片" and rows["precision"].iloc[0] == "corrected"
    assert rows["geometry_kind"].iloc[0] == "area"


def test_apply_to_existing_place(gdf, store: CorrectionStore) -> None:
    target = _located_row(gdf)
    c = store.add(target["item_id"], SQUARE, note="traced from the zoning map", place=target["name"])
    out, left = apply_corrections(gdf, store.all())
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
    out, left = apply_corrections(gdf, store.all())
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
    out, _ = apply_corrections(gdf, store.all())
    assert out[out["item_id"] == item].geometry.iloc[0].equals(b.geometry)
    store.undo(b.id)
    out, _ = apply_corrections(gdf, store.history())
    row = out[out["item_id"] == item].iloc[0]
    assert row.geometry.equals(a.geometry) and "first" in row["source"]


def test_orphans_and_ambiguous_reported(gdf, store: CorrectionStore) -> None:
    orphan = store.add("it-0000000000", IN_CITY, note="the report changed")
    counts = gdf["item_id"].value_counts()
    multi = counts[counts > 1]
    ambiguous = store.add(multi.index[0], IN_CITY, note="which place?") if len(multi) else None
    out, left = apply_corrections(gdf, store.all())
    assert left == [c for c in (orphan, ambiguous) if c is not None]
    assert len(out) == len(gdf)
    assert (out["precision"] == "corrected").sum() == 0
    with pytest.raises(CorrectionError, match="no item"):
        current_geometry(gdf, "it-0000000000", None)
    if len(multi):
        with pytest.raises(CorrectionError, match="places"):
            current_geometry(gdf, multi.index[0], None)


# -- export and import ------------------------------------------------------------------------------


def test_export_import_round_trip(tmp_path: Path, store_factory: StoreFactory) -> None:
    store = store_factory()
    cw = "POLYGON ((112.50 37.80, 112.50 37.82, 112.52 37.82, 112.52 37.80, 112.50 37.80))"  # clockwise
    a = store.add("it-a", cw, note="traced", author="amy", place="片区", previous=IN_CITY)
    b = store.add("it-b", "LINESTRING (112.50 37.80, 112.55 37.85)", note="road course")
    dropped = store.add("it-c", IN_CITY, note="wrong")
    store.undo(dropped.id)
    out = store.export_geojson(tmp_path / "out" / "corrections.geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert check_rfc7946(doc) == []
    # Undone corrections are exported too, with their undone_at: an import keeps the whole history.
    assert [f["properties"]["item_id"] for f in doc["features"]] == ["it-a", "it-b", "it-c"]
    assert [f["properties"]["undone_at"] is None for f in doc["features"]] == [True, True, False]
    assert set(doc["features"][0]["properties"]) >= {
        "id",
        "item_id",
        "place",
        "previous",
        "note",
        "author",
        "created_at",
        "undone_at",
    }

    fresh = store_factory("fresh")
    imported = fresh.import_geojson(out)
    assert len(imported) == 3 and fresh.history() == imported and fresh.all() == imported[:2]
    dropped = store.get(dropped.id)
    for old, new in zip((a, b, dropped), imported, strict=True):
        assert (new.item_id, new.place, new.note, new.author, new.created_at, new.undone_at) == (
            old.item_id,
            old.place,
            old.note,
            old.author,
            old.created_at,
            old.undone_at,
        )
        assert new.geometry.equals(old.geometry)
        assert (new.previous is None and old.previous is None) or new.previous.equals(old.previous)
    assert fresh.import_geojson(out) == []  # importing again adds nothing
    assert len(fresh.history()) == 3
    again = fresh.export_geojson(tmp_path / "again.geojson")  # and the round trip is stable
    strip = [{k: v for k, v in f["properties"].items() if k != "id"} for f in json.loads(again.read_text())["features"]]
    assert strip == [{k: v for k, v in f["properties"].items() if k != "id"} for f in doc["features"]]


def test_import_is_all_or_nothing(tmp_path: Path, store: CorrectionStore) -> None:
    good = {
        "type": "Feature",
        "properties": {"item_id": "it-good", "note": "fine"},
        "geometry": {"type": "Point", "coordinates": [112.55, 37.87]},
    }
    swapped = {
        "type": "Feature",
        "properties": {"item_id": "it-swapped", "note": "oops"},
        "geometry": {"type": "Point", "coordinates": [37.87, 112.55]},
    }
    no_note = {
        "type": "Feature",
        "properties": {"item_id": "it-nonote"},
        "geometry": {"type": "Point", "coordinates": [112.55, 37.87]},
    }
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [good, swapped, no_note]}))
    with pytest.raises(CorrectionError) as err:
        store.import_geojson(path)
    msg = str(err.value)
    assert "feature 1 (item it-swapped)" in msg and "swapped" in msg
    assert "feature 2 (item it-nonote)" in msg and "note" in msg
    assert "it-good" not in msg
    assert store.history() == []
    path.write_text("{not json")
    with pytest.raises(CorrectionError, match="not valid JSON"):
        store.import_geojson(path)
    path.write_text(json.dumps({"type": "Feature"}))
    with pytest.raises(CorrectionError, match="FeatureCollection"):
        store.import_geojson(path)


# -- concurrency ------------------------------------------------------------------------------------


def test_concurrent_threads_lose_nothing(store_factory: StoreFactory) -> None:
    target = store_factory.target()

    def session(n: int) -> None:
        s = CorrectionStore(target, city_area=None)  # one store per app session, as Streamlit would
        for k in range(25):
            s.add(f"it-t{n}", f"POINT (112.{n}{k:02d} 37.8)", note=f"thread {n} #{k}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(session, range(8)))
    rows = CorrectionStore(target, city_area=None).all()
    assert len(rows) == 200
    assert sorted(c.id for c in rows) == list(range(1, 201))
    assert {c.note for c in rows} == {f"thread {n} #{k}" for n in range(8) for k in range(25)}


def test_concurrent_processes_lose_nothing(store_factory: StoreFactory) -> None:
    """2 processes x 200 adds, each undoing every tenth of its own: 400 rows, none lost, history consistent."""
    target = store_factory.target()
    store_factory().schema_version  # noqa: B018 - the database exists; the processes race to create the store
    script = textwrap.dedent("""
        import sys
        from geoplan.corrections import CorrectionStore
        s = CorrectionStore(sys.argv[1], city_area=None)
        for k in range(200):
            c = s.add("it-p" + sys.argv[2], "POINT (112.5 37.8)", note=f"process {sys.argv[2]} #{k}")
            if k % 10 == 0:
                s.undo(c.id)
    """)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, target, str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for n in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    store = CorrectionStore(target, city_area=None)
    history = store.history()
    assert len(history) == 400
    assert [c.id for c in history] == list(range(1, 401))  # no gaps: no add was lost or rolled back
    assert {c.note for c in history} == {f"process {n} #{k}" for n in range(2) for k in range(200)}
    undone = {c.note for c in history if c.undone_at is not None}
    assert undone == {f"process {n} #{k}" for n in range(2) for k in range(0, 200, 10)}
    assert len(store.all()) == 360
    for n in range(2):  # each process's own rows in the order it added them
        mine = [int(c.note.split("#")[1]) for c in history if c.item_id == f"it-p{n}"]
        assert mine == list(range(200))


def test_sqlite_store_created_while_another_writer_holds_the_new_file(tmp_path: Path) -> None:
    """The race CI once lost: a writer holds a new file (still rollback mode) while another store opens it.

    SQLite refuses the WAL switch at once then, busy timeout or not; the store waits the writer out.
    """
    path = tmp_path / "corrections.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        c = SqliteCorrectionStore(path, city_area=None).add("it-race", "POINT (112.5 37.8)", note="after the writer")
    finally:
        release.join()
        holder.close()
    assert c.id == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _big_import(path: Path, n: int) -> Path:
    feats = [
        {
            "type": "Feature",
            "properties": {"item_id": f"it-{i % 97}", "note": f"bulk {i}", "created_at": "2025-01-01T00:00:00Z"},
            "geometry": {"type": "Point", "coordinates": [112.5 + i * 1e-6, 37.8]},
        }
        for i in range(n)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), "utf-8")
    return path


_KILLED_IMPORT = textwrap.dedent("""
    import sys, time
    from geoplan.corrections import CorrectionStore
    s = CorrectionStore(sys.argv[1], city_area=None)
    insert_many = type(s)._insert_many
    def slow(self, conn, rows):
        got = insert_many(self, conn, rows)  # every row is written, the transaction is not committed yet
        print("inserted", len(got), flush=True)
        time.sleep(60)
        return got
    type(s)._insert_many = slow
    s.import_geojson(sys.argv[2])
""")


def test_kill_9_during_a_large_import_leaves_all_or_nothing(tmp_path: Path, store_factory: StoreFactory) -> None:
    """SIGKILL between a large import's insert and its commit: none of it is stored, the store still works."""
    n = 5000
    store = store_factory(city_area=None)
    store.add("it-before", IN_CITY, note="kept")
    src = _big_import(tmp_path / "big.geojson", n)
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_IMPORT, store_factory.target(), str(src)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == f"inserted {n}", proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    after = store_factory(city_area=None)
    assert [c.note for c in after.history()] == ["kept"]  # none of the import
    assert after.add("it-after", IN_CITY, note="still writable").item_id == "it-after"
    added = after.import_geojson(src)  # and the same import, not killed, goes in whole
    assert len(added) == n and len(after.history()) == n + 2


def test_kill_9_at_any_moment_of_an_import_is_all_or_nothing(tmp_path: Path, store_factory: StoreFactory) -> None:
    """SIGKILL at moments spread over an import (checking, inserting, committing, done): all of it or none."""
    import time

    n = 2000
    src = _big_import(tmp_path / "big.geojson", n)
    t0 = time.perf_counter()
    store_factory("timing", city_area=None).import_geojson(src)
    took = time.perf_counter() - t0
    script = "import sys\nfrom geoplan.corrections import CorrectionStore\n"
    script += "s = CorrectionStore(sys.argv[1], city_area=None)\nprint('ready', flush=True)\n"
    script += "s.import_geojson(sys.argv[2])\n"
    outcomes = []
    for k, share in enumerate((0.5, 0.95, 1.3)):
        store = store_factory(f"s{k}", city_area=None)
        store.add("it-before", IN_CITY, note="kept")
        proc = subprocess.Popen(
            [sys.executable, "-c", script, store_factory.target(f"s{k}"), str(src)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(took * share)
        proc.kill()
        proc.wait(timeout=30)
        count = len(store.history())
        assert count in (1, n + 1), (share, count)
        outcomes.append(count > 1)
        assert store.add("it-after", IN_CITY, note="still writable").id > 0
        assert len(store.import_geojson(src)) == (0 if count > 1 else n)
    print("kill -9 at", [f"{s:.0%}" for s in (0.5, 0.95, 1.3)], "of", f"{took:.2f} s:", outcomes)


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
    code, out, err = _run(
        capsys, "add", item, "--geometry", IN_CITY, "--note", "seen on site", "--author", "amy", "--data-dir", d
    )
    assert code == 0, err
    assert out.split("  ")[:5] == ["1", item, "-", "Point", "amy"]
    assert out.rstrip("\n").endswith("seen on site")

    target = _located_row(gdf)
    geojson = json.dumps({"type": "Point", "coordinates": [112.56, 37.86]})
    code, out, err = _run(
        capsys, "add", target["item_id"], "-g", geojson, "-n", "moved", "--place", target["name"], "--data-dir", d
    )
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
    assert code == 0 and exported.exists() and "2 corrections (1 undone)" in err
    code, out, err = _run(capsys, "import", str(exported), "--data-dir", str(tmp_path / "other"))
    assert code == 0 and "imported 2" in err
    other = CorrectionStore.in_data_dir(tmp_path / "other", city_area=None)
    assert [c.item_id for c in other.all()] == [target["item_id"]]
    assert [c.active for c in other.history()] == [False, True]


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], gdf) -> None:
    d = str(tmp_path / "data")
    code, _, err = _run(capsys, "add", "it-0000000000", "-g", IN_CITY, "-n", "x", "--data-dir", d)
    assert code == 2 and "no item" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(capsys, "add", "it-x", "-g", "POINT (37.87 112.55)", "-n", "x", "--no-check", "--data-dir", d)
    assert code == 2 and "swapped" in err and "Traceback" not in err
    counts = gdf["item_id"].value_counts()
    if (counts > 1).any():
        code, _, err = _run(capsys, "add", counts[counts > 1].index[0], "-g", IN_CITY, "-n", "x", "--data-dir", d)
        assert code == 2 and "--place" in err
    assert CorrectionStore.in_data_dir(d, city_area=None).history() == []
    code, _, err = _run(capsys, "import", str(tmp_path / "missing.geojson"), "--data-dir", d)
    assert code == 2 and "cannot read" in err


def test_cli_uses_env_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GEOPLAN_DATA_DIR", str(tmp_path / "env"))
    code, _, err = _run(capsys, "add", "it-x", "-g", IN_CITY, "-n", "by env", "--no-check")
    assert code == 0, err
    assert (tmp_path / "env" / "corrections.sqlite").exists()
    code, out, _ = _run(capsys, "list")
    assert out.startswith("1  it-x  -  Point  -  ")


def test_cli_console_script_with_env(tmp_path: Path) -> None:
    env = {**os.environ, "GEOPLAN_DATA_DIR": str(tmp_path / "proc")}
    cmd = [sys.executable, "-m", "geoplan.cli", "corrections"]
    done = subprocess.run(
        [*cmd, "add", "it-x", "-g", IN_CITY, "-n", "from a shell", "--no-check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run([*cmd, "list"], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("1  it-x  ")
    done = subprocess.run([*cmd, "undo", "7"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    path = tmp_path / "proc" / "corrections.sqlite"
    assert done.stderr.strip() == f"geoplan: error: no correction with id 7 in {path}"


# -- PostgreSQL: choosing it, and never showing its password ----------------------------------------


@pytest.fixture
def pg_url(pg_cluster: Cluster, tmp_path: Path) -> str:
    """A fresh PostgreSQL store's URL, with a password (trust auth ignores it) that must never be shown."""
    url = StoreFactory("postgres", tmp_path, pg_cluster).target()
    return url.replace("postgresql://geoplan@", "postgresql://geoplan:top%40secret@", 1)


def test_database_url_chooses_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEOPLAN_DATABASE_URL", raising=False)
    assert isinstance(CorrectionStore.in_data_dir(tmp_path), SqliteCorrectionStore)
    assert isinstance(CorrectionStore(), SqliteCorrectionStore)
    monkeypatch.setenv("GEOPLAN_DATABASE_URL", "postgresql://amy:pw@db.invalid/geoplan")
    for store in (CorrectionStore.in_data_dir(tmp_path), CorrectionStore()):
        assert (
            isinstance(store, PostgresCorrectionStore) and store.location == "postgresql://amy:***@db.invalid/geoplan"
        )
    assert isinstance(CorrectionStore(tmp_path / "c.sqlite"), SqliteCorrectionStore)  # a path is a path
    monkeypatch.setenv("GEOPLAN_DATABASE_URL", "mysql://amy:pw@db.invalid/geoplan")
    with pytest.raises(CorrectionStoreError, match="must be a postgresql:// URL") as err:
        CorrectionStore.in_data_dir(tmp_path)
    assert "pw" not in str(err.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://amy:s3cr%40t-pw@/geoplan?host=/nonexistent-geoplan-dir&port=1",
        "postgresql:///geoplan?host=/nonexistent-geoplan-dir&port=1&user=amy&password=s3cr%40t-pw",
        "postgresql://amy:s3cr@t-pw@/geoplan?host=/nonexistent-geoplan-dir",
    ],
)
def test_unreachable_database_is_one_error_without_password(url: str) -> None:
    store = CorrectionStore(url, city_area=None)
    for call in (store.all, store.exists, lambda: store.add("it-a", IN_CITY, note="n")):
        with pytest.raises(CorrectionStoreError, match="cannot open the corrections store") as err:
            call()
        msg = str(err.value)
        assert "s3cr" not in msg and "***" in msg and "\n" not in msg, msg
    assert "s3cr" not in repr(store)


def test_read_only_role_reads_and_applies(tmp_path: Path, pg_cluster: Cluster) -> None:
    """A role that may only SELECT lists the corrections; a write is one named error, nothing changes.

    (The SQLite counterpart is test_read_only_store_is_read.)"""
    store_factory = StoreFactory("postgres", tmp_path, pg_cluster)
    owner = store_factory()
    owner.add("it-a", IN_CITY, note="by the owner")
    schema = store_factory.sql("corrections", "SELECT current_schema()")[0][0]
    store_factory.sql("corrections", "DROP ROLE IF EXISTS reader")
    store_factory.sql("corrections", "CREATE ROLE reader LOGIN")
    store_factory.sql("corrections", f"GRANT USAGE ON SCHEMA {schema} TO reader")
    store_factory.sql("corrections", f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO reader")
    reader = CorrectionStore(
        store_factory.target().replace("postgresql://geoplan@", "postgresql://reader@"), city_area=CITY
    )
    assert [c.note for c in reader.all()] == ["by the owner"] and not reader.writable() and owner.writable()
    with pytest.raises(CorrectionStoreError, match="read-only here"):
        reader.add("it-b", IN_CITY, note="by the reader")
    with pytest.raises(CorrectionStoreError, match="read-only here"):
        reader.undo(1)
    assert [c.note for c in owner.history()] == ["by the owner"] and owner.get(1).active


def test_cli_on_postgres(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, gdf) -> None:
    """With GEOPLAN_DATABASE_URL the CLI adds, lists, undoes, exports, imports and builds with PostgreSQL."""
    monkeypatch.setenv("GEOPLAN_DATABASE_URL", pg_url)
    item = _placeless_item(gdf)
    code, out, err = _run(capsys, "add", item, "-g", IN_CITY, "-n", "seen on site", "--data-dir", str(tmp_path))
    assert code == 0, err
    assert out.split("  ")[:4] == ["1", item, "-", "Point"]
    assert not (tmp_path / "corrections.sqlite").exists()  # the data dir is not the store any more
    code, out, _ = _run(capsys, "list")
    assert [line.split("  ")[0] for line in out.splitlines()] == ["1"]
    code, _, err = _run(capsys, "undo", "7")
    assert code == 2 and err.strip().startswith("geoplan: error: no correction with id 7 in postgresql://geoplan:***@/")
    assert "secret" not in err
    exported = tmp_path / "c.geojson"
    assert _run(capsys, "export", "-o", str(exported))[0] == 0
    code, _, err = _run(capsys, "import", str(exported))
    assert code == 0 and "imported 0" in err  # already there
    out_path = tmp_path / "o.geojson"
    assert main(["build", str(REPORT), "-o", str(out_path)]) == 0
    capsys.readouterr()
    doc = json.loads(out_path.read_text(encoding="utf-8"))
    corrected = [f for f in doc["features"] if f["properties"]["item_id"] == item]
    assert [f["properties"]["precision"] for f in corrected] == ["corrected"]


# -- faults of the store itself ----------------------------------------------------------------------


def _real_store(path: Path) -> CorrectionStore:
    s = CorrectionStore(path, city_area=CITY)
    s.add("it-0123456789", IN_CITY, note="site visit")
    s.add("it-0123456789", SQUARE, note="traced", place="片区")
    return s


def _damage(kind: str, path: Path) -> None:
    """Make the store at ``path`` unusable the way a reviewer did."""
    if kind == "garbage":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"this is not a database\n" * 100)
    elif kind == "truncated":
        _real_store(path)
        with sqlite3.connect(path) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for extra in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            extra.unlink(missing_ok=True)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "bad-wkt":
        _real_store(path)
        with sqlite3.connect(path) as con:
            con.execute("UPDATE corrections SET geometry = 'POINT (1 2' WHERE id = 2")
    elif kind == "blob-note":
        _real_store(path)
        with sqlite3.connect(path) as con:
            con.execute("UPDATE corrections SET note = x'ff00fe' WHERE id = 2")
    elif kind == "no-folder":  # the data dir's parent is a file: the folder cannot be made
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        path.parent.write_text("a file where the data dir should be")
    else:  # pragma: no cover
        raise AssertionError(kind)


FAULTS = {
    "garbage": "not a usable corrections store (file is not a database)",
    "truncated": "corrections store",
    "bad-wkt": "row 2: geometry is not valid WKT",
    "blob-note": "row 2: note is bytes, not text",
}


@pytest.mark.parametrize("kind", FAULTS)
def test_damaged_store_is_one_named_error(tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    path = data / "corrections.sqlite"
    _damage(kind, path)
    with pytest.raises(CorrectionStoreError, match=re.escape(FAULTS[kind])):
        CorrectionStore(path, city_area=CITY).all()
    for args in (
        ["corrections", "list", "--data-dir", str(data)],
        ["build", str(REPORT), "--data-dir", str(data), "-o", str(tmp_path / "o.geojson")],
    ):
        code = main(args)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and err[0].startswith(f"geoplan: error: {path}: "), err
        assert FAULTS[kind] in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "o.geojson").exists()


def test_a_data_dir_that_cannot_be_made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "blocked" / "data"
    _damage("no-folder", data / "corrections.sqlite")
    assert CorrectionStore.in_data_dir(data).all() == []  # reading makes nothing, so nothing fails
    code = main(["corrections", "add", "it-x", "-g", IN_CITY, "-n", "x", "--no-check", "--data-dir", str(data)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "cannot create the data directory" in err[0], err


def test_read_only_store_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    path = data / "corrections.sqlite"
    rows = _real_store(path).all()
    with sqlite3.connect(path) as con:  # as a copy on a read-only share would be: no WAL beside it
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path.chmod(0o444)
    data.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root writes anyway: make geoplan see what an ordinary user would
            real_access = os.access
            monkeypatch.setattr(
                os, "access", lambda p, mode, **k: False if mode & os.W_OK else real_access(p, mode, **k)
            )
        before = sorted(p.name for p in data.iterdir()), path.read_bytes()
        store = CorrectionStore(path, city_area=CITY)
        assert not store.writable()
        assert store.all() == rows and store.schema_version == SCHEMA_VERSION
        assert main(["corrections", "list", "--data-dir", str(data)]) == 0
        assert len(capsys.readouterr().out.splitlines()) == 2
        assert main(["build", str(REPORT), "--data-dir", str(data), "-o", str(tmp_path / "o.geojson")]) == 0
        assert (sorted(p.name for p in data.iterdir()), path.read_bytes()) == before  # nothing written
        with pytest.raises(CorrectionStoreError, match="read-only here"):
            store.add("it-x", IN_CITY, note="x")
    finally:
        data.chmod(0o755)
        path.chmod(0o644)


def test_schema_migrates_step_by_step(store_factory: StoreFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = SqliteCorrectionStore if store_factory.backend == "sqlite" else PostgresCorrectionStore
    # A store from before the schema version was kept: the table alone, version 0.
    store_factory.sql("corrections", backend.migrations[0].split(";")[0])
    store_factory.sql(
        "corrections",
        "INSERT INTO corrections (item_id, geometry, note, created_at)"
        " VALUES ('it-a', 'POINT (112.55 37.87)', 'old', '2024-01-01T00:00:00+00:00')",
    )
    store = store_factory()
    assert [c.note for c in store.all()] == ["old"] and store.schema_version == 1
    monkeypatch.setattr(
        backend, "migrations", (*backend.migrations, "ALTER TABLE corrections ADD COLUMN reviewed TEXT")
    )
    store = store_factory()
    store.add("it-b", IN_CITY, note="new")
    assert store.schema_version == 2
    if backend is SqliteCorrectionStore:
        columns = [r[1] for r in store_factory.sql("corrections", "PRAGMA table_info(corrections)")]
    else:
        columns = [
            r[0]
            for r in store_factory.sql(
                "corrections",
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = 'corrections'",
            )
        ]
    assert "reviewed" in columns
    monkeypatch.setattr(backend, "migrations", backend.migrations[:1])
    with pytest.raises(CorrectionStoreError, match="schema version 2 is newer than this geoplan understands"):
        store_factory().all()


# -- import: linear, checked --------------------------------------------------------------------------


def _many(path: Path, n: int) -> Path:
    feats = [
        {
            "type": "Feature",
            "properties": {"item_id": "it-one", "note": f"fix {i}", "created_at": "2025-01-01T00:00:00Z"},
            "geometry": {"type": "Point", "coordinates": [112.5 + i * 1e-6, 37.8]},
        }
        for i in range(n)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), "utf-8")
    return path


def test_import_of_many_corrections_of_one_item_is_linear(tmp_path: Path, store_factory: StoreFactory) -> None:
    """Each row was checked against every stored row of its item: 10k took 30 s, 100k never ended."""
    import time

    def timed(n: int) -> float:
        store = store_factory(f"s{n}", city_area=None)
        src = _many(tmp_path / f"{n}.geojson", n)
        t0 = time.perf_counter()
        assert len(store.import_geojson(src)) == n
        assert store.import_geojson(src) == []  # the second import finds every row already there
        return time.perf_counter() - t0

    timed(100)  # warm up
    small, large = timed(500), timed(4000)
    assert large < 8 * small * 3, (small, large)  # linear with slack; quadratic would be ~64x


def test_import_refuses_unknown_item_ids(tmp_path: Path, gdf, capsys: pytest.CaptureFixture[str]) -> None:
    known = str(gdf["item_id"].iloc[0])
    feats = [
        {
            "type": "Feature",
            "properties": {"item_id": i, "note": "n"},
            "geometry": {"type": "Point", "coordinates": [112.55, 37.87]},
        }
        for i in (known, "it-nope")
    ]
    src = tmp_path / "c.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), "utf-8")
    d = str(tmp_path / "data")
    code, _, err = _run(capsys, "import", str(src), "--data-dir", d)
    assert code == 2 and err.strip() == (
        f"geoplan: error: {src}: 1 item id(s) not in the report, nothing imported: it-nope"
    )
    assert CorrectionStore.in_data_dir(d).history() == []
    code, _, err = _run(capsys, "import", str(src), "--report", str(REPORT), "--data-dir", d)
    assert code == 2 and "it-nope" in err
    code, _, err = _run(capsys, "import", str(src), "--no-check", "--data-dir", d)
    assert code == 0 and "imported 2" in err


HOSTILE = {  # what the file holds -> words of the one-line error
    "lone surrogate": (
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"item_id":"it-a","note":"bad \\ud800 note"},'
        '"geometry":{"type":"Point","coordinates":[112.55,37.87]}}]}',
        "note is not valid UTF-8",
    ),
    "deep nesting": (
        '{"type":"FeatureCollection","features":' + "[" * 100_000 + "]" * 100_000 + "}",
        "nested 100001 levels deep",
    ),
    "date overflow": (
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"item_id":"it-a","note":"n","created_at":"9999-12-31T23:59:59-01:00"},'
        '"geometry":{"type":"Point","coordinates":[112.55,37.87]}}]}',
        "out of range",
    ),
    "geometry list": (
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"item_id":"it-a","note":"n"},"geometry":[112.55,37.87]}]}',
        "the geometry is a list",
    ),
    "note number": (
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"item_id":"it-a","note":5},"geometry":{"type":"Point","coordinates":[112.55,37.87]}}]}',
        "note is a int, not text",
    ),
    "features object": ('{"type":"FeatureCollection","features":{"a":1}}', "not a GeoJSON FeatureCollection"),
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_import_files_are_one_line(tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    text, words = HOSTILE[kind]
    src = tmp_path / "c.geojson"
    src.write_text(text, "utf-8")
    d = str(tmp_path / "data")
    code, _, err = _run(capsys, "import", str(src), "--no-check", "--data-dir", d)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"geoplan: error: {src}: "), err
    assert words in lines[0], err
    assert CorrectionStore.in_data_dir(d).history() == []


def test_note_with_undecodable_argv_bytes_is_one_line(tmp_path: Path) -> None:
    """Python hands invalid UTF-8 in argv over as lone surrogates (surrogateescape); SQLite cannot store them."""
    d = tmp_path / "data"
    args = [
        sys.executable,
        "-m",
        "geoplan.cli",
        "corrections",
        "add",
        "it-x",
        "-g",
        IN_CITY,
        "--no-check",
        "--data-dir",
        str(d),
        "-n",
    ]
    run = subprocess.run(
        [os.fsencode(a) for a in args] + [b"bad \xff note"],
        capture_output=True,
        timeout=120,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    err = run.stderr.decode("utf-8", "replace").strip().splitlines()
    assert run.returncode == 2 and len(err) == 1, err
    assert err[0] == (
        "geoplan: error: note is not valid UTF-8 text (character 5 is U+DCFF, a lone surrogate or an undecodable byte)"
    )
    assert CorrectionStore.in_data_dir(d).history() == []
