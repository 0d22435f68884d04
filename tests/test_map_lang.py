"""The app's map in both languages and its layers by URL (issues #13, #14).

A language switch used to build and reload the whole map (1.1-2.2 s, bench/README.md): the app's map now
carries both languages' words and the view says which to show (geoplan.setLang, tests/js). Its layers are
served once as a JSON file and fetched by the map's script, so a rerun no longer re-sends them.
"""

from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

from geoplan.maps import LABELS, band_scripts, build_map, layers_json, map_data, map_html, map_view
from geoplan.vocab import domain_gloss

from test_app import _app, _map_args
from test_maps import overlay_names

SPAN = re.compile(r'<span class="gp-l-(zh|en)">([^<]*)</span>')


def _spans(text: str) -> dict[str, list[str]]:
    """Each language's texts in a page, wherever they are (JSON in scripts writes < > " as escapes)."""
    text = text.replace("\\u003c", "<").replace("\\u003e", ">").replace('\\"', '"')
    out: dict[str, list[str]] = {"zh": [], "en": []}
    for lang, words in SPAN.findall(text):
        out[lang].append(words)
    return out


def test_a_bilingual_map_carries_both_languages_words_and_shows_one(gdf, gaz):
    page = map_html(build_map(gdf, gazetteer=gaz, show_boundaries=True, search=True, bilingual=True))
    spans = _spans(page + "".join(overlay_names(page)))  # the layer control's names are JSON-escaped
    for key in ("legend", "site", "approx", "district_area", "planned_line", "estimated_line", "boundaries"):
        assert LABELS["zh"][key] in spans["zh"] and LABELS["en"][key] in spans["en"], key
    assert "小店区" in spans["zh"] and "Xiaodian District" in spans["en"]  # the district labels
    # The domains (legend and layer control) keep the report's word, glossed in English; popups say it too.
    assert "民生" in spans["zh"] and any(t.startswith("民生 · People") for t in spans["en"])
    assert spans["en"].count("环境 · Environment") == 2 and spans["zh"].count("环境") == 2
    # The layers' options and the find box carry both languages' words; the zh ones are shown first.
    options = json.loads(re.search(r"geoplan\.layer\(\{.*?\}, (\{.*?\})\);", page, re.S)[1])
    assert options["lang"] == "zh" and options["labels"] == LABELS["zh"]
    assert options["domain_en"] == f"{options['domain']} · {domain_gloss(options['domain'])}"
    assert options["i18n"]["en"]["labels"] == LABELS["en"]
    assert (
        options["i18n"]["en"]["status_labels"]["under_construction"] != options["status_labels"]["under_construction"]
    )
    assert re.search(
        r'geoplan\.search\(\w+, \{"search":"在地图上查找".*?\}, \{"zh":.*"en":\{"search":"Find on the map"', page
    )
    assert '"locateI18n":' in page and "Show my location" in page


def test_a_standalone_map_stays_in_one_language(gdf, gaz):
    page = map_html(build_map(gdf, lang="en", gazetteer=gaz, show_boundaries=True, search=True))
    assert _spans(page) == {"zh": [], "en": []} and '"i18n":{' not in page and '"locateI18n":' not in page
    assert "District boundaries" in overlay_names(page) and "区县边界" not in page
    assert "民生 · People&#x27;s wellbeing" in overlay_names(page) and '"domain_en":' in page
    zh = map_html(build_map(gdf, lang="zh"))
    assert "民生" in overlay_names(zh) and "wellbeing" not in zh and '"domain_en":' not in zh


def test_the_view_says_which_language_to_show(gdf):
    assert map_view(gdf, gdf, lang="en").state == {"fids": None, "selected": None, "key": "all", "lang": "en"}
    assert "lang" not in map_view(gdf, gdf).state  # a one-language page's view is as before


def test_a_map_with_a_data_url_fetches_its_layers_instead_of_carrying_them(gdf):
    data = map_data(gdf)
    inline = map_html(build_map(gdf, data=data))
    fetched = map_html(build_map(gdf, data=data, data_url="../../media/abc.json"))
    calls = re.findall(r"geoplan\.layer\((\{\"url\":\"[^\"]*\",\"i\":\d+\}), ", fetched)
    assert [json.loads(c) for c in calls] == [{"url": "../../media/abc.json", "i": i} for i in range(len(data.layers))]
    assert (
        "迎泽西大街" in inline
        and "迎泽西大街" not in fetched
        and len(fetched) < len(inline) - sum(len(d) for *_x, d in data.layers) + 2000
    )
    doc = json.loads(layers_json(data))
    assert [d["features"] for d in doc["layers"]] == [json.loads(d)["features"] for _d, _c, d in data.layers]
    assert doc["bands"] == doc["props"] == [None] * len(data.layers)  # the shipped report needs no zoom bands
    assert "</script>" not in layers_json(data).decode()  # js_json's escapes: the same bytes as in a page


def test_a_banded_layer_by_url_has_its_bands_and_properties_in_the_file_not_the_page(monkeypatch, gdf):
    import geoplan.maps as maps

    monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 10)  # band every layer of the shipped report
    data = map_data(gdf, lod=True)
    page = map_html(build_map(gdf, data=data, data_url="layers.json"))
    doc = json.loads(layers_json(data))
    banded = [i for i, b in enumerate(data.bands) if b]
    assert banded and all(len(doc["bands"][i]) == len(maps.DRAW_BANDS) - 1 for i in banded)
    assert all(isinstance(doc["props"][i], list) for i in banded)
    assert '"zooms":[11,14]' in page and "_band1" not in page and 'type="application/json"' not in page
    # Served apart (the app does), the file names each band's and the properties' script instead.
    scripts = dict(band_scripts(data))
    urls = {i: f"../../media/{i}.js" for i in scripts}
    ref = json.loads(layers_json(data, urls))
    i = banded[0]
    assert ref["bands"][i] == [{"id": f"gp{i}_band{k}", "src": f"../../media/gp{i}_band{k}.js"} for k in (1, 2)]
    assert ref["props"][i] == {"id": f"gp{i}_props", "src": f"../../media/gp{i}_props.js"}
    assert ref["layers"] == doc["layers"]
    band = scripts[f"gp{i}_band1"]
    assert band.startswith(f'geoplan.band("gp{i}_band1",[') and json.loads(
        band[band.index(",") + 1 : -3]
    ) == json.loads("[" + data.bands[i][0][1:-1] + "]")


def test_a_small_report_keeps_its_layers_in_the_script():
    """One more request on first load cost more than the shipped report's 63 kB in each rerun (bench/README.md)."""
    args = _map_args(_app())
    assert "迎泽西大街" in args["script"] and '"url":' not in args["script"]


def test_the_app_sends_a_small_script_that_names_the_layers_file_and_keeps_it_across_languages(gdf, monkeypatch):
    monkeypatch.setenv("GEOPLAN_MAP_INLINE_BYTES", "0")  # the shipped report by URL, as a large one
    at = _app()
    args = _map_args(at)
    urls = set(re.findall(r'"url":"(\.\./\.\./[^"]+)"', args["script"]))
    assert len(urls) == 1 and next(iter(urls)).endswith(".json")  # one file for every layer, by content hash
    assert "迎泽西大街" not in args["script"] and len(args["script"]) < 150_000
    at.radio(key="lang").set_value("en").run()
    assert not at.exception
    after = _map_args(at)
    assert after["script"] == args["script"] and '"lang":"en"' in after["feature_group"]
    at.radio(key="lang").set_value("zh").run()
    assert '"lang":"zh"' in _map_args(at)["feature_group"]


def _layers_app() -> None:
    import geopandas as gpd
    import streamlit as st

    from geoplan.app.data import layer_data_url

    gdf = gpd.read_file(st.session_state.get("path", "")) if st.session_state.get("path") else None
    st.write(layer_data_url("k", "osm", gdf) if gdf is not None else "none")


def test_the_layers_file_is_registered_with_streamlit_and_named_by_its_content(tmp_path, gdf, monkeypatch):
    monkeypatch.setenv("GEOPLAN_MAP_INLINE_BYTES", "0")
    path = tmp_path / "f.geojson"
    gdf.to_file(path, driver="GeoJSON")
    at = AppTest.from_function(_layers_app, default_timeout=60)
    at.session_state["path"] = str(path)
    at.run()
    assert not at.exception
    url = at.markdown[0].value
    assert re.fullmatch(r"\.\./\.\./mock/media/[0-9a-f]+\.json", url), url
    monkeypatch.setenv("GEOPLAN_MAP_INLINE_BYTES", "1000000")
    assert at.run().markdown[0].value == "`None`"  # small enough for the script (st.write(None))
