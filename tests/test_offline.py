"""geoplan.offline: folium maps that load no script, style sheet or font from the internet.

The tests marked ``browser`` open the pages in Debian's Chromium through
Playwright (no browser download) and fail if the page requests anything from
a host other than localhost and the map tiles.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import folium
import pytest
from branca.colormap import LinearColormap
from folium import plugins

from geoplan import offline
from geoplan.errors import GeoplanError
from geoplan.offline import VENDOR_DIR, assert_no_cdn, find_cdn_references, localize

from browser_support import launch, playwright_api, streamlit_server

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILE_HOST = re.compile(r"^(?:[a-c]\.)?tile\.openstreetmap\.org$")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
SCREENSHOT = Path("/tmp/offline-map.png")
STANDALONE_SCREENSHOT = Path("/tmp/offline-map-standalone.png")

GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "长江大桥改造", "status": "在建"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[114.30, 30.60], [114.40, 30.60], [114.40, 30.68], [114.30, 30.60]]],
            },
        },
        {
            "type": "Feature",
            "properties": {"name": "地铁12号线", "status": "规划"},
            "geometry": {
                "type": "LineString",
                "coordinates": [[114.20, 30.50], [114.35, 30.55], [114.45, 30.52]],
            },
        },
    ],
}


def build_map() -> folium.Map:
    """A map with everything the app uses: GeoJson with tooltip and popup, clusters, controls, icons."""
    m = folium.Map(location=[30.58, 114.3], zoom_start=11, tiles=OSM_TILES, attr="© OpenStreetMap contributors")
    folium.GeoJson(
        GEOJSON,
        name="项目",
        tooltip=folium.GeoJsonTooltip(["name", "status"]),
        popup=folium.GeoJsonPopup(["name", "status"]),
    ).add_to(m)
    cluster = plugins.MarkerCluster(name="聚合").add_to(m)
    for i in range(3):
        folium.Marker([30.52 + i * 0.001, 114.26], icon=folium.Icon(icon="info-sign")).add_to(cluster)
    folium.Marker([30.63, 114.22], tooltip="默认图标").add_to(m)
    folium.Marker([30.56, 114.42], icon=folium.Icon(icon="info-sign", color="red")).add_to(m)
    folium.Marker([30.50, 114.42], icon=folium.Icon(icon="home", prefix="fa", color="green", angle=30)).add_to(m)
    plugins.Draw().add_to(m)
    plugins.Fullscreen().add_to(m)
    plugins.LocateControl().add_to(m)
    plugins.MousePosition().add_to(m)
    folium.LayerControl().add_to(m)
    return m


def asset_urls(html: str) -> list[str]:
    """src of every <script> and href of every <link> in the page."""
    urls = re.findall(r"<script\b[^>]*\bsrc=\"([^\"]*)\"", html)
    urls += re.findall(r"<link\b[^>]*\bhref=\"([^\"]*)\"", html)
    return urls


# --------------------------------------------------------------------------- vendor folder


def test_manifest_sha256_matches_files_on_disk():
    manifest = json.loads((VENDOR_DIR / "manifest.json").read_text("utf-8"))
    listed = set()
    for pkg in manifest["packages"]:
        assert pkg["version"], pkg["package"]
        for rec in [*pkg["files"], pkg["license"]]:
            data = (VENDOR_DIR / rec["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == rec["sha256"], rec["path"]
            assert len(data) == rec["bytes"], rec["path"]
            listed.add(rec["path"])
        assert (VENDOR_DIR / pkg["license"]["path"]).stat().st_size > 200, f"{pkg['package']} licence"
    on_disk = {
        p.relative_to(VENDOR_DIR).as_posix()
        for p in VENDOR_DIR.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", "README.md")
    }
    assert on_disk == listed, "files in the vendor folder and in manifest.json differ"
    offline.verify_vendor()


def test_vendor_folder_is_lean():
    total = sum(p.stat().st_size for p in VENDOR_DIR.rglob("*") if p.is_file())
    assert total < 2_000_000
    assert not list(VENDOR_DIR.rglob("*.map")), "no source maps"
    assert not list(VENDOR_DIR.rglob("*.ttf")) and not list(VENDOR_DIR.rglob("*.eot"))


@pytest.mark.parametrize(
    "cls",
    [
        folium.Map,
        plugins.MarkerCluster,
        plugins.FastMarkerCluster,
        plugins.Draw,
        plugins.Fullscreen,
        plugins.LocateControl,
        plugins.MousePosition,
    ],
    ids=lambda c: c.__name__,
)
def test_every_cdn_url_of_the_supported_classes_is_vendored(cls):
    for _, url in [*cls.default_js, *cls.default_css]:
        path = offline.vendored_file(url)
        assert path is not None and path.is_file(), url


# --------------------------------------------------------------------------- localize


def test_raw_folium_map_fails_the_check():
    html = build_map().get_root().render()
    with pytest.raises(GeoplanError, match=r"cdn\.jsdelivr\.net/npm/leaflet@1\.9\.3"):
        assert_no_cdn(html)


def test_localize_inline_embeds_everything():
    m = localize(build_map(), mode="inline")
    html = m.get_root().render()
    assert_no_cdn(html)
    assert "a JS library for interactive maps" in html  # Leaflet's header comment
    assert 'data-vendored="leaflet/leaflet.js"' in html
    assert asset_urls(html) == [], "no <script src> or <link href> at all"
    # Every url(...) is embedded; nothing relative is left to resolve against the file's folder.
    for ref in re.findall(r"url\(\s*['\"]?([^'\")]*)", html):
        assert ref.startswith(("data:", "#")) or ref == "", ref[:80]
    # Fonts for both icon sets are embedded.
    assert "Glyphicons Halflings" in html and "font/woff2;base64," in html
    # Default marker images (Leaflet cannot derive them from an inlined style sheet).
    assert "L.Icon.Default.mergeOptions" in html
    # Tile template stays.
    assert OSM_TILES in html
    assert len(html) < 2_500_000


def test_localize_static_points_at_vendored_files():
    m = localize(build_map(), mode="static")
    html = m.get_root().render()
    assert_no_cdn(html)
    urls = asset_urls(html)
    assert len(urls) >= 20
    prefix = "../../app/static/vendor/"  # relative to st_folium's component page
    for url in urls:
        assert url.startswith(prefix), url
        assert (VENDOR_DIR / url[len(prefix) :]).is_file(), url
    # st_folium reads the elements' lists, not the header.
    for el in [m, *m._children.values()]:
        for _, url in [*getattr(el, "default_js", []), *getattr(el, "default_css", [])]:
            assert url.startswith(prefix), url


def test_static_url_with_leading_slash_is_used_verbatim():
    html = localize(build_map(), mode="static", static_url="/app/static/vendor/").get_root().render()
    urls = asset_urls(html)
    assert urls and all(u.startswith("/app/static/vendor/") for u in urls)


def test_localize_leaves_folium_classes_alone():
    before = (list(folium.Map.default_js), list(plugins.Draw.default_css))
    localize(build_map(), mode="static")
    assert (folium.Map.default_js, plugins.Draw.default_css) == before
    # A fresh map still renders its CDN links: nothing global was changed.
    assert find_cdn_references(folium.Map().get_root().render())


def test_localize_can_switch_modes():
    m = build_map()
    localize(m, mode="static")
    m.get_root().render()
    localize(m, mode="inline")
    html = m.get_root().render()
    assert_no_cdn(html)
    assert asset_urls(html) == []


def test_unvendored_plugin_is_named_in_the_error():
    m = build_map()
    plugins.HeatMap([[30.5, 114.3, 1.0]]).add_to(m)
    with pytest.raises(GeoplanError, match=r"leaflet_heat\.min\.js"):
        localize(m, mode="static")


def test_plugin_added_after_localize_is_caught_while_rendering():
    m = localize(build_map(), mode="inline")
    plugins.Fullscreen().add_to(folium.FeatureGroup().add_to(m))  # vendored: rewritten on render
    assert_no_cdn(m.get_root().render())
    plugins.Terminator().add_to(m)  # not vendored
    with pytest.raises(GeoplanError, match=r"unpkg\.com/@joergdietrich/leaflet\.terminator"):
        m.get_root().render()


def test_colour_map_legend():
    m = build_map()
    LinearColormap(["#ffeeee", "#cc0000"], vmin=0, vmax=10, caption="投资额").add_to(m)
    html = localize(m, mode="inline").get_root().render()  # branca's d3 is vendored
    assert_no_cdn(html)
    assert 'data-vendored="d3/d3.min.js"' in html
    m2 = build_map()
    LinearColormap(["#ffeeee", "#cc0000"], vmin=0, vmax=10).add_to(m2)
    with pytest.raises(GeoplanError, match="streamlit-folium"):
        localize(m2, mode="static")


def test_mode_is_checked():
    with pytest.raises(ValueError):
        localize(build_map(), mode="cdn")  # type: ignore[arg-type]


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
        if parts.hostname in LOCAL_HOSTS or TILE_HOST.match(parts.hostname or ""):
            continue
        bad.append(url)
    return bad


_PAGE_STATE = """async () => {
    await document.fonts.ready;
    return {
        L: typeof window.L === "object" ? window.L.version : null,
        containers: document.querySelectorAll(".leaflet-container").length,
        paths: document.querySelectorAll("path.leaflet-interactive").length,
        awesome: document.querySelectorAll(".awesome-marker").length,
        rotated: [...document.querySelectorAll(".awesome-marker i.fa-rotate-30")]
            .map(i => getComputedStyle(i).transform),
        images: [...document.querySelectorAll("img.leaflet-marker-icon")]
            .map(i => i.complete && i.naturalWidth > 0),
        fonts: [...document.fonts].filter(f => f.status === "loaded").map(f => f.family.replace(/"/g, "")),
    };
}"""


def _check_page_state(state: dict) -> None:
    assert state["L"] == "1.9.3"
    assert state["containers"] == 1
    assert state["paths"] >= 2  # the polygon and the line
    assert state["awesome"] >= 2
    assert state["rotated"] and all(t != "none" for t in state["rotated"]), "Icon(angle=30) not rotated"
    assert state["images"] and all(state["images"]), "default marker image did not load"
    assert "Glyphicons Halflings" in state["fonts"]
    assert "Font Awesome 6 Free" in state["fonts"]


@pytest.mark.browser
def test_standalone_inline_html_in_chromium(tmp_path):
    sync_api = playwright_api()
    page_file = tmp_path / "map.html"
    localize(build_map(), mode="inline").save(str(page_file))

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
import folium
import streamlit as st
from streamlit_folium import st_folium

from geoplan.offline import localize
from test_offline import build_map

st.title("geoplan offline")
m = localize(build_map(), mode="static")
st_folium(m, height=520, use_container_width=True, returned_objects=[])
"""


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {}, b""


@pytest.mark.browser
def test_streamlit_app_with_st_folium_in_chromium(tmp_path):
    sync_api = playwright_api()
    pytest.importorskip("streamlit")
    pytest.importorskip("streamlit_folium")

    # The layout the app uses: static/ beside the script, a symlink to the package's static folder.
    (tmp_path / "static").symlink_to(VENDOR_DIR.parent, target_is_directory=True)
    (tmp_path / "app.py").write_text(APP, "utf-8")
    src_dir = str(Path(offline.__file__).resolve().parents[1])
    tests_dir = str(Path(__file__).resolve().parent)  # the app imports build_map() from this module
    env = {
        "PYTHONPATH": os.pathsep.join([src_dir, tests_dir, os.environ.get("PYTHONPATH", "")]),
    }
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
                frame.wait_for_selector(".awesome-marker", timeout=10_000)
                state = frame.evaluate(_PAGE_STATE)
                page.wait_for_timeout(500)
                page.screenshot(path=str(SCREENSHOT))
            finally:
                browser.close()

    _check_page_state(state)
    assert any("/app/static/vendor/leaflet/leaflet.js" in u for u in requests)
    assert _foreign_requests(requests) == []


def test_own_files_sit_beside_the_vendor_folder_in_every_kind_of_static_url():
    from geoplan.offline import _join

    assert _join("../../app/static/vendor", "../geoplan.js") == "../../app/static/geoplan.js"
    assert _join("/app/static/vendor", "../geoplan.css") == "/app/static/geoplan.css"
    assert _join("https://maps.example.org/s/vendor", "../geoplan.js") == "https://maps.example.org/s/geoplan.js"
    assert _join("../../app/static/vendor", "leaflet/leaflet.js") == "../../app/static/vendor/leaflet/leaflet.js"
    assert _join("..", "../geoplan.js") == "../../geoplan.js"  # nothing to take off: kept as written
