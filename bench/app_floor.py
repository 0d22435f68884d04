"""The floor under the app's "warm navigation → map painted" (issue 13's ≤ 3 s): the same measure on two peers
that do nothing of geoplan's, in the same run on the same machine.

* ``bare``: a Streamlit app that writes one line (``st.markdown``) — Streamlit's own page start: its HTML and
  JavaScript bundle, the WebSocket, a new session's script run, the first element drawn.
* ``folium``: the same line plus ``st_folium`` of a folium map with one marker, Leaflet served from the app's
  static files as geoplan's map is (no tiles: requests outside loopback are aborted, as for the app) — the page
  start plus streamlit-folium's iframe and Leaflet.
* ``geoplan``: the repository's app on the shipped report (bench/app_speed.py's measure).

Each: ``streamlit run`` on a free port, one visit to warm the server, then ``--runs`` new browser contexts,
navigation start → the element drawn (two frames later), on the page's clock. Prints each median and the
app's ratio to the floors.

    .venv/bin/python bench/app_floor.py [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CHROMIUM, CHROMIUM_ARGS, ROOT, log, print_machine, table
from app_speed import _context
from render import APP_MAP_READY, MAP_IFRAME, _app_script, _geodata_dir, _streamlit, _wait_health

BARE = """import streamlit as st
st.markdown('<p class="floor-ready">ready</p>', unsafe_allow_html=True)
"""
FOLIUM = """import folium
import streamlit as st
from streamlit_folium import st_folium
from geoplan.offline import localize
st.markdown('<p class="floor-ready">ready</p>', unsafe_allow_html=True)
m = folium.Map(location=[37.87, 112.55], zoom_start=10, tiles=None)
m.default_js = [(n, u) for n, u in folium.Map.default_js if n == "leaflet"]  # Leaflet only, as geoplan's map
m.default_css = [(n, u) for n, u in folium.Map.default_css if n == "leaflet_css"]
folium.Marker([37.87, 112.55], tooltip="太原").add_to(m)
localize(m, mode="static")  # Leaflet from the app's static files, as the app's map: no CDN here either
st_folium(m, height=560, use_container_width=True, returned_objects=[])
"""
# The line drawn (bare), or the line and a marker in a live streamlit-folium iframe (folium); then two frames.
PEER_READY = r"""
([sel, needMap]) => {
  if (window.__floor !== undefined) return window.__floor !== null;
  const line = document.querySelector('.floor-ready');
  let target = line ? window : null;
  if (line && needMap) {
    target = null;
    for (const f of document.querySelectorAll(sel)) {
      if (f.getAttribute('width') === '-1') continue;
      let d; try { d = f.contentDocument; } catch (e) { continue; }
      if (d && d.querySelector('.leaflet-marker-icon')) { target = f.contentWindow; break; }
    }
  }
  if (!target) return false;
  window.__floor = null;
  target.requestAnimationFrame(() => target.requestAnimationFrame(() => { window.__floor = performance.now(); }));
  return false;
}
"""


def _visits(
    browser: Any, url: str, ready: str, arg: list[Any], result: str, runs: int, timeout_s: float
) -> list[float]:
    seconds = []
    for i in range(runs + 1):  # the first visit warms the server and is thrown away
        ctx, page = _context(browser)
        try:
            page.goto(url, timeout=timeout_s * 1000)
            page.wait_for_function(ready, arg=arg, polling="raf", timeout=timeout_s * 1000)
            if i:
                seconds.append(page.evaluate(result) / 1000)
        except Exception:  # noqa: BLE001 -- a bound hit is the figure
            if i:
                seconds.append(float("inf"))
        finally:
            ctx.close()
    return seconds


def measure(browser: Any, name: str, runs: int, timeout_s: float) -> list[float]:
    tmp = Path(tempfile.mkdtemp(prefix="geoplan-bench-floor-"))
    try:
        (tmp / "data").mkdir()
        if name == "geoplan":
            report = (ROOT / "geodata" / "reports" / "taiyuan-2025.txt").read_text(encoding="utf-8")
            script, geodata = _app_script(tmp), _geodata_dir(tmp, report)
            ready, arg, result = APP_MAP_READY, [MAP_IFRAME], "window.__benchPainted"
        else:
            (tmp / "app").mkdir()
            (tmp / "app" / "static").symlink_to((ROOT / "static").resolve(), target_is_directory=True)
            script = tmp / "app" / "streamlit_app.py"
            script.write_text(BARE if name == "bare" else FOLIUM, encoding="utf-8")
            geodata, ready, arg, result = ROOT / "geodata", PEER_READY, [MAP_IFRAME, name == "folium"], "window.__floor"
        with _streamlit(script, geodata, tmp / "data", tmp / "streamlit.log") as (url, proc, _t):
            if not _wait_health(url, proc, 60):
                raise SystemExit(f"{name}: streamlit did not start")
            return _visits(browser, url, ready, arg, result, runs, timeout_s)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if a != float("inf") and b not in (0.0, float("inf")) else "—"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args(argv)
    print_machine()
    from playwright.sync_api import sync_playwright

    got: dict[str, list[float]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name in ("bare", "folium", "geoplan"):
                log(f"floor: {name}")
                got[name] = measure(browser, name, args.runs, args.timeout)
        finally:
            browser.close()
    med = {k: statistics.median(v) for k, v in got.items()}
    rows = [
        [
            name,
            f"{med[name]:.2f} s",
            ", ".join(f"{s:.2f}" for s in got[name]),
            _ratio(med[name], med["bare"]),
            _ratio(med[name], med["folium"]),
        ]
        for name in got
    ]
    table(["app", "navigation → drawn (median)", f"runs (s, n={args.runs})", "÷ bare", "÷ folium"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
