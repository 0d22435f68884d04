"""End to end: `streamlit run` on a free port, driven by Debian's Chromium through Playwright.

As a resident or planner would: the map and its layers render with no internet, a layer toggle hides
features, a filter changes the counts and the table, a popup shows the report's sentence, a download
gives valid GeoJSON, and a planner's drawn correction is on the map after a reload.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from geoplan.features import check_rfc7946

from browser_support import launch, require_chromium, streamlit_server
from conftest import ROOT

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"
TILE_HOSTS = re.compile(r"(tile\.openstreetmap\.org|basemaps\.cartocdn\.com|autonavi\.com)$")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    data = tmp_path_factory.mktemp("app-data")
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    with streamlit_server(ROOT / "streamlit_app.py", cwd=ROOT, env={"GEOPLAN_DATA_DIR": str(data)}, log=log) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True, locale="zh-CN")
    pg = context.new_page()
    pg.foreign = []  # type: ignore[attr-defined]

    def note(request) -> None:
        host = urlparse(request.url).hostname or ""
        if request.url.startswith(("data:", "blob:", "about:")) or host in ("127.0.0.1", "localhost"):
            return
        if not TILE_HOSTS.search(host):
            pg.foreign.append(request.url)  # type: ignore[attr-defined]

    pg.on("request", note)
    yield pg
    context.close()


# A stale copy left over from the previous run of the script has width -1 until Streamlit removes it.
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]:not([width="-1"])'


def _frame(page):
    """The map's iframe; while Streamlit reruns, a stale copy may linger for a moment."""
    page.wait_for_function(f"document.querySelectorAll('{MAP_IFRAME}').length === 1", timeout=30_000)
    return page.frame_locator(MAP_IFRAME)


def _open(page, url: str):
    page.goto(url)
    frame = _frame(page)
    frame.locator(".leaflet-container").wait_for(timeout=60_000)
    frame.locator(".gp-icon, path.leaflet-interactive").first.wait_for(timeout=30_000)
    return frame


def _metric(page, label: str) -> int:
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    return int(box.locator('[data-testid="stMetricValue"]').inner_text().strip())


def _wait_metric(page, label: str, ok, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = _metric(page, label)
            if ok(value):
                return value
        except (ValueError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"metric {label} never satisfied the condition")
        page.wait_for_timeout(200)


def _drawn(frame) -> int:
    return frame.locator(".gp-icon, .marker-cluster, path.leaflet-interactive").count()


def test_map_layers_filter_popup_download(page, app_url):
    frame = _open(page, app_url)
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=False)

    # The map and one overlay per domain with located features render, from vendored assets only.
    labels = frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert any("城乡融合发展" in t for t in labels) and any("民生" in t for t in labels)
    assert frame.locator(".gp-legend").inner_text().count("城乡融合发展") == 1
    before = _drawn(frame)
    assert before > 5

    # Unticking a domain in the layer control hides its features.
    frame.locator(".leaflet-control-layers-overlays label", has_text="城乡融合发展").locator("input").uncheck()
    page.wait_for_timeout(300)
    hidden = _drawn(frame)
    assert hidden < before
    frame.locator(".leaflet-control-layers-overlays label", has_text="城乡融合发展").locator("input").check()
    page.wait_for_timeout(300)
    assert _drawn(frame) == before

    # A popup shows the report's own sentence with the place highlighted.
    frame.locator(".gp-icon", has_text="泉").first.click()
    popup = frame.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10_000)
    assert "晋祠泉稳定复流" in popup.inner_text()
    assert popup.locator("mark").count() == 1

    # A filter changes the counts, the map and the table; the map is filtered in place, not reloaded.
    total = _metric(page, "显示要素")
    frame.locator("body").evaluate("() => { window.__same_map = true; }")
    assert frame.locator("body").evaluate("() => geoplan.counts().items") == _metric(page, "已定位")
    page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
    page.keyboard.type("民生")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    shown = _wait_metric(page, "显示要素", lambda v: v < total)
    assert 0 < shown < total
    assert "domain=" in page.url
    located = _metric(page, "已定位")
    page.wait_for_function(
        "([sel, n]) => { const w = document.querySelector(sel).contentWindow;"
        " return w.geoplan && w.geoplan.counts().items === n; }", arg=[MAP_IFRAME, located], timeout=30_000)
    assert frame.locator("body").evaluate("() => window.__same_map === true")
    assert 0 < _drawn(frame) < before
    # The table's grid reports its rows to assistive technology; the header counts as one.
    page.wait_for_function(
        "n => { const g = document.querySelector('[data-testid=stDataFrame] [role=grid]');"
        " return g && +g.getAttribute('aria-rowcount') === n; }", arg=shown + 1, timeout=30_000)

    # The download holds the located features shown, as valid RFC 7946 GeoJSON, named by the filter;
    # with the checkbox, every feature shown.
    page.get_by_role("tab", name="下载").click()
    with page.expect_download(timeout=30_000) as dl:
        page.get_by_role("button", name="GEOJSON").click()
    assert dl.value.suggested_filename == "taiyuan-2025-民生.geojson"
    doc = json.loads(Path(dl.value.path()).read_text("utf-8"))
    assert check_rfc7946(doc) == []
    assert len(doc["features"]) == located
    assert {f["properties"]["domain"] for f in doc["features"]} == {"民生"}
    page.get_by_text("包括全市范围/未定位的事项").click()
    page.wait_for_timeout(500)
    with page.expect_download(timeout=30_000) as dl:
        page.get_by_role("button", name="GEOJSON").click()
    assert dl.value.suggested_filename == "taiyuan-2025-民生-with-unlocated.geojson"
    doc = json.loads(Path(dl.value.path()).read_text("utf-8"))
    assert len(doc["features"]) == shown

    assert page.foreign == [], page.foreign  # type: ignore[attr-defined]


def test_copied_link_reproduces_the_view(page, app_url):
    _open(page, app_url + "/?domain=环境&lang=en")
    assert _metric(page, "Features shown") < 49
    page.wait_for_timeout(300)
    assert "Environment" not in page.locator('[data-testid="stSidebar"]').inner_text()  # labels, not data
    assert "环境" in page.locator('[data-testid="stSidebar"]').inner_text()


def test_planner_draws_a_point_for_an_unlocated_item(page, app_url):
    frame = _open(page, app_url)
    located = _metric(page, "已定位")
    page.locator('[data-testid="stSidebar"]').get_by_text("校正位置（规划人员）").click()
    # Wait until the rerun has settled: one map, and it carries the drawing tools.
    page.wait_for_function(
        "sel => { const f = document.querySelectorAll(sel); return f.length === 1 && f[0].contentDocument"
        " && f[0].contentDocument.querySelector('.leaflet-draw-draw-marker'); }", arg=MAP_IFRAME, timeout=30_000)
    frame = _frame(page)
    frame.locator(".leaflet-draw-draw-marker").click()
    box = frame.locator(".leaflet-container").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_timeout(1500)  # streamlit-folium reports the drawing; the app reruns

    page.locator('[data-testid="stSelectbox"]', has_text="要校正的要素或事项").click()
    page.keyboard.type("幸福桥")
    page.keyboard.press("Enter")
    page.get_by_label("说明（必填）").fill("幸福桥位于汾河上，规划人员按设计图标注")
    page.get_by_label("署名").fill("测试规划师")
    page.get_by_role("button", name="保存校正").click()
    page.get_by_text("已保存的校正").wait_for(timeout=30_000)

    page.reload()
    _open(page, app_url)
    assert _metric(page, "已定位") == located + 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-corrected.png"))


def test_upload_another_report_and_a_bad_one(page, app_url, data_dir):
    _open(page, app_url)
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploader.set_input_files(str(data_dir / "small.txt"))
    _wait_metric(page, "事项", lambda v: v == 4)  # tests/data/small.txt has four items
    assert page.get_by_role("heading", name="small").count() == 1
    _frame(page).locator(".gp-icon, path.leaflet-interactive").first.wait_for(timeout=30_000)
    page.get_by_role("tab", name="地名库未收录的地名").click()
    # A bad report: the message names the file and line, and the last good map stays.
    uploader.set_input_files(str(data_dir / "item-before-domain.txt"))
    page.get_by_text("item-before-domain.txt:2").wait_for(timeout=30_000)
    assert _metric(page, "事项") == 4


def test_choosing_a_row_zooms_the_map_to_it(page, app_url):
    frame = _open(page, app_url + "/?q=晋祠")
    scale = frame.locator(".leaflet-control-scale-line").first
    before = scale.inner_text()
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    # The selection checkbox of the first data row (glide-data-grid draws on a canvas).
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)
    page.wait_for_function(
        "([sel, old]) => { const f = document.querySelector(sel); const s = f && f.contentDocument"
        " && f.contentDocument.querySelector('.leaflet-control-scale-line');"
        " return s && s.innerText !== old && !s.innerText.includes('km'); }",
        arg=[MAP_IFRAME, before], timeout=30_000)
    assert "km" in before or before != scale.inner_text()


def test_find_on_the_map_answers_in_the_browser_within_the_sidebar_filters(page, app_url):
    from geoplan.features import features_from_path
    from geoplan.filters import Filters

    from conftest import REPORT

    gdf = features_from_path(REPORT)
    want = Filters(query="晋祠").apply(gdf)
    want = int(want.geometry.notna().sum())
    assert want >= 2  # the item names 晋祠泉 and 兰村泉: both places are shown
    frame = _open(page, app_url)
    fetched = page.evaluate("() => performance.getEntriesByType('resource').length")
    frame.get_by_role("searchbox", name="在地图上查找").fill("晋祠")
    page.wait_for_function(
        "([sel, n]) => document.querySelector(sel).contentWindow.geoplan.counts().items === n",
        arg=[MAP_IFRAME, want], timeout=10_000)
    assert frame.locator(".gp-search-n").inner_text() == f"{want} 项"
    assert _metric(page, "显示要素") == 49  # the sidebar's selection (table, downloads) is unchanged
    assert page.evaluate("() => performance.getEntriesByType('resource').length") == fetched  # no request
    # A sidebar filter and the map's search combine: 民生 has no item about 晋祠.
    page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
    page.keyboard.type("民生")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    _wait_metric(page, "显示要素", lambda v: v < 49)
    page.wait_for_function(
        "sel => document.querySelector(sel).contentWindow.geoplan.counts().items === 0",
        arg=MAP_IFRAME, timeout=30_000)
    frame.get_by_role("searchbox", name="在地图上查找").fill("")
    page.wait_for_function(
        "([sel, n]) => document.querySelector(sel).contentWindow.geoplan.counts().items === n",
        arg=[MAP_IFRAME, _metric(page, "已定位")], timeout=10_000)
