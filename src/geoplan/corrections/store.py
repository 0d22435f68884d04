"""The corrections store's API and records, the same on every backend.

A correction names an item, optionally the place of that item it moves (or adds), and the new geometry in WGS84
lon/lat; it keeps the geometry it replaced, a note saying why, who made it and when. Undoing one stamps
``undone_at`` and keeps the row for review. Everything a backend does not have to know (checking input, turning
rows into ``Correction`` records, export and import files, their messages) lives here, once; a backend
(``sqlite.py``, ``postgres.py``) only opens connections, runs the schema migrations and says how its SQL differs.

``CorrectionStore(...)`` picks the backend: a ``postgresql://`` URL (or, with no argument, the
``GEOPLAN_DATABASE_URL`` setting) gives the PostgreSQL store, anything else the SQLite file, so callers never
name a backend.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from geoplan import settings
from geoplan._io import MAX_JSON_DEPTH, json_nesting, write_atomic
from geoplan.corrections.geometry import (
    SHIPPED_CITY_AREA,
    _as_geometry,
    _Default,
    _previous_geometry,
    shipped_city_area,
    to_wkt,
)
from geoplan.errors import CorrectionError, CorrectionStoreError, GeometryError

#: The schema every backend migrates to; each backend's ``migrations`` has exactly this many steps.
SCHEMA_VERSION = 1

# Schema version 1, the corrections table, in each backend's dialect of its id column: the other columns are the
# same on both (timestamps stay ISO 8601 text), so an export is byte-for-byte the same from either store.
CORRECTIONS_TABLE = """
    CREATE TABLE IF NOT EXISTS corrections (
        id         {id_column},
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
    """
STORE_NAME = "corrections.sqlite"
_FIELDS = "id, item_id, place, geometry, previous, note, author, created_at, undone_at"
_INSERT = (
    "INSERT INTO corrections (item_id, place, geometry, previous, note, author, created_at, undone_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


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
        return str(self.geometry.geom_type)

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


class Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def fetchall(self) -> builtins.list[Any]: ...


class Connection(Protocol):
    """What the shared code needs of a backend's connection: ``?`` placeholders, rows as tuples."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...


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


def default_store_path(data_dir: str | Path | None = None) -> Path:
    """``corrections.sqlite`` in ``data_dir`` (default ``settings.data_dir()``)."""
    return Path(data_dir if data_dir is not None else settings.data_dir()) / STORE_NAME


def is_database_url(target: object) -> bool:
    """Whether ``target`` names a PostgreSQL database rather than an SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class CorrectionStore:
    """Corrections in one store (an SQLite file or a PostgreSQL database); safe to share between threads and
    processes. ``CorrectionStore(target)`` returns the backend that ``target`` names (see the module doc)."""

    #: MIGRATIONS[v] brings a store from schema version v to v + 1; a new schema appends one step and never
    #: edits an old one, so a store of any age walks up to the newest in one transaction.
    migrations: tuple[str, ...] = ()

    def __new__(
        cls, target: str | Path | None = None, *, city_area: BaseGeometry | None | _Default = SHIPPED_CITY_AREA
    ) -> CorrectionStore:
        if cls is not CorrectionStore:
            return super().__new__(cls)
        from geoplan.corrections.postgres import PostgresCorrectionStore
        from geoplan.corrections.sqlite import SqliteCorrectionStore

        url = target if target is not None else settings.database_url()
        backend: type[CorrectionStore] = PostgresCorrectionStore if is_database_url(url) else SqliteCorrectionStore
        return super().__new__(backend)

    def __init__(
        self, target: str | Path | None = None, *, city_area: BaseGeometry | None | _Default = SHIPPED_CITY_AREA
    ) -> None:
        """Only a backend's ``__init__`` runs (``__new__`` picked it); it passes the city area up."""
        self._city_area = city_area

    @classmethod
    def in_data_dir(cls, data_dir: str | Path | None = None, **kwargs: Any) -> CorrectionStore:
        """The configured store: PostgreSQL when ``GEOPLAN_DATABASE_URL`` is set, else the data dir's SQLite file."""
        url = settings.database_url()
        if url is not None:
            if not is_database_url(url):
                scheme = url.split(":", 1)[0][:20]
                msg = f"GEOPLAN_DATABASE_URL must be a postgresql:// URL (it starts {scheme!r}:)"
                raise CorrectionStoreError(msg)
            return CorrectionStore(url, **kwargs)
        return CorrectionStore(default_store_path(data_dir), **kwargs)

    @property
    def schema_target(self) -> int:
        return len(self.migrations)

    @property
    def city_area(self) -> BaseGeometry | None:
        if isinstance(self._city_area, _Default):
            self._city_area = shipped_city_area()
        if self._city_area is not None:
            shapely.prepare(self._city_area)  # one intersects test per imported row: prepare the area once
        area: BaseGeometry | None = self._city_area
        return area

    # -- what a backend provides (each raises here: the base class is never instantiated) ------------

    @property
    def location(self) -> str:
        """Where the store is, for messages: a file path, or a database URL without its password."""
        raise NotImplementedError

    def exists(self) -> bool:
        """Whether the store has been created (reading never creates it)."""
        raise NotImplementedError

    def writable(self) -> bool:
        """Whether this process may change the store."""
        raise NotImplementedError

    @property
    def schema_version(self) -> int:
        """The stored schema version (0 for a store not created yet)."""
        raise NotImplementedError

    def _connect(self, *, write: bool = False) -> AbstractContextManager[Connection | None]:
        """One connection per operation, writes in one transaction; ``None`` when reading a missing store."""
        raise NotImplementedError

    def _items_clause(self) -> str:
        """SQL true for rows whose item_id is in the one parameter made by ``_items_param``."""
        raise NotImplementedError

    def _items_param(self, item_ids: builtins.list[str]) -> Any:
        raise NotImplementedError

    def _insert_many(self, conn: Connection, rows: builtins.list[tuple[Any, ...]]) -> builtins.list[Any]:
        """Insert ``rows`` in the open write transaction; return the inserted rows (``_FIELDS``), by id."""
        raise NotImplementedError

    def _lock_rows(self) -> str:
        """What a SELECT appends to lock the rows it reads until the transaction ends ("" where writes serialise)."""
        return ""

    def _lock_imports(self, conn: Connection) -> None:
        """Serialise imports (their duplicate check reads before it writes); a no-op where all writes serialise."""

    # -- shared ------------------------------------------------------------------------------------

    def _fail(self, what: str, err: BaseException | None = None) -> CorrectionStoreError:
        detail = f" ({err})" if err is not None else ""
        return CorrectionStoreError(f"{self.location}: {what}{detail}")

    def _check_version(self, version: int) -> None:
        if version > self.schema_target:
            msg = (
                f"schema version {version} is newer than this geoplan understands ({self.schema_target}); "
                "upgrade geoplan"
            )
            raise self._fail(msg)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> builtins.list[Correction]:
        with self._connect() as conn:
            if conn is None:
                return []
            rows = conn.execute(sql, params).fetchall()
        return [self._from_row(r) for r in rows]

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
            row = conn.execute(_INSERT + f" RETURNING {_FIELDS}", values).fetchone()
        return self._from_row(row)

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
            raise CorrectionError(f"no correction with id {correction_id} in {self.location}")
        return found[0]

    def undo(self, correction_id: int) -> Correction:
        """Mark a correction undone (the row stays for review); refuse unknown or already undone ids."""
        if not self.exists():
            raise CorrectionError(f"no correction with id {correction_id} in {self.location}")
        with self._connect(write=True) as conn:
            assert conn is not None
            key = (int(correction_id),)
            row = conn.execute("SELECT undone_at FROM corrections WHERE id = ?" + self._lock_rows(), key).fetchone()
            if row is None:
                raise CorrectionError(f"no correction with id {correction_id} in {self.location}")
            if row[0] is not None:
                raise CorrectionError(f"correction {correction_id} was already undone at {row[0]}")
            row = conn.execute(
                f"UPDATE corrections SET undone_at = ? WHERE id = ? RETURNING {_FIELDS}", (_now(), *key)
            ).fetchone()
        return self._from_row(row)

    def active_for(self, item_ids: Iterable[str]) -> builtins.list[Correction]:
        """Active corrections of these items, oldest first."""
        ids = sorted({str(i) for i in item_ids})
        return self._rows(
            f"SELECT {_FIELDS} FROM corrections WHERE undone_at IS NULL AND {self._items_clause()} ORDER BY id",
            (self._items_param(ids),),
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
            written: Path = write_atomic(path, text, created=created)
        except OSError as err:
            msg = f"{path}: cannot write corrections ({err.strerror or err})"
            raise CorrectionError(msg) from err
        return written

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
        Linear: every check runs before the store is opened, the stored keys of the file's items are read
        once, and the rows go in with one statement in one transaction.
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
            self._lock_imports(conn)
            ids = sorted({r[0] for r in rows})
            seen = {
                tuple(r)
                for r in conn.execute(
                    "SELECT item_id, place, geometry, note, author, created_at FROM corrections WHERE "
                    + self._items_clause(),
                    (self._items_param(ids),),
                ).fetchall()
            }
            fresh = []
            for values in rows:
                key = (values[0], values[1], values[2], values[4], values[5], values[6])
                if key not in seen:
                    seen.add(key)
                    fresh.append(values)
            added = self._insert_many(conn, fresh) if fresh else []
        return [self._from_row(r) for r in added]


def _text(value: Any, what: str) -> str:
    """``value`` as storable text: a string without lone surrogates (argv's undecodable bytes, JSON "\\ud800")
    or NUL characters."""
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
    if "\x00" in value:  # PostgreSQL text cannot hold it; refused on SQLite too, so an export moves anywhere
        raise CorrectionError(f"{what} contains a NUL character (character {value.index(chr(0)) + 1})")
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


__all__ = [
    "SCHEMA_VERSION",
    "STORE_NAME",
    "Connection",
    "Correction",
    "CorrectionStore",
    "Cursor",
    "default_store_path",
    "is_database_url",
]
