"""Prototype fixes, applied by monkeypatching so the benchmarks can measure them beside the shipped code.

Nothing here changes ``src/``: each patch rebuilds one function from its shipped source with one
snippet replaced (and refuses to apply if the snippet is no longer there, so a stale prototype fails
loudly instead of measuring the wrong thing), or wraps a class for the duration of a ``with`` block.
The README says which of these should become real changes, with the numbers.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import folium
from branca.element import Element
from folium.elements import ElementAddToElement
from jinja2 import Template
from markupsafe import Markup

import geoplan.features
import geoplan.settings
import geoplan.maps


def _rebuilt(func: Callable[..., Any], *edits: tuple[str, str]) -> Callable[..., Any]:
    """``func`` compiled again from its source with each ``(old, new)`` snippet replaced."""
    src = textwrap.dedent(inspect.getsource(func))
    for old, new in edits:
        if old not in src:
            msg = f"prototype out of date: {func.__module__}.{func.__qualname__} no longer contains\n{old}"
            raise RuntimeError(msg)
        src = src.replace(old, new)
    namespace: dict[str, Any] = {}
    code = compile(src, f"<patched {func.__qualname__}>", "exec")
    exec(code, func.__globals__, namespace)  # noqa: S102 -- our own edit of a shipped function
    out = namespace[func.__name__]
    out.__doc__ = func.__doc__
    return out


# --------------------------------------------------------------------------- features: linear fids

_FID_OLD = """    for n, row in enumerate(rows):
        same = [r for r in rows[: n + 1] if r["item_id"] == row["item_id"]]
        row["fid"] = f"{row['item_id']}-{len(same)}"
"""
_FID_NEW = """    per_item: dict[str, int] = {}
    for row in rows:
        per_item[row["item_id"]] = per_item.get(row["item_id"], 0) + 1
        row["fid"] = f"{row['item_id']}-{per_item[row['item_id']]}"
"""

#: True when the shipped ``features_from_report`` still numbers fids by rescanning every earlier row
#: for each row (O(n²): 12.4 s instead of 1.3 s at 10k items, ~20 min at 100k; measured at 6925fec).
FID_QUADRATIC = _FID_OLD in textwrap.dedent(inspect.getsource(geoplan.features.features_from_report))

#: ``features_from_report`` with linear fid numbering (a dict of counts); same output. The shipped
#: function itself once the fix is in.
features_from_report_linear = (
    _rebuilt(geoplan.features.features_from_report, (_FID_OLD, _FID_NEW)) if FID_QUADRATIC
    else geoplan.features.features_from_report
)


# --------------------------------------------------------------------------- features: one GeoJSON geometry per place

#: ``features_to_geojson`` that cleans (rounds, repairs, orients) and maps each geometry *object* once.
#: Every feature of a place holds the gazetteer's own geometry object, so a 10k-feature report has
#: ~20 distinct geometries, and the shipped function rounds and orients the same polygon thousands
#: of times. The features then share one (read-only) geometry dict; the JSON text is identical.
features_to_geojson_memo = _rebuilt(
    geoplan.features.features_to_geojson,
    ("    features = []\n", "    features = []\n    memo: dict[int, Any] = {}\n"),
    ("        g = _clean(geom, decimals)\n",
     ("        if id(geom) not in memo:\n"
      "            g = _clean(geom, decimals)\n"
      "            memo[id(geom)] = None if g is None else mapping(g)\n")),
    ('"geometry": None if g is None else mapping(g)})', '"geometry": memo[id(geom)]})'),
)


# --------------------------------------------------------------------------- maps: compact UTF-8 JSON


def compact_json(data: Any) -> Markup:
    """JSON for a ``<script>``: UTF-8 text (not ``\\uXXXX``), no spaces, still HTML-safe like ``tojson``."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return Markup(text)


class _RawScript(Element):
    """Script text put into the page as it is: branca never compiles it as a Jinja template."""

    _template = Template("{{ this.code }}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "RawScript"
        self.code = code


def _script(self: Any) -> str:
    return f"var {self.get_name()} = geoplan.layer({compact_json(self.data)}, {compact_json(self.options)});"


def _raw_render(self: Any, **kwargs: Any) -> None:
    """DomainLayer.render without branca's ``Element(script(...))``, which compiles the output as a template.

    Same page otherwise: the plugin links, the layer's script, then its ``addTo`` (folium's order).
    """
    figure = self.get_root()
    for name, url in self.default_js:
        figure.header.add_child(folium.JavascriptLink(url), name=name)
    for name, url in self.default_css:
        figure.header.add_child(folium.CssLink(url), name=name)
    if self.show:
        self.add_child(ElementAddToElement(element_name=self.get_name(),
                                           element_parent_name=self._parent.get_name()),
                       name=self.get_name() + "_add")
    figure.script.add_child(_RawScript(_script(self)), name=self.get_name())
    for child in self._children.values():
        child.render(**kwargs)


@contextlib.contextmanager
def compact_domain_layer() -> Iterator[None]:
    """DomainLayer writes its data as compact UTF-8 JSON and skips branca's template re-compilation.

    ``tojson`` is ``json.dumps`` with ``ensure_ascii=True`` and ``", "``/``": "`` separators, so each
    Chinese character becomes six bytes (``\\u592a``) instead of three. And branca's
    ``MacroElement.render`` wraps each rendered script in ``Element(text)``, i.e. compiles the whole
    data as a Jinja template: slow on megabytes, and a ``{{ … }}`` in a report is executed. The
    streamlit-folium path calls the ``script`` macro itself, so it gets the new template too.
    """
    cls = geoplan.maps.DomainLayer
    saved = cls._template, cls.render
    cls._template = Template("{% macro script(this, kwargs) %}{{ this.raw_script }}{% endmacro %}")
    cls.raw_script = property(_script)  # type: ignore[attr-defined]
    cls.render = _raw_render  # type: ignore[method-assign]
    try:
        yield
    finally:
        cls._template, cls.render = saved  # type: ignore[method-assign]
        del cls.raw_script  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- maps: one shape per place

PLACE_KEYS = ("domain", "name", "place_kind", "geometry_kind", "precision", "precision_code", "precision_zh",
              "precision_en", "district", "source", "source_url", "confidence", "place_status")
ITEM_KEYS = ("fid", "item_id", "section", "status", "status_zh", "text", "quantities", "matched")


def grouped_map_data(gdf: Any, basemap: str) -> dict[str, Any]:
    """``_map_data`` with one feature per (domain, place): its geometry once, its items as a list.

    A gazetteer place is one geometry, however many items name it; drawing it once per item puts
    thousands of identical SVG paths on the map and its polygon thousands of times into the page.
    The first item's fields stay at the top level so the shipped ``geoplan.layer`` script draws and
    styles it unchanged; ``items`` holds every item (a popup would list them; see the README).
    """
    from shapely.geometry import mapping

    from geoplan.features import _clean, _json_value

    if basemap == "amap":
        raise NotImplementedError("the prototype covers the OSM basemap only")
    located = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    cols = [c for c in geoplan.maps.MAP_PROPERTIES if c in located.columns]
    memo: dict[int, Any] = {}
    groups: dict[tuple[Any, Any], dict[str, Any]] = {}
    for rec, geom in zip(located[cols].itertuples(index=False, name=None), located.geometry, strict=True):
        props = {k: v for k, v in ((k, _json_value(v)) for k, v in zip(cols, rec, strict=True)) if v is not None}
        key = (props.get("domain"), props.get("name"))
        feat = groups.get(key)
        if feat is None:
            if id(geom) not in memo:
                memo[id(geom)] = mapping(_clean(geom, geoplan.settings.coordinate_decimals))
            feat = groups[key] = {"type": "Feature", "geometry": memo[id(geom)],
                                  "properties": {**props, "n": 0, "items": []}}
        feat["properties"]["n"] += 1
        feat["properties"]["items"].append({k: props[k] for k in ITEM_KEYS if k in props})
    return {"type": "FeatureCollection", "features": list(groups.values())}


# --------------------------------------------------------------------------- the variants the benchmarks compare

VARIANTS = {
    "shipped": "geoplan as it is",
    "compact": "DomainLayer data as compact UTF-8 JSON, script not re-compiled by Jinja",
    "canvas": "compact + preferCanvas (paths drawn on one <canvas>, not as SVG elements)",
    "grouped": "compact + one shape per (domain, place) listing its items",
}


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    """Build maps the ``name`` way inside the block (``build_map`` then ``canvas_map`` for 'canvas')."""
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; one of {', '.join(VARIANTS)}")
    with contextlib.ExitStack() as stack:
        if name != "shipped":
            stack.enter_context(compact_domain_layer())
        if name == "grouped":
            saved = geoplan.maps._map_data
            geoplan.maps._map_data = grouped_map_data
            stack.callback(setattr, geoplan.maps, "_map_data", saved)
        yield


def build_map_variant(name: str, gdf: Any, **kwargs: Any) -> folium.Map:
    """``geoplan.maps.build_map(gdf, **kwargs)`` the ``name`` way (call inside ``variant(name)``)."""
    m = geoplan.maps.build_map(gdf, **kwargs)
    if name == "canvas":
        m.options["prefer_canvas"] = True
    return m


# --------------------------------------------------------------------------- the app

#: Source edits of streamlit_app.py for the "patched" app run (bench/render.py writes a wrapper that
#: applies them, the ``grouped`` variant and ``st_folium(render=False)``, then runs the app's code).
APP_EDITS: tuple[tuple[str, str], ...] = (
    # At most 50 expanders beside the map (the table lists every item): thousands of st.expander
    # elements take seconds to render in the browser before the map's iframe is even mounted.
    ('for r in unplaced.drop_duplicates("item_id").itertuples():',
     'for r in unplaced.drop_duplicates("item_id").head(50).itertuples():'),
    # Downloads built when clicked (a callable), not on every rerun for all four formats.
    ("data=download(shown, key, fmt)", "data=(lambda fmt=fmt: download(shown, key, fmt))"),
    # `x in set(gdf[col])` inside a comprehension's condition rebuilds the set for every option, by
    # iterating a pandas Arrow string column element by element: ~7 s of a 12 s rerun at 100k.
    ('if d in set(gdf["domain"])]', 'if d in set(gdf["domain"].unique())]'),
    ('if s.value in set(gdf["status"])]', 'if s.value in set(gdf["status"].unique())]'),
    ('if p in set(gdf["precision"])]', 'if p in set(gdf["precision"].unique())]'),
)


def patched_app_source(src: str) -> str:
    for old, new in APP_EDITS:
        if old not in src:
            raise RuntimeError(f"prototype out of date: streamlit_app.py no longer contains\n{old}")
        src = src.replace(old, new)
    return src


APP_WRAPPER = '''"""streamlit_app.py run by bench/render.py: logs each rerun's server time; with PATCHED, the prototypes."""
import functools
import sys
import time

PATCHED = {patched!r}
t0 = time.perf_counter()
sys.path.insert(0, {bench!r})
import streamlit_folium  # noqa: E402

from _patches import patched_app_source, variant  # noqa: E402

try:
    with open({app!r}, encoding="utf-8") as f:
        src = f.read()
    if PATCHED:
        if not isinstance(streamlit_folium.st_folium, functools.partial):
            streamlit_folium.st_folium = functools.partial(streamlit_folium.st_folium, render=False)
        with variant("grouped"):
            exec(compile(patched_app_source(src), {app!r}, "exec"), {{"__name__": "__main__", "__file__": {app!r}}})
    else:
        exec(compile(src, {app!r}, "exec"), {{"__name__": "__main__", "__file__": {app!r}}})
finally:
    print(f"BENCH rerun {{time.perf_counter() - t0:.3f}}", file=sys.stderr, flush=True)
'''
