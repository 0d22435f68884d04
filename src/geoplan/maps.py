"""Features -> a folium map: one GeoJSON layer per domain, precision visible, report text escaped.

Each domain is a single ``L.geoJson`` layer (inside a marker cluster group, so crowded points cluster)
whose styles, icons, tooltips and popups come from one small script, ``GEOPLAN_JS``, shipped in the page
header. Doing this in JavaScript from the features' properties keeps the page small (folium's
``style_function`` would write a style table per feature) and keeps escaping in one place: folium
inserts popup and tooltip text as HTML, so every string from a report passes through ``esc()`` here.
The JSON data itself is written with Jinja's ``tojson``, which escapes ``<``, ``>`` and ``&``, so a
``</script>`` inside a report cannot end the page's script. This module never imports streamlit.
"""

from __future__ import annotations

import html
import re
from typing import Any, Literal

import folium
import geopandas as gpd
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Draw, MarkerCluster
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps

from geoplan.datum import Datum, convert_geometry
from geoplan.features import features_to_geojson
from geoplan.gazetteer import Gazetteer

Lang = Literal["zh", "en"]
Basemap = Literal["osm", "light", "amap"]

PALETTE = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22")
KIND_GLYPHS = {
    "station": "站", "bridge": "桥", "spring": "泉", "school": "校", "university": "学", "hospital": "医",
    "facility": "设", "park": "园", "road": "路", "river": "河", "metro_line": "轨", "area": "区",
    "district": "区", "county": "县", "county_city": "市", "city": "市",
}
MAP_PROPERTIES = (
    "fid", "item_id", "domain", "section", "status", "status_zh", "text", "quantities", "name", "matched",
    "place_kind", "geometry_kind", "precision", "precision_code", "precision_zh", "precision_en", "district",
    "source", "source_url", "confidence", "place_status",
)
LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "domain": "领域", "section": "板块", "status": "进度", "quantities": "数量", "precision": "定位精度",
        "source": "位置来源", "confidence": "可信度", "district": "区县", "planned": "规划/在建",
        "legend": "图例", "site": "精确地点", "approx": "大致位置（非精确）", "district_area": "区县范围",
        "planned_line": "规划线路（虚线）", "estimated_line": "估计走向（点线）", "boundaries": "区县边界",
        "unplaced": "全市范围或未定位的事项", "high": "高", "medium": "中", "low": "低",
    },
    "en": {
        "domain": "Domain", "section": "Section", "status": "Status", "quantities": "Quantities",
        "precision": "Precision", "source": "Location source", "confidence": "Confidence",
        "district": "District", "planned": "planned / under construction", "legend": "Legend",
        "site": "exact site", "approx": "approximate position (not a site)", "district_area": "district area",
        "planned_line": "planned line (dashed)", "estimated_line": "estimated course (dotted)",
        "boundaries": "District boundaries", "unplaced": "City-wide or unlocated items",
        "high": "high", "medium": "medium", "low": "low",
    },
}
STATUS_EN = {
    "planning": "planning", "preparatory": "preparatory work", "starting": "starting", "new_build": "new build",
    "under_construction": "under construction", "continuing": "continuing", "completing": "completing",
    "ongoing_policy": "ongoing policy",
}

GEOPLAN_CSS = """
.gp-icon{background:none;border:none}
.gp-pin{width:26px;height:26px;border-radius:50% 50% 50% 0;transform:rotate(-45deg);border:2px solid #fff;
 box-shadow:0 1px 4px rgba(0,0,0,.5);display:flex;align-items:center;justify-content:center}
.gp-pin span{transform:rotate(45deg);color:#fff;font:bold 13px/1 sans-serif}
.gp-approx{width:30px;height:30px;border-radius:50%;border:2px dashed;display:flex;align-items:center;
 justify-content:center;font:bold 12px/1 sans-serif;opacity:.85}
.gp-popup{max-width:340px;font:13px/1.5 sans-serif}
.gp-popup p.gp-text{margin:0 0 6px}
.gp-popup mark{background:#ffe36e;padding:0 1px}
.gp-popup table{border-collapse:collapse}
.gp-popup th{text-align:left;padding-right:8px;color:#555;white-space:nowrap;vertical-align:top}
.gp-legend,.gp-unplaced{background:rgba(255,255,255,.94);padding:8px 10px;border-radius:6px;
 box-shadow:0 1px 5px rgba(0,0,0,.3);font:12px/1.5 sans-serif;max-width:260px}
.gp-legend i{display:inline-block;width:14px;height:10px;margin-right:6px;vertical-align:middle}
.gp-unplaced{max-height:40vh;overflow:auto}
.gp-unplaced li{margin-bottom:4px}
"""

GEOPLAN_JS = r"""
window.geoplan = window.geoplan || (function () {
  var ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;"};
  function esc(s) { return s == null ? "" : String(s).replace(/[&<>"'`]/g, function (c) { return ESC[c]; }); }
  var APPROX = {near: 1, estimated: 1, district: 1, city: 1};
  function planned(p) { return p.place_status && p.place_status !== "existing"; }
  function style(f, o) {
    var p = f.properties, c = o.color, sel = o.selected && o.selected === p.fid;
    if (p.geometry_kind === "line") {
      return {color: c, weight: sel ? 8 : (p.place_kind === "metro_line" ? 5 : 4), opacity: 0.9,
              dashArray: planned(p) ? "10 8" : (APPROX[p.precision] ? "2 7" : null)};
    }
    if (p.precision === "district" || p.precision === "city") {
      return {color: c, weight: sel ? 4 : 1.5, dashArray: "4 6", fillColor: c, fillOpacity: 0.06};
    }
    return {color: c, weight: sel ? 5 : 2, fillColor: c, fillOpacity: 0.25, dashArray: planned(p) ? "6 6" : null};
  }
  function point(f, latlng, o) {
    var p = f.properties, g = esc(o.glyphs[p.place_kind] || "•"), html, size, anchor;
    if (APPROX[p.precision]) {
      html = '<div class="gp-approx" style="border-color:' + o.color + ';color:' + o.color +
             ';background:' + o.color + '22">≈' + g + '</div>';
      size = [30, 30]; anchor = [15, 15];
    } else {
      html = '<div class="gp-pin" style="background:' + o.color + '"><span>' + g + '</span></div>';
      size = [26, 26]; anchor = [13, 30];
    }
    return L.marker(latlng, {icon: L.divIcon({className: "gp-icon", html: html, iconSize: size, iconAnchor: anchor}),
                             title: p.matched || p.name || ""});
  }
  function highlight(text, name) {
    text = text || "";
    var i = name ? text.indexOf(name) : -1;
    if (i < 0) { return esc(text); }
    return esc(text.slice(0, i)) + "<mark>" + esc(name) + "</mark>" + esc(text.slice(i + name.length));
  }
  function popup(p, o) {
    var L_ = o.labels, rows = [
      [L_.domain, esc(p.domain) + (p.section ? " · " + esc(p.section) : "")],
      [L_.status, esc(o.lang === "en" ? (o.status_en[p.status] || p.status) : p.status_zh) +
                  (planned(p) ? " (" + esc(L_.planned) + ")" : "")],
      [L_.quantities, esc(p.quantities)],
      [L_.precision, esc(o.lang === "en" ? p.precision_en : p.precision_zh) +
                     (p.precision_code != null ? " (IATI " + esc(p.precision_code) + ")" : "")],
      [L_.district, esc(p.district)],
      [L_.source, esc(p.source) + (/^https?:\/\//.test(p.source_url || "") ?
          ' <a href="' + esc(p.source_url) + '" target="_blank" rel="noopener noreferrer">↗</a>' : "")],
      [L_.confidence, esc(L_[p.confidence] || p.confidence)]
    ];
    var body = rows.filter(function (r) { return r[1]; }).map(function (r) {
      return "<tr><th>" + esc(r[0]) + "</th><td>" + r[1] + "</td></tr>"; }).join("");
    return '<div class="gp-popup"><b>' + esc(p.matched || p.name) + '</b><p class="gp-text">' +
           highlight(p.text, p.matched) + "</p><table>" + body + "</table></div>";
  }
  var registry = {};
  function layer(data, o) {
    var gj = L.geoJson(data, {
      style: function (f) { return style(f, o); },
      pointToLayer: function (f, latlng) { return point(f, latlng, o); },
      onEachFeature: function (f, l) {
        var p = f.properties;
        l.bindTooltip(esc(p.matched || p.name || ""), {sticky: true});
        l.bindPopup(function () { return popup(p, o); }, {maxWidth: 360});
        registry[p.fid] = l;
      }
    });
    var group = o.cluster ? L.markerClusterGroup({maxClusterRadius: 40, disableClusteringAtZoom: 15,
                                                  showCoverageOnHover: false}) : L.featureGroup();
    group.addLayer(gj);
    return group;
  }
  function open(fid) {
    var l = registry[fid];
    if (l) { l.openPopup(l.getLatLng ? l.getLatLng() : l.getBounds().getCenter()); }
  }
  return {esc: esc, layer: layer, popup: popup, registry: registry, open: open};
})();
"""


_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


def js_literal(obj: Any) -> str:
    """JSON for a <script>: ``<``, ``>``, ``&`` and ``'`` as \\u escapes (as Jinja's ``tojson``), and a
    ``{`` that would open Jinja syntax as \\u007b, because branca renders each element's output a second
    time as a template (``MacroElement.render`` wraps it in ``Element(...)``)."""
    return _JINJA_OPEN.sub(r"\\u007b", str(htmlsafe_json_dumps(obj)))


def html_label(text: str) -> str:
    """Text for an HTML label (Leaflet's layer control uses innerHTML), safe from the second Jinja pass."""
    return html.escape(text).replace("{", "&#123;")


class GeoplanAssets(MacroElement):
    """The shared script and styles, once per page."""

    # streamlit-folium pastes the header into its iframe without running inline scripts, so the script
    # goes in the page's script block (rendered before the layers that call it); the style may stay.
    _template = Template(
        "{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}"
        "{% macro script(this, kwargs) %}{{ this.js }}{% endmacro %}"
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "GeoplanAssets"
        self.css = GEOPLAN_CSS
        self.js = GEOPLAN_JS


class DomainLayer(JSCSSMixin, folium.map.Layer):
    """One domain's features as one GeoJSON layer (clustered points), an overlay in the layer control."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = geoplan.layer({{ this.data_js }}, {{ this.options_js }});"
        "{% endmacro %}"
    )
    default_js = MarkerCluster.default_js
    default_css = MarkerCluster.default_css

    def __init__(self, data: dict[str, Any], *, name: str, options: dict[str, Any], show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "DomainLayer"
        self.data = data
        self.options = options
        self.data_js = js_literal(data)
        self.options_js = js_literal(options)


def domain_colors(domains: list[str]) -> dict[str, str]:
    """A stable colour per domain, in report order."""
    return {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(domains)}


def domains_in_order(gdf: gpd.GeoDataFrame, *, all_domains: bool = False) -> list[str]:
    """Domains in report order; with ``all_domains`` also those the filters hid, so colours stay put."""
    meta = gdf.attrs.get("report", {})
    listed = [d for d in meta.get("domains", []) if all_domains or d in set(gdf["domain"])]
    return listed + [d for d in dict.fromkeys(gdf["domain"]) if d not in listed]


def _map_data(gdf: gpd.GeoDataFrame, basemap: Basemap) -> dict[str, Any]:
    located = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if basemap == "amap":  # AMap tiles are GCJ-02: shift the data so features stay on their streets
        located = located.copy()
        located["geometry"] = [convert_geometry(g, src=Datum.WGS84, dst=Datum.GCJ02) for g in located.geometry]
    doc = features_to_geojson(located)
    keep = set(MAP_PROPERTIES)
    for f in doc["features"]:
        f["properties"] = {k: v for k, v in f["properties"].items() if k in keep and v is not None}
        f.pop("id", None)
    return doc


def _legend_html(colors: dict[str, str], lang: Lang) -> str:
    lab = LABELS[lang]
    rows = "".join(f'<div><i style="background:{c}"></i>{html.escape(d)}</div>' for d, c in colors.items())
    marks = (
        f'<div style="margin-top:6px"><span class="gp-pin" style="display:inline-flex;width:14px;height:14px;'
        f'background:#555;vertical-align:middle"></span> {html.escape(lab["site"])}</div>'
        f'<div><span class="gp-approx" style="display:inline-flex;width:14px;height:14px;border-color:#555;'
        f'vertical-align:middle"></span> {html.escape(lab["approx"])}</div>'
        f'<div><i style="border:1.5px dashed #555;background:#5551"></i>{html.escape(lab["district_area"])}</div>'
        f'<div><i style="border-top:3px dashed #555;height:0"></i>{html.escape(lab["planned_line"])}</div>'
        f'<div><i style="border-top:3px dotted #555;height:0"></i>{html.escape(lab["estimated_line"])}</div>'
    )
    return f'<div class="gp-legend"><b>{html.escape(lab["legend"])}</b>{rows}{marks}</div>'


class _Control(MacroElement):
    """A fixed HTML box in a map corner (legend, list of unplaced items)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function(){var c = L.control({position: {{ this.position_js }}});"
        "c.onAdd = function(){var d = L.DomUtil.create('div'); d.innerHTML = {{ this.html_js }};"
        "L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d); return d;};"
        "c.addTo({{ this._parent.get_name() }});})();"
        "{% endmacro %}"
    )

    def __init__(self, html_text: str, position: str) -> None:
        super().__init__()
        self._name = "GeoplanControl"
        self.html = html_text
        self.position = position
        self.html_js = js_literal(html_text)
        self.position_js = js_literal(position)


def unplaced_html(gdf: gpd.GeoDataFrame, lang: Lang) -> str | None:
    """City-wide and unlocated items, listed (not drawn as a city-sized polygon)."""
    rows = gdf[gdf.geometry.isna() | gdf.geometry.is_empty]
    if rows.empty:
        return None
    items = "".join(
        f"<li><b>{html.escape(str(r.domain))}</b> · {html.escape(str(r.precision_zh if lang == 'zh' else r.precision_en))}"
        f"<br>{html.escape(str(r.text))}</li>"
        for r in rows.drop_duplicates("item_id").itertuples()
    )
    title = html.escape(LABELS[lang]["unplaced"])
    return f'<details class="gp-unplaced"><summary><b>{title} ({rows["item_id"].nunique()})</b></summary><ul>{items}</ul></details>'


def build_map(
    gdf: gpd.GeoDataFrame,
    *,
    lang: Lang = "zh",
    basemap: Basemap = "osm",
    gazetteer: Gazetteer | None = None,
    show_boundaries: bool = False,
    cluster: bool = True,
    selected: str | None = None,
    list_unplaced: bool = False,
    draw: bool = False,
    height: str | int = "100%",
) -> folium.Map:
    """The map of ``gdf``: a layer per domain, basemaps, legend, optional district boundaries."""
    m = folium.Map(location=[37.87, 112.55], zoom_start=10, tiles=None, control_scale=True, height=height,
                   prefer_canvas=False)
    # Only Leaflet itself: jQuery, Bootstrap, Font Awesome and awesome-markers are folium defaults this map
    # never uses, and they are most of a page's bytes.
    m.default_js = [(n, u) for n, u in folium.Map.default_js if n == "leaflet"]
    m.default_css = [(n, u) for n, u in folium.Map.default_css if n == "leaflet_css"]
    if basemap == "amap":
        folium.TileLayer(
            tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            attr="&copy; 高德地图 AutoNavi (GCJ-02)", name="高德地图 AMap" if lang == "zh" else "AMap (GCJ-02)",
            subdomains="1234", max_zoom=18,
        ).add_to(m)
    else:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(m)
        folium.TileLayer(
            tiles="https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
            attr='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> &copy; CARTO',
            name="浅色底图 Light" if lang == "zh" else "Light", subdomains="abcd", max_zoom=20, show=False,
        ).add_to(m)
    m.add_child(GeoplanAssets(), name="geoplan_assets")

    domains = domains_in_order(gdf)
    data = _map_data(gdf, basemap)
    drawn = {f["properties"].get("domain") for f in data["features"]}
    colors = {d: c for d, c in domain_colors(domains_in_order(gdf, all_domains=True)).items() if d in drawn}
    base_opts = {"glyphs": KIND_GLYPHS, "labels": LABELS[lang], "lang": lang, "status_en": STATUS_EN,
                 "cluster": cluster, "selected": selected}
    if show_boundaries and gazetteer is not None and gazetteer.admin_units:
        _boundaries_layer(gazetteer, lang, basemap).add_to(m)
    for domain in domains:
        feats = [f for f in data["features"] if f["properties"].get("domain") == domain]
        if not feats:
            continue
        layer = DomainLayer({"type": "FeatureCollection", "features": feats}, name=html_label(domain),
                            options={**base_opts, "color": colors[domain]})
        layer.add_to(m)
    if draw:  # planners draw a corrected point, line or area
        Draw(export=False, position="topleft",
             draw_options={"polyline": True, "polygon": True, "marker": True, "circle": False,
                           "rectangle": False, "circlemarker": False},
             edit_options={"edit": False, "remove": True}).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    _Control(_legend_html(colors, lang), "bottomright").add_to(m)
    if list_unplaced:
        box = unplaced_html(gdf, lang)
        if box:
            _Control(box, "topleft").add_to(m)
    bounds = _bounds(data, gazetteer)
    if bounds:
        m.fit_bounds(bounds, padding=(20, 20), max_zoom=15)
    if selected:
        m.get_root().script.add_child(Element(
            f"setTimeout(function(){{geoplan.open({js_literal(selected)});}}, 300);"))
    return m


def _boundaries_layer(gazetteer: Gazetteer, lang: Lang, basemap: Basemap) -> folium.GeoJson:
    units = gpd.GeoDataFrame({"name": [u.name for u in gazetteer.admin_units]},
                             geometry=[u.geometry for u in gazetteer.admin_units], crs="EPSG:4326")
    if basemap == "amap":
        units["geometry"] = [convert_geometry(g, src=Datum.WGS84, dst=Datum.GCJ02) for g in units.geometry]
    units["name"] = units["name"].map(html_label)
    return folium.GeoJson(
        units.to_json(drop_id=True), name=LABELS[lang]["boundaries"], show=False, control=True,
        style_function=lambda _f: {"color": "#444", "weight": 1.2, "fillOpacity": 0, "dashArray": "3 4"},
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
    )


def _bounds(data: dict[str, Any], gazetteer: Gazetteer | None) -> list[list[float]] | None:
    import shapely
    from shapely.geometry import shape

    geoms = [shape(f["geometry"]) for f in data["features"] if f.get("geometry")]
    if not geoms and gazetteer is not None and gazetteer.city is not None:
        geoms = [gazetteer.city.geometry]
    if not geoms:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def map_html(m: folium.Map) -> str:
    """The whole page as one HTML string (CDN links still in place; see ``geoplan.offline``)."""
    return m.get_root().render()
