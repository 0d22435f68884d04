"""Build gazetteer entries from OpenStreetMap data: named roads, lines, stations, schools, parks, water.

Reads an overpass-turbo GeoJSON export or an ``.osm`` / ``.osm.pbf`` extract (pyosmium), maps OSM tags
onto the gazetteer's place kinds, merges the elements that share a name (a street is many ways, a
station a node plus its stop positions), clips them to the city and writes entries that
``load_gazetteer`` accepts beside the curated files. Every entry names its OSM elements, the data's
timestamp and the ODbL; curated entries win over imported ones of the same name or alias unless asked
otherwise, and the import report says what was added, merged and skipped and why.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, mapping, shape
from shapely.geometry.base import BaseGeometry

from geoplan import settings
from geoplan.errors import GazetteerError, OsmError
from geoplan.gazetteer import Gazetteer, GazetteerEntry, load_gazetteer, read_feature_collection

ATTRIBUTION = "© OpenStreetMap contributors, ODbL"
LICENCE = "ODbL-1.0"
LICENCE_URL = "https://www.openstreetmap.org/copyright"
ALIAS_TAGS = ("name:zh", "name:zh-Hans", "alt_name", "old_name", "short_name", "official_name")
ROAD_CLASSES = frozenset(
    {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "residential",
        "living_street",
        "pedestrian",
        "road",
    }
)
METRO = frozenset({"subway", "light_rail", "monorail"})
# Every key kind_of() looks at, and the names: an element without any of them is no place.
PLACE_KEYS = (
    "name",
    "name:zh",
    "type",
    "route",
    "railway",
    "public_transport",
    "building",
    "man_made",
    "bridge",
    "amenity",
    "healthcare",
    "leisure",
    "waterway",
    "natural",
    "water",
    "landuse",
    "highway",
)
LINE_KINDS = frozenset({"road", "metro_line", "rail_line", "river"})
# First claimant of a name wins, so stations and lines (the places reports name most) come first.
KIND_ORDER = (
    "station",
    "metro_line",
    "rail_line",
    "bridge",
    "road",
    "river",
    "water",
    "university",
    "school",
    "hospital",
    "park",
    "area",
)
PARALLEL_TRACK_M = 100.0  # a second track within this Hausdorff distance of a longer one is the same line
SERVED_M = 150.0  # a subway station farther than this from every subway track is not served yet
SAME_STATION_M = 1000.0  # station elements of one name farther apart than this are different stations
MAX_IDS_IN_SOURCE = 6
ProgressFn = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class OsmElement:
    """One OSM node, way, area or relation with its tags and WGS84 geometry."""

    osm_id: str  # "node/1", "way/2", "relation/3"
    tags: tuple[tuple[str, str], ...]
    geometry: BaseGeometry

    @property
    def tag(self) -> dict[str, str]:
        return dict(self.tags)


@dataclass(frozen=True, slots=True)
class OsmData:
    """The elements read from one file and the time the data was current (None if the file says nothing)."""

    path: str
    elements: tuple[OsmElement, ...]
    timestamp: str | None
    unnamed: tuple[tuple[str, int], ...] = ()  # (kind, count) of places the reader saw without a name


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import added, merged and skipped, one line each, for the person running it."""

    added: tuple[str, ...] = ()
    merged: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        out = [
            f"added {len(self.added)} entries, merged {len(self.merged)}, replaced {len(self.replaced)}, "
            f"skipped {len(self.skipped)}"
        ]
        out += [f"  added: {s}" for s in self.added]
        out += [f"  merged: {s}" for s in self.merged]
        out += [f"  replaced: {s}" for s in self.replaced]
        out += [f"  skipped: {s}" for s in self.skipped]
        return out


@dataclass(frozen=True)
class OsmImport:
    """GeoJSON features ready for a gazetteer file, and the report of how they were made."""

    features: tuple[dict[str, Any], ...]
    report: ImportReport
    timestamp: str | None = None
    source_path: str = ""

    def to_geojson(self) -> str:
        """One feature per line, as the curated gazetteer is written, so diffs stay readable."""
        lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in self.features]
        body = ",\n".join(lines)
        head = {
            "type": "FeatureCollection",
            "attribution": ATTRIBUTION,
            "licence": LICENCE,
            "osm_timestamp": self.timestamp,
            "generator": "geoplan gazetteer import-osm",
        }
        head_text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
        return head_text + ',"features":[\n' + body + ("\n" if body else "") + "]}\n"


# ------------------------------------------------------------------ reading


def osm_from_path(path: str | Path, *, progress: ProgressFn | None = None) -> OsmData:
    """Read an overpass-turbo GeoJSON export, or an .osm / .osm.pbf extract; refuse anything else by name."""
    path = Path(path)
    if not path.is_file():
        raise OsmError(f"{path}: no such file")
    name = path.name.lower()
    if name.endswith((".geojson", ".json")):
        return _from_geojson(path)
    if name.endswith((".osm", ".osm.pbf", ".pbf", ".osm.bz2", ".osm.gz", ".o5m")):
        return _from_osmium(path, progress=progress)
    raise OsmError(f"{path}: not an OSM file (expected .geojson from overpass-turbo, .osm or .osm.pbf)")


def _from_geojson(path: Path) -> OsmData:
    doc = read_feature_collection(path, error=OsmError, what="OSM export")
    elements: list[OsmElement] = []
    for i, feature in enumerate(doc["features"]):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            raise OsmError(f"{path}: feature {i} has no properties object")
        if isinstance(props.get("tags"), dict):  # older overpass-turbo: {type, id, tags, meta}
            osm_id, tags = f"{props.get('type')}/{props.get('id')}", props["tags"]
        else:
            osm_id = str(props.get("@id") or feature.get("id") or "")
            tags = {k: v for k, v in props.items() if not k.startswith("@")}
        if not re.fullmatch(r"(node|way|relation)/\d+", osm_id):
            raise OsmError(
                f"{path}: feature {i} has no OSM id ('@id' such as 'way/123'); is this an overpass-turbo export?"
            )
        if feature.get("geometry") is None:
            continue  # overpass-turbo writes none for elements it could not build; nothing to locate
        try:
            geom = shape(feature["geometry"])
        except Exception as err:  # shapely raises several types for malformed GeoJSON
            raise OsmError(f"{path}: {osm_id}: malformed geometry ({err})") from err
        if geom.is_empty:
            continue
        elements.append(OsmElement(osm_id, tuple((str(k), str(v)) for k, v in tags.items()), geom))
    timestamp = doc.get("timestamp") or (doc.get("osm3s") or {}).get("timestamp_osm_base")
    return OsmData(str(path), tuple(elements), str(timestamp) if timestamp else None)


def _interesting(tags: Mapping[str, str]) -> bool:
    return bool(tags.get("name") or tags.get("name:zh")) or tags.get("type") == "route"


def _from_osmium(path: Path, *, progress: ProgressFn | None) -> OsmData:
    """Two passes: route relations first (their member ways), then nodes, ways and areas with locations."""
    try:
        import osmium
    except ImportError as err:  # pragma: no cover - osmium is a dependency
        raise OsmError(f"{path}: reading .osm/.pbf needs the 'osmium' package (pip install osmium)") from err

    wkb = osmium.geom.WKBFactory()
    routes: dict[int, tuple[dict[str, str], list[int]]] = {}
    member_ways: set[int] = set()
    elements: list[OsmElement] = []
    way_lines: dict[int, BaseGeometry] = {}
    newest = ""
    seen = 0
    unnamed: Counter[str] = Counter()
    try:
        header = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        timestamp = header.header().get("osmosis_replication_timestamp") or header.header().get("timestamp")
        header.close()
        for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION):
            if not isinstance(rel, osmium.osm.Relation):
                continue  # only relations are asked for: this narrows the processor's union type
            tags = {t.k: t.v for t in rel.tags}
            if tags.get("type") == "route" and tags.get("route") and (tags.get("name") or tags.get("name:zh")):
                ways = [m.ref for m in rel.members if m.type == "w"]
                routes[rel.id] = (tags, ways)
                member_ways.update(ways)
        # Untagged nodes (most of an extract) only give locations: the key filter keeps them out of Python.
        place_keys = osmium.filter.KeyFilter(*PLACE_KEYS)
        for obj in osmium.FileProcessor(str(path)).with_locations().with_areas().with_filter(place_keys):
            seen += 1
            if progress is not None and seen % 50_000 == 0:
                progress(seen)
            if isinstance(obj, (osmium.osm.Relation, osmium.osm.Changeset)):
                continue  # routes are done below; multipolygons arrive as areas
            tags = {t.k: t.v for t in obj.tags}
            if isinstance(obj, osmium.osm.Way) and obj.id in member_ways:
                way_lines[obj.id] = _wkb(wkb.create_linestring(obj))
            if not tags:
                continue
            # osmium sends a closed way shaped as an area a second time, as an area
            shaped_as_area = isinstance(obj, osmium.osm.Way) and obj.is_closed() and _is_area(tags)
            shape_kind = (
                "area" if isinstance(obj, osmium.osm.Area) else "point" if isinstance(obj, osmium.osm.Node) else "line"
            )
            kind = kind_of(tags, shape_kind)
            if kind is None or shaped_as_area:
                continue
            if not _interesting(tags):
                unnamed[kind] += 1
                continue
            stamp = obj.timestamp.isoformat() if obj.timestamp and obj.timestamp.year > 1970 else ""
            newest = max(newest, stamp)
            if isinstance(obj, osmium.osm.Node):
                elements.append(OsmElement(f"node/{obj.id}", tuple(tags.items()), _wkb(wkb.create_point(obj))))
            elif isinstance(obj, osmium.osm.Area):
                kind = "way" if obj.from_way() else "relation"
                elements.append(
                    OsmElement(f"{kind}/{obj.orig_id()}", tuple(tags.items()), _wkb(wkb.create_multipolygon(obj)))
                )
            else:
                elements.append(OsmElement(f"way/{obj.id}", tuple(tags.items()), _wkb(wkb.create_linestring(obj))))
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as err:
        raise OsmError(f"{path}: cannot read OSM data ({err})") from err
    if progress is not None:
        progress(seen)
    for rid, (tags, ways) in sorted(routes.items()):
        lines = [way_lines[w] for w in ways if w in way_lines]
        if lines:
            elements.append(OsmElement(f"relation/{rid}", tuple(tags.items()), shapely.union_all(lines)))
    return OsmData(str(path), tuple(elements), timestamp or newest or None, tuple(sorted(unnamed.items())))


def _wkb(data: str | bytes) -> BaseGeometry:
    return shapely.from_wkb(data)


def _is_area(tags: Mapping[str, str]) -> bool:
    """A closed way that outlines an area (osmium builds it as an area) rather than a ring road."""
    if tags.get("area") == "yes":
        return True
    if (
        tags.get("highway")
        or tags.get("railway") in METRO | {"rail"}
        or tags.get("waterway") in ("river", "canal", "stream")
    ):
        return False
    return any(
        k in tags
        for k in (
            "building",
            "landuse",
            "leisure",
            "amenity",
            "natural",
            "man_made",
            "water",
            "public_transport",
            "railway",
            "healthcare",
            "place",
        )
    )


# ------------------------------------------------------------------ tags -> kind, status, names


def kind_of(tags: Mapping[str, str], geom: str) -> str | None:
    """The gazetteer kind of an OSM element from its tags; ``geom`` is 'point', 'line' or 'area'."""
    railway, route, highway = tags.get("railway"), tags.get("route"), tags.get("highway")
    life = tags.get("construction") or tags.get("proposed") or ""
    if tags.get("type") == "route":  # a route relation; route=* on a plain way (ferries, hiking) is no line here
        return "metro_line" if route in METRO | {"tram"} else "rail_line" if route in ("train", "railway") else None
    if geom != "line" and (
        railway in ("station", "halt")
        or tags.get("public_transport") == "station"
        or tags.get("building") == "train_station"
        or (railway == "stop" and (tags.get("station") in METRO or tags.get("subway") == "yes"))
    ):
        return "station"
    if tags.get("man_made") == "bridge" or (
        geom == "line"
        and tags.get("bridge") not in (None, "no")
        and ("bridge:name" in tags or str(tags.get("name", "")).endswith("桥"))
    ):
        return "bridge"
    if geom == "line" and (railway in METRO or (railway in ("construction", "proposed") and life in METRO)):
        return "metro_line"
    if geom == "line" and (railway == "rail" or (railway in ("construction", "proposed") and life == "rail")):
        return "rail_line"
    amenity = tags.get("amenity")
    if amenity in ("university", "college"):
        return "university"
    if amenity == "school":
        return "school"
    if amenity == "hospital" or tags.get("healthcare") == "hospital":
        return "hospital"
    if tags.get("leisure") == "park":
        return "park"
    if geom == "line" and tags.get("waterway") in ("river", "canal", "stream"):
        return "river"
    if geom != "line" and (
        tags.get("natural") == "water" or "water" in tags or tags.get("landuse") in ("reservoir", "basin")
    ):
        return "water"
    if geom == "line" and (
        highway in ROAD_CLASSES or (highway in ("construction", "proposed") and life in ROAD_CLASSES)
    ):
        return "road"
    if geom == "area" and (tags.get("landuse") or tags.get("leisure")):
        return "area"
    return None


def status_of(tags: Mapping[str, str]) -> str:
    """OSM lifecycle tags -> gazetteer status (existing, planned, under_construction)."""
    if any(tags.get(k) in ("proposed", "planned") for k in ("railway", "highway", "building", "landuse")) or any(
        k.startswith(("proposed:", "planned:")) or (k in ("proposed", "planned") and v != "no") for k, v in tags.items()
    ):
        return "planned"
    if any(tags.get(k) == "construction" for k in ("railway", "highway", "building", "landuse")) or any(
        k.startswith("construction:") or (k == "construction" and v != "no") for k, v in tags.items()
    ):
        return "under_construction"
    return "existing"


def names_of(tags: Mapping[str, str], kind: str) -> tuple[str, tuple[str, ...]]:
    """Name and aliases. A station is named with its 站 (体育馆 -> 体育馆站) so a report's 体育馆 is no station."""
    name = (tags.get("name") or tags.get("name:zh") or tags.get("name:zh-Hans") or "").strip()
    if kind == "bridge" and tags.get("bridge:name"):
        name = tags["bridge:name"].strip()
    if kind == "station" and name and not name.endswith("站"):
        name += "站"
    bare = name[:-1] if kind == "station" else None  # 太原理工大学 is the university, not its station
    aliases: list[str] = []
    for key in ALIAS_TAGS:
        for value in str(tags.get(key) or "").split(";"):
            value = value.strip()
            if value and value not in (name, bare) and value not in aliases:
                aliases.append(value)
    return name, tuple(aliases)


def _route_name(name: str) -> str:
    """PTv2 route relations are named per direction ('1号线: A => B'); the line is the part before ':'."""
    return re.split(r"[:：]", name, maxsplit=1)[0].strip() if "=>" in name or "→" in name else name


# ------------------------------------------------------------------ geometry helpers


def _to_metres(geom: BaseGeometry, lat0: float) -> BaseGeometry:
    """Equirectangular metres around ``lat0``: within a city, good to a fraction of a percent."""
    kx, ky = 111_320.0 * np.cos(np.radians(lat0)), 110_574.0
    return shapely.transform(geom, lambda a: a * np.array([kx, ky]))


def _round(geom: BaseGeometry) -> BaseGeometry:
    nd = settings.coordinate_decimals
    geom = shapely.transform(geom, lambda a: np.round(a, nd))
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        geom = shapely.orient_polygons(geom)  # RFC 7946: exterior rings counter-clockwise
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
    return geom


def _lines_only(geom: BaseGeometry) -> BaseGeometry:
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("LineString", "MultiLineString")]
    flat = [p for g in parts for p in getattr(g, "geoms", [g]) if not p.is_empty]
    return MultiLineString(flat) if flat else shapely.LineString()


def _areas_only(geom: BaseGeometry) -> BaseGeometry:
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def merge_lines(geoms: Sequence[BaseGeometry], lat0: float, *, fold_parallel: bool) -> tuple[BaseGeometry, int]:
    """Merge ways into as few lines as possible; fold a parallel track onto the longer one if asked."""
    merged = shapely.line_merge(_lines_only(shapely.union_all(list(geoms))))
    parts = sorted(getattr(merged, "geoms", [merged]), key=lambda g: -g.length)
    if not fold_parallel or len(parts) < 2:
        return merged, 0
    kept: list[LineString] = []  # line_merge gives LineStrings (or one MultiLineString of them)
    for part in parts:
        pm = _to_metres(part, lat0)
        if any(
            shapely.hausdorff_distance(pm, _to_metres(k, lat0)) <= PARALLEL_TRACK_M
            or (_to_metres(k, lat0).buffer(PARALLEL_TRACK_M).covers(pm))
            for k in kept
        ):
            continue
        kept.append(part)
    folded = len(parts) - len(kept)
    return (kept[0] if len(kept) == 1 else MultiLineString(kept)), folded


def _ids_text(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:MAX_IDS_IN_SOURCE])
    return shown + (
        f" … (+{len(ids) - MAX_IDS_IN_SOURCE} more, listed in osm_ids)" if len(ids) > MAX_IDS_IN_SOURCE else ""
    )


# ------------------------------------------------------------------ building entries


@dataclass
class _Group:
    kind: str
    name: str
    elements: list[OsmElement] = field(default_factory=list)


def _station_rank(el: OsmElement) -> int:
    t = el.tag
    if el.geometry.geom_type == "Point" and t.get("railway") in ("station", "halt") and t.get("train") == "yes":
        return 0
    if el.geometry.geom_type == "Point" and (
        t.get("railway") in ("station", "halt") or t.get("public_transport") == "station"
    ):
        return 1
    if el.geometry.geom_type != "Point":
        return 2
    return 3  # a stop position: only when the station itself is not mapped


def _elements_by_name(data: OsmData, skipped: list[str], counts: Counter[str]) -> dict[tuple[str, str], _Group]:
    groups: dict[tuple[str, str], _Group] = {}
    counts.update({f"unnamed {kind}": n for kind, n in data.unnamed})
    for el in data.elements:
        tags = el.tag
        gtype = el.geometry.geom_type
        geom = "point" if gtype in ("Point", "MultiPoint") else "line" if "LineString" in gtype else "area"
        kind = kind_of(tags, geom)
        if kind is None:
            counts["no place kind"] += 1
            continue
        name, _ = names_of(tags, kind)
        if el.osm_id.startswith("relation/") and kind in ("metro_line", "rail_line"):
            name = _route_name(name)
        if not name:
            counts[f"unnamed {kind}"] += 1
            continue
        groups.setdefault((kind, name), _Group(kind, name)).elements.append(el)
    for reason, n in sorted(counts.items()):
        skipped.append(f"{n} element(s): {reason}")
    return groups


def _entry(
    group: _Group,
    *,
    city: BaseGeometry | None,
    lat0: float,
    subway_tracks: BaseGeometry | None,
    units: Sequence[_Unit],
    timestamp: str | None,
    merged: list[str],
    skipped: list[str],
) -> dict[str, Any] | None:
    """One gazetteer feature from the elements sharing a kind and a name; None (and a reason) if unusable."""
    kind, name, els = group.kind, group.name, group.elements
    notes: list[str] = []
    if kind == "station":
        els = sorted(els, key=lambda e: (_station_rank(e), e.osm_id))
        primary = els[0]
        pts = [e.geometry.representative_point() for e in els]  # a Point's own representative point is itself
        if _station_rank(primary) == 3:
            geom: BaseGeometry = shapely.MultiPoint(pts).centroid
            notes.append("the station itself is not mapped; placed at the centre of its stop positions")
        else:
            geom = pts[0]
            if primary.geometry.geom_type != "Point":
                notes.append("the station outline's representative point")
        far = [
            e.osm_id
            for e, p in zip(els, pts, strict=True)
            if _to_metres(p, lat0).distance(_to_metres(geom, lat0)) > SAME_STATION_M
        ]
        if far:
            skipped.append(
                f"{', '.join(far)} ({name}): more than {SAME_STATION_M:.0f} m from {primary.osm_id}, "
                "a different station of the same name; kept the first"
            )
            els = [e for e in els if e.osm_id not in far]
    elif kind in LINE_KINDS:
        geom, folded = merge_lines([e.geometry for e in els], lat0, fold_parallel=kind in ("metro_line", "rail_line"))
        if folded:
            notes.append(
                f"{folded} parallel track(s) within {PARALLEL_TRACK_M:.0f} m folded onto the longest, "
                "so the line is drawn once"
            )
        primary = els[0]
    else:
        areas = [e.geometry for e in els if e.geometry.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(areas) if areas else els[0].geometry
        primary = next((e for e in els if e.geometry.geom_type in ("Polygon", "MultiPolygon")), els[0])
    if city is not None:
        if geom.geom_type == "Point":
            if not city.covers(geom):
                skipped.append(f"{kind} {name} ({_ids_text([e.osm_id for e in els])}): outside the city")
                return None
        elif not city.contains(geom):  # only what crosses the boundary is clipped (prepared: fast)
            clipped = city.intersection(geom)
            clipped = (
                _lines_only(clipped)
                if kind in LINE_KINDS
                else (_areas_only(clipped) if geom.geom_type in ("Polygon", "MultiPolygon") else clipped)
            )
            if clipped.is_empty:
                skipped.append(f"{kind} {name} ({_ids_text([e.osm_id for e in els])}): outside the city")
                return None
            if not clipped.equals(geom):
                notes.append("clipped to the city boundary")
            geom = shapely.line_merge(clipped) if kind in LINE_KINDS else clipped
    geom = _round(geom)
    if geom.is_empty:
        skipped.append(f"{kind} {name}: geometry vanished when rounded to {settings.coordinate_decimals} decimals")
        return None
    ids = sorted({e.osm_id for e in els}, key=lambda s: (s.split("/")[0], int(s.split("/")[1])))
    if len(els) > 1:
        merged.append(
            f"{kind} {name}: {len(els)} OSM elements ({_ids_text(ids)})"
            + (f"; {notes[0]}" if notes and "folded" in notes[0] else "")
        )
    tags = primary.tag
    status = status_of(tags)
    confidence = "medium"
    is_subway = tags.get("station") in METRO or tags.get("subway") == "yes"
    if (
        status == "existing"
        and kind == "station"
        and subway_tracks is not None
        and is_subway
        and _to_metres(geom, lat0).distance(subway_tracks) > SERVED_M
    ):
        status = "planned"
        notes.append(
            f"no subway track of this extract passes within {SERVED_M:.0f} m and OSM has no lifecycle "
            "tag, so it is taken to be a planned station"
        )
    if status != "existing":
        confidence = "low"
    names = [names_of(e.tag, kind) for e in els]
    aliases = list(dict.fromkeys(a for _, al in names for a in al if a != name))
    if kind == "station" and _station_rank(primary) < 3:
        notes.insert(0, f"OSM name {tags.get('name') or tags.get('name:zh')!r}")
    for key in ("open_date", "start_date", "operator", "network", "construction", "wikidata", "wikipedia"):
        if tags.get(key):
            notes.append(f"{key}={tags[key]}")
    district = _district(geom, units, kind)
    stamp = f"; data as of {timestamp}" if timestamp else ""
    props = {
        "name": name,
        "aliases": aliases,
        "kind": kind,
        "status": status,
        "district": district,
        "precision": "site",
        "confidence": confidence,
        "source": f"OpenStreetMap {_ids_text(ids)} ({ATTRIBUTION}{stamp})",
        "source_url": f"https://www.openstreetmap.org/{primary.osm_id}",
        "datum": "WGS84",
        "converted_from": None,
        "note": "; ".join(["Imported from OpenStreetMap by geoplan gazetteer import-osm", *notes]) + ".",
        "licence": LICENCE,
        "attribution": ATTRIBUTION,
        "osm_ids": ids,
        "osm_timestamp": timestamp,
    }
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


@dataclass(frozen=True)
class _Unit:
    name: str
    area: BaseGeometry
    slack: BaseGeometry  # the area grown by ~50 m, for lines drawn along its edge


def _units(entries: Sequence[GazetteerEntry]) -> tuple[_Unit, ...]:
    """Districts and counties with prepared geometries, built once per import (not once per place)."""
    units = tuple(_Unit(e.name, e.geometry, e.geometry.buffer(0.0005)) for e in entries if e.geometry is not None)
    for u in units:
        shapely.prepare(u.area)
        shapely.prepare(u.slack)
    return units


def _district(geom: BaseGeometry, units: Sequence[_Unit], kind: str) -> str | None:
    """The 区/县 holding the place; a line only gets one if it lies wholly inside it (with ~50 m slack)."""
    if kind in LINE_KINDS:
        return next((u.name for u in units if u.slack.covers(geom)), None)
    pt = geom if geom.geom_type == "Point" else geom.representative_point()
    return next((u.name for u in units if u.area.covers(pt)), None)


def city_entry(gazetteer: Gazetteer, city: str) -> GazetteerEntry:
    """The city entry called ``city`` (name or alias); an OsmError lists the cities there are."""
    cities = [e for e in gazetteer.entries if e.kind == "city"]
    found = next((e for e in cities if city in (e.name, *e.aliases)), None)
    if found is None or found.geometry is None:
        have = ", ".join(e.name for e in cities) or "none"
        raise OsmError(f"no city {city!r} with a boundary among the gazetteer's city entries (have: {have})")
    return found


def gazetteer_from_osm(
    data: OsmData, *, curated: Gazetteer | None = None, city: str | None = "太原市", replace: bool = False
) -> OsmImport:
    """Turn OSM elements into gazetteer features, clipped to ``city`` of ``curated``.

    Curated entries win over imported ones that share a name or alias; with ``replace`` the imported entry
    is kept and says which curated entries it ``replaces`` (the loader then leaves those out).
    """
    skipped: list[str] = []
    merged: list[str] = []
    added: list[str] = []
    replaced: list[str] = []
    counts: Counter[str] = Counter()
    city_geom = city_entry(curated, city).geometry if curated is not None and city else None
    units = _units(curated.admin_units) if curated is not None else ()
    if city_geom is not None:
        shapely.prepare(city_geom)  # every place is tested against it
    groups = _elements_by_name(data, skipped, counts)
    lat0 = (
        city_geom.centroid.y
        if city_geom is not None
        else (float(np.mean([e.geometry.centroid.y for e in data.elements])) if data.elements else 0.0)
    )
    tracks = [
        e.geometry
        for e in data.elements
        if "LineString" in e.geometry.geom_type
        and kind_of(e.tag, "line") == "metro_line"
        and status_of(e.tag) == "existing"
    ]
    subway_tracks = _to_metres(shapely.union_all(tracks), lat0) if tracks else None
    claims: dict[str, GazetteerEntry] = {}
    if curated is not None:
        for e in curated.entries:
            for s in (e.name, *e.aliases):
                claims.setdefault(s, e)
    taken: dict[str, str] = {}  # name or alias -> imported entry name
    features: list[dict[str, Any]] = []
    order = sorted(groups.values(), key=lambda g: (KIND_ORDER.index(g.kind), g.name))
    for group in order:
        feature = _entry(
            group,
            city=city_geom,
            lat0=lat0,
            subway_tracks=subway_tracks,
            units=units,
            timestamp=data.timestamp,
            merged=merged,
            skipped=skipped,
        )
        if feature is None:
            continue
        props = feature["properties"]
        name = props["name"]
        label = f"{group.kind} {name} ({_ids_text(props['osm_ids'])})"
        if name in taken:
            skipped.append(f"{label}: name already used by the imported entry {taken[name]!r}")
            continue
        admin = [s for s in (name, *props["aliases"]) if s in claims and claims[s].is_admin]
        if name in admin:
            skipped.append(f"{label}: the administrative unit {claims[name].name} has this name")
            continue
        hits = list(dict.fromkeys(claims[s].name for s in (name, *props["aliases"]) if s in claims and s not in admin))
        if hits:
            if not replace:
                skipped.append(
                    f"{label}: curated entry {', '.join(hits)} already has this name or an alias "
                    "(curated wins; --replace keeps the OSM entry)"
                )
                continue
            props["replaces"] = hits
            replaced.append(f"{', '.join(hits)} by {label}")
        kept_aliases = []
        for alias in props["aliases"]:
            if alias in taken:
                skipped.append(f"alias {alias!r} of {name}: already used by the imported entry {taken[alias]!r}")
            elif alias in admin:
                skipped.append(f"alias {alias!r} of {name}: the name of the administrative unit {claims[alias].name}")
            else:
                kept_aliases.append(alias)
        props["aliases"] = kept_aliases
        taken.update({s: name for s in (name, *kept_aliases)})
        features.append(feature)
        added.append(label)
    report = ImportReport(tuple(added), tuple(merged), tuple(skipped), tuple(replaced))
    return OsmImport(tuple(features), report, data.timestamp, data.path)


def import_osm(
    path: str | Path,
    *,
    curated_paths: Iterable[str | Path] | None = None,
    city: str = "太原市",
    replace: bool = False,
    progress: ProgressFn | None = None,
) -> OsmImport:
    """Read ``path`` and build the gazetteer features, checked against the curated gazetteer files."""
    paths = list(curated_paths) if curated_paths is not None else list(settings.gazetteer_paths())
    try:
        curated = load_gazetteer(paths)
    except GazetteerError as err:
        raise OsmError(f"the curated gazetteer does not load: {err}") from err
    return gazetteer_from_osm(osm_from_path(path, progress=progress), curated=curated, city=city, replace=replace)


__all__ = [
    "ATTRIBUTION",
    "LICENCE",
    "ImportReport",
    "OsmData",
    "OsmElement",
    "OsmImport",
    "city_entry",
    "gazetteer_from_osm",
    "import_osm",
    "kind_of",
    "merge_lines",
    "names_of",
    "osm_from_path",
    "status_of",
]
