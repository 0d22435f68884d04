"""Report text, place names and notes never run as script in a reader's browser (nor as a template here).

A report full of HTML/JS payloads (in domain names, section titles and item text), a correction whose
place, author and note carry payloads, and a gazetteer place whose name does, are rendered to a map. The
page is parsed: the payloads add no element, appear only inside JSON strings with ``<`` written
``\\u003c``, and every HTML fragment the page hands to ``innerHTML`` (legend, unplaced list, popups,
tooltips, layer names) holds them as text. The tests marked ``browser`` open ``geoplan map``'s standalone
page in Debian's Chromium, click and hover features, and check that no payload ran.

Two bugs these tests found are fixed in ``maps.py`` (geoplan's elements write their scripts uncompiled,
with data as ``js_json``; ``html_label`` escapes what folium's own templates still see):

- branca renders each element's output again as a Jinja template (``MacroElement.render`` wraps it in
  ``Element(...)``, whose ``__init__`` compiles it), so ``{{ … }}`` in a report was evaluated on the server
  (``{{7*7}}`` became ``49``; ``{{cycler.__init__.__globals__.os.popen(…)}}`` ran a command) and
  ``{%``/``{#`` crashed the render.
- domain names went unescaped to ``folium.LayerControl``; Leaflet's layer control sets them with
  ``innerHTML``, so ``关键词:<img src=x onerror=…>`` ran script.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from shapely.geometry import Point

from geoplan import cli, settings
from geoplan.corrections import Correction, CorrectionStore, apply_corrections
from geoplan.features import check_rfc7946, features_from_report, features_to_geojson
from geoplan.gazetteer import load_gazetteer
from geoplan.maps import build_map, map_html, unplaced_html
from geoplan.parse import report_from_path, report_from_text

from browser_support import launch, playwright_api
from conftest import run_node


# HTML and JavaScript payloads; none may become markup or run.
HTML_PAYLOADS = (
    "<script>alert(1)</script>",
    "</script><script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    "<svg onload=window.__pwned=1>",
    "<iframe src=javascript:window.__pwned=1>",
    '<a href="javascript:window.__pwned=1">x</a>',
    "javascript:alert(1)",
    "${alert(1)}",
    "\"'`);window.__pwned=1;//",
    "&lt;b&gt;not decoded&lt;/b&gt;",
)
# Jinja syntax, without spaces (the parser drops layout spaces between non-Latin characters).
TEMPLATE_PAYLOADS = ("{{7*7}}", "{{config}}", "{%raw%}", "{#unclosed-comment")
PLACE_PAYLOAD = '幸福<img src=x onerror="window.__pwned=5">桥'
NOTE_PAYLOAD = 'surveyed <script>window.__pwned=6</script> <img src=x onerror="window.__pwned=7">'
GAZETTEER_PAYLOAD = '迎泽<img src=x onerror="window.__pwned=8">公园'
DANGEROUS_TAGS = ("script", "img", "svg", "iframe", "a", "object", "embed", "b", "style", "link", "meta")


def payload_report(payloads: tuple[str, ...], *, in_domains: bool = True) -> str:
    """Every payload in a domain name, a section title, a drawn item and a city-wide item."""
    lines = ["太原市2025年政府工作报告摘要" + payloads[0]]
    for i, p in enumerate(payloads):
        lines += [
            f"关键词:领域{i}" + (p if in_domains else ""),
            f"□板块{i}{p}",
            f"◆实施迎泽西大街{p}第{i}段改造",  # a gazetteer place: drawn, with popup and tooltip
            f"◆加力优化消费环境{p}第{i}项",
        ]  # no place: listed as city-wide
    lines += ["关键词:民生", f"◆推进幸福街区建设{payloads[0]}", f"◆改造{GAZETTEER_PAYLOAD}。"]
    return "\n".join(lines) + "\n"


def json_escaped(s: str, *, ascii_only: bool = True) -> str:
    """``s`` inside a JSON string as Jinja's ``tojson`` writes it (folium's layers), or with Chinese left
    as UTF-8 (``ascii_only=False``: geoplan's own layers)."""
    return (
        json.dumps(s, ensure_ascii=ascii_only)[1:-1]
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )


def layer_properties(page: str) -> list[dict]:
    """Every item drawn by a ``geoplan.layer(DATA, OPTIONS)`` call, its place's properties merged in."""
    decoder = json.JSONDecoder()
    props = []
    for m in re.finditer(r"geoplan\.layer\(", page):
        data, _ = decoder.raw_decode(page, m.end())
        for f in data["features"]:
            place = {k: v for k, v in f["properties"].items() if k != "items"}
            props += [{**place, **item} for item in f["properties"]["items"]]
    return props


class Page(HTMLParser):
    """Elements and script bodies of a page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.event_attrs: list[tuple[str, str]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.event_attrs += [(tag, k) for k, _ in attrs if k.startswith("on")]
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


@pytest.fixture(scope="module")
def gazetteer(tmp_path_factory):
    """The shipped gazetteer plus one place whose name, source and link are hostile."""
    path = tmp_path_factory.mktemp("gaz") / "extra.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [112.5505, 37.8605]},
                        "properties": {
                            "name": GAZETTEER_PAYLOAD,
                            "aliases": [],
                            "kind": "park",
                            "status": "existing",
                            "precision": "site",
                            "confidence": "low",
                            "datum": "WGS84",
                            "source": 'fixture <img src=x onerror="window.__pwned=9">',
                            "source_url": "javascript:window.__pwned=10",
                        },
                    }
                ],
            },
            ensure_ascii=False,
        ),
        "utf-8",
    )
    return load_gazetteer([path, *settings.gazetteer_paths()])


def features(text: str, gazetteer):
    gdf = features_from_report(report_from_text(text, source="payloads.txt"), gazetteer=gazetteer)
    item = next(i for i in gdf["item_id"][gdf["text"].str.startswith("推进幸福街区建设")])
    correction = Correction(
        id=1,
        item_id=item,
        place=PLACE_PAYLOAD,
        geometry=Point(112.56, 37.87),
        previous=None,
        note=NOTE_PAYLOAD,
        author=HTML_PAYLOADS[2],
        created_at="2025-03-01T00:00:00+00:00",
    )
    gdf, left = apply_corrections(gdf, [correction], gazetteer=gazetteer)
    assert left == []
    return gdf


def page_of(text: str, gazetteer, **kwargs) -> str:
    m = build_map(features(text, gazetteer), gazetteer=gazetteer, show_boundaries=True, list_unplaced=True, **kwargs)
    return map_html(m)


def _harmless(payloads: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"X{i}" for i in range(len(payloads)))


# --------------------------------------------------------------------------- the parsed page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_payloads_add_no_element_and_stay_inside_json_strings(gazetteer, lang):
    page = page_of(payload_report(HTML_PAYLOADS), gazetteer, lang=lang)
    baseline = page_of(payload_report(_harmless(HTML_PAYLOADS)), gazetteer, lang=lang)
    parsed, base = Page(page), Page(baseline)
    assert parsed.tags == base.tags  # no extra <script>, <img>, <svg>, <iframe>, <a> …
    assert parsed.event_attrs == base.event_attrs == []
    values = "\n".join(str(v) for props in layer_properties(page) for v in props.values())
    for p in (*HTML_PAYLOADS, PLACE_PAYLOAD, NOTE_PAYLOAD, GAZETTEER_PAYLOAD):
        if "<" in p:
            assert p not in page
            assert json_escaped(p.partition("{")[0], ascii_only=False) in page, p  # a JSON string, '<' as \u003c
        assert p in values, p  # and it decodes to the very text
    # Outside scripts the page holds no report text at all.
    assert not any("alert" in t or "pwned" in t for t in parsed.text)


def _inner_html_strings(page: str) -> list[str]:
    """The HTML fragments the page hands to ``innerHTML`` (legend and unplaced list)."""
    return [json.loads(s) for s in re.findall(r"d\.innerHTML = (\"(?:[^\"\\]|\\.)*\");", page)]


def test_legend_and_unplaced_list_hold_payloads_as_text(gazetteer):
    page = page_of(payload_report(HTML_PAYLOADS), gazetteer)
    fragments = _inner_html_strings(page)
    assert len(fragments) == 2  # legend, unplaced list
    for fragment in fragments:
        parsed = Page(fragment)
        assert not set(parsed.tags) & set(DANGEROUS_TAGS) - {"b"}, parsed.tags
        assert parsed.event_attrs == []
    legend_text = "".join(Page(fragments[0]).text)
    assert "领域2" in legend_text  # only domains that are drawn
    unplaced = "".join(Page(fragments[1]).text)
    for p in HTML_PAYLOADS:
        assert p in unplaced, p  # literal text once the browser decodes the entities


def test_unplaced_list_escapes_everything():
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(
        {
            "item_id": ["a"],
            "domain": [NOTE_PAYLOAD],
            "precision_zh": ["<i>全市</i>"],
            "precision_en": ["city"],
            "text": [HTML_PAYLOADS[1]],
        },
        geometry=[None],
        crs="EPSG:4326",
    )
    parsed = Page(unplaced_html(gdf, "zh"))
    assert set(parsed.tags) <= {"details", "summary", "b", "ul", "li", "br"}
    assert NOTE_PAYLOAD in "".join(parsed.text) and HTML_PAYLOADS[1] in "".join(parsed.text)


def test_district_names_are_escaped_in_boundary_tooltips(tmp_path):
    """folium's GeoJsonTooltip writes property values as HTML: maps.py escapes the names first."""
    doc = json.loads(settings.gazetteer_paths()[-1].read_text("utf-8"))  # the boundaries come last
    hostile = '小店<img src=x onerror="window.__pwned=11">区'
    doc["features"][1]["properties"]["name"] = hostile
    path = tmp_path / "boundaries.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    gaz = load_gazetteer([path])
    page = map_html(
        build_map(features(payload_report(_harmless(HTML_PAYLOADS)), gaz), gazetteer=gaz, show_boundaries=True)
    )
    assert json_escaped(html.escape(hostile)) in page


def _layer_names(page: str) -> list[str]:
    """Overlay names of the layer control: ``"NAME" : layer_variable,`` lines."""
    keys = re.findall(r"(\"(?:[^\"\\]|\\.)*\")\s*:\s*(?:domain_layer|geo_json)_[0-9a-f]{32},", page)
    assert keys, "no layer control"
    return [json.loads(k) for k in keys]


def test_layer_control_names_hold_payloads_as_text(gazetteer):
    """Leaflet's ``Control.Layers`` writes each overlay name with ``innerHTML``."""
    page = page_of(payload_report(HTML_PAYLOADS), gazetteer)
    names = _layer_names(page)
    assert len(names) > len(HTML_PAYLOADS)
    for name in names:
        parsed = Page(name)
        assert not parsed.tags, (name, parsed.tags)
    texts = ["".join(Page(n).text) for n in names]
    for i, p in enumerate(HTML_PAYLOADS):
        assert f"领域{i}{p}" in texts, p


def test_layer_control_names_without_markup_are_unchanged(gazetteer):
    page = page_of(payload_report(_harmless(HTML_PAYLOADS)), gazetteer)
    assert {f"领域{i}X{i}" for i in range(len(HTML_PAYLOADS))} <= set(_layer_names(page))


@pytest.mark.parametrize("payload", TEMPLATE_PAYLOADS)
def test_report_text_is_never_evaluated_as_a_template(gazetteer, payload):
    page = page_of(payload_report((payload,)), gazetteer)
    props = layer_properties(page)
    assert f"实施迎泽西大街{payload}第0段改造" in {p["text"] for p in props}
    assert f"领域0{payload}" in {p["domain"] for p in props}
    assert f"领域0{payload}" in {html.unescape(n) for n in _layer_names(page)}  # names are HTML


def test_template_injection_cannot_run_code(gazetteer):
    # Harmless here (it only calls os.getpid); with os.popen(dict(id=1)|first) it runs `id`, no quotes needed.
    payload = "{{cycler.__init__.__globals__.os.getpid()}}"
    page = page_of(payload_report((payload,)), gazetteer)
    assert f"实施迎泽西大街{payload}第0段改造" in {p["text"] for p in layer_properties(page)}


# --------------------------------------------------------------------------- the popup builder (node)


def _node_popup(props: list[dict], lang: str = "zh", *, planner: bool = True) -> list[dict[str, str]]:
    from geoplan.maps import LABELS

    return run_node(
        """
const {labels, props, lang, planner} = JSON.parse(require("fs").readFileSync(0, "utf8"));
const o = {labels: labels, lang: lang, status_labels: {}, glyphs: {}, planner: planner};
const entries = props.map(p => ({p: p, o: o, items: [p], shown: [p]}));
console.log(JSON.stringify(entries.map(e => ({popup: window.geoplan.popup(e), tooltip: window.geoplan.tooltip(e)}))));
""",
        {"labels": LABELS[lang], "props": props, "lang": lang, "planner": planner},
    )


def test_popups_and_tooltips_escape_every_field():
    every = " ".join((*HTML_PAYLOADS, *TEMPLATE_PAYLOADS))
    props = {
        k: f"{k}:{every}"
        for k in (
            "domain",
            "section",
            "status_zh",
            "quantities",
            "precision_zh",
            "district",
            "source",
            "confidence",
            "text",
            "name",
        )
    }
    props |= {
        "matched": PLACE_PAYLOAD,
        "text": f"实施{PLACE_PAYLOAD}改造{every}",
        "precision_code": every,
        "source_url": 'https://example.org/"><img src=x onerror=alert(1)>',
        "place_status": "planned",
    }
    hostile_url = dict(props, source_url="javascript:window.__pwned=1", matched=None)
    out = _node_popup([props, hostile_url])
    for o, p in zip(out, (props, hostile_url), strict=True):
        parsed = Page(o["popup"])
        assert set(parsed.tags) <= {"div", "b", "p", "mark", "table", "tr", "th", "td", "a", "ol", "li"}, parsed.tags
        assert parsed.event_attrs == []
        text = "".join(parsed.text)
        for k in ("domain", "section", "quantities", "district", "source"):
            assert p[k] in text, k
        assert p["text"] in text
        tooltip = Page(o["tooltip"])
        assert not tooltip.tags and "".join(tooltip.text) == p["name"]
    links = re.findall(r'<a href="([^"]*)"', out[0]["popup"])
    assert links == [html.escape(props["source_url"])]
    assert "<a " not in out[1]["popup"]  # javascript: URLs get no link

    # Residents get a short source (the site's host, or the citation's first words) with the full one as a
    # title: the same escaping holds in the attribute.
    out = _node_popup([props, hostile_url], planner=False)
    for o in out:
        parsed = Page(o["popup"])
        assert set(parsed.tags) <= {"div", "b", "p", "mark", "table", "tr", "th", "td", "a", "ol", "li", "span"}
        assert parsed.event_attrs == []
        assert "IATI" not in "".join(parsed.text)
    assert re.findall(r'<a class="gp-src" href="([^"]*)"', out[0]["popup"]) == [html.escape(props["source_url"])]
    assert ">example.org ↗</a>" in out[0]["popup"]
    assert "<a " not in out[1]["popup"]


# --------------------------------------------------------------------------- the standalone page


_SETUP = """() => {
    window.__dialogs = window.__dialogs || 0;
    const name = Object.keys(window).find(k => /^map_[0-9a-f]{32}$/.test(k));
    return name;
}"""
# Screen position of a drawn feature: a vertex of a line, the anchor of a marker.
_POSITION = """([mapName, text]) => {
    const map = window[mapName];
    for (const e of geoplan.entries) {
        const l = e.layer;
        if (!e.items.some(it => (it.text || "").includes(text)) && !(e.p.name || "").includes(text)) continue;
        const ll = l.getLatLng ? l.getLatLng() : l.getLatLngs()[Math.floor(l.getLatLngs().length / 2)];
        map.setView(ll, 15, {animate: false});
        const pt = map.latLngToContainerPoint(ll);
        const box = map.getContainer().getBoundingClientRect();
        return {x: box.left + pt.x, y: box.top + pt.y - (l.getLatLng ? 14 : 0)};
    }
    return null;
}"""


def _open_standalone(sync_api, page_file: Path, check) -> dict:
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            # Offline: tiles (the only remote requests of a standalone page) fail harmlessly.
            page.route(re.compile(r"^https?://"), lambda route: route.abort())
            page.goto(page_file.as_uri())
            page.wait_for_selector(".leaflet-interactive, .gp-icon", timeout=15_000)
            map_name = page.evaluate(_SETUP)
            assert map_name
            result = check(page, map_name)
            page.wait_for_timeout(300)  # let any onerror handler fire
            result["pwned"] = page.evaluate("window.__pwned === undefined ? null : window.__pwned")
            result["planted"] = page.evaluate(
                'document.querySelectorAll(\'img[src="x"], svg[onload], iframe, [onerror], [onload], '
                '[onmouseover], a[href^="javascript:"]\').length'
            )
            result["scripts"] = page.evaluate("document.scripts.length")
        finally:
            browser.close()
    result["dialogs"], result["errors"] = dialogs, errors
    return result


def _settled_position(page, map_name: str, text: str) -> dict:
    page.evaluate(_POSITION, [map_name, text])  # centre the feature; no animation
    page.wait_for_timeout(300)  # let a popup's auto-pan or a cluster update finish
    pos = page.evaluate(_POSITION, [map_name, text])
    assert pos, f"no drawn feature for {text!r}"
    return pos


HOVER_TIP = ".leaflet-tooltip:not(.gp-district-label):not(.foliumtooltip)"  # not the district names (shown by default)


def _hover(page, pos: dict) -> str:
    """Move onto the feature (again, if a pan swallowed the first mouseover); return the tooltip's text."""
    sync_api = pytest.importorskip("playwright.sync_api")
    for _ in range(5):
        page.mouse.move(2, 790)
        page.mouse.move(pos["x"], pos["y"], steps=4)
        try:
            page.wait_for_selector(HOVER_TIP, timeout=2_000)
        except sync_api.TimeoutError:
            continue
        return page.inner_text(HOVER_TIP)
    pytest.fail(f"no tooltip at {pos}")


def _click_and_hover(page, map_name: str, drawn: str, marker: str) -> dict:
    out: dict = {}
    for key, text in (("line", drawn), ("marker", marker)):
        pos = _settled_position(page, map_name, text)
        out[f"{key}_tooltip"] = _hover(page, pos)
        page.mouse.click(pos["x"], pos["y"])
        page.wait_for_selector(".leaflet-popup-content", timeout=5_000)
        out[f"{key}_popup"] = page.evaluate("document.querySelector('.leaflet-popup-content').textContent")
        page.evaluate("() => { for (const m in window) if (/^map_/.test(m)) window[m].closePopup(); }")
        page.mouse.move(2, 790)  # off the feature: its tooltip closes
        page.wait_for_selector(HOVER_TIP, state="detached", timeout=5_000)
    page.evaluate("document.querySelector('.gp-unplaced').open = true")  # long layer names may cover it
    out["unplaced"] = page.evaluate("document.querySelector('.gp-unplaced').textContent")
    out["legend"] = page.evaluate("document.querySelector('.gp-legend').textContent")
    out["layers"] = page.evaluate("document.querySelector('.leaflet-control-layers-overlays').textContent")
    return out


def _standalone_map(tmp_path: Path, capsys, report_text: str) -> Path:
    report = tmp_path / "payloads.txt"
    report.write_text(report_text, "utf-8")
    item = next(it for it in report_from_path(report).items if it.text.startswith("推进幸福街区建设"))
    CorrectionStore().add(
        item.id, "POINT (112.56 37.87)", note=NOTE_PAYLOAD, author=HTML_PAYLOADS[2], place=PLACE_PAYLOAD
    )
    out = tmp_path / "map.html"
    rc = cli.main(["map", str(report), "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    return out


def _assert_nothing_ran(state: dict, page_file: Path) -> None:
    assert state["dialogs"] == []
    assert state["pwned"] is None
    assert state["planted"] == 0
    assert state["scripts"] == Page(page_file.read_text("utf-8")).tags["script"]  # none added at run time
    assert state["errors"] == []


BIG_PAYLOAD = "".join(HTML_PAYLOADS)


@pytest.mark.browser
def test_standalone_map_runs_no_payload_in_chromium(tmp_path, capsys):
    sync_api = playwright_api()
    page_file = _standalone_map(tmp_path, capsys, payload_report((BIG_PAYLOAD,), in_domains=False))
    state = _open_standalone(
        sync_api, page_file, lambda page, name: _click_and_hover(page, name, "第0段改造", PLACE_PAYLOAD)
    )
    _assert_nothing_ran(state, page_file)
    assert state["line_tooltip"] == "迎泽西大街"
    assert f"实施迎泽西大街{BIG_PAYLOAD}第0段改造" in state["line_popup"]
    assert f"板块0{BIG_PAYLOAD}" in state["line_popup"]
    assert state["marker_tooltip"] == PLACE_PAYLOAD
    for literal in (PLACE_PAYLOAD, NOTE_PAYLOAD, HTML_PAYLOADS[2], "推进幸福街区建设" + BIG_PAYLOAD):
        assert literal in state["marker_popup"], literal
    assert f"加力优化消费环境{BIG_PAYLOAD}第0项" in state["unplaced"]


@pytest.mark.browser
def test_standalone_map_with_hostile_domain_names_in_chromium(tmp_path, capsys):
    sync_api = playwright_api()
    payload = BIG_PAYLOAD + "{{7*7}}"
    page_file = _standalone_map(tmp_path, capsys, payload_report((payload,)))
    state = _open_standalone(
        sync_api, page_file, lambda page, name: _click_and_hover(page, name, "第0段改造", PLACE_PAYLOAD)
    )
    _assert_nothing_ran(state, page_file)
    assert f"实施迎泽西大街{payload}第0段改造" in state["line_popup"]
    assert f"领域0{payload}" in state["line_popup"]
    assert f"领域0{payload}" in state["layers"]
    assert f"领域0{payload}" in state["legend"]


def test_payload_reports_build_valid_geojson(gazetteer):
    for text in (payload_report(HTML_PAYLOADS), payload_report(TEMPLATE_PAYLOADS)):
        doc = features_to_geojson(features(text, gazetteer))
        assert check_rfc7946(doc) == []
        assert any(f["properties"]["name"] == GAZETTEER_PAYLOAD for f in doc["features"])
