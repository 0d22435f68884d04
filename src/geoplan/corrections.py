"""Store planners' hand corrections of locations and apply them to every build.

Corrections live apart from the generated data, in an SQLite file (``corrections.sqlite`` in
``settings.data_dir()``), so a rebuild never loses them. A correction names an item, optionally the
place of that item it moves (or adds), and the new geometry in WGS84 lon/lat; it keeps the geometry it
replaced, a note saying why, who made it and when. Undoing one stamps ``undone_at`` and keeps the row for
review. The store needs no server: each operation opens its own connection, writes happen in
``BEGIN IMMEDIATE`` transactions on a WAL database with a busy timeout, so app sessions (threads) and
command-line runs (processes) saving at once lose nothing.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from geoplan import settings
from geoplan._io import MAX_JSON_DEPTH, json_nesting, write_atomic
from geoplan.errors import CorrectionError, CorrectionStoreError, GazetteerError, GeometryError
from geoplan.gazetteer import Gazetteer, load_gazetteer
from geoplan.geocoders.base import PRECISION

STORE_NAME = "corrections.sqlite"
BUSY_TIMEOUT_S = 30.0
PLACELESS_PRECISIONS = ("city", "unlocated")

# MIGRATIONS[v] brings a store from ``user_version`` v to v + 1; a new schema appends one step and never
# edits an old one, so a store of any age walks up to SCHEMA_VERSION in one transaction.
MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: the corrections table.
    """
    CREATE TABLE IF NOT EXISTS corrections (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        item_id    TEXT NOT NULL,
        place      TEXT,
        geometry   TEXT NOT NULL,
        previous   TEXT,
        note       TEXT NOT NULL CHECK (length(trim(note)) > 0),
        author     TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        undone_at  TEXT
    );
    CREATE INDEX IF NOT EXISTS corrections_item_id ON corrections (item_id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
_FIELDS = "id, item_id, place, geometry, previous, note, author, created_at, undone_at"


class _Default:
    """Marker for "use the shipped gazetteer's city area"."""

    def __repr__(self) -> str:
        return "<shipped city area>"


SHIPPED_CITY_AREA: Any = _Default()


@dataclass(frozen=True)
class Correction:
    """One planner's correction of where an item (or one of its places) is."""

    id: int
    item_id: str
    place: str | None
    geometry: BaseGeometry
    previous: BaseGeometry | None
    note: str
    author: str
    created_at: str
    undone_at: str | None = None

    @property
    def active(self) -> bool:
        return self.undone_at is None

    @property
    def geometry_type(self) -> str:
        return self.geometry.geom_type

    def to_properties(self) -> dict[str, Any]:
        """Every field as JSON-ready values (geometries as WKT)."""
        return {
            "id": self.id,
            "item_id": self.item_id,
            "place": self.place,
            "geometry": to_wkt(self.geometry),
            "previous": None if self.previous is None else to_wkt(self.previous),
            "note": self.note,
            "author": self.author,
            "created_at": self.created_at,
            "undone_at": self.undone_at,
        }


def to_wkt(geom: BaseGeometry) -> str:
    """WKT at full precision, so a stored geometry reads back equal."""
    return shapely.to_wkt(geom, rounding_precision=-1)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _utc_iso(value: Any, *, what: str) -> str:
    """``value`` as a UTC ISO 8601 timestamp; naive times are taken as UTC."""
    if not isinstance(value, str):
        raise CorrectionError(f"{what} {value!r} is not an ISO 8601 timestamp (a {type(value).__name__})")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC).isoformat(timespec="seconds")
    except ValueError as err:
        msg = f"{what} {value[:40]!r} is not an ISO 8601 timestamp"
        raise CorrectionError(msg) from err
    except OverflowError as err:  # 9999-12-31T23:59:59-01:00 is past year 9999 in UTC
        msg = f"{what} {value[:40]!r} is out of range (year 1..9999 in UTC)"
        raise CorrectionError(msg) from err


def shipped_city_area() -> BaseGeometry | None:
    """The shipped gazetteer's city area, or ``None`` when boundaries are missing or unreadable."""
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


def default_store_path(data_dir: str | Path | None = None) -> Path:
    """``corrections.sqlite`` in ``data_dir`` (default ``settings.data_dir()``)."""
    return Path(data_dir if data_dir is not None else settings.data_dir()) / STORE_NAME


class CorrectionStore:
    """Corrections in one SQLite file; safe to share between threads and processes."""

    def __init__(
        self, path: str | Path | None = None, *, city_area: BaseGeometry | None | _Default = SHIPPED_CITY_AREA
    ) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self._city_area = city_area
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def in_data_dir(cls, data_dir: str | Path | None = None, **kwargs: Any) -> CorrectionStore:
        return cls(default_store_path(data_dir), **kwargs)

    def __repr__(self) -> str:
        return f"CorrectionStore({str(self.path)!r})"

    @property
    def city_area(self) -> BaseGeometry | None:
        if isinstance(self._city_area, _Default):
            self._city_area = shipped_city_area()
        if self._city_area is not None:
            shapely.prepare(self._city_area)  # one intersects test per imported row: prepare the area once
        return self._city_area

    # -- connections -------------------------------------------------------------------------------

    def writable(self) -> bool:
        """Whether this process may write the store (and its folder, where SQLite keeps the WAL)."""
        if self.path.exists():
            return os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)
        parent = self.path.parent
        while not parent.exists() and parent.parent != parent:
            parent = parent.parent
        return parent.is_dir() and os.access(parent, os.W_OK)

    def _fail(self, what: str, err: BaseException | None = None) -> CorrectionStoreError:
        detail = f" ({err})" if err is not None else ""
        return CorrectionStoreError(f"{self.path}: {what}{detail}")

    def _open(self, *, read_only: bool = False) -> sqlite3.Connection:
        """A connection; read-only ones use a ``mode=ro`` URI (a store on a read-only share is still read)."""
        try:
            if read_only:
                uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
                try:
                    conn.execute("PRAGMA user_version").fetchone()
                except sqlite3.OperationalError:
                    # A WAL store in a folder we cannot write: SQLite cannot make its -shm file. Nobody can
                    # write there either, so reading it as immutable is safe.
                    conn.close()
                    conn = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None)
            else:
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        except sqlite3.Error as err:
            raise self._fail("cannot open the corrections store", err) from err
        return conn

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            msg = f"schema version {version} is newer than this geoplan understands ({SCHEMA_VERSION}); upgrade geoplan"
            raise self._fail(msg)

    def _ensure_schema(self) -> None:
        """Create the store or migrate it to ``SCHEMA_VERSION``, one step per version, in one transaction."""
        with self._lock:
            if self._ready and self.path.exists():
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                msg = f"{self.path.parent}: cannot create the data directory ({err.strerror or err})"
                raise CorrectionStoreError(msg) from err
            conn = self._open()
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                try:
                    self._check_version(version)
                except CorrectionStoreError:
                    conn.execute("ROLLBACK")
                    raise
                for step in range(version, SCHEMA_VERSION):
                    for stmt in MIGRATIONS[step].split(";"):
                        if stmt.strip():
                            conn.execute(stmt)
                    conn.execute(f"PRAGMA user_version = {step + 1}")
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self._fail("not a usable corrections store", err) from err
            finally:
                conn.close()
            self._ready = True

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection | None]:
        """One connection per operation; writes in one ``BEGIN IMMEDIATE`` transaction.

        Reads never create anything: a missing store yields ``None`` (no corrections), and a store this
        process cannot write is opened read-only.
        """
        if write and self.path.exists() and not self.writable():
            raise self._fail("the corrections store is read-only here (it can be listed and applied, not changed)")
        if write or (self.path.exists() and self.writable()):
            self._ensure_schema()
            conn = self._open()
        elif not self.path.exists():
            yield None
            return
        else:
            conn = self._open(read_only=True)
            try:
                self._check_version(int(conn.execute("PRAGMA user_version").fetchone()[0]))
            except sqlite3.Error as err:
                conn.close()
                raise self._fail("not a usable corrections store", err) from err
            except BaseException:
                conn.close()
                raise
        try:
            if write:
                conn.execute("BEGIN IMMEDIATE")
            yield conn
            if write:
                conn.execute("COMMIT")
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise self._fail("corrections store failed", err) from err
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> builtins.list[Correction]:
        with self._connect() as conn:
            if conn is None:
                return []
            rows = conn.execute(sql, params).fetchall()
        return [self._from_row(r) for r in rows]

    @property
    def schema_version(self) -> int:
        with self._connect() as conn:
            return 0 if conn is None else int(conn.execute("PRAGMA user_version").fetchone()[0])

    # -- rows --------------------------------------------------------------------------------------

    def _from_row(self, row: Sequence[Any]) -> Correction:
        """A stored row as a ``Correction``; a damaged row (bad WKT, a blob note …) is named, not skipped."""
        id_, item_id, place, geom, previous, note, author, created_at, undone_at = row
        texts = {"item_id": item_id, "geometry": geom, "note": note, "created_at": created_at}
        optional = {"place": place, "previous": previous, "author": author, "undone_at": undone_at}
        bad = next((k for k, v in texts.items() if not isinstance(v, str)), None) or next(
            (k for k, v in optional.items() if v is not None and not isinstance(v, str)), None
        )
        if bad is not None:
            value = {**texts, **optional}[bad]
            raise self._fail(f"row {id_}: {bad} is {type(value).__name__}, not text; fix or delete the row")
        try:
            geometry = shapely.from_wkt(geom)
            before = None if previous is None else shapely.from_wkt(previous)
        except Exception as err:  # shapely.errors.GEOSException and friends
            raise self._fail(f"row {id_}: geometry is not valid WKT; fix or delete the row", err) from err
        if geometry is None or geometry.is_empty:
            raise self._fail(f"row {id_}: geometry is empty; fix or delete the row")
        return Correction(
            id=int(id_),
            item_id=item_id,
            place=place,
            geometry=geometry,
            previous=before,
            note=note,
            author=author or "",
            created_at=created_at,
            undone_at=undone_at,
        )

    def _prepare(
        self,
        item_id: Any,
        geometry: Any,
        *,
        note: Any,
        author: Any,
        place: Any,
        previous: Any,
        created_at: Any = None,
        undone_at: Any = None,
    ) -> tuple[Any, ...]:
        """Check one correction and return its row values (without id); raise before anything is written."""
        item_id = _text(item_id, "item_id").strip()
        if not item_id:
            raise CorrectionError("a correction needs an item id")
        note = _text(note, "note").strip()
        if not note:
            msg = "a correction needs a note saying what was wrong and where the fix comes from"
            raise CorrectionError(msg)
        author = _text(author, "author").strip()
        place = _text(place, "place").strip() or None if place is not None else None
        if not isinstance(geometry, str | dict | BaseGeometry):
            msg = f"the geometry is a {type(geometry).__name__}: give a GeoJSON geometry object or WKT text"
            raise GeometryError(msg)
        geom = _as_geometry(geometry, self.city_area)
        if previous is not None and not isinstance(previous, str | BaseGeometry):
            raise GeometryError(f"previous geometry: a {type(previous).__name__}, not WKT text")
        try:
            prev = _previous_geometry(previous)
        except GeometryError as err:
            msg = f"previous geometry: {err}"
            raise GeometryError(msg) from err
        return (
            item_id,
            place,
            to_wkt(geom),
            None if prev is None else to_wkt(prev),
            note,
            author,
            _now() if created_at is None else _utc_iso(created_at, what="created_at"),
            None if undone_at is None else _utc_iso(undone_at, what="undone_at"),
        )

    def _insert(self, conn: sqlite3.Connection, values: tuple[Any, ...]) -> Correction:
        cur = conn.execute(
            "INSERT INTO corrections (item_id, place, geometry, previous, note, author, created_at,"
            " undone_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
        row = conn.execute(f"SELECT {_FIELDS} FROM corrections WHERE id = ?", (cur.lastrowid,)).fetchone()
        return self._from_row(row)

    # -- public API --------------------------------------------------------------------------------

    def add(
        self,
        item_id: str,
        geometry: str | BaseGeometry | dict[str, Any],
        *,
        note: str,
        author: str = "",
        place: str | None = None,
        previous: str | BaseGeometry | None = None,
    ) -> Correction:
        """Check and store one correction; on any problem raise and write nothing."""
        values = self._prepare(item_id, geometry, note=note, author=author, place=place, previous=previous)
        with self._connect(write=True) as conn:
            assert conn is not None
            return self._insert(conn, values)

    def all(self) -> builtins.list[Correction]:
        """Active corrections, oldest first (what a build applies)."""
        return self._rows(f"SELECT {_FIELDS} FROM corrections WHERE undone_at IS NULL ORDER BY id")

    def history(self) -> builtins.list[Correction]:
        """Every correction ever stored, undone ones included, oldest first (for review and export)."""
        return self._rows(f"SELECT {_FIELDS} FROM corrections ORDER BY id")

    def get(self, correction_id: int) -> Correction:
        """The correction with this id, active or undone; ``CorrectionError`` if there is none."""
        found = self._rows(f"SELECT {_FIELDS} FROM corrections WHERE id = ?", (int(correction_id),))
        if not found:
            raise CorrectionError(f"no correction with id {correction_id} in {self.path}")
        return found[0]

    def undo(self, correction_id: int) -> Correction:
        """Mark a correction undone (the row stays for review); refuse unknown or already undone ids."""
        if not self.path.exists():
            raise CorrectionError(f"no correction with id {correction_id} in {self.path}")
        with self._connect(write=True) as conn:
            assert conn is not None
            key = (int(correction_id),)
            row = conn.execute("SELECT undone_at FROM corrections WHERE id = ?", key).fetchone()
            if row is None:
                raise CorrectionError(f"no correction with id {correction_id} in {self.path}")
            if row[0] is not None:
                raise CorrectionError(f"correction {correction_id} was already undone at {row[0]}")
            conn.execute("UPDATE corrections SET undone_at = ? WHERE id = ?", (_now(), *key))
            row = conn.execute(f"SELECT {_FIELDS} FROM corrections WHERE id = ?", key).fetchone()
        return self._from_row(row)

    def active_for(self, item_ids: Iterable[str]) -> builtins.list[Correction]:
        """Active corrections of these items, oldest first."""
        ids = json.dumps(sorted({str(i) for i in item_ids}))
        return self._rows(
            f"SELECT {_FIELDS} FROM corrections WHERE undone_at IS NULL"
            " AND item_id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (ids,),
        )

    def to_geojson(self) -> dict[str, Any]:
        """Every correction, undone ones with their ``undone_at``, as an RFC 7946 FeatureCollection.

        Undone rows are kept so that an export imported elsewhere carries the same history.
        """
        features = []
        for c in self.history():
            geom = c.geometry
            if geom.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection"):
                geom = shapely.orient_polygons(geom, exterior_cw=False)
            props = c.to_properties()
            del props["geometry"]
            features.append({"type": "Feature", "id": c.id, "properties": props, "geometry": mapping(geom)})
        return {"type": "FeatureCollection", "features": features}

    def export_geojson(self, path: str | Path, *, created: Any = None) -> Path:
        """Write every correction (undone ones included) to ``path`` atomically; return the path."""
        doc = self.to_geojson()
        body = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in doc["features"])
        text = '{"type":"FeatureCollection","features":[\n' + body + ("\n" if body else "") + "]}\n"
        try:
            return write_atomic(path, text, created=created)
        except OSError as err:
            msg = f"{path}: cannot write corrections ({err.strerror or err})"
            raise CorrectionError(msg) from err

    def read_geojson(self, path: str | Path) -> builtins.list[tuple[Any, ...]]:
        """Check every correction of a FeatureCollection file; return their row values, or raise naming all problems."""
        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as err:
            msg = f"{p}: cannot read ({err.strerror or err})"
            raise CorrectionError(msg) from err
        doc = _load_json(raw, p)
        if (
            not isinstance(doc, dict)
            or doc.get("type") != "FeatureCollection"
            or not isinstance(doc.get("features"), builtins.list)
        ):
            raise CorrectionError(f"{p}: not a GeoJSON FeatureCollection")
        rows: builtins.list[tuple[Any, ...]] = []
        problems: builtins.list[str] = []
        for i, feat in enumerate(doc["features"]):
            props = feat.get("properties") if isinstance(feat, dict) else None
            props = props if isinstance(props, dict) else {}
            item = props.get("item_id")
            where = f"feature {i}" + (f" (item {item})" if isinstance(item, str) and item else "")
            try:
                if not isinstance(feat, dict) or feat.get("type") != "Feature":
                    raise CorrectionError("not a GeoJSON Feature")
                if not feat.get("geometry"):
                    raise GeometryError("no geometry")
                rows.append(
                    self._prepare(
                        props.get("item_id") or "",
                        feat["geometry"],
                        note=props.get("note") or "",
                        author=props.get("author") or "",
                        place=props.get("place"),
                        previous=props.get("previous"),
                        created_at=props.get("created_at"),
                        undone_at=props.get("undone_at"),
                    )
                )
            except (CorrectionError, GeometryError) as err:
                problems.append(f"{where}: {err}")
        if problems:
            more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
            msg = f"{p}: {len(problems)} bad correction(s), nothing imported: " + "; ".join(problems[:10]) + more
            raise CorrectionError(msg)
        return rows

    def import_geojson(
        self, path: str | Path, *, known_items: Iterable[str] | None = None
    ) -> builtins.list[Correction]:
        """Add every correction of a FeatureCollection, all or nothing; return the ones added.

        Each feature needs ``properties.item_id``, ``properties.note`` and a geometry; ``place``,
        ``author``, ``previous`` (WKT), ``created_at`` and ``undone_at`` are kept when given, ids are new.
        A feature identical to a correction already stored (or earlier in the file) is skipped, so
        importing twice adds nothing. With ``known_items``, ids not among them are refused by name.
        Linear: the stored keys of the file's items are read once, rows go in with one ``executemany``
        in one transaction.
        """
        rows = self.read_geojson(path)
        if known_items is not None:
            known = set(known_items)
            unknown = builtins.list(dict.fromkeys(r[0] for r in rows if r[0] not in known))
            if unknown:
                more = f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else ""
                msg = (
                    f"{path}: {len(unknown)} item id(s) not in the report, nothing imported: "
                    + ", ".join(unknown[:10])
                    + more
                )
                raise CorrectionError(msg)
        with self._connect(write=True) as conn:
            assert conn is not None
            ids = json.dumps(sorted({r[0] for r in rows}))
            seen = set(
                conn.execute(
                    "SELECT item_id, place, geometry, note, author, created_at FROM corrections"
                    " WHERE item_id IN (SELECT value FROM json_each(?))",
                    (ids,),
                ).fetchall()
            )
            fresh = []
            for values in rows:
                key = (values[0], values[1], values[2], values[4], values[5], values[6])
                if key not in seen:
                    seen.add(key)
                    fresh.append(values)
            last = conn.execute("SELECT coalesce(max(id), 0) FROM corrections").fetchone()[0]
            conn.executemany(
                "INSERT INTO corrections (item_id, place, geometry, previous, note, author, created_at,"
                " undone_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                fresh,
            )
            added = conn.execute(f"SELECT {_FIELDS} FROM corrections WHERE id > ? ORDER BY id", (last,)).fetchall()
        return [self._from_row(r) for r in added]


def _text(value: Any, what: str) -> str:
    """``value`` as storable text: a string without lone surrogates (argv's undecodable bytes, JSON "\\ud800")."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CorrectionError(f"{what} is a {type(value).__name__}, not text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        msg = (
            f"{what} is not valid UTF-8 text (character {err.start + 1} is U+{ord(value[err.start]):04X}, "
            "a lone surrogate or an undecodable byte)"
        )
        raise CorrectionError(msg) from err
    return value


def _load_json(raw: bytes, path: Path) -> Any:
    """Parse a corrections file; undecodable, malformed or absurdly nested JSON is one clear error."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        msg = f"{path}: not UTF-8 (byte {err.start}: {raw[err.start : err.start + 1]!r})"
        raise CorrectionError(msg) from err
    depth = json_nesting(text)
    if depth > MAX_JSON_DEPTH:
        msg = f"{path}: JSON nested {depth} levels deep (more than {MAX_JSON_DEPTH}); not a corrections file"
        raise CorrectionError(msg)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        msg = f"{path}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})"
        raise CorrectionError(msg) from err
    except RecursionError as err:  # pragma: no cover - _max_nesting refuses these first
        raise CorrectionError(f"{path}: JSON nested too deeply") from err


# -- applying corrections to built features ---------------------------------------------------------


def _blank(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _no_geometry(geom: Any) -> bool:
    return _blank(geom) or not isinstance(geom, BaseGeometry) or geom.is_empty


def _without(unresolved: Any, place: str) -> Any:
    if _blank(unresolved):
        return unresolved
    rest = [u for u in str(unresolved).split("；") if u and u != place]
    return "；".join(rest) or None


def apply_corrections(
    gdf: gpd.GeoDataFrame,
    corrections: Iterable[Correction],
    *,
    gazetteer: Gazetteer | None = None,
) -> tuple[gpd.GeoDataFrame, builtins.list[Correction]]:
    """Apply active corrections to built features, oldest first (a later one wins); return what was left.

    A correction replaces the geometry of the item's row whose ``name`` is its place (or, with no
    place, the item's single row). A place the item has no row for replaces the item's sole
    city-wide or unlocated row (the correction locates it), else it is added as a new row
    (``fid`` ``<item_id>-c<id>``). Corrected rows get precision ``corrected``, geocoder ``correction``,
    confidence ``high``, a ``source`` quoting the note, a recomputed ``geometry_kind`` and, when a
    ``gazetteer`` is given, a recomputed ``district``.

    Returned second: corrections that could not be applied — their item is not in ``gdf`` (orphans,
    e.g. the report changed) or they name no place although the item has several rows.
    """
    from geoplan.features import geometry_kind

    out = gdf.reset_index(drop=True)
    geom_col = out.geometry.name
    p = PRECISION["corrected"]
    left: builtins.list[Correction] = []
    active = sorted((c for c in corrections if c.undone_at is None), key=lambda c: (c.created_at, c.id))
    for c in active:
        of_item = out.index[out["item_id"] == c.item_id]
        if len(of_item) == 0:
            left.append(c)
            continue
        if c.place is None:
            if len(of_item) != 1:
                left.append(c)
                continue
            idx = of_item[0]
        else:
            same_name = (out.loc[of_item, "name"] == c.place).fillna(False).to_numpy(dtype=bool)
            named = of_item[same_name]
            sole = out.loc[of_item[0]]
            if len(named):
                idx = named[-1]
            elif (
                len(of_item) == 1
                and _no_geometry(sole[geom_col])
                and not _blank(sole["precision"])
                and str(sole["precision"]) in PLACELESS_PRECISIONS
            ):
                idx = of_item[0]
                out.at[idx, "name"] = c.place
                out.at[idx, "place_kind"] = None
                out.at[idx, "place_status"] = None
            else:
                row = out.loc[[of_item[0]]].copy()
                idx = int(out.index.max()) + 1
                row.index = pd.Index([idx])
                out = _insert_after_item(out, row)
                out.at[idx, "fid"] = f"{c.item_id}-c{c.id}"
                out.at[idx, "name"] = c.place
                for col in ("matched", "place_kind", "place_status", "district"):
                    if col in out.columns:
                        out.at[idx, col] = None
            for i in out.index[out["item_id"] == c.item_id]:
                if "unresolved" in out.columns:
                    out.at[i, "unresolved"] = _without(out.at[i, "unresolved"], c.place)
        out.at[idx, geom_col] = c.geometry
        out.at[idx, "precision"] = p.key
        out.at[idx, "precision_code"] = p.code
        out.at[idx, "precision_zh"] = p.label_zh
        out.at[idx, "precision_en"] = p.label_en
        out.at[idx, "source"] = f"corrected by {c.author or 'a planner'}: {c.note}"
        out.at[idx, "geocoder"] = "correction"
        out.at[idx, "confidence"] = "high"
        out.at[idx, "datum"] = "WGS84"
        for col in ("source_url", "converted_from"):
            if col in out.columns:
                out.at[idx, col] = None
        out.at[idx, "geometry_kind"] = geometry_kind(c.geometry)
        if gazetteer is not None:
            out.at[idx, "district"] = gazetteer.district_of(c.geometry)
    if "precision_code" in out.columns:
        out["precision_code"] = out["precision_code"].astype("Int64")
    out = out.reset_index(drop=True)
    out.attrs = dict(gdf.attrs)
    return out, left


def _insert_after_item(gdf: gpd.GeoDataFrame, row: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Append ``row`` after the last row of its item, so an item's features stay together."""
    item = row["item_id"].iloc[0]
    pos = int(np.flatnonzero((gdf["item_id"] == item).to_numpy())[-1]) + 1
    merged = pd.concat([gdf.iloc[:pos], row, gdf.iloc[pos:]])
    out = gpd.GeoDataFrame(merged, geometry=gdf.geometry.name, crs=gdf.crs)
    out.attrs = dict(gdf.attrs)
    return out


def current_geometry(gdf: gpd.GeoDataFrame, item_id: str, place: str | None) -> BaseGeometry | None:
    """The geometry a correction of ``item_id`` (at ``place``) would replace; ``None`` for a new place.

    Raise ``CorrectionError`` when the item is not in ``gdf``, or when no place is named although the
    item has several places (say which one).
    """
    rows = gdf[gdf["item_id"] == item_id]
    if rows.empty:
        msg = f"no item {item_id!r} in the report (list ids with `geoplan parse REPORT -f table`)"
        raise CorrectionError(msg)
    if place is None:
        if len(rows) != 1:
            names = ", ".join(str(n) for n in rows["name"] if not _blank(n))
            msg = f"item {item_id!r} has {len(rows)} places ({names}): name the one it moves (place, --place)"
            raise CorrectionError(msg)
        geom = rows.geometry.iloc[0]
    else:
        named = rows[rows["name"] == place]
        if named.empty:
            return None
        geom = named.geometry.iloc[-1]
    return None if geom is None or geom.is_empty else geom


def corrected_features(
    gdf: gpd.GeoDataFrame, *, data_dir: str | Path | None = None, gazetteer: Gazetteer | None = None
) -> tuple[gpd.GeoDataFrame, builtins.list[Correction]]:
    """``gdf`` with the data dir's active corrections applied; a missing store means no corrections."""
    path = default_store_path(data_dir)
    if not path.exists():
        return gdf, []
    return apply_corrections(gdf, CorrectionStore(path).all(), gazetteer=gazetteer)
