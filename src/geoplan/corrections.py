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
import sqlite3
import threading
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
from geoplan._io import write_atomic
from geoplan.errors import CorrectionError, GazetteerError, GeometryError
from geoplan.gazetteer import Gazetteer, load_gazetteer
from geoplan.geocoders.base import PRECISION

STORE_NAME = "corrections.sqlite"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
PLACELESS_PRECISIONS = ("city", "unlocated")

_SCHEMA = """
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
"""
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
            "id": self.id, "item_id": self.item_id, "place": self.place, "geometry": to_wkt(self.geometry),
            "previous": None if self.previous is None else to_wkt(self.previous), "note": self.note,
            "author": self.author, "created_at": self.created_at, "undone_at": self.undone_at,
        }


def to_wkt(geom: BaseGeometry) -> str:
    """WKT at full precision, so a stored geometry reads back equal."""
    return shapely.to_wkt(geom, rounding_precision=-1)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _utc_iso(value: Any, *, what: str) -> str:
    """``value`` as a UTC ISO 8601 timestamp; naive times are taken as UTC."""
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as err:
        msg = f"{what} {value!r} is not an ISO 8601 timestamp"
        raise CorrectionError(msg) from err
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="seconds")


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
        try:
            doc = json.loads(stripped)
        except json.JSONDecodeError as err:
            msg = f"not valid GeoJSON: {err.msg} at line {err.lineno} column {err.colno}"
            raise GeometryError(msg) from err
        if not isinstance(doc, dict):
            raise GeometryError("not a GeoJSON object")
        if doc.get("type") == "FeatureCollection":
            feats = doc.get("features") or []
            if len(feats) != 1:
                msg = f"a FeatureCollection must hold exactly one feature (has {len(feats)})"
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
    try:
        geom = shapely.from_wkt(stripped)
    except Exception as err:  # shapely.errors.GEOSException and friends
        msg = f"not valid WKT or GeoJSON: {stripped[:60]!r} ({err})"
        raise GeometryError(msg) from err
    if geom is None:
        raise GeometryError(f"not valid WKT or GeoJSON: {stripped[:60]!r}")
    return geom


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


def check_geometry(geom: BaseGeometry, *, city_area: BaseGeometry | None | _Default = SHIPPED_CITY_AREA
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
            msg = (f"coordinates outside lon/lat range ({x:g}, {y:g}): they look like lat/lon swapped "
                   "(WKT and GeoJSON are lon, lat — e.g. POINT (112.55 37.87))")
            raise GeometryError(msg)
        raise GeometryError("coordinates outside lon/lat range (lon -180..180, lat -90..90; WGS84 degrees)")
    if not geom.is_valid:
        msg = f"invalid {geom.geom_type}: {shapely.is_valid_reason(geom)} (fix the geometry and try again)"
        raise GeometryError(msg)
    area = shipped_city_area() if isinstance(city_area, _Default) else city_area
    if area is not None and not area.intersects(geom):
        swapped = _swap(geom)
        if _in_range(shapely.get_coordinates(swapped)) and area.intersects(swapped):
            raise GeometryError("geometry lies outside the city but inside it with lat/lon swapped: "
                                "it looks like lat/lon swapped (WKT and GeoJSON are lon, lat)")
        pt = geom.representative_point()
        msg = (f"geometry at ({pt.x:.4f}, {pt.y:.4f}) lies outside the city "
               f"(more than {settings.city_buffer_km:g} km beyond its boundary)")
        raise GeometryError(msg)
    return geom


def parse_geometry(text: str, *, city_area: BaseGeometry | None | _Default = SHIPPED_CITY_AREA
                   ) -> BaseGeometry:
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
    if isinstance(value, dict):
        return parse_geometry(json.dumps(value), city_area=city_area)
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

    def __init__(self, path: str | Path | None = None, *,
                 city_area: BaseGeometry | None | _Default = SHIPPED_CITY_AREA) -> None:
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
        return self._city_area

    # -- connections -------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        except sqlite3.Error as err:
            msg = f"{self.path}: cannot open the corrections store ({err})"
            raise CorrectionError(msg) from err
        return conn

    def _ensure_schema(self) -> None:
        with self._lock:
            if self._ready and self.path.exists():
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                msg = f"{self.path.parent}: cannot create the data directory ({err.strerror})"
                raise CorrectionError(msg) from err
            conn = self._open()
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    conn.execute("ROLLBACK")
                    msg = (f"{self.path}: schema version {version} is newer than this geoplan "
                           f"understands ({SCHEMA_VERSION}); upgrade geoplan")
                    raise CorrectionError(msg)
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                msg = f"{self.path}: not a usable corrections store ({err})"
                raise CorrectionError(msg) from err
            finally:
                conn.close()
            self._ready = True

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One connection per operation; writes in one ``BEGIN IMMEDIATE`` transaction."""
        self._ensure_schema()
        conn = self._open()
        try:
            if write:
                conn.execute("BEGIN IMMEDIATE")
            yield conn
            if write:
                conn.execute("COMMIT")
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            msg = f"{self.path}: corrections store failed ({err})"
            raise CorrectionError(msg) from err
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    @property
    def schema_version(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    # -- rows --------------------------------------------------------------------------------------

    @staticmethod
    def _from_row(row: Sequence[Any]) -> Correction:
        id_, item_id, place, geom, previous, note, author, created_at, undone_at = row
        return Correction(
            id=int(id_), item_id=item_id, place=place, geometry=shapely.from_wkt(geom),
            previous=None if previous is None else shapely.from_wkt(previous), note=note,
            author=author or "", created_at=created_at, undone_at=undone_at,
        )

    def _prepare(self, item_id: str, geometry: str | BaseGeometry | dict[str, Any], *, note: str,
                 author: str, place: str | None, previous: str | BaseGeometry | None,
                 created_at: str | None = None, undone_at: str | None = None) -> tuple[Any, ...]:
        """Check one correction and return its row values (without id); raise before anything is written."""
        item_id = str(item_id or "").strip()
        if not item_id:
            raise CorrectionError("a correction needs an item id")
        note = str(note or "").strip()
        if not note:
            msg = "a correction needs a note saying what was wrong and where the fix comes from"
            raise CorrectionError(msg)
        place = None if place is None or not str(place).strip() else str(place).strip()
        geom = _as_geometry(geometry, self.city_area)
        try:
            prev = _previous_geometry(previous)
        except GeometryError as err:
            msg = f"previous geometry: {err}"
            raise GeometryError(msg) from err
        return (
            item_id, place, to_wkt(geom), None if prev is None else to_wkt(prev), note,
            str(author or "").strip(),
            _now() if created_at is None else _utc_iso(created_at, what="created_at"),
            None if undone_at is None else _utc_iso(undone_at, what="undone_at"),
        )

    def _insert(self, conn: sqlite3.Connection, values: tuple[Any, ...]) -> Correction:
        cur = conn.execute(
            "INSERT INTO corrections (item_id, place, geometry, previous, note, author, created_at,"
            " undone_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
        row = conn.execute(f"SELECT {_FIELDS} FROM corrections WHERE id = ?", (cur.lastrowid,)).fetchone()
        return self._from_row(row)

    # -- public API --------------------------------------------------------------------------------

    def add(self, item_id: str, geometry: str | BaseGeometry | dict[str, Any], *, note: str,
            author: str = "", place: str | None = None,
            previous: str | BaseGeometry | None = None) -> Correction:
        """Check and store one correction; on any problem raise and write nothing."""
        values = self._prepare(item_id, geometry, note=note, author=author, place=place, previous=previous)
        with self._connect(write=True) as conn:
            return self._insert(conn, values)

    def list(self, include_undone: bool = False) -> builtins.list[Correction]:
        """Corrections oldest first; only active ones unless ``include_undone``."""
        where = "" if include_undone else " WHERE undone_at IS NULL"
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {_FIELDS} FROM corrections{where} ORDER BY id").fetchall()
        return [self._from_row(r) for r in rows]

    def get(self, correction_id: int) -> Correction:
        """The correction with this id, active or undone; ``CorrectionError`` if there is none."""
        with self._connect() as conn:
            row = conn.execute(f"SELECT {_FIELDS} FROM corrections WHERE id = ?",
                               (int(correction_id),)).fetchone()
        if row is None:
            raise CorrectionError(f"no correction with id {correction_id} in {self.path}")
        return self._from_row(row)

    def undo(self, correction_id: int) -> Correction:
        """Mark a correction undone (the row stays for review); refuse unknown or already undone ids."""
        with self._connect(write=True) as conn:
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
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_FIELDS} FROM corrections WHERE undone_at IS NULL"
                " AND item_id IN (SELECT value FROM json_each(?)) ORDER BY id", (ids,)).fetchall()
        return [self._from_row(r) for r in rows]

    def to_geojson(self) -> dict[str, Any]:
        """Active corrections as an RFC 7946 FeatureCollection (every field in ``properties``)."""
        features = []
        for c in self.list():
            geom = c.geometry
            if geom.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection"):
                geom = shapely.orient_polygons(geom, exterior_cw=False)
            props = c.to_properties()
            del props["geometry"]
            features.append({"type": "Feature", "id": c.id, "properties": props, "geometry": mapping(geom)})
        return {"type": "FeatureCollection", "features": features}

    def export_geojson(self, path: str | Path) -> Path:
        """Write the active corrections to ``path`` atomically; return the path."""
        doc = self.to_geojson()
        body = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in doc["features"])
        text = '{"type":"FeatureCollection","features":[\n' + body + ("\n" if body else "") + "]}\n"
        try:
            return write_atomic(path, text)
        except OSError as err:
            msg = f"{path}: cannot write corrections ({err.strerror})"
            raise CorrectionError(msg) from err

    def import_geojson(self, path: str | Path) -> builtins.list[Correction]:
        """Add every correction of a FeatureCollection, all or nothing; return the ones added.

        Each feature needs ``properties.item_id``, ``properties.note`` and a geometry; ``place``,
        ``author``, ``previous`` (WKT), ``created_at`` and ``undone_at`` are kept when given, ids are new.
        A feature identical to a correction already stored is skipped, so importing twice adds nothing.
        """
        p = Path(path)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except OSError as err:
            msg = f"{p}: cannot read ({err.strerror})"
            raise CorrectionError(msg) from err
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            msg = f"{p}: not valid JSON ({err})"
            raise CorrectionError(msg) from err
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" \
                or not isinstance(doc.get("features"), list):
            raise CorrectionError(f"{p}: not a GeoJSON FeatureCollection")
        rows: builtins.list[tuple[Any, ...]] = []
        problems: builtins.list[str] = []
        for i, feat in enumerate(doc["features"]):
            props = feat.get("properties") if isinstance(feat, dict) else None
            props = props if isinstance(props, dict) else {}
            where = f"feature {i}" + (f" (item {props['item_id']})" if props.get("item_id") else "")
            try:
                if not isinstance(feat, dict) or feat.get("type") != "Feature":
                    raise CorrectionError("not a GeoJSON Feature")
                if not feat.get("geometry"):
                    raise GeometryError("no geometry")
                rows.append(self._prepare(
                    props.get("item_id") or "", feat["geometry"], note=props.get("note") or "",
                    author=props.get("author") or "", place=props.get("place"),
                    previous=props.get("previous"), created_at=props.get("created_at"),
                    undone_at=props.get("undone_at")))
            except (CorrectionError, GeometryError) as err:
                problems.append(f"{where}: {err}")
        if problems:
            more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
            msg = (f"{p}: {len(problems)} bad correction(s), nothing imported: "
                   + "; ".join(problems[:10]) + more)
            raise CorrectionError(msg)
        added: builtins.list[Correction] = []
        with self._connect(write=True) as conn:
            for values in rows:
                dup = conn.execute(
                    "SELECT 1 FROM corrections WHERE item_id = ? AND place IS ? AND geometry = ? AND note = ?"
                    " AND author = ? AND created_at = ?",
                    (values[0], values[1], values[2], values[4], values[5], values[6])).fetchone()
                if dup is None:
                    added.append(self._insert(conn, values))
        return added


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
    gdf: gpd.GeoDataFrame, corrections: Iterable[Correction], *, gazetteer: Gazetteer | None = None,
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
            elif len(of_item) == 1 and _no_geometry(sole[geom_col]) \
                    and not _blank(sole["precision"]) and str(sole["precision"]) in PLACELESS_PRECISIONS:
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


def corrected_features(gdf: gpd.GeoDataFrame, *, data_dir: str | Path | None = None,
                       gazetteer: Gazetteer | None = None) -> tuple[gpd.GeoDataFrame, builtins.list[Correction]]:
    """``gdf`` with the data dir's active corrections applied; a missing store means no corrections."""
    path = default_store_path(data_dir)
    if not path.exists():
        return gdf, []
    return apply_corrections(gdf, CorrectionStore(path).list(), gazetteer=gazetteer)
