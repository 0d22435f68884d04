"""End to end: `streamlit run` on a free port, driven by Debian's Chromium through Playwright.

As a resident or planner would: the map and its layers render with no internet, a layer toggle hides
features, a filter changes the counts and the table, a popup shows the report's sentence, a download
gives valid GeoJSON, and a planner's drawn correction is on the map after a reload.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

from geoplan.features import check_rfc7946
from geoplan.i18n import t

from browser_support import launch, require_chromium, screenshots_dir, streamlit_server
from conftest import ROOT

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"
SCREENS = {"laptop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
# Streamlit's and Leaflet's own English words that must not show on the Chinese page.
ENGLISH_WIDGET_TEXT = (
    "Choose options",
    "Choose an option",
    "Select all",
    "Browse files",
    "Drag and drop",
    "per file",
    "Upload",
    "None",
    "Draw a marker",
    "No results",
)
TILE_HOSTS = re.compile(r"(tile\.openstreetmap\.org|basemaps\.cartocdn\.com|autonavi\.com)$")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    data = tmp_path_factory.mktemp("app-data")
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    app, env = ROOT / "streamlit_app.py", {"GEOPLAN_DATA_DIR": str(data)}
    with streamlit_server(app, cwd=ROOT, env=env, log=log, serve=True) as url:  # as `make run` starts it
        assert "taiyuan-2025.txt: 49 features, map data on osm ready" in log.read_text(encoding="utf-8")
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


COUNTS = {"items": 0, "located": 1, "city": 2, "unlocated": 3}


def _metric(page, label: str) -> int:
    """One number of the header's count line ("39 项 · 已定位 7 · 全市范围 27 · 未定位 5"): items, located …"""
    line = page.locator(".gp-counts").first.inner_text()
    return int(re.findall(r"\d+", line)[COUNTS[label]])


def _wait_metric(page, label: str, ok, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = _metric(page, label)
            if ok(value):
                return value
        except (ValueError, IndexError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"count {label} never satisfied the condition")
        page.wait_for_timeout(200)


@functools.cache
def _shipped():
    from geoplan.features import features_from_path

    from conftest import REPORT

    return features_from_path(REPORT)


def _located_features(**filters) -> int:
    """Located rows (item × place) of the shipped report under ``filters``: what ``geoplan.counts().items`` is."""
    from geoplan.filters import Filters

    return int(Filters(**filters).apply(_shipped()).geometry.notna().sum())


def _drawn(frame) -> int:
    return frame.locator(".gp-icon, .marker-cluster, path.leaflet-interactive").count()


def test_map_layers_filter_popup_download(page, app_url):
    frame = _open(page, app_url)
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=False)

    # The map renders from vendored assets only. The layer control holds the boundaries and the domains
    # (a filter the page follows: test_the_map_controls_are_filters_the_page_follows).
    labels = [t.strip() for t in frame.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    assert labels[0] == "区县边界" and set(labels[1:]) == set(_shipped().loc[_shipped().geometry.notna(), "domain"])
    frame.locator(".gp-legend summary").click()  # a one-line control until opened
    assert frame.locator(".gp-legend").inner_text().count("城乡融合发展") == 1
    before = _drawn(frame)
    assert before > 5

    # Unticking the boundaries hides them and their names.
    named = frame.locator(".gp-district-label").count()
    frame.locator(".leaflet-control-layers-overlays label", has_text="区县边界").locator("input").uncheck()
    page.wait_for_timeout(300)
    assert _drawn(frame) < before and frame.locator(".gp-district-label").count() == 0
    frame.locator(".leaflet-control-layers-overlays label", has_text="区县边界").locator("input").check()
    page.wait_for_timeout(300)
    assert _drawn(frame) == before and frame.locator(".gp-district-label").count() == named

    # A popup shows the report's own sentence with the place highlighted, in residents' words.
    frame.locator(".gp-icon", has_text="泉").first.click()
    popup = frame.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10_000)
    assert "晋祠泉稳定复流" in popup.inner_text()
    assert popup.locator("mark").count() == 1
    assert "大致位置" in popup.inner_text() and "IATI" not in popup.inner_text()
    frame.locator(".leaflet-popup-close-button").click()

    # A filter changes the counts, the map and the table; the map is filtered in place, not reloaded.
    total = _metric(page, "items")
    frame.locator("body").evaluate("() => { window.__same_map = true; }")
    assert frame.locator("body").evaluate("() => geoplan.counts().items") == _located_features()
    page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
    page.keyboard.type("民生")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    _wait_metric(page, "items", lambda v: v < total)
    assert "domain=" in page.url
    located = _located_features(domains=("民生",))
    shown = len(_shipped().query("domain == '民生'"))
    page.wait_for_function(
        "([sel, n]) => { const w = document.querySelector(sel).contentWindow;"
        " return w.geoplan && w.geoplan.counts().items === n; }",
        arg=[MAP_IFRAME, located],
        timeout=30_000,
    )
    assert frame.locator("body").evaluate("() => window.__same_map === true")
    assert 0 < _drawn(frame) < before
    _table_rows(page, shown)

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


# Is the feature of ``fid`` highlighted in the map's frame (an amber outline, or a ring on its marker)?
LIT = (
    "(fid) => { const w = document.querySelector('"
    + MAP_IFRAME
    + """').contentWindow, e = w.geoplan.byFid[fid];
    if (e.layer.setStyle) { return e.layer.options.color === '#ff8f00'; }
    const el = e.group.getVisibleParent(e.layer); return !!(el && el._icon && el._icon.classList.contains('gp-hover')); }"""
)


def test_pointing_at_an_item_in_the_list_highlights_its_place(page, app_url):
    """Streamlit's table has no hover events; the list of items on the map has, and the map's script hears it."""
    _open(page, app_url)
    page.get_by_role("tab", name=re.compile("地图上的事项")).click()
    entries = page.locator("li[data-gp-fid]")
    entries.first.wait_for()  # an open tab is computed on its click (the app's rerun)
    assert entries.count() == len(set(_shipped().loc[_shipped().geometry.notna(), "fid"]))
    for entry in (entries.first, entries.last):
        fid = entry.get_attribute("data-gp-fid")
        assert not page.evaluate(LIT, fid)
        entry.hover()
        page.wait_for_function(LIT, arg=fid, timeout=5_000)
        page.mouse.move(2, 2)
        page.wait_for_function(f"(fid) => !({LIT})(fid)", arg=fid, timeout=5_000)


def test_copied_link_reproduces_the_view(page, app_url):
    _open(page, app_url + "/?domain=环境&lang=en")
    assert _metric(page, "items") < 39
    page.wait_for_timeout(300)
    # The chosen domain: the report's word, with its English gloss (geoplan.vocab).
    assert "环境 · Environment" in page.locator('[data-testid="stSidebar"]').inner_text()


def test_planner_draws_a_point_for_an_unlocated_item(page, app_url):
    from playwright.sync_api import expect

    frame = _open(page, app_url)
    located = frame.locator("body").evaluate("() => geoplan.counts().items")  # located item × place rows
    page.locator('[data-testid="stSidebar"]').get_by_text("校正位置（规划人员）").click()
    # Wait until the rerun has settled: one map, and it carries the drawing tools.
    page.wait_for_function(
        "sel => { const f = document.querySelectorAll(sel); return f.length === 1 && f[0].contentDocument"
        " && f[0].contentDocument.querySelector('.leaflet-draw-draw-marker'); }",
        arg=MAP_IFRAME,
        timeout=30_000,
    )
    frame = _frame(page)
    frame.locator(".leaflet-draw-draw-marker").click()
    box = frame.locator(".leaflet-container").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_timeout(1500)  # streamlit-folium reports the drawing; the app reruns

    page.locator('[data-testid="stSelectbox"]', has_text="要校正的事项").click()
    page.keyboard.type("幸福桥")
    page.keyboard.press("Enter")
    page.get_by_label("说明（必填）").fill("幸福桥位于汾河上，规划人员按设计图标注")
    page.get_by_label("署名").fill("测试规划师")
    page.get_by_role("button", name="保存校正").click()
    page.get_by_text("已保存的校正", exact=True).wait_for(timeout=30_000)
    # Confirmed, and the form is empty again for the next correction.
    page.locator('[data-testid="stToast"]', has_text="已保存校正").wait_for(timeout=10_000)
    expect(page.get_by_label("说明（必填）")).to_have_value("", timeout=10_000)
    expect(page.get_by_label("署名")).to_have_value("测试规划师", timeout=10_000)  # the same planner goes on
    assert "请选择" in page.locator('[data-testid="stSelectbox"]', has_text="要校正的事项").inner_html()

    page.reload()
    _open(page, app_url)
    page.wait_for_function(
        "([sel, n]) => document.querySelector(sel).contentWindow.geoplan.counts().items === n",
        arg=[MAP_IFRAME, located + 1],
        timeout=30_000,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-corrected.png"))


def test_upload_another_report_and_a_bad_one(page, app_url, data_dir):
    _open(page, app_url)
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploader.set_input_files(str(data_dir / "small.txt"))
    _wait_metric(page, "items", lambda v: v == 4)  # tests/data/small.txt has four items
    assert page.get_by_role("heading", name="small").count() == 1
    _frame(page).locator(".gp-icon, path.leaflet-interactive").first.wait_for(timeout=30_000)
    page.get_by_role("tab", name="地名库未收录的地名").click()
    # A bad report: the message names the file and line, and the last good map stays.
    uploader.set_input_files(str(data_dir / "item-before-domain.txt"))
    page.get_by_text("item-before-domain.txt:2").wait_for(timeout=30_000)
    assert _metric(page, "items") == 4


def test_choosing_a_row_zooms_the_map_to_it(page, app_url):
    frame = _open(page, app_url + "/?q=晋祠")
    scale = frame.locator(".leaflet-control-scale-line").first
    before = scale.inner_text()
    page.get_by_role("tab", name="事项表").click()
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(timeout=10_000)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    # The selection checkbox of the first data row (glide-data-grid draws on a canvas).
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)
    page.wait_for_function(
        "([sel, old]) => { const f = document.querySelector(sel); const s = f && f.contentDocument"
        " && f.contentDocument.querySelector('.leaflet-control-scale-line');"
        " return s && s.innerText !== old && !s.innerText.includes('km'); }",
        arg=[MAP_IFRAME, before],
        timeout=30_000,
    )
    assert "km" in before or before != scale.inner_text()


def test_find_on_the_map_answers_in_the_browser_within_the_sidebar_filters(page, app_url):
    from playwright.sync_api import expect
    from geoplan.filters import Filters

    gdf = _shipped()
    want = Filters(query="晋祠").apply(gdf)
    want = int(want.geometry.notna().sum())
    assert want >= 2  # the item names 晋祠泉 and 兰村泉: both places are shown
    frame = _open(page, app_url)
    fetched = page.evaluate("() => performance.getEntriesByType('resource').length")
    frame.get_by_role("searchbox", name="在地图上查找").fill("晋祠")
    page.wait_for_function(
        "([sel, n]) => document.querySelector(sel).contentWindow.geoplan.counts().items === n",
        arg=[MAP_IFRAME, want],
        timeout=10_000,
    )
    assert page.evaluate("() => performance.getEntriesByType('resource').length") == fetched  # no request
    # Then the page follows: the search text, the header's counts and the URL (one filter state).
    _wait_metric(page, "items", lambda v: v == Filters(query="晋祠").apply(gdf)["item_id"].nunique())
    # The sidebar comes after the header in the same rerun: its box may fill a moment later (a CI flake).
    expect(page.get_by_label("搜索事项或地名")).to_have_value("晋祠", timeout=10_000)
    # A sidebar filter and the map's search combine: 民生 has no item about 晋祠. The empty state's notice
    # appears above the map, and the map stays the same one (no reload).
    page.evaluate("sel => { document.querySelector(sel).contentWindow.__gpSame = true; }", MAP_IFRAME)
    page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
    page.keyboard.type("民生")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    _wait_metric(page, "items", lambda v: v < 39)
    page.wait_for_function(
        "sel => { const f = document.querySelector(sel); return !!f && f.contentWindow.geoplan.counts().items === 0; }",
        arg=MAP_IFRAME,
        timeout=30_000,
    )
    assert page.evaluate("sel => document.querySelector(sel).contentWindow.__gpSame === true", MAP_IFRAME)
    assert page.get_by_text(t("zh", "empty_filtered")).is_visible()
    frame.get_by_role("searchbox", name="在地图上查找").fill("")
    page.wait_for_function(
        "([sel, n]) => document.querySelector(sel).contentWindow.geoplan.counts().items === n",
        arg=[MAP_IFRAME, _located_features(domains=("民生",))],
        timeout=10_000,
    )


def _in_map_counts(frame) -> tuple[int, int]:
    """The map's own counts line ("地图上 6 项 · 12 处"): items and places it shows."""
    items, places = re.fullmatch(r"地图上 (\d+) 项 · (\d+) 处", frame.locator(".gp-search-n").inner_text()).groups()
    return int(items), int(places)


def _agrees(page, frame) -> None:
    """The map's counts line says what the page's header does: its items are the header's located ones (the
    shipped report, plus whatever a planner located in an earlier test on this server)."""
    assert _in_map_counts(frame)[0] == _metric(page, "located")
    assert _in_map_counts(frame)[1] == frame.locator("body").evaluate("() => geoplan.counts().shapes")


def _overlay(frame, name: str):
    return frame.locator(".leaflet-control-layers-overlays label", has_text=name).locator("input")


def _open_layers(frame) -> None:
    """The layer list: open on a laptop; on a phone a button, which the pointer over it opens (Leaflet's
    mouseenter: a click would land on the list it has just opened)."""
    if frame.locator(".leaflet-control-layers-expanded").count() == 0:
        frame.locator(".leaflet-control-layers").hover(timeout=5_000)
    frame.locator(".leaflet-control-layers-overlays").wait_for(state="visible", timeout=5_000)


def _table_rows(page, n: int) -> None:
    """Wait for the table's grid to report ``n`` rows (plus its header) to assistive technology."""
    page.get_by_role("tab", name="事项表").click()
    page.wait_for_function(
        "n => { const g = document.querySelector('[data-testid=stDataFrame] [role=grid]');"
        " return g && +g.getAttribute('aria-rowcount') === n; }",
        arg=n + 1,
        timeout=30_000,
    )


@pytest.mark.parametrize("kind", ["laptop", "phone"])
def test_the_map_controls_are_filters_the_page_follows(screen, kind):
    """Issue 13's one filter state: the map's layer control and find box drive the header counts, the table
    and the URL; the sidebar drives the layer control's ticks."""
    from geoplan.filters import Filters

    page, frame = screen(kind, "zh")
    gdf = _shipped()
    domains = list(dict.fromkeys(gdf.loc[gdf.geometry.notna(), "domain"]))
    assert "民生" in domains and len(domains) >= 3
    _agrees(page, frame)
    before = _in_map_counts(frame)
    _open_layers(frame)
    assert all(_overlay(frame, d).is_checked() for d in domains)

    # Unticking a domain: the map and its counts at once, in the browser; then the page follows.
    kept = [d for d in domains if d != "民生"]
    _overlay(frame, "民生").uncheck()
    assert _in_map_counts(frame)[0] < before[0]  # no wait: no round trip
    shown = Filters(domains=tuple(kept)).apply(gdf)
    _wait_metric(page, "items", lambda v: v == shown["item_id"].nunique())
    _agrees(page, frame)
    page.wait_for_function(
        "n => new URLSearchParams(location.search).getAll('domain').length === n", arg=len(kept), timeout=10_000
    )
    assert set(re.findall(r"domain=([^&]+)", page.url)) == {quote(d) for d in kept}
    page.screenshot(path=str(screenshots_dir() / f"{kind}-map-filter-zh.png"))
    _table_rows(page, len(shown))
    assert not _overlay(frame, "民生").is_checked()  # the rerun did not undo it, nor post it back

    # Typing in the map's find box: the URL's q= and the counts follow once typing rests.
    box = frame.get_by_role("searchbox", name="在地图上查找")
    box.fill("晋祠")
    page.wait_for_function("() => new URLSearchParams(location.search).get('q') === '晋祠'", timeout=10_000)
    both = Filters(domains=tuple(kept), query="晋祠").apply(gdf)
    _wait_metric(page, "items", lambda v: v == both["item_id"].nunique())
    _agrees(page, frame)

    # A sidebar change sets the layer control's ticks and the find box, and posts nothing back.
    if kind == "phone":
        page.get_by_test_id("stExpandSidebarButton").click()
    page.locator('[data-testid="stSidebar"] button', has_text="清除筛选").click()
    page.wait_for_function("() => !/[?&](domain|q)=/.test(location.search)", timeout=10_000)
    _wait_metric(page, "items", lambda v: v == 39)
    frame.locator("body").evaluate(
        "() => { window.__posts = 0; const p = window.parent.postMessage.bind(window.parent);"
        " window.parent.postMessage = (m, o) => { if (m && m.value && m.value.geoplan)"
        " window.__posts += 1; return p(m, o); }; }"
    )
    page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
    page.keyboard.type("民生")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    _wait_metric(page, "items", lambda v: v == Filters(domains=("民生",)).apply(gdf)["item_id"].nunique())
    page.wait_for_function(
        "sel => { const w = document.querySelector(sel).contentWindow; return w.geoplan.chosen()"
        " && w.geoplan.chosen().join() === '民生'; }",
        arg=MAP_IFRAME,
        timeout=10_000,
    )
    _open_layers(frame)
    assert _overlay(frame, "民生").is_checked() and not any(_overlay(frame, d).is_checked() for d in kept)
    assert box.input_value() == ""
    page.wait_for_timeout(1000)
    assert frame.locator("body").evaluate("() => window.__posts") == 0  # no echo
    _agrees(page, frame)
    if kind == "phone":  # the sidebar covers the map there
        page.get_by_test_id("stSidebarCollapseButton").locator("button").first.click()
        page.wait_for_timeout(500)
        _open_layers(frame)
    page.locator(MAP_IFRAME).scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots_dir() / f"{kind}-sidebar-ticks-zh.png"))
    if kind == "laptop":  # the link (domain=民生) opens a map whose layer control says so
        assert "domain=" in page.url
        again = _open(page, page.url)
        _open_layers(again)
        page.wait_for_function(
            "sel => { const w = document.querySelector(sel).contentWindow; return w.geoplan.chosen()"
            " && w.geoplan.chosen().join() === '民生'; }",
            arg=MAP_IFRAME,
            timeout=10_000,
        )
        assert _overlay(again, "民生").is_checked() and not any(_overlay(again, d).is_checked() for d in kept)


@pytest.fixture
def screen(browser, app_url):
    """A page at a laptop's or a phone's size (a phone gets touch and a mobile viewport)."""
    contexts = []

    def open_at(kind: str, lang: str):
        phone = kind == "phone"
        context = browser.new_context(viewport=SCREENS[kind], locale="zh-CN", is_mobile=phone, has_touch=phone)
        contexts.append(context)
        pg = context.new_page()
        frame = _open(pg, app_url + ("/?lang=en" if lang == "en" else ""))
        pg.wait_for_timeout(1000)  # the map's iframe takes its CSS height; controls settle
        return pg, frame

    yield open_at
    for c in contexts:
        c.close()


# Text a reader can see: text nodes with a rendered, non-empty box that is not pushed off the page (Streamlit's
# "Skip to main content" link waits off-screen until focused) and not hidden or transparent.
_VISIBLE_TEXT = """root => {
    const out = [], walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        const el = n.parentElement, s = el && getComputedStyle(el);
        if (!n.textContent.trim() || !s || s.visibility !== "visible" || +s.opacity === 0) continue;
        const r = document.createRange(); r.selectNodeContents(n);
        if ([...r.getClientRects()].some(b => b.width > 1 && b.height > 1 && b.right > 0 && b.bottom > 0)) {
            out.push(n.textContent);
        }
    }
    return out.join("\\n");
}"""


def _visible_text(where) -> str:
    """The visible text of a page or of a locator's element (e.g. the map frame's body)."""
    if hasattr(where, "evaluate_handle") and not hasattr(where, "evaluate_all"):
        return where.evaluate(f"() => ({_VISIBLE_TEXT})(document.body)")
    return where.evaluate(_VISIBLE_TEXT)


def _visible_fraction(page, box) -> float:
    """The share of the first screen (the viewport, before any scrolling) that ``box`` covers."""
    vw, vh = page.viewport_size["width"], page.viewport_size["height"]
    w = max(0.0, min(box["x"] + box["width"], vw) - max(box["x"], 0))
    h = max(0.0, min(box["y"] + box["height"], vh) - max(box["y"], 0))
    return w * h / (vw * vh)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", ["laptop", "phone"])
def test_the_first_screen_is_the_map(screen, kind, lang):
    page, frame = screen(kind, lang)
    page.screenshot(path=str(screenshots_dir() / f"{kind}-{lang}.png"))
    box = page.locator(MAP_IFRAME).bounding_box()
    share = _visible_fraction(page, box)
    counts = page.locator(".gp-counts").first.inner_text()
    assert re.fullmatch(
        r"39 项 · 已定位 7 · 全市范围 27 · 未定位 5"
        if lang == "zh"
        else r"39 items · 7 located · 27 city-wide · 5 not located",
        counts,
    )
    if kind == "laptop":
        assert share >= 0.6, share  # was ~390 px of 768 under a title and four counters
        assert frame.locator(".leaflet-control-layers-expanded").count() == 1  # room to keep it open
    else:
        # The phone's first screen is the map (it was the title and four stacked counters), and the tab bar
        # below it peeks into view: the list, table and targets are one tap away.
        assert box["y"] < 160 and share >= 0.6, (box, share)
        tabs = page.get_by_role("tab").first.bounding_box()
        assert tabs["y"] + tabs["height"] <= SCREENS["phone"]["height"]
        # The layer list is an icon and the legend one line: they covered half the phone's map.
        assert frame.locator(".leaflet-control-layers-expanded").count() == 0
        assert frame.locator("details.gp-legend[open]").count() == 0
        legend = frame.locator(".gp-legend").bounding_box()
        assert legend["width"] * legend["height"] < 0.03 * box["width"] * box["height"]
        # The attribution wraps to two lines on a phone; the scale bar stands above it, not under it.
        scale = frame.locator(".leaflet-control-scale").bounding_box()
        attribution = frame.locator(".leaflet-control-attribution").bounding_box()
        assert scale["y"] + scale["height"] <= attribution["y"] + 1, (scale, attribution)
    if lang == "zh":
        text = _visible_text(page) + _visible_text(frame.locator("body"))
        assert "城乡融合发展" in text or kind == "phone"  # the scan sees the page (the phone's sidebar is shut)
        for words in ENGLISH_WIDGET_TEXT:
            assert words not in text, words
        # The uploader's own words come from static/app/zh.css (a pseudo-element, so not in the text).
        after = page.locator('[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]')
        assert after.evaluate("e => getComputedStyle(e, '::after').content") == '"选择文件"'
        assert "OpenStreetMap contributors" in frame.locator(".leaflet-control-attribution").inner_text()


def test_a_popup_on_a_phone_fits_and_is_above_the_controls(screen):
    page, frame = screen("phone", "zh")
    box = page.locator(MAP_IFRAME).bounding_box()
    frame.locator(".gp-icon", has_text="泉").first.click()
    popup = frame.locator(".leaflet-popup")
    popup.wait_for(timeout=10_000)
    page.wait_for_timeout(600)  # the map pans the popup into view
    inner = popup.bounding_box()
    assert box["x"] <= inner["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"], (inner, box)
    assert box["y"] <= inner["y"] and inner["y"] + inner["height"] <= box["y"] + box["height"], (inner, box)
    # While it is open, nothing but the attribution and scale sits over the map.
    assert frame.locator(".leaflet-control-layers").is_hidden()
    assert frame.locator(".gp-legend").is_hidden()
    assert frame.locator(".leaflet-control-attribution").is_visible()
    # A tap opens the hover label of the district under it too: it must not peek out from under the popup.
    for label in frame.locator(".leaflet-tooltip:not(.gp-district-label)").all():
        assert label.is_hidden()
    text = frame.locator(".leaflet-popup-content").inner_text()
    assert "大致位置" in text and "IATI" not in text and "25公里" not in text
    page.screenshot(path=str(screenshots_dir() / "phone-popup-zh.png"))
    frame.locator(".leaflet-popup-close-button").click()
    frame.locator(".leaflet-control-layers").wait_for(state="visible", timeout=5_000)


def test_chinese_filters_have_no_english_placeholder_or_select_all(screen):
    page, _frame = screen("laptop", "zh")
    box = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first
    assert "全部（可多选）" in box.inner_html()  # the placeholder (an attribute or a div, by version)
    box.click()
    page.get_by_role("option").first.wait_for(timeout=10_000)
    listed = page.locator('[role="listbox"]').inner_text()
    assert "Select all" not in listed and "消费" in listed
    page.keyboard.press("Escape")


def _units() -> list[str]:
    from geoplan.gazetteer import gazetteer_for

    return [u.name for u in gazetteer_for(None).admin_units]


HERE = {"latitude": 37.8575, "longitude": 112.5253, "accuracy": 40}  # 迎泽公园, Taiyuan


@pytest.mark.parametrize("kind", ["laptop", "phone"])
def test_near_me_district_names_and_finding_a_district(browser, app_url, kind):
    """A resident finds themself on the map, reads the district names, and finds their district's projects."""
    phone = kind == "phone"
    context = browser.new_context(
        viewport=SCREENS[kind],
        locale="zh-CN",
        is_mobile=phone,
        has_touch=phone,
        geolocation=HERE,
        permissions=["geolocation"],
    )
    try:
        page = context.new_page()
        frame = _open(page, app_url)
        # Boundaries show by default, each unit named once (from zoom 10: the map opens on the city centre).
        page.wait_for_function(
            "([sel, n]) => { const w = document.querySelector(sel).contentWindow;"
            " return w.map_div.getZoom() >= 10 && w.document.querySelectorAll('.gp-district-label').length === n; }",
            arg=[MAP_IFRAME, len(_units())],
            timeout=15_000,
        )
        names = frame.locator(".gp-district-label").all_inner_texts()
        assert sorted(names) == sorted(_units()) and "万柏林区" in names
        # Each name sits on its unit's point (they were once hundreds of pixels off after the iframe resized).
        off = frame.locator("body").evaluate("""() => { const out = []; map_div.eachLayer(l => {
            if (l instanceof L.Tooltip && l.options.permanent) {
                const r = l.getElement().getBoundingClientRect(), c = map_div.latLngToContainerPoint(l.getLatLng());
                out.push(Math.hypot(r.x + r.width / 2 - c.x, r.y + r.height / 2 - c.y)); } }); return out; }""")
        assert len(off) == len(names) and max(off) < 4, off
        page.screenshot(path=str(screenshots_dir() / f"{kind}-districts-zh.png"))
        # The map's find box matches a district by its short form: every place in 万柏林区, 迎泽西大街 among them.
        gdf = _shipped()
        want = int(gdf[gdf["district"] == "万柏林区"].geometry.notna().sum())
        everything = frame.locator("body").evaluate("() => geoplan.counts().items")  # a planner may have added one
        frame.get_by_role("searchbox", name="在地图上查找").fill("万柏林")
        page.wait_for_function(
            "([sel, n]) => document.querySelector(sel).contentWindow.geoplan.counts().items === n",
            arg=[MAP_IFRAME, want],
            timeout=10_000,
        )
        shown = frame.locator("body").evaluate("() => geoplan.entries.filter(e => e.on).map(e => e.p.name)")
        assert "迎泽西大街" in shown and want >= 1
        page.screenshot(path=str(screenshots_dir() / f"{kind}-find-district-zh.png"))
        frame.get_by_role("searchbox", name="在地图上查找").fill("")
        page.wait_for_function(
            "([sel, n]) => document.querySelector(sel).contentWindow.geoplan.counts().items === n",
            arg=[MAP_IFRAME, everything],
            timeout=10_000,
        )
        page.wait_for_timeout(500)  # the map's fit to everything, animated
        # Near me: the button asks the browser, which gives the fixed position; a dot and its accuracy show.
        frame.get_by_role("button", name="显示我的位置").click()
        frame.locator("path.gp-me").wait_for(timeout=15_000)
        assert frame.locator("path.gp-me-accuracy").count() == 1
        # The map moves there (once its own animations, such as the find box's fit, are over).
        page.wait_for_function(
            "([sel, lat, lon]) => { const c = document.querySelector(sel).contentWindow.map_div.getCenter();"
            " return Math.abs(c.lat - lat) < 0.01 && Math.abs(c.lng - lon) < 0.01; }",
            arg=[MAP_IFRAME, HERE["latitude"], HERE["longitude"]],
            timeout=10_000,
        )
        page.wait_for_timeout(500)
        page.screenshot(path=str(screenshots_dir() / f"{kind}-near-me-zh.png"))
    finally:
        context.close()


def test_near_me_refused_says_so_politely(browser, app_url):
    context = browser.new_context(viewport=SCREENS["laptop"], locale="zh-CN")  # no permission given
    try:
        page = context.new_page()
        frame = _open(page, app_url)
        frame.get_by_role("button", name="显示我的位置").click()
        note = frame.locator(".gp-locate-note")
        note.wait_for(state="visible", timeout=15_000)
        assert "未获得位置权限" in note.inner_text() and frame.locator("path.gp-me").count() == 0
    finally:
        context.close()


def test_a_shared_link_opens_the_same_view_and_popup(browser, app_url):
    context = browser.new_context(viewport=SCREENS["laptop"], locale="zh-CN")
    try:
        page = context.new_page()
        frame = _open(page, app_url)
        # A click while the map still fits its view (markercluster rebuilds its icons at the end of a zoom) can
        # land on an icon that is gone: CI saw no popup in 30 s once. Wait for the map to be still, then retry.
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        for _ in range(3):
            frame.locator(".leaflet-zoom-anim, .leaflet-cluster-anim").first.wait_for(state="detached")
            frame.locator(".gp-icon", has_text="泉").first.click()
            try:
                frame.locator(".leaflet-popup-content").wait_for(timeout=8_000)
                break
            except PlaywrightTimeoutError:
                page.wait_for_timeout(500)
        text = frame.locator(".leaflet-popup-content").inner_text()
        page.wait_for_function(
            "() => /[?&]sel=/.test(location.search) && /[?&]z=/.test(location.search)", timeout=10_000
        )
        link = page.url
        zoom = frame.locator("body").evaluate("() => map_div.getZoom()")
        shared = context.new_page()
        again = _open(shared, link)
        again.locator(".leaflet-popup-content").wait_for(timeout=15_000)
        assert again.locator(".leaflet-popup-content").inner_text() == text
        assert abs(again.locator("body").evaluate("() => map_div.getZoom()") - zoom) <= 1
    finally:
        context.close()


@pytest.mark.browser
def test_a_page_with_band_files_draws_every_place_when_zoomed_to_it_with_no_foreign_request(
    browser, tmp_path, gdf, gaz, monkeypatch
):
    """Zoom bands in ``<page>.data/`` (save_map): loaded from file:// by script elements, only when zoomed
    in; lines and areas are built only where the map looks, and each is there when the map goes to it."""
    import geoplan.maps as maps
    from geoplan.offline import localize
    from test_maps import _distinct_shapes

    monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 100)
    shapes = _distinct_shapes(gdf)
    m = localize(maps.build_map(shapes, gazetteer=gaz, search=True), mode="inline")
    target = tmp_path / "map.html"
    maps.save_map(m, target)
    assert list((tmp_path / "map.data").glob("*_props.js"))
    located = shapes[shapes.geometry.notna()]
    texts = dict(zip(located["fid"], located["text"], strict=True))
    names = "".join(str(n) for n in located["name"])
    # Words of one item's text that no place's name holds: found only once the items' text has come.
    wanted, query = next(
        (fid, text[i : i + 6])
        for fid, text in texts.items()
        for i in range(0, max(len(text) - 6, 0), 3)
        if text[i : i + 6] not in names and sum(text[i : i + 6] in t for t in texts.values()) == 1
    )
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    requests: list[str] = []
    errors: list[str] = []
    try:
        pg = context.new_page()
        pg.on("request", lambda r: requests.append(r.url))
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.route(re.compile(r"^https?://"), lambda r: r.abort())  # tiles: the network never decides the test
        pg.goto(target.as_uri())
        pg.wait_for_function("window.geoplan && geoplan.entries.length > 0")
        first = [u for u in requests if "map.data/" in u]
        state = pg.evaluate(
            """async (name) => {
              const map = window[name], shapes = geoplan.entries.filter((e) => e.bbox);
              const moved = () => new Promise((r) => map.once('moveend', () => setTimeout(r, 50)));
              const out = {shapes: shapes.length, missing: [], coarse: 0, hidden_far: 0};
              for (const e of shapes) {
                const done = moved();
                map.fitBounds(e.bounds, {animate: false, maxZoom: 16});
                await done;
                for (let i = 0; i < 40 && !(e.layer && e.layer !== e.dot && !e.layer.geoplanCoarse); i++) {
                  await new Promise((r) => setTimeout(r, 50));  // the band file, the first time
                }
                if (!e.layer || !map.hasLayer(e.layer)) { out.missing.push(e.p.name); }
                if (e.layer && (e.layer.geoplanCoarse || e.layer === e.dot)) { out.coarse += 1; }
              }
              out.hidden_far = shapes.filter((e) => !e.layer).length;
              out.zoom = map.getZoom();
              return out;
            }""",
            m.get_name(),
        )
        # Popup and find data (``<layer>_props.js``) come after the first draw: a popup of a line or area
        # shows its items' text, and the find box finds an item by words of its text alone.
        pg.wait_for_function("geoplan.entries.every((e) => !e.pending)", timeout=15_000)
        shown = pg.evaluate(
            """() => {
              const e = geoplan.entries.filter((e) => e.bbox && e.layer && e.layer._map).pop();
              e.layer.openPopup(e.layer.getBounds().getCenter());
              return e.items.map((it) => it.fid);
            }"""
        )
        popup = pg.locator(".leaflet-popup-content").inner_text()
        pg.evaluate("(name) => window[name].closePopup()", m.get_name())  # open, it hides the controls
        pg.locator(".gp-search input").fill(query)
        pg.wait_for_function("document.querySelector('.gp-search-n').textContent !== ''", timeout=10_000)
        found = pg.evaluate("() => geoplan.entries.filter((e) => e.on).flatMap((e) => e.shown.map((it) => it.fid))")
    finally:
        context.close()
    assert errors == []
    assert shown and texts[shown[0]][:12] in popup, (popup, texts[shown[0]])
    assert found and all(query in texts[f] for f in found) and wanted in found, (query, found)
    assert state["shapes"] > 10 and state["missing"] == [], state
    assert state["coarse"] == 0, "each place is drawn from the finest band at street zoom"
    assert state["hidden_far"] > 0, "at street zoom, places far from the view are not built"
    assert not [u for u in first if u.endswith("_band2.js")], "no whole geometry before the map is at street zoom"
    assert any("map.data/" in u and u.startswith("file:") for u in requests)
    foreign = [u for u in requests if not u.startswith(("file:", "data:", "blob:", "about:"))]
    assert all(TILE_HOSTS.search(urlparse(u).hostname or "") for u in foreign), foreign


@pytest.mark.browser
def test_a_small_line_is_a_clustered_marker_at_the_city_view_and_its_shape_when_zoomed_in(
    browser, tmp_path, gdf, gaz, monkeypatch
):
    """On a banded page, a line a few pixels long at the whole-city view is a marker (geoplan.js ``dot_px``),
    not an SVG path; zoomed in it is its shape. Its popup opens by a click in both states."""
    import shapely

    import geoplan.maps as maps
    from geoplan.offline import localize
    from test_maps import _distinct_shapes

    monkeypatch.setattr(maps, "LOD_MIN_VERTICES", 100)
    shapes = _distinct_shapes(gdf)
    located = shapes[shapes.geometry.notna()]
    row = located[located.geometry.geom_type == "LineString"].index[0]
    # 0.004° of longitude, away from the others (so not in a cluster): ~3 px at the city view, ~90 px at 15.
    x, y = 112.2, 37.6
    shapes.loc[row, "geometry"] = shapely.LineString([(x + 0.0002 * i, y) for i in range(21)])
    fid, text = shapes.loc[row, "fid"], shapes.loc[row, "text"]
    target = tmp_path / "map.html"
    maps.save_map(localize(maps.build_map(shapes, gazetteer=gaz), mode="inline"), target)
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    errors: list[str] = []
    name = None
    try:
        pg = context.new_page()
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.route(re.compile(r"^https?://"), lambda r: r.abort())
        pg.goto(target.as_uri())
        pg.wait_for_function("window.geoplan && geoplan.entries.length > 0 && geoplan.entries.every((e) => !e.pending)")
        name = pg.evaluate("() => Object.keys(window).find((k) => /^map_[0-9a-f]+$/.test(k))")
        # Where the line's marker is, or the middle of its path, in page pixels.
        where = """([name, fid]) => {
          const map = window[name], e = geoplan.byFid[fid], r = map.getContainer().getBoundingClientRect();
          const p = map.latLngToContainerPoint(e.bounds.getCenter());
          return {zoom: map.getZoom(), dot: e.layer === e.dot, path: !!(e.layer && e.layer._path),
                  icon: !!(e.dot && e.dot._icon), x: r.left + p.x, y: r.top + p.y,
                  paths: document.querySelectorAll('path.leaflet-interactive').length};
        }"""
        city = pg.evaluate(where, [name, fid])
        pg.mouse.click(city["x"], city["y"] - 15)  # the pin's body, above its tip
        pg.locator(".leaflet-popup-content").wait_for(timeout=10_000)
        popup_dot = pg.locator(".leaflet-popup-content").inner_text()
        pg.wait_for_timeout(300)  # the popup's fade-in, for the picture
        pg.screenshot(path=str(screenshots_dir() / "banded-dot-popup-zh.png"))
        pg.evaluate(
            """([name, fid]) => new Promise((r) => {
              const map = window[name], e = geoplan.byFid[fid];
              map.closePopup();
              map.once('moveend', () => setTimeout(r, 100));
              map.setView(e.bounds.getCenter(), 15, {animate: false});
            })""",
            [name, fid],
        )
        pg.wait_for_function(
            "(fid) => { const e = geoplan.byFid[fid]; return e.layer && e.layer !== e.dot && !e.layer.geoplanCoarse; }",
            arg=fid,
        )
        pg.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 0")  # the first one's fade-out
        street = pg.evaluate(where, [name, fid])
        pg.mouse.click(street["x"], street["y"])
        pg.locator(".leaflet-popup-content").wait_for(timeout=10_000)
        popup_path = pg.locator(".leaflet-popup-content").inner_text()
        pg.wait_for_timeout(300)  # the popup's fade-in, for the picture
        pg.screenshot(path=str(screenshots_dir() / "banded-path-popup-zh.png"))
    finally:
        context.close()
    assert errors == []
    assert city["dot"] and city["icon"] and not city["path"], city
    assert street["path"] and not street["dot"] and street["zoom"] == 15, street
    assert text[:12] in popup_dot and text[:12] in popup_path, (text, popup_dot, popup_path)


@pytest.fixture(scope="module")
def clustered_pages(tmp_path_factory, gaz):
    """Two banded pages of 1,500 distinct places (bench/generate.py's set; bands from 100 vertices a layer):
    as drawn, and as a share link draws it, with one clustered point's item selected."""
    import sys

    import numpy as np
    import shapely

    import geoplan.maps as maps
    from geoplan.offline import localize

    sys.path.insert(0, str(ROOT / "bench"))
    from generate import distinct_features

    saved = maps.LOD_MIN_VERTICES
    maps.LOD_MIN_VERTICES = 100
    try:
        gdf = distinct_features(1500, 3, gazetteer=gaz)
        located = gdf[gdf.geometry.notna()]
        points = located[located.geometry.geom_type == "Point"]
        # A point in the thick of the others (clustered at the city view): the nearest to their middle.
        middle = points.geometry.union_all().centroid
        selected = points.iloc[int(np.argmin(shapely.distance(np.asarray(points.geometry.values), middle)))]
        folder = tmp_path_factory.mktemp("clustered")
        plain, shared = folder / "plain.html", folder / "shared.html"
        maps.save_map(localize(maps.build_map(gdf, gazetteer=gaz, search=True), mode="inline"), plain)
        maps.save_map(localize(maps.build_map(gdf, gazetteer=gaz, selected=selected["fid"]), mode="inline"), shared)
    finally:
        maps.LOD_MIN_VERTICES = saved
    return {"plain": plain, "shared": shared, "fid": selected["fid"], "name": str(selected["name"])}


def _clustered_page(browser, path, errors):
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    pg = context.new_page()
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.route(re.compile(r"^https?://"), lambda r: r.abort())  # tiles: the network never decides the test
    pg.goto(path.as_uri())
    pg.wait_for_function("window.geoplan && geoplan.entries.length > 0 && geoplan.entries.every((e) => !e.pending)")
    return context, pg


# The clusters and single markers on the map: how many, and the places they hold together.
CLUSTERS_JS = """() => {
  const icons = [...document.querySelectorAll('.leaflet-marker-icon.marker-cluster')];
  return {clusters: icons.length, held: icons.reduce((k, el) => k + Number(el.textContent), 0),
          markers: document.querySelectorAll('.leaflet-marker-icon.gp-icon').length,
          shapes: geoplan.counts().shapes};
}"""


@pytest.mark.browser
def test_a_large_banded_page_clusters_by_its_index_and_a_cluster_leads_to_a_popup(browser, clustered_pages):
    """The point index (geoplan.js IndexGroup) in Chromium: clusters with counts at the city view, a click on
    a cluster zooms in until the place is a marker of its own, whose click opens its popup; hover highlights
    its cluster; the find box and the layer control filter what the clusters count."""
    fid, name = clustered_pages["fid"], clustered_pages["name"]
    errors: list[str] = []
    context, pg = _clustered_page(browser, clustered_pages["plain"], errors)
    try:
        first = pg.evaluate(CLUSTERS_JS)
        state = pg.evaluate(
            """(fid) => {
              const e = geoplan.byFid[fid], parent = e.group.getVisibleParent(e.layer);
              return {index: !!e.group.zoomToShowLayer && !e.group._featureGroup, clustered: !!(parent && parent.geoplanCluster),
                      hover: window.geoplanUI.highlight(fid) && parent._icon.classList.contains('gp-hover')};
            }""",
            fid,
        )
        pg.evaluate("() => window.geoplanUI.unhighlight()")
        clicks = 0
        for _ in range(16):  # each click zooms to where the cluster holding the place splits
            # A DOM click on the cluster's own icon (other layers' icons may lie over it at the same spot).
            box = pg.evaluate(
                """(fid) => {
                  const e = geoplan.byFid[fid], p = e.group.getVisibleParent(e.layer), zoom = e.group._map.getZoom();
                  // The zoom's moveend, not only its new zoom: Leaflet sets the zoom as its 250 ms animation
                  // starts, and a click on a cluster during the animation is not a zoom (it was a flake).
                  window.gpMoved = false;
                  if (p !== e.layer) { e.group._map.once('moveend', () => { window.gpMoved = true; }); p._icon.click(); }
                  return {own: p === e.layer, zoom: zoom};
                }""",
                fid,
            )
            if box["own"]:
                break
            clicks += 1
            pg.wait_for_function("() => window.gpMoved")
            assert pg.evaluate(f"() => geoplan.byFid[{json.dumps(fid)}].group._map.getZoom()") > box["zoom"]
        pg.wait_for_timeout(300)  # the zoom animation's end: the marker at its place
        own = pg.evaluate(
            """(fid) => { const l = geoplan.byFid[fid].layer;
              if (l._icon) { l._icon.click(); } return {icon: !!l._icon, title: l._icon && l._icon.title}; }""",
            fid,
        )
        pg.locator(".leaflet-popup-content").wait_for(timeout=10_000)
        popup = pg.locator(".leaflet-popup-content").inner_text()
        pg.screenshot(path=str(screenshots_dir() / "clustered-leaf-popup-zh.png"))
        pg.evaluate("(fid) => geoplan.byFid[fid].group._map.closePopup()", fid)
        # Back to the whole city: the find box narrows what the clusters count, the layer control takes a layer off.
        pg.evaluate(
            "(fid) => { const m = geoplan.byFid[fid].group._map; m.setView([37.87, 112.55], 10, {animate: false}); }",
            fid,
        )
        pg.locator(".gp-search input").fill(name)
        pg.wait_for_function("(n) => geoplan.counts().shapes < n", arg=first["shapes"], timeout=10_000)
        pg.wait_for_timeout(200)
        found = pg.evaluate(CLUSTERS_JS)
        pg.locator(".gp-search input").fill("")
        pg.wait_for_function("(n) => geoplan.counts().shapes === n", arg=first["shapes"], timeout=10_000)
        pg.wait_for_timeout(200)
        back = pg.evaluate(CLUSTERS_JS)
    finally:
        context.close()
    assert errors == []
    assert state == {"index": True, "clustered": True, "hover": True}, state
    assert first["clusters"] > 0 and first["held"] > first["clusters"], first
    assert first["markers"] + first["held"] <= first["shapes"], "only what is in view is on the map"
    assert own == {"icon": True, "title": name} and clicks >= 1 and name in popup, (own, clicks, popup)
    assert found["held"] + found["markers"] <= found["shapes"] < first["shapes"], found
    assert back["held"] == first["held"] and back["markers"] == first["markers"], (first, back)


@pytest.mark.browser
def test_a_share_link_to_a_clustered_place_opens_its_popup(browser, clustered_pages):
    """A page drawn with a selected item (the app's ``sel=`` link) zooms until its clustered place is a marker
    of its own and opens that place's popup."""
    errors: list[str] = []
    context, pg = _clustered_page(browser, clustered_pages["shared"], errors)
    try:
        pg.locator(".leaflet-popup-content").wait_for(timeout=15_000)
        popup = pg.locator(".leaflet-popup-content").inner_text()
        own = pg.evaluate(
            "(fid) => { const e = geoplan.byFid[fid]; return e.group.getVisibleParent(e.layer) === e.layer; }",
            clustered_pages["fid"],
        )
    finally:
        context.close()
    assert errors == []
    assert clustered_pages["name"] in popup and own, popup
