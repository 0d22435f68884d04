"""Time from a filter change to the map redrawn in Chromium, at 1k/10k/100k features.

(a) **Standalone page** (``build_map`` as ``geoplan map`` calls it + ``localize(mode="inline")``, opened
    from a file; tile requests are aborted so the network never decides a figure): time to first paint
    of all layers (navigation start → ``load`` → two animation frames, i.e. the frame with every layer
    has been painted); the layer control's "filter": unticking the largest domain and ticking it again
    (click → Leaflet's handler → two animation frames), median of 3; and the **in-page filter** the app
    uses: ``geoplan.view(map, {fids: <the first half of the fids>, key: "x"})`` and back to all
    (``{fids: null}``), timed from the call to two animation frames after it (the map-side cost of an
    app filter change), median of 3; "settled" also waits for the ``fitBounds`` animation view() starts.
    Chrome's own counters (script, layout, style) for the load come from the DevTools protocol.
    Variants (bench/_patches.py): ``shipped``, ``per-item`` (one shape per located row, as before
    219088c) and ``canvas`` (shipped + preferCanvas).
(b) **Streamlit app**: ``streamlit run streamlit_app.py`` (through a wrapper that only logs each rerun's
    server time) on a free port with ``GEOPLAN_GEODATA_DIR`` pointing at a temporary folder (generated
    report as ``reports/taiyuan-2025.txt`` and copies of the gazetteer files) and ``GEOPLAN_DATA_DIR``
    at an empty one: cold start (process start → health → map painted in streamlit-folium's iframe),
    then the sidebar's domain multiselect (all → one domain → two domains). The map's iframe is marked
    (a property on its element and on its window) and ``geoplan.counts()`` noted; then Enter → the
    SAME iframe's ``geoplan.counts()`` changes → two animation frames: "filter change → map redrawn".
    A new iframe (or a reloaded one) is reported, never counted. Beside it, the server's share of a
    rerun measured in-process (the calls the app makes after a filter change).

Every wait is bounded; a bound hit is reported as "> N s", and the processes started are ended.

``--distinct`` draws standalone pages of places at distinct positions (``generate.distinct_features``)
instead of the sets that reuse 18 geometries (the app part is then skipped); ``--variants`` picks some.
The ``geojson`` peer is one ``folium.GeoJson`` layer of the same located features (whole geometries);
a second table gives every page's first draw (wall and the renderer main thread's CPU) and its ratio to
that peer's in the same run.

    .venv/bin/python bench/render.py [--quick] [--part standalone|app|all] [--sizes 1000 10000]
        [--distinct] [--variants shipped canvas]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    SIZES,
    fmt_bytes,
    fmt_s,
    label,
    log,
    print_machine,
    table,
    target,
)

# Streamlit leaves a stale copy of an element with width -1 for a moment while it reruns.
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
FILTER_TARGET_S = 0.300
# "Still usable" at 100k, made concrete: a page paints within 10 s and answers a toggle within 1 s;
# the app shows its map within a minute of starting and a filter change within 10 s.
USABLE_PAINT_S, USABLE_TOGGLE_S = 10.0, 1.0
USABLE_APP_START_S, USABLE_APP_CHANGE_S = 60.0, 10.0
TOGGLE_CYCLES = 3
# Issue 14: a page of distinct places first drawn within these seconds (main-thread CPU, which load inflates
# less than wall time: the machine is shared).
FIRST_DRAW_TARGET_S = {10_000: 2.0, 100_000: 5.0}
VARIANTS = (
    "shipped",
    "per-item",
    "canvas",
    "whole",
    "bands-blocks",
    "bands-inline",
    "bands-canvas",
    "bands-animated",
    "props-in-page",
    "no-dots",
    "dots-6",
    "dots-12",
    "dots-24",
    "fit-animated",
    "geom-in-page",
    "markercluster",
    "script-literal",
    "before-index",
    "geojson",
)
# The default peers: of the shared 230 places, the old ways; of distinct places, the map before zoom bands.
DEFAULT_VARIANTS = ("shipped", "per-item", "canvas")
DISTINCT_VARIANTS = ("shipped", "whole", "bands-canvas")

# Installed before any page script: when the page has loaded, wait two frames (the frame holding every
# layer has then been painted) and note the time and what is on the map.
STANDALONE_INIT = r"""
window.__bench = {loaded: null, painted: null};
window.addEventListener('load', () => {
  __bench.loaded = performance.now();
  requestAnimationFrame(() => requestAnimationFrame(() => {
    __bench.painted = performance.now();
    __bench.paths = document.querySelectorAll('path.leaflet-interactive').length;
    __bench.markers = document.querySelectorAll('.leaflet-marker-icon').length;
    __bench.canvases = document.querySelectorAll('.leaflet-overlay-pane canvas').length;
    __bench.counts = window.geoplan ? geoplan.counts() : null;
  }));
});
"""

# Untick and tick one overlay in the layer control, TOGGLE_CYCLES times: the click runs Leaflet's
# handler synchronously (removeLayer/addLayer), then two frames show the redrawn map.
TOGGLE_JS = r"""
async ([name, cycles]) => {
  const lab = [...document.querySelectorAll('.leaflet-control-layers-overlays label')]
    .find(l => l.textContent.trim() === name);
  if (!lab) { return {error: 'no overlay named ' + name}; }
  const input = lab.querySelector('input');
  const count = () => document.querySelectorAll('path.leaflet-interactive, .leaflet-marker-icon').length;
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const click = async () => {
    const t0 = performance.now();
    input.click();
    const handler = performance.now() - t0;
    await frames();
    return {handler: handler, painted: performance.now() - t0, count: count()};
  };
  const out = {before: count(), off: [], on: []};
  for (let i = 0; i < cycles; i++) {
    out.off.push(await click());
    out.on.push(await click());
  }
  return out;
}
"""

# The app's filter, done in the page: geoplan.view shows the first half of the fids (the first domains'
# items, in layer order), then all again. "painted" = call → two frames; view() also fits the map to
# what is shown, and Leaflet animates that: "settled" waits for its moveend (bounded) and two frames.
VIEW_JS = r"""
async ([mapName, cycles]) => {
  const map = window[mapName];
  if (!map || !window.geoplan) { return {error: 'no map ' + mapName + ' or no geoplan'}; }
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const drawn = () => document.querySelectorAll('path.leaflet-interactive, .leaflet-marker-icon').length;
  const fids = [];
  geoplan.entries.forEach(e => e.items.forEach(it => fids.push(it.fid)));
  const half = fids.slice(0, Math.floor(fids.length / 2));
  const run = async (v) => {
    let moved = false, ended = null;
    const done = new Promise(r => { ended = r; });
    const onStart = () => { moved = true; }, onEnd = () => ended();
    map.on('movestart', onStart); map.on('moveend', onEnd);
    const t0 = performance.now();
    geoplan.view(map, v);
    const handler = performance.now() - t0;
    await frames();
    const painted = performance.now() - t0;
    let settled = painted;
    if (moved) {
      await Promise.race([done, new Promise(r => setTimeout(r, 3000))]);
      await frames();
      settled = performance.now() - t0;
    }
    map.off('movestart', onStart); map.off('moveend', onEnd);
    return {handler: handler, painted: painted, settled: settled, moved: moved, counts: geoplan.counts(), drawn: drawn()};
  };
  const out = {all: geoplan.counts(), fids: fids.length, half_fids: half.length, half: [], back: []};
  for (let i = 0; i < cycles; i++) {
    out.half.push(await run({fids: half, key: 'x'}));
    out.back.push(await run({fids: null, key: 'all'}));
  }
  return out;
}
"""


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _worst(r: dict[str, Any], what: str, keys: tuple[str, str], field: str = "painted") -> float | None:
    """The slower of the two directions (medians), seconds; None if the page never got that far."""
    d = r.get(what) or {}
    if not d.get(keys[0]) or not d.get(keys[1]):
        return None
    return max(_median([x[field] for x in d[k]]) for k in keys) / 1000


def _toggle_worst(r: dict[str, Any]) -> float | None:
    return _worst(r, "toggle", ("off", "on"))


def _view_worst(r: dict[str, Any], field: str = "painted") -> float | None:
    return _worst(r, "view", ("half", "back"), field)


@contextlib.contextmanager
def _browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# --------------------------------------------------------------------------- (a) standalone page


def _write_geojson_peer(gdf: Any, path: Path) -> tuple[int, str]:
    """The peer: one ``folium.GeoJson`` layer of the located features (whole geometries; name and domain in a
    popup and tooltip), in a page localized as geoplan's (Leaflet inline, folium's unused jQuery and Bootstrap
    left out as build_map does), fitted to them: what folium draws without geoplan."""
    import folium

    from geoplan.offline import localize

    located = gdf.loc[gdf.geometry.notna(), ["fid", "domain", "name", "geometry"]]
    m = folium.Map(location=[37.87, 112.55], zoom_start=10, tiles="OpenStreetMap")
    m.default_js = [(n, u) for n, u in folium.Map.default_js if n == "leaflet"]  # as build_map: Leaflet only
    m.default_css = [(n, u) for n, u in folium.Map.default_css if n == "leaflet_css"]
    folium.GeoJson(
        located,
        name="GeoJson",
        popup=folium.GeoJsonPopup(fields=["name", "domain"], labels=False),
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
    ).add_to(m)
    w, s, e, n = located.total_bounds
    m.fit_bounds([[s, w], [n, e]])
    localize(m, mode="inline")
    page = m.get_root().render()
    path.write_text(page, encoding="utf-8")
    return len(page.encode("utf-8")), m.get_name()


def _write_page(variant_name: str, gdf: Any, gaz: Any, path: Path) -> tuple[int, str]:
    """The page as ``geoplan map`` writes it; its size and the map's JavaScript variable."""
    from _patches import build_map_variant, variant
    from payload import _standalone_kwargs

    import geoplan.maps
    from geoplan.offline import localize

    if variant_name == "geojson":
        return _write_geojson_peer(gdf, path)
    with variant(variant_name):
        m = build_map_variant(variant_name, gdf, gazetteer=gaz, **_standalone_kwargs())
        localize(m, mode="inline")
        if variant_name in ("bands-blocks", "bands-inline") or not hasattr(geoplan.maps, "save_map"):
            page = m.get_root().render()
            path.write_text(page, encoding="utf-8")
            return len(page.encode("utf-8")), m.get_name()
        geoplan.maps.save_map(m, path)  # the zoom bands, if any, in <stem>.data/ beside the page
    return path.stat().st_size, m.get_name()


def _cdp_metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def standalone_page(browser: Any, path: Path, layer: str, map_name: str, timeout_s: float) -> dict[str, Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    try:
        page = ctx.new_page()
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort())
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script(STANDALONE_INIT)
        cdp = ctx.new_cdp_session(page)
        cdp.send("Performance.enable")
        t0 = time.monotonic()
        try:
            page.goto(path.as_uri(), wait_until="commit", timeout=timeout_s * 1000)
            left = max(1.0, timeout_s - (time.monotonic() - t0))
            page.wait_for_function("window.__bench && window.__bench.painted !== null", timeout=left * 1000)
        except Exception as err:  # noqa: BLE001 -- a timeout or a crashed renderer is a result here
            return {
                "error": f"no paint within {timeout_s:.0f} s ({type(err).__name__})",
                "wall_s": time.monotonic() - t0,
            }
        out: dict[str, Any] = {"load": page.evaluate("window.__bench"), "wall_s": time.monotonic() - t0}
        out["cdp"] = _cdp_metrics(cdp)
        if not page.evaluate("!!window.geoplan"):  # the folium.GeoJson peer: no geoplan, no toggle or view
            out["errors"] = errors[:3]
            return out
        try:  # banded layers' popup and find data, loaded after the first draw (geoplan.js deferred)
            page.wait_for_function("geoplan.entries.every((e) => !e.pending)", timeout=timeout_s * 1000)
            out["props_s"] = page.evaluate("performance.now()") / 1000
            out["cdp_props"] = _cdp_metrics(cdp)
        except Exception as err:  # noqa: BLE001
            out["props_s"] = None
            errors.append(f"popup data never came ({type(err).__name__})")
        for key, js, arg in (
            ("toggle", TOGGLE_JS, [layer, TOGGLE_CYCLES]),
            ("view", VIEW_JS, [map_name, TOGGLE_CYCLES]),
        ):
            try:
                out[key] = page.evaluate(js, arg)
            except Exception as err:  # noqa: BLE001
                out[key] = {"error": f"{type(err).__name__}: {err}"[:200]}
        out["errors"] = errors[:3]
        return out
    finally:
        ctx.close()


def run_standalone(sizes: list[int], variants: tuple[str, ...], *, distinct: bool = False) -> list[dict[str, Any]]:
    from _common import gazetteer, located_features
    from generate import distinct_features

    gaz = gazetteer()
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="geoplan-bench-pages-"))
    try:
        with _browser() as browser:
            for n in sizes:
                gdf = distinct_features(n, 0) if distinct else located_features(n)
                layer = gdf["domain"].value_counts().index[0]
                for v in variants:
                    path = tmp / f"map-{n}-{v}.html"
                    log(f"standalone {label(n)} {v}: writing the page")
                    t0 = time.perf_counter()
                    size, map_name = _write_page(v, gdf, gaz, path)
                    build_s = time.perf_counter() - t0
                    log(f"standalone {label(n)} {v}: {fmt_bytes(size)} in {build_s:.0f} s; loading it in Chromium")
                    timeout = 60 if n <= 10_000 else 120
                    r = standalone_page(browser, path, layer, map_name, timeout)
                    r.update(
                        n=n,
                        distinct=distinct,
                        variant=v,
                        bytes=size,
                        build_s=build_s,
                        layer=layer,
                        layer_features=int((gdf["domain"] == layer).sum()),
                    )
                    results.append(r)
                    if r.get("props_s") is not None:
                        log(
                            f"standalone {label(n)} {v}: popup data in at {r['props_s']:.2f} s; main thread CPU "
                            f"{r['cdp']['ThreadTime']:.2f} s at first draw, {r['cdp_props']['ThreadTime']:.2f} s then"
                        )
                    path.unlink()
                    shutil.rmtree(path.with_name(path.stem + ".data"), ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def _size_label(r: dict[str, Any]) -> str:
    return label(r["n"]) + (" distinct" if r.get("distinct") else "")


def print_standalone(results: list[dict[str, Any]]) -> None:
    rows = []
    for r in results:
        if "error" in r:
            rows.append([_size_label(r), r["variant"], fmt_bytes(r["bytes"]), r["error"], *["—"] * 8])
            continue
        ld, cdp, tg, vw = r["load"], r["cdp"], r.get("toggle", {}), r.get("view", {})
        off = [x["painted"] / 1000 for x in tg.get("off", [])]
        on = [x["painted"] / 1000 for x in tg.get("on", [])]
        drawn = f"{ld['paths']:,} paths, {ld['markers']:,} markers" + (
            f", {ld['canvases']} canvas" if ld["canvases"] else ""
        )
        if ld.get("counts"):
            drawn += f" ({ld['counts']['shapes']:,} shapes, {ld['counts']['items']:,} items)"
        if vw.get("half"):
            half = vw["half"][-1]["counts"]
            view = (
                f"{fmt_s(_median([x['painted'] / 1000 for x in vw['half']]))} / "
                f"{fmt_s(_median([x['painted'] / 1000 for x in vw['back']]))} "
                f"(settled {fmt_s(_view_worst(r, 'settled'))}; half: {half['shapes']:,} shapes)"
            )
        else:
            view = vw.get("error", "—")
        rows.append(
            [
                _size_label(r),
                r["variant"],
                fmt_bytes(r["bytes"]),
                fmt_s(r["build_s"]),
                fmt_s(ld["loaded"] / 1000),
                fmt_s(ld["painted"] / 1000),
                drawn,
                (
                    f"{fmt_s(cdp.get('ScriptDuration'))} / {fmt_s(cdp.get('LayoutDuration'))} / "
                    f"{fmt_s(cdp.get('RecalcStyleDuration'))}"
                ),
                fmt_bytes(cdp.get("JSHeapUsedSize")),
                fmt_s(_median(off)) if off else tg.get("error", "—"),
                fmt_s(_median(on)) if on else "—",
                view,
            ]
        )
    table(
        [
            "features",
            "variant",
            "page",
            "written in",
            "load event",
            "all layers painted",
            "drawn",
            "script / layout / style",
            "JS heap",
            f"untick {results[0]['layer'] if results else ''} → painted",
            "tick → painted",
            "view(half) / view(all) → painted",
        ],
        rows,
        title="Standalone page in Chromium (medians of 3)",
    )
    print_first_draw(results)


def print_first_draw(results: list[dict[str, Any]]) -> None:
    """Each page's first draw (wall and the renderer main thread's CPU, ``ThreadTime``) and its ratio to the
    folium.GeoJson peer's in the same run, where the run has one (``--variants ... geojson``)."""
    peers = {r["n"]: r for r in results if r["variant"] == "geojson" and "error" not in r}
    rows = []
    for r in results:
        if "error" in r:
            rows.append([_size_label(r), r["variant"], fmt_bytes(r["bytes"]), r["error"], "—", "—", "—", "—"])
            continue
        wall, cpu, heap = r["load"]["painted"] / 1000, r["cdp"]["ThreadTime"], r["cdp"].get("JSHeapUsedSize")
        peer = peers.get(r["n"])
        ratio = (
            (f"{wall / (peer['load']['painted'] / 1000):.2f}×", f"{cpu / peer['cdp']['ThreadTime']:.2f}×")
            if peer
            else ("—", "—")
        )
        rows.append(
            [_size_label(r), r["variant"], fmt_bytes(r["bytes"]), fmt_s(wall), fmt_s(cpu), fmt_bytes(heap), *ratio]
        )
    table(
        [
            "features",
            "variant",
            "page",
            "first draw, wall",
            "main-thread CPU",
            "JS heap",
            "wall ÷ GeoJson",
            "CPU ÷ GeoJson",
        ],
        rows,
        title="First draw against one folium.GeoJson layer (same run)",
    )


# --------------------------------------------------------------------------- (b) the Streamlit app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _geodata_dir(tmp: Path, report: str) -> Path:
    """A GEOPLAN_GEODATA_DIR holding the generated report under the name the app opens by default."""
    root = tmp / "geodata"
    (root / "reports").mkdir(parents=True)
    (root / "boundaries").mkdir()
    (root / "reports" / "taiyuan-2025.txt").write_text(report, encoding="utf-8")
    shutil.copy(ROOT / "geodata" / "gazetteer.geojson", root / "gazetteer.geojson")
    shutil.copy(ROOT / "geodata" / "boundaries" / "taiyuan.geojson", root / "boundaries" / "taiyuan.geojson")
    return root


def _app_script(tmp: Path) -> Path:
    """A wrapper that runs the repository's app unchanged and logs each rerun's server time; ``static/``
    beside it, as beside the app."""
    from _patches import APP_WRAPPER

    app = ROOT / "streamlit_app.py"
    folder = tmp / "app"
    folder.mkdir()
    (folder / "static").symlink_to((ROOT / "static").resolve(), target_is_directory=True)
    script = folder / "streamlit_app.py"
    script.write_text(APP_WRAPPER.format(app=str(app)), encoding="utf-8")
    return script


@contextlib.contextmanager
def _streamlit(
    script: Path, geodata: Path, data_dir: Path, logfile: Path, *, serve: bool = False
) -> Iterator[tuple[str, subprocess.Popen, float]]:
    """A Streamlit server on ``script``: ``streamlit run``, or with ``serve`` ``geoplan serve`` (the default report
    computed in the server's process before it listens, as ``make run`` starts it)."""
    port = _free_port()
    env = {**os.environ, "GEOPLAN_GEODATA_DIR": str(geodata), "GEOPLAN_DATA_DIR": str(data_dir)}
    start = ["geoplan.cli", "serve", "--script", str(script)] if serve else ["streamlit", "run", str(script)]
    with logfile.open("w") as logf:
        t_start = time.monotonic()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                *start,
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=logf,
            stderr=subprocess.STDOUT,
        )
        try:
            yield f"http://127.0.0.1:{port}", proc, t_start
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_health(url: str, proc: subprocess.Popen, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


# Cold start: the map is "painted" when Leaflet is up in the iframe, geoplan has drawn its entries,
# something is on the map, and two frames have passed. A stale copy (width -1) never counts.
APP_MAP_READY = r"""
([sel]) => {
  const now = performance.now(), seen = window.__benchSteps = window.__benchSteps || {};
  const step = (k) => { if (seen[k] === undefined) seen[k] = now; };
  if (document.querySelector('.gp-counts')) step('metrics');
  for (const f of document.querySelectorAll(sel)) {
    if (f.getAttribute('width') === '-1') continue;
    step('iframe');
    let w, d; try { w = f.contentWindow; d = f.contentDocument; } catch (e) { continue; }
    if (!d || !d.querySelector('.leaflet-container')) continue;
    step('leaflet');
    if (!w.geoplan || !w.geoplan.entries.length) continue;
    const drawn = d.querySelectorAll('path.leaflet-interactive, .gp-icon, .marker-cluster').length;
    if (!drawn) continue;
    if (!window.__benchSeen) {
      window.__benchSeen = true;
      w.requestAnimationFrame(() => w.requestAnimationFrame(() => {
        window.__benchPainted = performance.now();
        window.__benchDrawn = drawn;
        window.__benchCounts = w.geoplan.counts();
      }));
    }
    return window.__benchPainted !== undefined;
  }
  return false;
}
"""

# The overlays listed in the live map iframe's layer control.
OVERLAYS = r"""
(sel) => {
  const f = [...document.querySelectorAll(sel)].filter(f => f.getAttribute('width') !== '-1')[0];
  return [...f.contentDocument.querySelectorAll('.leaflet-control-layers-overlays label')].map(l => l.textContent.trim());
}
"""

# Before a filter change: mark the one live map iframe (its element and its window, so that a new
# element or a reload of the same one both show), note what the map shows, and time the Enter key.
MARK_MAP = r"""
(sel) => {
  const live = [...document.querySelectorAll(sel)].filter(f => f.getAttribute('width') !== '-1');
  if (live.length !== 1) { return {error: live.length + ' live map iframes'}; }
  const f = live[0], w = f.contentWindow, token = 'b' + Math.random().toString(36).slice(2);
  if (!w.geoplan) { return {error: 'no geoplan in the map iframe'}; }
  f.dataset.benchMark = token; w.__benchMark = token;
  const metric = document.querySelector('.gp-counts');
  const c = window.__benchChange = {token: token, before: w.geoplan.counts(),
                                    metricBefore: metric ? metric.textContent : null, steps: {}, renders: []};
  // streamlit-folium's arguments reach the iframe as a "streamlit:render" message: note when.
  w.addEventListener('message', e => {
    if (c.t0 !== undefined && e.data && e.data.type === 'streamlit:render') {
      const fg = e.data.args && e.data.args.feature_group;
      c.renders.push([performance.now() - c.t0, fg ? fg.length : 0]);
    }
  });
  if (!window.__benchKeys) {
    window.__benchKeys = true;
    document.addEventListener('keydown', e => {
      const c = window.__benchChange;
      if (e.key === 'Enter' && c && c.t0 === undefined) { c.t0 = performance.now(); c.t0epoch = Date.now(); }
    }, {capture: true});
  }
  return {before: window.__benchChange.before};
}
"""

# After Enter: done when the MARKED iframe (same element, same window) shows other counts, two frames
# later. Steps: when the page's first metric changed, and whether a new or reloaded iframe showed up.
MAP_CHANGED = r"""
(sel) => {
  const c = window.__benchChange, now = performance.now();
  if (!c || c.t0 === undefined) { return false; }
  const step = (k) => { if (c.steps[k] === undefined) { c.steps[k] = now - c.t0; } };
  const metric = document.querySelector('.gp-counts');
  if (metric && metric.textContent !== c.metricBefore) { step('metrics'); }
  let mine = null;
  for (const f of document.querySelectorAll(sel)) {
    if (f.dataset.benchMark === c.token) { mine = f; }
    else if (f.getAttribute('width') !== '-1') { step('new iframe'); }
  }
  if (!mine) { step('marked iframe gone'); return false; }
  let w; try { w = mine.contentWindow; } catch (e) { return false; }
  if (!w || w.__benchMark !== c.token) { step('marked iframe reloaded'); return false; }
  if (!w.geoplan) { return false; }
  const k = w.geoplan.counts();
  if (k.shapes === c.before.shapes && k.items === c.before.items) { return false; }
  if (c.seen === undefined) {
    c.seen = now - c.t0; c.after = k;
    w.requestAnimationFrame(() => w.requestAnimationFrame(() => {
      c.painted = performance.now() - c.t0;
      c.drawn = w.document.querySelectorAll('path.leaflet-interactive, .gp-icon, .marker-cluster').length;
    }));
  }
  return c.painted !== undefined;
}
"""

# Once the rerun is over: is the marked iframe still the only live one, with the same window?
SAME_IFRAME = r"""
(sel) => {
  const c = window.__benchChange;
  const live = [...document.querySelectorAll(sel)].filter(f => f.getAttribute('width') !== '-1');
  const mine = live.filter(f => f.dataset.benchMark === c.token);
  let sameWindow = false;
  try { sameWindow = mine.length === 1 && mine[0].contentWindow.__benchMark === c.token; } catch (e) { }
  return {live: live.length, same: mine.length === 1 && live.length === 1 && sameWindow};
}
"""


def _rerun_log(logfile: Path) -> list[tuple[float, float]]:
    """(server seconds, start in epoch seconds) of each script run so far (the wrapper logs them)."""
    text = logfile.read_text(errors="replace") if logfile.exists() else ""
    return [
        (float(line.split()[2]), float(line.split()[3]))
        for line in text.splitlines()
        if line.startswith("BENCH rerun ")
    ]


def _reruns(logfile: Path) -> list[float]:
    """Server seconds of each script run so far."""
    return [d for d, _start in _rerun_log(logfile)]


def _filter_change(
    page: Any, option: str, logfile: Path, timeout_s: float, rerun_wait_s: float | None = None
) -> dict[str, Any]:
    """Pick ``option`` in the sidebar's domain multiselect; seconds from Enter to the same iframe's map redrawn.

    ``rerun_wait_s`` bounds the wait for the script's rerun to be logged (a fragment rerun logs none)."""
    marked = page.evaluate(MARK_MAP, MAP_IFRAME)
    if "error" in marked:
        return {"error": marked["error"]}
    done = len(_reruns(logfile))
    t_click = time.monotonic()
    try:  # a page still busy drawing may not take the click for a while
        page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click(timeout=timeout_s * 1000)
    except Exception:  # noqa: BLE001
        return {"error": f"the multiselect took no click for {timeout_s:.0f} s", "wall_s": time.monotonic() - t_click}
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    t0 = time.monotonic()
    page.keyboard.press("Escape")
    out: dict[str, Any] = {"before": marked["before"]}
    try:
        page.wait_for_function(MAP_CHANGED, arg=MAP_IFRAME, polling="raf", timeout=timeout_s * 1000)
    except Exception:  # noqa: BLE001 -- a bound hit is the figure
        out["error"] = f"> {timeout_s:.0f} s"
    c = page.evaluate("window.__benchChange")
    out["steps"] = {k: v / 1000 for k, v in (c.get("steps") or {}).items()}
    if "error" not in out:
        out.update(s=c["painted"] / 1000, seen_s=c["seen"] / 1000, after=c["after"], drawn=c["drawn"])
    out["renders"] = [(t / 1000, n) for t, n in c.get("renders") or []]
    # Let the rerun finish (its BENCH line), then check the iframe is still the one marked.
    deadline = time.monotonic() + (timeout_s if rerun_wait_s is None else rerun_wait_s)
    while len(_reruns(logfile)) <= done and time.monotonic() < deadline:
        time.sleep(0.1)
    page.wait_for_timeout(1000)
    runs = _rerun_log(logfile)[done:]
    out["server_s"] = sum(d for d, _start in runs)
    out["reruns"] = len(runs)
    if runs and c.get("t0epoch"):  # the same machine's wall clock on both sides
        out["rerun_start_s"] = runs[0][1] - c["t0epoch"] / 1000
        out["rerun_end_s"] = runs[-1][1] + runs[-1][0] - c["t0epoch"] / 1000
    same = page.evaluate(SAME_IFRAME, MAP_IFRAME)
    out["same_iframe"] = same["same"]
    out["live_iframes"] = same["live"]
    out["new_iframe"] = not same["same"] or any(k != "metrics" for k in out["steps"])
    out["wall_s"] = time.monotonic() - t0
    return out


# Type into the map's own search box (inside the app's iframe) and time, with the page's clock, from the
# input event (the box waits 100 ms for more keystrokes) to two frames after geoplan.counts() changed.
MAP_SEARCH = """async ([sel, q]) => {
    const w = document.querySelector(sel).contentWindow, input = w.document.querySelector('.gp-search input');
    if (!input) { return {error: 'no search box'}; }
    const before = JSON.stringify(w.geoplan.counts()), t0 = w.performance.now();
    input.value = q;
    input.dispatchEvent(new w.Event('input'));
    const changed = await new Promise(res => { (function poll() {
        if (JSON.stringify(w.geoplan.counts()) !== before) {
            w.requestAnimationFrame(() => w.requestAnimationFrame(() => res(true)));
        } else if (w.performance.now() - t0 > 10000) { res(false); } else { w.requestAnimationFrame(poll); }
    })(); });
    return changed ? {s: (w.performance.now() - t0) / 1000, counts: w.geoplan.counts()} : {error: '> 10 s'};
}"""


def _map_search(page: Any) -> dict[str, Any]:
    """Find-on-the-map in the app: the place named most often, then the box cleared again."""
    name = page.evaluate(f"""() => {{ const w = document.querySelector('{MAP_IFRAME}').contentWindow;
        return w.geoplan.entries.slice().sort((a, b) => b.items.length - a.items.length)[0].p.name; }}""")
    out = {"query": name, "find": page.evaluate(MAP_SEARCH, [MAP_IFRAME, name])}
    page.wait_for_timeout(500)
    out["clear"] = page.evaluate(MAP_SEARCH, [MAP_IFRAME, ""])
    return out


def app_run(browser: Any, n: int, timeout_s: float, change_timeout_s: float) -> dict[str, Any]:
    from _common import report_for_features

    from geoplan.maps import LABELS

    report = report_for_features(n)
    out: dict[str, Any] = {"n": n, "report_lines": report.count("\n◆"), "report_bytes": len(report.encode())}
    tmp = Path(tempfile.mkdtemp(prefix="geoplan-bench-app-"))
    try:
        geodata = _geodata_dir(tmp, report)
        (tmp / "data").mkdir()
        script = _app_script(tmp)
        logfile = tmp / "streamlit.log"
        with _streamlit(script, geodata, tmp / "data", logfile) as (url, proc, t_start):
            if not _wait_health(url, proc, 60):
                out["error"] = "streamlit did not start: " + logfile.read_text()[-500:]
                return out
            out["health_s"] = time.monotonic() - t_start
            ctx = browser.new_context(viewport={"width": 1500, "height": 1100}, locale="zh-CN")
            try:
                page = ctx.new_page()
                page.route(
                    "**/*",
                    lambda r: (
                        r.abort()
                        if not r.request.url.startswith(("http://127.0.0.1", "data:", "blob:", "about:"))
                        else r.continue_()
                    ),
                )
                t_goto = time.monotonic()
                page.goto(url, timeout=60_000)
                try:
                    page.wait_for_function(APP_MAP_READY, arg=[MAP_IFRAME], polling="raf", timeout=timeout_s * 1000)
                except Exception:  # noqa: BLE001
                    out["first_paint"] = {"error": f"> {timeout_s:.0f} s"}
                    msg = page.locator('[data-testid="stException"], [data-testid="stAlert"]')
                    if msg.count():
                        out["first_paint"]["message"] = msg.first.inner_text()[:300]
                    return out
                painted = page.evaluate("window.__benchPainted") / 1000
                steps = {k: v / 1000 for k, v in page.evaluate("window.__benchSteps").items()}
                out["first_paint"] = {
                    "from_goto_s": painted,
                    "from_start_s": (t_goto - t_start) + painted,
                    "steps": steps,
                    "counts": page.evaluate("window.__benchCounts"),
                }
                boundaries = {lab["boundaries"] for lab in LABELS.values()}
                domains = [d for d in page.evaluate(OVERLAYS, MAP_IFRAME) if d not in boundaries]
                first, second = domains[0], domains[3] if len(domains) > 3 else domains[-1]
                out["first_paint"]["server_s"] = sum(_reruns(logfile))
                page.wait_for_timeout(1000)  # let the first run's last messages settle
                out["map_search"] = _map_search(page)
                page.wait_for_timeout(500)
                out["change_1"] = {"what": f"all → {first}", **_filter_change(page, first, logfile, change_timeout_s)}
                out["change_2"] = {
                    "what": f"{first} → {first}+{second}",
                    **_filter_change(page, second, logfile, change_timeout_s),
                }
            finally:
                ctx.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def server_share(n: int) -> dict[str, float]:
    """In-process: what the app spends on the server at cold start and on a rerun after "all → one domain"."""
    import hashlib

    import pyarrow as pa
    import streamlit as st
    import streamlit_folium
    from _common import gazetteer, report_for_features
    from streamlit.util import calc_hash

    from geoplan.corrections import apply_corrections
    from geoplan.export import FORMATS, export_bytes
    from geoplan.features import features_from_report
    from geoplan.filters import FilterOptions, Filters
    from geoplan.maps import build_map, map_data, map_view
    from geoplan.offline import localize
    from geoplan.parse import report_from_bytes

    gaz = gazetteer()
    t: dict[str, float] = {}
    rerun: list[str] = []  # the keys that are a rerun's calls

    def timed(key: str, fn: Any) -> Any:
        t0 = time.perf_counter()
        out = fn()
        t[key] = time.perf_counter() - t0
        if not key.startswith(("cold:", "on click:")):
            rerun.append(key)
        return out

    data, name = report_for_features(n).encode("utf-8"), "taiyuan-2025.txt"
    report = timed("cold: parse", lambda: report_from_bytes(data, source=name))
    gdf0 = timed("cold: features", lambda: features_from_report(report, gazetteer=gaz))
    gdf, _ = timed("cold: apply_corrections", lambda: apply_corrections(gdf0, [], gazetteer=gaz))
    gdf.attrs["report"] = gdf0.attrs["report"]
    opts = timed("cold: FilterOptions.of", lambda: FilterOptions.of(gdf))
    md = timed("cold: map_data (drawn)", lambda: map_data(gdf, "osm"))
    cols = ["fid", "domain", "section", "status_zh", "matched", "name", "precision_zh", "district", "text"]
    whole = gdf.drop_duplicates("fid")[cols].reset_index(drop=True).drop(columns=["fid"])
    timed("cold: table as Arrow, unfiltered (st.dataframe)", lambda: pa.Table.from_pandas(whole))
    t["cold: unfiltered table as Arrow (MB)"] = pa.Table.from_pandas(whole).nbytes / 1e6
    t["map shapes (count)"] = float(md.shapes)

    # The app's cached functions, same signatures: a hit hashes the arguments (the report's bytes).
    @st.cache_resource(show_spinner=False, max_entries=8)
    def prepare(data: bytes, name: str, corrections_key: str, _corrections: tuple) -> Any:
        return gdf

    @st.cache_resource(show_spinner=False, max_entries=16)
    def drawn(key: str, basemap: str, _gdf: Any) -> Any:
        return md

    ckey = hashlib.sha1(repr([]).encode()).hexdigest()
    pkey = hashlib.sha1(data + name.encode() + ckey.encode()).hexdigest()
    prepare(data, name, ckey, ())
    drawn(pkey, "osm", gdf)
    timed("cache hits: prepare + drawn", lambda: (prepare(data, name, ckey, ()), drawn(pkey, "osm", gdf)))

    first = opts.domains[0]
    filters = timed("Filters.restricted_to(options)", lambda: Filters(domains=(first,)).restricted_to(opts))
    shown = timed("filter", lambda: filters.apply(gdf))
    located = shown[shown.geometry.notna()]
    unplaced = shown[shown.geometry.isna()]
    tbl = timed("table frame", lambda: shown.drop_duplicates("fid")[cols].reset_index(drop=True))
    timed("table as Arrow (st.dataframe)", lambda: pa.Table.from_pandas(tbl.drop(columns=["fid"])))
    t["table as Arrow (MB)"] = pa.Table.from_pandas(tbl.drop(columns=["fid"])).nbytes / 1e6
    m = timed(
        "build_map(data=…)",
        lambda: build_map(
            gdf, lang="zh", basemap="osm", gazetteer=gaz, show_boundaries=True, draw=False, search=True, data=md
        ),
    )
    timed("localize", lambda: localize(m, mode="static"))
    view = timed("map_view", lambda: map_view(shown, gdf, selected=None))
    saved = streamlit_folium._component_func
    captured: dict[str, Any] = {}
    streamlit_folium._component_func = lambda **kw: captured.update(kw)
    try:
        timed(
            "st_folium(render=False, feature_group_to_add)",
            lambda: streamlit_folium.st_folium(
                m,
                key="map",
                height=620,
                use_container_width=True,
                render=False,
                feature_group_to_add=[view],
                returned_objects=[],
                center=None,
                zoom=None,
            ),
        )
    finally:
        streamlit_folium._component_func = saved
    message = timed("component JSON", lambda: json.dumps({k: v for k, v in captured.items() if k != "on_change"}))
    timed("message hash (Streamlit, per rerun)", lambda: calc_hash(message.encode("utf-8")))
    t["component message (MB)"] = len(message.encode("utf-8")) / 1e6
    t["of which the view (kB)"] = len(captured["feature_group"].encode("utf-8")) / 1e3
    timed(
        "cold: chart pivot (whole report, in prepare)",
        lambda: gdf.drop_duplicates("item_id").pivot_table(
            index="domain", columns="status_zh", values="item_id", aggfunc="count", fill_value=0
        ),
    )
    timed(
        "cold: names the gazetteer lacks (in prepare)",
        lambda: sorted({x for v in gdf["unresolved"].dropna() for x in str(v).split("；") if x}),
    )
    timed("download key", lambda: hashlib.sha1((name + "|" + ",".join(shown["fid"])).encode()).hexdigest())
    t["sum of the rerun's calls above"] = sum(t[k] for k in rerun)
    for fmt in FORMATS:
        timed(f"on click: download {fmt}", lambda fmt=fmt: export_bytes(shown, fmt))
    t["unplaced items (count; 50 listed)"] = float(unplaced["item_id"].nunique())
    t["located rows shown (count)"] = float(len(located))
    t["table rows (count)"] = float(len(tbl))
    return t


def run_app(sizes: list[int]) -> tuple[list[dict[str, Any]], dict[int, dict[str, float]]]:
    results = []
    with _browser() as browser:
        for n in sizes:
            log(f"app {label(n)} …")
            t0 = time.monotonic()
            r = app_run(browser, n, timeout_s=90 if n <= 10_000 else 180, change_timeout_s=60)
            log(f"app {label(n)} done in {time.monotonic() - t0:.0f} s")
            results.append(r)
    shares = {}
    for n in sizes:
        log(f"app {label(n)}: server share in-process")
        shares[n] = server_share(n)
    return results, shares


def _steps(d: dict[str, float]) -> str:
    order = ("metrics", "expanders", "iframe", "leaflet")
    return ", ".join(f"{k} {d[k]:.1f}" for k in order if k in d)


def _change_cell(c: dict[str, Any] | None) -> str:
    if c is None:
        return "—"
    if "s" not in c:
        return f"{c['what']}: {c.get('error', 'failed')}" + (f" (steps {c['steps']})" if c.get("steps") else "")
    return (
        f"{c['what']}: **{fmt_s(c['s'])}** ({c['before']['shapes']:,} → {c['after']['shapes']:,} shapes"
        f"{'' if c.get('same_iframe') and not c.get('new_iframe') else '; NOT the same iframe'})"
    )


def _breakdown(c: dict[str, Any]) -> list[str]:
    """Enter → rerun starts → rerun ends (server) → arguments in the iframe → map redrawn."""
    renders = [t for t, n in c.get("renders", []) if n]
    args = renders[0] if renders else None
    start, end = c.get("rerun_start_s"), c.get("rerun_end_s")
    return [
        fmt_s(start),
        f"{fmt_s(c.get('server_s'))} ({c.get('reruns', 0)} run)",
        fmt_s(args - end) if args is not None and end is not None else "—",
        fmt_s(c["s"] - args) if args is not None and "s" in c else "—",
        fmt_s(c.get("steps", {}).get("metrics")),
        fmt_s(c.get("s")),
    ]


def print_app(results: list[dict[str, Any]], shares: dict[int, dict[str, float]]) -> None:
    rows = []
    for r in results:
        fp = r.get("first_paint", {})
        cells = [
            label(r["n"]),
            f"{r['report_lines']:,}",
            fmt_s(r.get("health_s")),
            fp.get("error") or r.get("error") or fmt_s(fp.get("from_goto_s")),
            fp.get("error") or fmt_s(fp.get("from_start_s")),
            fmt_s(fp.get("server_s")),
            _steps(fp.get("steps", {})),
        ]
        for key in ("change_1", "change_2"):
            cells.append(_change_cell(r.get(key)))
        cs = [r[k] for k in ("change_1", "change_2") if k in r]
        cells.append(
            "—"
            if not cs
            else "same iframe"
            if all(c.get("same_iframe") and not c.get("new_iframe") for c in cs)
            else "NEW/RELOADED iframe: " + "; ".join(str(c.get("steps")) for c in cs)
        )
        rows.append(cells)
    table(
        [
            "features",
            "◆ lines",
            "process → health",
            "page → map painted",
            "cold start → map painted",
            "server (script runs)",
            "page steps (s after goto)",
            "filter change → map redrawn",
            "second change → map redrawn",
            "iframe",
        ],
        rows,
        title="Streamlit app in Chromium (bounded waits; Enter → the same iframe's map redrawn)",
    )
    rows = [
        [label(r["n"]), r[k]["what"], *_breakdown(r[k])]
        for r in results
        for k in ("change_1", "change_2")
        if k in r and "s" in r[k]
    ]
    table(
        [
            "features",
            "filter change",
            "Enter → rerun starts",
            "rerun (server)",
            "rerun ends → arguments in the iframe",
            "arguments → map redrawn",
            "(counts shown)",
            "Enter → map redrawn",
        ],
        rows,
        title="Where a filter change's time goes (server and browser clocks are the same machine's)",
    )
    rows = []
    for r in results:
        ms = r.get("map_search")
        if ms:
            rows.append(
                [
                    label(r["n"]),
                    ms["query"],
                    *(
                        ms[k].get("error")
                        or f"{fmt_s(ms[k]['s'])} ({ms[k]['counts']['shapes']} shapes, "
                        f"{ms[k]['counts']['items']:,} items)"
                        for k in ("find", "clear")
                    ),
                ]
            )
    table(
        [
            "features",
            "find on the map",
            "typed → map redrawn (incl. 100 ms wait for keystrokes)",
            "cleared → map redrawn",
        ],
        rows,
        title="The map's own search box in the app: answered in the browser, no rerun",
    )
    for r in results:
        msg = r.get("first_paint", {}).get("message")
        if msg:
            print(f"\n{label(r['n'])}: the page showed: {msg}")
    if shares:
        keys = list(next(iter(shares.values())))

        def cell(k: str, v: float) -> str:
            if "count" in k:
                return f"{int(v):,}"
            if "(MB)" in k:
                return f"{v:,.1f}"
            if "(kB)" in k:
                return f"{v:,.1f}"
            return fmt_s(v)

        table(
            ["server", *(label(n) for n in shares)],
            [[k, *(cell(k, shares[n][k]) for n in shares)] for k in keys],
            title="Server side: cold start, then one rerun after a filter change (all → first domain), in-process",
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip 100k and the app")
    ap.add_argument("--part", choices=("standalone", "app", "all"), default="all")
    ap.add_argument("--sizes", type=int, nargs="*", help="located features (default 1k 10k 100k)")
    ap.add_argument(
        "--distinct",
        action="store_true",
        help="standalone pages of places at distinct positions (generate.distinct_features), not the shared 230",
    )
    ap.add_argument(
        "--variants",
        nargs="*",
        choices=VARIANTS,
        help="standalone variants (default: shipped, per-item, canvas; with --distinct shipped, whole, bands-canvas)",
    )
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"render: {CHROMIUM} is missing (make browser installs Debian's chromium); skipped")
        return 0
    sizes = args.sizes or [s for s in SIZES if not (args.quick and s >= 100_000)]
    print("## Render time in Chromium\n")
    print_machine()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores: above ~0.5, other work shares the CPU)")
    standalone = app = None
    if args.part in ("standalone", "all"):
        default = DISTINCT_VARIANTS if args.distinct else DEFAULT_VARIANTS
        standalone = run_standalone(sizes, tuple(args.variants or default), distinct=args.distinct)
        print_standalone(standalone)
    if args.part in ("app", "all") and not args.quick and not args.distinct:
        app, shares = run_app(sizes)
        print_app(app, shares)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")

    print()
    for r in standalone or []:
        if r.get("distinct") and r["variant"] == "shipped" and r["n"] in FIRST_DRAW_TARGET_S:
            bound = FIRST_DRAW_TARGET_S[r["n"]]
            cpu = None if "error" in r else r["cdp"]["ThreadTime"]
            target(
                f"first draw ≤ {bound:.0f} s at {label(r['n'])} distinct (standalone page, renderer main-thread CPU)",
                cpu is not None and cpu <= bound,
                r.get("error") or f"{fmt_s(cpu)} CPU, {fmt_s(r['load']['painted'] / 1000)} wall",
            )
        toggle, view = _toggle_worst(r), _view_worst(r)
        tag = "" if r["variant"] == "shipped" else f"variant {r['variant']}: "
        if r["n"] == 10_000:
            target(
                f"{tag}filter change → redrawn map ≤ 300 ms at 10k (standalone page, layer toggle)",
                toggle is not None and toggle <= FILTER_TARGET_S,
                f"{fmt_s(toggle)} (slower of untick/tick, median of {TOGGLE_CYCLES})"
                if toggle is not None
                else r.get("error", "no toggle"),
            )
            target(
                f"{tag}filter change → redrawn map ≤ 300 ms at 10k (standalone page, in-page geoplan.view)",
                view is not None and view <= FILTER_TARGET_S,
                f"{fmt_s(view)} (slower of half/all, median of {TOGGLE_CYCLES}; fitBounds animation settled after "
                f"{fmt_s(_view_worst(r, 'settled'))})"
                if view is not None
                else r.get("error", "no view"),
            )
        if r["n"] == 100_000:
            painted = None if "error" in r else r["load"]["painted"] / 1000
            worst = max((x for x in (toggle, view) if x is not None), default=None)
            ok = painted is not None and painted <= USABLE_PAINT_S and worst is not None and worst <= USABLE_TOGGLE_S
            target(
                f"{tag}100k features still usable (standalone page: painted ≤ {USABLE_PAINT_S:.0f} s, "
                f"toggle and view ≤ {USABLE_TOGGLE_S:.0f} s)",
                ok,
                r.get("error") or f"painted after {fmt_s(painted)}, toggle {fmt_s(toggle)}, view {fmt_s(view)}",
            )
    for r in app or []:
        fp, cs = r.get("first_paint", {}), [r.get(k, {}) for k in ("change_1", "change_2")]
        ok_same = all(c.get("same_iframe") and not c.get("new_iframe") for c in cs if c)
        why = "; ".join(
            c.get("error") or (f"{fmt_s(c['s'])}" + ("" if c.get("same_iframe") else " (NOT the same iframe)"))
            for c in cs
            if c
        ) or ("no map at all: cold start " + fp.get("error", "failed"))
        worst = max((c["s"] for c in cs if "s" in c), default=None)
        if r["n"] == 10_000:
            target(
                "filter change → redrawn map ≤ 300 ms at 10k (app: Enter in the domain multiselect → the same "
                "iframe's map redrawn)",
                worst is not None and worst <= FILTER_TARGET_S and ok_same,
                why,
            )
            ms = r.get("map_search", {})
            times = [ms[k]["s"] for k in ("find", "clear") if k in ms and "s" in ms[k]]
            target(
                "filter change → redrawn map ≤ 300 ms at 10k (app: the map's find box, typed → redrawn)",
                len(times) == 2 and max(times) <= FILTER_TARGET_S,
                ", ".join(fmt_s(t) for t in times) or str(ms),
            )
        if r["n"] == 100_000:
            ok = (
                "from_start_s" in fp
                and fp["from_start_s"] <= USABLE_APP_START_S
                and worst is not None
                and worst <= USABLE_APP_CHANGE_S
            )
            target(
                f"100k features still usable (app: map ≤ {USABLE_APP_START_S:.0f} s after start, filter change "
                f"≤ {USABLE_APP_CHANGE_S:.0f} s)",
                ok,
                fp.get("error") or f"map after {fmt_s(fp['from_start_s'])}, filter changes {why}",
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
