"""Bytes of the maps geoplan sends against the bytes of the GeoJSON they show, and peers built the same way.

For the shipped report's located features and 1k/10k/100k generated located features:

- **standalone page**: ``build_map(show_boundaries=True, list_unplaced=True, search=True)`` (as
  ``geoplan map`` does) + ``localize(mode="inline")`` + render: every script, style and font inside the page.
- **app map**: what ``streamlit_app.py`` does on every rerun: ``build_map(gdf, …, data=map_data(gdf))``
  (the map data is cached once per report in the app, so it is timed apart) + ``localize(mode="static")``
  + ``st_folium(m, render=False, feature_group_to_add=[map_view(shown, gdf)], …)``, with
  streamlit-folium's component call intercepted: the bytes are those of ``json.dumps`` of the component's
  arguments, which is what Streamlit puts in the WebSocket message (``server.maxMessageSize`` is 200 MB
  by default). Assets are separate, cached files here.
- **filter change in the app**: the map's script stays the same (so streamlit-folium keeps its iframe
  and only evaluates the new ``feature_group`` script); the view message is that ``feature_group``
  argument (``geoplan.view(map, {fids, selected, key})``) for two filters: the largest domain, and
  every other domain. The whole component message is still sent again on each rerun: its size is
  printed beside it.
- **GeoJSON shown**: ``dumps_geojson(features_to_geojson(located))``, what an export of the drawn
  features weighs. The ratio is payload / GeoJSON; "data ratio" subtracts the fixed page (the same
  map built from zero features), so that Leaflet's own bytes don't decide the ratio at small sizes.

Variants (bench/_patches.py): ``shipped`` (one shape per domain and place, listing its items) and
``per-item`` (one shape per located row, the way maps were drawn before 219088c). Peers (all as
standalone inline pages, same features): one ``folium.Marker`` per feature (with popup and tooltip),
one ``folium.GeoJson`` layer of the same per-row properties (style function, popup, tooltip),
``folium.plugins.FastMarkerCluster`` (points only, no popups), geoplan's DomainLayers (``build_map``).
At 100k (to stay within 8 minutes on 2 cores) the Marker and GeoJson peers are skipped (their 10k
time × 10 is printed as an estimate).

    .venv/bin/python bench/payload.py [--quick] [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import gc
import html
import inspect
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    SIZES,
    best_of,
    fmt_bytes,
    fmt_ratio,
    fmt_s,
    label,
    log,
    peak_rss_mib,
    print_machine,
    table,
    target,
)

MAX_MESSAGE_BYTES = 200 * 10**6  # streamlit: server.maxMessageSize (default 200) × 1e6
PEERS = ("marker", "geojson", "fastmc", "domainlayer")
PEER_LABELS = {
    "marker": "folium.Marker per feature",
    "geojson": "one folium.GeoJson (per-row properties)",
    "fastmc": "FastMarkerCluster (points only)",
    "domainlayer": "geoplan DomainLayer (shipped)",
}


def _features(n: int | None, *, distinct: bool = False):
    from _common import located_features, shipped_features

    if distinct and n is not None:  # every row at its own place (generate.distinct_features)
        from generate import distinct_features

        return distinct_features(n, 0)
    if n is None:
        gdf = shipped_features()
        return gdf[gdf.geometry.notna()]
    return located_features(n)


def _runs(n: int | None, variant_name: str = "shipped") -> int:
    """Best of 5 for the shipped report, 3 at 1k and 10k (per-item at 10k: once), one run at 100k."""
    if n is None:
        return 5
    if n >= 100_000 or (n >= 10_000 and variant_name == "per-item"):
        return 1
    return 3


def _standalone_kwargs() -> dict[str, Any]:
    """``geoplan map``'s arguments to build_map (``search`` exists since 8464a07)."""
    from geoplan.maps import build_map

    kw: dict[str, Any] = {"show_boundaries": True, "list_unplaced": True}
    if "search" in inspect.signature(build_map).parameters:
        kw["search"] = True
    return kw


def standalone(variant_name: str, gdf: Any, gaz: Any, runs: int) -> tuple[float, int]:
    from _patches import build_map_variant, variant

    from geoplan.offline import localize

    kw = _standalone_kwargs()

    def run() -> str:
        with variant(variant_name):
            m = build_map_variant(variant_name, gdf, gazetteer=gaz, **kw)
            localize(m, mode="inline")
            return m.get_root().render()

    t, page = best_of(run, runs)
    return t, len(page.encode("utf-8"))


class _Intercepted:
    """streamlit-folium's component call replaced by one that records its arguments."""

    def __init__(self) -> None:
        self.args: dict[str, Any] = {}

    def __enter__(self) -> _Intercepted:
        import streamlit_folium

        self._saved = streamlit_folium._component_func
        streamlit_folium._component_func = lambda **kw: self.args.update(kw)
        return self

    def __exit__(self, *exc: object) -> None:
        import streamlit_folium

        streamlit_folium._component_func = self._saved

    def message(self) -> str:
        """The component's arguments as Streamlit's component machinery serialises them."""
        return json.dumps({k: v for k, v in self.args.items() if k != "on_change"})


def app_rerun(gdf: Any, shown: Any, data: Any, gaz: Any) -> None:
    """The map part of one rerun of streamlit_app.py (``data`` is its cached ``drawn()``)."""
    import streamlit_folium

    from geoplan.maps import build_map, map_view
    from geoplan.offline import localize

    m = build_map(
        gdf, lang="zh", basemap="osm", gazetteer=gaz, show_boundaries=True, draw=False, search=True, data=data
    )
    localize(m, mode="static")
    streamlit_folium.st_folium(
        m,
        key="map",
        height=620,
        use_container_width=True,
        render=False,
        feature_group_to_add=[map_view(shown, gdf, selected=None)],
        returned_objects=[],
        center=None,
        zoom=None,
    )


def app_map(variant_name: str, gdf: Any, gaz: Any, runs: int) -> dict[str, Any]:
    """The app's map message for ``gdf`` (everything shown): map data once, then a rerun's share."""
    from _patches import map_data_for

    make = map_data_for(variant_name)
    t_data, data = best_of(lambda: make(gdf, "osm"), runs)
    with _Intercepted() as comp:
        t, message = best_of(lambda: (app_rerun(gdf, gdf, data, gaz), comp.message())[1], runs)
        script = len(comp.args["script"].encode("utf-8"))
    return {"s": t, "data_s": t_data, "bytes": len(message.encode("utf-8")), "script": script, "shapes": data.shapes}


def view_messages(gdf: Any, gaz: Any, runs: int) -> dict[str, Any]:
    """A filter change in the app: the ``feature_group`` (view) bytes and the whole message, two filters."""
    from geoplan.maps import map_data

    data = map_data(gdf, "osm")
    largest = gdf["domain"].value_counts().index[0]
    out: dict[str, Any] = {}
    with _Intercepted() as comp:
        app_rerun(gdf, gdf, data, gaz)
        script_all = comp.args["script"]
        for what, shown in (
            (f"largest domain ({largest})", gdf[gdf["domain"] == largest]),
            ("every other domain", gdf[gdf["domain"] != largest]),
        ):
            t, message = best_of(lambda shown=shown: (app_rerun(gdf, shown, data, gaz), comp.message())[1], runs)
            out[what] = {
                "rows": len(shown),
                "s": t,
                "view": len(comp.args["feature_group"].encode("utf-8")),
                "bytes": len(message.encode("utf-8")),
                "same_script": comp.args["script"] == script_all,
            }
    return out


def peer(kind: str, gdf: Any, gaz: Any, runs: int) -> tuple[float, int]:
    """A standalone inline page drawing ``gdf`` the ``kind`` way: seconds to build+render, bytes."""
    import folium
    import shapely
    from folium.plugins import FastMarkerCluster

    from geoplan.features import features_to_geojson
    from geoplan.maps import ITEM_PROPERTIES, PALETTE, PLACE_PROPERTIES, build_map
    from geoplan.offline import localize

    if kind == "domainlayer":

        def run() -> str:
            m = build_map(gdf, gazetteer=gaz)
            localize(m, mode="inline")
            return m.get_root().render()
    else:

        def run() -> str:
            m = folium.Map(location=[37.87, 112.55], zoom_start=10)
            if kind == "marker":
                pts = shapely.point_on_surface(gdf.geometry.values)
                for p, text, name in zip(pts, gdf["text"], gdf["matched"], strict=True):
                    folium.Marker(
                        [p.y, p.x],
                        popup=folium.Popup(html.escape(str(text)), max_width=340),
                        tooltip=html.escape(str(name)),
                    ).add_to(m)
            elif kind == "geojson":
                cols = [c for c in (*PLACE_PROPERTIES, *ITEM_PROPERTIES) if c in gdf.columns]
                data = features_to_geojson(gdf[[*dict.fromkeys(cols), gdf.geometry.name]])
                domains = list(dict.fromkeys(gdf["domain"]))
                colors = {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(domains)}
                folium.GeoJson(
                    data,
                    name="features",
                    style_function=lambda f: {"color": colors[f["properties"]["domain"]], "weight": 2},
                    popup=folium.GeoJsonPopup(fields=["text"], labels=False),
                    tooltip=folium.GeoJsonTooltip(fields=["matched"], labels=False),
                ).add_to(m)
            elif kind == "fastmc":
                pts = shapely.point_on_surface(gdf.geometry.values)
                FastMarkerCluster([[p.y, p.x] for p in pts]).add_to(m)
            localize(m, mode="inline")
            return m.get_root().render()

    t, page = best_of(run, runs)
    return t, len(page.encode("utf-8"))


def measure(n: int | None, *, skip_slow_peers: bool, distinct: bool = False) -> dict[str, Any]:
    from _common import gazetteer

    from geoplan.features import dumps_geojson, features_to_geojson

    gaz = gazetteer()
    gdf = _features(n, distinct=distinct)
    empty = gdf.iloc[:0]
    one = gdf.iloc[:1]  # folium.GeoJson refuses a tooltip on an empty collection: peers' fixed part is 1 feature
    out: dict[str, Any] = {"n": n, "features": len(gdf), "distinct": distinct}
    out["geojson_bytes"] = len(dumps_geojson(features_to_geojson(gdf)).encode("utf-8"))
    out["standalone"] = {}
    out["app"] = {}
    for v in ("shipped", "per-item"):
        log(f"  {label(n)} standalone {v}")
        t, b = standalone(v, gdf, gaz, _runs(n, v))
        out["standalone"][v] = {"s": t, "bytes": b, "fixed": standalone(v, empty, gaz, 1)[1]}
        gc.collect()
    for v in ("shipped", "per-item"):
        log(f"  {label(n)} app {v}")
        r = app_map(v, gdf, gaz, _runs(n, v))
        r["fixed"] = app_map(v, empty, gaz, 1)["bytes"]
        out["app"][v] = r
        gc.collect()
    log(f"  {label(n)} app filter change (view message)")
    out["views"] = view_messages(gdf, gaz, _runs(n))
    gc.collect()
    out["peers"] = {}
    for kind in PEERS:
        if skip_slow_peers and kind in ("marker", "geojson"):
            continue
        log(f"  {label(n)} peer {kind}")
        t, b = peer(kind, gdf, gaz, _runs(n))
        out["peers"][kind] = {"s": t, "bytes": b, "fixed": peer(kind, one, gaz, 1)[1]}
        gc.collect()
    out["rss_peak_mib"] = peak_rss_mib()
    return out


def _child(n: int | None, timeout: float, skip_slow_peers: bool, distinct: bool = False) -> dict[str, Any] | None:
    cmd = [sys.executable, __file__, "--one", "shipped" if n is None else str(n)]
    if skip_slow_peers:
        cmd.append("--skip-slow-peers")
    if distinct:
        cmd.append("--distinct")
    try:
        res = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"payload {label(n)}: no result within {timeout:.0f} s")
        return None
    if res.returncode != 0:
        log(f"payload {label(n)} failed:\n{res.stderr[-3000:]}")
        return None
    sys.stderr.write(res.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _row_label(r: dict[str, Any]) -> str:
    return label(r["n"]) + (" distinct" if r.get("distinct") else "")


def _ratio(x: float, y: float) -> float:
    return x / y if y else math.nan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip 100k")
    ap.add_argument("--sizes", type=int, nargs="*", help="located features (default 1k 10k 100k)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--skip-slow-peers", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument(
        "--distinct", action="store_true", help="feature sets of distinct places (generate.distinct_features)"
    )
    args = ap.parse_args(argv)
    if args.one:
        n = None if args.one == "shipped" else int(args.one)
        print(json.dumps(measure(n, skip_slow_peers=args.skip_slow_peers, distinct=args.distinct)))
        return 0

    sizes = args.sizes or [s for s in SIZES if not (args.quick and s >= 100_000)]
    print("## Map payload\n")
    print_machine()
    results = []
    for n in sizes if args.distinct else [None, *sizes]:
        log(f"payload {label(n)} …")
        t0 = time.perf_counter()
        r = _child(
            n,
            timeout=480,
            skip_slow_peers=bool(n and n >= (10_000 if args.distinct else 100_000)),
            distinct=args.distinct,
        )
        log(f"payload {label(n)} done in {time.perf_counter() - t0:.0f} s")
        if r is not None:
            results.append(r)

    rows = []
    for r in results:
        gj = r["geojson_bytes"]
        for where in ("standalone", "app"):
            for v, m in r[where].items():
                shapes = f", {m['shapes']:,} shapes" if "shapes" in m else ""
                rows.append(
                    [
                        _row_label(r),
                        f"{r['features']:,}",
                        fmt_bytes(gj),
                        where,
                        v + shapes,
                        fmt_s(m["s"]) + (f" (+ map data {fmt_s(m['data_s'])} once)" if "data_s" in m else ""),
                        fmt_bytes(m["bytes"]),
                        fmt_ratio(_ratio(m["bytes"], gj)),
                        fmt_bytes(m["fixed"]),
                        fmt_ratio(_ratio(m["bytes"] - m["fixed"], gj)),
                    ]
                )
    table(
        [
            "features",
            "located",
            "GeoJSON shown",
            "page",
            "variant",
            "build+render (app: per rerun)",
            "payload",
            "ratio",
            "fixed part",
            "data ratio",
        ],
        rows,
        title="Payload against the GeoJSON shown",
    )

    rows = []
    for r in results:
        for what, m in r["views"].items():
            rows.append(
                [
                    _row_label(r),
                    what,
                    f"{m['rows']:,}",
                    fmt_bytes(m["view"]),
                    fmt_s(m["s"]),
                    fmt_bytes(m["bytes"]),
                    "yes" if m["same_script"] else "NO (new iframe)",
                ]
            )
    table(
        [
            "features",
            "filter (from all)",
            "rows shown",
            "view message (feature_group)",
            "server: map part of the rerun",
            "whole component message",
            "map script unchanged",
        ],
        rows,
        title="App filter change: what streamlit-folium gets (shipped)",
    )

    rows = []
    for r in results:
        base = r["peers"].get("domainlayer")
        for kind in PEERS:
            m = r["peers"].get(kind)
            if m is None:
                # Scaled from the largest size measured below this one (10k for 100k).
                q = max(
                    (q for q in results if q["n"] and kind in q["peers"] and q["n"] < (r["n"] or 0)),
                    key=lambda q: q["n"],
                    default=None,
                )
                est = None if q is None else q["peers"][kind]["s"] * r["features"] / q["features"]
                how = "" if q is None else f" by {label(q['n'])} × {r['features'] / q['features']:g}"
                rows.append(
                    [
                        _row_label(r),
                        PEER_LABELS[kind],
                        f"skipped (≈{fmt_s(est)}{how})" if est else "skipped",
                        "—",
                        "—",
                        "—",
                    ]
                )
                continue
            rows.append(
                [
                    _row_label(r),
                    PEER_LABELS[kind],
                    fmt_s(m["s"]),
                    fmt_bytes(m["bytes"]),
                    fmt_ratio(_ratio(m["s"], base["s"])) if base else "—",
                    fmt_ratio(_ratio(m["bytes"] - m["fixed"], base["bytes"] - base["fixed"])) if base else "—",
                ]
            )
    table(
        [
            "features",
            "peer (standalone inline page)",
            "build+render",
            "page bytes",
            "time / DomainLayer",
            "data bytes / DomainLayer",
        ],
        rows,
        title="Peers in the same run",
    )

    print()
    for r in results:
        if r["n"] is None:
            continue
        gj = r["geojson_bytes"]
        for where in ("standalone", "app"):
            m = r[where]["shipped"]
            target(
                f"payload ≤ 2 × GeoJSON shown, {where}, {_row_label(r)}",
                m["bytes"] <= 2 * gj,
                f"{fmt_bytes(m['bytes'])} for {fmt_bytes(gj)} of GeoJSON ({fmt_ratio(m['bytes'] / gj)})",
            )
    shipped = next((r for r in results if r["n"] is None), None)
    if shipped:
        gj = shipped["geojson_bytes"]
        for where in ("standalone", "app"):
            m = shipped[where]["shipped"]
            target(
                f"payload ≤ 2 × GeoJSON shown, {where}, shipped report",
                m["bytes"] <= 2 * gj,
                f"{fmt_bytes(m['bytes'])} for {fmt_bytes(gj)} of GeoJSON ({fmt_ratio(m['bytes'] / gj)}); the fixed "
                f"page is {fmt_bytes(m['fixed'])}, data ratio {fmt_ratio((m['bytes'] - m['fixed']) / gj)}",
            )
    big = max((r for r in results if r["n"]), key=lambda r: r["n"], default=None)
    if big:
        m = big["app"]["shipped"]
        target(
            f"{label(big['n'])} features fit one Streamlit message",
            m["bytes"] < MAX_MESSAGE_BYTES,
            f"{fmt_bytes(m['bytes'])} against server.maxMessageSize {fmt_bytes(MAX_MESSAGE_BYTES)}; "
            f"the server spends {fmt_s(m['s'])} per rerun on the map (+ {fmt_s(m['data_s'])} once for its data)",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
