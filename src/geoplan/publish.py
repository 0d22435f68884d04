"""Reports -> a static site any web server or object store can serve to a whole city.

A Streamlit server runs a session per visitor: 20 visitors at once waited 225-244 s for the map (issue
16). The site is files: ``index.html`` (Chinese) and ``index.en.html`` are the folium map of
``geoplan.maps.build_map`` with its layers left out; ``static/site.js`` fetches each report's drawn places
(``data/<report>.map.json``, the app's own ``map_data``) and draws them with ``static/geoplan.js``, the
same script the app uses. ``data/<report>.geojson`` is the RFC 7946 build (``geoplan build``), with a CSV
and a data page beside it. Every script, style and font is a local file (``geoplan.offline``); only the
basemap tiles are remote. All URLs are relative, so the folder works under any path.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geoplan._io import write_atomic
from geoplan.errors import ExportError
from geoplan.features import dumps_geojson, features_to_geojson, validate_geojson
from geoplan.gazetteer import Gazetteer
from geoplan.maps import (
    DomainLayer,
    Lang,
    MapData,
    build_map,
    domain_colors,
    domains_in_order,
    draws_osm_data,
    js_json,
    map_data,
    map_html,
)
from geoplan.offline import assert_no_cdn, localize

STATIC_DIR = Path(__file__).resolve().parent / "static"
SITE_ASSETS = ("supercluster.min.js", "geoplan.js", "geoplan.css", "map-ui.js", "map-ui.css", "site.js", "site.css")
OSM_CREDIT = "© OpenStreetMap contributors (ODbL)"

# What each feature property means, for the data pages. A column without an entry fails the tests.
FIELDS: dict[str, tuple[str, str]] = {
    "fid": ("要素编号（事项编号-地点序号）", "feature id: item id and place number"),
    "item_id": ("事项编号，由事项文字计算", "item id, a digest of the item's text"),
    "domain": ("领域（报告中的部分）", "domain: the report's part the item is in"),
    "section": ("板块（最内层标题）", "section: the innermost heading"),
    "sections": ("全部标题路径", "all headings above the item"),
    "lines": ("事项在报告中的行号", "lines of the item in the report"),
    "status": ("进度代码", "status code (planning … completing, ongoing_policy)"),
    "status_zh": ("进度（中文）", "status in Chinese"),
    "item_status": ("整项事项的进度", "status of the whole item"),
    "text": ("事项原文", "the item's sentence as in the report"),
    "quantities": ("文中的数量", "quantities the sentence names"),
    "name": ("地点名称", "place name"),
    "matched": ("文中匹配到的地名", "the words in the sentence that named the place"),
    "place_kind": ("地点类型", "kind of place (station, road, district …)"),
    "geometry_kind": ("几何类型：点、线、面", "geometry kind: point, line or area"),
    "precision": ("定位精度", "how precisely the place is located"),
    "precision_code": ("IATI 位置精度代码", "IATI location precision code"),
    "precision_zh": ("定位精度说明（中文）", "precision in Chinese words"),
    "precision_en": ("定位精度说明（英文）", "precision in English words"),
    "district": ("所在区县", "district the place is in"),
    "source": ("位置来源与许可", "where the location comes from, with its licence"),
    "source_url": ("位置来源链接", "link to the location's source"),
    "confidence": ("可信度：高、中、低", "confidence: high, medium, low"),
    "datum": ("坐标基准（输出均为 WGS84）", "datum the location came in (output is always WGS84)"),
    "converted_from": ("转换前的坐标基准", "datum the location was converted from"),
    "geocoder": ("定位所用的地理编码器", "geocoder that located the place"),
    "place_status": ("地点状态：现有或规划", "place status: existing or planned"),
    "unresolved": ("未能定位的地名", "place names that could not be located"),
    "part": ("多地点事项中的序号", "number of the place within an item naming several"),
    "place_from": ("地点取自何处（文字或标题）", "where the place was taken from (sentence or heading)"),
}
FIELD_TYPES = {"lines": "array", "sections": "array", "precision_code": "integer", "unresolved": "array"}


@dataclass(frozen=True)
class PublishedReport:
    """One report on the site: the name its files carry and what it holds."""

    slug: str
    source: str
    features: int
    located: int


def report_slug(path: Path) -> str:
    """The report's file stem, kept to letters, digits, ``-`` and ``_`` (also Chinese): safe in any URL."""
    slug = re.sub(r"[^\w-]+", "-", path.stem, flags=re.UNICODE).strip("-")
    return slug or "report"


def _source_info(report_path: Path) -> dict[str, Any]:
    """``<stem>.source.json`` beside a report (geodata/reports/) says where the text came from and when."""
    side = report_path.with_name(f"{report_path.stem}.source.json")
    if not side.is_file():
        return {}
    try:
        info = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ExportError(f"{side}: cannot read ({err})") from err
    return info if isinstance(info, dict) else {}


def _write(path: Path, data: str | bytes) -> None:
    try:
        write_atomic(path, data)
    except OSError as err:
        raise ExportError(f"{path}: cannot write ({err.strerror or err}); the site is incomplete") from err


def _copy_assets(out: Path) -> None:
    """Vendored Leaflet and plugins (with their licences) and geoplan's own scripts, as files."""
    static = out / "static"
    try:
        if (static / "vendor").exists():
            shutil.rmtree(static / "vendor")
        shutil.copytree(STATIC_DIR / "vendor", static / "vendor")
        for name in SITE_ASSETS:
            shutil.copyfile(STATIC_DIR / name, static / name)
    except OSError as err:
        raise ExportError(f"{static}: cannot copy the site's scripts ({err.strerror or err})") from err


def _page(title: str, body: str, lang: Lang) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(title)}</title><link rel="stylesheet" href="../static/site.css"></head>'
        f'<body class="gp-data-page">{body}</body></html>\n'
    )


def data_page(gdf: gpd.GeoDataFrame, slug: str, info: dict[str, Any], doc: dict[str, Any]) -> str:
    """The report's data page: where it comes from, its city, shape and date, licences, the field dictionary."""
    meta = gdf.attrs.get("report", {})
    city = meta.get("city") or {}
    e = html.escape
    sources = sorted({str(s) for s in gdf["source"].dropna().unique()}) if "source" in gdf.columns else []
    props = list(dict.fromkeys(k for f in doc["features"] for k in f["properties"]))
    rows = "".join(
        f"<tr><td><code>{e(k)}</code></td><td>{e(FIELD_TYPES.get(k, 'string/number'))}</td>"
        f"<td>{e(FIELDS.get(k, ('（未说明）', '(not described)'))[0])}</td>"
        f"<td>{e(FIELDS.get(k, ('', '(not described)'))[1])}</td></tr>"
        for k in props
    )
    facts = [
        ("报告 Report", meta.get("title") or info.get("report") or slug),
        ("来源文件 Source file", meta.get("source") or ""),
        (
            "出处 Published",
            "; ".join(str(info[k]) for k in ("report", "speaker", "occasion", "author", "kind") if info.get(k)),
        ),
        ("城市 City", f"{city.get('name', '')} ({city.get('adcode', '')})" if city else "未识别 not recognised"),
        ("报告形式 Shape", meta.get("shape") or ""),
        ("报告日期 Date", info.get("reported_on") or "未知 unknown"),
        ("生成日期 Built", date.today().isoformat()),
        ("事项与要素 Features", f"{len(gdf)} ({int(gdf.geometry.notna().sum())} 有位置 located)"),
    ]
    osm = draws_osm_data(gdf)
    licence = (
        "报告文字为政府公开文件；地点坐标各有来源与许可（见下表及每个要素的 source 字段）。"
        "Report text: a public government document. Each location carries its source and licence "
        "(below, and in every feature's <code>source</code>)."
    )
    body = (
        f'<p><a href="../index.html">← 地图 Map</a></p><h1>{e(facts[0][1])}</h1>'
        "<table>" + "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in facts) + "</table>"
        f'<h2>下载 Download</h2><ul><li><a href="{e(slug)}.geojson" download>{e(slug)}.geojson</a> '
        "(RFC 7946, WGS84 lon/lat)</li>"
        f'<li><a href="{e(slug)}.csv" download>{e(slug)}.csv</a> (UTF-8, WKT)</li></ul>'
        f"<h2>许可 Licence</h2><p>{licence}</p>"
        + (
            f'<p>{e(OSM_CREDIT)}: <a href="https://www.openstreetmap.org/copyright">openstreetmap.org/copyright</a></p>'
            if osm
            else ""
        )
        + "<h3>位置来源 Location sources</h3><ul>"
        + "".join(f"<li>{e(s)}</li>" for s in sources)
        + "</ul>"
        "<h2>字段说明 Field dictionary</h2><table><tr><th>字段 Field</th><th>类型 Type</th><th>说明</th>"
        f"<th>Meaning</th></tr>{rows}</table>"
    )
    return _page(f"{facts[0][1]} · 数据 Data", body, "zh")


UNPLACED_FIELDS = ("fid", "item_id", "domain", "section", "status", "district", "text", "precision_zh", "precision_en")


def unplaced_items(gdf: gpd.GeoDataFrame) -> list[dict[str, str]]:
    """City-wide and unlocated items (one per item), with what site.js filters and lists them by."""
    rows = gdf[gdf.geometry.isna() | gdf.geometry.is_empty].drop_duplicates("item_id")
    cols = [c for c in UNPLACED_FIELDS if c in rows.columns]
    return [
        {c: str(v) for c, v in zip(cols, values, strict=True) if isinstance(v, str) and v}
        for values in rows[cols].itertuples(index=False, name=None)
    ]


def _layers_json(gdf: gpd.GeoDataFrame, colors: dict[str, str]) -> str:
    """The report's drawn places as the app draws them (``map_data``), colours shared across reports, and
    its unplaced items, which the site's list shows under the same filters."""
    data = map_data(gdf)
    parts = [f'{{"domain":{js_json(d)},"color":{js_json(colors.get(d, c))},"data":{doc}}}' for d, c, doc in data.layers]
    return '{"layers":[' + ",".join(parts) + '],"unplaced":' + js_json(unplaced_items(gdf)) + "}\n"


def _site_map(
    combined: gpd.GeoDataFrame,
    lang: Lang,
    gazetteer: Gazetteer | None,
    reports: Sequence[PublishedReport],
    titles: dict[str, str],
) -> str:
    """The folium page without its domain layers: site.js fetches and draws them."""
    colors = domain_colors(domains_in_order(combined, all_domains=True))
    full = map_data(combined)  # for the legend and the first view; its layers are not written into the page
    skeleton = MapData(
        layers=tuple((d, colors.get(d, c), "") for d, c, _ in full.layers),
        bounds=full.bounds,
        shapes=full.shapes,
        items=full.items,
    )
    m = build_map(
        combined,
        lang=lang,
        gazetteer=gazetteer,
        show_boundaries=gazetteer is not None,
        list_unplaced=False,  # site.js lists them, under the filters
        search=True,
        data=skeleton,
    )
    control = next(c for c in m._children.values() if c.__class__.__name__ == "LayerControl")
    for key in [k for k, c in m._children.items() if isinstance(c, DomainLayer)]:
        del m._children[key]
    # The domain layers brought the marker-cluster plugin; site.js draws them, so the page loads it.
    m.default_js = [*m.default_js, *DomainLayer.default_js]
    m.default_css = [*m.default_css, *DomainLayer.default_css]
    from geoplan.i18n import STATUS, status_label
    from geoplan.maps import KIND_GLYPHS, LABELS

    config = {
        "lang": lang,
        "map": m.get_name(),
        "control": control.get_name(),
        "reports": [{"slug": r.slug, "title": titles[r.slug]} for r in reports],
        "domains": [{"name": d, "color": c} for d, c, _ in skeleton.layers],
        "options": {
            "glyphs": KIND_GLYPHS,
            "labels": LABELS[lang],
            "lang": lang,
            "cluster": True,
            "status_labels": {k: status_label(k, lang) for k in STATUS},
            "planner": False,
        },
        "other": "index.html" if lang == "en" else "index.en.html",
    }
    from geoplan.maps import RawScriptElement

    class _SiteLoader(RawScriptElement):
        def __init__(self) -> None:
            super().__init__()
            self._name = "GeoplanSite"

        @property
        def script_text(self) -> str:
            return f"geoplanSite.start({m.get_name()}, {control.get_name()}, {js_json(config)});"

    m.add_child(_SiteLoader(), name="geoplan_site")
    localize(m, mode="static", static_url="./static/vendor")
    page = map_html(m)
    head = (
        '<link rel="stylesheet" href="static/site.css"><script src="static/site.js"></script>'
        f"<title>{html.escape(' · '.join(titles.values()))}</title></head>"
    )
    page = page.replace("</head>", head, 1)
    assert_no_cdn(page)
    return page


def site_slugs(paths: Sequence[Path]) -> list[str]:
    """The file name each report gets on the site; ``ExportError`` if two would share one (or none given)."""
    if not paths:
        raise ExportError("no report to publish")
    seen: dict[str, Path] = {}
    for path in paths:
        slug = report_slug(path)
        if slug in seen:
            raise ExportError(f"{path}: its file name gives the same page name ({slug}) as {seen[slug]}; rename one")
        seen[slug] = path
    return list(seen)


def publish_site(
    reports: Sequence[tuple[Path, gpd.GeoDataFrame]], out: Path, *, gazetteer: Gazetteer | None = None
) -> list[PublishedReport]:
    """Write the site for ``reports`` (their paths and built features) into ``out``; return what it holds."""
    slugs = site_slugs([p for p, _g in reports])
    from geoplan.export import export_features

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"{out}: cannot make the site's folder ({err.strerror or err})") from err
    _copy_assets(out)
    combined = gpd.GeoDataFrame(pd.concat([g for _p, g in reports], ignore_index=True), crs=reports[0][1].crs)
    combined.attrs["report"] = {
        "domains": list(dict.fromkeys(d for _p, g in reports for d in g.attrs.get("report", {}).get("domains", [])))
    }
    colors = domain_colors(domains_in_order(combined, all_domains=True))
    done: list[PublishedReport] = []
    titles: dict[str, str] = {}
    for (path, gdf), slug in zip(reports, slugs, strict=True):
        doc = validate_geojson(features_to_geojson(gdf))
        data = out / "data"
        _write(data / f"{slug}.geojson", dumps_geojson(doc))
        _write(data / f"{slug}.map.json", _layers_json(gdf, colors))
        try:
            export_features(gdf, data / f"{slug}.csv", "csv")
        except OSError as err:
            raise ExportError(f"{data / f'{slug}.csv'}: cannot write ({err})") from err
        _write(data / f"{slug}.html", data_page(gdf, slug, _source_info(path), doc))
        meta = gdf.attrs.get("report", {})
        city = (meta.get("city") or {}).get("name", "")
        titles[slug] = str(meta.get("title") or " ".join(filter(None, (city, slug))))
        done.append(
            PublishedReport(slug=slug, source=str(path), features=len(gdf), located=int(gdf.geometry.notna().sum()))
        )
    for lang, name in (("zh", "index.html"), ("en", "index.en.html")):
        _write(out / name, _site_map(combined, lang, gazetteer, done, titles))  # type: ignore[arg-type]
    return done
