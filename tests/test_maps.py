"""The folium map without a browser: layers, data, basemaps, legend, assets (folium's own test style)."""

from __future__ import annotations

import json
import re

import pytest
from shapely.geometry import shape

from geoplan.datum import convert_coords
from geoplan.features import features_from_path
from geoplan.gazetteer import load_gazetteer
from geoplan.maps import build_map, map_html
from geoplan.offline import assert_no_cdn, localize

from conftest import REPORT


@pytest.fixture(scope="module")
def gaz():
    return load_gazetteer()


@pytest.fixture(scope="module")
def gdf(gaz):
    return features_from_path(REPORT, gazetteer=gaz)


def _layers(html: str) -> list[tuple[dict, dict]]:
    """(data, options) of every domain layer in the page."""
    dec = json.JSONDecoder()
    out = []
    for m in re.finditer(r"geoplan\.layer\(", html):
        data, end = dec.raw_decode(html, m.end())
        opts, _ = dec.raw_decode(html, end + 2)  # after ", "
        out.append((data, opts))
    return out


def test_one_geojson_layer_per_domain_with_located_features(gdf, gaz):
    html = map_html(build_map(gdf, gazetteer=gaz))
    layers = _layers(html)
    located = gdf[gdf.geometry.notna()]
    assert [o["color"] for _d, o in layers] and len({o["color"] for _d, o in layers}) == len(layers)
    domains = [d["features"][0]["properties"]["domain"] for d, _o in layers]
    assert domains == list(dict.fromkeys(located["domain"]))
    assert sum(len(d["features"]) for d, _o in layers) == len(located)
    assert html.count("L.marker(") <= 2  # inside GEOPLAN_JS only: no Marker per feature
    for name in domains:
        assert f'"{name}"' in html or json.dumps(name) in html


def test_city_wide_items_are_not_drawn_but_listed(gdf, gaz):
    html = map_html(build_map(gdf, gazetteer=gaz, list_unplaced=True))
    drawn = {f["properties"]["fid"] for d, _o in _layers(html) for f in d["features"]}
    placeless = gdf[gdf.geometry.isna()]
    assert drawn.isdisjoint(placeless["fid"])
    assert f"({placeless['item_id'].nunique()})" in html


def test_filtered_frame_gives_fewer_layers(gdf, gaz):
    only = gdf[gdf["domain"] == "环境"]
    layers = _layers(map_html(build_map(only, gazetteer=gaz)))
    assert len(layers) == 1 and layers[0][1]["color"] == _layers(map_html(build_map(gdf, gazetteer=gaz)))[1][1]["color"]


def test_amap_basemap_shifts_data_to_gcj02(gdf, gaz):
    wgs = {f["properties"]["fid"]: f for d, _o in _layers(map_html(build_map(gdf))) for f in d["features"]}
    gcj = {f["properties"]["fid"]: f for d, _o in _layers(map_html(build_map(gdf, basemap="amap")))
           for f in d["features"]}
    fid, feat = next((k, v) for k, v in wgs.items() if v["geometry"]["type"] == "Point")
    lon, lat = feat["geometry"]["coordinates"]
    assert gcj[fid]["geometry"]["coordinates"] == pytest.approx(list(convert_coords(lon, lat, src="WGS84",
                                                                                    dst="GCJ-02")), abs=1e-6)
    assert shape(gcj[fid]["geometry"]).distance(shape(feat["geometry"])) > 0.003  # ~500 m east


def test_basemaps_legend_boundaries_and_draw(gdf, gaz):
    html = map_html(build_map(gdf, gazetteer=gaz, show_boundaries=True, draw=True, lang="en"))
    assert "tile.openstreetmap.org" in html and "cartocdn.com/light_all" in html
    assert "District boundaries" in html and "Legend" in html
    assert "L.Control.Draw" in html or "new L.Control.Draw" in html or "drawControl" in html
    assert "autonavi" in map_html(build_map(gdf, basemap="amap"))


def test_fit_bounds_covers_what_is_shown(gdf, gaz):
    html = map_html(build_map(gdf[gdf["domain"] == "环境"], gazetteer=gaz))
    m = re.search(r"fitBounds\(\s*\[\[([\d.]+), ([\d.]+)\], \[([\d.]+), ([\d.]+)\]\]", html)
    assert m
    s, w, n, e = map(float, m.groups())
    assert 37.6 < s < n < 38.1 and 112.3 < w < e < 112.7


def test_localized_pages_reference_no_cdn(gdf, gaz):
    inline = build_map(gdf, gazetteer=gaz, show_boundaries=True, draw=True)
    localize(inline, mode="inline")
    page = map_html(inline)
    assert_no_cdn(page)
    assert "L.version" in page or "Leaflet" in page
    static = build_map(gdf, gazetteer=gaz)
    localize(static, mode="static")
    srcs = re.findall(r'<script src="([^"]+)"', map_html(static))
    assert srcs and all("app/static/vendor/" in s for s in srcs)
