"""The map's controls on any screen, without a browser: folded layer list and legend, resident words in the
popup data, Leaflet.draw in Chinese (tests/test_browser.py checks the same on a phone-sized screen)."""

from __future__ import annotations

import json
import re

from geoplan.map_ui import LAYERS_OPEN, MapUI
from geoplan.maps import build_map, map_data, map_html


def _places(gdf) -> list[dict]:
    return [f["properties"] for _d, _c, doc in map_data(gdf).layers for f in json.loads(doc)["features"]]


def test_layer_list_folds_on_a_small_map_and_legend_is_a_one_line_control(gdf, gaz):
    html = map_html(build_map(gdf, gazetteer=gaz))
    w, h = LAYERS_OPEN
    # folium writes the option as code: the browser decides from the map window's size.
    assert re.search(rf'"collapsed":\s*!\(window\.innerWidth >= {w} && window\.innerHeight >= {h}\)', html)
    assert '\\u003cdetails class=\\"gp-legend\\"\\u003e\\u003csummary\\u003e\\u003cb\\u003e图例' in html
    assert "geoplanUI.setup(" in html and ".gp-popup-open .leaflet-control" in html


def test_ui_script_runs_before_the_draw_toolbar(gdf, gaz):
    html = map_html(build_map(gdf, gazetteer=gaz, draw=True))
    assert html.index('geoplanUI.locale("zh")') < html.index("new L.Control.Draw(")
    assert "放置标记" in html  # "Draw a marker" in Chinese
    assert html.count("window.geoplanUI = window.geoplanUI ||") == 1
    assert isinstance(MapUI("en").lang, str)


def test_popup_data_speaks_to_residents(gdf):
    places = _places(gdf)
    by_precision = {}
    for p in places:
        by_precision.setdefault(p["precision"], []).append(p)
    # The shipped report has stations and springs placed approximately: not "附近（25公里内）".
    assert {p["precision_zh"] for p in by_precision["near"]} == {"大致位置"}
    assert {p["precision_en"] for p in by_precision["near"]} == {"approximate location"}
    for p in by_precision["district"]:
        assert p["precision_zh"] == f"位于{p['district']}"
        assert p["precision_en"].startswith("in ") and p["district_en"] in p["precision_en"]
        assert not re.search(r"[\u4e00-\u9fff]", p["district_en"])
    # The IATI code stays in the data for planners; the page shows it only in draw (planner) mode.
    assert all("precision_code" in p for p in places)
    assert '"planner":false' in map_html(build_map(gdf)).replace(" ", "")
    assert '"planner":true' in map_html(build_map(gdf, draw=True)).replace(" ", "")


def test_english_map_gets_english_statuses(gdf):
    html = map_html(build_map(gdf, lang="en"))
    assert '"completing":"to be completed"' in html
