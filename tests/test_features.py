"""Geocoding the shipped report: the brief's places, geometry sanity, RFC 7946, determinism."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import shapely
from shapely.geometry import shape

from geoplan.errors import ValidationError
from geoplan.features import (
    COLUMNS,
    check_rfc7946,
    dumps_geojson,
    features_from_geojson,
    features_from_path,
    features_from_report,
    features_to_geojson,
    validate_geojson,
)
from geoplan.parse import report_from_path, report_from_text

from conftest import REPORT, ROOT

SHIPPED = ROOT / "geodata" / "taiyuan-2025.geojson"


def _row(gdf, name):
    rows = gdf[gdf["name"] == name]
    assert len(rows) >= 1, name
    return rows.iloc[0]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("迎泽西大街", "line"),
        ("太原火车站东站房", "point"),
        ("轨道交通1号线二期", "line"),
        ("老龙头区域", "area"),
        ("晋祠泉", "point"),
    ],
)
def test_brief_places_are_located_as_what_they_are(gdf, name, kind):
    row = _row(gdf, name)
    assert row["geometry_kind"] == kind
    assert row["precision"] in ("site", "near", "estimated")
    assert row["source"] and row["confidence"] in ("high", "medium", "low")


def test_one_item_many_places_share_the_item_id(gdf):
    rows = gdf[gdf["text"].str.contains("迎泽西大街")]
    assert rows["item_id"].nunique() == 1
    assert {"迎泽西大街", "新建路", "太原火车站东站房", "幸福桥", "大运路"} <= set(rows["name"])
    assert rows["fid"].is_unique


def test_clause_status_per_place(gdf):
    assert _row(gdf, "太原火车站东站房")["status"] == "starting"
    assert _row(gdf, "迎泽西大街")["status"] == "under_construction"
    assert _row(gdf, "轨道交通1号线二期")["status"] == "preparatory"


def test_nothing_is_lost(gdf):
    report = report_from_path(REPORT)
    assert set(gdf["item_id"]) == {it.id for it in report.items}
    placeless = gdf[gdf.geometry.isna()]
    assert set(placeless["precision"]) <= {"city", "unlocated"}
    # City-wide policy: no place named, nothing place-like either.
    health = gdf[gdf["text"].str.contains("乡镇卫生院")].iloc[0]
    assert health["precision"] == "city" and health.geometry is None
    # Names a facility the gazetteer lacks: unlocated, and the name is listed.
    care = gdf[gdf["text"].str.contains("社会康养中心")].iloc[0]
    assert care["precision"] == "unlocated" and "社会康养中心" in care["unresolved"]


def test_district_level_places(gdf, gaz):
    school = _row(gdf, "万柏林一中")
    assert school["precision"] == "district" and school["precision_code"] == 3
    assert school["district"] == "万柏林区"
    assert school.geometry.equals(gaz["万柏林区"].geometry)
    counties = set(gdf[gdf["text"].str.contains("古交")]["name"])
    assert counties == {"古交市", "阳曲县", "娄烦县"}


def test_every_feature_carries_its_provenance(gdf):
    assert list(gdf.columns[:-1]) == list(COLUMNS)
    located = gdf[gdf.geometry.notna()]
    for col in (
        "item_id",
        "domain",
        "text",
        "name",
        "place_kind",
        "geometry_kind",
        "precision",
        "source",
        "confidence",
        "datum",
    ):
        assert located[col].notna().all(), col
    assert (gdf["precision_code"].dropna().isin([1, 2, 3, 5])).all()


def test_geometry_sanity(gdf, gaz):
    area = gaz.city_area
    assert area is not None
    for row in gdf[gdf.geometry.notna()].itertuples():
        g = row.geometry
        assert g.is_valid, row.name
        assert area.contains(g), row.name
        if row.geometry_kind == "line":
            assert g.length > 0.001, row.name
        if row.geometry_kind == "area":
            assert g.area > 1e-5, row.name


def test_geojson_is_rfc7946(gdf):
    doc = features_to_geojson(gdf)
    assert check_rfc7946(doc) == []
    assert "crs" not in doc
    text = dumps_geojson(doc)
    for num in __import__("re").findall(r"-?\d+\.\d+", text.split('"features"')[1]):
        assert len(num.split(".")[1]) <= 7
    placeless = [f for f in doc["features"] if f["geometry"] is None]
    assert placeless and all(f["properties"]["precision"] in ("city", "unlocated") for f in placeless)


def test_rfc7946_check_finds_problems():
    ring_cw = [[112.5, 37.8], [112.5, 37.9], [112.6, 37.9], [112.5, 37.8]]
    bad = {
        "type": "FeatureCollection",
        "crs": {},
        "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring_cw]}},
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [212.5, 37.8]}},
            {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring_cw[:3]]}},
        ],
    }
    problems = " | ".join(check_rfc7946(bad))
    assert "crs" in problems and "right-hand rule" in problems and "lon/lat range" in problems
    assert "not closed" in problems
    with pytest.raises(ValidationError):
        validate_geojson(bad)


def test_build_is_deterministic_and_round_trips(gdf, gaz):
    again = features_from_report(report_from_path(REPORT), gazetteer=gaz)
    a, b = dumps_geojson(features_to_geojson(gdf)), dumps_geojson(features_to_geojson(again))
    assert a == b
    back = features_from_geojson(json.loads(a))
    assert dumps_geojson(features_to_geojson(back)) == a


def test_shipped_geojson_matches_a_fresh_build(gdf):
    assert SHIPPED.exists(), "run `make build`"
    assert SHIPPED.read_text(encoding="utf-8") == dumps_geojson(features_to_geojson(gdf)), "run `make build`"


def test_features_from_path_reads_text_and_geojson(gdf):
    from_geojson = features_from_path(SHIPPED)
    assert list(from_geojson["fid"]) == list(gdf["fid"])
    assert from_geojson.attrs["report"]["domains"][0] == "主要预期目标"


def test_generated_report_links_every_gazetteer_name(gaz):
    """Every located gazetteer entry, named in a new sentence, becomes its own feature."""
    names = [e.name for e in gaz.entries if e.kind != "city"]
    lines = ["关键词:测试"] + [f"◆加快推进{n}相关工作。" for n in names]
    gdf = features_from_report(report_from_text("\n".join(lines), source="generated"), gazetteer=gaz)
    assert sorted(gdf["name"]) == sorted(names)


def test_cli_build(tmp_path):
    out = tmp_path / "out.geojson"
    res = subprocess.run(
        [sys.executable, "-m", "geoplan.cli", "build", str(REPORT), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "39 items" in res.stderr
    doc = json.loads(out.read_text("utf-8"))
    assert check_rfc7946(doc) == []
    assert all(shape(f["geometry"]).is_valid for f in doc["features"] if f["geometry"])
    assert shapely.total_bounds([shape(f["geometry"]) for f in doc["features"] if f["geometry"]])[0] > 111
