"""The language switch in Chromium: the SAME map frame (no reload, no new Leaflet) changes its words.

Issue #13 asked for a switch within 1 s; building and loading a new map took 1.1-2.2 s (bench/README.md).
The map carries both languages and the app's view names one (maps.build_map(bilingual=True), geoplan.setLang);
its layers come by URL (Streamlit's media files), fetched once by the frame.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from browser_support import require_chromium, streamlit_server
from conftest import ROOT
from test_browser import MAP_IFRAME, SCREENS, _open, browser  # noqa: F401  (a fixture)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with its layers by URL, as for a large report (the shipped one is small enough to inline), started as
    ``make run`` does: its map rendered before the server knew the URL (``app_map.DATA_URL_SLOT``)."""
    require_chromium()
    data = tmp_path_factory.mktemp("app-data")
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    env = {"GEOPLAN_DATA_DIR": str(data), "GEOPLAN_MAP_INLINE_BYTES": "0"}
    with streamlit_server(ROOT / "streamlit_app.py", cwd=ROOT, env=env, log=log, serve=True) as url:
        yield url


pytestmark = pytest.mark.browser

# The map frame's words as a reader sees them (innerText skips what CSS hides), and the frame's marks.
_WORDS = f"""() => {{
  const f = [...document.querySelectorAll('{MAP_IFRAME}')];
  if (f.length !== 1) return null;
  const w = f[0].contentWindow, d = f[0].contentDocument, q = (s) => d.querySelector(s);
  const popup = q('.leaflet-popup-content');
  // What CSS shows of an element's text (an open popup hides the legend, so innerText would be empty).
  const shown = (el) => [...el.querySelectorAll('.gp-l-zh, .gp-l-en')].filter(s => getComputedStyle(s).display !== 'none')
    .map(s => s.textContent).join('') || el.textContent;
  return {{
    mark: f[0].dataset.gpMark || null, windowMark: w.__gpMark || null, leafletMaps: w.__gpMaps || null,
    lang: q('.leaflet-container') && q('.leaflet-container').getAttribute('data-gp-lang'),
    legend: q('details.gp-legend summary') && shown(q('details.gp-legend summary')),
    find: q('.gp-search input') && q('.gp-search input').placeholder,
    locate: q('.gp-locate a') && q('.gp-locate a').title,
    layers: q('.leaflet-control-layers-overlays') && q('.leaflet-control-layers-overlays').textContent.trim(),
    layersShown: [...d.querySelectorAll('.leaflet-control-layers-overlays label')].map(l => shown(l).trim()),
    popup: popup && popup.innerText,
    entries: w.geoplan && w.geoplan.entries.length,
  }};
}}"""

# Open the popup of the first line or area on the map (not clustered), as a reader's click does.
_OPEN_POPUP = f"""() => {{
  const f = document.querySelector('{MAP_IFRAME}'), w = f.contentWindow;
  const e = w.geoplan.entries.find(e => e.on && e.layer && e.layer.getBounds && e.p.district);
  e.layer.openPopup(e.layer.getBounds().getCenter());
  return e.p.name;
}}"""


def _when(condition: str) -> str:
    """A wait_for_function predicate on the frame's words ``w``."""
    return f"() => {{ const w = ({_WORDS})(); return !!w && ({condition}); }}"


def _sidebar(page, open_: bool) -> None:
    """A phone's sidebar is shut: open it to reach the language radio, shut it again to see the map."""
    button = page.locator(
        '[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button'
        if open_
        else '[data-testid="stSidebarCollapseButton"] button, [data-testid="stSidebarCollapseButton"]'
    ).first
    if button.count() and button.is_visible():
        button.click()
        page.wait_for_timeout(500)


def _switch(page, phone: bool, label: str) -> None:
    if phone:
        _sidebar(page, True)
    page.locator('[data-testid="stSidebar"] label').filter(has_text=label).first.click()
    if phone:
        page.wait_for_timeout(300)
        _sidebar(page, False)


@pytest.mark.parametrize("kind", ["laptop", "phone"])
def test_switching_language_keeps_the_same_map_frame_and_its_words_follow(browser, app_url, kind):  # noqa: F811
    phone = kind == "phone"
    context = browser.new_context(viewport=SCREENS[kind], locale="zh-CN", is_mobile=phone, has_touch=phone)
    try:
        page = context.new_page()
        _open(page, app_url)
        page.wait_for_function(_when("w.entries > 0"), timeout=30_000)
        page.evaluate(
            f"""() => {{ const f = document.querySelector('{MAP_IFRAME}');
            f.dataset.gpMark = 'first'; f.contentWindow.__gpMark = 'first'; }}"""
        )
        zh = page.evaluate(_WORDS)
        assert zh["lang"] == "zh" and zh["legend"] == "图例" and zh["find"] == "在地图上查找"
        assert zh["locate"] == "显示我的位置" and "区县边界" in zh["layersShown"]
        name = page.evaluate(_OPEN_POPUP)
        page.wait_for_function(_when("w.popup && w.popup.includes('定位精度')"), timeout=10_000)

        _switch(page, phone, "English")
        page.wait_for_function(_when("w.find === 'Find on the map'"), timeout=15_000)
        en = page.evaluate(_WORDS)
        # The same iframe element and the same window: nothing was reloaded or rebuilt.
        assert en["mark"] == "first" and en["windowMark"] == "first"
        assert en["lang"] == "en" and en["legend"] == "Legend" and en["locate"] == "Show my location"
        assert "District boundaries" in en["layersShown"] and "区县边界" not in en["layersShown"]
        assert en["entries"] == zh["entries"]
        # The open popup now reads English: its labels, precision and district.
        page.wait_for_function(_when("w.popup && w.popup.includes('Precision')"), timeout=10_000)
        popup = page.evaluate(_WORDS)["popup"]
        assert name in popup and "District" in popup and "定位精度" not in popup and "区县" not in popup
        assert "Xiaodian" in popup or "Yingze" in popup or "Wanbailin" in popup or "District" in popup

        _switch(page, phone, "中文")
        page.wait_for_function(_when("w.find === '在地图上查找'"), timeout=15_000)
        back = page.evaluate(_WORDS)
        assert back["mark"] == "first" and back["windowMark"] == "first"
        assert back["legend"] == "图例" and back["locate"] == "显示我的位置" and "区县边界" in back["layersShown"]
        assert "定位精度" in (back["popup"] or "")
    finally:
        context.close()


def test_the_map_fetches_its_layers_once_by_url(browser, app_url):  # noqa: F811
    """The layers come from Streamlit's media files as JSON, fetched by the map frame; a filter re-sends none."""
    context = browser.new_context(viewport=SCREENS["laptop"], locale="zh-CN")
    try:
        page = context.new_page()
        seen: list[tuple[str, str]] = []
        page.on(
            "response",
            lambda r: seen.append((r.url, r.headers.get("content-type", ""))) if "/media/" in r.url else None,
        )
        _open(page, app_url)
        page.wait_for_function(_when("w.entries > 0"), timeout=30_000)
        layers = [(u, t) for u, t in seen if u.endswith(".json")]
        assert len(layers) == 1 and layers[0][1].startswith("application/json"), seen
        page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
        page.get_by_role("option", name="环境").click()
        page.keyboard.press("Escape")
        page.wait_for_function(
            f"""() => {{ const f = document.querySelector('{MAP_IFRAME}');
            return f && f.contentWindow.geoplan.counts().shapes < f.contentWindow.geoplan.entries.length; }}""",
            timeout=15_000,
        )
        assert len([u for u, _t in seen if u.endswith(".json")]) == 1  # the same frame: nothing fetched again
    finally:
        context.close()


def test_a_domain_unticked_on_a_map_whose_layers_came_by_url_filters_the_page(browser, app_url):  # noqa: F811
    """The two-way filter (the layer control drives the header and the URL) with the layers fetched by URL, as
    the app serves a large report: the domain layers are filled after the map is up, and still post."""
    from geoplan.filters import Filters
    from test_browser import _in_map_counts, _open_layers, _overlay, _shipped, _wait_metric

    context = browser.new_context(viewport=SCREENS["laptop"], locale="zh-CN")
    try:
        page = context.new_page()
        frame = _open(page, app_url)
        page.wait_for_function(
            f"() => {{ const f = document.querySelector('{MAP_IFRAME}'); const g = f && f.contentWindow.geoplan;"
            " return !!g && g.entries.length > 0 && !!f.contentDocument.querySelector('.gp-search-n'); }",
            timeout=30_000,
        )
        gdf = _shipped()
        domains = list(dict.fromkeys(gdf.loc[gdf.geometry.notna(), "domain"]))
        _open_layers(frame)
        before = _in_map_counts(frame)
        _overlay(frame, "民生").uncheck()
        assert _in_map_counts(frame)[0] < before[0]  # at once, in the browser
        kept = tuple(d for d in domains if d != "民生")
        _wait_metric(page, "items", lambda v: v == Filters(domains=kept).apply(gdf)["item_id"].nunique())
        page.wait_for_function(
            "n => new URLSearchParams(location.search).getAll('domain').length === n", arg=len(kept), timeout=10_000
        )
    finally:
        context.close()
