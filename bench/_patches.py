"""Variants measured beside the shipped code in the same run, applied by monkeypatching.

Nothing here changes ``src/``. The prototypes the first benchmark run measured (compact JSON outside
Jinja, one shape per place, GeoJSON geometry memo, the app edits) are shipped since 4dd69ab, 219088c and
f200623; what is left are the peers that put the shipped map in perspective:

- ``per-item``: the map drawn the old way, one shape per located row (no grouping by place): the
  shipped ``geoplan.maps.map_data`` rebuilt from its source with the group key made unique per row.
  Same script, same compact JSON; only the grouping differs, so it isolates what grouping buys.
- ``canvas``: the shipped map with ``preferCanvas`` (paths drawn on one ``<canvas>``, not as SVG).

A variant whose snippet no longer exists in ``src/`` refuses to run ("variant out of date"), so a
figure never silently measures something else.
"""

from __future__ import annotations

import contextlib
import inspect
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import folium
import numpy as np

import geoplan.maps


def _rebuilt(func: Callable[..., Any], *edits: tuple[str, str]) -> Callable[..., Any]:
    """``func`` compiled again from its source with each ``(old, new)`` snippet replaced."""
    src = textwrap.dedent(inspect.getsource(func))
    for old, new in edits:
        if old not in src:
            msg = f"variant out of date: {func.__module__}.{func.__qualname__} no longer contains\n{old}"
            raise RuntimeError(msg)
        src = src.replace(old, new)
    namespace: dict[str, Any] = {}
    code = compile(src, f"<patched {func.__qualname__}>", "exec")
    exec(code, func.__globals__, namespace)  # noqa: S102 -- our own edit of a shipped function
    out = namespace[func.__name__]
    out.__doc__ = func.__doc__
    return out


# --------------------------------------------------------------------------- maps: one shape per located row

#: The shipped ``map_data`` (the geometry once per place, JSON once per domain), except that every
#: located row becomes its own feature carrying one item: the map as it was drawn before 219088c
#: (thousands of identical paths for the districts a report names again and again).
_map_data_per_item = _rebuilt(
    geoplan.maps._map_data,
    ("        key = (*place, digest)", "        key = (*place, digest, len(groups))"),
)


def map_data_per_item(gdf: Any, basemap: Any = "osm", *, lod: bool = False) -> geoplan.maps.MapData:
    with geoplan.maps.gc_paused():
        return _map_data_per_item(gdf, basemap, lod)


def map_data_whole(gdf: Any, basemap: Any = "osm", *, lod: bool = False) -> geoplan.maps.MapData:
    """Every feature with its whole geometry, built at once (no zoom bands): the map before the bands."""
    return _SHIPPED_MAP_DATA(gdf, basemap, lod=False)


_SHIPPED_MAP_DATA = geoplan.maps.map_data


# --------------------------------------------------------------------------- the variants the benchmarks compare

VARIANTS = {
    "shipped": "geoplan as it is: one shape per (domain, place) listing its items",
    "per-item": "one shape per located row (no grouping by place); otherwise shipped",
    "canvas": "shipped + preferCanvas (paths drawn on one <canvas>, not as SVG elements)",
    "whole": "no zoom bands: every line and area with its whole geometry, built at first draw (before #14)",
    "bands-blocks": "shipped, the finer zoom bands as JSON blocks in the page (one file), parsed on demand",
    "bands-inline": "shipped, the finer zoom bands inside the layers' script (one file)",
    "bands-canvas": "shipped, the banded lines and areas drawn on one canvas per layer",
    "bands-animated": "shipped, with markercluster's zoom animation (animate: true) on the banded layers",
    "props-in-page": "shipped, the banded layers' popup and find data in the page (before #14's props files)",
    "no-dots": "every banded line and area in view drawn as its shape at any zoom, fitted after (before draw3)",
    "dots-6": "shipped, banded lines and areas under 6 px drawn as clustered markers",
    "dots-12": "shipped, banded lines and areas under 12 px drawn as clustered markers",
    "dots-24": "shipped, banded lines and areas under 24 px drawn as clustered markers",
    "geom-in-page": "shipped, with the first band's geometry of the shapes it draws as markers in the page (before)",
    "fit-animated": "shipped, the map fitted after its layers with folium's animated fitBounds (before draw3)",
    "markercluster": "shipped, the banded layers' markers clustered by markercluster (before the point index)",
    "script-literal": "shipped, the banded layers' features a literal in their script (before the JSON blocks)",
    "before-index": "markercluster, script literals and a popup and tooltip bound per place (before the point index)",
}
# The size under which a banded line or area is a clustered marker (maps.DOT_PX), per variant.
_DOT_PX = {"no-dots": 0, "dots-6": 6, "dots-12": 12, "dots-24": 24, "fit-animated": 24}


def map_data_for(name: str) -> Callable[..., geoplan.maps.MapData]:
    """The ``map_data`` function the ``name`` variant uses."""
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; one of {', '.join(VARIANTS)}")
    return {"per-item": map_data_per_item, "whole": map_data_whole}.get(name, _SHIPPED_MAP_DATA)


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    """Inside the block, ``build_map`` (which calls the module global ``map_data`` when it is given no
    ``data=``) draws the ``name`` way."""
    func = map_data_for(name)
    maps = geoplan.maps
    saved = maps.map_data, maps.LOD_DEFERRED, maps.LOD_CANVAS, maps.LOD_ANIMATE, maps.LOD_PROPS_DEFERRED
    saved_dot = maps.DOT_PX, maps.LOD_FIRST_VIEW, maps._markers_in_first_band
    saved_index = maps.LOD_CLUSTER_INDEX, maps.LOD_DATA_BLOCK, maps.LOD_LAZY_BIND
    maps.LOD_CLUSTER_INDEX = name not in ("markercluster", "before-index")
    maps.LOD_DATA_BLOCK = name not in ("script-literal", "before-index")
    maps.LOD_LAZY_BIND = name != "before-index"
    if name == "geom-in-page":
        maps._markers_in_first_band = lambda boxes: np.zeros(len(boxes), dtype=bool)
    maps.DOT_PX = _DOT_PX.get(name, saved_dot[0])
    maps.LOD_FIRST_VIEW = name not in ("fit-animated", "no-dots")  # before draw3: neither
    maps.map_data = func
    maps.LOD_DEFERRED = name != "bands-inline"
    maps.LOD_CANVAS = name == "bands-canvas"
    maps.LOD_ANIMATE = name == "bands-animated"
    maps.LOD_PROPS_DEFERRED = name != "props-in-page"  # before: popup and find data in the page
    try:
        yield
    finally:
        maps.map_data, maps.LOD_DEFERRED, maps.LOD_CANVAS, maps.LOD_ANIMATE, maps.LOD_PROPS_DEFERRED = saved
        maps.DOT_PX, maps.LOD_FIRST_VIEW, maps._markers_in_first_band = saved_dot
        maps.LOD_CLUSTER_INDEX, maps.LOD_DATA_BLOCK, maps.LOD_LAZY_BIND = saved_index


def build_map_variant(name: str, gdf: Any, **kwargs: Any) -> folium.Map:
    """``geoplan.maps.build_map(gdf, **kwargs)`` the ``name`` way (call inside ``variant(name)``)."""
    m = geoplan.maps.build_map(gdf, **kwargs)
    if name == "canvas":
        m.options["prefer_canvas"] = True
    return m


# --------------------------------------------------------------------------- the app

#: bench/render.py runs the repository's app through this wrapper: the app's own code, unchanged,
#: plus one ``BENCH rerun <seconds> <start, epoch seconds>`` line on stderr per script run (the server's
#: share of a rerun, and when it started, to line it up with the browser's clock).
APP_WRAPPER = '''"""streamlit_app.py run by bench/render.py: the app unchanged, each rerun's server time logged."""
import sys
import time

t0, start = time.perf_counter(), time.time()
try:
    with open({app!r}, encoding="utf-8") as f:
        src = f.read()
    exec(compile(src, {app!r}, "exec"), {{"__name__": "__main__", "__file__": {app!r}}})
finally:
    print(f"BENCH rerun {{time.perf_counter() - t0:.3f}} {{start:.3f}}", file=sys.stderr, flush=True)
'''
