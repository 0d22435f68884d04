"""The static site (`geoplan publish`): local files only, the data a fresh build, a map that works served as files."""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from geoplan.cli import app, main
from geoplan.features import COLUMNS, dumps_geojson, features_from_path, features_to_geojson, validate_geojson
from geoplan.publish import FIELDS, data_page, report_slug

from browser_support import free_port, launch, require_chromium, screenshots_dir
from conftest import DATA, REPORT

GUJIAO = DATA / "shapes" / "gujiao.txt"
TILE_HOSTS = re.compile(r"(tile\.openstreetmap\.org|basemaps\.cartocdn\.com)$")
_LOCAL_REF = re.compile(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    data_dir = tmp_path_factory.mktemp("no-corrections")
    result = CliRunner().invoke(app, ["publish", str(REPORT), str(GUJIAO), "-o", str(out), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return out


def test_the_site_has_its_pages_data_and_downloads(site: Path) -> None:
    for name in ("index.html", "index.en.html", "static/site.js", "static/geoplan.js", "static/geoplan.css"):
        assert (site / name).is_file(), name
    for slug in ("taiyuan-2025", "gujiao"):
        for ext in ("geojson", "map.json", "csv", "html"):
            assert (site / "data" / f"{slug}.{ext}").stat().st_size > 0, (slug, ext)
    # Data is fetched, not inlined: no report sentence is in the page's script.
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "data/" in (site / "static" / "site.js").read_text(encoding="utf-8")
    assert '"slug":"taiyuan-2025"' in index
    assert "geoplan.layer(" not in index


def test_every_script_style_and_font_is_a_local_file(site: Path) -> None:
    for page in [site / "index.html", site / "index.en.html", *sorted((site / "data").glob("*.html"))]:
        text = page.read_text(encoding="utf-8")
        refs = _LOCAL_REF.findall(text)
        assert refs, page
        for ref in refs:
            assert not re.match(r"^(?:[a-z]+:)?//", ref, re.IGNORECASE), (page.name, ref)
            assert not ref.startswith("/"), (page.name, ref)  # relative: served under any path
            if not ref.startswith("data:"):
                assert (page.parent / unquote(ref.split("#")[0].split("?")[0])).is_file(), (page.name, ref)
    for css in (site / "static").rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8")):
            assert not re.match(r"^(?:https?:)?//", url), (css, url)


def test_the_geojson_equals_a_fresh_build(site: Path) -> None:
    for path in (REPORT, GUJIAO):
        fresh = dumps_geojson(validate_geojson(features_to_geojson(features_from_path(path))))
        assert (site / "data" / f"{report_slug(path)}.geojson").read_text(encoding="utf-8") == fresh


def test_the_data_page_describes_every_field_and_links_the_downloads(site: Path) -> None:
    page = (site / "data" / "taiyuan-2025.html").read_text(encoding="utf-8")
    doc = json.loads((site / "data" / "taiyuan-2025.geojson").read_text(encoding="utf-8"))
    for key in doc["features"][0]["properties"]:
        assert f"<code>{key}</code>" in page
    assert "(not described)" not in page
    assert set(COLUMNS) <= set(FIELDS)
    assert 'href="taiyuan-2025.geojson"' in page and 'href="taiyuan-2025.csv"' in page
    assert "2025-02-25" in page and "太原市" in page and "keyword-summary" in page


def test_two_reports_with_one_file_name_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "taiyuan-2025.txt"
    other.write_text(GUJIAO.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["publish", str(REPORT), str(other), "-o", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("geoplan: error: ") and str(other) in err and "Traceback" not in err
    assert not (tmp_path / "site").exists()


def test_an_output_path_that_is_a_file_is_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "site"
    blocker.write_text("not a folder", encoding="utf-8")
    assert main(["publish", str(GUJIAO), "-o", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(blocker / "sub") in err and "Traceback" not in err
    assert blocker.read_text(encoding="utf-8") == "not a folder"


@given(st.text(max_size=40))
def test_a_report_file_name_becomes_a_safe_relative_url_part(stem: str) -> None:
    slug = report_slug(Path(f"{stem}.txt"))
    assert slug and re.fullmatch(r"[\w-]+", slug)
    assert not slug.startswith("-") and ".." not in slug and "/" not in slug


def test_the_data_page_escapes_what_a_report_says(tmp_path: Path) -> None:
    gdf = features_from_path(GUJIAO)
    gdf.attrs["report"] = {**gdf.attrs["report"], "title": '<script>alert("x")</script>'}
    doc = features_to_geojson(gdf)
    page = data_page(gdf, "gujiao", {"report": "<b>bold</b>", "reported_on": "2025-01-01"}, doc)
    assert "<script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;" in page and "2025-01-01" in page


# -- in a browser, served as plain files -----------------------------------------------------------


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


_SERVED: dict[str, Path] = {}


def site_dir(url: str) -> Path:
    return _SERVED[url]


@pytest.fixture(scope="module")
def site_url(site: Path) -> Iterator[str]:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    _SERVED[url] = site
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def _open(browser, url: str, size: dict[str, int]):
    context = browser.new_context(viewport=size, locale="zh-CN")
    page = context.new_page()
    page.left = []  # type: ignore[attr-defined]

    def route(r) -> None:
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            page.left.append(r.request.url)  # type: ignore[attr-defined]
            r.abort()

    context.route("**/*", route)
    page.goto(url)
    page.wait_for_function("document.body && document.body.getAttribute('data-geoplan-ready')", timeout=30_000)
    assert page.evaluate("document.body.getAttribute('data-geoplan-ready')") == "1"
    return context, page


def _drawn(page) -> int:
    return page.evaluate("geoplan.counts().shapes")


@pytest.mark.browser
@pytest.mark.parametrize(
    "size", [{"width": 1366, "height": 768}, {"width": 390, "height": 844}], ids=["laptop", "phone"]
)
def test_the_site_draws_filters_and_opens_a_popup_from_files(browser, site_url: str, size: dict[str, int]) -> None:
    context, page = _open(browser, f"{site_url}/index.html", size)
    try:
        layers = [
            layer
            for slug in ("taiyuan-2025", "gujiao")
            for layer in json.loads((site_dir(site_url) / "data" / f"{slug}.map.json").read_text(encoding="utf-8"))[
                "layers"
            ]
        ]
        total = _drawn(page)
        assert total == sum(len(layer["data"]["features"]) for layer in layers) > 0
        assert page.locator(".leaflet-overlay-pane path, .leaflet-marker-pane .leaflet-marker-icon").count() > 0
        page.locator(".leaflet-control-layers").hover()
        overlays = [t.strip() for t in page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
        assert {layer["domain"] for layer in layers} <= set(overlays), overlays
        assert "OpenStreetMap contributors" in page.locator(".leaflet-control-attribution").inner_text()

        # A filter narrows what is drawn and lands in the URL's hash; the hash alone reproduces it.
        page.locator(".gp-site-filters summary").click()
        domain = page.locator('select[data-key="domain"] option').nth(1).get_attribute("value")
        page.locator('select[data-key="domain"]').select_option(domain)
        page.wait_for_function(f"geoplan.counts().shapes < {total}")
        narrowed = _drawn(page)
        assert 0 < narrowed < total
        assert "domain=" in page.url
        # The list beside the map follows the filters: the unplaced items of that domain only, and every item
        # drawn; hovering an item drawn highlights its place.
        docs = [
            json.loads((site_dir(site_url) / "data" / f"{slug}.map.json").read_text(encoding="utf-8"))
            for slug in ("taiyuan-2025", "gujiao")
        ]
        unplaced = [u for doc in docs for u in doc["unplaced"]]
        want = {u["item_id"] for u in unplaced if u["domain"] == domain}
        page.locator(".gp-site-list summary").click()
        got = page.locator(".gp-site-list li[data-gp-item]").evaluate_all("els => els.map(e => e.dataset.gpItem)")
        assert sorted(got) == sorted(want) and len(want) < len({u["item_id"] for u in unplaced})
        placed = page.locator(".gp-site-list li[data-gp-fid]")
        assert placed.count() == page.evaluate("geoplan.counts().items") > 0
        fid = placed.first.get_attribute("data-gp-fid")
        lit = """(fid) => { const e = geoplan.byFid[fid];
            if (e.layer.setStyle) { return e.layer.options.color === '#ff8f00'; }
            const el = e.group.getVisibleParent(e.layer); return !!(el && el._icon && el._icon.classList.contains('gp-hover')); }"""
        assert not page.evaluate(lit, fid)
        placed.first.hover()
        assert page.evaluate(lit, fid)
        page.mouse.move(size["width"] - 5, size["height"] - 5)
        assert not page.evaluate(lit, fid)
        page.locator(".gp-site-list summary").click()
        page.locator(".gp-site-filters summary").hover()  # no place's tooltip in the picture
        if size["width"] > 1000:
            page.screenshot(path=str(screenshots_dir() / "site-laptop-zh.png"))
        page.wait_for_timeout(600)  # the fit to the filtered places is animated (250 ms); its end sets the hash
        link = page.url
        again = context.new_page()
        again.bring_to_front()  # a background tab gets no animation frames
        again.goto(link)
        again.wait_for_function(
            "document.body && document.body.getAttribute('data-geoplan-ready') === '1'", timeout=30_000
        )
        assert _drawn(again) == narrowed
        view = re.search(r"&map=\d+/[\d.]+/[\d.]+$", link)
        assert view and again.url.endswith(view.group(0))  # the view came back with the filters
        assert again.locator('select[data-key="domain"]').input_value() == domain
        again.close()
        page.bring_to_front()

        # The English page keeps the filters; a popup opens on a drawn place.
        page.locator(".gp-site-lang").click()
        page.wait_for_url(re.compile(r"/index\.en\.html#.*domain="), wait_until="commit")
        page.wait_for_function(
            "document.body && document.body.getAttribute('data-geoplan-ready') === '1'", timeout=30_000
        )
        assert _drawn(page) == narrowed
        assert page.locator(".gp-site-filters summary").inner_text().startswith("Filter")
        # A drawn place of the filtered domain, not a district outline (on a phone the domain's markers sit in a
        # cluster, and the first interactive path was the boundaries layer's, which has no popup).
        mark = """() => { for (const e of Object.values(geoplan.byFid)) {
            const el = e.layer._map && (e.layer._path || e.layer._icon);
            if (el) { el.setAttribute('data-gp-test', '1'); return true; } } return false; }"""
        page.wait_for_function("!document.querySelector('.leaflet-zoom-anim')", timeout=10_000)
        assert page.evaluate(mark)
        page.locator("[data-gp-test]").first.dispatch_event("click")  # wherever the controls sit on a phone
        page.wait_for_selector(".leaflet-popup .gp-popup", timeout=10_000)
        assert page.locator(".leaflet-popup .gp-text").first.inner_text().strip()
    finally:
        left = list(page.left)  # type: ignore[attr-defined]
        context.close()
    # Every non-loopback request was aborted; none was a script, style, font or data: only basemap tiles.
    assert all(TILE_HOSTS.search(urlparse(u).hostname or "") for u in left), left
