"""Features -> a folium map: one GeoJSON layer per domain, each place drawn once, report text escaped.

Each domain is a single ``L.geoJson`` layer (inside a marker cluster group, so crowded points cluster)
whose styles, icons, tooltips and popups come from one small script, ``static/geoplan.js``, shipped with
the page. A place that several items name is one shape listing its items: a report names the same district
or road again and again, and thousands of identical SVG paths made 10k features take 1.8 s to toggle
and 100k never paint (bench/README.md). Escaping stays in one place: folium inserts popup and tooltip
text as HTML, so every string from a report passes through ``esc()`` here, and the data is written as
JSON with ``<``, ``>``, ``&`` and ``'`` as ``\\u`` escapes, so a ``</script>`` inside a report cannot end
the page's script. The data never passes through Jinja (branca compiles an element's output as a
template a second time: slow on megabytes, and ``{{ … }}`` in a report would run on the server).

``map_view`` filters and selects in the browser, on a map that stays loaded: the app sends the fids to
show, not a new map. This module never imports streamlit.
"""

from __future__ import annotations

import errno
import hashlib
import html
import json
import re
import secrets
import urllib.parse
from concurrent.futures.process import BrokenProcessPool
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from geoplan import _folium  # noqa: F401  (first: folium's templates then compile when used)
import folium
import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Draw, MarkerCluster
from folium.elements import ElementAddToElement
from jinja2 import Template

from geoplan import _io, settings
from geoplan._io import gc_paused, write_atomic
from geoplan.datum import Datum, convert_geometry
from geoplan.features import checked_rows, clean_geometries, geometries_to_geojson, json_value
from geoplan.gazetteer import Gazetteer
from geoplan.resources import static_text
from geoplan.i18n import STATUS, precision_label, status_label
from geoplan.vocab import admin_name, domain_gloss, domain_name

Lang = Literal["zh", "en"]
Basemap = Literal["osm", "light", "amap"]

PALETTE = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
KIND_GLYPHS = {
    "station": "站",
    "bridge": "桥",
    "spring": "泉",
    "school": "校",
    "university": "学",
    "hospital": "医",
    "facility": "设",
    "park": "园",
    "road": "路",
    "river": "河",
    "metro_line": "轨",
    "area": "区",
    "district": "区",
    "county": "县",
    "county_city": "市",
    "city": "市",
    "rail_line": "铁",
    "water": "水",
}
# A drawn feature is a place (these properties) carrying the items that name it (ITEM_PROPERTIES).
PLACE_PROPERTIES = (
    "domain",
    "name",
    "place_kind",
    "geometry_kind",
    "precision",
    "precision_code",
    "precision_zh",
    "precision_en",
    "district",
    "source",
    "source_url",
    "confidence",
    "place_status",
)
AREA_PRECISIONS = frozenset({"district", "city"})  # drawn as faint areas, left out of the view's fit
ITEM_PROPERTIES = ("fid", "item_id", "section", "status", "status_zh", "text", "quantities", "matched")
LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "domain": "领域",
        "section": "板块",
        "status": "进度",
        "quantities": "数量",
        "precision": "定位精度",
        "source": "位置来源",
        "confidence": "可信度",
        "district": "区县",
        "planned": "规划/在建",
        "legend": "图例",
        "site": "精确地点",
        "approx": "大致位置（非精确）",
        "district_area": "区县范围",
        "planned_line": "规划线路（虚线）",
        "estimated_line": "估计走向（点线）",
        "boundaries": "区县边界",
        "unplaced": "全市范围或未定位的事项",
        "high": "高",
        "medium": "中",
        "low": "低",
        "n_items": "{n} 项事项",
        "more": "另有 {n} 项，见事项表",
        "search": "在地图上查找",
        "found": "{n} 项",
        "shown": "地图上 {n} 项 · {p} 处",
        "loading": "加载中…",
    },
    "en": {
        "domain": "Domain",
        "section": "Section",
        "status": "Status",
        "quantities": "Quantities",
        "precision": "Precision",
        "source": "Location source",
        "confidence": "Confidence",
        "district": "District",
        "planned": "planned / under construction",
        "legend": "Legend",
        "site": "exact site",
        "approx": "approximate position (not a site)",
        "district_area": "district area",
        "planned_line": "planned line (dashed)",
        "estimated_line": "estimated course (dotted)",
        "boundaries": "District boundaries",
        "unplaced": "City-wide or unlocated items",
        "high": "high",
        "medium": "medium",
        "low": "low",
        "n_items": "{n} items",
        "more": "{n} more: see the table",
        "search": "Find on the map",
        "found": "{n} found",
        "shown": "{n} items · {p} places on the map",
        "loading": "loading…",
    },
}
STATUS_EN = {
    "planning": "planning",
    "preparatory": "preparatory work",
    "starting": "starting",
    "new_build": "new build",
    "under_construction": "under construction",
    "continuing": "continuing",
    "completing": "completing",
    "ongoing_policy": "ongoing policy",
}

# The shared script and style sheet (``static/geoplan.js``, ``static/geoplan.css``), read where they are
# used: the app serves them as files, standalone pages inline them (geoplan.offline). Before them the point
# index that clusters banded layers (``static/supercluster.min.js``, supercluster 9.1.0, ISC, vendored:
# ``static/supercluster.LICENSE.txt``).
GEOPLAN_ASSETS = ("supercluster.min.js", "geoplan.js", "geoplan.css")


_SCRIPT_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("'", "\\u0027"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


_SCRIPT_ESCAPES_UTF8 = tuple((char.encode(), escaped.encode()) for char, escaped in _SCRIPT_ESCAPES)


def js_json(obj: Any) -> str:
    """Compact UTF-8 JSON safe inside a ``<script>``: ``<``, ``>``, ``&``, ``'`` as \\u escapes (as Jinja's
    ``tojson``, so ``</script>`` in a report stays a string). Chinese stays UTF-8: ``tojson`` writes six
    bytes per character and made the data 14 % larger (bench/README.md).

    Written by orjson (numpy arrays of coordinates as nested arrays; 5x ``json.dumps`` on 10k distinct
    places, bench/README.md); what orjson refuses (a lone surrogate, an integer beyond 64 bits, a key
    that is not text) goes through ``json.dumps`` as before.
    """
    data = _js_json_utf8(obj)
    return data if isinstance(data, str) else data.decode("utf-8")


def _js_json_utf8(obj: Any, *, text: bool = True) -> bytes | str:
    """``js_json(obj)`` as UTF-8 bytes as orjson wrote them, or as text where ``json.dumps`` had to.

    ``text=False`` says that ``obj`` holds no text that could need escaping (geometries: type names, numbers,
    nulls), so orjson's bytes are not searched for it: five passes over a zoom band's megabytes.
    """
    try:
        data = orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        dumped = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        for char, escaped in _SCRIPT_ESCAPES:
            dumped = dumped.replace(char, escaped)
        return dumped
    if not text:
        return data
    for raw, escaped_raw in _SCRIPT_ESCAPES_UTF8:
        data = data.replace(raw, escaped_raw)
    return data


def html_label(text: str) -> str:
    """Text for an HTML label (Leaflet's layer control uses innerHTML), safe from branca's second Jinja pass
    (``MacroElement.render`` compiles each element's output as a template: ``{{ … }}`` would run)."""
    return html.escape(text).replace("{", "&#123;")


class RawScript(Element):
    """Script text put into the page as it is: branca never compiles it as a template."""

    _template = Template("{{ this.code }}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "RawScript"
        self.code = code


class RawScriptElement(MacroElement):
    """An element whose ``script_text`` goes into the page uncompiled.

    branca's ``MacroElement.render`` wraps each script in ``Element(text)``, which compiles the text, data
    included, as a Jinja template; streamlit-folium calls the ``script`` macro directly, so both paths get
    ``script_text`` and neither evaluates what a report put there.
    """

    _template = Template("{% macro script(this, kwargs) %}{{ this.script_text }}{% endmacro %}")

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca is untyped

    @property
    def script_text(self) -> str:
        raise NotImplementedError

    @property
    def parent_name(self) -> str:
        """The JavaScript name of the element this one was added to (the map, mostly)."""
        if self._parent is None:
            raise RuntimeError(f"{type(self).__name__} is not added to a map")
        return self._parent.get_name()

    def page(self) -> Figure:
        """The page this element is rendered into."""
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise RuntimeError(f"{type(self).__name__} is not in a page")
        return figure

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # branca's elements return None too
        figure = self.page()
        for name, url in getattr(self, "default_js", []):
            figure.header.add_child(folium.JavascriptLink(url), name=name)
        for name, url in getattr(self, "default_css", []):
            figure.header.add_child(folium.CssLink(url), name=name)
        if getattr(self, "show", False) and getattr(self, "overlay", False):
            self.add_child(
                ElementAddToElement(element_name=self.get_name(), element_parent_name=self.parent_name),
                name=self.get_name() + "_add",
            )
        figure.script.add_child(RawScript(self.script_text), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class GeoplanAssets(RawScriptElement, JSCSSMixin):
    """The shared script and styles, once per page.

    ``geoplan.offline.localize`` links them as the vendored Leaflet (``mode="static"``: listed in
    ``default_js``/``default_css``, which streamlit-folium loads before the map's script from every element
    that is a ``JSCSSMixin``) or inlines them (``mode="inline"``). Without ``localize`` the script goes in
    the page's script block (before the layers that call it) and the style in the header.
    """

    def __init__(self) -> None:
        super().__init__()
        self._name = "GeoplanAssets"
        self.static_files = GEOPLAN_ASSETS
        self.linked = False  # set by geoplan.offline.localize

    @property
    def script_text(self) -> str:
        if self.linked:
            return ""
        return "\n".join(static_text(name) for name in GEOPLAN_ASSETS if name.endswith(".js"))

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        if not self.linked:
            self.page().header.add_child(Element(f"<style>{static_text('geoplan.css')}</style>"), name=self.get_name())
        super().render(**kwargs)


class DomainLayer(RawScriptElement, JSCSSMixin, folium.map.Layer):
    """One domain's places as one GeoJSON layer (clustered points), an overlay in the layer control.

    ``data_json`` is the FeatureCollection already serialised by ``js_json``, so the app can cache it and
    build the map around it in milliseconds.
    """

    default_js = MarkerCluster.default_js
    default_css = MarkerCluster.default_css

    def __init__(
        self,
        data_json: str,
        *,
        name: str,
        options: dict[str, Any],
        show: bool = True,
        control: bool = True,
        bands: tuple[str | JsonFile, ...] = (),
        deferred: bool = False,
        props: str | JsonFile = "",
        src: dict[str, Any] | None = None,
    ) -> None:
        folium.map.Layer.__init__(self, name=name, overlay=True, control=control, show=show)
        self.src = src  # {url, i}: the features are the i-th of the JSON list at url, fetched by geoplan.js
        self._name = "DomainLayer"
        self.data_json = data_json
        self.options = options
        self.bands = bands
        self.deferred = deferred and bool(bands)
        self.props = props if bands else ""
        self.data_dir: str | None = None  # set by save_map: the bands are files in this folder beside the page

    def band_ids(self) -> list[str]:
        return [f"{self.get_name()}_band{k}" for k in range(1, len(self.bands) + 1)]

    def props_id(self) -> str:
        return f"{self.get_name()}_props"

    def data_blocks(self) -> list[tuple[str, str | JsonFile]]:
        """(id, JSON) of each finer band, then of the deferred properties: what goes beside the page or in it."""
        blocks: list[tuple[str, str | JsonFile]] = list(zip(self.band_ids(), self.bands, strict=True))
        if self.props:
            blocks.append((self.props_id(), self.props))
        return blocks

    def data_files(self) -> dict[str, tuple[str, str | JsonFile, str]]:
        """The bands (and deferred properties) as scripts for ``data_dir`` (file name -> its text in three
        pieces, the JSON itself in the middle, so save_map writes it without a copy, or copies it from the
        ``JsonFile`` map_data spilled it to): each hands its data to geoplan.band, as a band does."""
        return {f"{i}.js": band_call(i, data) for i, data in self.data_blocks()}

    @property
    def script_text(self) -> str:
        # Banded layers cluster with geoplan.js's point index unless LOD_CLUSTER_INDEX is off (bench/).
        off = ({} if LOD_CLUSTER_INDEX else {"index": False}) | ({} if LOD_LAZY_BIND else {"eager": True})
        if self.src is not None:  # its bands and properties, if any, come with the data (layers_json)
            return f"var {self.get_name()} = geoplan.layer({js_json(self.src)}, {js_json({**self.options, **off})});"
        if not self.bands:
            return f"var {self.get_name()} = geoplan.layer({self.data_json}, {js_json(self.options)});"
        options = {**self.options, "zooms": [zoom for zoom, _tol in DRAW_BANDS[1:]], **off}
        data = self.data_json
        if self.data_block():  # the features as a JSON block in the page (render), parsed as JSON
            data = f"JSON.parse(document.getElementById({js_json(self.data_id())}).textContent)"
        # In files beside the page (save_map), loaded when the map first reaches their zoom; deferred, each
        # finer band is a JSON block (``<script type="application/json">``) the browser only tokenises, parsed
        # when first needed; else the arrays are in the script itself.
        # The properties likewise: a file, a JSON block or inline, loaded after the first draw (geoplan.js).
        props = "null"
        if self.data_dir is not None:
            bands = js_json([{"id": i, "src": f"{self.data_dir}/{i}.js"} for i in self.band_ids()])
            if self.props:
                props = js_json({"id": self.props_id(), "src": f"{self.data_dir}/{self.props_id()}.js"})
        elif self.deferred:
            bands = js_json(self.band_ids())
            props = js_json(self.props_id()) if self.props else props
        else:
            bands = "[" + ",".join(map(json_text, self.bands)) + "]"
            props = json_text(self.props) if self.props else props
        return f"var {self.get_name()} = geoplan.layer({data}, {js_json(options)}, {bands}, {props});"

    def data_id(self) -> str:
        return f"{self.get_name()}_data"

    def data_block(self) -> bool:
        """Whether the features go in a JSON block rather than in the script: a banded layer's, in a page that
        ``render`` writes (``save_map``, or with its bands deferred). V8 parses JSON.parse's text faster than
        the same object as a script literal: at 100k distinct places the first draw's main-thread CPU fell by
        ~1 s (bench/README.md). LOD_DATA_BLOCK off: in the script, as before (bench/)."""
        return LOD_DATA_BLOCK and bool(self.bands) and self.src is None and (self.data_dir is not None or self.deferred)

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        if self.data_block():
            # js_json writes < and > as \u escapes: the text cannot close its script element.
            block = f'<script type="application/json" id="{self.data_id()}">{self.data_json}</script>'
            self.page().html.add_child(RawScript(block), name=self.data_id())
        if self.deferred and self.data_dir is None:
            for block_id, data in self.data_blocks():
                # js_json writes < and > as \u escapes: the text cannot close its script element.
                block = f'<script type="application/json" id="{block_id}">{json_text(data)}</script>'
                self.page().html.add_child(RawScript(block), name=block_id)
        super().render(**kwargs)


class MapView(RawScriptElement, folium.FeatureGroup):
    """Which items the map shows and which one is selected, applied in the browser by ``geoplan.view``.

    A FeatureGroup so that streamlit-folium can take it as ``feature_group_to_add``: it re-runs this small
    script on a map that stays loaded, instead of sending a new map (a new iframe that reloads Leaflet
    cost ≥ 1.2 s per filter change even at 1k features; bench/README.md).
    """

    def __init__(self, fids: list[str] | None = None, *, selected: str | None = None, lang: Lang | None = None) -> None:
        folium.FeatureGroup.__init__(self, name="geoplan view", control=False, show=False)
        self._name = "FeatureGroup"  # streamlit-folium adds the variable ``feature_group_<its id>`` to the map
        key = "all" if fids is None else hashlib.sha1("\n".join(sorted(fids)).encode()).hexdigest()[:16]
        self.state: dict[str, Any] = {"fids": fids, "selected": selected, "key": key}
        if lang is not None:  # a bilingual map (build_map) shows this language's words
            self.state["lang"] = lang

    @property
    def script_text(self) -> str:
        return f"var {self.get_name()} = L.layerGroup();geoplan.view({self.parent_name}, {js_json(self.state)});"


def map_view(
    shown: gpd.GeoDataFrame,
    all_features: gpd.GeoDataFrame | None = None,
    *,
    selected: str | None = None,
    lang: Lang | None = None,
) -> MapView:
    """The view showing the located rows of ``shown`` (everything, if it holds all of ``all_features``), in
    ``lang`` on a bilingual map."""
    fids = shown.loc[shown.geometry.notna(), "fid"].tolist()
    if all_features is not None and len(fids) == int(all_features.geometry.notna().sum()):
        return MapView(None, selected=selected, lang=lang)
    return MapView(fids, selected=selected, lang=lang)


def domain_colors(domains: list[str]) -> dict[str, str]:
    """A stable colour per domain, in report order."""
    return {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(domains)}


def domains_in_order(gdf: gpd.GeoDataFrame, *, all_domains: bool = False) -> list[str]:
    """Domains in report order; with ``all_domains`` also those the filters hid, so colours stay put."""
    meta = gdf.attrs.get("report", {})
    seen = list(gdf["domain"].unique())  # in order of appearance; iterating the column was 0.1 s at 10k rows
    present = set(seen)
    listed = [d for d in meta.get("domains", []) if all_domains or d in present]
    return listed + [d for d in seen if d not in listed]


@dataclass(frozen=True)
class JsonFile:
    """JSON text ``map_data`` wrote to a file instead of keeping it (its ``spill`` folder): ``save_map`` copies it
    into the page's data file a slice at a time. At 100k distinct places the zoom bands and deferred properties
    are ~450 MB of text, which as strings were most of ``geoplan map``'s peak memory (bench/README.md)."""

    path: Path
    size: int  # bytes (UTF-8)

    def text(self) -> str:
        return self.path.read_text("utf-8")

    def pieces(self, size: int = 1 << 22) -> Iterator[bytes]:
        """The file's bytes, ``size`` at a time; a file that is not ``size`` bytes long is an error."""
        read = 0
        with self.path.open("rb") as fh:
            while piece := fh.read(size):
                read += len(piece)
                yield piece
        if read != self.size:
            raise _io.TruncatedWriteError(errno.EIO, f"{self.path}: {read:,} of {self.size:,} bytes")


def json_text(data: str | JsonFile) -> str:
    """The JSON text itself, whether kept as a string or written to a file."""
    return data if isinstance(data, str) else data.text()


@dataclass(frozen=True)
class MapData:
    """The drawn part of a map, serialised once: per domain its colour and its places as JSON."""

    layers: tuple[tuple[str, str, str], ...]  # (domain, colour, FeatureCollection as js_json)
    bounds: tuple[float, float, float, float] | None  # lon/lat of the sites and lines drawn (areas if none)
    shapes: int  # features drawn (one per domain and place)
    items: int  # located rows they carry
    # Per layer, the finer zoom bands' geometries (``DRAW_BANDS[1:]``) as js_json arrays aligned with the
    # layer's features (null: as the band before); empty when the layer's features carry their full geometry.
    # A ``JsonFile`` instead of a string when ``map_data`` was given a ``spill`` folder (``geoplan map``).
    bands: tuple[tuple[str | JsonFile, ...], ...] = ()
    # Per layer, with bands: every feature's whole properties (popup text, items) as a js_json array aligned
    # with the layer's features, whose own properties then keep only what drawing needs (DRAW_PROPERTIES and
    # the items' fids); "" for a layer that carries its properties. Empty when no layer has bands.
    props: tuple[str | JsonFile, ...] = ()


def band_call(block_id: str, data: str | JsonFile) -> tuple[str, str | JsonFile, str]:
    """The script of a band's (or deferred properties') data file in three pieces, the JSON in the middle (so
    that save_map writes it without a copy): it hands the JSON to geoplan.band under ``block_id``."""
    return f"geoplan.band({js_json(block_id)},", data, ");\n"


def _band_id(layer: int, band: int) -> str:
    """The id of layer ``layer``'s finer band ``band`` (1 = ``DRAW_BANDS[1]``) in a map built from ``MapData``."""
    return f"gp{layer}_band{band}"


def _props_id(layer: int) -> str:
    """The id of layer ``layer``'s deferred properties in a map built from ``MapData``."""
    return f"gp{layer}_props"


def band_scripts(data: MapData) -> list[tuple[str, str]]:
    """(id, script) of each banded layer's finer zoom bands and deferred properties, as ``save_map``'s data
    files (each hands its data to geoplan.band): what a map built with ``data_url`` loads only when it needs
    it, a band when the map first reaches its zoom, the properties after the first draw."""
    out: list[tuple[str, str]] = []
    for i in range(len(data.layers)):
        blocks = [(_band_id(i, k), band) for k, band in enumerate(data.bands[i] if data.bands else (), 1)]
        if data.props and data.props[i]:
            blocks.append((_props_id(i), data.props[i]))
        for block, text in blocks:
            head, body, tail = band_call(block, text)
            out.append((block, head + json_text(body) + tail))
    return out


def layers_json(data: MapData, urls: Mapping[str, str] | None = None) -> bytes:
    """What a map built with ``data_url`` fetches (the app serves it once instead of re-sending it in every
    rerun's script): ``{"layers": [FeatureCollection, …], "bands": [… | null, …], "props": [… | null, …]}``
    in ``data.layers``' order. Without ``urls`` each layer's finer zoom bands and deferred properties are in
    it; with ``urls`` (``band_scripts`` id -> where that script is served) they are ``{id, src}`` references."""
    n = len(data.layers)
    bands, props = [], []
    for i in range(n):
        layer_bands = data.bands[i] if data.bands else ()
        layer_props = data.props[i] if data.props else ""
        if urls is None:
            bands.append(("[" + ",".join(map(json_text, layer_bands)) + "]") if layer_bands else "null")
            props.append(json_text(layer_props) if layer_props else "null")
            continue
        ids = [_band_id(i, k) for k in range(1, len(layer_bands) + 1)]
        bands.append(js_json([{"id": b, "src": urls[b]} for b in ids]) if ids else "null")
        props.append(js_json({"id": _props_id(i), "src": urls[_props_id(i)]}) if layer_props else "null")
    return (
        '{"layers":['
        + ",".join(doc for _domain, _color, doc in data.layers)
        + '],"bands":['
        + ",".join(bands)
        + '],"props":['
        + ",".join(props)
        + "]}"
    ).encode("utf-8")


# Zoom bands for drawing many vertices (``map_data(lod=True)``): (first zoom, simplification tolerance in
# degrees, None = the geometry itself). The tolerance is about half a screen pixel at the band's last zoom
# (a pixel is 360 / 2**(z+8) degrees of longitude), so the eye sees no difference; the browser builds only
# the band its zoom needs, and only for what meets the view (geoplan.js).
DRAW_BANDS: tuple[tuple[int, float | None], ...] = ((0, 5e-4), (11, 8e-5), (14, None))
# A layer gets zoom bands above this many vertices: below it the whole layer draws in well under a second
# (the 10k features of the shared 230 places, 0.9 s), and a single geometry per feature is simpler.
LOD_MIN_VERTICES = 50_000
# The finer bands as JSON blocks parsed on demand (True) or inside the layer's script; banded lines and
# areas on one canvas per layer (True) or as SVG paths. Chosen by bench/render.py's figures (bench/README.md).
LOD_DEFERRED = True
LOD_CANVAS = False
LOD_ANIMATE = False  # markercluster's zoom animation on banded layers (its forced layouts cost seconds there)
# Banded layers' popup and find-box data (properties, items' text) out of the page, loaded after the first
# draw: at 10k distinct places the page fell from 14.0 to 6.4 MB and the main thread's CPU to the first
# draw by 0.4-0.7 s (bench/README.md).
LOD_PROPS_DEFERRED = True
# Banded maps take their fitted view before their layers are added, without the zoom animation (_FirstView).
LOD_FIRST_VIEW = True
# Banded layers' markers clustered by one index of every zoom (geoplan.js IndexGroup, vendored supercluster)
# instead of markercluster: at 100k distinct places markercluster's clustering was 2.7 s of the first draw's
# 6.9 s main-thread CPU (bench/README.md). False: markercluster, as before (bench/render.py's variant).
LOD_CLUSTER_INDEX = True
# A banded layer's features as a JSON block parsed by JSON.parse rather than a literal in the layer's script
# (DomainLayer.data_block; ~1 s of main-thread CPU at 100k distinct places). False: the literal (bench/).
LOD_DATA_BLOCK = True
# Banded layers' markers bind their popup and tooltip when first shown (geoplan.js Pin); False: each at once,
# as before (bench/).
LOD_LAZY_BIND = True
# A banded layer's line or area under this many pixels at the map's zoom (its bbox's larger side) is drawn as
# a marker in the layer's cluster, and as its shape once the zoom makes it larger (geoplan.js); 0 = never.
# Chosen by bench/render.py's figures (bench/README.md, ``draw3``).
DOT_PX = 24
# What a banded layer's features keep in the page: what style(), point() and the tooltip read; items keep fid.
DRAW_PROPERTIES = ("name", "place_kind", "geometry_kind", "precision", "place_status")


def map_data(
    gdf: gpd.GeoDataFrame,
    basemap: Basemap = "osm",
    *,
    lod: bool = False,
    spill: Path | None = None,
    jobs: int = 1,
) -> MapData:
    """Group the located rows into one feature per (domain, place, geometry) carrying its items.

    With ``lod``, a layer of more than ``LOD_MIN_VERTICES`` vertices is drawn by zoom band: its features
    carry the coarsest band's geometry and their ``bbox``, and ``MapData.bands`` the finer ones (10k distinct
    places: 1.08M vertices, 14-17 s to a first draw when every one was a Leaflet LatLng; bench/README.md);
    with ``LOD_PROPS_DEFERRED`` their properties shrink to ``DRAW_PROPERTIES`` and the items' fids, the whole
    properties going to ``MapData.props``. The garbage collector is paused meanwhile: the dicts of 10k places set it off again and again.

    The work goes one domain at a time, so only one layer's dicts, geometries and bands are alive at once;
    with ``spill`` (a folder) and ``SPILL_MIN_VERTICES`` or more, each layer's finer bands and deferred
    properties are written there as they are made (``JsonFile``) instead of kept as strings: ``geoplan map`` at
    100k distinct places (bench/README.md).

    With ``jobs`` > 1 and ``PARALLEL_MIN_VERTICES`` or more (but no spill: memory comes first there), the
    layers are shared out between this process and ``jobs - 1`` forked workers (``_layers``); the result is
    the same. Only a single-threaded caller may ask for that (the command line; never the app's server).
    """
    with gc_paused():
        return _map_data(gdf, basemap, lod, spill, jobs)


def _simplified(
    geoms: np.ndarray, tolerance: float | None, valid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``geoms`` simplified for a zoom band, valid and not empty where they were (a polygon keeps its holes),
    and which of them are known valid: those of ``valid`` (known valid before, not checked again) that the
    plain simplifier kept valid.

    Plain Douglas-Peucker first, then the topology-preserving simplifier for the few it broke: the latter
    alone took 1.27 s CPU against 0.15 s for the 1.07M vertices of 10k distinct places (bench/README.md).
    """
    if tolerance is None:
        return geoms, valid
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    shapes = ~shapely.is_missing(out) & (shapely.get_type_id(out) != 0) & (shapely.get_type_id(out) != 4)
    out[shapes] = shapely.simplify(out[shapes], tolerance, preserve_topology=False)
    was_valid = np.ones(len(geoms), dtype=bool) if valid is None else np.asarray(valid, dtype=bool).copy()
    unknown = shapes & ~was_valid if valid is not None else shapes
    was_valid[unknown] = shapely.is_valid(geoms[unknown])
    now_valid = np.zeros(len(out), dtype=bool)
    now_valid[shapes] = shapely.is_valid(out[shapes])
    broken = shapes & (shapely.is_empty(out) | ~now_valid | (was_valid != now_valid))
    if broken.any():
        out[broken] = shapely.simplify(geoms[broken], tolerance, preserve_topology=True)
    return out, (None if valid is None else valid & ~broken)


def _markers_in_first_band(boxes: np.ndarray) -> np.ndarray:
    """Which bboxes (minx, miny, maxx, maxy rows) are under ``DOT_PX`` pixels up to the first band's last zoom,
    so that geoplan.js draws them as markers at every zoom of that band (its ``span`` and ``tiny``, the same
    Web Mercator arithmetic; a hair's margin so that rounding never drops a geometry the browser would draw)."""
    if not DOT_PX or len(DRAW_BANDS) < 2:
        return np.zeros(len(boxes), dtype=bool)
    y = np.arctanh(np.sin(np.radians(np.clip(boxes[:, [1, 3]], -85.05, 85.05))))
    span = 256 * np.maximum((boxes[:, 2] - boxes[:, 0]) / 360, np.abs(y[:, 1] - y[:, 0]) / (2 * np.pi))
    return np.asarray(span * 2.0 ** (DRAW_BANDS[1][0] - 1) < DOT_PX * (1 - 1e-6))


def _banded(
    geoms: np.ndarray,
    decimals: int,
    whole: tuple[np.ndarray, list[Any]] | None = None,
    valid: np.ndarray | None = None,
) -> list[list[Any]]:
    """Per ``DRAW_BANDS`` band, the GeoJSON geometry of each of ``geoms``; None where it equals the band before.

    ``whole``: the vertex counts and GeoJSON of ``geoms`` cleaned, which ``map_data`` has made already, for
    the band that draws them as they are: cleaning and mapping them again cost time and memory at 100k
    distinct places (bench/README.md). Only each band's vertex counts are kept for the next band, not its
    cleaned geometries. ``valid``: which of ``geoms`` are known valid (``clean_geometries``).
    """
    bands: list[list[Any]] = []
    previous: np.ndarray | None = None
    for _zoom, tolerance in DRAW_BANDS:
        if tolerance is None and whole is not None:  # the geometries themselves, cleaned and mapped by the caller
            counts, mapped = whole
        else:
            simple, simple_valid = _simplified(geoms, tolerance, valid)
            cleaned = clean_geometries(simple, decimals, simple_valid)
            del simple
            counts, mapped = shapely.get_num_coordinates(cleaned), geometries_to_geojson(cleaned, arrays=True)
            del cleaned
        if previous is not None:
            same = counts == previous
            mapped = [None if s else g for s, g in zip(same.tolist(), mapped, strict=True)]
        bands.append(mapped)
        previous = counts
    return bands


_DIGEST_CHUNK = 8192  # geometries whose WKB is alive at once while their digests are taken


def _digests(column: np.ndarray) -> dict[int, bytes | int]:
    """id() of each geometry object in ``column`` -> a key of its content (equal for equal contents), each
    object once.

    An object whose type, vertex count and bounds no other object shares equals none: its key is its id (an
    int, never equal to a digest). The others' is a digest of their WKB: at 10k distinct places the WKB and
    digest of every geometry were 0.17 s of map_data, and almost every geometry is alone.
    """
    first: dict[int, int] = {}
    for i, geom in enumerate(column):
        first.setdefault(id(geom), i)
    keys = list(first)
    rows = np.fromiter(first.values(), dtype=np.intp, count=len(first))
    objects = np.asarray(column, dtype=object)[rows]
    sig = np.column_stack(
        [shapely.get_type_id(objects), shapely.get_num_coordinates(objects), shapely.bounds(objects)]
    ).astype(np.float64)
    odd = np.isnan(sig).any(axis=1)  # empty or missing: compared by their WKB
    sig[odd] = 0.0
    _unique, inverse, counts = np.unique(sig, axis=0, return_inverse=True, return_counts=True)
    shared = np.flatnonzero((counts[inverse.reshape(-1)] > 1) | odd)
    digests: dict[int, bytes | int] = dict(zip(keys, keys, strict=True))
    for start in range(0, len(shared), _DIGEST_CHUNK):
        part = shared[start : start + _DIGEST_CHUNK]
        for j, wkb in zip(part.tolist(), shapely.to_wkb(objects[part]).tolist(), strict=True):
            digests[keys[j]] = hashlib.blake2b(wkb, digest_size=16).digest()
    return digests


# A spill folder is used from this many vertices on: below it (10k distinct places, 1.08M vertices, 45 MB of
# bands and properties) the texts stay strings, as the files cost 0.2 s of CPU there; at 100k distinct places
# (10.7M vertices, 450 MB) they were most of the peak memory (bench/README.md).
SPILL_MIN_VERTICES = 4_000_000


def _kept(obj: Any, spill: Path | None, name: str, *, text: bool = True) -> str | JsonFile:
    """``js_json(obj)``, or that text written to ``spill/name`` (never decoded) and referred to there
    (``text``: as ``_js_json_utf8``)."""
    data = _js_json_utf8(obj, text=text)
    if spill is None:
        return data if isinstance(data, str) else data.decode("utf-8")
    data = data.encode("utf-8") if isinstance(data, str) else data
    path = spill / name
    path.write_bytes(data)
    _io.check_size(path, len(data))
    return JsonFile(path, len(data))


@dataclass(frozen=True)
class _Layer:
    """One domain's share of ``MapData`` (made here or in a forked worker, and sent back pickled)."""

    layer: tuple[str, str, str]  # (domain, colour, FeatureCollection as js_json)
    bands: tuple[str | JsonFile, ...]
    props: str | JsonFile
    shapes: int
    site_box: np.ndarray | None  # total bounds of its sites and lines (None: areas only)
    all_box: np.ndarray


# From this many vertices (rows') on, ``map_data(jobs=…)`` forks: a worker's start and the pickled layers it
# sends back cost 0.05-0.1 s, which a smaller map does not win back (bench/README.md, "jobs").
PARALLEL_MIN_VERTICES = 200_000

# The layer maker of the ``_map_data`` call that is forking: a forked worker inherits it, and with it the
# frame, the digests and the rows' properties, instead of being sent them.
_FORKED: Callable[[int, str, np.ndarray], _Layer] | None = None


def _forked_layers(share: list[tuple[int, str, np.ndarray]]) -> list[_Layer]:
    if _FORKED is None:  # pragma: no cover - a worker is only ever forked while _FORKED is set
        raise RuntimeError("a map worker started without its layers")
    return [_FORKED(*args) for args in share]


def _layers(
    make: Callable[[int, str, np.ndarray], _Layer],
    work: list[tuple[str, np.ndarray]],
    jobs: int,
    vertices: np.ndarray,
) -> list[_Layer]:
    """``make(n, domain, rows)`` of each of ``work``, in order: in this process, or with ``jobs`` > 1 and at
    least ``PARALLEL_MIN_VERTICES`` shared out by vertices (``vertices``: each row's) between this process and
    ``jobs - 1`` forked workers.

    At 10k distinct places the layers are ~0.7 s of CPU, a third of ``geoplan map``, and share nothing but
    what the workers inherit. A worker that cannot start or breaks (killed) leaves its share to this process.
    """
    global _FORKED
    jobs = min(jobs, len(work))
    sizes = [int(vertices[at].sum()) for _, at in work]
    if jobs < 2 or sum(sizes) < PARALLEL_MIN_VERTICES:
        return [make(n, domain, at) for n, (domain, at) in enumerate(work)]
    shares: list[list[int]] = [[] for _ in range(jobs)]
    loads = [0] * jobs
    for n in sorted(range(len(work)), key=lambda n: -sizes[n]):  # the largest first, each to the least loaded
        least = loads.index(min(loads))
        shares[least].append(n)
        loads[least] += sizes[n]
    made: dict[int, _Layer] = {}
    _FORKED = make
    try:
        with _io.forked_pool(jobs - 1) as pool:
            futures = [_io.forked_submit(pool, _forked_layers, [(n, *work[n]) for n in s]) for s in shares[1:]]
            made.update((n, make(n, *work[n])) for n in shares[0])
            for share, future in zip(shares[1:], futures, strict=True):
                try:
                    got = future.result() if future is not None else None
                except BrokenProcessPool:
                    got = None
                if got is None:  # no worker, or it died: made here
                    got = [make(n, *work[n]) for n in share]
                made.update(zip(share, got, strict=True))
    finally:
        _FORKED = None
    return [made[n] for n in range(len(work))]


def _map_data(
    gdf: gpd.GeoDataFrame, basemap: Basemap, lod: bool = False, spill: Path | None = None, jobs: int = 1
) -> MapData:
    shown = gdf.geometry.notna() & ~gdf.geometry.is_empty
    located = gdf.copy(deep=False) if bool(shown.all()) else gdf[shown]  # no copy of the columns of a frame
    # drawn whole; and no report: pandas deep-copies ``attrs`` into every frame and column taken from it (0.4 s
    # of 10k distinct places' map_data, in the layers' ``iloc``).
    located.attrs = {}
    place_cols = [c for c in PLACE_PROPERTIES if c in located.columns]
    item_cols = [c for c in ITEM_PROPERTIES if c in located.columns]
    shift = basemap == "amap"  # AMap tiles are GCJ-02: shift the data so features stay on their streets
    # Rows group by their geometry's content (WKB digest), not by object: the pipeline's rows of one place
    # share the gazetteer's object, but a frame read back from GeoJSON or a pickle has one per row. The
    # digest is taken once per object, the conversion and JSON mapping once per distinct geometry and layer.
    column = located.geometry.to_numpy()
    digests = _digests(column)
    domain_of = np.asarray(located["domain"].astype(object).to_numpy())
    places_of, items_of = _json_rows(located, place_cols), _json_rows(located, item_cols)
    colors = domain_colors(domains_in_order(gdf, all_domains=True))
    vertices = shapely.get_num_coordinates(column)  # for the spill's threshold and the workers' shares
    if spill is not None and int(vertices.sum()) < SPILL_MIN_VERTICES:
        spill = None

    def layer(n: int, domain: str, at: np.ndarray) -> _Layer:
        """Layer ``n``: the features of ``domain`` (rows ``at``), its bands and deferred properties."""
        geometries: dict[bytes | int, Any] = {}  # digest -> the geometry as drawn (converted for AMap)
        resident: dict[tuple[Any, ...], dict[str, str]] = {}  # _resident_words of (precision, district, kind)
        groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        drawn_as: dict[tuple[Any, ...], Any] = {}  # group -> its geometry as drawn (for the bounds)
        places, items = places_of(at), items_of(at)
        for place, item, geom in zip(places, items, column[at], strict=True):
            digest = digests[id(geom)]
            key = (*place, digest)
            feat = groups.get(key)
            if feat is None:
                if digest not in geometries:
                    geometries[digest] = convert_geometry(geom, src=Datum.WGS84, dst=Datum.GCJ02) if shift else geom
                props = {k: v for k, v in zip(place_cols, place, strict=True) if v is not None}
                said_as = (props.get("precision"), props.get("district"), props.get("geometry_kind"))
                words = resident.get(said_as)
                if words is None:
                    words = resident[said_as] = _resident_words(props)
                props.update(words)
                props["items"] = []
                feat = groups[key] = {"type": "Feature", "geometry": digest, "properties": props}
                drawn_as[key] = geometries[digest]
            feat["properties"]["items"].append({k: v for k, v in zip(item_cols, item, strict=True) if v is not None})
        del places, items
        shapes = len(groups)
        sites = [drawn_as[k] for k, g in groups.items() if g["properties"].get("precision") not in AREA_PRECISIONS]
        site_box = shapely.total_bounds(sites) if sites else None
        all_box = shapely.total_bounds(list(drawn_as.values()))
        del drawn_as, sites
        # The layer's distinct geometries cleaned and mapped in vectorised calls (10k distinct places:
        # mapping() one by one was a third of map_data); the features of one geometry share its dict.
        drawn_geoms = np.empty(len(geometries), dtype=object)
        drawn_geoms[:] = list(geometries.values())
        known = checked_rows(gdf, drawn_geoms)  # drawn as read (not shifted): valid, wound, in range
        cleaned = clean_geometries(drawn_geoms, settings.coordinate_decimals, known)
        whole = geometries_to_geojson(cleaned, arrays=True)
        whole_counts = shapely.get_num_coordinates(cleaned)  # for the zoom bands; the cleaned shapes are not kept
        del cleaned
        index = {digest: i for i, digest in enumerate(geometries)}
        del geometries
        feats = list(groups.values())
        del groups
        rows = [index[f["geometry"]] for f in feats]
        for f, i in zip(feats, rows, strict=True):
            f["geometry"] = whole[i]
        extra: tuple[str | JsonFile, ...] = ()
        layer_props: str | JsonFile = ""
        if lod and int(shapely.get_num_coordinates(drawn_geoms)[rows].sum()) > LOD_MIN_VERTICES:
            banded = _banded(drawn_geoms, settings.coordinate_decimals, (whole_counts, whole), known)
            boxes = np.round(shapely.bounds(drawn_geoms), settings.coordinate_decimals)
            markers = _markers_in_first_band(boxes) & (shapely.get_type_id(drawn_geoms) != 0)
            # A shape drawn as a marker at every zoom of the first band carries no geometry in the page: the
            # next band has it (10k distinct places: 48 % of the lines and areas, ~1.8 MB of 6.4).
            feats = [
                {**f, "geometry": None if markers[i] else banded[0][i] or f["geometry"], "bbox": boxes[i]}
                if f["geometry"]["type"] != "Point"
                else f
                for f, i in zip(feats, rows, strict=True)
            ]
            finer = [[band[i] for i in rows] for band in banded[1:]]
            if finer:
                finer[0] = [
                    banded[0][i] if g is None and markers[i] else g for g, i in zip(finer[0], rows, strict=True)
                ]
            del banded
            extra = tuple(
                _kept(band, spill, f"{_band_id(n, k)}.json", text=False)  # geometries only: nothing to escape
                for k, band in enumerate(finer, 1)
            )
            del finer
            if LOD_PROPS_DEFERRED:
                layer_props = _kept([f["properties"] for f in feats], spill, f"{_props_id(n)}.json")
                feats = [{**f, "properties": _drawing_properties(f["properties"])} for f in feats]
        return _Layer(
            (domain, colors[domain], js_json({"type": "FeatureCollection", "features": feats})),
            extra,
            layer_props,
            shapes,
            site_box,
            all_box,
        )

    work = [(domain, at) for domain in domains_in_order(gdf) if len(at := np.flatnonzero(domain_of == domain))]
    done = _layers(layer, work, jobs if spill is None else 1, vertices)
    # Fit the view to sites and lines: county-sized areas (district precision) would zoom the map out
    # to the whole municipality and leave the city-centre projects a few pixels wide.
    site_bounds = [d.site_box for d in done if d.site_box is not None]
    all_bounds = [d.all_box for d in done]
    layers = [d.layer for d in done]
    bands = [d.bands for d in done]
    deferred_props = [d.props for d in done]
    shapes = sum(d.shapes for d in done)
    boxes_of = np.array(site_bounds or all_bounds).reshape(-1, 4)  # the layers' boxes: theirs is the map's
    low, high = boxes_of[:, :2].min(axis=0, initial=np.inf), boxes_of[:, 2:].max(axis=0, initial=-np.inf)
    bounds = (float(low[0]), float(low[1]), float(high[0]), float(high[1])) if len(boxes_of) else None
    return MapData(
        layers=tuple(layers),
        bounds=bounds,
        shapes=shapes,
        items=len(located),
        bands=tuple(bands) if any(bands) else (),
        props=tuple(deferred_props) if any(deferred_props) else (),
    )


def _json_rows(frame: gpd.GeoDataFrame, columns: Sequence[str]) -> Callable[[np.ndarray], Iterator[tuple[Any, ...]]]:
    """``json_columns(frame.iloc[at], columns)`` for any row positions ``at``: text columns taken from their own
    arrays, the others converted once. A layer's ``iloc`` and the conversion of its frame's columns were 0.17 s
    of 10k distinct places' map_data, most of it pandas' own work per call (10 layers x 20 columns)."""

    def text(array: Any) -> Callable[[np.ndarray], list[Any]]:
        return lambda at: list(array.take(at).to_numpy(dtype=object, na_value=None).tolist())

    def other(values: list[Any]) -> Callable[[np.ndarray], list[Any]]:
        return lambda at: [values[i] for i in at.tolist()]

    takers: list[Callable[[np.ndarray], list[Any]]] = []
    for c in columns:
        col = frame[c]
        if pd.api.types.is_string_dtype(col.dtype) and col.dtype != object:
            takers.append(text(col.array))
        else:
            takers.append(other([json_value(v) for v in col.tolist()]))

    def rows(at: np.ndarray) -> Iterator[tuple[Any, ...]]:
        if not takers:
            return iter([() for _ in range(len(at))])
        return zip(*[take(at) for take in takers], strict=True)

    return rows


def _drawing_properties(props: dict[str, Any]) -> dict[str, Any]:
    """What a banded layer's feature keeps in the page: DRAW_PROPERTIES and its items' fids (view, share links)."""
    slim = {k: props[k] for k in DRAW_PROPERTIES if k in props}
    slim["items"] = [{"fid": it["fid"]} for it in props["items"] if "fid" in it]
    return slim


def _resident_words(props: dict[str, Any]) -> dict[str, str]:
    """A place's precision and district as residents read them (精确地点, 位于万柏林区; in Wanbailin District).

    The IATI wording ("附近（25公里内）") stays in the data and exports; the popup shows it to planners only.
    Only precision, district and geometry_kind count: map_data makes it once per combination of them.
    """
    words = {
        f"precision_{lang}": precision_label(
            props.get("precision"), lang, district=props.get("district"), geometry_kind=props.get("geometry_kind")
        )
        for lang in ("zh", "en")
    }
    if props.get("district"):
        words["district_en"] = admin_name(props["district"], "en")
    return {k: v for k, v in words.items() if v}


def said(texts: Mapping[str, str], langs: tuple[Lang, ...], escape: Callable[[str], str] = html.escape) -> str:
    """``texts[lang]`` as HTML for a one-language map; for a map in ``langs`` each language's text in its
    own span, all but the shown one hidden by geoplan.css (the app switches language in place: setLang)."""
    if len(langs) == 1:
        return escape(texts[langs[0]])
    return "".join(f'<span class="gp-l-{lang}">{escape(texts[lang])}</span>' for lang in langs)


def _labels(key: str) -> dict[str, str]:
    return {lang: words[key] for lang, words in LABELS.items()}


def _domain_label(domain: str, langs: tuple[Lang, ...]) -> str:
    """A domain's name as the map shows it: the report's word, glossed in English where the vocabulary can."""
    return said({lang: domain_name(domain, lang) for lang in langs}, langs, html_label)


def _legend_html(colors: dict[str, str], langs: tuple[Lang, ...]) -> str:
    def lab(key: str) -> str:
        return said(_labels(key), langs)

    rows = "".join(f'<div><i style="background:{c}"></i>{_domain_label(d, langs)}</div>' for d, c in colors.items())
    marks = (
        f'<div style="margin-top:6px"><span class="gp-pin" style="display:inline-flex;width:14px;height:14px;'
        f'background:#555;vertical-align:middle"></span> {lab("site")}</div>'
        f'<div><span class="gp-approx" style="display:inline-flex;width:14px;height:14px;border-color:#555;'
        f'vertical-align:middle"></span> {lab("approx")}</div>'
        f'<div><i style="border:1.5px dashed #555;background:#5551"></i>{lab("district_area")}</div>'
        f'<div><i style="border-top:3px dashed #555;height:0"></i>{lab("planned_line")}</div>'
        f'<div><i style="border-top:3px dotted #555;height:0"></i>{lab("estimated_line")}</div>'
    )
    # Folded to one line unless the map is large (map_ui opens it): open, it covered a phone's map.
    return f'<details class="gp-legend"><summary><b>{lab("legend")}</b></summary>{rows}{marks}</details>'


class _FirstView(RawScriptElement):
    """The map's fitted view set at once (no zoom animation) before banded layers are added.

    folium's ``fit_bounds`` runs after the layers, animated: a banded layer then built its lines and areas
    and clusters at the map's initial zoom, and again at the fitted one when the animation ended (a third
    of the first draw's main-thread time at 10k distinct places; bench/README.md). build_map then adds no
    ``fit_bounds`` of its own: fitting again to the same view still made every banded layer redraw.
    """

    def __init__(self, bounds: tuple[float, float, float, float]) -> None:
        super().__init__()
        self._name = "GeoplanFirstView"
        self.bounds = [[bounds[1], bounds[0]], [bounds[3], bounds[2]]]

    @property
    def script_text(self) -> str:
        options = {"maxZoom": 15, "padding": [20, 20], "animate": False}  # as build_map's fit_bounds
        return f"{self.parent_name}.fitBounds({js_json(self.bounds)}, {js_json(options)});"


class _Control(RawScriptElement):
    """A fixed HTML box in a map corner (legend, list of unplaced items)."""

    def __init__(self, html_text: str, position: str) -> None:
        super().__init__()
        self._name = "GeoplanControl"
        self.html = html_text
        self.position = position

    @property
    def script_text(self) -> str:
        return (
            f"(function(){{var c = L.control({{position: {js_json(self.position)}}});"
            f"c.onAdd = function(){{var d = L.DomUtil.create('div'); d.innerHTML = {js_json(self.html)};"
            "L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d); return d;};"
            f"c.addTo({self.parent_name});}})();"
        )


class _Attribution(RawScriptElement):
    """A credit in the map's attribution line: OSM-derived places must say "© OpenStreetMap contributors" (ODbL)."""

    def __init__(self, html_text: str) -> None:
        super().__init__()
        self._name = "GeoplanAttribution"
        self.html = html_text

    @property
    def script_text(self) -> str:
        return f"{self.parent_name}.attributionControl.addAttribution({js_json(self.html)});"


OSM_DATA_ATTRIBUTION = (
    'Places &copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap contributors</a> (ODbL)'
)


def draws_osm_data(gdf: gpd.GeoDataFrame) -> bool:
    """Whether a located feature's place comes from OpenStreetMap (its ``source`` says so)."""
    if "source" not in gdf.columns:
        return False
    located = gdf[gdf.geometry.notna()]
    return bool(located["source"].fillna("").astype(str).str.contains("OpenStreetMap", case=False).any())


class _SearchControl(RawScriptElement):
    """A search box on the map, answered in the browser (within what the app's sidebar shows)."""

    def __init__(self, lang: Lang, langs: tuple[Lang, ...] = ()) -> None:
        super().__init__()
        self._name = "GeoplanSearch"
        self.labels = {k: LABELS[lang][k] for k in ("search", "found", "shown")}
        self.i18n = (
            {code: {k: LABELS[code][k] for k in ("search", "found", "shown")} for code in langs}
            if len(langs) > 1
            else None
        )

    @property
    def script_text(self) -> str:
        i18n = f", {js_json(self.i18n)}" if self.i18n else ""
        return f"geoplan.search({self.parent_name}, {js_json(self.labels)}{i18n});"


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
    search: bool = False,
    height: str | int = "100%",
    data: MapData | None = None,
    domain_control: bool = True,
    deferred_bands: bool | None = None,
    bilingual: bool = False,
    data_url: str | None = None,
) -> folium.Map:
    """The map of ``gdf``: a layer per domain, basemaps, legend, optional district boundaries.

    ``data`` is ``map_data(gdf, basemap)`` when the caller has it cached (the app does: it is most of the
    work). ``selected`` opens that feature's popup and highlights its item; ``search`` adds a search box
    that filters in the browser, with no round trip to a server. ``domain_control=False`` leaves the domains
    out of the layer control: the app's sidebar is then the one place to choose them (see the app).
    Without ``data``, layers of many vertices are drawn by zoom band (``map_data(lod=True)``), the finer
    bands as JSON blocks in the page (``deferred_bands``) that the browser parses only when it zooms in,
    and their popup and find data as one more block, parsed after the first draw.

    ``bilingual``: the map carries the words of every language and shows ``lang``'s until a view says
    otherwise (``map_view(lang=…)``): the app switches language without a new map. ``data_url``: the layers'
    FeatureCollections are not in the page but the JSON list (``layers_json(data)``) served at that URL,
    fetched by the browser (the app's reruns then send a small script).
    """
    langs: tuple[Lang, ...] = ("zh", "en") if bilingual else (lang,)
    m = folium.Map(
        location=[37.87, 112.55], zoom_start=10, tiles=None, control_scale=True, height=height, prefer_canvas=False
    )
    # Only Leaflet itself: jQuery, Bootstrap, Font Awesome and awesome-markers are folium defaults this map
    # never uses, and they are most of a page's bytes.
    m.default_js = [(n, u) for n, u in folium.Map.default_js if n == "leaflet"]
    m.default_css = [(n, u) for n, u in folium.Map.default_css if n == "leaflet_css"]
    if basemap == "amap":
        folium.TileLayer(
            tiles="https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            attr="&copy; 高德地图 AutoNavi (GCJ-02)",
            name=said({"zh": "高德地图 AMap", "en": "AMap (GCJ-02)"}, langs),
            subdomains="1234",
            max_zoom=18,
        ).add_to(m)
    else:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(m)
        folium.TileLayer(
            tiles="https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
            attr='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> &copy; CARTO',
            name=said({"zh": "浅色底图 Light", "en": "Light"}, langs),
            subdomains="abcd",
            max_zoom=20,
            show=False,
        ).add_to(m)
    m.add_child(GeoplanAssets(), name="geoplan_assets")
    from geoplan.map_ui import MapUI, layers_collapsed

    m.add_child(MapUI(lang, bilingual=bilingual), name="geoplan_ui")  # before Draw: it sets Leaflet.draw's words

    data = map_data(gdf, basemap, lod=True) if data is None else data
    base_opts: dict[str, Any] = {
        "glyphs": KIND_GLYPHS,
        "labels": LABELS[lang],
        "lang": lang,
        "cluster": cluster,
        "status_labels": {k: status_label(k, lang) for k in STATUS},
        "planner": draw,
    }
    if bilingual:
        base_opts["i18n"] = {
            code: {"labels": LABELS[code], "status_labels": {k: status_label(k, code) for k in STATUS}}
            for code in langs
        }
    if data.bands and LOD_CANVAS:
        base_opts["canvas"] = True
    if data.bands and not LOD_ANIMATE:
        base_opts["animate"] = False
    if data.bands and DOT_PX:
        base_opts["dot_px"] = DOT_PX
    deferred_bands = LOD_DEFERRED if deferred_bands is None else deferred_bands
    if show_boundaries and gazetteer is not None and gazetteer.admin_units:
        boundaries = _boundaries_layer(gazetteer, lang, basemap, langs)
        boundaries.add_to(m)
        _DistrictLabels(boundaries, gazetteer, lang, basemap, langs).add_to(m)
    first_view = data.bounds if data.bands and LOD_FIRST_VIEW else None
    if first_view is not None:
        _FirstView(first_view).add_to(m)
    for i, (domain, color, doc) in enumerate(data.layers):
        bands = data.bands[i] if data.bands else ()
        options = {**base_opts, "color": color, "domain": domain}  # the app's two-way filter names it
        if "en" in langs and domain_gloss(domain):
            options["domain_en"] = domain_name(domain, "en")  # the popup's words in English
        if data_url and bands:  # the bands come with the fetched data, not in the page
            options["zooms"] = [zoom for zoom, _tol in DRAW_BANDS[1:]]
        DomainLayer(
            "" if data_url else doc,
            name=_domain_label(domain, langs),
            options=options,
            control=domain_control,
            bands=() if data_url else bands,
            deferred=deferred_bands,
            props="" if data_url else (data.props[i] if data.props else ""),
            src={"url": data_url, "i": i} if data_url else None,
        ).add_to(m)
    if draw:  # planners draw a corrected point, line or area
        Draw(  # type: ignore[no-untyped-call]
            export=False,
            position="topleft",
            draw_options={
                "polyline": True,
                "polygon": True,
                "marker": True,
                "circle": False,
                "rectangle": False,
                "circlemarker": False,
            },
            edit_options={"edit": False, "remove": True},
        ).add_to(m)
    # folium writes a JsCode as JavaScript: the browser decides from the window's size (map_ui).
    folium.LayerControl(collapsed=layers_collapsed(), position="topright").add_to(m)  # type: ignore[arg-type]
    if draws_osm_data(gdf):
        _Attribution(OSM_DATA_ATTRIBUTION).add_to(m)
    _Control(_legend_html({d: c for d, c, _doc in data.layers}, langs), "bottomright").add_to(m)
    if search:
        _SearchControl(lang, langs).add_to(m)
    if list_unplaced:
        box = unplaced_html(gdf, lang)
        if box:
            _Control(box, "topleft").add_to(m)
    bounds = data.bounds
    if bounds is None and gazetteer is not None and gazetteer.city is not None and gazetteer.city.geometry is not None:
        bounds = gazetteer.city.geometry.bounds
    if bounds and first_view is None:  # a second fit, even to the same view, made the banded layers redraw
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(20, 20), max_zoom=15)
    if selected:
        MapView(None, selected=selected).add_to(m)
    return m


def _boundaries_layer(
    gazetteer: Gazetteer, lang: Lang, basemap: Basemap, langs: tuple[Lang, ...] = ()
) -> folium.GeoJson:
    drawn = [u for u in gazetteer.admin_units if u.geometry is not None]
    geoms = [u.geometry for u in drawn if u.geometry is not None]
    if basemap == "amap":
        geoms = [convert_geometry(g, src=Datum.WGS84, dst=Datum.GCJ02) for g in geoms]
    units = gpd.GeoDataFrame(
        {"name": [u.name for u in drawn]}, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326"
    )
    units["name"] = units["name"].map(html_label)
    return folium.GeoJson(
        units.to_json(drop_id=True),
        name=said(_labels("boundaries"), langs or (lang,), html_label),
        show=True,
        control=True,
        style_function=lambda _f: {"color": "#444", "weight": 1.2, "fillOpacity": 0, "dashArray": "3 4"},
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
    )


DISTRICT_LABEL_ZOOM = 10  # below it the names of a municipality's units crowd each other


class _DistrictLabels(RawScriptElement):
    """Each unit's name at its representative point (inside it, unlike a centroid), shown with the boundaries
    from zoom 10 on: residents find their district by name, not by its outline."""

    def __init__(
        self, layer: folium.GeoJson, gazetteer: Gazetteer, lang: Lang, basemap: Basemap, langs: tuple[Lang, ...] = ()
    ) -> None:
        super().__init__()
        self._name = "GeoplanDistrictLabels"
        self.layer = layer
        points = []
        for u in gazetteer.admin_units:
            if u.geometry is None:
                continue
            p: BaseGeometry = u.geometry.representative_point()
            if basemap == "amap":
                p = convert_geometry(p, src=Datum.WGS84, dst=Datum.GCJ02)
            x, y = p.coords[0][:2]
            names: dict[str, str] = {code: admin_name(u.name, code) for code in (*langs, lang)}
            points.append([round(x, 5), round(y, 5), said(names, langs or (lang,), html_label)])
        self.points = points

    @property
    def script_text(self) -> str:
        return (
            f"geoplanUI.districtLabels({self.parent_name}, {self.layer.get_name()}, "
            f"{js_json(self.points)}, {DISTRICT_LABEL_ZOOM});"
        )


def map_html(m: folium.Map) -> str:
    """The whole page as one HTML string (CDN links still in place; see ``geoplan.offline``)."""
    return m.get_root().render()


def page_pieces(m: folium.Map) -> list[str]:
    """``map_html(m)`` as pieces whose concatenation is that string, each layer's JSON a piece of its own.

    The page is rendered with a marker in place of each layer's ``data_json`` and cut at the markers, so the
    layers' JSON (most of a page of many places) is never copied into one page string and its UTF-8 copy:
    at 100k distinct places those two held ~1 GB at once (bench/README.md). Like ``map_html`` it renders
    the figure, once: folium adds its ``addTo`` lines again on each render.
    """
    layers = [c for c in m._children.values() if isinstance(c, DomainLayer)]
    if not layers:
        return [map_html(m)]
    token = secrets.token_hex(8)
    data = {f"\x00geoplan-layer-{token}-{k}\x00": layer.data_json for k, layer in enumerate(layers)}
    try:
        for layer, mark in zip(layers, data, strict=True):
            layer.data_json = mark
        page = map_html(m)
    finally:
        for layer, text in zip(layers, data.values(), strict=True):
            layer.data_json = text
    parts = re.split("(" + "|".join(re.escape(mark) for mark in data) + ")", page)
    missing = set(data) - set(parts[1::2])
    if missing:  # a layer's script without its data: the page would draw nothing for it
        raise RuntimeError(f"{len(missing)} layer(s) left their data out of the page")
    return [data[p] if k % 2 else p for k, p in enumerate(parts)]


_ENCODE_CHARS = 1 << 22  # characters encoded at a time: a piece's UTF-8 copy stays a few MB


def utf8_pieces(texts: Iterable[str | JsonFile]) -> Iterator[bytes]:
    """``texts`` as UTF-8, a bounded slice at a time (a str slice never splits a character; a ``JsonFile``'s
    bytes are copied as they are)."""
    for text in texts:
        if isinstance(text, JsonFile):
            yield from text.pieces()
            continue
        for start in range(0, len(text), _ENCODE_CHARS):
            yield text[start : start + _ENCODE_CHARS].encode("utf-8")


def _write_texts(target: Path, texts: Iterable[str | JsonFile], created: Callable[[Path], None] | None) -> int:
    """Write the concatenation of ``texts`` to ``target`` atomically, piece by piece, checked by size."""
    written = 0

    def write(tmp: Path) -> None:
        nonlocal written
        written = _io.write_pieces(tmp, utf8_pieces(texts))  # looked up here: the robustness tests replace it
        _io.check_size(tmp, written)

    write_atomic(target, write, created=created)
    return written


def save_map(m: folium.Map, target: Path, *, created: Callable[[Path], None] | None = None) -> int:
    """Write ``m`` to ``target``; its layers' zoom bands, if any, as files in ``<target stem>.data/`` beside it.

    A map without bands (the shipped report, anything under ``LOD_MIN_VERTICES`` a layer) stays one
    self-contained page. With bands the page carries the coarsest one and the browser loads a finer band's
    file (a script, so ``file://`` pages work) only when the map is first zoomed to it, and the banded
    layers' popup and find data (``<layer>_props.js``) once the page has drawn: at 10k distinct places the
    page falls from 34.9 MB to 6.4 MB (bench/README.md). Returns the bytes written.

    Every file is written in pieces (``page_pieces``, ``DomainLayer.data_files``): the layers' JSON goes to
    disk from the strings ``map_data`` made, never copied into a page string or a whole encoded file.
    """
    layers = [c for c in m._children.values() if isinstance(c, DomainLayer) and c.bands]
    folder = target.with_name(target.stem + ".data")
    files: dict[str, tuple[str, str | JsonFile, str]] = {}
    for layer in layers:
        layer.data_dir = urllib.parse.quote(folder.name)
        files.update(layer.data_files())
    page = page_pieces(m)
    written = 0
    if files:
        stale = set(folder.glob("*_band*.js")) | set(
            folder.glob("*_props.js")
        )  # an earlier page's bands (their names change with each map)
        for name, texts in files.items():
            written += _write_texts(folder / name, texts, created)
            stale.discard(folder / name)
        for old in stale:
            old.unlink()
    written += _write_texts(target, page, created)
    return written


#: The layout of ``map_data_bytes``; bump it when MapData's fields change.
MAP_DATA_FORMAT = 1


def map_data_bytes(data: MapData) -> bytes:
    """``data`` as bytes (no pickle), for the app's prepared files (``geoplan.prepared``): a JSON header with
    the small fields and every text's length, then the texts' UTF-8 one after the other, so that reading 10k
    places' bands copies them instead of parsing and escaping megabytes of JSON inside JSON.

    Spilled texts (``JsonFile``) are refused: they live in a folder the bytes could not carry."""
    texts: list[str] = [layer[2] for layer in data.layers]
    for layer_bands in data.bands:
        texts.extend(_kept_text(b) for b in layer_bands)
    texts.extend(_kept_text(p) for p in data.props)
    blobs = [t.encode("utf-8") for t in texts]
    header = {
        "format": MAP_DATA_FORMAT,
        "layers": [[domain, colour] for domain, colour, _ in data.layers],
        "bounds": None if data.bounds is None else [float(b) for b in data.bounds],
        "shapes": int(data.shapes),
        "items": int(data.items),
        "bands": [len(b) for b in data.bands],
        "props": len(data.props),
        "sizes": [len(b) for b in blobs],
    }
    head = orjson.dumps(header)
    return len(head).to_bytes(8, "little") + head + b"".join(blobs)


def _kept_text(text: str | JsonFile) -> str:
    if not isinstance(text, str):
        raise ValueError(f"map data spilled to {text.path} cannot be kept as bytes")
    return text


def map_data_from_bytes(raw: bytes | memoryview) -> MapData:
    """The ``MapData`` of ``map_data_bytes``; ``ValueError`` when ``raw`` is not such bytes (or of another
    format): the caller then builds the map data again."""
    raw = memoryview(raw)  # slices of it are not copies
    size = int.from_bytes(raw[:8], "little")
    if len(raw) < 8 + size:
        raise ValueError("map data cut short")
    header = orjson.loads(raw[8 : 8 + size])
    if not isinstance(header, dict) or header.get("format") != MAP_DATA_FORMAT:
        raise ValueError("map data of another format")
    sizes = [int(s) for s in header["sizes"]]
    if 8 + size + sum(sizes) != len(raw) or any(s < 0 for s in sizes):
        raise ValueError("map data's texts do not add up")
    texts: list[str] = []
    pos = 8 + size
    for s in sizes:
        texts.append(str(raw[pos : pos + s], "utf-8"))
        pos += s
    layers = [(str(d), str(c)) for d, c in header["layers"]]
    bands_per_layer = [int(n) for n in header["bands"]]
    if len(texts) != len(layers) + sum(bands_per_layer) + int(header["props"]):
        raise ValueError("map data's texts do not match its layers")
    it = iter(texts)
    drawn = tuple((d, c, next(it)) for d, c in layers)
    bands = tuple(tuple(next(it) for _ in range(n)) for n in bands_per_layer)
    props = tuple(next(it) for _ in range(int(header["props"])))
    bounds = header["bounds"]
    return MapData(
        layers=drawn,
        bounds=None if bounds is None else (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3])),
        shapes=int(header["shapes"]),
        items=int(header["items"]),
        bands=bands,
        props=props,
    )
