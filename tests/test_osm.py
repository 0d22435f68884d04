"""OpenStreetMap imports (geoplan.osm, `geoplan gazetteer import-osm`) and the OSM-derived gazetteer entries."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pyproj import Geod, Transformer
from shapely.geometry import LineString, Point, shape

from geoplan import cli, settings
from geoplan.errors import OsmError
from geoplan.export import export_features
from geoplan.features import features_from_path
from geoplan.gazetteer import load_gazetteer
from geoplan.maps import build_map, map_html
from geoplan.osm import (
    ATTRIBUTION,
    LICENCE,
    OsmData,
    OsmElement,
    gazetteer_from_osm,
    import_osm,
    kind_of,
    merge_lines,
    osm_from_path,
    status_of,
)

from conftest import DATA, REPORT, ROOT

SHARED = ROOT.parent / "shared"  # CI checks the shared data out beside the repository
EXPORT = SHARED / "data" / "osm" / "taiyuan-rail-2026-01-06.geojson"
SMALL = DATA / "osm" / "small.osm"
GEODATA = ROOT / "geodata"
CURATED = GEODATA / "gazetteer.geojson"
BOUNDARIES = GEODATA / "boundaries" / "taiyuan.geojson"
SHIPPED_OSM = GEODATA / "osm" / "taiyuan-osm.geojson"
T1T2_STATION = "node/12600508977"
GEOD = Geod(ellps="WGS84")
TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32649", always_xy=True)  # UTM 49N: Taiyuan, in metres

needs_export = pytest.mark.skipif(not EXPORT.is_file(), reason=f"the shared OSM export is absent ({EXPORT})")


def utm(geom):
    return shapely.transform(geom, lambda a: np.column_stack(TO_UTM.transform(a[:, 0], a[:, 1])))


def by_name(result) -> dict[str, dict]:
    return {f["properties"]["name"]: f for f in result.features}


@pytest.fixture(scope="module")
def boundaries():
    return load_gazetteer([BOUNDARIES])


@pytest.fixture(scope="module")
def export_data():
    if not EXPORT.is_file():
        pytest.skip(f"the shared OSM export is absent ({EXPORT})")
    return osm_from_path(EXPORT)


@pytest.fixture(scope="module")
def imported(export_data, boundaries):
    """The shipped export imported against the boundaries only, so no curated entry takes a name."""
    return gazetteer_from_osm(export_data, curated=boundaries)


# ------------------------------------------------------------------ the shipped export


def test_export_yields_the_two_lines_and_its_stations_with_attribution(imported):
    feats = by_name(imported)
    lines = {n for n, f in feats.items() if f["properties"]["kind"] == "metro_line"}
    assert lines == {"太原地铁1号线", "太原轨道交通2号线"}
    stations = [f for f in imported.features if f["properties"]["kind"] == "station"]
    assert len(stations) >= 60
    for f in imported.features:
        p = f["properties"]
        assert p["attribution"] == ATTRIBUTION == "© OpenStreetMap contributors, ODbL" and p["licence"] == LICENCE
        assert p["source"].startswith("OpenStreetMap ") and "ODbL" in p["source"]
        assert "2026-01-06T16:09:29Z" in p["source"] and p["osm_timestamp"] == "2026-01-06T16:09:29Z"
        assert p["datum"] == "WGS84" and p["precision"] == "site"
        assert all(re.fullmatch(r"(node|way|relation)/\d+", i) for i in p["osm_ids"])
    line1 = shape(feats["太原地铁1号线"]["geometry"])
    assert line1.geom_type == "LineString"  # two track ways merged, the parallel one folded
    assert 28_300 < GEOD.geometry_length(line1) < 28_900  # official 28.74 km
    assert feats["太原地铁1号线"]["properties"]["osm_ids"] == ["way/421616944", "way/1315944239"]
    assert shape(feats["太原轨道交通2号线"]["geometry"]).geom_type == "LineString"


def test_stations_get_their_站_merged_elements_and_status(imported):
    feats = by_name(imported)
    assert "体育馆站" in feats and "体育馆" not in feats  # a report's 体育馆 is not the metro station
    assert "太原理工大学" not in feats["太原理工大学站"]["properties"]["aliases"]
    south = feats["太原南站"]["properties"]  # the railway station and the metro station of one name
    assert south["osm_ids"] == ["node/1880719610", "node/12603838360"] and "太原南" not in south["aliases"]
    dananmen = feats["大南门站"]  # only stop positions are mapped: their centre
    assert len(dananmen["properties"]["osm_ids"]) == 2 and "stop positions" in dananmen["properties"]["note"]
    planned = {n for n, f in feats.items() if f["properties"]["status"] == "planned"}
    assert {"柴村站", "吴家堡站", "平阳路站", "军民南路站", "坞城南路站"} <= planned and len(planned) == 16
    assert all(feats[n]["properties"]["confidence"] == "low" for n in planned)
    assert feats["三给站"]["properties"]["status"] == "under_construction"  # construction=yes wins over inference
    assert feats["体育馆站"]["properties"]["status"] == "existing"
    assert feats["武宿1号2号航站楼站"]["properties"]["status"] == "existing"


def test_what_lies_outside_the_city_is_reported_not_dropped(imported):
    skipped = "\n".join(imported.report.skipped)
    for name in ("晋中站", "榆次站", "北合流站"):
        assert f"station {name} (" in skipped and name not in by_name(imported)
    assert "2 element(s): unnamed metro_line" in skipped
    assert imported.report.lines()[0].startswith(f"added {len(imported.features)} entries")


@needs_export
def test_shipped_osm_gazetteer_is_the_import_of_the_export_and_loads_with_the_curated_files():
    fresh = import_osm(EXPORT, curated_paths=[CURATED, BOUNDARIES])
    assert fresh.to_geojson() == SHIPPED_OSM.read_text("utf-8")
    gaz = load_gazetteer()  # strict: no name or alias twice
    assert str(SHIPPED_OSM) in gaz.paths and gaz.paths.index(str(SHIPPED_OSM)) == 1
    osm_entries = [e for e in gaz.entries if e.origin == str(SHIPPED_OSM)]
    assert len(osm_entries) == len(fresh.features) >= 60
    skipped = "\n".join(fresh.report.skipped)
    assert "curated entry 太原轨道交通1号线" in skipped and "curated entry 太原火车站" in skipped


# ------------------------------------------------------------------ a small .osm / .osm.pbf extract


def test_small_extract_imports_four_entries_with_one_merged_road(boundaries):
    data = osm_from_path(SMALL)
    assert data.timestamp == "2025-09-30T16:45:12+00:00"  # the newest element (the file has no header time)
    result = gazetteer_from_osm(data, curated=boundaries)
    kinds = {f["properties"]["name"]: f["properties"]["kind"] for f in result.features}
    assert kinds == {"迎泽西大街": "road", "太原市第十二中学校": "school", "迎泽大桥": "bridge", "迎泽公园": "park"}
    road = by_name(result)["迎泽西大街"]
    assert road["geometry"]["type"] == "LineString" and len(road["geometry"]["coordinates"]) == 5
    assert road["properties"]["osm_ids"] == ["way/2001", "way/2002", "way/2003"]
    assert road["properties"]["aliases"] == ["迎泽大街西段"] and road["properties"]["district"] == "万柏林区"
    assert result.report.merged == ("road 迎泽西大街: 3 OSM elements (way/2001, way/2002, way/2003)",)
    assert by_name(result)["太原市第十二中学校"]["geometry"]["type"] == "Polygon"
    assert by_name(result)["太原市第十二中学校"]["properties"]["aliases"] == ["太原十二中"]
    ring = by_name(result)["迎泽公园"]["geometry"]["coordinates"][0]
    assert shapely.LinearRing(ring).is_ccw  # RFC 7946 exterior rings


def test_the_same_extract_as_pbf_imports_alike(tmp_path, boundaries):
    osmium = pytest.importorskip("osmium")
    pbf = tmp_path / "small.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(SMALL)):
            writer.add(obj)
    assert pbf.read_bytes()[:4] != SMALL.read_bytes()[:4]  # really the binary format
    ticks: list[int] = []
    from_pbf = gazetteer_from_osm(osm_from_path(pbf, progress=ticks.append), curated=boundaries)
    assert ticks and ticks[-1] == 7 + 1 + 2  # ends on the tagged objects read: 7 ways, the bench, 2 areas
    from_xml = gazetteer_from_osm(osm_from_path(SMALL), curated=boundaries)
    assert from_pbf.features == from_xml.features


ROUTE_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="geoplan test">
  <node id="1" version="1" lat="37.8570" lon="112.4800"/>
  <node id="2" version="1" lat="37.8568" lon="112.4950"/>
  <node id="3" version="1" lat="37.8566" lon="112.5100"/>
  <way id="11" version="1"><nd ref="1"/><nd ref="2"/><tag k="railway" v="subway"/><tag k="tunnel" v="yes"/></way>
  <way id="12" version="1"><nd ref="2"/><nd ref="3"/><tag k="railway" v="subway"/><tag k="tunnel" v="yes"/></way>
  <relation id="21" version="1" timestamp="2025-02-22T02:30:00Z">
    <member type="way" ref="11" role=""/><member type="way" ref="12" role=""/>
    <tag k="type" v="route"/><tag k="route" v="subway"/><tag k="ref" v="1"/>
    <tag k="name" v="太原地铁1号线: 河龙湾 =&gt; 武宿1号2号航站楼"/>
  </relation>
  <relation id="22" version="1" timestamp="2025-02-22T02:30:00Z">
    <member type="way" ref="12" role=""/><member type="way" ref="11" role=""/>
    <tag k="type" v="route"/><tag k="route" v="subway"/><tag k="ref" v="1"/>
    <tag k="name" v="太原地铁1号线: 武宿1号2号航站楼 =&gt; 河龙湾"/>
  </relation>
</osm>
"""


def test_route_relations_of_both_directions_make_one_line(tmp_path, boundaries):
    path = tmp_path / "route.osm"
    path.write_text(ROUTE_OSM, "utf-8")
    result = gazetteer_from_osm(osm_from_path(path), curated=boundaries)
    assert [f["properties"]["name"] for f in result.features] == ["太原地铁1号线"]
    line = by_name(result)["太原地铁1号线"]
    assert line["properties"]["kind"] == "metro_line" and line["properties"]["osm_ids"] == [
        "relation/21",
        "relation/22",
    ]
    assert shape(line["geometry"]).equals(LineString([(112.48, 37.857), (112.495, 37.8568), (112.51, 37.8566)]))
    assert "2 element(s): unnamed metro_line" in result.report.skipped  # its ways, read as ways too


def test_curated_entries_win_unless_replace(tmp_path):
    curated = [CURATED, BOUNDARIES]
    kept = import_osm(SMALL, curated_paths=curated)
    assert "迎泽西大街" not in by_name(kept)
    assert any(
        s.startswith("road 迎泽西大街 (way/2001, way/2002, way/2003): curated entry 迎泽西大街")
        for s in kept.report.skipped
    )
    out = tmp_path / "osm.geojson"
    out.write_text(kept.to_geojson(), "utf-8")
    assert "迎泽西大街" in load_gazetteer([CURATED, out, BOUNDARIES])  # strict: loads beside the curated file
    assert load_gazetteer([CURATED, out, BOUNDARIES])["迎泽西大街"].origin == str(CURATED)

    replaced = import_osm(SMALL, curated_paths=curated, replace=True)
    road = by_name(replaced)["迎泽西大街"]
    assert road["properties"]["replaces"] == ["迎泽西大街"]
    assert replaced.report.replaced == ("迎泽西大街 by road 迎泽西大街 (way/2001, way/2002, way/2003)",)
    out.write_text(replaced.to_geojson(), "utf-8")
    gaz = load_gazetteer([CURATED, out, BOUNDARIES])
    assert gaz["迎泽西大街"].origin == str(out) and gaz["迎泽西大街"].kind == "road"
    assert gaz["迎泽西大街"].source.startswith("OpenStreetMap way/2001")
    assert any("entry '迎泽西大街' replaced by '迎泽西大街'" in p for p in gaz.problems)


def test_roads_are_clipped_to_the_city_and_those_outside_reported(boundaries):
    road = (("highway", "primary"), ("name", "跨界路"))
    far = (("highway", "primary"), ("name", "远方路"))
    data = OsmData(
        "mem",
        (
            OsmElement("way/1", road, LineString([(112.55, 37.85), (113.60, 37.85)])),  # leaves the city eastwards
            OsmElement("way/2", far, LineString([(116.30, 39.90), (116.40, 39.90)])),  # Beijing
        ),
        None,
    )
    result = gazetteer_from_osm(data, curated=boundaries)
    crossing = by_name(result)["跨界路"]
    assert "clipped to the city boundary" in crossing["properties"]["note"]
    assert shape(crossing["geometry"]).within(boundaries.city.geometry.buffer(1e-6))
    assert shape(crossing["geometry"]).bounds[2] < 113.60
    assert "远方路" not in by_name(result)
    assert "road 远方路 (way/2): outside the city" in result.report.skipped
    assert "data as of" not in crossing["properties"]["source"]  # no timestamp in the data: none claimed


@hsettings(max_examples=25, deadline=None)
@given(order=st.permutations(range(3)), flips=st.lists(st.booleans(), min_size=3, max_size=3))
def test_ways_merge_into_one_line_whatever_their_order_and_direction(order, flips):
    ways = [
        LineString([(112.49, 37.8566), (112.50, 37.85654)]),
        LineString([(112.50, 37.85654), (112.505, 37.85645), (112.51, 37.85648)]),
        LineString([(112.51, 37.85648), (112.5225, 37.85639)]),
    ]
    shuffled = [ways[i].reverse() if flip else ways[i] for i, flip in zip(order, flips, strict=True)]
    merged, folded = merge_lines(shuffled, 37.85, fold_parallel=False)
    assert merged.geom_type == "LineString" and folded == 0
    assert merged.length == pytest.approx(sum(w.length for w in ways))


def test_kinds_and_status_from_tags():
    assert kind_of({"highway": "primary", "name": "x"}, "line") == "road"
    assert kind_of({"highway": "footway", "name": "x"}, "line") is None
    assert kind_of({"highway": "primary", "route": "bus", "name": "x"}, "line") == "road"  # route=* on a way
    assert kind_of({"highway": "construction", "construction": "primary"}, "line") == "road"
    assert kind_of({"railway": "subway"}, "line") == "metro_line"
    assert kind_of({"railway": "rail"}, "line") == "rail_line"
    assert kind_of({"type": "route", "route": "subway"}, "line") == "metro_line"
    assert kind_of({"railway": "station", "station": "subway"}, "point") == "station"
    assert kind_of({"railway": "stop", "station": "subway"}, "point") == "station"
    assert kind_of({"railway": "station_crossing"}, "point") is None
    assert kind_of({"highway": "primary", "bridge": "yes", "name": "迎泽大桥"}, "line") == "bridge"
    assert kind_of({"amenity": "university"}, "area") == "university"
    assert kind_of({"natural": "water"}, "area") == "water"
    assert kind_of({"waterway": "river"}, "line") == "river"
    assert kind_of({"landuse": "residential"}, "area") == "area"
    assert status_of({"railway": "station"}) == "existing"
    assert status_of({"railway": "proposed", "proposed": "subway"}) == "planned"
    assert status_of({"railway": "station", "construction": "yes"}) == "under_construction"
    assert status_of({"highway": "construction"}) == "under_construction"


# ------------------------------------------------------------------ the curated entries that follow OSM


@pytest.fixture(scope="module")
def curated():
    return load_gazetteer([CURATED, BOUNDARIES])


@pytest.mark.parametrize(
    "entry, osm_name", [("太原轨道交通1号线", "太原地铁1号线"), ("太原轨道交通2号线", "太原轨道交通2号线")]
)
def test_curated_metro_lines_lie_on_the_osm_ways(curated, export_data, entry, osm_name):
    ways = [e.geometry for e in export_data.elements if e.tag.get("name") == osm_name]
    assert len(ways) >= 2
    line = curated[entry].geometry
    # both tracks count: the curated line is within a few tens of metres of every OSM way and vice versa
    assert utm(line).hausdorff_distance(utm(shapely.union_all(ways))) < 60
    assert "OpenStreetMap" in curated[entry].source and "ODbL" in curated[entry].source
    assert (curated[entry].precision, curated[entry].confidence) == ("site", "high")


def test_line1_phase2_starts_at_the_t1t2_station(curated, export_data):
    station = next(e.geometry for e in export_data.elements if e.osm_id == T1T2_STATION)
    phase2 = curated["轨道交通1号线二期"]
    start = Point(phase2.geometry.coords[0])
    assert utm(start).distance(utm(station)) < 50
    assert GEOD.geometry_length(phase2.geometry) == pytest.approx(1850, abs=5)  # the cited 1.85 km
    assert (phase2.precision, phase2.confidence) == ("estimated", "low") and T1T2_STATION in phase2.source
    east = phase2.geometry.coords[-1]
    assert east[0] > start.x + 0.015  # runs on east (T3 is east of T2), not back along Line 1
    # the shipped features of the report carry the same geometry
    shipped = json.loads((GEODATA / "taiyuan-2025.geojson").read_text("utf-8"))["features"]
    built = next(f for f in shipped if f["properties"]["name"] == "轨道交通1号线二期")
    assert utm(Point(built["geometry"]["coordinates"][0])).distance(utm(station)) < 50


def test_east_building_sits_at_the_east_square(curated, export_data):
    square = next(e.geometry for e in export_data.elements if e.tag.get("name") == "太原站东广场")
    east = curated["太原火车站东站房"]
    assert utm(east.geometry).distance(utm(square)) < 5
    assert east.geometry.x > curated["太原火车站"].geometry.x  # east of the tracks, unlike the old west point


# ------------------------------------------------------------------ attribution where the data is shown


def test_map_and_exports_credit_openstreetmap(tmp_path):
    gdf = features_from_path(REPORT)
    osm_rows = gdf["source"].fillna("").str.contains("OpenStreetMap")
    assert osm_rows.any()
    amap = map_html(build_map(gdf, basemap="amap"))  # AMap tiles credit only AMap: the credit is ours
    assert "OpenStreetMap contributors" in amap and "attributionControl.addAttribution" in amap
    without = map_html(build_map(gdf[~osm_rows], basemap="amap"))
    assert "OpenStreetMap contributors" not in without
    out = tmp_path / "features.csv"
    export_features(gdf[osm_rows], out, "csv")
    text = out.read_text("utf-8-sig")
    assert text.count("© OpenStreetMap contributors, ODbL") >= int(osm_rows.sum())


# ------------------------------------------------------------------ the command


def run(capsys, *args: object) -> tuple[int, str, str]:
    rc = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_imports_and_reports(capsys, tmp_path):
    out = tmp_path / "osm.geojson"
    rc, _, err = run(capsys, "gazetteer", "import-osm", SMALL, "-o", out, "--curated", BOUNDARIES)
    assert rc == 0, err
    assert "added 4 entries, merged 1, replaced 0, skipped 0" in err and "© OpenStreetMap contributors" in err
    doc = json.loads(out.read_text("utf-8"))
    assert doc["attribution"] == ATTRIBUTION and len(doc["features"]) == 4
    assert len(load_gazetteer([out, BOUNDARIES]).entries) == 4 + 11


def test_cli_default_curated_files_win(capsys, tmp_path):
    out = tmp_path / "osm.geojson"
    rc, _, err = run(capsys, "gazetteer", "import-osm", SMALL, "-o", out)
    assert rc == 0, err
    assert "skipped: road 迎泽西大街" in err and "curated wins" in err
    load_gazetteer([*settings.gazetteer_paths(), out])  # strict, beside everything shipped


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("bad.geojson", b"{not json", "bad.geojson:1: not valid JSON"),
        ("list.geojson", b"[]", "list.geojson: not a GeoJSON FeatureCollection"),
        (
            "noid.geojson",
            b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x"},'
            b'"geometry":{"type":"Point","coordinates":[112.5,37.8]}}]}',
            "has no OSM id",
        ),
        ("cut.osm", b'<osm version="0.6"><node id="1" lat=', "cut.osm: cannot read OSM data"),
        ("junk.osm.pbf", b"\x00\x01junk" * 20, "junk.osm.pbf: cannot read OSM data"),
        ("notes.txt", b"hello", "notes.txt: not an OSM file"),
    ],
)
def test_cli_bad_files_are_one_line_errors(capsys, tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    out = tmp_path / "out.geojson"
    rc, stdout, err = run(capsys, "gazetteer", "import-osm", path, "-o", out)
    assert rc == 2 and not stdout
    assert err.count("\n") == 1 and err.startswith("geoplan: error: ") and reason in err, err
    assert "Traceback" not in err and not out.exists()


def test_cli_missing_file_and_unknown_city(capsys, tmp_path):
    rc, _, err = run(capsys, "gazetteer", "import-osm", tmp_path / "nope.osm", "-o", tmp_path / "o.geojson")
    assert rc == 2 and err.count("\n") == 1 and "nope.osm: no such file" in err
    rc, _, err = run(capsys, "gazetteer", "import-osm", SMALL, "-o", tmp_path / "o.geojson", "--city", "北京市")
    assert rc == 2 and err.count("\n") == 1 and "no city '北京市'" in err and "太原市" in err


def test_osm_error_is_a_gazetteer_error():
    with pytest.raises(OsmError, match="not an OSM file"):
        osm_from_path(Path(__file__))
