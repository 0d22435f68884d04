"""Assemble, format and validate geodata/gazetteer.geojson (hand-curated Taiyuan gazetteer).

Every coordinate below is copied from a cited source (see geodata/gazetteer-sources.md). The metro lines, the
武宿1号2号航站楼 and 太原站东广场 stations and 3号线一期's vertices are read from the OpenStreetMap export in
../shared/data/osm/ (or $GEOPLAN_OSM_RAIL) when the file is built; those entries are ODbL, and their source says so.
Source coordinates are kept in the datum the source uses; GCJ-02 ones are converted to WGS84
with geoplan.datum when the file is built. Nothing here invents a coordinate: lines are
polylines through cited points (the 汾河 line is a clipped, simplified traced line from a national
1:4M data set), the one polygon is a stated buffer around a cited point.

Usage (from the repo root):
    PYTHONPATH=src python scripts/gazetteer_tools.py build     # write geodata/gazetteer.geojson
    PYTHONPATH=src python scripts/gazetteer_tools.py validate  # check the written file
    PYTHONPATH=src python scripts/gazetteer_tools.py extract-fen PATH/hyd2_4l.shp  # re-derive the 汾河 table (needs geopandas)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon, mapping, shape
from shapely.geometry.polygon import orient

from geoplan.datum import convert_coords

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "geodata" / "gazetteer.geojson"
BBOX = (111.5, 37.4, 113.2, 38.5)  # lon_min, lat_min, lon_max, lat_max (Taiyuan)
KIND_ORDER = [
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
]
KEYS = [
    "name",
    "aliases",
    "kind",
    "status",
    "district",
    "precision",
    "confidence",
    "source",
    "source_url",
    "datum",
    "converted_from",
    "note",
]

# --------------------------------------------------------------------------------------
# Source coordinate table: (lon, lat) exactly as published by the source, in its datum.
# --------------------------------------------------------------------------------------
WIKI_TAIYUAN_STN = (112.5818222, 37.8597167)  # zh.wikipedia 太原站 (mirror), WGS84
WIKI_TAIYUAN_SOUTH = (112.6051083, 37.7915139)  # zh.wikipedia 太原南站 (mirror), WGS84
WIKI_WUSU_AIRPORT = (112.62833, 37.74694)  # ja.wikipedia 太原武宿国際空港, WGS84
WIKI_TYUT = (112.51603, 37.86046)  # zh.wikipedia 太原理工大学, WGS84
WIKI_DOUDAFU_CI = (112.43299, 38.01026)  # zh.wikipedia 窦大夫祠 (上兰村, 汾河出峡口), WGS84
BAIKE_JINCI_SPRING = (
    112.45,
    37.0 + 40.0 / 60,
)  # 晋祠泉 百科: 东经112°27′, 北纬37°40′ (superseded, kept for the record)
WIKI_JINCI = (112.4424, 37.7079)  # en.wikipedia Jinci (eudic mirror): 37°42′28″N 112°26′33″E, WGS84

# GitHub SQL dump with 晋商银行 branch coordinates (table ecs_bank_agency, columns map_lat/map_lng), GCJ-02.
# Datum check: its 解放路 branches (解放北路249号 112.562759/37.909870, 解放路228号 112.562347/37.887341)
# convert to within ~40 m of the converted Line 2 stations under 解放路 (尖草坪/大北门); raw values are ~550 m east.
BANK_DUMP_REF = "GitHub SQL dump (table ecs_bank_agency, 晋商银行 branches; find_string id 34292660741; repository name not given by the index)"
BANK_YINGXI_GCJ = (112.506615, 37.856972)  # 太原迎泽西大街支行, 山西省太原市迎泽西大街创升科技大厦
BANK_QIAOXI_GCJ = (112.529610, 37.856373)  # 太原桥西支行, 山西省太原市晋祠路1号 (north end of 晋祠路 at 迎泽西大街)
BANK_XINJIAN_GCJ = (112.551689, 37.848461)  # 太原新建路支行, 山西省太原市新建南路115号工会大厦
# iOS MapKit demo (find_string id 43445348829): center 37.8574521, 112.5035597, annotation "太原市万柏林区迎泽西大街170"; GCJ-02.
MAPKIT_YINGXI170_GCJ = (112.5035597, 37.8574521)

METROMAN_URL = (
    "https://github.com/metromancn/MetroMapOpenMiniProgram/blob/04c6e03446eba15577d5552ddec25762d0823bc3/src/data/ty.js"
)
# metromancn/MetroMapOpenMiniProgram src/data/ty.js, Line 2 stations, GCJ-02 (lng, lat).
METROMAN_LINE2_GCJ = [
    ("尖草坪", 112.562787, 37.915718),
    ("涧河", 112.563237, 37.905556),
    ("胜利街", 112.562196, 37.897501),
    ("大北门", 112.562027, 37.888507),
    ("缉虎营", 112.561794, 37.878631),
    ("府西街", 112.56078, 37.871352),
    ("开化寺街", 112.560137, 37.865449),
    ("大南门", 112.559664, 37.858283),
    ("体育馆", 112.560936, 37.845775),
    ("南内环", 112.561266, 37.836752),
    ("王村南街", 112.561523, 37.830668),
    ("长风街", 112.561806, 37.817452),
    ("学府街", 112.561767, 37.806301),
    ("南中环", 112.561827, 37.793679),
    ("晋阳街", 112.561791, 37.788584),
    ("龙兴街", 112.56147, 37.781699),
    ("龙城公园", 112.561172, 37.774188),
    ("嘉节", 112.562041, 37.765114),
    ("电子西街", 112.564273, 37.751186),
    ("康宁街", 112.567363, 37.742932),
    ("通达街", 112.568564, 37.730205),
    ("化章西街", 112.568049, 37.717976),
    ("西桥", 112.561252, 37.704782),
]


def gcj(lon: float, lat: float) -> tuple[float, float]:
    return convert_coords(lon, lat, src="GCJ-02", dst="WGS84")


def r6(xy):
    return (round(xy[0], 6), round(xy[1], 6))


def buffer_polygon(center_lonlat, radius_m: float, segments: int = 32) -> Polygon:
    """Circle of radius_m around a WGS84 point, computed in UTM 49N, returned in WGS84."""
    from pyproj import Transformer

    fwd = Transformer.from_crs("EPSG:4326", "EPSG:32649", always_xy=True)
    inv = Transformer.from_crs("EPSG:32649", "EPSG:4326", always_xy=True)
    x, y = fwd.transform(*center_lonlat)
    circle = Point(x, y).buffer(radius_m, quad_segs=segments // 4)
    ring = [r6(inv.transform(px, py)) for px, py in circle.exterior.coords]
    return orient(Polygon(ring), sign=1.0)  # exterior counter-clockwise


# 汾河 (Fen river): traced 1:4,000,000 line, clipped to Taiyuan. Copied from the output of extract_fen() below, run on
# hyd2_4l.shp (国家基础地理信息系统 1:400万 水系, 二级河流 line layer, NAME '汾河', HYD2_4M_ID 520) as shipped in the metdig 1.1.0.0 wheel
# (package registry; repository https://github.com/nmcdev/metdig, GPL-3), at metdig/graphics/resources/shapefile/hyd2_4l.shp
# (sha256 a54e418c5d01989c1663d348d3ab52decd6424d00c0bfa73b2d0f9560a78a623; .dbf 77eb173b112ed6b04bb24f102503c421d033d4febd2a849bb3357d74d10059fa).
# Plain geographic lon/lat, no GCJ offset (checked: unconverted it passes 77 m from 窦大夫祠; read as GCJ-02 and converted,
# 331 m). Parts run upstream -> downstream; the 2nd and 3rd parts are the two lines the source draws through 汾河水库.
HYD2_4L_REF = "hyd2_4l.shp (国家基础地理信息系统 1:400万 二级河流, NAME '汾河') in metdig 1.1.0.0, metdig/graphics/resources/shapefile/"
HYD2_4L_URL = "https://github.com/nmcdev/metdig"
FEN_HYD2_4L = [
    [  # 26 vertices, [111.860833, 38.242708] -> [111.84198, 38.123703]
        (111.860833, 38.242708),
        (111.860191, 38.24136),
        (111.860237, 38.23769),
        (111.861778, 38.232883),
        (111.864182, 38.227634),
        (111.864594, 38.220066),
        (111.865547, 38.214798),
        (111.863907, 38.207439),
        (111.861397, 38.20076),
        (111.856812, 38.196815),
        (111.853104, 38.192646),
        (111.85318, 38.187599),
        (111.856827, 38.177544),
        (111.856918, 38.171349),
        (111.856407, 38.167213),
        (111.852989, 38.162361),
        (111.848984, 38.158649),
        (111.847557, 38.15657),
        (111.847054, 38.152203),
        (111.844276, 38.143917),
        (111.842018, 38.139763),
        (111.838882, 38.135601),
        (111.837479, 38.132607),
        (111.83725, 38.1287),
        (111.839638, 38.124596),
        (111.84198, 38.123703),
    ],
    [  # 21 vertices, [111.84198, 38.123703] -> [111.917213, 38.052891]
        (111.84198, 38.123703),
        (111.842232, 38.125378),
        (111.848907, 38.125648),
        (111.853844, 38.12545),
        (111.857048, 38.124783),
        (111.870499, 38.11478),
        (111.871979, 38.112041),
        (111.872292, 38.108833),
        (111.871773, 38.10379),
        (111.872658, 38.101505),
        (111.882294, 38.096066),
        (111.884064, 38.092407),
        (111.884369, 38.090118),
        (111.886711, 38.088531),
        (111.892517, 38.086731),
        (111.89901, 38.076225),
        (111.906319, 38.069855),
        (111.917847, 38.061123),
        (111.917137, 38.06052),
        (111.921516, 38.055962),
        (111.917213, 38.052891),
    ],
    [  # 33 vertices, [111.84198, 38.123703] -> [111.917213, 38.052891]
        (111.84198, 38.123703),
        (111.840797, 38.123306),
        (111.848129, 38.116249),
        (111.851967, 38.109402),
        (111.85379, 38.101391),
        (111.853233, 38.099556),
        (111.851227, 38.096336),
        (111.843727, 38.091476),
        (111.843147, 38.090557),
        (111.84433, 38.088734),
        (111.848099, 38.089214),
        (111.85215, 38.090614),
        (111.855324, 38.092468),
        (111.857933, 38.092712),
        (111.859398, 38.091343),
        (111.859428, 38.088364),
        (111.863197, 38.085598),
        (111.865257, 38.085426),
        (111.86702, 38.083603),
        (111.869087, 38.079948),
        (111.86998, 38.077202),
        (111.869438, 38.072845),
        (111.870041, 38.071018),
        (111.872971, 38.067371),
        (111.875603, 38.066238),
        (111.883453, 38.064682),
        (111.886963, 38.060806),
        (111.89135, 38.057167),
        (111.898033, 38.055603),
        (111.908493, 38.054287),
        (111.911697, 38.052471),
        (111.913742, 38.050419),
        (111.917213, 38.052891),
    ],
    [  # 187 vertices, [111.917213, 38.052891] -> [112.313039, 37.442278]
        (111.917213, 38.052891),
        (111.926811, 38.043999),
        (111.934967, 38.041782),
        (111.941353, 38.042068),
        (111.946877, 38.040974),
        (111.951279, 38.037113),
        (111.954857, 38.03072),
        (111.959846, 38.025948),
        (111.962784, 38.024601),
        (111.973251, 38.0224),
        (111.98008, 38.01099),
        (111.984863, 38.001167),
        (111.992477, 37.995499),
        (112.000923, 37.99305),
        (112.009628, 37.991978),
        (112.017738, 37.992508),
        (112.025284, 37.992115),
        (112.030228, 37.991009),
        (112.032578, 37.988735),
        (112.035843, 37.983715),
        (112.037682, 37.9757),
        (112.040329, 37.972511),
        (112.047653, 37.967297),
        (112.05957, 37.96418),
        (112.063217, 37.950905),
        (112.067657, 37.944057),
        (112.077011, 37.937252),
        (112.083138, 37.93409),
        (112.091568, 37.931866),
        (112.094757, 37.93166),
        (112.101967, 37.934242),
        (112.105988, 37.937256),
        (112.108002, 37.93819),
        (112.112358, 37.937538),
        (112.115959, 37.92701),
        (112.120949, 37.921772),
        (112.124481, 37.916981),
        (112.12915, 37.914036),
        (112.139008, 37.913422),
        (112.149429, 37.91396),
        (112.156677, 37.913326),
        (112.165382, 37.912014),
        (112.168297, 37.909973),
        (112.17556, 37.908188),
        (112.183403, 37.90641),
        (112.186867, 37.906437),
        (112.190918, 37.907841),
        (112.193207, 37.909466),
        (112.199478, 37.919834),
        (112.201187, 37.921909),
        (112.206413, 37.921947),
        (112.213097, 37.919472),
        (112.222969, 37.917019),
        (112.22702, 37.917274),
        (112.232224, 37.917999),
        (112.239441, 37.920574),
        (112.249496, 37.92844),
        (112.252113, 37.928688),
        (112.25647, 37.927113),
        (112.261719, 37.923706),
        (112.265778, 37.923042),
        (112.271553, 37.924686),
        (112.275574, 37.928154),
        (112.280998, 37.93668),
        (112.286781, 37.938095),
        (112.29055, 37.93766),
        (112.294037, 37.935616),
        (112.295227, 37.933098),
        (112.297279, 37.930817),
        (112.301353, 37.929695),
        (112.306839, 37.930878),
        (112.314323, 37.935741),
        (112.320053, 37.94289),
        (112.324089, 37.945667),
        (112.328987, 37.947533),
        (112.333344, 37.948017),
        (112.337112, 37.946892),
        (112.340881, 37.947144),
        (112.346069, 37.949928),
        (112.35038, 37.954315),
        (112.35466, 37.962139),
        (112.358963, 37.966984),
        (112.364738, 37.969311),
        (112.37368, 37.974407),
        (112.375977, 37.977177),
        (112.376823, 37.981079),
        (112.377281, 37.994164),
        (112.380157, 37.996471),
        (112.383049, 37.997864),
        (112.38797, 37.999039),
        (112.402473, 37.999348),
        (112.40535, 38.00074),
        (112.406792, 38.002354),
        (112.406479, 38.004646),
        (112.400932, 38.009663),
        (112.39975, 38.01218),
        (112.399139, 38.015617),
        (112.401733, 38.017929),
        (112.408386, 38.020031),
        (112.41246, 38.018444),
        (112.419167, 38.012974),
        (112.422974, 38.0107),
        (112.434288, 38.00938),
        (112.437767, 38.00848),
        (112.439819, 38.006657),
        (112.440712, 38.002762),
        (112.440742, 37.999546),
        (112.441628, 37.997028),
        (112.448036, 37.992241),
        (112.455902, 37.988609),
        (112.455322, 37.98838),
        (112.456528, 37.982422),
        (112.4618, 37.975563),
        (112.473183, 37.964832),
        (112.485703, 37.956173),
        (112.492706, 37.948406),
        (112.497101, 37.942459),
        (112.503563, 37.930561),
        (112.515343, 37.901245),
        (112.520103, 37.883141),
        (112.523331, 37.875584),
        (112.524513, 37.871227),
        (112.524567, 37.861824),
        (112.523727, 37.858837),
        (112.523232, 37.845985),
        (112.519257, 37.833347),
        (112.519638, 37.819813),
        (112.516602, 37.797771),
        (112.516647, 37.789974),
        (112.516113, 37.784924),
        (112.516441, 37.778961),
        (112.515739, 37.77681),
        (112.517967, 37.766808),
        (112.517723, 37.75946),
        (112.514877, 37.752563),
        (112.509178, 37.741295),
        (112.504593, 37.735081),
        (112.486519, 37.717102),
        (112.479027, 37.712708),
        (112.470711, 37.706013),
        (112.462662, 37.700466),
        (112.457497, 37.694935),
        (112.455231, 37.689877),
        (112.451302, 37.674942),
        (112.45137, 37.665764),
        (112.450851, 37.657501),
        (112.451447, 37.655209),
        (112.43795, 37.646194),
        (112.431679, 37.636524),
        (112.427094, 37.63306),
        (112.422783, 37.631428),
        (112.414421, 37.62978),
        (112.412117, 37.62862),
        (112.410118, 37.626316),
        (112.402939, 37.622604),
        (112.399498, 37.619831),
        (112.396347, 37.616375),
        (112.393227, 37.609703),
        (112.39209, 37.608551),
        (112.388969, 37.602566),
        (112.387543, 37.60141),
        (112.380966, 37.593117),
        (112.38073, 37.587837),
        (112.381927, 37.582108),
        (112.382278, 37.574306),
        (112.380592, 37.569019),
        (112.378036, 37.564186),
        (112.374321, 37.560722),
        (112.371483, 37.556805),
        (112.370644, 37.55336),
        (112.372223, 37.537312),
        (112.369713, 37.52697),
        (112.366859, 37.523743),
        (112.3517, 37.511261),
        (112.344833, 37.506634),
        (112.337677, 37.500397),
        (112.335403, 37.497169),
        (112.33149, 37.484299),
        (112.330353, 37.482452),
        (112.324097, 37.474613),
        (112.32151, 37.473679),
        (112.314949, 37.466759),
        (112.312973, 37.462845),
        (112.313339, 37.454586),
        (112.314537, 37.448856),
        (112.314301, 37.443806),
        (112.313039, 37.442278),
    ],
]


def extract_fen(shp_path, boundary_path=ROOT / "geodata" / "boundaries" / "taiyuan.geojson"):
    """Rebuild FEN_HYD2_4L from hyd2_4l.shp: all '汾河' records, merged, clipped to the Taiyuan city outline
    buffered by 2 km (UTM 49N), merged again, Douglas-Peucker 0.0003° (≈30 m), rounded to 6 decimals,
    parts oriented north (upstream) -> south and sorted by their upstream end. Needs geopandas."""
    import geopandas as gpd
    from pyproj import Transformer
    from shapely.ops import linemerge, transform, unary_union

    g = gpd.read_file(shp_path, encoding="gbk")
    fen = linemerge(unary_union(list(g[g["NAME"] == "汾河"].geometry)))
    city = next(
        f
        for f in json.loads(Path(boundary_path).read_text(encoding="utf-8"))["features"]
        if f["properties"]["kind"] == "city"
    )
    fwd = Transformer.from_crs("EPSG:4326", "EPSG:32649", always_xy=True)
    inv = Transformer.from_crs("EPSG:32649", "EPSG:4326", always_xy=True)
    area = transform(inv.transform, transform(fwd.transform, shape(city["geometry"])).buffer(2000))
    clipped = linemerge(fen.intersection(area))
    simple = clipped.simplify(0.0003, preserve_topology=False)
    parts = [[r6(xy) for xy in part.coords] for part in getattr(simple, "geoms", [simple])]
    parts = [pt if pt[0][1] >= pt[-1][1] else pt[::-1] for pt in parts]
    return sorted(parts, key=lambda pt: (-pt[0][1], pt[0][0]))


def fen_line() -> MultiLineString:
    return MultiLineString(FEN_HYD2_4L)


# 1号线二期: cited start point, cited direction (T3 is east of T2), cited length.
LINE1_PHASE2_LENGTH_M = 1850.0  # en.wikipedia Line 1 (Taiyuan Metro): 'The length of phase 2 is 1.85km'


# OpenStreetMap (ODbL): the overpass-turbo export of Taiyuan's metro (see ../shared/data/osm/README.md). The metro lines,
# the 武宿1号2号航站楼 station and the 太原站东广场 station below are read from it when the file is built.
OSM_RAIL = Path(
    os.environ.get("GEOPLAN_OSM_RAIL", ROOT.parent / "shared" / "data" / "osm" / "taiyuan-rail-2026-01-06.geojson")
)
OSM_LICENCE = "© OpenStreetMap contributors, ODbL 1.0"
OSM_T1T2_STATION = "node/12600508977"  # 武宿1号2号航站楼 (subway station, wikipedia zh:武宿1号2号航站楼站)
OSM_EAST_SQUARE_STATION = "node/12603762934"  # 太原站东广场 (Line 1 station under the east square of 太原站)
OSM_LINE3_PLAN_STATIONS = [  # planned station nodes on 晋阳街 (2017 Line 3 plan order), plus the two served stations
    ("吴家堡", "node/9527734299"),
    ("平阳路", "node/9527734300"),
    ("晋阳街", "node/8221429575"),
    ("军民南路", "node/9527734301"),
    ("坞城南路", "node/9527734302"),
    ("太原南站", "node/12603838360"),
]


def osm_rail():
    """The OSM export (geoplan.osm.OsmData); stops the build with one line if it is missing."""
    from geoplan.osm import osm_from_path

    if not OSM_RAIL.is_file():
        sys.exit(f"{OSM_RAIL}: OSM export not found (set GEOPLAN_OSM_RAIL to its path)")
    return osm_from_path(OSM_RAIL)


def osm_stamp(data) -> str:
    return f"overpass-turbo export, data as of {data.timestamp}"


def osm_point(data, osm_id: str) -> Point:
    return next(e.geometry for e in data.elements if e.osm_id == osm_id)


def osm_line(data, name: str) -> tuple[LineString, list[str]]:
    """The metro line ``name`` as OSM maps it: its ways merged, the second track folded onto the first."""
    from geoplan.osm import merge_lines

    els = [e for e in data.elements if e.tag.get("name") == name and e.tag.get("railway") == "subway"]
    line, _ = merge_lines([e.geometry for e in els], 37.85, fold_parallel=True)
    assert line.geom_type == "LineString", f"{name}: OSM ways do not merge into one line"
    return LineString([r6(xy) for xy in line.coords]), sorted(e.osm_id for e in els)


def line1_phase2(data) -> tuple[LineString, float]:
    """Estimated 1号线二期: from the OSM 武宿1号2号航站楼 station along Line 1's tail track, then on in the tail
    track's direction until the cited 1.85 km are reached (WGS84 geodesic). Returns the line and the bearing."""
    from pyproj import Geod
    from shapely.ops import substring

    geod = Geod(ellps="WGS84")
    line1, _ = osm_line(data, "太原地铁1号线")
    station = osm_point(data, OSM_T1T2_STATION)
    at = line1.project(station)
    east_end_last = line1.coords[-1][0] > line1.coords[0][0]
    tail = substring(line1, at, line1.length) if east_end_last else substring(line1, at, 0)
    tail_coords = list(tail.coords)[1:]  # the track beyond the station (its first point is the station's projection)
    pts = [(station.x, station.y), *tail_coords]
    done = sum(geod.inv(a[0], a[1], b[0], b[1])[2] for a, b in zip(pts, pts[1:], strict=False))
    a, b = tail_coords[-2] if len(tail_coords) > 1 else (station.x, station.y), tail_coords[-1]
    azimuth = geod.inv(a[0], a[1], b[0], b[1])[0]
    lon, lat, _ = geod.fwd(b[0], b[1], azimuth, LINE1_PHASE2_LENGTH_M - done)
    return LineString([r6(p) for p in (*pts, (lon, lat))]), azimuth % 360


def feature(geom, **props):
    missing = [k for k in KEYS if k not in props]
    if missing:
        raise ValueError(f"{props.get('name')}: missing {missing}")
    return {
        "type": "Feature",
        "properties": {k: props[k] for k in KEYS},
        "geometry": None if geom is None else mapping(geom),
    }


def build_features() -> list[dict]:
    osm = osm_rail()
    yingxi_wgs = [r6(gcj(*MAPKIT_YINGXI170_GCJ)), r6(gcj(*BANK_YINGXI_GCJ)), r6(gcj(*BANK_QIAOXI_GCJ))]
    feats = []

    # ---------------- stations ----------------
    feats.append(
        feature(
            Point(WIKI_TAIYUAN_STN),
            name="太原火车站",
            aliases=["太原站", "太原火车站西站房"],
            kind="station",
            status="existing",
            district="迎泽区",
            precision="site",
            confidence="high",
            source="Wikipedia (zh) 太原站, infobox 地理座標 37°51′34.98″N 112°34′54.56″E",
            source_url="https://zh.wikipedia.org/wiki/%E5%A4%AA%E5%8E%9F%E7%AB%99",
            datum="WGS84",
            converted_from=None,
            note="Wikipedia coordinate of the station (existing west station building side); ja.wikipedia gives 37.859861, 112.581806 (same to ~20 m).",
        )
    )
    east_square = osm_point(osm, OSM_EAST_SQUARE_STATION)
    feats.append(
        feature(
            Point(r6((east_square.x, east_square.y))),
            name="太原火车站东站房",
            aliases=["太原站东站房", "火车站东站房", "太原站新建东站房"],
            kind="station",
            status="under_construction",
            district="迎泽区",
            precision="near",
            confidence="medium",
            source=f"OpenStreetMap {OSM_EAST_SQUARE_STATION} '太原站东广场' (Line 1 station under the east square of 太原站; {OSM_LICENCE}; {osm_stamp(osm)}); 中新网/新华社 2025-10: the new east station building of 太原站 started construction on 2025-10-15",
            source_url=f"https://www.openstreetmap.org/{OSM_EAST_SQUARE_STATION}",
            datum="WGS84",
            converted_from=None,
            note="No source gives a coordinate for the east building itself; it is being built on the east square (东广场) of 太原站, across the tracks from the old west building, linked underground to Metro Line 1. Placed at the OSM node of the 太原站东广场 metro station under that square, hence 'near' (within a few hundred metres). Until 2026-01 the entry used the zh.wikipedia 太原站 point (37.859717, 112.581822), 169 m west of this node on the west side of the tracks. Planned in the 2025 report ('启动…建设'); construction began 2025-10-15 (news reposted at http://blog.meiducn.com/article/7760405.shtml), completion planned H1 2027.",
        )
    )

    # ---------------- metro lines ----------------
    line1, line1_ids = osm_line(osm, "太原地铁1号线")
    feats.append(
        feature(
            line1,
            name="太原轨道交通1号线",
            aliases=["太原地铁1号线", "轨道交通1号线", "地铁1号线", "1号线", "1号线一期"],
            kind="metro_line",
            status="existing",
            district=None,
            precision="site",
            confidence="high",
            source=f"OpenStreetMap {', '.join(line1_ids)} (太原地铁1号线, railway=subway; {OSM_LICENCE}; {osm_stamp(osm)}). Route & opening: 山西省人民政府 2025-02-26 (opened 2025-02-22, 河龙湾—武宿1号2号航站楼, along 西矿街/迎泽大街/东中环/马练营路)",
            source_url=f"https://www.openstreetmap.org/{line1_ids[0]}",
            datum="WGS84",
            converted_from=None,
            note=f"The line as OSM maps it, 河龙湾 → 武宿1号2号航站楼 (and the tail track beyond it): the two track ways merged with shapely.line_merge and the second track (within 100 m) folded onto the first, so it is drawn once (geoplan.osm.merge_lines; {len(line1.coords)} vertices, 28.6 km on the WGS84 ellipsoid; official length 28.74 km). Replaces a 7-point chord through cited street addresses and stations (20.7 km, up to 1.1 km off the course, missing the western ~6 km to 河龙湾). Cross-check: the OSM station nodes of Line 1 lie on it.",
        )
    )
    phase2, phase2_azimuth = line1_phase2(osm)
    feats.append(
        feature(
            phase2,
            name="轨道交通1号线二期",
            aliases=["1号线二期", "太原轨道交通1号线二期", "地铁1号线二期"],
            kind="metro_line",
            status="planned",
            district="小店区",
            precision="estimated",
            confidence="low",
            source=f"Start and first 190 m: OpenStreetMap {OSM_T1T2_STATION} (武宿1号2号航站楼 station) and the tail track of Line 1 beyond it ({', '.join(line1_ids)}; {OSM_LICENCE}; {osm_stamp(osm)}); length 1.85 km: en.wikipedia Line 1 (Taiyuan Metro) ('The length of phase 2 is 1.85km'; Railway Gazette 2025-03-03: 1·9 km); direction: 'T3航站楼位于现有T2航站楼东侧' (wsxm.net 2023-05-15 '太原武宿国际机场T3航站楼项目开建'; wenxiaobai 2025-01-22)",
            source_url=f"https://www.openstreetmap.org/{OSM_T1T2_STATION}",
            datum="WGS84",
            converted_from=None,
            note=f"Derived line, not a surveyed alignment. Start = the OSM node of the 武宿1号2号航站楼 station, where phase 1 ends and phase 2 extends the line to the new 武宿3号航站楼 at T3. It follows Line 1's tail track beyond the station as OSM maps it (~190 m), then continues in the tail track's direction (azimuth {phase2_azimuth:.1f}°, east-south-east, consistent with the cited 'T3 east of T2') until the cited 1.85 km are reached (WGS84 geodesic). The end vertex is therefore an estimate of the T3 station, not a cited coordinate; the real tunnel may curve. Until 2026-01 the line started at the airport's reference point (ja.wikipedia 37.74694, 112.62833), ~980 m south of the station, and ran due east. Other sources: cavac.at copy of en.wikipedia https://cavac.at/cavacopedia/Line%201%20%28Taiyuan%20Metro%29 ; https://blob.wenxiaobai.com/article/181c1807-08c1-473d-6182-030a1b69ee4b ; 太原日报 2020 ('在 T3 航站楼前设置综合交通中心,引入太原轨道交通1号线').",
        )
    )
    line2, line2_ids = osm_line(osm, "太原轨道交通2号线")
    feats.append(
        feature(
            line2,
            name="太原轨道交通2号线",
            aliases=["太原地铁2号线", "轨道交通2号线", "地铁2号线", "2号线"],
            kind="metro_line",
            status="existing",
            district=None,
            precision="site",
            confidence="high",
            source=f"OpenStreetMap {', '.join(line2_ids)} (太原轨道交通2号线, railway=subway, open_date 2020-12-26; {OSM_LICENCE}; {osm_stamp(osm)}); cross-check: metromancn/MetroMapOpenMiniProgram src/data/ty.js (23 station coordinates, GCJ-02)",
            source_url=f"https://www.openstreetmap.org/{line2_ids[0]}",
            datum="WGS84",
            converted_from=None,
            note=f"The line as OSM maps it, 尖草坪 → 西桥: the six track ways merged with shapely.line_merge and the second track (within 100 m) folded onto the first (geoplan.osm.merge_lines; {len(line2.coords)} vertices, 23.3 km). Cross-check: 22 of the 23 metromancn station coordinates (GCJ-02→WGS84) lie within 35 m of it (median 5 m); their 西桥 lies 333 m south of the line's end, where OSM's own 西桥 station node is. Replaces the earlier polyline through those 23 stations. Opened 2020-12-26.",
        )
    )
    line3 = LineString([r6((p.x, p.y)) for p in (osm_point(osm, nid) for _, nid in OSM_LINE3_PLAN_STATIONS)])
    feats.append(
        feature(
            line3,
            name="轨道交通3号线一期",
            aliases=["3号线一期", "太原轨道交通3号线一期", "地铁3号线一期"],
            kind="metro_line",
            status="planned",
            district=None,
            precision="estimated",
            confidence="low",
            source=f"Route: 360百科 mirror '太原地铁3号线' (2017 plan 柴村—东峰, 25 stations: …吴家堡, 平阳路, 晋阳街, 军民南路, 坞城南路, 唐槐路站, 太原南站, 中心街东…; interchange with Line 2 at 晋阳街); vertices: OpenStreetMap station nodes {', '.join(f'{n} {i}' for n, i in OSM_LINE3_PLAN_STATIONS)} ({OSM_LICENCE}; {osm_stamp(osm)}; the four not on Line 1/2 are planned stations in OSM); status: 网易 2025 (awaiting approval, under re-study)",
            source_url="http://www.zhfaa.net/c-29-149174-0.html",
            datum="WGS84",
            converted_from=None,
            note="Only a partial, indicative segment of the 2017 plan: its 晋阳街 section, through the planned station nodes OSM has on it (吴家堡, 平阳路, 军民南路, 坞城南路), the Line 2 station 晋阳街 and the 太原南站 metro station, in the plan's order. It is NOT the phase-1 alignment, which is unpublished: the 2017 plan is reported as being re-studied (2025: '等待批复'), and a 2025 proposal to go back to '以前的方案走晋阳街' implies the current draft may not use 晋阳街 at all. OSM's other planned stations north of 吴家堡 (柴村 … 吴家堡北街, see geodata/osm/taiyuan-osm.geojson) are not joined here, because no source gives their order or line. The 唐槐路 station (between 坞城南路 and 太原南站) has no coordinate. Earlier entries drew 晋阳街 → 太原南站 only.",
        )
    )

    # ---------------- roads / river / bridge ----------------
    feats.append(
        feature(
            LineString(yingxi_wgs),
            name="迎泽西大街",
            aliases=["迎泽大街西段"],
            kind="road",
            status="existing",
            district="万柏林区",
            precision="estimated",
            confidence="medium",
            source="Course: Wikipedia (zh) 迎泽大街 (迎泽西大街 = the part west of the 汾河, from 迎泽大桥 west to 南寒/西机路). Vertices (GCJ-02→WGS84): iOS MapKit demo '太原市万柏林区迎泽西大街170' (37.8574521, 112.5035597); 晋商银行 branch dump: 迎泽西大街支行 '迎泽西大街创升科技大厦' (37.856972, 112.506615), 桥西支行 '晋祠路1号' (37.856373, 112.529610)",
            source_url="https://zh.wikipedia.org/wiki/%E8%BF%8E%E6%B3%BD%E8%A5%BF%E5%A4%A7%E8%A1%97",
            datum="GCJ-02",
            converted_from="GCJ-02",
            note="Polyline W→E through three cited addresses on the street, converted GCJ-02→WGS84 with geoplan.datum: 迎泽西大街170号 → 创升科技大厦 → 晋祠路1号 (the 晋祠路 corner just west of 迎泽大桥). The three points lie within ~110 m of one latitude (≈37.856), as expected for this straight E–W street. Covers ~2.3 km; the western part (170号 → 南寒/西机路, a few km) and the last few hundred metres to the bridgehead are not drawn for lack of cited points. The zh.wikipedia 太原理工大学 point (37.86046, 112.51603) is a campus point ~450 m north of the street, so it is not used as a vertex. District from 中国煤炭博物馆 '万柏林区迎泽西大街2号'.",
        )
    )
    feats.append(
        feature(
            Point(r6(gcj(*BANK_XINJIAN_GCJ))),
            name="新建路",
            aliases=["新建南路", "新建北路"],
            kind="road",
            status="existing",
            district=None,
            precision="near",
            confidence="medium",
            source="晋商银行 branch dump: 太原新建路支行 '山西省太原市新建南路115号工会大厦' 37.848461, 112.551689 (GCJ-02)",
            source_url=None,
            datum="GCJ-02",
            converted_from="GCJ-02",
            note="One cited address on the street (新建南路115号), converted GCJ-02→WGS84. 新建路 is a N–S street of several km (新建南路/新建北路), so this point only marks its southern part; a second cited point was not found (the same dump lists 太原市委 at '新建路81号' at 38.032, ~20 km north of the city centre, an obvious error, so it is not used). The address gives no district.",
        )
    )
    feats.append(
        feature(
            None,
            name="大运路",
            aliases=["大运路南延"],
            kind="road",
            status="under_construction",
            district=None,
            precision="district",
            confidence="low",
            source="高楼迷 forum 2025-05-20: '大运路南延打通:连接潇河新区和市区的主干道,目前施工中'",
            source_url="http://gaoloumi.cc/forum.php?goto=lastpost&mod=redirect&tid=3330364",
            datum="WGS84",
            converted_from=None,
            note="Not located: only known to be a trunk road whose southern extension ('打通') links the city with 潇河新区; no coordinates or district found.",
        )
    )
    feats.append(
        feature(
            fen_line(),
            name="汾河",
            aliases=["汾水"],
            kind="river",
            status="existing",
            district=None,
            precision="estimated",
            confidence="low",
            source="国家基础地理信息系统 1:400万 水系, layer hyd2_4l (二级河流), NAME '汾河' (HYD2_4M_ID 520), as shipped in the metdig 1.1.0.0 Python package: metdig/graphics/resources/shapefile/hyd2_4l.shp. Check point: Wikipedia (zh) 窦大夫祠 (汾河出峡口 at 上兰村, 38.01026, 112.43299)",
            source_url=HYD2_4L_URL,
            datum="WGS84",
            converted_from=None,
            note="Traced line from a 1:4,000,000 national data set (positional error of a few hundred metres up to ~1 km), not a survey of the channel. Extraction (extract_fen() in scripts/gazetteer_tools.py): all 13 '汾河' records merged, clipped to the Taiyuan city outline (geodata/boundaries/taiyuan.geojson) buffered by 2 km, Douglas-Peucker 0.0003° (≈30 m; max deviation 30 m), 6 decimals; 4 parts, 267 vertices, upstream → downstream: 娄烦 entry → 汾河水库 (the source draws two lines through the reservoir, both kept) → 古交 → 上兰 gorge mouth → city centre → 清徐 exit. Source coordinates are plain geographic lon/lat (no GCJ offset), used as WGS84 (a Beijing-1954 vs WGS84 difference would be far below the scale error). Checks: passes 77 m from the 窦大夫祠 point (gorge mouth, east bank) and 130 m from the 汾河水库 point; crosses Metro Line 1 / 迎泽西大街 at 112.5236, 37.8558, 35 m from the 晋祠路1号 west bridgehead of 迎泽大桥 — i.e. at the west edge of the bridge span. The AMap district edges that follow the river (geodata/boundaries) lie east of this line: 万柏林|迎泽 median 0.6 km (max 1.0 km), 万柏林|杏花岭 0.6 km, 万柏林|小店 1.5 km, 晋源|小店 median 1.5 km (max 4 km, where that edge may leave the river). So in the city the real channel is probably 0.5–1.5 km east of this line; hence confidence low: use it to draw the river, not to decide which bank a site is on. Read as GCJ-02 and converted, the same line would be 331 m / 526 m off those points, so no datum conversion is applied. A 1:1M GCJ-02 export (plantcatcher/gis-planetgis-src public/maps/cn-rivers/data/rivers.json) would be more detailed but its 汾河 feature could not be located in the 2.7 M-char file.",
        )
    )
    feats.append(
        feature(
            None,
            name="幸福桥",
            aliases=["汾河幸福桥"],
            kind="bridge",
            status="under_construction",
            district=None,
            precision="district",
            confidence="low",
            source="汾河幸福桥建设工程 news (承台 poured, 主拱支架 being erected)",
            source_url="http://cuixie.cn/29/15540.html",
            datum="WGS84",
            converted_from=None,
            note="Not located: a new bridge across the 汾河 in Taiyuan (so it joins two districts); no source found giving its position or the streets it connects.",
        )
    )

    # ---------------- springs / areas ----------------
    feats.append(
        feature(
            Point(r6(WIKI_JINCI)),
            name="晋祠泉",
            aliases=["难老泉", "晋泉", "晋祠泉群", "晋水"],
            kind="spring",
            status="existing",
            district="晋源区",
            precision="near",
            confidence="high",
            source="Wikipedia (en) Jinci: 'Coordinates: 37°42′28″N 112°26′33″E / 37.7079°N 112.4424°E', 'at the foot of Xuanweng Mountain at the Jin Springs'; 百科 晋祠泉: '位于…悬瓮山脚下晋祠内'",
            source_url="https://en.wikipedia.org/wiki/Jinci",
            datum="WGS84",
            converted_from=None,
            note="晋祠泉 (main outlet 难老泉, beside the 圣母殿) rises inside the 晋祠 temple grounds, so the Wikipedia coordinate of the temple complex is used; the outlet is within a few hundred metres of it, hence 'near'. Replaces the earlier 百科 arc-minute value (112°27′, 37°40′), which falls ~3 km south of the temple. Cross-check: waymarking.com 'N 37° 42.529 E 112° 26.076' (GPS, ~700 m west). Spring has been dry / is being restored ('稳定复流').",
        )
    )
    feats.append(
        feature(
            Point(r6(WIKI_DOUDAFU_CI)),
            name="兰村泉",
            aliases=["烈石寒泉", "上兰村泉"],
            kind="spring",
            status="existing",
            district="尖草坪区",
            precision="near",
            confidence="medium",
            source="Wikipedia (zh) 窦大夫祠: 38°00′37″N 112°25′59″E, 上兰村, 汾河东岸, '与景点冽石寒泉相邻'",
            source_url="https://zh.wikipedia.org/wiki/?oldid=80161263&title=%E7%AA%A6%E5%A4%A7%E5%A4%AB%E7%A5%A0",
            datum="WGS84",
            converted_from=None,
            note="兰村泉 is the spring group at 上兰村 where the 汾河 leaves the gorge; its historic outlet 烈石寒泉 is beside 窦大夫祠 (Wikipedia: '寒泉已涸'). Placed at the cited shrine coordinate (within a few hundred metres of the outlets).",
        )
    )
    feats.append(
        feature(
            buffer_polygon(WIKI_DOUDAFU_CI, 1500.0),
            name="老龙头区域",
            aliases=["老龙头", "老龙头景区", "汾河老龙头", "汾河景区五期"],
            kind="area",
            status="under_construction",
            district="尖草坪区",
            precision="estimated",
            confidence="low",
            source="美篇 2025-09-28 '初探汾河景区五期的老龙头景区' (净因寺, 冽石寒泉, 二龙山, 东眺中北大学); 汾河公园 intro ('往北延伸至中北大学老龙头景区'); centre = Wikipedia (zh) 窦大夫祠 38.01026, 112.43299",
            source_url="https://www.meipian.cn/5gky060q",
            datum="WGS84",
            converted_from=None,
            note="Derived polygon: a 1.5 km-radius circle (computed in UTM 49N, 32 vertices) around the cited 窦大夫祠 coordinate. Sources put 老龙头 at the 汾河 gorge mouth at 上兰村 next to 中北大学, 烈石寒泉 and 净因寺 (汾河老龙头区域生态治理工程, 一期/二期, near completion in 2025); the radius is a stated assumption, not a surveyed boundary.",
        )
    )
    feats.append(
        feature(
            None,
            name="西北部远郊百万亩生态屏障",
            aliases=["百万亩生态屏障", "西北部生态屏障"],
            kind="area",
            status="planned",
            district=None,
            precision="district",
            confidence="low",
            source="Report text only",
            source_url=None,
            datum="WGS84",
            converted_from=None,
            note="Not derived: no source found names the districts/counties it covers or gives an extent. It is an afforestation programme in the north-west outer suburbs (by the name plausibly parts of 古交市/阳曲县/娄烦县/尖草坪区/万柏林区 西山, but no source confirms which). Related older sources only describe general programmes (e.g. 娄烦 水源涵养林, 阳曲 水土保持林, 古交 采空沉陷区 restoration, 西山 城郊森林公园), not this barrier. Left unlocated rather than guessed; a polygon could be built later from named counties in geodata/boundaries/taiyuan.geojson once a source names them.",
        )
    )

    # ---------------- schools / universities / hospitals ----------------
    feats.append(
        feature(
            None,
            name="万柏林一中",
            aliases=["万柏林区第一中学", "太原市万柏林区第一中学"],
            kind="school",
            status="under_construction",
            district="万柏林区",
            precision="district",
            confidence="medium",
            source="Report text ('推动大东关小学、万柏林一中等18个新改扩建项目建成投用'); the name states the district",
            source_url=None,
            datum="WGS84",
            converted_from=None,
            note="District from the school's own name (万柏林区第一中学); no coordinate found. Listed as a new/rebuilt project to be completed in 2025.",
        )
    )
    feats.append(
        feature(
            None,
            name="大东关小学",
            aliases=["太原市大东关小学"],
            kind="school",
            status="under_construction",
            district=None,
            precision="district",
            confidence="low",
            source="Report text only",
            source_url=None,
            datum="WGS84",
            converted_from=None,
            note="Not located. Presumably near 大东关街 (old city, likely 杏花岭区 — estimate from general knowledge, not sourced), so district left null.",
        )
    )
    feats.append(
        feature(
            None,
            name="太原学院",
            aliases=["太原大学"],
            kind="university",
            status="existing",
            district=None,
            precision="district",
            confidence="low",
            source="scholarmate abstract: '学院位于太原教育园区中央,与太原经济技术开发区、高新技术开发区、晋中工业区和武宿综合保税区…相毗邻'",
            source_url="https://scholarmate.com/S/ImczBl",
            datum="WGS84",
            converted_from=None,
            note="Not located: sources place it in the 太原教育园区 on the Taiyuan–Jinzhong edge but give no coordinate or district.",
        )
    )
    feats.append(
        feature(
            None,
            name="太原卫生职业学院",
            aliases=[],
            kind="university",
            status="planned",
            district=None,
            precision="district",
            confidence="low",
            source="Report text only ('加快筹设太原卫生职业学院')",
            source_url=None,
            datum="WGS84",
            converted_from=None,
            note="Planned institution (being set up within the planned 职教园区); no site published in the sources found.",
        )
    )
    feats.append(
        feature(
            None,
            name="明德专门学校",
            aliases=["太原市明德专门学校"],
            kind="school",
            status="under_construction",
            district=None,
            precision="district",
            confidence="low",
            source="Report text only ('加快明德专门学校建设')",
            source_url=None,
            datum="WGS84",
            converted_from=None,
            note="Not located: no source gives its site.",
        )
    )
    feats.append(
        feature(
            None,
            name="太原市第二人民医院",
            aliases=["太原二院", "市二院"],
            kind="hospital",
            status="existing",
            district=None,
            precision="district",
            confidence="low",
            source="Report text only ('推动太原市第二人民医院建成安宁疗护中心')",
            source_url=None,
            datum="WGS84",
            converted_from=None,
            note="Not located: no source in the stored corpora gave its address or coordinate.",
        )
    )
    return feats


def sort_key(f):
    p = f["properties"]
    return (KIND_ORDER.index(p["kind"]), p["name"])


def dump(feats, path=OUT):
    feats = sorted(feats, key=sort_key)
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in feats]
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8")
    return len(feats)


def _decimals_ok(coords, maxd=7):
    if isinstance(coords, (int, float)):
        s = repr(float(coords))
        return len(s.split(".")[1]) <= maxd if "." in s else True
    return all(_decimals_ok(c, maxd) for c in coords)


def validate(path=OUT) -> list[str]:
    errs = []
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("type") != "FeatureCollection" or "crs" in data:
        errs.append("not a plain FeatureCollection")
    names = set()
    for f in data["features"]:
        p = f["properties"]
        n = p.get("name")
        if list(p.keys()) != KEYS:
            errs.append(f"{n}: property keys {list(p.keys())}")
        if n in names:
            errs.append(f"{n}: duplicate name")
        names.add(n)
        if not p.get("source"):
            errs.append(f"{n}: no source")
        if p["kind"] not in KIND_ORDER:
            errs.append(f"{n}: bad kind")
        if p["status"] not in ("existing", "planned", "under_construction"):
            errs.append(f"{n}: bad status")
        if p["precision"] not in ("site", "near", "estimated", "district"):
            errs.append(f"{n}: bad precision")
        if p["confidence"] not in ("high", "medium", "low"):
            errs.append(f"{n}: bad confidence")
        if p["datum"] not in ("WGS84", "GCJ-02", "BD-09") or p["converted_from"] not in (None, "GCJ-02", "BD-09"):
            errs.append(f"{n}: bad datum fields")
        g = f["geometry"]
        if g is None:
            if p["precision"] != "district":
                errs.append(f"{n}: null geometry but precision {p['precision']}")
            continue
        if p["precision"] == "district":
            errs.append(f"{n}: geometry present but precision district")
        geom = shape(g)
        if not geom.is_valid:
            errs.append(f"{n}: invalid geometry")
        x0, y0, x1, y1 = geom.bounds
        if x0 < BBOX[0] or y0 < BBOX[1] or x1 > BBOX[2] or y1 > BBOX[3]:
            errs.append(f"{n}: outside Taiyuan bbox {geom.bounds}")
        if not _decimals_ok(g["coordinates"]):
            errs.append(f"{n}: more than 7 decimals")
        if g["type"] == "Polygon":
            ring = g["coordinates"][0]
            if ring[0] != ring[-1]:
                errs.append(f"{n}: ring not closed")
            if not shapely.LinearRing(ring).is_ccw:
                errs.append(f"{n}: exterior ring not CCW")
    order = [sort_key({"properties": f["properties"]}) for f in data["features"]]
    if order != sorted(order):
        errs.append("features not sorted by kind then name")
    return errs


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "build"
    if cmd == "build":
        print(f"wrote {dump(build_features())} features to {OUT}")
        cmd = "validate"
    if cmd == "extract-fen":  # python scripts/gazetteer_tools.py extract-fen /path/to/hyd2_4l.shp
        parts = extract_fen(sys.argv[2])
        print(json.dumps(parts))
        print(
            "matches FEN_HYD2_4L" if parts == [list(pt) for pt in FEN_HYD2_4L] else "DIFFERS from FEN_HYD2_4L",
            file=sys.stderr,
        )
        sys.exit(0)
    if cmd == "validate":
        problems = validate()
        data = json.loads(OUT.read_text(encoding="utf-8"))
        for f in data["features"]:
            p, g = f["properties"], f["geometry"]
            print(
                f"{p['kind']:<10} {p['name']:<14} {(g or {}).get('type', 'null'):<10} {p['precision']:<9} {p['confidence']}"
            )
        print("VALID" if not problems else "PROBLEMS:\n  " + "\n  ".join(problems))
        sys.exit(1 if problems else 0)
