"""Bytes of the maps geoplan sends against the bytes of the GeoJSON they show, and peers built the same way.

For the shipped report's located features and 1k/10k/100k generated located features:

- **standalone page**: ``build_map(show_boundaries=True)`` (as ``geoplan map`` does) +
  ``localize(mode="inline")`` + render: every script, style and font inside the page.
- **app map**: ``build_map(show_boundaries=True)`` + ``localize(mode="static")`` + ``st_folium`` (as
  ``streamlit_app.py`` calls it), with streamlit-folium's component call intercepted: the bytes are
  those of ``json.dumps`` of the component's arguments, which is what Streamlit puts in the WebSocket
  message (``server.maxMessageSize`` is 200 MB by default). Assets are separate, cached files here.
- **GeoJSON shown**: ``dumps_geojson(features_to_geojson(located))``, what an export of the drawn
  features weighs. The ratio is payload / GeoJSON; "data ratio" subtracts the fixed page (the same
  map built from zero features), so that Leaflet's own bytes don't decide the ratio at small sizes.

Prototypes (bench/_patches.py) are measured beside the shipped code: "compact" (UTF-8 JSON, no Jinja
re-compilation) and "grouped" (one shape per domain and place); for the app also
``st_folium(render=False)``. Peers (all as standalone inline pages, same features): one
``folium.Marker`` per feature (with popup and tooltip), one ``folium.GeoJson`` layer (style function,
popup, tooltip), ``folium.plugins.FastMarkerCluster`` (points only, no popups), geoplan's DomainLayers.
At 100k (to stay within 8 minutes on 2 cores) the Marker and GeoJson peers are skipped (their 10k
time × 10 is printed as an estimate), so are the "compact" rows (their effect is proportional, see 10k),
the DomainLayer peer is the standalone page itself, and the shipped app's message is built with
``render=False`` (identical bytes, a third less time; labelled so).

    .venv/bin/python bench/payload.py [--quick] [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import gc
import html
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
PEER_LABELS = {"marker": "folium.Marker per feature", "geojson": "one folium.GeoJson",
               "fastmc": "FastMarkerCluster (points only)", "domainlayer": "geoplan DomainLayer"}


def _features(n: int | None):
    from _common import located_features, shipped_features

    if n is None:
        gdf = shipped_features()
        return gdf[gdf.geometry.notna()]
    return located_features(n)


RUNS = 1  # set per size in measure(): best of 5 for the shipped report, 3 at 1k, one run from 10k


def _timed(fn: Any) -> tuple[float, Any]:
    return best_of(fn, RUNS)


def standalone(variant_name: str, gdf: Any, gaz: Any) -> tuple[float, int]:
    from _patches import build_map_variant, variant

    from geoplan.offline import localize

    def run() -> str:
        with variant(variant_name):
            m = build_map_variant(variant_name, gdf, gazetteer=gaz, show_boundaries=True)
            localize(m, mode="inline")
            return m.get_root().render()

    t, page = _timed(run)
    return t, len(page.encode("utf-8"))


def app_map(variant_name: str, gdf: Any, gaz: Any, *, render: bool = True) -> tuple[float, int, int]:
    """Seconds for build_map + localize + st_folium, bytes of the component message, bytes of its script."""
    import streamlit_folium
    from _patches import build_map_variant, variant

    from geoplan.offline import localize

    captured: dict[str, Any] = {}

    def component(**kwargs: Any) -> None:
        captured.update(kwargs)

    saved = streamlit_folium._component_func
    streamlit_folium._component_func = component
    try:
        def run() -> str:
            with variant(variant_name):
                m = build_map_variant(variant_name, gdf, gazetteer=gaz, show_boundaries=True)
                localize(m, mode="static")
                streamlit_folium.st_folium(m, key="map", height=620, use_container_width=True,
                                           returned_objects=[], render=render)
            args = {k: v for k, v in captured.items() if k != "on_change"}
            return json.dumps(args)  # what Streamlit's component machinery sends

        t, message = _timed(run)
    finally:
        streamlit_folium._component_func = saved
    return t, len(message.encode("utf-8")), len(captured["script"].encode("utf-8"))


def peer(kind: str, gdf: Any, gaz: Any) -> tuple[float, int]:
    """A standalone inline page drawing ``gdf`` the ``kind`` way: seconds to build+render, bytes."""
    import folium
    import shapely
    from folium.plugins import FastMarkerCluster

    from geoplan.maps import PALETTE, _map_data, build_map
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
                    folium.Marker([p.y, p.x], popup=folium.Popup(html.escape(str(text)), max_width=340),
                                  tooltip=html.escape(str(name))).add_to(m)
            elif kind == "geojson":
                data = _map_data(gdf, "osm")
                domains = list(dict.fromkeys(gdf["domain"]))
                colors = {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(domains)}
                folium.GeoJson(
                    data, name="features",
                    style_function=lambda f: {"color": colors[f["properties"]["domain"]], "weight": 2},
                    popup=folium.GeoJsonPopup(fields=["text"], labels=False),
                    tooltip=folium.GeoJsonTooltip(fields=["matched"], labels=False),
                ).add_to(m)
            elif kind == "fastmc":
                pts = shapely.point_on_surface(gdf.geometry.values)
                FastMarkerCluster([[p.y, p.x] for p in pts]).add_to(m)
            localize(m, mode="inline")
            return m.get_root().render()

    t, page = _timed(run)
    return t, len(page.encode("utf-8"))


def measure(n: int | None, *, skip_slow_peers: bool) -> dict[str, Any]:
    from _common import gazetteer

    from _patches import features_to_geojson_memo

    from geoplan.features import dumps_geojson

    global RUNS
    gaz = gazetteer()
    gdf = _features(n)
    RUNS = 5 if n is None else 3 if n < 10_000 else 1
    empty = gdf.iloc[:0]
    one = gdf.iloc[:1]  # folium.GeoJson refuses a tooltip on an empty collection: peers' fixed part is 1 feature
    out: dict[str, Any] = {"n": n, "features": len(gdf)}
    # The memoised prototype writes the same text as features_to_geojson (pipeline.py checks), faster.
    out["geojson_bytes"] = len(dumps_geojson(features_to_geojson_memo(gdf)).encode("utf-8"))
    out["standalone"] = {}
    out["app"] = {}
    big = n is not None and n >= 100_000  # 8-minute budget: at 100k only what the targets need
    for v in ("shipped", "grouped") if big else ("shipped", "compact", "grouped"):
        log(f"  {label(n)} standalone {v}")
        t, b = standalone(v, gdf, gaz)
        out["standalone"][v] = {"s": t, "bytes": b, "fixed": standalone(v, empty, gaz)[1]}
        gc.collect()
    # At 100k the shipped app row uses render=False: the same message (the 10k rows show compact with and
    # without render= give identical bytes) in two thirds of the time, which keeps the script in budget.
    app_variants = (("shipped", False), ("grouped", False)) if big else (
        ("shipped", True), ("compact", True), ("compact", False), ("grouped", False))
    for v, render in app_variants:
        key = v if render else f"{v}, render=False"
        log(f"  {label(n)} app {key}")
        t, b, script = app_map(v, gdf, gaz, render=render)
        out["app"][key] = {"s": t, "bytes": b, "script": script, "fixed": app_map(v, empty, gaz, render=render)[1]}
        gc.collect()
    out["peers"] = {}
    for kind in PEERS:
        if skip_slow_peers and kind in ("marker", "geojson"):
            continue
        if big and kind == "domainlayer":  # the standalone page above, boundaries and all (+0.1 MB)
            out["peers"][kind] = {**out["standalone"]["shipped"], "reused": True}
            continue
        log(f"  {label(n)} peer {kind}")
        t, b = peer(kind, gdf, gaz)
        out["peers"][kind] = {"s": t, "bytes": b, "fixed": peer(kind, one, gaz)[1]}
        gc.collect()
    out["rss_peak_mib"] = peak_rss_mib()
    return out


def _child(n: int | None, timeout: float, skip_slow_peers: bool) -> dict[str, Any] | None:
    cmd = [sys.executable, __file__, "--one", "shipped" if n is None else str(n)]
    if skip_slow_peers:
        cmd.append("--skip-slow-peers")
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


def _ratio(x: float, y: float) -> float:
    return x / y if y else math.nan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip 100k")
    ap.add_argument("--sizes", type=int, nargs="*", help="located features (default 1k 10k 100k)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--skip-slow-peers", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        n = None if args.one == "shipped" else int(args.one)
        print(json.dumps(measure(n, skip_slow_peers=args.skip_slow_peers)))
        return 0

    sizes = args.sizes or [s for s in SIZES if not (args.quick and s >= 100_000)]
    print("## Map payload\n")
    print_machine()
    results = []
    for n in [None, *sizes]:
        log(f"payload {label(n)} …")
        t0 = time.perf_counter()
        r = _child(n, timeout=480, skip_slow_peers=bool(n and n >= 100_000))
        log(f"payload {label(n)} done in {time.perf_counter() - t0:.0f} s")
        if r is not None:
            results.append(r)

    rows = []
    for r in results:
        gj = r["geojson_bytes"]
        for where in ("standalone", "app"):
            for v, m in r[where].items():
                rows.append([label(r["n"]), f"{r['features']:,}", fmt_bytes(gj), where, v, fmt_s(m["s"]),
                             fmt_bytes(m["bytes"]), fmt_ratio(_ratio(m["bytes"], gj)),
                             fmt_bytes(m["fixed"]), fmt_ratio(_ratio(m["bytes"] - m["fixed"], gj))])
    table(["features", "located", "GeoJSON shown", "page", "variant", "build+render", "payload", "ratio",
           "fixed part", "data ratio"], rows, title="Payload against the GeoJSON shown")

    rows = []
    for r in results:
        base = r["peers"].get("domainlayer")
        for kind in PEERS:
            m = r["peers"].get(kind)
            if m is None:
                est = next((q["peers"][kind]["s"] * r["features"] / q["features"] for q in results
                            if q["n"] and kind in q["peers"] and q["n"] < (r["n"] or 0)), None)
                rows.append([label(r["n"]), PEER_LABELS[kind], f"skipped (≈{fmt_s(est)} by 10k × 10)" if est else
                             "skipped", "—", "—", "—"])
                continue
            rows.append([label(r["n"]), PEER_LABELS[kind], fmt_s(m["s"]), fmt_bytes(m["bytes"]),
                         fmt_ratio(_ratio(m["s"], base["s"])) if base else "—",
                         fmt_ratio(_ratio(m["bytes"] - m["fixed"], base["bytes"] - base["fixed"])) if base else "—"])
    table(["features", "peer (standalone inline page)", "build+render", "page bytes", "time / DomainLayer",
           "data bytes / DomainLayer"], rows, title="Peers in the same run")

    print()
    for r in results:
        if r["n"] is None:
            continue
        gj = r["geojson_bytes"]
        for where in ("standalone", "app"):
            m = r[where].get("shipped") or r[where]["shipped, render=False"]
            target(f"payload ≤ 2 × GeoJSON shown, {where}, {label(r['n'])}", m["bytes"] <= 2 * gj,
                   f"{fmt_bytes(m['bytes'])} for {fmt_bytes(gj)} of GeoJSON ({fmt_ratio(m['bytes'] / gj)})")
    shipped = next((r for r in results if r["n"] is None), None)
    if shipped:
        m, gj = shipped["standalone"]["shipped"], shipped["geojson_bytes"]
        target("payload ≤ 2 × GeoJSON shown, standalone, shipped report", m["bytes"] <= 2 * gj,
               f"{fmt_bytes(m['bytes'])} for {fmt_bytes(gj)} of GeoJSON: the fixed page (Leaflet, markercluster, "
               f"boundaries, inline) is {fmt_bytes(m['fixed'])}")
    big = max((r for r in results if r["n"]), key=lambda r: r["n"], default=None)
    if big:
        m = big["app"].get("shipped") or big["app"]["shipped, render=False"]
        target(f"{label(big['n'])} features fit one Streamlit message", m["bytes"] < MAX_MESSAGE_BYTES,
               f"{fmt_bytes(m['bytes'])} against server.maxMessageSize {fmt_bytes(MAX_MESSAGE_BYTES)}; "
               f"the server spends {fmt_s(m['s'])} building it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
