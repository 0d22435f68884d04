"""Turn linked, geocoded items into features: a GeoDataFrame and an RFC 7946 FeatureCollection.

Every item becomes at least one feature: one per place it names, or a single city-wide or unlocated
feature with ``geometry: null`` when it names none, so nothing in the report is lost on the map.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]  # pandas' text storage, a dependency
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geoplan import settings
from geoplan import _io
from geoplan._io import MAX_JSON_DEPTH, gc_paused, json_nesting
from geoplan.admin import admin_index
from geoplan.errors import GeoplanError, ValidationError
from geoplan.gazetteer import Gazetteer, gazetteer_for
from geoplan.models import Item, Location, Occurrence, Report, Status

if TYPE_CHECKING:
    from geoplan.geocoders.base import Geocoder
    from geoplan.link import Linker
# Linking and geocoding (geoplan.link, geoplan.parse, geoplan.names, geoplan.geocoders) are imported where a
# report text is read: reading a built file needs none of them, and their imports (their regexes compiled)
# were 0.08 s of every `geoplan map` of one (bench/README.md, "mapcpu").

COLUMNS: tuple[str, ...] = (
    "fid",
    "item_id",
    "domain",
    "section",
    "sections",
    "lines",
    "status",
    "status_zh",
    "item_status",
    "text",
    "quantities",
    "name",
    "matched",
    "place_kind",
    "geometry_kind",
    "precision",
    "precision_code",
    "precision_zh",
    "precision_en",
    "district",
    "source",
    "source_url",
    "confidence",
    "datum",
    "converted_from",
    "geocoder",
    "place_status",
    "unresolved",
    "part",
    "place_from",
)
GEOMETRY_KINDS = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "MultiLineString": "line",
    "Polygon": "area",
    "MultiPolygon": "area",
    "GeometryCollection": "area",
}


def geometry_kind(geom: BaseGeometry | None) -> str:
    return "none" if geom is None or geom.is_empty else GEOMETRY_KINDS[geom.geom_type]


def _item_columns(item: Item) -> dict[str, Any]:
    return {
        "item_id": item.id,
        "domain": item.domain,
        "section": item.section,
        "sections": "；".join(dict.fromkeys(o.section or "" for o in item.occurrences)),
        "lines": ",".join(str(o.line) for o in item.occurrences),
        "item_status": str(item.status),
        "part": item.part,
        "text": item.text,
        "quantities": "；".join(q.text for q in item.quantities),
    }


def _location_columns(loc: Location | None, precision: str) -> dict[str, Any]:
    from geoplan.geocoders.base import PRECISION

    p = PRECISION[precision]
    cols: dict[str, Any] = {
        "precision": p.key,
        "precision_code": p.code,
        "precision_zh": p.label_zh,
        "precision_en": p.label_en,
    }
    if loc is not None:
        cols.update(
            name=loc.name,
            place_kind=loc.kind,
            district=loc.district,
            source=loc.source,
            source_url=loc.source_url,
            confidence=loc.confidence,
            datum=loc.datum,
            converted_from=loc.converted_from,
            geocoder=loc.geocoder,
            place_status=loc.status,
        )
    return cols


def features_from_report(
    report: Report,
    *,
    gazetteer: Gazetteer | None = None,
    geocoders: Sequence[Geocoder] = (),
) -> gpd.GeoDataFrame:
    """Link and geocode every item of ``report``; ``geocoders`` after the gazetteer serve unknown names.

    Places are looked up in the gazetteer of the report's city (:func:`geoplan.gazetteer.gazetteer_for`)
    unless ``gazetteer`` is given. An item that names no place but stands under a heading that names a
    district (``迎泽``, ``（三）小店区``) is placed at that district, and says so (``place_from``).
    """
    from geoplan.geocoders.gazetteer import GazetteerGeocoder
    from geoplan.link import Linker

    gaz = gazetteer if gazetteer is not None else gazetteer_for(report.city.adcode if report.city else None)
    linker = Linker(gaz)
    headings = _HeadingPlaces(linker, gaz)
    primary = GazetteerGeocoder(gaz)
    rows: list[dict[str, Any]] = []
    order = {d.name: i for i, d in enumerate(report.domains)}
    items = sorted(report.items, key=lambda it: (order.get(it.domain, 0), it.line))
    for item in items:
        base = _item_columns(item)
        mentions = linker.mentions(item)
        unknown = linker.unknown_places(item, mentions)
        located: list[tuple[Location, str, Status | None]] = []
        for m in mentions:
            loc = primary.geocode(m.name)
            if loc is not None:
                located.append((loc, m.matched, m.status))
        for name in unknown:
            for coder in geocoders:
                loc = coder.geocode(name)
                if loc is not None:
                    located.append((loc, name, None))
                    unknown = tuple(u for u in unknown if u != name)
                    break
        unresolved = "；".join(unknown) or None
        place_from = "text" if located else None
        if not located:  # a name the gazetteer lacks stays unresolved, and its district still places the item
            heading = headings.place(item)
            if heading is not None:
                located.append(heading)
                place_from = "heading"
        if not located:
            precision = "unlocated" if unknown else "city"
            status = item.status
            row = {
                **base,
                "matched": None,
                "unresolved": unresolved,
                "geometry": None,
                **_location_columns(None, precision),
            }
            if precision == "city" and gaz.city is not None:
                row.update(
                    name=gaz.city.name,
                    place_kind="city",
                    source=gaz.city.source,
                    confidence="high",
                    datum=gaz.city.datum,
                    geocoder="gazetteer",
                    place_status="existing",
                )
            row.update(status=str(status), status_zh=status.label_zh)
            rows.append(row)
            continue
        for loc, matched, clause_status in located:
            status = clause_status or item.status
            rows.append(
                {
                    **base,
                    **_location_columns(loc, loc.precision),
                    "matched": matched,
                    "unresolved": unresolved,
                    "status": str(status),
                    "status_zh": status.label_zh,
                    "place_from": place_from,
                    "geometry": loc.geometry,
                }
            )
    seen: dict[str, int] = {}  # rows so far per item (a rescan of earlier rows was quadratic)
    for row in rows:
        seen[row["item_id"]] = n = seen.get(row["item_id"], 0) + 1
        row["fid"] = f"{row['item_id']}-{n}"
        row["geometry_kind"] = geometry_kind(row["geometry"])
    frame = _typed(pd.DataFrame(rows, columns=[*COLUMNS, "geometry"]))
    gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs=settings.default_crs)
    gdf.attrs["report"] = report_meta(report)
    if gaz.checked:  # rows that carry a geometry the gazetteer's load checked (not a converted or other one)
        ids = {id(e.geometry) for e in gaz.entries if e.geometry is not None}
        gdf.attrs[CHECKED] = CheckedGeometries.of(g for g in gdf.geometry.to_numpy() if id(g) in ids)
    return gdf


class _HeadingPlaces:
    """The district a section or domain heading names (``迎泽``, ``（三）小店区``), looked up once per heading."""

    def __init__(self, linker: Linker, gaz: Gazetteer) -> None:
        from geoplan.geocoders.gazetteer import GazetteerGeocoder

        self.linker = linker
        self.gaz = gaz
        self.primary = GazetteerGeocoder(gaz)
        self.memo: dict[str, Location | None] = {}

    def place(self, item: Item) -> tuple[Location, str, Status | None] | None:
        for heading in (item.section, item.domain):
            if heading and len(heading) <= 20:
                loc = self._lookup(heading)
                if loc is not None:
                    return loc, heading, None
        return None

    def _lookup(self, heading: str) -> Location | None:
        if heading not in self.memo:
            self.memo[heading] = self._find(heading)
        return self.memo[heading]

    def _find(self, heading: str) -> Location | None:
        name = self._admin_name(heading)
        if name is None:
            return None
        loc = self.primary.geocode(name)
        if loc is None:
            return None
        return replace(loc, source=f"{loc.source}; placed by its heading {heading!r}")

    def _admin_name(self, heading: str) -> str | None:
        entry = self.gaz.by_name.get(heading)
        if entry is not None and entry.is_admin and entry is not self.gaz.city:
            return entry.name
        home = self.gaz.city
        try:
            index = admin_index()
            unit = index.find(heading, within=home.adcode if home and home.adcode else None)
        except GeoplanError:
            unit = None
        if unit is not None and unit.name in self.gaz.by_name and self.gaz.by_name[unit.name] is not home:
            return unit.name
        probe = Item(id="", text=heading, occurrences=(Occurrence(heading, None, 0),))
        names = [m.name for m in self.linker.mentions(probe) if self.gaz.by_name[m.name].is_admin]
        return names[0] if len(names) == 1 else None


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """``precision_code`` as nullable integers; a column no row has a value for as objects (``None``).

    Such a column would otherwise be float NaN, and writing a name into it later (a correction's
    district) raises ``TypeError`` in pandas.
    """
    for col in frame.columns:
        if col == "precision_code":
            frame[col] = frame[col].astype("Int64")
        elif col != "geometry" and frame[col].dtype != object and frame[col].isna().all():
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def report_meta(report: Report) -> dict[str, Any]:
    """What a built GeoJSON keeps of the report besides its items (a foreign member, RFC 7946 §6.1)."""

    return {
        "source": Path(report.source).name,
        "shape": report.shape,
        "city": report.city.to_dict() if report.city else None,
        "title": report.title,
        "byline": report.byline,
        "lead": list(report.lead),
        "domains": [d.name for d in report.domains],
        "targets": [asdict(t) for t in report.targets],
    }


def clean_geometry(geom: BaseGeometry | None, decimals: int) -> BaseGeometry | None:
    """A geometry as RFC 7946 output has it: rounded, valid, exteriors counter-clockwise; ``None`` if empty."""
    if geom is None or geom.is_empty:
        return None
    geom = shapely.transform(geom, lambda xy: np.round(xy, decimals))
    if geom.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection"):
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        geom = shapely.orient_polygons(geom, exterior_cw=False)
    return geom


def clean_geometries(geoms: np.ndarray, decimals: int, valid: np.ndarray | None = None) -> np.ndarray:
    """``clean_geometry`` over an array in vectorised calls: ``None`` for missing or empty geometries.

    Geometries whose coordinates rounding leaves as they are are not copied; ``valid`` (a mask, optional)
    marks geometries known valid (``CheckedGeometries``): those of them that rounding leaves alone are not
    checked again (at 10k distinct places ``is_valid`` and the rounding copy were 0.5 s of ``geoplan map``).
    """
    out = np.asarray(geoms, dtype=object).copy()
    keep = ~(shapely.is_missing(out) | shapely.is_empty(out))
    out[~keep] = None
    if not keep.any():
        return out
    at = np.flatnonzero(keep)
    coords, owner = shapely.get_coordinates(out[at], return_index=True)
    moved = np.zeros(len(out), dtype=bool)  # NaN compares unequal: such a geometry goes through transform as before
    moved[at[np.unique(owner[(np.round(coords, decimals) != coords).any(axis=1)])]] = True
    del coords, owner
    if moved.any():
        out[moved] = shapely.transform(out[moved], lambda xy: np.round(xy, decimals))
    poly = keep & np.isin(shapely.get_type_id(out), (3, 6, 7))
    unknown = poly if valid is None else poly & ~(np.asarray(valid, dtype=bool) & ~moved)
    bad = np.zeros(len(out), dtype=bool)
    bad[unknown] = ~shapely.is_valid(out[unknown])
    if bad.any():
        out[bad] = shapely.make_valid(out[bad])
    if poly.any():
        out[poly] = shapely.orient_polygons(out[poly], exterior_cw=False)
    return out


CHECKED = "geoplan_checked_geometries"  # the frame attr that holds a reader's CheckedGeometries


@dataclass(frozen=True, eq=False)
class CheckedGeometries:
    """The geometry objects of a frame that a reader has checked: valid and lon/lat in range (a built file's,
    by ``_checked_features``, also every ring closed and wound by RFC 7946's right-hand rule; a report's, by
    the gazetteer's load, ``Gazetteer.checked``). ``map_data`` relies on their validity only: it orients
    every polygon itself.

    Kept in ``gdf.attrs[CHECKED]`` so that ``map_data`` does not check them again (10k distinct places:
    0.3 s of ``geoplan map``); it trusts a row only while its geometry *is* one of these objects, so a
    correction's geometry, a shifted one or a frame the record was copied to with other geometries is
    cleaned as any other. Holding the objects keeps their ids theirs. pandas deep-copies ``attrs`` into
    every frame taken from one: the record is shared instead (shapely geometries are immutable).
    """

    geoms: tuple[Any, ...]
    ids: frozenset[int] = field(repr=False)

    @classmethod
    def of(cls, geoms: Iterable[Any]) -> CheckedGeometries:
        kept = tuple(g for g in geoms if g is not None)
        return cls(kept, frozenset(map(id, kept)))

    def __deepcopy__(self, memo: dict[int, Any]) -> CheckedGeometries:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its geometries only: the ids are remade from the objects unpickled (the frame's own, when
        pickled with it), never carried over from another process, where they may name other objects."""
        return (CheckedGeometries.of, (self.geoms,))

    def rows(self, geoms: Iterable[Any]) -> np.ndarray:
        """Which of ``geoms`` are checked objects (a bool mask)."""
        ids = self.ids
        return np.fromiter((id(g) in ids for g in geoms), dtype=bool)


def checked_rows(gdf: gpd.GeoDataFrame, geoms: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Which of ``geoms`` (drawn from ``gdf``) its reader checked: all False for a frame no reader marked."""
    record = gdf.attrs.get(CHECKED)
    if isinstance(record, CheckedGeometries):
        return record.rows(geoms)
    return np.zeros(len(geoms), dtype=bool)


def geometries_to_geojson(geoms: np.ndarray, *, arrays: bool = False) -> list[dict[str, Any] | None]:
    """GeoJSON geometry dicts of shapely geometries, equal to ``mapping()`` of each (lists for tuples).

    One ``to_ragged_array`` per geometry type and one ``tolist`` of its coordinates, then slices by the
    ring and part offsets: ``mapping()`` one by one was a third of writing 10k distinct places.
    Collections and empty geometries go through ``to_geojson``. With ``arrays`` each line or ring is a
    numpy view of the coordinates instead of a list of lists, for ``dumps_json`` (orjson writes them
    as nested arrays): ``tolist`` was 1.3 s of ``geoplan map`` on 10k distinct places and their Python
    floats most of its memory.
    """
    geoms = np.asarray(geoms, dtype=object)
    out: list[dict[str, Any] | None] = [None] * len(geoms)
    types = shapely.get_type_id(geoms)
    types[shapely.is_empty(geoms) & (types >= 0)] = -2
    types[shapely.has_z(geoms)] += 100  # 2D and 3D apart: to_ragged_array would give 2D ones a NaN z
    for t in np.unique(types).tolist():
        where = np.flatnonzero(types == t)
        if t == -1:
            continue
        name = _RAGGED_NAMES.get(t % 100)
        if name is None:  # collections, linear rings, empty geometries
            parsed = json.loads("[" + ",".join(shapely.to_geojson(geoms[where]).tolist()) + "]")
            for i, g in zip(where.tolist(), parsed, strict=True):
                out[i] = g
            continue
        _kind, coords, offsets = shapely.to_ragged_array(geoms[where])
        nested: list[Any]
        if arrays and offsets:  # the innermost level (a line's or a ring's points) stays a numpy view
            o = offsets[0].tolist()
            nested = [coords[a:b] for a, b in zip(o[:-1], o[1:], strict=True)]
            offsets = offsets[1:]
        else:
            nested = coords.tolist()
        for off in offsets:
            o = off.tolist()
            nested = [nested[a:b] for a, b in zip(o[:-1], o[1:], strict=True)]
        for i, c in zip(where.tolist(), nested, strict=True):
            out[i] = {"type": name, "coordinates": c}
    return out


_RAGGED_NAMES = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon"}


def json_value(v: Any) -> Any:
    """A frame's cell as JSON has it: ``None`` for NA and NaN, Python numbers for numpy ones."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def json_columns(frame: pd.DataFrame, columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Rows of ``frame[columns]`` as tuples of JSON values (``json_value`` of each cell), column by column.

    ``itertuples`` over pandas' Arrow-backed text columns boxed every cell one by one (0.7 s for 10k rows
    of a map); a text column converts in one call, other columns go through ``json_value``.
    """
    values = []
    for c in columns:
        col = frame[c]
        if pd.api.types.is_string_dtype(col.dtype) and col.dtype != object:
            values.append(col.astype(object).where(col.notna(), None).tolist())
        else:
            values.append([json_value(v) for v in col.tolist()])
    return zip(*values, strict=True) if values else iter([() for _ in range(len(frame))])


def features_to_geojson(gdf: gpd.GeoDataFrame, *, decimals: int | None = None) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection: lon/lat, CCW exteriors, rounded, no ``crs``, rows in order."""
    with gc_paused():  # millions of coordinate lists at 10k distinct places set the collector off
        return _features_to_geojson(gdf, decimals)


def _features_to_geojson(gdf: gpd.GeoDataFrame, decimals: int | None) -> dict[str, Any]:
    decimals = settings.coordinate_decimals if decimals is None else decimals
    if gdf.crs is not None and not gdf.crs.equals(settings.default_crs):
        gdf = gdf.to_crs(settings.default_crs)
    props = [c for c in gdf.columns if c != gdf.geometry.name]
    features = []
    # Rows of one place share the gazetteer's geometry object: clean and map it once (2-2.5x at 10k-100k
    # rows, bench/README.md). The features then share one read-only dict; the JSON text is the same.
    # Distinct geometries are cleaned and mapped in vectorised calls over all of them at once.
    geoms = list(gdf.geometry)
    first: dict[int, int] = {}
    for i, geom in enumerate(geoms):
        first.setdefault(id(geom), i)
    unique = np.empty(len(first), dtype=object)
    unique[:] = [geoms[i] for i in first.values()]
    mapped = dict(zip(first, geometries_to_geojson(clean_geometries(unique, decimals)), strict=True))
    for rec, geom in zip(gdf[props].itertuples(index=False, name=None), geoms, strict=True):
        properties = {k: json_value(v) for k, v in zip(props, rec, strict=True)}
        features.append(
            {"type": "Feature", "id": properties.get("fid"), "properties": properties, "geometry": mapped[id(geom)]}
        )
    doc: dict[str, Any] = {"type": "FeatureCollection"}
    if "report" in gdf.attrs:
        doc["report"] = gdf.attrs["report"]
    doc["features"] = features
    return doc


def dumps_geojson(doc: dict[str, Any]) -> str:
    """Serialise compactly, one feature per line, so diffs of the committed file stay readable."""
    head = {k: v for k, v in doc.items() if k != "features"}
    body = ",\n".join(_dumps_compact(f) for f in doc["features"])
    head_json = _dumps_compact(head)[:-1]
    sep = "," if head_json != "{" else ""
    return f'{head_json}{sep}"features":[\n{body}\n]}}\n'


GEOJSON_CHUNK = 4096  # features made, checked and written at a time by ``geojson_pieces``


def geojson_pieces(gdf: gpd.GeoDataFrame, *, decimals: int | None = None) -> Iterator[bytes]:
    """``dumps_geojson(validate_geojson(features_to_geojson(gdf)))`` as UTF-8 pieces, made chunk by chunk.

    The whole document of 100k distinct places is ~2 GB of dicts and lists and its text 360 MB more
    (bench/README.md); here only ``GEOJSON_CHUNK`` features' dicts and text are alive at a time. Each
    chunk is checked against RFC 7946 as it is made (message indices offset to the whole file's), and
    ``ValidationError`` with ``validate_geojson``'s message is raised after the last feature and before
    the closing bytes, so a caller writing the pieces to a temporary file never moves a bad one into
    place and one printing them collects them first. The bytes are ``dumps_geojson``'s, byte for byte.
    """
    with gc_paused():
        yield from _geojson_pieces(gdf, decimals)


def _geojson_pieces(gdf: gpd.GeoDataFrame, decimals: int | None) -> Iterator[bytes]:
    decimals = settings.coordinate_decimals if decimals is None else decimals
    if gdf.crs is not None and not gdf.crs.equals(settings.default_crs):
        gdf = gdf.to_crs(settings.default_crs)
    head: dict[str, Any] = {"type": "FeatureCollection"}
    if "report" in gdf.attrs:
        head["report"] = gdf.attrs["report"]
    head_json = _dumps_compact(head)[:-1]
    yield f'{head_json}{"," if head_json != "{" else ""}"features":[\n'.encode()
    props = [c for c in gdf.columns if c != gdf.geometry.name]
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    plain = pd.DataFrame(gdf[props])
    plain.attrs = {}  # pandas deep-copies attrs (the report) into every slice: 1 s at 10k rows in chunks of 7
    # Rows of one place share the gazetteer's geometry object: those are cleaned and mapped once, up front
    # (features_to_geojson's 2-2.5x); a geometry of one row only is cleaned in its chunk, vectorised.
    uses: dict[int, int] = {}
    for g in geoms.tolist():
        uses[id(g)] = uses.get(id(g), 0) + 1
    shared = {id(g): g for g in geoms.tolist() if uses[id(g)] > 1}
    shared_arr = np.empty(len(shared), dtype=object)
    shared_arr[:] = list(shared.values())
    shared_cleaned = clean_geometries(shared_arr, decimals)
    shared_clean = dict(zip(shared, shared_cleaned.tolist(), strict=True))
    mapped = dict(zip(shared, geometries_to_geojson(shared_cleaned), strict=True))
    problems: list[str] = []
    for start in range(0, len(gdf), GEOJSON_CHUNK):
        part = geoms[start : start + GEOJSON_CHUNK]
        own = np.flatnonzero([uses[id(g)] == 1 for g in part.tolist()])
        cleaned = clean_geometries(part[own], decimals)
        local = dict(zip(map(id, part[own].tolist()), geometries_to_geojson(cleaned), strict=True))
        rows = json_columns(plain.iloc[start : start + GEOJSON_CHUNK], props)
        features = [
            {
                "type": "Feature",
                "id": p.get("fid"),
                "properties": p,
                "geometry": local[id(g)] if id(g) in local else mapped[id(g)],
            }
            for p, g in zip((dict(zip(props, rec, strict=True)) for rec in rows), part.tolist(), strict=True)
        ]
        made = np.full(len(part), None, dtype=object)
        if len(own):
            made[own] = cleaned
        if len(part) > len(own):
            shared_rows = np.setdiff1d(np.arange(len(part)), own)
            made[shared_rows] = [shared_clean[id(g)] for g in part[shared_rows].tolist()]
        doc = {"type": "FeatureCollection", "features": features}
        found, _ = _checked_features(doc, offset=start, built=made)
        problems.extend(found)
        text = ",\n".join(_dumps_compact(f) for f in features)
        yield (text if start + GEOJSON_CHUNK >= len(gdf) else text + ",\n").encode()
    if problems:
        raise ValidationError(f"{len(problems)} RFC 7946 problem(s): " + "; ".join(problems[:10]))
    yield b"\n]}\n"


def write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> int:
    """Write ``geojson_pieces(gdf)`` to ``path`` as they are made; the number of bytes meant.

    Raises ``ValidationError`` when the features break RFC 7946, after writing all but the closing bytes:
    write to a temporary file (``geoplan._io.write_atomic``) so a bad file never takes the place of a good one.
    """
    return _io.write_pieces(path, geojson_pieces(gdf))


def _dumps_compact(obj: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))``, by orjson when it can (same text for
    what geoplan writes; a lone surrogate or a huge integer goes the ``json`` way)."""
    try:
        return orjson.dumps(obj).decode("utf-8")
    except TypeError:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def features_from_geojson(doc: dict[str, Any]) -> gpd.GeoDataFrame:
    """Read a FeatureCollection geoplan built back into the same GeoDataFrame."""
    with gc_paused():  # rows of 10k places would set the collector off again and again
        return _features_from_geojson(doc)


def _features_from_geojson(doc: dict[str, Any]) -> gpd.GeoDataFrame:
    problems, geoms = _checked_features(doc)
    if problems or geoms is None:
        raise ValidationError("not a valid geoplan GeoJSON: " + "; ".join(problems[:5]))
    rows = [dict(f.get("properties") or {}) for f in doc["features"]]
    gdf = _frame_of_rows(rows, geoms.tolist(), doc)
    gdf.attrs[CHECKED] = CheckedGeometries.of(gdf.geometry.to_numpy())
    return gdf


def _property_fault(
    rows: list[dict[str, Any]], offset: int = 0, table: _PropertyTable | None = None
) -> ValidationError | None:
    """The error naming the first of ``rows`` whose properties geoplan cannot take (``offset``: the index of
    ``rows[0]`` in the file, for the message; ``table``: their ``_PropertyTable``, if made), or None."""
    if _plainly_valid(rows, table):
        return None
    for i, row in enumerate(rows, offset):  # row by row, to name the first feature at fault
        bad = next((k for k, v in row.items() if not (v is None or isinstance(v, str | int | float))), None)
        if bad is not None:  # geoplan writes scalars only; a list or object would break filters and exports
            return ValidationError(
                f"not a valid geoplan GeoJSON: feature {i} property {bad!r} is not a string, number or null"
            )
        try:
            _check_text_columns(row, i)
        except ValidationError as err:
            return err
    return None


def _frame_of_rows(rows: list[dict[str, Any]], geoms: list[Any], head: dict[str, Any]) -> gpd.GeoDataFrame:
    """The GeoDataFrame of checked features' properties and geometries (``head`` has the ``report``)."""
    fault = _property_fault(rows)
    if fault is not None:
        raise fault
    for row, geom in zip(rows, geoms, strict=True):
        row["geometry"] = geom  # read once, vectorised, by the check above
    cols = list(dict.fromkeys([*COLUMNS, *(k for r in rows for k in r if k != "geometry")]))
    try:
        frame = _typed(pd.DataFrame(rows, columns=[*cols, "geometry"]))
    except (TypeError, ValueError) as err:
        msg = f"not a valid geoplan GeoJSON: precision_code is not an integer ({err})"
        raise ValidationError(msg) from err
    return _geo_frame(frame, head)


def _geo_frame(frame: pd.DataFrame, head: dict[str, Any]) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs=settings.default_crs)
    if "report" in head:
        gdf.attrs["report"] = _checked_report(head["report"])
    return gdf


class _Missing:
    """A property a feature does not have (``pd.DataFrame`` of dicts makes it NaN, unlike a null: None)."""

    def __reduce__(self) -> str:
        """Unpickled as the one ``_MISSING`` (a worker's columns, ``_features_from_lines``): it is found by identity."""
        return "_MISSING"


_MISSING = _Missing()


_ARROW_STRINGS: Any = pd.arrays.ArrowStringArray  # (array, dtype=): pandas 3's constructor, unknown to its stubs


class _PropertyColumns:
    """Checked features' properties, gathered a chunk of rows at a time into the columns that ``pd.DataFrame``
    of all the rows makes (``_frame_of_rows``), without every row's dict and strings alive at once.

    A chunk's column of text (and nulls) becomes an Arrow string array, as pandas stores it, when added; any
    other column keeps its values, and is made by ``pd.DataFrame`` itself at the end, so its dtype and its
    missing values are what they were. At 100k distinct places the rows' dicts and strings were 400 MB of the
    read's peak, and their freed memory stayed with the process (bench/README.md).
    """

    def __init__(self) -> None:
        self.names: dict[str, None] = dict.fromkeys(COLUMNS)
        self.sizes: list[int] = []
        # column -> chunk -> (its text array, which rows lack it or None) or its values (_MISSING where lacking)
        self.chunks: dict[str, dict[int, Any]] = {}
        text: Any = pd.Series(["", None]).dtype  # pandas without a string dtype (object): every column as it is
        self.text_dtype: Any = None if text == np.dtype(object) else text
        # pandas keeps that dtype's text in Arrow (pandas 3): a chunk's column goes straight into an Arrow array
        # and the file's chunks into one ChunkedArray; pd.array() per chunk checked and converted every string
        # first (0.1 s of reading 10k distinct places).
        self.arrow = getattr(self.text_dtype, "storage", None) == "pyarrow"

    def add(self, rows: list[dict[str, Any]], table: _PropertyTable | None = None) -> None:
        """Add a chunk of rows (``table``: their ``_PropertyTable``, if made already)."""
        table = _PropertyTable(rows) if table is None else table
        k = len(self.sizes)
        self.sizes.append(len(rows))
        keys = [key for key in table.values if key != "geometry"]
        self.names.update(dict.fromkeys(keys))
        for key in keys:
            values, kinds = table.values[key], table.kinds[key]
            if self.text_dtype is not None and str in kinds and kinds <= {str, type(None), _Missing}:
                missing = np.array([v is _MISSING for v in values]) if _Missing in kinds else None
                texts = [None if v is _MISSING else v for v in values] if missing is not None else values
                array = (
                    pa.array(texts, type=pa.large_string()) if self.arrow else pd.array(texts, dtype=self.text_dtype)
                )
                self.chunks.setdefault(key, {})[k] = (array, missing)
            else:
                self.chunks.setdefault(key, {})[k] = values

    def extend(self, other: _PropertyColumns) -> None:
        """Add the chunks of ``other``, read after this one's (a worker's half of the file)."""
        k = len(self.sizes)
        self.sizes.extend(other.sizes)
        self.names.update(other.names)
        for name, chunks in other.chunks.items():
            self.chunks.setdefault(name, {}).update((k + j, chunk) for j, chunk in chunks.items())

    def _text(self, array: Any) -> Any:
        """A chunk's text array as pandas holds it."""
        return _ARROW_STRINGS(array, dtype=self.text_dtype) if self.arrow else array

    def column(self, name: str) -> pd.Series:
        chunks = self.chunks.pop(name, {})
        if chunks and all(isinstance(c, tuple) for c in chunks.values()):
            if self.arrow:
                parts = [
                    chunks[k][0] if k in chunks else pa.nulls(size, pa.large_string())
                    for k, size in enumerate(self.sizes)
                ]
                whole = _ARROW_STRINGS(pa.chunked_array(parts, pa.large_string()), dtype=self.text_dtype)
                return pd.Series(whole, name=name)
            arrays = [
                chunks[k][0] if k in chunks else pd.array([None] * size, dtype=self.text_dtype)
                for k, size in enumerate(self.sizes)
            ]
            return pd.Series(pd.concat([pd.Series(a) for a in arrays], ignore_index=True), name=name)
        values: list[Any] = []
        for k, size in enumerate(self.sizes):
            chunk = chunks.get(k)
            if chunk is None:
                values.extend([_MISSING] * size)
            elif isinstance(chunk, tuple):
                text, missing = pd.Series(self._text(chunk[0])), chunk[1]
                texts = text.astype(object).where(text.notna(), None).tolist()
                values.extend(
                    _MISSING if m else v
                    for v, m in zip(texts, missing if missing is not None else [False] * size, strict=True)
                )
            else:
                values.extend(chunk)
        return pd.DataFrame([{} if v is _MISSING else {name: v} for v in values], columns=[name])[name]

    def frame(self, geoms: list[Any], head: dict[str, Any]) -> gpd.GeoDataFrame:
        """The GeoDataFrame ``_frame_of_rows`` makes of the same rows and geometries."""
        if not geoms:
            return _frame_of_rows([], [], head)
        column = np.empty(len(geoms), dtype=object)
        column[:] = geoms
        data = {name: self.column(name) for name in self.names}
        data["geometry"] = pd.Series(column, dtype=object)
        try:
            frame = _typed(pd.DataFrame(data, columns=[*self.names, "geometry"]))
        except (TypeError, ValueError) as err:
            msg = f"not a valid geoplan GeoJSON: precision_code is not an integer ({err})"
            raise ValidationError(msg) from err
        return _geo_frame(frame, head)


REQUIRED_TEXT = ("item_id", "domain")
NUMERIC_COLUMNS = ("precision_code",)


_SCALARS = frozenset({str, int, float, bool, type(None)})
_TEXT_OR_NULL = frozenset({str, type(None)})


class _PropertyTable:
    """Rows' properties column by column (``_MISSING`` where a row lacks one), with each column's value types:
    made once per chunk for both the checks (``_plainly_valid``) and the columns (``_PropertyColumns``), which
    took them row by row, each its own way (0.4 s of reading 10k distinct places)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.size = len(rows)
        first = list(rows[0]) if rows else []
        if all(list(r) == first for r in rows):  # the rule: every row has the same properties, in one order
            self.values: dict[str, list[Any]] = dict(
                zip(first, map(list, zip(*[r.values() for r in rows], strict=True)), strict=True)
            )
        else:
            keys = dict.fromkeys(key for r in rows for key in r)
            self.values = {key: [r.get(key, _MISSING) for r in rows] for key in keys}
        self.kinds: dict[str, set[type]] = {key: set(map(type, v)) for key, v in self.values.items()}


def _plainly_valid(rows: list[dict[str, Any]], table: _PropertyTable | None = None) -> bool:
    """Whether every row passes ``_check_text_columns`` and holds only scalars, by column-wide checks.

    Checking row by row was 0.4 s of reading 10k distinct places; these are C-level passes over each
    column (of ``table``, the rows' ``_PropertyTable``, made here if not given). ``False`` says only that
    the row-by-row check must run to find and name the fault.
    """
    table = _PropertyTable(rows) if table is None else table
    if not table.size:
        return True
    if not set().union(*table.kinds.values()) <= _SCALARS | {_Missing}:
        return False
    for column in REQUIRED_TEXT:  # text in every row, never blank
        if table.kinds.get(column) != {str} or not all(map(str.strip, table.values[column])):
            return False
    for column in COLUMNS:
        if column not in NUMERIC_COLUMNS and table.kinds.get(column, set()) - _TEXT_OR_NULL - {_Missing}:
            return False
    texts = [v if kinds == {str} else [x for x in v if type(x) is str] for v, kinds in _columns_of(table)]
    try:  # a lone surrogate anywhere fails the whole text at once
        "".join(itertools.chain.from_iterable(texts)).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _columns_of(table: _PropertyTable) -> Iterator[tuple[list[Any], set[type]]]:
    """The table's columns that hold text, with their value types."""
    for key, values in table.values.items():
        if str in table.kinds[key]:
            yield values, table.kinds[key]


def _check_text_columns(row: dict[str, Any], i: int) -> None:
    """geoplan's own text columns hold text (``item_id`` and ``domain`` never empty): the map, filters and
    exports treat them as strings, so ``domain: null`` or ``domain: 5`` is refused here by name."""
    for column in REQUIRED_TEXT:
        value = row.get(column)
        if not isinstance(value, str) or not value.strip():
            what = (
                "missing"
                if column not in row
                else "null"
                if value is None
                else ("empty" if isinstance(value, str) else f"a number ({value!r})")
            )
            msg = f"not a valid geoplan GeoJSON: feature {i} property {column!r} is {what}; it must be text"
            raise ValidationError(msg)
    for column, value in row.items():  # JSON may spell a lone surrogate ("\\ud800"); no file can hold one
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as err:
                msg = (
                    f"not a valid geoplan GeoJSON: feature {i} property {column!r} holds a lone surrogate "
                    f"(U+{ord(value[err.start]):04X} at character {err.start + 1}), not text"
                )
                raise ValidationError(msg) from err
    for column in COLUMNS:
        value = row.get(column)
        if column not in NUMERIC_COLUMNS and value is not None and not isinstance(value, str):
            msg = (
                f"not a valid geoplan GeoJSON: feature {i} property {column!r} is a number ({value!r});"
                " it must be text or null"
            )
            raise ValidationError(msg)


def _checked_report(meta: Any) -> dict[str, Any]:
    """The ``report`` foreign member as ``report_meta`` writes it; anything else is refused by name."""

    def refuse(what: str) -> ValidationError:
        return ValidationError(f"not a valid geoplan GeoJSON: member 'report' {what}")

    if not isinstance(meta, dict):
        raise refuse(f"is {type(meta).__name__}, not an object")
    try:
        json.dumps(meta, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        raise refuse("holds a lone surrogate, not text") from err
    for key in ("source", "byline"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise refuse(f"field {key!r} is not text")
    for key in ("lead", "domains"):
        value = meta.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise refuse(f"field {key!r} is not a list of text")
    targets = meta.get("targets", [])
    if not isinstance(targets, list) or not all(
        isinstance(t, dict)
        and isinstance(t.get("name"), str)
        and all(v is None or isinstance(v, str | int | float) for v in t.values())
        for t in targets
    ):
        raise refuse("field 'targets' is not a list of targets (objects with a text 'name')")
    return meta


def _polygons(geom: dict[str, Any]) -> Iterable[list[list[list[float]]]]:
    """Each polygon's rings (exterior first) of a GeoJSON geometry."""
    t = geom.get("type")
    if t == "Polygon":
        yield geom["coordinates"]
    elif t == "MultiPolygon":
        yield from geom["coordinates"]
    elif t == "GeometryCollection":
        for g in geom.get("geometries", []):
            yield from _polygons(g)


def _signed_area(ring: list[list[float]]) -> float:
    xy = np.asarray(ring, dtype=float)[:, :2]
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def geometries_from_geojson(
    members: Sequence[Any], *, slow_out: list[int] | None = None
) -> tuple[np.ndarray, dict[int, str]]:
    """Shapely geometries of GeoJSON geometry members, built per geometry type in one vectorised call.

    ``shape()`` per member was most of reading a file of distinct places. The members' coordinates are
    gathered into one array per type (with the ragged offsets of rings and parts) and built by
    ``shapely.from_ragged_array``. A type whose members do not all build that way (open or short rings,
    ragged or missing coordinates, collections) is read member by member with ``shape()``, so the
    result and every message are what ``shape()`` gives. Returns the geometries (``None`` where a member
    is malformed) and the error message of each malformed member by position; ``slow_out`` gets the
    positions read by ``shape()`` (a member built vectorised has coordinates nested exactly as its type says).
    """
    geoms = np.full(len(members), None, dtype=object)
    by_type: dict[str, list[int]] = {}
    for i, g in enumerate(members):
        t = g.get("type") if isinstance(g, dict) else None
        by_type.setdefault(t if t in _RAGGED_DEPTH else "", []).append(i)
    slow: list[int] = by_type.pop("", [])
    for t, where in by_type.items():
        built = (
            _from_ragged([members[i]["coordinates"] for i in where], t)
            if all("coordinates" in members[i] for i in where)
            else None
        )
        if built is None:
            slow.extend(where)
        else:
            geoms[where] = built
    errors: dict[int, str] = {}
    if slow_out is not None:
        slow_out.extend(slow)
    for i in slow:
        try:
            geoms[i] = shape(members[i])
        except Exception as err:  # shapely raises several types for malformed input
            errors[i] = str(err)
    return geoms, errors


# Nesting of each type's coordinates below the coordinate pairs (rings, parts), as from_ragged_array takes them.
_RAGGED_DEPTH = {"Point": 0, "LineString": 1, "MultiPoint": 1, "Polygon": 2, "MultiLineString": 2, "MultiPolygon": 3}


def _from_ragged(coordinates: list[Any], geom_type: str) -> np.ndarray | None:
    """Geometries of one type from their GeoJSON coordinates, or ``None`` when any does not build."""
    depth = _RAGGED_DEPTH[geom_type]
    flat: list[Any] = []
    offsets: list[list[int]] = [[0] for _ in range(depth)]  # innermost first, as from_ragged_array wants
    try:
        if depth == 0:
            flat = coordinates
        else:
            for c in coordinates:
                _flatten(c, depth, flat, offsets)
        coords = _coordinate_array(flat)
        if coords.ndim != 2 or coords.shape[1] not in (2, 3) or (depth == 0 and not len(coords)):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return shapely.from_ragged_array(
                shapely.GeometryType[_TYPE_NAMES[geom_type]],
                coords,
                tuple(np.asarray(o, dtype=np.int64) for o in offsets) or None,
            )
    except Exception:  # anything odd: the member-by-member path names it
        return None


def _coordinate_array(flat: list[Any]) -> np.ndarray:
    """``np.asarray(flat, dtype=float)``, 3x faster when every position has the same length (the rule).

    ``asarray`` inspects each of ~2M small lists for 10k distinct places; ``fromiter`` over their chained
    numbers does not. Anything irregular is left to ``asarray``, which says what is wrong.
    """
    lengths = set(map(len, flat)) if set(map(type, flat)) == {list} else set()
    if len(lengths) == 1:
        width = lengths.pop()
        try:
            return np.fromiter(itertools.chain.from_iterable(flat), float, count=width * len(flat)).reshape(-1, width)
        except (TypeError, ValueError):
            pass
    return np.asarray(flat, dtype=float)


_TYPE_NAMES = {
    "Point": "POINT",
    "LineString": "LINESTRING",
    "MultiPoint": "MULTIPOINT",
    "Polygon": "POLYGON",
    "MultiLineString": "MULTILINESTRING",
    "MultiPolygon": "MULTIPOLYGON",
}


def _flatten(c: Any, depth: int, flat: list[Any], offsets: list[list[int]]) -> None:
    """Append one member's coordinate pairs to ``flat`` and its ring/part ends to ``offsets``."""
    if not isinstance(c, list):
        raise TypeError("coordinates are not a list")
    if depth == 1:
        flat.extend(c)
        offsets[0].append(len(flat))
        return
    for part in c:
        _flatten(part, depth - 1, flat, offsets)
    offsets[depth - 1].append(len(offsets[depth - 2]) - 1)


def _ring_problems(where: str, g: dict[str, Any]) -> tuple[list[str], int, bool]:
    """Open rings of one geometry member as messages, its ring count, and whether any ring is open."""
    problems = []
    count = 0
    for p_i, rings in enumerate(_polygons(g)):
        for k, ring in enumerate(rings):
            count += 1
            if len(ring) < 4 or ring[0] != ring[-1]:
                problems.append(f"{where}: polygon {p_i} ring {k} is not closed")
    return problems, count, bool(problems)


def _ring_problems_loop(where: str, g: dict[str, Any]) -> list[str]:
    """Open rings and wrong orientation, ring by ring from the member's own coordinates (rare shapes)."""
    problems = []
    for p_i, rings in enumerate(_polygons(g)):
        for k, ring in enumerate(rings):
            if len(ring) < 4 or ring[0] != ring[-1]:
                problems.append(f"{where}: polygon {p_i} ring {k} is not closed")
            elif (k == 0) != (_signed_area(ring) > 0):
                problems.append(f"{where}: polygon {p_i} ring {k} violates the right-hand rule")
    return problems


def _orientation_problems(geoms: np.ndarray) -> list[tuple[int, int, int]]:
    """(geometry, polygon, ring) of every ring against the right-hand rule, for (Multi)Polygons, vectorised.

    The sign of each ring's shoelace area, as the per-ring loop computed it: exteriors must be
    counter-clockwise (area > 0), holes clockwise.
    """
    if not len(geoms):
        return []
    polys, owner = shapely.get_parts(geoms, return_index=True)
    first = np.searchsorted(owner, owner)  # owner is sorted: the first part of each geometry
    part = np.arange(len(polys)) - first
    holes = shapely.get_num_interior_rings(polys)
    rings = [shapely.get_exterior_ring(polys)]
    ring_owner, ring_part, ring_k = [owner], [part], [np.zeros(len(polys), dtype=np.int64)]
    for k in range(1, int(holes.max(initial=0)) + 1):
        has = holes >= k
        rings.append(shapely.get_interior_ring(polys[has], k - 1))
        ring_owner.append(owner[has])
        ring_part.append(part[has])
        ring_k.append(np.full(int(has.sum()), k, dtype=np.int64))
    all_rings = np.concatenate(rings)
    coords, idx = shapely.get_coordinates(all_rings, return_index=True)
    same = idx[:-1] == idx[1:]
    x, y = coords[:, 0], coords[:, 1]
    terms = (x[:-1] * y[1:] - x[1:] * y[:-1])[same]
    area = 0.5 * np.bincount(idx[:-1][same], weights=terms, minlength=len(all_rings))
    ring_of = np.concatenate(ring_k)
    bad = np.flatnonzero((ring_of == 0) != (area > 0))
    own, prt = np.concatenate(ring_owner), np.concatenate(ring_part)
    return sorted(zip(own[bad].tolist(), prt[bad].tolist(), ring_of[bad].tolist(), strict=True))


def check_rfc7946(doc: Any) -> list[str]:
    """Problems that make ``doc`` not RFC 7946 (empty list when valid).

    Structure is checked feature by feature (dict look-ups); geometries are read, range-checked,
    validated and their rings oriented in vectorised shapely calls over all features at once, so a file
    of 10k distinct places is checked in a fraction of a second rather than 14 s.
    """
    with gc_paused():
        return _checked_features(doc)[0]


def _checked_features(
    doc: Any, offset: int = 0, built: np.ndarray | None = None, slow_out: list[int] | None = None
) -> tuple[list[str], np.ndarray | None]:
    """``check_rfc7946``'s problems and, when the features are a list, their shapely geometries.

    ``offset`` is the index of ``doc``'s first feature in the whole file, for the messages (a file read in
    chunks, ``_features_from_lines``). ``built`` are the shapely geometries the features' geometry members
    were written from (``geojson_pieces``): they are checked as they are instead of being read back from
    the members (``geometries_to_geojson`` gives ``mapping()`` of each, tested), which halves the check.
    ``slow_out``: as for ``geometries_from_geojson``.
    """
    problems: list[str] = []
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        return ["not a FeatureCollection"], None
    if "crs" in doc:
        problems.append("has a 'crs' member (RFC 7946 §4: coordinates are WGS84 lon/lat, no crs)")
    features = doc.get("features")
    if not isinstance(features, list):
        return [*problems, "'features' is not a list"], None
    found: list[list[str]] = [[] for _ in features]  # each feature's problems, in the order they are found
    wheres: list[str] = []
    at: list[int] = []  # features with a geometry member, and what the messages call them
    members: list[Any] = []
    for i, f in enumerate(features):
        if not isinstance(f, dict):
            found[i].append(f"feature {i + offset}: not a Feature")
            continue
        props = f.get("properties")
        where = f"feature {i + offset} ({props.get('fid', f.get('id')) if isinstance(props, dict) else f.get('id')})"
        if f.get("type") != "Feature":
            found[i].append(f"{where}: not a Feature")
            continue
        if "properties" not in f or "geometry" not in f:
            found[i].append(f"{where}: lacks 'properties' or 'geometry'")
            continue
        if props is not None and not isinstance(props, dict):
            found[i].append(f"{where}: 'properties' is neither an object nor null (RFC 7946 §3.2)")
            continue
        if f["geometry"] is None:
            continue
        at.append(i)
        wheres.append(where)
        members.append(f["geometry"])
    if built is None:
        geoms, errors = geometries_from_geojson(members, slow_out=slow_out)
    else:
        geoms, errors = np.asarray(built, dtype=object)[at], {}
    all_geoms = np.full(len(features), None, dtype=object)
    all_geoms[at] = geoms
    ok = np.array([j not in errors for j in range(len(members))], dtype=bool)
    coords, owner = (
        shapely.get_coordinates(geoms[ok], return_index=True)
        if ok.any()
        else (np.empty((0, 2)), np.empty(0, dtype=np.int64))
    )
    good = np.flatnonzero(ok)
    in_range = (np.abs(coords[:, 0]) <= 180) & (np.abs(coords[:, 1]) <= 90)
    out_of_range = set(good[np.unique(owner[~in_range])].tolist())
    invalid = set(good[~shapely.is_valid(geoms[ok])].tolist()) if ok.any() else set()
    # Rings: open ones from the members' own coordinates (shape() closes them); orientation vectorised for
    # (Multi)Polygons whose rings are all closed and all read, per ring for anything else.
    ring_msgs: dict[int, list[str]] = {}
    vector: list[int] = []
    kinds = {j: members[j].get("type") if isinstance(members[j], dict) else None for j in good.tolist()}
    areas = [j for j, t in kinds.items() if t in ("Polygon", "MultiPolygon")]
    # The rings each (Multi)Polygon was read with, in three calls for all of them (per geometry: 0.1 s of
    # reading 10k distinct places): a polygon's exterior and interiors, summed over a multipolygon's parts.
    parts, owner_of = shapely.get_parts(geoms[areas], return_index=True)
    rings_read = np.bincount(owner_of, weights=1 + shapely.get_num_interior_rings(parts), minlength=len(areas))
    read_at = dict(zip(areas, rings_read.astype(np.int64).tolist(), strict=True))
    for j, t in kinds.items():
        if t not in ("Polygon", "MultiPolygon", "GeometryCollection"):
            continue
        msgs, count, open_ring = _ring_problems(wheres[j], members[j])
        if t == "GeometryCollection" or open_ring or count != read_at[j]:
            ring_msgs[j] = _ring_problems_loop(wheres[j], members[j])
        else:
            vector.append(j)
    for j, p_i, k in _orientation_problems(geoms[vector]) if vector else []:
        ring_msgs.setdefault(vector[j], []).append(
            f"{wheres[vector[j]]}: polygon {p_i} ring {k} violates the right-hand rule"
        )
    for j, i in enumerate(at):
        where, f = wheres[j], features[i]
        if j in errors:
            found[i].append(f"{where}: malformed geometry ({errors[j]})")
            continue
        if j in out_of_range:
            found[i].append(f"{where}: coordinates outside lon/lat range")
        if j in invalid:
            found[i].append(f"{where}: invalid geometry ({shapely.is_valid_reason(geoms[j])})")
        found[i].extend(ring_msgs.get(j, ()))
        if "bbox" in f and not _bbox_ok(f["bbox"], shapely.get_coordinates(geoms[j])):
            found[i].append(f"{where}: bbox does not match its coordinates")
    problems.extend(p for msgs in found for p in msgs)
    if "bbox" in doc and not _bbox_ok(doc["bbox"], coords):
        problems.append("collection bbox does not match its coordinates")
    return problems, all_geoms


def _bbox_ok(bbox: Any, coords: np.ndarray) -> bool:
    if not isinstance(bbox, list) or len(bbox) != 4:
        return False
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox):
        return False
    if not len(coords):
        return True
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    w, s, e, n = bbox
    return bool(w <= lo[0] + 1e-9 and s <= lo[1] + 1e-9 and e >= hi[0] - 1e-9 and n >= hi[1] - 1e-9)


def validate_geojson(doc: dict[str, Any]) -> dict[str, Any]:
    """Raise ``ValidationError`` listing what breaks RFC 7946; return ``doc`` when it is valid."""
    problems = check_rfc7946(doc)
    if problems:
        raise ValidationError(f"{len(problems)} RFC 7946 problem(s): " + "; ".join(problems[:10]))
    return doc


_LINES_TAIL = b"\n]}\n"
LINES_CHUNK = 1024  # features parsed at a time when a file has dumps_geojson's layout (4096: +130 MiB of peak at 100k)
# A built file's body of this many bytes or more is read by two processes when ``jobs`` > 1: a worker's fork
# and the geometries and columns it sends back cost ~0.05 s, which a smaller file does not win back.
PARALLEL_MIN_BYTES = 8 << 20
# ... and up to this many: a worker's half of 100k distinct places' 360 MB (its geometries and columns, sent
# whole) took the command's peak from 843 to 942 MiB and saved no time (bench/README.md, "jobs").
PARALLEL_MAX_BYTES = 64 << 20
# The share of the lines this process reads when a worker reads the rest: the worker also forks and pickles
# its geometries and columns, and this process unpickles them (10k distinct places: halves left this process
# waiting ~0.1 s for the worker; bench/README.md, "jobs").
_OWN_SHARE = 0.57


@dataclass
class _Span:
    """What reading some of a built file's feature lines found, in file order (``_read_span``)."""

    columns: _PropertyColumns
    problems: list[str] = field(default_factory=list)
    fault: ValidationError | None = None  # the first feature whose properties geoplan cannot take
    count: int = 0  # features read
    geoms: list[Any] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems and self.fault is None

    def __reduce__(self) -> tuple[Any, ...]:
        """Sent from a worker with its geometries as WKB, made into shapely objects in one vectorised call
        each way (pickling them one by one took longer than reading them)."""
        wkb = shapely.to_wkb(np.array(self.geoms, dtype=object)) if self.geoms else np.array([], dtype=object)
        return (_unpickled_span, (self.columns, self.problems, self.fault, self.count, wkb))


def _unpickled_span(
    columns: _PropertyColumns, problems: list[str], fault: ValidationError | None, count: int, wkb: np.ndarray
) -> _Span:
    return _Span(columns, problems, fault, count, shapely.from_wkb(wkb).tolist())


def _read_span(fh: Any, start: int, end: int, span: _Span) -> _Span | None:
    """``span`` carried on over the feature lines from byte ``start`` to byte ``end`` of ``fh`` (both line
    starts), ``LINES_CHUNK`` lines at a time; ``None`` where a chunk is not laid out as ``dumps_geojson``
    writes (``_features_from_lines``)."""
    fh.seek(start)
    at = start  # where the next line starts
    while at < end:
        lines = list(itertools.islice(fh, LINES_CHUNK))  # a line at a time in C, not readline() and tell()
        if not lines:  # the file shrank while read
            return None
        at += sum(map(len, lines))
        if at > end:  # past the span: the next span's lines, or the closing "]}" line
            while at > end and lines:
                at -= len(lines.pop())
            if at != end:  # the span does not end at a line start
                return None
        chunk = b"".join(lines).rstrip(b"\n")
        del lines
        if not chunk:
            continue
        text = b"[" + (chunk[:-1] if chunk.endswith(b",") else chunk) + b"]"
        del chunk
        try:  # orjson refuses nesting past 1,024 levels itself, without recursing in Python
            features = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        shallow = _plainly_shallow(features)
        if not shallow and json_nesting(text) > MAX_JSON_DEPTH - 1:
            return None
        slow: list[int] = []
        found, built = _checked_features(
            {"type": "FeatureCollection", "features": features}, offset=span.count, slow_out=slow
        )
        if shallow and (found or slow) and json_nesting(text) > MAX_JSON_DEPTH - 1:  # deep coordinates?
            return None
        del text
        span.problems.extend(found)
        if span.clean:  # properties only matter while every feature so far is sound
            rows = [f.get("properties") or {} for f in features]  # read, never changed: no copies
            table = _PropertyTable(rows)
            span.fault = _property_fault(rows, span.count, table)
            if span.fault is None:
                span.columns.add(rows, table)
            del rows, table
        span.count += len(features)
        span.geoms.extend(built.tolist() if built is not None else [None] * len(features))
        del features  # this chunk's coordinate lists
    return span


def _span_of_file(path: Path, start: int, end: int) -> _Span | None:
    """``_read_span`` of a fresh span of ``path``, in a worker (``_features_from_lines``): ``None`` unless
    sound, for this process then reads it again itself and says what is wrong, numbering the features."""
    with path.open("rb") as fh:
        span = _read_span(fh, start, end, _Span(_PropertyColumns()))
    return span if span is not None and span.clean else None


def _features_from_lines(path: Path, jobs: int = 1) -> gpd.GeoDataFrame | None:
    """A file laid out as ``dumps_geojson`` writes it (a head line, one feature per line), read in chunks.

    Parsing the whole file at once holds a document ~5.5x its size (2 GB for 100k distinct places) and
    the file's bytes (360 MB); here the file is read line by line and only ``LINES_CHUNK`` features' text
    and coordinates are alive at a time. The result, problems and messages are those of
    ``features_from_geojson`` on the whole document (every check but the collection's ``crs`` and ``bbox``
    is per feature; a head with either goes the whole way). Nesting is checked per chunk (a feature line
    nests one level less deep in its chunk's ``[…]`` than in the file): a chunk too deep, a file not laid
    out this way or a chunk that does not parse alone gives ``None``, and the caller reads the file whole,
    with the messages that path gives.

    With ``jobs`` > 1 and a body of ``PARALLEL_MIN_BYTES`` to ``PARALLEL_MAX_BYTES``, a forked worker reads
    the last ~43 % of the lines while this process reads the rest (``_io.forked_pool``); where the worker's
    part is not sound (a problem, a fault, a chunk not laid out so), this process reads it again after its
    own, so the messages and their feature numbers are the one-process read's.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        first = fh.readline()
        if size < len(first) + len(_LINES_TAIL) or not first.endswith(b'"features":[\n'):
            return None
        fh.seek(size - len(_LINES_TAIL))
        if fh.read() != _LINES_TAIL:
            return None
        try:
            head = orjson.loads(first[:-1] + b"]}")
        except orjson.JSONDecodeError:
            return None
        if json_nesting(first[:-1] + b"]}") > MAX_JSON_DEPTH:
            return None
        if not isinstance(head, dict) or head.get("type") != "FeatureCollection" or "crs" in head or "bbox" in head:
            return None
        body_end = size - len(_LINES_TAIL) + 1  # where the closing "]}" line starts
        middle = body_end
        if jobs > 1 and PARALLEL_MIN_BYTES <= body_end - len(first) <= PARALLEL_MAX_BYTES:
            fh.seek(len(first) + int((body_end - len(first)) * _OWN_SHARE))
            fh.readline()
            middle = min(fh.tell(), body_end)
        with _io.forked_pool(1 if middle < body_end else 0) as pool:
            second = _io.forked_submit(pool, _span_of_file, path, middle, body_end)
            span = _read_span(fh, len(first), middle, _Span(_PropertyColumns()))
            if span is None:
                return None
            try:
                rest = second.result() if second is not None else None
            except Exception:  # noqa: BLE001 - a worker's failure (killed, unreadable file): read here instead
                rest = None
        if rest is not None and span.clean:
            span.columns.extend(rest.columns)
            span.count += rest.count
            span.geoms.extend(rest.geoms)
        elif middle < body_end and _read_span(fh, middle, body_end, span) is None:
            return None
    if span.problems:
        raise ValidationError("not a valid geoplan GeoJSON: " + "; ".join(span.problems[:5]))
    if span.fault is not None:
        raise span.fault
    gdf = span.columns.frame(span.geoms, head)
    gdf.attrs[CHECKED] = CheckedGeometries.of(gdf.geometry.to_numpy())
    return gdf


_FEATURE_KEYS = frozenset({"type", "id", "properties", "geometry", "bbox"})
_GEOMETRY_KEYS = frozenset({"type", "coordinates", "bbox"})


def _flat_bbox(box: Any) -> bool:
    return type(box) is list and all(type(v) in (int, float) for v in box)


def _plainly_shallow(features: Any) -> bool:
    """Whether parsed features nest no deeper than their coordinates allow, without scanning their text.

    Features with only RFC 7946's members, scalar properties and ``id``, flat ``bbox`` lists and a geometry
    of one of the six coordinate types can nest deeper than geoplan's 7 levels only inside ``coordinates``;
    coordinates that build vectorised are nested exactly as their type says, and a chunk with any member
    that did not (read by ``shape()``, which takes ``[[[1, 2]]]`` for a Point) is scanned after the check.
    ``json_nesting`` of every chunk was 0.44 s of reading 10k distinct places (bench/README.md). ``False``
    says only that the text must be scanned first, as before.
    """
    if type(features) is not list:
        return False
    for f in features:
        if type(f) is not dict or not f.keys() <= _FEATURE_KEYS or type(f.get("id")) not in _SCALARS:
            return False
        if "bbox" in f and not _flat_bbox(f["bbox"]):
            return False
        props = f.get("properties")
        if props is not None and (type(props) is not dict or not set(map(type, props.values())) <= _SCALARS):
            return False
        g = f.get("geometry")
        if g is None:
            continue
        if type(g) is not dict or not g.keys() <= _GEOMETRY_KEYS or g.get("type") not in _RAGGED_DEPTH:
            return False
        if "bbox" in g and not _flat_bbox(g["bbox"]):
            return False
    return True


def loads_json(data: bytes) -> Any:
    """Parse JSON bytes with orjson (2-3x the standard library on 10k distinct places, bench/README.md).

    What orjson refuses (invalid UTF-8, a lone surrogate escape, NaN) goes through ``json.loads``, so such a
    file is read, or refused, with the messages it always had.
    """
    with gc_paused():
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            return json.loads(data.decode("utf-8"))


def features_from_path(
    path: str | Path,
    *,
    gazetteer: Gazetteer | None = None,
    geocoders: Sequence[Geocoder] = (),
    shape: str | None = None,
    city: str | None = None,
    jobs: int = 1,
) -> gpd.GeoDataFrame:
    """Features from a report text, or from a GeoJSON geoplan built (``.geojson``/``.json``).

    ``jobs`` > 1 lets a large built file be read by two processes (``_features_from_lines``); only a
    single-threaded caller may ask (``_io.forked_pool``)."""
    from geoplan.errors import ReportError

    p = Path(path)
    if p.suffix.lower() in (".geojson", ".json"):
        try:
            size = p.stat().st_size
            if size > settings.max_report_bytes:
                from geoplan.parse import too_large

                raise too_large(p, size, settings.max_report_bytes)
            with gc_paused():
                try:
                    by_lines = _features_from_lines(p, jobs)
                except ValidationError as err:
                    raise ValidationError(f"{p}: {err}") from err
            if by_lines is not None:
                return by_lines
            data = p.read_bytes()
            depth = json_nesting(data)
            if depth > MAX_JSON_DEPTH:  # json.loads would recurse until Python gives up
                msg = f"JSON nested {depth} levels deep (more than {MAX_JSON_DEPTH}); not a geoplan GeoJSON"
                raise ReportError(msg, source=str(p))
            doc = loads_json(data)
            del data  # 360 MB at 100k distinct places: not kept while the features are built
        except OSError as err:
            raise ReportError(f"cannot read file: {err.strerror}", source=str(p)) from err
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ReportError(f"not valid JSON ({err})", source=str(p), line=getattr(err, "lineno", None)) from err
        except RecursionError as err:
            msg = f"JSON nested more than {MAX_JSON_DEPTH} levels deep; not a geoplan GeoJSON"
            raise ReportError(msg, source=str(p)) from err
        try:
            return features_from_geojson(doc)
        except ValidationError as err:
            raise ValidationError(f"{p}: {err}") from err
    from geoplan.parse import report_from_path

    report = report_from_path(p, max_bytes=settings.max_report_bytes, shape=shape, city=city)
    return features_from_report(report, gazetteer=gazetteer, geocoders=geocoders)


def features_and_gazetteer(path: str | Path, *, jobs: int = 1) -> tuple[gpd.GeoDataFrame, Gazetteer]:
    """Features from ``path`` and the gazetteer of their report's city, loaded once.

    ``geoplan map`` and ``geocode-missing`` need both; reading a report text loads that gazetteer to link
    its places, and loading it again for the map's districts cost 0.8 s. ``jobs``: as ``features_from_path``.
    """
    p = Path(path)
    if p.suffix.lower() in (".geojson", ".json"):
        gdf = features_from_path(p, jobs=jobs)
        city = gdf.attrs.get("report", {}).get("city") or {}
        return gdf, gazetteer_for(city.get("adcode") if isinstance(city, dict) else None)
    from geoplan.parse import report_from_path

    report = report_from_path(p, max_bytes=settings.max_report_bytes)
    gaz = gazetteer_for(report.city.adcode if report.city else None)
    return features_from_report(report, gazetteer=gaz), gaz
