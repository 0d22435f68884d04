"""The folium map without a browser: layers, data, basemaps, legend, assets (folium's own test style)."""

from __future__ import annotations

import copy
import json
import re

import pytest
from shapely.geometry import shape

from geoplan.datum import convert_coords
from geoplan.features import features_from_path, features_from_report
from geoplan.maps import build_map, map_html
from geoplan.offline import assert_no_cdn, localize
from conftest import NoFork, NoSemaphores, dying_worker


def _layers(html: str, page: str | None = None) -> list[tuple[dict, dict]]:
    """(data, options) of every domain layer in the page (``html``, or a part of ``page``)."""
    dec = json.JSONDecoder()
    out = []
    block = re.compile(r'JSON\.parse\(document\.getElementById\("([^"]+)"\)\.textContent\)')
    for m in re.finditer(r"geoplan\.layer\(", html):
        if ref := block.match(html, m.end()):  # a banded layer's features in a JSON block (DomainLayer.data_block)
            whole = html if page is None else page
            start = whole.index(f'<script type="application/json" id="{ref.group(1)}">')
            data, _ = dec.raw_decode(whole, whole.index(">", start) + 1)
            end = ref.end()
        else:
            data, end = dec.raw_decode(html, m.end())
        opts, _ = dec.raw_decode(html, end + 2)  # after ", "
        out.append((data, opts))
    return out


def _drawn_items(html: str) -> dict[str, dict]:
    """fid -> the feature drawn for it (one feature carries every item naming its place)."""
    return {it["fid"]: f for d, _o in _layers(html) for f in d["features"] for it in f["properties"]["items"]}


def test_one_geojson_layer_per_domain_with_located_features(gdf, gaz):
    html = map_html(build_map(gdf, gazetteer=gaz))
    layers = _layers(html)
    located = gdf[gdf.geometry.notna()]
    assert [o["color"] for _d, o in layers] and len({o["color"] for _d, o in layers}) == len(layers)
    domains = [d["features"][0]["properties"]["domain"] for d, _o in layers]
    assert domains == list(dict.fromkeys(located["domain"]))
    assert sorted(_drawn_items(html)) == sorted(located["fid"])
    assert html.count("L.marker(") <= 2  # inside geoplan.js only: no Marker per feature
    for name in domains:
        assert f'"{name}"' in html or json.dumps(name) in html


def test_city_wide_items_are_not_drawn_but_listed(gdf, gaz):
    html = map_html(build_map(gdf, gazetteer=gaz, list_unplaced=True))
    drawn = set(_drawn_items(html))
    placeless = gdf[gdf.geometry.isna()]
    assert drawn.isdisjoint(placeless["fid"])
    assert f"({placeless['item_id'].nunique()})" in html


def test_filtered_frame_gives_fewer_layers(gdf, gaz):
    only = gdf[gdf["domain"] == "环境"]
    layers = _layers(map_html(build_map(only, gazetteer=gaz)))
    assert len(layers) == 1 and layers[0][1]["color"] == _layers(map_html(build_map(gdf, gazetteer=gaz)))[1][1]["color"]


def test_amap_basemap_shifts_data_to_gcj02(gdf, gaz):
    wgs = _drawn_items(map_html(build_map(gdf)))
    gcj = _drawn_items(map_html(build_map(gdf, basemap="amap")))
    fid, feat = next((k, v) for k, v in wgs.items() if v["geometry"]["type"] == "Point")
    lon, lat = feat["geometry"]["coordinates"]
    assert gcj[fid]["geometry"]["coordinates"] == pytest.approx(
        list(convert_coords(lon, lat, src="WGS84", dst="GCJ-02")), abs=1e-6
    )
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


def _fit(html: str) -> tuple[float, float, float, float]:
    m = re.search(r"fitBounds\(\s*\[\[([\d.]+), ([\d.]+)\], \[([\d.]+), ([\d.]+)\]\]", html)
    assert m
    return tuple(map(float, m.groups()))  # type: ignore[return-value]


def test_view_fits_sites_and_lines_not_county_areas(gdf, gaz):
    counties = gdf[gdf["precision"] == "district"]
    assert counties["name"].nunique() >= 3  # 古交市, 阳曲县, 娄烦县 … drawn as faint areas
    s, w, n, e = _fit(map_html(build_map(gdf, gazetteer=gaz)))
    assert 112.3 < w < e < 112.8 and 37.6 < s < n < 38.05  # the city's sites, not the whole municipality
    s, w, n, e = _fit(map_html(build_map(counties, gazetteer=gaz)))
    assert w < 111.8 and n > 38.2  # only areas shown: fit to them


def test_localized_pages_reference_no_cdn(gdf, gaz):
    inline = build_map(gdf, gazetteer=gaz, show_boundaries=True, draw=True)
    localize(inline, mode="inline")
    page = map_html(inline)
    assert_no_cdn(page)
    assert "L.version" in page or "Leaflet" in page
    static = build_map(gdf, gazetteer=gaz)
    localize(static, mode="static")
    srcs = re.findall(r'<script src="([^"]+)"', map_html(static))
    assert srcs.index("../../app/static/geoplan.js") > srcs.index("../../app/static/vendor/leaflet/leaflet.js")
    own = ("../../app/static/geoplan.js", "../../app/static/supercluster.min.js")
    assert srcs.index(own[1]) < srcs.index(own[0])  # the point index geoplan.js clusters banded layers with
    assert all(s.startswith("../../app/static/vendor/") for s in srcs if s not in own)


REPEATS = """关键词:环境
□生态修复
◆推动晋祠泉稳定复流。
◆保护晋祠泉水源地。
◆开展晋祠泉周边整治。
关键词:民生
□文化
◆建设晋祠泉博物馆。
◆推动兰村泉复流。
"""


def test_a_place_named_by_several_items_is_drawn_once_per_domain(gaz):
    from geoplan.maps import map_data
    from geoplan.parse import report_from_text

    gdf = features_from_report(report_from_text(REPEATS, source="repeats.txt"), gazetteer=gaz)
    data = map_data(gdf)
    by_domain = {d: json.loads(doc)["features"] for d, _c, doc in data.layers}
    springs = {d: [f for f in fs if f["properties"]["name"] == "晋祠泉"] for d, fs in by_domain.items()}
    assert [len(v) for v in springs.values()] == [1, 1]  # one shape per (domain, place)
    env = springs["环境"][0]["properties"]
    assert [it["text"] for it in env["items"]] == ["推动晋祠泉稳定复流。", "保护晋祠泉水源地。", "开展晋祠泉周边整治。"]
    assert {"fid", "item_id", "section", "status", "text", "matched"} <= set(env["items"][0])
    assert "text" not in env and env["precision"] == "near"  # item fields live in items, place fields once
    located = gdf[gdf.geometry.notna()]
    assert data.items == len(located) == 5 and data.shapes == 3
    assert sorted(it["fid"] for fs in by_domain.values() for f in fs for it in f["properties"]["items"]) == sorted(
        located["fid"]
    )


def test_a_corrected_item_is_its_own_shape(gaz):
    from shapely.geometry import Point

    from geoplan.corrections import Correction, apply_corrections
    from geoplan.maps import map_data
    from geoplan.parse import report_from_text

    gdf = features_from_report(report_from_text(REPEATS, source="repeats.txt"), gazetteer=gaz)
    item = gdf.loc[gdf["text"] == "保护晋祠泉水源地。", "item_id"].iloc[0]
    fix = Correction(
        id=1,
        item_id=item,
        place="晋祠泉",
        geometry=Point(112.44, 37.71),
        previous=None,
        note="水源地在上游",
        author="t",
        created_at="2025-03-01T00:00:00+00:00",
    )
    corrected, left = apply_corrections(gdf, [fix], gazetteer=gaz)
    assert left == []
    env = json.loads(dict((d, doc) for d, _c, doc in map_data(corrected).layers)["环境"])["features"]
    springs = sorted(
        (f["properties"]["precision"], len(f["properties"]["items"]))
        for f in env
        if f["properties"]["name"] == "晋祠泉"
    )
    assert springs == [("corrected", 1), ("near", 2)]


def test_map_view_sends_only_what_changes(gdf):
    from geoplan.maps import map_view

    assert map_view(gdf, gdf).state == {"fids": None, "selected": None, "key": "all"}
    env = gdf[gdf["domain"] == "环境"]
    view = map_view(env, gdf, selected=env["fid"].iloc[0])
    assert sorted(view.state["fids"]) == sorted(env.loc[env.geometry.notna(), "fid"])
    assert view.state["selected"] == env["fid"].iloc[0]
    assert view.state["key"] == map_view(env.iloc[::-1], gdf).state["key"] != "all"  # order does not matter
    assert map_view(gdf[gdf["domain"] == "民生"], gdf).state["key"] != view.state["key"]


def _node(script: str, payload: object) -> object:
    from conftest import run_node

    return run_node(script, payload)


def test_popup_lists_the_items_of_a_place_selected_first_and_caps_the_list():
    from geoplan.maps import LABELS

    items = [
        {
            "fid": f"f{i}",
            "text": f"第{i}项：建设晋祠泉公园",
            "matched": "晋祠泉",
            "status_zh": "新建",
            "section": "生态",
        }
        for i in range(25)
    ]
    out = _node(
        """
const {labels, items} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const o = {labels: labels, lang: "zh", status_en: {}, glyphs: {}};
const p = {name: "晋祠泉", domain: "环境", precision_zh: "精确地点"};
const e = {p: p, o: o, items: items, shown: items.slice(0, 3)};
const few = window.geoplan.popup(e), tip3 = window.geoplan.tooltip(e);
e.shown = items;
console.log(JSON.stringify({few: few, tip3: tip3, many: window.geoplan.popup(e), tip: window.geoplan.tooltip(e)}));
""",
        {"labels": LABELS["zh"], "items": items},
    )
    assert out["few"].count("<li") == 3 and out["few"].count("<mark>晋祠泉</mark>") == 3
    assert "3 项事项" in out["few"] and out["tip3"] == "晋祠泉 (3)"
    assert out["many"].count("<li") == 20 and "另有 5 项，见事项表" in out["many"] and out["tip"] == "晋祠泉 (25)"


@pytest.mark.browser
def test_standalone_page_search_filters_the_map_in_place(tmp_path):
    """``geoplan map`` pages carry a search box: typing hides the items that do not match, in place."""
    from browser_support import launch, playwright_api

    from geoplan import cli

    report = tmp_path / "repeats.txt"
    report.write_text(REPEATS, encoding="utf-8")
    page_file = tmp_path / "map.html"
    assert cli.main(["map", str(report), "-o", str(page_file), "--data-dir", str(tmp_path / "data")]) == 0
    sync_api = playwright_api()
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route(re.compile(r"^https?://"), lambda route: route.abort())
            page.goto(page_file.as_uri())
            page.wait_for_selector(".gp-icon", timeout=15_000)
            counts = lambda: page.evaluate("geoplan.counts()")  # noqa: E731
            assert counts() == {"shapes": 3, "items": 5}
            box = page.get_by_role("searchbox", name="在地图上查找")
            for query, want in (
                ("水源地", {"shapes": 1, "items": 1}),
                ("晋祠泉", {"shapes": 2, "items": 4}),
                ("博物馆", {"shapes": 1, "items": 1}),
                ("", {"shapes": 3, "items": 5}),
            ):
                box.fill(query)
                page.wait_for_function(
                    "want => JSON.stringify(geoplan.counts()) === want",
                    arg=json.dumps(want, separators=(",", ":")),
                    timeout=5_000,
                )
            box.fill("晋祠泉")
            page.wait_for_function("geoplan.counts().items === 4", timeout=5_000)
            assert page.locator(".gp-search-n").inner_text() == "4 项"
            assert page.locator(".gp-icon").count() == 2  # 兰村泉 hidden
        finally:
            browser.close()
    assert errors == []


def test_grouping_does_not_depend_on_where_the_frame_came_from(gaz, tmp_path):
    """A frame read back from GeoJSON (``geoplan map built.geojson``) has one geometry object per row."""
    import pickle

    from geoplan.features import dumps_geojson, features_to_geojson
    from geoplan.maps import map_data
    from geoplan.parse import report_from_text

    gdf = features_from_report(report_from_text(REPEATS, source="repeats.txt"), gazetteer=gaz)
    path = tmp_path / "built.geojson"
    path.write_text(dumps_geojson(features_to_geojson(gdf)), encoding="utf-8")
    for frame in (features_from_path(path), pickle.loads(pickle.dumps(gdf))):
        located = frame.geometry[frame.geometry.notna()]
        assert len({id(g) for g in located}) == 5  # every row its own object now
        assert map_data(frame).shapes == 3 and map_data(frame).items == 5


def test_the_map_script_and_style_are_files_linked_or_inlined_as_the_vendored_ones(gdf, gaz):
    """static/geoplan.js and geoplan.css: served as files in the app, inlined in standalone pages."""
    from geoplan.maps import GeoplanAssets
    from geoplan.resources import static_dir, static_text

    js, css = static_text("geoplan.js"), static_text("geoplan.css")
    assert "function create()" in js and ".gp-popup" in css
    # Not localized (tests, map_html): both inline, the script before the layers that call it.
    page = map_html(build_map(gdf, gazetteer=gaz))
    assert page.count("function create()") == 1 and page.index("function create()") < page.index("geoplan.layer(")
    assert ".gp-pin{" in page
    # Standalone: inlined like Leaflet, in the header, once.
    inline = build_map(gdf, gazetteer=gaz)
    localize(inline, mode="inline")
    page = map_html(inline)
    assert page.count("function create()") == 1 and 'data-vendored="../geoplan.js"' in page
    assert page.index('data-vendored="../geoplan.js"') < page.index("geoplan.layer(")
    assert page.count(".gp-pin{") == 1 and 'data-vendored="../geoplan.css"' in page
    # App: links the component page loads before the map's script; the files exist where they point.
    static = build_map(gdf, gazetteer=gaz)
    localize(static, mode="static")
    page = map_html(static)
    assert "function create()" not in page and ".gp-pin{" not in page
    (assets,) = [el for el in static._children.values() if isinstance(el, GeoplanAssets)]
    urls = [u for _n, u in [*assets.default_js, *assets.default_css]]
    sc = static_text("supercluster.min.js")
    assert urls == [
        "../../app/static/supercluster.min.js",
        "../../app/static/geoplan.js",
        "../../app/static/geoplan.css",
    ]  # no "..": servers refuse it
    for url in urls:
        assert f'"{url}"' in page
        assert (static_dir() / url.rsplit("/", 1)[1]).read_text(encoding="utf-8") in (sc, js, css)


def test_streamlit_folium_loads_the_map_script_before_the_map(gdf, gaz):
    """st_folium loads only the default_js of the map's JSCSSMixin elements (streamlit_folium.st_folium's
    ``walk``): geoplan.js must be among them, after Leaflet, or the app's map never draws."""
    m = build_map(gdf, gazetteer=gaz)
    localize(m, mode="static")
    seen = list(dict.fromkeys(src for el in _mixins(m) for _n, src in el.default_js))
    assert seen.index("../../app/static/geoplan.js") > seen.index("../../app/static/vendor/leaflet/leaflet.js")


def _mixins(el):
    from folium.elements import JSCSSMixin

    if isinstance(el, JSCSSMixin):
        yield el
    for child in el._children.values():
        yield from _mixins(child)


def overlay_names(html: str) -> list[str]:
    """The overlays of the page's layer control (folium writes their names as JSON strings)."""
    block = re.search(r"overlays :\s*\{(.*?)\}", html, re.S)[1]
    return [json.loads(f'"{k}"') for k in re.findall(r'"((?:[^"\\]|\\.)*)" :', block)]


def _district_labels(html: str) -> list[list]:
    call = re.search(r"geoplanUI\.districtLabels\(\w+, \w+, (\[\[.*?\]\]), 10\);", html)
    assert call, "no district labels"
    return json.loads(call[1])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_district_names_sit_inside_their_units(gdf, lang):
    from shapely.geometry import Point

    from geoplan.gazetteer import gazetteer_for
    from geoplan.vocab import admin_name

    gaz = gazetteer_for(None)
    units = {admin_name(u.name, lang): u.geometry for u in gaz.admin_units}
    points = _district_labels(map_html(build_map(gdf, lang=lang, gazetteer=gaz, show_boundaries=True)))
    assert sorted(p[2] for p in points) == sorted(units) and len(units) >= 10
    for lon, lat, name in points:
        assert units[name].buffer(1e-4).contains(Point(lon, lat)), name  # a representative point, not a centroid
    assert "区县边界" in map_html(build_map(gdf, gazetteer=gaz, show_boundaries=True))


def test_the_app_leaves_domains_out_of_the_layer_control(gdf):
    standalone, app = (overlay_names(map_html(build_map(gdf, domain_control=c))) for c in (True, False))
    assert {"城乡融合发展", "环境", "民生"} <= set(standalone)  # a standalone map keeps its domain checkboxes
    assert not {"城乡融合发展", "环境", "民生"} & set(app)


# -- zoom bands: many vertices drawn by zoom, the finer bands in files beside the page ------------------


def _distinct_shapes(gdf):
    """``gdf`` with every located row at its own detailed shape (a wavy ring or line of ~400 vertices)."""
    import numpy as np
    import shapely

    rng = np.random.default_rng(7)
    out = gdf.copy()
    located = out.geometry.notna()
    shapes = []
    t = np.linspace(0, 2 * np.pi, 400)
    for i, geom in enumerate(out.geometry[located]):
        x, y = 112.3 + rng.uniform(0, 0.5), 37.7 + rng.uniform(0, 0.4)
        r = 0.01 * (1 + 0.15 * np.sin(9 * t))
        if geom.geom_type == "Point" and i % 2:
            shapes.append(geom)
        elif geom.geom_type in ("LineString", "MultiLineString"):
            shapes.append(shapely.LineString(np.c_[x + np.linspace(0, 0.05, 400), y + 0.003 * np.sin(15 * t)]))
        else:
            shapes.append(shapely.Polygon(np.c_[x + r * np.cos(t), y + r * np.sin(t)][:-1]))
    out.loc[located, "geometry"] = shapes
    return out


def test_banded_geometries_are_valid_within_tolerance_and_keep_the_bbox(gdf, monkeypatch):
    import numpy as np
    import shapely

    import geoplan.maps as maps

    monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 100)
    data = maps.map_data(_distinct_shapes(gdf), lod=True)
    assert data.bands and len(data.bands) == len(data.layers)
    coarse_vertices = full_vertices = hidden = 0
    for (_domain, _colour, doc), extra in zip(data.layers, data.bands, strict=True):
        feats = json.loads(doc)["features"]
        assert len(extra) == len(maps.DRAW_BANDS) - 1
        bands = [json.loads(b) for b in extra]
        for i, f in enumerate(feats):
            if f["geometry"] is not None and f["geometry"]["type"] == "Point":
                assert "bbox" not in f and all(b[i] is None for b in bands)
                continue
            if f["geometry"] is None:  # a marker at every zoom of the first band: the next band has its geometry
                hidden += 1
                assert maps._markers_in_first_band(np.array([f["bbox"]]))[0] and bands[0][i] is not None
            # Each band falls back to the one before it where simplifying dropped nothing.
            chain = [f["geometry"] or bands[0][i]]
            for b in bands:
                chain.append(b[i] or chain[-1])
            full = shape(chain[-1])
            assert f["bbox"] == pytest.approx(list(full.bounds), abs=1e-5)
            for geom, (_zoom, tolerance) in zip(chain, maps.DRAW_BANDS, strict=True):
                g = shape(geom)
                assert g.is_valid and not g.is_empty
                if tolerance is not None:  # every vertex of the whole shape lies within tolerance of the band's
                    outline = g.boundary if g.geom_type.endswith("Polygon") else g
                    far = shapely.distance(shapely.points(shapely.get_coordinates(full)), outline).max()
                    assert far <= tolerance * 1.1 + 2e-5, (far, tolerance)  # GEOS bends it a little; 5 decimals
            coarse_vertices += shapely.get_num_coordinates(shape(chain[0]))
            full_vertices += shapely.get_num_coordinates(full)
    assert coarse_vertices * 5 < full_vertices, (coarse_vertices, full_vertices)
    # The ~0.02° rings are under DOT_PX at zoom 10, the 0.05° lines are not: only the rings lose band 0.
    assert 0 < hidden < sum(len(json.loads(doc)["features"]) for _d, _c, doc in data.layers)
    monkeypatch.setattr(maps, "DOT_PX", 0)
    assert all(
        f["geometry"]
        for _d, _c, doc in maps.map_data(_distinct_shapes(gdf), lod=True).layers
        for f in json.loads(doc)["features"]
    )
    # Without lod (the app, the site) nothing changes.
    assert maps.map_data(_distinct_shapes(gdf)).bands == ()
    assert np.isfinite(data.bounds).all()


def test_save_map_writes_bands_beside_the_page_and_small_maps_as_one_file(tmp_path, gdf, gaz, monkeypatch):
    import geoplan.maps as maps

    small = tmp_path / "small.html"
    maps.save_map(localize(build_map(gdf, gazetteer=gaz), mode="inline"), small)
    assert not (tmp_path / "small.data").exists()
    assert "_band1" not in small.read_text("utf-8")

    monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 100)
    target = tmp_path / "big map.html"
    (tmp_path / "big map.data").mkdir()
    (tmp_path / "big map.data" / "old_band1.js").write_text("stale", "utf-8")
    written = maps.save_map(localize(build_map(_distinct_shapes(gdf), gazetteer=gaz), mode="inline"), target)
    files = sorted((tmp_path / "big map.data").iterdir())
    page = target.read_text("utf-8")
    assert written == target.stat().st_size + sum(f.stat().st_size for f in files)
    assert files and all(f.name.endswith(".js") and "old_" not in f.name for f in files)
    for f in files:
        assert f"big%20map.data/{f.name}" in page
        text = f.read_text("utf-8")
        assert text.startswith(f'geoplan.band("{f.stem}",') and text.endswith(");\n")
    assert_no_cdn(page)
    # In one page (map_html), the bands are JSON blocks the browser parses only when it zooms in.
    one = map_html(localize(build_map(_distinct_shapes(gdf), gazetteer=gaz), mode="inline"))
    assert '<script type="application/json" id="' in one and '{"id":' not in one
    # Banded layers: the zooms of the finer bands, and no markercluster zoom animation (its forced layouts).
    assert {json.dumps(o.get("zooms")) for _d, o in _layers(one)} == {json.dumps([z for z, _t in maps.DRAW_BANDS[1:]])}
    assert all(o.get("animate") is False for _d, o in _layers(one))
    # Their lines and areas under DOT_PX pixels are clustered markers (geoplan.js), from each one's bbox.
    assert maps.DOT_PX > 0 and all(o.get("dot_px") == maps.DOT_PX for _d, o in _layers(one))
    assert all(
        len(f["bbox"]) == 4
        for data, _o in _layers(one)
        for f in data["features"]
        if f["geometry"] is None or f["geometry"]["type"] != "Point"
    )
    # The fitted view is set, unanimated, before the banded layers are added (they build for it once).
    first = re.search(r'\.fitBounds\(\[\[[^;]*"animate":false\}\);', one)
    assert first and first.start() < one.index("= geoplan.layer(")
    assert len(re.findall(r"map_\w+\.fitBounds\(", one)) == 1  # no second fit after them: it redrew them all
    assert '"animate":false});' not in small.read_text("utf-8")
    # Small maps (the shipped report) draw as before: no bands, no markers for lines and areas.
    assert all(k not in o for _d, o in _layers(small.read_text("utf-8")) for k in ("animate", "zooms", "dot_px"))


def test_geoplan_map_writes_the_bands_of_many_places_beside_the_page(tmp_path, gdf, monkeypatch, capsys):
    """The command, not only the function: `geoplan map` on a built file of detailed distinct places writes
    `<page>.data/` and a page that loads it; a missing output folder is made and said so."""
    import geoplan.maps as maps
    from geoplan import cli
    from geoplan.features import dumps_geojson, features_to_geojson

    monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 100)
    built = tmp_path / "distinct.geojson"
    built.write_text(dumps_geojson(features_to_geojson(_distinct_shapes(gdf))), "utf-8")
    target = tmp_path / "new" / "map.html"
    assert cli.main(["map", str(built), "-o", str(target)]) == 0
    err = capsys.readouterr().err
    files = sorted((tmp_path / "new" / "map.data").iterdir())
    assert files and all(f"map.data/{f.name}" in target.read_text("utf-8") for f in files)
    assert f"created folder {tmp_path / 'new'}" in err
    assert f"{target.stat().st_size + sum(f.stat().st_size for f in files):,} bytes -> {target}" in err


def test_a_banded_page_leaves_popup_text_to_a_data_file_loaded_after_the_first_draw(tmp_path, gdf, gaz, monkeypatch):
    """The items' text (popups, find box) of a banded layer is in ``<layer>_props.js``, not in the page; the
    page keeps each place's drawing fields and its items' fids (view, share links, hover)."""
    import geoplan.maps as maps

    monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 100)
    shapes = _distinct_shapes(gdf)
    located = shapes[shapes.geometry.notna()]
    texts = sorted({t for t in located["text"] if len(t) > 12})
    assert texts
    target = tmp_path / "map.html"
    maps.save_map(localize(build_map(shapes, gazetteer=gaz), mode="inline"), target)
    page = target.read_text("utf-8")
    assert not [t for t in texts if t in page or maps.js_json(t)[1:-1] in page]
    assert sorted(_drawn_items(page)) == sorted(located["fid"])
    for data, _o in _layers(page):
        for f in data["features"]:
            assert set(f["properties"]) <= {*maps.DRAW_PROPERTIES, "items"}
            assert all(set(it) == {"fid"} for it in f["properties"]["items"])
    props = sorted((tmp_path / "map.data").glob("*_props.js"))
    assert props and all(f"map.data/{f.name}" in page for f in props)
    data_text = "".join(f.read_text("utf-8") for f in props)
    assert all(maps.js_json(t)[1:-1] in data_text for t in texts)
    # Loaded in the order of the page's features: the same fids, one list per feature.
    for f in props:
        listed = json.loads(f.read_text("utf-8")[len(f'geoplan.band("{f.stem}",') : -3])
        name = f.stem.removesuffix("_props")
        data, _o = _layers(page[page.index(f"var {name} = ") :], page)[0]
        assert [[it["fid"] for it in p["items"]] for p in listed] == [
            [it["fid"] for it in g["properties"]["items"]] for g in data["features"]
        ]
    # One page (map_html): the same data as a JSON block the browser parses after the first draw.
    one = map_html(localize(build_map(shapes, gazetteer=gaz), mode="inline"))
    assert re.search(r'<script type="application/json" id="[^"]+_props">', one)
    assert all(maps.js_json(t)[1:-1] in one for t in texts)
    # Small maps carry their properties as before.
    monkeypatch.undo()
    small = map_html(localize(build_map(gdf, gazetteer=gaz), mode="inline"))
    assert "_props" not in small
    assert all(maps.js_json(t)[1:-1] in small for t in texts)


# -- the page written in pieces (save_map): the same bytes as the page rendered whole -----------------------


def _whole(m, target):
    """What save_map wrote before the page went in pieces: ``map_html`` whole and each data file as one text."""
    import urllib.parse

    import geoplan.maps as maps

    folder = target.with_name(target.stem + ".data")
    files = {}
    for layer in [c for c in m._children.values() if isinstance(c, maps.DomainLayer) and c.bands]:
        layer.data_dir = urllib.parse.quote(folder.name)
        files.update({folder / name: "".join(parts).encode("utf-8") for name, parts in layer.data_files().items()})
    return map_html(m).encode("utf-8"), files


@pytest.mark.parametrize("banded", [False, True])
def test_save_map_writes_in_pieces_the_bytes_of_the_whole_page(tmp_path, gdf, gaz, monkeypatch, banded):
    """The page and its data files, written piece by piece from the layers' own strings, are byte for byte
    what the page rendered whole and encoded was: for the shipped report (one page) and for detailed distinct
    places (bands beside the page), with report text that looks like markup, Chinese and a NUL."""
    import geoplan.maps as maps

    shapes = _distinct_shapes(gdf) if banded else gdf.copy()
    shapes["text"] = shapes["text"].astype(str) + "</script>{{ 1 }}\x00\u2028太原"
    if banded:
        monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 100)
    monkeypatch.setattr(maps, "_ENCODE_CHARS", 1000)  # many slices per piece: each cut between characters
    m = localize(build_map(shapes, gazetteer=gaz, show_boundaries=True, list_unplaced=True, search=True), mode="inline")
    twin = copy.deepcopy(m)  # the same map, names included: a figure renders once (folium adds to it each time)
    target = tmp_path / "map.html"
    written = maps.save_map(m, target)
    page, files = _whole(twin, target)
    assert target.read_bytes() == page
    assert {f: f.read_bytes() for f in (tmp_path / "map.data").glob("*")} == files if banded else not files
    assert written == len(page) + sum(len(b) for b in files.values())
    # The layers' JSON is a piece of its own, the layer's own string (not a copy inside a page string).
    fresh = copy.deepcopy(twin)
    layers = [c for c in fresh._children.values() if isinstance(c, maps.DomainLayer)]
    pieces = maps.page_pieces(fresh)
    assert len(pieces) == 2 * len(layers) + 1
    assert all(p is layer.data_json for p, layer in zip(pieces[1::2], layers, strict=True))


def test_page_pieces_put_each_layers_data_where_its_script_has_it(gdf, gaz, monkeypatch):
    """Cut at markers, the page has a layer's data wherever (and as often as) its script writes it; a script
    that leaves it out is an error, not a page without that layer's places."""
    import geoplan.maps as maps

    monkeypatch.setattr(maps.DomainLayer, "script_text", property(lambda self: f"{self.data_json};{self.data_json}"))
    m = build_map(gdf, gazetteer=gaz)
    layers = [c for c in m._children.values() if isinstance(c, maps.DomainLayer)]
    page = "".join(maps.page_pieces(m))
    assert all(page.count(f"{layer.data_json};{layer.data_json}") == 1 for layer in layers)
    monkeypatch.setattr(maps.DomainLayer, "script_text", property(lambda self: "var nothing;"))
    with pytest.raises(RuntimeError, match="left their data out"):
        maps.page_pieces(build_map(gdf, gazetteer=gaz))


# -- map_data one layer at a time, its bands and popup data spilled to files (`geoplan map` at 100k) ----------


def _map_data_digest(data) -> str:
    """A digest of everything ``map_data`` made: layers, bounds, counts, bands and deferred properties."""
    import hashlib

    import geoplan.maps as maps

    h = hashlib.sha256()
    for domain, color, doc in data.layers:
        h.update(f"{domain}\0{color}\0{doc}\0".encode())
    h.update(repr((data.bounds, data.shapes, data.items)).encode())
    for band in data.bands:
        h.update(("\0".join(map(maps.json_text, band)) + "\1").encode())
    h.update("\0".join(map(maps.json_text, data.props)).encode())
    return h.hexdigest()[:16]


# What map_data made of the committed built file before it went one layer at a time (commit 5e96d50): the
# same text, to the byte, for the shipped report and for its rows at detailed distinct shapes, both datums.
_MAP_DATA_BEFORE = {
    ("shipped", "osm", True): "7734f42122d3c919",
    ("shipped", "amap", True): "ce283ea0ec725797",
    ("distinct", "osm", True): "2a8083758cb63f82",
    ("distinct", "amap", True): "83a2393f7f2ed995",
    ("shipped", "osm", False): "1144bfd4f5520396",
    ("shipped", "amap", False): "132310b7b22f4962",
    ("distinct", "osm", False): "4154a2a9470eaff5",
    ("distinct", "amap", False): "40483e1ca4386f5d",
}


@pytest.mark.parametrize("which, basemap, lod", sorted(_MAP_DATA_BEFORE))
def test_map_data_one_layer_at_a_time_is_the_data_it_was(tmp_path, monkeypatch, which, basemap, lod):
    """Per domain, and with its bands and properties spilled to files, map_data writes what it wrote when it
    grouped, cleaned and banded every layer at once (digests taken from that code on the same input)."""
    import geoplan.maps as maps

    monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 100)
    shipped = features_from_path("geodata/taiyuan-2025.geojson")
    frame = shipped if which == "shipped" else _distinct_shapes(shipped)
    kept = maps.map_data(frame, basemap, lod=lod)
    assert _map_data_digest(kept) == _MAP_DATA_BEFORE[which, basemap, lod]
    assert maps.map_data(frame, basemap, lod=lod, spill=tmp_path) == kept  # few vertices: every text kept
    assert not list(tmp_path.iterdir())
    monkeypatch.setattr(maps, "SPILL_MIN_VERTICES", 0)  # as many vertices as 100k distinct places have
    spilled = maps.map_data(frame, basemap, lod=lod, spill=tmp_path)
    assert _map_data_digest(spilled) == _MAP_DATA_BEFORE[which, basemap, lod]
    files = [f for band in spilled.bands for f in band] + [f for f in spilled.props if f]
    assert all(isinstance(f, maps.JsonFile) and f.path.parent == tmp_path for f in files)
    assert sorted(f.path for f in files) == sorted(tmp_path.iterdir())
    assert all(f.path.stat().st_size == f.size for f in files)
    assert bool(files) == bool(kept.bands) and (lod or not files)
    # The app's uses of the data read a spilled file as the string it was.
    assert maps.layers_json(spilled) == maps.layers_json(kept)
    assert maps.band_scripts(spilled) == maps.band_scripts(kept)


def _layers_in_worker(share):
    """``maps._forked_layers``, leaving the worker's pid in ``$GEOPLAN_TEST_PIDS``."""
    import os

    import geoplan.maps as maps

    with open(os.environ["GEOPLAN_TEST_PIDS"], "a") as fh:
        fh.write(f"{os.getpid()}\n")
    return [maps._FORKED(*args) for args in share]


@pytest.mark.parametrize("which, basemap", [("shipped", "osm"), ("distinct", "osm"), ("distinct", "amap")])
def test_map_data_by_forked_workers_is_the_same_data(tmp_path, monkeypatch, which, basemap):
    """``jobs`` > 1 shares the layers out between this process and forked workers: the data, to the byte, is
    the one-process data; a worker that dies leaves its layers to this process."""
    import os

    import geoplan.maps as maps

    monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 100)
    shipped = features_from_path("geodata/taiyuan-2025.geojson")
    frame = shipped if which == "shipped" else _distinct_shapes(shipped)
    pids = tmp_path / "pids"
    monkeypatch.setenv("GEOPLAN_TEST_PIDS", str(pids))
    monkeypatch.setattr(maps, "_forked_layers", _layers_in_worker)
    assert _map_data_digest(maps.map_data(frame, basemap, lod=True, jobs=3)) == _MAP_DATA_BEFORE[which, basemap, True]
    assert not pids.exists()  # too few vertices to fork for
    monkeypatch.setattr(maps, "PARALLEL_MIN_VERTICES", 0)
    for jobs in (2, 3):
        data = maps.map_data(frame, basemap, lod=True, jobs=jobs)
        assert _map_data_digest(data) == _MAP_DATA_BEFORE[which, basemap, True]
    workers = pids.read_text().split()
    assert len(workers) == 1 + 2 and str(os.getpid()) not in workers
    monkeypatch.setattr(maps, "_forked_layers", dying_worker)
    data = maps.map_data(frame, basemap, lod=True, jobs=2)
    assert _map_data_digest(data) == _MAP_DATA_BEFORE[which, basemap, True]
    import geoplan._io as gio

    for refused in (NoSemaphores, NoFork):  # no pool, no fork: all made here
        with monkeypatch.context() as m:
            m.setattr(gio, "ProcessPoolExecutor", refused)
            data = maps.map_data(frame, basemap, lod=True, jobs=2)
        assert _map_data_digest(data) == _MAP_DATA_BEFORE[which, basemap, True]
    monkeypatch.setattr(maps, "SPILL_MIN_VERTICES", 0)  # spilled (100k distinct places): one process
    (tmp_path / "spill").mkdir()
    spilled = maps.map_data(frame, basemap, lod=True, spill=tmp_path / "spill", jobs=2)
    assert _map_data_digest(spilled) == _MAP_DATA_BEFORE[which, basemap, True]


def test_save_map_copies_spilled_data_into_the_same_files(tmp_path, gdf, gaz, monkeypatch):
    """A map whose bands and properties are files (``map_data(spill=…)``) is written byte for byte as the same
    map with them as strings: page and data files."""
    import geoplan.maps as maps

    monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 100)
    shapes = _distinct_shapes(gdf)
    (tmp_path / "spill").mkdir()
    monkeypatch.setattr(maps, "SPILL_MIN_VERTICES", 0)
    spilled = maps.map_data(shapes, "osm", lod=True, spill=tmp_path / "spill")
    m = localize(
        build_map(shapes, gazetteer=gaz, search=True, data=maps.map_data(shapes, "osm", lod=True)), mode="inline"
    )
    twin = copy.deepcopy(m)
    for layer, (bands, props) in zip(
        [c for c in twin._children.values() if isinstance(c, maps.DomainLayer)],
        zip(spilled.bands, spilled.props, strict=True),
        strict=True,
    ):
        assert [maps.json_text(b) for b in bands] == list(layer.bands)
        layer.bands, layer.props = bands, props
    monkeypatch.setattr(maps, "_ENCODE_CHARS", 1000)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    written = maps.save_map(m, tmp_path / "a" / "map.html")
    assert maps.save_map(twin, tmp_path / "b" / "map.html") == written
    a, b = (sorted(p.relative_to(tmp_path / d) for p in (tmp_path / d).rglob("*") if p.is_file()) for d in "ab")
    assert a == b and len(a) > 1
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in a)


def test_geoplan_map_spills_to_a_temporary_folder_it_removes_and_refuses_a_short_spill(
    tmp_path, gdf, monkeypatch, capsys
):
    """`geoplan map` of many places leaves nothing in the temporary folder; a spilled file written short (a
    full disk reported late) is an error naming the page, and the page and its data files stay as they were."""
    import pathlib
    import tempfile

    import geoplan.maps as maps
    from geoplan import cli
    from geoplan._io import TruncatedWriteError
    from geoplan.features import dumps_geojson, features_to_geojson

    monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 100)
    monkeypatch.setattr(maps, "SPILL_MIN_VERTICES", 0)
    spill = tmp_path / "tmp"
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    built = tmp_path / "distinct.geojson"
    built.write_text(dumps_geojson(features_to_geojson(_distinct_shapes(gdf))), "utf-8")
    target = tmp_path / "out" / "map.html"
    assert cli.main(["map", str(built), "-o", str(target)]) == 0
    assert not list(spill.iterdir())
    written = {p: p.read_bytes() for p in target.parent.rglob("*") if p.is_file()}
    assert len(written) > 1
    capsys.readouterr()

    real = pathlib.Path.write_bytes

    def short(self: pathlib.Path, data: bytes) -> int:
        return real(self, data[: len(data) // 2] if spill in self.parents else data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", short)
    assert cli.main(["map", str(built), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert err.startswith(f"geoplan: error: {target}: cannot write (wrote ") and "left as it was" in err
    assert {p: p.read_bytes() for p in target.parent.rglob("*") if p.is_file()} == written
    assert not list(spill.iterdir())
    # A spilled file that changed length after it was written is not copied as it is.
    f = tmp_path / "band.json"
    f.write_bytes(b"[1,2]")
    assert b"".join(maps.JsonFile(f, 5).pieces(2)) == b"[1,2]"
    with pytest.raises(TruncatedWriteError):
        b"".join(maps.JsonFile(f, 9).pieces())


# -- what a reader checked is not checked again (mapfast) ------------------------------------------------------


def _bowtie():
    """A self-crossing ring near Taiyuan: invalid, as no reader lets through."""
    import shapely

    return shapely.Polygon([(112.50, 37.80), (112.52, 37.82), (112.52, 37.80), (112.50, 37.82)])


def _drawn_geometries(data) -> list:
    """Every geometry map_data drew: the layers' features' and their finer zoom bands'."""
    import geoplan.maps as maps

    drawn = [f["geometry"] for _d, _c, doc in data.layers for f in json.loads(doc)["features"]]
    drawn += [g for bands in data.bands for band in bands for g in json.loads(maps.json_text(band))]
    return [shape(g) for g in drawn if g is not None]


def test_map_data_does_not_check_again_what_the_reader_checked(monkeypatch):
    """A frame read from a built file carries which geometries its reader found valid and wound by the
    right-hand rule; map_data cleans them without a second is_valid (0.3 s at 10k distinct places)."""

    import geoplan.maps as maps
    from geoplan.features import CHECKED, CheckedGeometries, checked_rows

    read = features_from_path("geodata/taiyuan-2025.geojson")
    assert isinstance(read.attrs[CHECKED], CheckedGeometries)
    located = read.geometry.notna().to_numpy()
    assert checked_rows(read, read.geometry.to_numpy())[located].all()
    assert checked_rows(read.copy(), read.copy().geometry.to_numpy())[located].all()  # copies share the record
    kept, checked = _map_data_checking(monkeypatch, read)
    assert checked == 0
    read.attrs.pop(CHECKED)
    assert maps.map_data(read, "osm") == kept  # the same data as when everything is checked


@pytest.mark.parametrize("lod", [False, True])
def test_map_data_cleans_what_no_reader_checked(gdf, monkeypatch, lod):
    """An invalid polygon in a frame no reader marked, or in a read frame at a row a correction changed (its
    geometry is not one the reader checked), is made valid as before."""
    import shapely

    import geoplan.maps as maps
    from geoplan.features import CHECKED

    monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 0)
    read = features_from_path("geodata/taiyuan-2025.geojson")
    row = read.index[read.geometry.notna()][0]
    for frame in (read.drop(columns=[]), gdf.copy()):
        frame.loc[row, "geometry"] = _bowtie()
        assert CHECKED in frame.attrs or frame is not read
        drawn = _drawn_geometries(maps.map_data(frame, "osm", lod=lod))
        bowtie = [g for g in drawn if g.intersects(shapely.Point(112.51, 37.81))]
        assert bowtie and all(g.is_valid for g in bowtie)
    user = gdf.copy()
    user.attrs.pop(CHECKED, None)
    user.loc[user.index[user.geometry.notna()][0], "geometry"] = _bowtie()
    assert all(g.is_valid for g in _drawn_geometries(maps.map_data(user, "osm", lod=lod)))


def test_checked_geometries_after_a_pickle_name_objects_not_stale_ids():
    """A pickled read frame (a cache) comes back with a record whose ids are those of its own unpickled
    geometries, never the pickling process's ids, which could name other objects there; geopandas pickles
    the frame's geometries as WKB, so they are new objects and are cleaned as any others (the same data)."""
    import pickle

    import shapely

    import geoplan.maps as maps
    from geoplan.features import CHECKED, checked_rows

    read = features_from_path("geodata/taiyuan-2025.geojson")
    back = pickle.loads(pickle.dumps(read))
    record = back.attrs[CHECKED]
    assert record.ids == frozenset(map(id, record.geoms)) and len(record.geoms) == read.geometry.notna().sum()
    assert not checked_rows(back, [shapely.Point(112.5, 37.8), *back.geometry.dropna()]).any()
    assert maps.map_data(back, "osm", lod=True) == maps.map_data(read, "osm", lod=True)


def test_map_data_does_not_check_again_what_the_gazetteer_checked(monkeypatch):
    """A report's frame marks the rows whose geometry is one the gazetteer's load checked (valid, in range);
    map_data draws them without another is_valid, and the same data as when nothing is marked. A gazetteer
    made otherwise (by hand, from a prepared file) vouches for nothing."""
    import dataclasses

    import geoplan.maps as maps
    from geoplan.features import CHECKED, checked_rows, features_from_report
    from geoplan.gazetteer import load_gazetteer
    from geoplan.parse import report_from_path

    report = report_from_path("geodata/reports/taiyuan-2025.txt")
    gaz = load_gazetteer()
    assert gaz.checked
    frame = features_from_report(report, gazetteer=gaz)
    located = frame.geometry.notna().to_numpy()
    assert checked_rows(frame, frame.geometry.to_numpy())[located].all()
    kept, checked = _map_data_checking(monkeypatch, frame)
    assert checked == 0
    by_hand = dataclasses.replace(gaz, checked=False)
    unmarked = features_from_report(report, gazetteer=by_hand)
    assert CHECKED not in unmarked.attrs
    assert maps.map_data(unmarked, "osm") == kept
    frame.attrs.pop(CHECKED)
    assert maps.map_data(frame, "osm", lod=True) == maps.map_data(unmarked, "osm", lod=True)


def _map_data_checking(monkeypatch: pytest.MonkeyPatch, frame: object) -> tuple[object, int]:
    """``map_data(frame, "osm")`` and how many geometries it asked ``shapely.is_valid`` about."""
    import numpy as np
    import shapely

    import geoplan.maps as maps

    checked: list[int] = []
    is_valid = shapely.is_valid
    monkeypatch.setattr(shapely, "is_valid", lambda g, **kw: checked.append(np.size(g)) or is_valid(g, **kw))
    try:
        return maps.map_data(frame, "osm"), sum(checked)
    finally:
        monkeypatch.setattr(shapely, "is_valid", is_valid)
