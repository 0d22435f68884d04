"""geoplan.offline: geoplan's maps load no script, style sheet or image from the internet.

The vendor folder holds exactly the files the maps use, as ``assets.json`` lists them ({cdn url: file,
licence, version, sha256}). The tests marked ``browser`` open a map in Debian's Chromium through
Playwright (no browser download) and fail if the page requests anything from a host other than
localhost and the map tiles.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import folium
import pytest
from folium import plugins

from geoplan import offline
from geoplan.errors import GeoplanError
from geoplan.maps import build_map, map_html
from geoplan.offline import VENDOR_DIR, assert_no_cdn, asset_table, find_cdn_references, localize

from browser_support import launch, playwright_api, streamlit_server

TILE_HOST = re.compile(r"^(?:[a-c]\.)?tile\.openstreetmap\.org$|basemaps\.cartocdn\.com$|autonavi\.com$")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
SCREENSHOT = Path("/tmp/offline-map.png")
STANDALONE_SCREENSHOT = Path("/tmp/offline-map-standalone.png")
LEAFLET_ICONS = ("marker-icon.png", "marker-icon-2x.png", "marker-shadow.png")  # Leaflet loads them beside its CSS


def asset_urls(html: str) -> list[str]:
    """src of every <script> and href of every <link> in the page."""
    urls = re.findall(r"<script\b[^>]*\bsrc=\"([^\"]*)\"", html)
    urls += re.findall(r"<link\b[^>]*\bhref=\"([^\"]*)\"", html)
    return urls


def _element_urls(m: folium.Map) -> set[str]:
    """The CDN URLs a map's elements list (what the page links, and what streamlit-folium loads)."""
    return {
        url
        for el in offline._walk(m.get_root())
        for attr in ("default_js", "default_css")
        for _name, url in getattr(el, attr, None) or []
    }


@pytest.fixture(scope="module")
def used_urls(gdf, gaz) -> set[str]:
    """Every URL geoplan's maps load from a CDN, with each combination of the options the app, ``geoplan map``
    and the published site use, with what those files load beside themselves (CSS images, Leaflet's icons)."""
    direct: set[str] = set()
    flags = itertools.product([True, False], repeat=4)
    for i, (cluster, draw, search, boundaries) in enumerate(flags):  # every basemap and language in turn
        lang, basemap = ("zh", "en")[i % 2], ("osm", "light", "amap")[i % 3]
        m = build_map(
            gdf,
            lang=lang,
            basemap=basemap,
            gazetteer=gaz,
            cluster=cluster,
            draw=draw,
            search=search,
            show_boundaries=boundaries,
            list_unplaced=True,
        )
        direct |= _element_urls(m)
        direct |= set(find_cdn_references(map_html(m)))
    used = set(direct)
    for url in direct:
        rel = offline.vendored_file(url)
        if url.endswith(".css") and rel is not None:
            for ref in re.findall(r"url\(\s*['\"]?([^'\")]*)", rel.read_text("utf-8")):
                if ref and not ref.startswith(("data:", "#")):
                    used.add(urljoin(url, re.split(r"[?#]", ref)[0]))
        if url.endswith("/leaflet.css"):
            used |= {urljoin(url, f"images/{name}") for name in LEAFLET_ICONS}
    return used


def geoplan_map(gdf, gaz) -> folium.Map:
    """The map with every option that loads a file: clusters, drawing tools, boundaries, search."""
    return build_map(gdf, gazetteer=gaz, show_boundaries=True, draw=True, search=True, list_unplaced=True)


# --------------------------------------------------------------------------- the vendor folder


def test_every_url_a_map_loads_is_in_the_table_with_its_file_and_hash(used_urls):
    table = asset_table()
    assert len(used_urls) >= 7  # Leaflet, Leaflet.markercluster (js and two css), Leaflet.draw (js and css)
    for url in sorted(used_urls):
        assert url in table, f"{url}: a map loads it, assets.json has no file for it"
        rec = table[url]
        data = (VENDOR_DIR / rec["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == rec["sha256"], rec["file"]
        assert len(data) == rec["bytes"], rec["file"]
        assert rec["version"] and rec["package"] and rec["licence"], url
        assert (VENDOR_DIR / rec["licence_file"]).stat().st_size > 200, f"{rec['package']} licence"
    offline.verify_vendor()


def test_the_vendor_folder_holds_only_what_a_url_uses(used_urls):
    table = asset_table()
    assert set(table) <= used_urls, f"in assets.json but no map loads it: {sorted(set(table) - used_urls)}"
    doc = json.loads(offline.TABLE_PATH.read_text("utf-8"))
    licences = {rec["licence_file"] for rec in table.values()}
    assert set(doc["licences"]) == licences
    for path, rec in doc["licences"].items():
        assert hashlib.sha256((VENDOR_DIR / path).read_bytes()).hexdigest() == rec["sha256"], path
    on_disk = {p.relative_to(VENDOR_DIR).as_posix() for p in VENDOR_DIR.rglob("*") if p.is_file()}
    assert on_disk == {rec["file"] for rec in table.values()} | licences | {"assets.json", "README.md"}
    assert sum(p.stat().st_size for p in VENDOR_DIR.rglob("*") if p.is_file()) < 500_000


def test_the_table_is_what_the_refresh_script_writes_for_these_files():
    """scripts/vendor_assets.py's ASSETS and assets.json agree (checked offline: the files on disk stand in
    for the npm tarballs), so the script refreshes exactly what the maps use."""
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts" / "vendor_assets.py"
    spec = importlib.util.spec_from_file_location("vendor_assets", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    on_disk = {
        p.relative_to(VENDOR_DIR).as_posix(): p.read_bytes()
        for p in VENDOR_DIR.rglob("*")
        if p.is_file() and p.name not in module.KEEP
    }
    assert json.loads(offline.TABLE_PATH.read_text("utf-8")) == module.table(on_disk)


def test_a_damaged_file_is_named(monkeypatch, tmp_path):
    url = next(iter(asset_table()))
    rec = dict(asset_table()[url], sha256="0" * 64)
    monkeypatch.setattr(offline, "asset_table", lambda: {url: rec})
    with pytest.raises(GeoplanError, match=re.escape(rec["file"]) + ": sha256 differs"):
        offline.verify_vendor()


# --------------------------------------------------------------------------- localize


def test_raw_map_fails_the_check(gdf, gaz):
    html = map_html(geoplan_map(gdf, gaz))
    with pytest.raises(GeoplanError, match=r"cdn\.jsdelivr\.net/npm/leaflet@1\.9\.3"):
        assert_no_cdn(html)


def test_localize_inline_embeds_everything(gdf, gaz):
    html = map_html(localize(geoplan_map(gdf, gaz), mode="inline"))
    assert_no_cdn(html)
    assert "a JS library for interactive maps" in html  # Leaflet's header comment
    for rel in ("leaflet/leaflet.js", "leaflet.markercluster/leaflet.markercluster.js", "leaflet-draw/leaflet.draw.js"):
        assert f'data-vendored="{rel}"' in html
    assert asset_urls(html) == [], "no <script src> or <link href> at all"
    # Every url(...) is embedded; nothing relative is left to resolve against the file's folder.
    for ref in re.findall(r"url\(\s*['\"]?([^'\")]*)", html):
        assert ref.startswith(("data:", "#")) or ref == "", ref[:80]
    assert "L.Icon.Default.mergeOptions" in html  # Leaflet cannot derive its icons from an inlined style sheet


def test_localize_static_points_at_vendored_files(gdf, gaz):
    m = localize(geoplan_map(gdf, gaz), mode="static")
    html = map_html(m)
    assert_no_cdn(html)
    urls = asset_urls(html)
    assert len(urls) >= 7
    prefix, own = "../../app/static/vendor/", "../../app/static/"  # relative to st_folium's component page
    for url in urls:
        assert url.startswith(own), url
        assert (VENDOR_DIR.parent / url[len(own) :]).is_file(), url
    assert any(u.startswith(prefix) for u in urls)
    # st_folium reads the elements' lists, not the header.
    for url in _element_urls(m):
        assert url.startswith(own), url


def test_static_url_with_leading_slash_is_used_verbatim(gdf, gaz):
    html = map_html(localize(geoplan_map(gdf, gaz), mode="static", static_url="/app/static/vendor/"))
    urls = asset_urls(html)
    assert urls and all(u.startswith("/app/static/") for u in urls)


def test_localize_leaves_folium_classes_alone(gdf, gaz):
    before = (list(folium.Map.default_js), list(plugins.Draw.default_css))
    localize(geoplan_map(gdf, gaz), mode="static")
    assert (folium.Map.default_js, plugins.Draw.default_css) == before
    # A fresh map still renders its CDN links: nothing global was changed.
    assert find_cdn_references(folium.Map().get_root().render())


def test_localize_can_switch_modes(gdf, gaz):
    m = geoplan_map(gdf, gaz)
    localize(m, mode="static")
    map_html(m)
    localize(m, mode="inline")
    html = map_html(m)
    assert_no_cdn(html)
    assert asset_urls(html) == []


def test_unvendored_plugin_is_named_in_the_error(gdf, gaz):
    m = geoplan_map(gdf, gaz)
    plugins.Fullscreen().add_to(m)  # folium has it; geoplan's maps do not use it, so it is not vendored
    with pytest.raises(GeoplanError, match=r"Control\.FullScreen.*has no vendored copy"):
        localize(m, mode="static")


def test_plugin_added_after_localize_is_caught_while_rendering(gdf, gaz):
    m = localize(geoplan_map(gdf, gaz), mode="inline")
    plugins.MarkerCluster().add_to(folium.FeatureGroup().add_to(m))  # vendored: rewritten on render
    assert_no_cdn(map_html(m))
    plugins.Terminator().add_to(m)  # not vendored
    with pytest.raises(GeoplanError, match=r"unpkg\.com/@joergdietrich/leaflet\.terminator"):
        map_html(m)


def test_mode_is_checked(gdf, gaz):
    with pytest.raises(ValueError):
        localize(geoplan_map(gdf, gaz), mode="cdn")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- assert_no_cdn


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="https://example.org/lib.js"></script>',
        "<script src='//cdn.example.org/x.js'></script>",
        '<link rel="stylesheet" href="http://example.org/a.css"/>',
        '<link rel="preload" as="font" href="https://example.org/f.woff2">',
        "<style>@font-face{src:url(https://example.org/f.woff2)}</style>",
        '<style>@import "https://example.org/b.css";</style>',
        '<script>var s=document.createElement("script");s.src="https://example.org/late.js";</script>',
        '<script>fetch("https://unpkg.com/something")</script>',
        '<iframe srcdoc="&lt;script src=&quot;https://example.org/popup.js&quot;&gt;&lt;/script&gt;">',
    ],
)
def test_assert_no_cdn_finds_remote_assets(snippet):
    with pytest.raises(GeoplanError):
        assert_no_cdn(f"<html><head></head><body>{snippet}</body></html>")


def test_assert_no_cdn_allows_tiles_links_and_data():
    svg = "data:image/svg+xml,%3csvg xmlns='http://www.w3.org/2000/svg'/%3e"
    assert_no_cdn(
        f"""<html><head><script src="app/static/vendor/leaflet/leaflet.js"></script>
        <style>.x{{background:url("{svg}")}}</style></head>
        <body><a href="https://www.openstreetmap.org/copyright">OSM</a>
        <script>L.tileLayer("https://{{s}}.tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png").addTo(m);
        L.tileLayer("https://webrd0{{s}}.is.autonavi.com/appmaptile?x={{x}}&y={{y}}&z={{z}}");</script>
        </body></html>"""
    )


# --------------------------------------------------------------------------- browsers


def _foreign_requests(urls: list[str]) -> list[str]:
    bad = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about", "file"):
            continue
        if parts.hostname in LOCAL_HOSTS or TILE_HOST.search(parts.hostname or ""):
            continue
        bad.append(url)
    return bad


_PAGE_STATE = """() => ({
    L: typeof window.L === "object" ? window.L.version : null,
    cluster: typeof window.L === "object" && typeof window.L.markerClusterGroup === "function",
    draw: document.querySelectorAll(".leaflet-draw-toolbar a").length,
    sprite: getComputedStyle(document.querySelector(".leaflet-draw-toolbar a") || document.body).backgroundImage,
    containers: document.querySelectorAll(".leaflet-container").length,
    paths: document.querySelectorAll("path.leaflet-interactive").length,
})"""


def _check_page_state(state: dict) -> None:
    assert state["L"] == "1.9.3"
    assert state["cluster"], "Leaflet.markercluster did not load"
    assert state["draw"] >= 1, "Leaflet.draw's toolbar is missing"
    assert "spritesheet" in state["sprite"] or "data:image" in state["sprite"], state["sprite"][:80]
    assert state["containers"] == 1
    assert state["paths"] >= 1  # districts and line projects


@pytest.mark.browser
def test_standalone_inline_html_in_chromium(tmp_path, gdf, gaz):
    sync_api = playwright_api()
    page_file = tmp_path / "map.html"
    page_file.write_text(map_html(localize(geoplan_map(gdf, gaz), mode="inline")), "utf-8")

    requests: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_file.as_uri())
            page.wait_for_selector("path.leaflet-interactive", timeout=15_000)
            state = page.evaluate(_PAGE_STATE)
            page.screenshot(path=str(STANDALONE_SCREENSHOT))
        finally:
            browser.close()

    assert errors == []
    _check_page_state(state)
    assert _foreign_requests(requests) == []


APP = """
import streamlit as st
from streamlit_folium import st_folium

from geoplan.features import features_from_path
from geoplan.gazetteer import load_gazetteer
from geoplan.maps import build_map
from geoplan.offline import localize

st.title("geoplan offline")
gaz = load_gazetteer()
gdf = features_from_path(REPORT, gazetteer=gaz)
m = build_map(gdf, gazetteer=gaz, show_boundaries=True, draw=True, search=True)
st_folium(localize(m, mode="static"), height=520, use_container_width=True, returned_objects=[])
"""


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {}, b""


@pytest.mark.browser
def test_streamlit_app_with_st_folium_in_chromium(tmp_path, report_path):
    sync_api = playwright_api()
    pytest.importorskip("streamlit")
    pytest.importorskip("streamlit_folium")

    # The layout the app uses: static/ beside the script, a symlink to the package's static folder.
    (tmp_path / "static").symlink_to(VENDOR_DIR.parent, target_is_directory=True)
    (tmp_path / "app.py").write_text(f"REPORT = {str(report_path)!r}\n" + APP, "utf-8")
    src_dir = str(Path(offline.__file__).resolve().parents[1])
    env = {"PYTHONPATH": os.pathsep.join([src_dir, os.environ.get("PYTHONPATH", "")])}
    requests: list[str] = []
    with streamlit_server(
        tmp_path / "app.py",
        cwd=tmp_path,
        env=env,
        log=tmp_path / "streamlit.log",
        args=["--server.enableStaticServing", "true", "--server.fileWatcherType", "none"],
    ) as base:
        # Streamlit's static serving sends the vendored files with usable types.
        status, headers, body = _get(f"{base}/app/static/vendor/leaflet/leaflet.js")
        assert status == 200 and b"a JS library for interactive maps" in body
        assert headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
        status, headers, _ = _get(f"{base}/app/static/vendor/leaflet/leaflet.css")
        assert status == 200 and headers["content-type"].startswith("text/css")

        with sync_api.sync_playwright() as p:
            browser = launch(p)
            try:
                page = browser.new_page(viewport={"width": 1100, "height": 760})
                page.on("request", lambda r: requests.append(r.url))
                page.goto(base + "/")
                iframe = page.wait_for_selector('iframe[title="streamlit_folium.st_folium"]', timeout=60_000)
                frame = iframe.content_frame()
                assert frame is not None
                frame.wait_for_selector("path.leaflet-interactive", timeout=30_000)
                frame.wait_for_selector(".leaflet-draw-toolbar a", timeout=10_000)
                state = frame.evaluate(_PAGE_STATE)
                page.wait_for_timeout(500)
                page.screenshot(path=str(SCREENSHOT))
            finally:
                browser.close()

    _check_page_state(state)
    assert any("/app/static/vendor/leaflet/leaflet.js" in u for u in requests)
    assert any("/app/static/vendor/leaflet.markercluster/leaflet.markercluster.js" in u for u in requests)
    assert _foreign_requests(requests) == []


def test_own_files_sit_beside_the_vendor_folder_in_every_kind_of_static_url():
    from geoplan.offline import _join

    assert _join("../../app/static/vendor", "../geoplan.js") == "../../app/static/geoplan.js"
    assert _join("/app/static/vendor", "../geoplan.css") == "/app/static/geoplan.css"
    assert _join("https://maps.example.org/s/vendor", "../geoplan.js") == "https://maps.example.org/s/geoplan.js"
    assert _join("../../app/static/vendor", "leaflet/leaflet.js") == "../../app/static/vendor/leaflet/leaflet.js"
    assert _join("..", "../geoplan.js") == "../../geoplan.js"  # nothing to take off: kept as written
