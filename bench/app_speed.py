"""The app's speed targets (issue 13) in Chromium, on a warm server: navigation → map painted, filter change →
map AND counts updated, language switch → the page in the other language with its map painted.

For each report (the shipped one, a generated one of ``--sizes`` located features, and ``--distinct``: a
generated gazetteer and report of that many distinct places, bench/app_distinct.py): ``streamlit run``
(bench/render.py's wrapper, which logs each rerun's server time) on a free port; a first visit warms the
server's caches ("first visit": cold start to map, the pipeline included); then a new browser context per measure:

* **warm navigation**: ``goto`` → map painted in streamlit-folium's iframe (Leaflet up, geoplan's entries
  drawn, two frames later), on the page's clock from navigation start; median of ``--runs``.
* **filter change**: the sidebar's domain multiselect (all → one domain → two domains), Enter → the SAME
  iframe's ``geoplan.counts()`` changed and painted AND the header's counts line changed: the slower of the two
  (a new or reloaded iframe is reported); then the filter is cleared with the "clear" button.
* **map control** (issue 13's two-way filter): a domain unticked in the map's own layer control, then ticked
  again → the map and its in-map counts line changed and painted (in the browser, no round trip), and →
  the header's counts line changed (geoplan.js posted the domains, the fragment reran), and the URL's
  ``domain=``; on the top page's clock from the click.
* **language switch**: the sidebar's English radio → the header's counts line in English and a live map
  iframe whose find box speaks English, painted; whether it is the same iframe (marked before the click) or
  a new one is reported.

Targets: 3 s, 300 ms (shipped) / 500 ms (10k), 1 s; the map control's in-browser update 300 ms. Every wait is bounded and the processes started are ended.

    .venv/bin/python bench/app_speed.py [--sizes 10000] [--distinct 10000] [--runs 3] [--restart] [--prepared]
        [--src ../main/src src]     # before and after: the app's geoplan from each tree in turn, one run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CHROMIUM, CHROMIUM_ARGS, ROOT, label, log, print_machine, table
from render import (
    APP_MAP_READY,
    MAP_IFRAME,
    _app_script,
    _filter_change,
    _geodata_dir,
    _streamlit,
    _wait_health,
)

TARGETS = {"paint": 3.0, "filter_shipped": 0.300, "filter_large": 0.500, "lang": 1.0, "map_control": 0.300}

# Click a domain's box in the map's layer control (inside streamlit-folium's iframe; Leaflet handles the
# click at once) and time, on the top page's clock: the in-map counts line changed and two frames later
# (map and counts painted), the header's counts line changed (the fragment's rerun), the URL changed.
MAP_CONTROL = r"""
async ([sel, domain, bound]) => {
  const f = [...document.querySelectorAll(sel)].filter(f => f.getAttribute('width') !== '-1')[0];
  const w = f && f.contentWindow, d = w && w.document;
  const label = d && [...d.querySelectorAll('.leaflet-control-layers-overlays label')]
    .find(l => (l.querySelector('.gp-l-zh') || l).textContent.trim() === domain);  // the app's labels: zh and en spans
  const count = d && d.querySelector('.gp-search-n'), head0 = document.querySelector('.gp-counts');
  if (!label || !count || !head0) { return {error: 'no layer control, in-map counts or header'}; }
  const input = label.querySelector('input'), before = count.textContent, headBefore = head0.textContent;
  const url0 = location.search, t0 = performance.now();
  let map, seen, head, url;
  input.click();
  return await new Promise(res => { (function poll() {
    const now = performance.now(), h = document.querySelector('.gp-counts');
    if (seen === undefined && count.textContent !== before) {
      seen = now - t0;
      requestAnimationFrame(() => requestAnimationFrame(() => { map = performance.now() - t0; }));
    }
    if (head === undefined && h && h.textContent !== headBefore) { head = now - t0; }
    if (url === undefined && location.search !== url0) { url = now - t0; }
    const done = map !== undefined && head !== undefined && url !== undefined;
    if (done || now - t0 > bound) {
      res({map_s: map === undefined ? null : map / 1000, seen_s: seen === undefined ? null : seen / 1000,
           head_s: head === undefined ? null : head / 1000, url_s: url === undefined ? null : url / 1000,
           counts: count.textContent, ticked: input.checked});
    } else { requestAnimationFrame(poll); }
  })(); });
}
"""


def _map_control(page: Any, domain: str, timeout_s: float) -> list[dict[str, Any]]:
    """Untick ``domain`` in the map's layer control, then tick it again: the two changes' figures."""
    out = []
    for _ in range(2):
        out.append(page.evaluate(MAP_CONTROL, [MAP_IFRAME, domain, timeout_s * 1000]))
        page.wait_for_timeout(1500)  # the rerun's page settles
    return out


# The page is in English and its map too: the counts line and the find box's placeholder say so.
LANG_READY = r"""
([sel, words, placeholder]) => {
  const c = window.__benchLang, now = performance.now();
  if (!c) { return false; }
  const head = document.querySelector('.gp-counts');
  if (head && head.textContent.includes(words) && c.head === undefined) { c.head = now - c.t0; }
  for (const f of document.querySelectorAll(sel)) {
    if (f.getAttribute('width') === '-1') continue;
    let w, d; try { w = f.contentWindow; d = f.contentDocument; } catch (e) { continue; }
    const box = d && d.querySelector('.gp-search input');
    if (!box || box.placeholder !== placeholder || !w.geoplan || !w.geoplan.entries.length) continue;
    if (!d.querySelectorAll('path.leaflet-interactive, .gp-icon, .marker-cluster').length) continue;
    if (c.seen === undefined) {
      c.seen = now - c.t0;
      c.same = w.__benchMark === c.mark;  // the frame marked before the switch: nothing reloaded
      w.requestAnimationFrame(() => w.requestAnimationFrame(() => { c.map = performance.now() - c.t0; }));
    }
  }
  return c.head !== undefined && c.map !== undefined;
}
"""


def _context(browser: Any) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    local = ("http://127.0.0.1", "data:", "blob:", "about:")
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(local) else r.abort())
    return ctx, page


def _visit(browser: Any, url: str, timeout_s: float) -> tuple[Any, Any, float | None]:
    """A new visitor: seconds from navigation start to the map painted (None when the bound was hit)."""
    ctx, page = _context(browser)
    page.goto(url, timeout=timeout_s * 1000)
    try:
        page.wait_for_function(APP_MAP_READY, arg=[MAP_IFRAME], polling="raf", timeout=timeout_s * 1000)
    except Exception:  # noqa: BLE001 -- a bound hit is the figure
        return ctx, page, None
    steps = page.evaluate("window.__benchSteps") or {}
    _visit.steps.append({k: round(v / 1000, 3) for k, v in steps.items()})  # type: ignore[attr-defined]
    return ctx, page, page.evaluate("window.__benchPainted") / 1000


_visit.steps = []  # type: ignore[attr-defined]  # navigation → counts line, iframe, Leaflet up: per visit


def _lang_switch(page: Any, timeout_s: float) -> dict[str, Any]:
    from geoplan.i18n import t
    from geoplan.maps import LABELS

    words = t("en", "counts", n=0, located=0, city=0, unlocated=0).split("0")[-1].strip() or "items"
    page.evaluate(
        """(sel) => { const mark = String(Math.random());
        for (const f of document.querySelectorAll(sel)) { try { f.contentWindow.__benchMark = mark; } catch (e) {} }
        window.__benchLang = {t0: performance.now(), mark: mark}; }""",
        MAP_IFRAME,
    )
    page.locator('[data-testid="stSidebar"] label').filter(has_text="English").first.click()
    try:
        page.wait_for_function(
            LANG_READY, arg=[MAP_IFRAME, words, LABELS["en"]["search"]], polling="raf", timeout=timeout_s * 1000
        )
    except Exception:  # noqa: BLE001
        return {"error": f"> {timeout_s:.0f} s"}
    c = page.evaluate("window.__benchLang")
    return {
        "s": max(c["head"], c["map"]) / 1000,
        "head_s": c["head"] / 1000,
        "map_s": c["map"] / 1000,
        "same_iframe": bool(c.get("same")),
    }


def run_one(
    browser: Any,
    report: str | int,
    n_label: str,
    runs: int,
    timeout_s: float,
    cold_timeout_s: float | None = None,
    restart: bool = False,
    prepared: bool = False,
    serve: bool = False,
    cold_only: bool = False,
) -> dict[str, Any]:
    """One report's figures; ``report`` is its text, or a number of distinct places (bench/app_distinct.py).
    ``restart``: also the first visit to a second server started on the first one's data dir. ``prepared``:
    also the first visit to a server on a fresh data dir that ``geoplan prepare`` filled first (as ``make run``
    does), when the tree has that command. ``serve``: also ``geoplan serve``'s first visits, on a fresh data dir and
    restarted on it (``_served_visits``). ``cold_only``: no warm navigation, filter or language figures."""
    from render import _reruns

    out: dict[str, Any] = {"label": n_label}
    tmp = Path(tempfile.mkdtemp(prefix="geoplan-bench-speed-"))
    try:
        if isinstance(report, int):
            from app_distinct import distinct_geodata

            geodata = distinct_geodata(tmp / "geodata", report)
        else:
            geodata = _geodata_dir(tmp, report)
        (tmp / "data").mkdir()
        logfile = tmp / "streamlit.log"
        script = _app_script(tmp)
        with _streamlit(script, geodata, tmp / "data", logfile) as (url, proc, _t):
            if not _wait_health(url, proc, 60):
                out["error"] = "streamlit did not start"
                return out
            ctx, _page, first = _visit(browser, url, cold_timeout_s or timeout_s * 3)  # warms the caches
            ctx.close()
            out["cold_paint_s"] = first
            out["cold_server_s"] = (_reruns(logfile) or [None])[0]  # the first script run, pipeline included
            if not cold_only:  # warm navigation, the map's controls, the sidebar's filters, the language
                paints = []
                for _ in range(runs):
                    ctx, _page, s = _visit(browser, url, timeout_s)
                    ctx.close()
                    paints.append(s if s is not None else float("inf"))
                out["paint_s"] = statistics.median(paints)
                out["paint_steps"] = _visit.steps[-runs:]  # type: ignore[attr-defined]
                out["paints"] = paints
                ctx, page, _s = _visit(browser, url, timeout_s)
                try:
                    domains = page.evaluate(
                        """(sel) => { const f = [...document.querySelectorAll(sel)].filter(f => f.getAttribute('width') !== '-1')[0];
                        const seen = {}; f.contentWindow.geoplan.entries.forEach(e => { seen[e.p.domain] = (seen[e.p.domain] || 0) + 1; });
                        return Object.keys(seen); }""",
                        MAP_IFRAME,
                    )
                    page.wait_for_timeout(1000)
                    out["map_control"] = _map_control(page, domains[0], timeout_s)
                    changes = []
                    for option in (domains[0], domains[min(3, len(domains) - 1)]):
                        c = _filter_change(page, option, logfile, timeout_s, rerun_wait_s=3.0)  # fragments log none
                        if "error" not in c:
                            c["both_s"] = max(c["s"], c["steps"].get("metrics", float("inf")))
                        changes.append(c)
                        page.wait_for_timeout(800)
                    out["changes"] = changes
                    out["reruns_s"] = _reruns(logfile)[-2:]
                    out["lang"] = _lang_switch(page, timeout_s)
                finally:
                    ctx.close()
        if restart:  # a new server on the same data dir: what a first visit costs once the data dir holds the
            # prepared forms (the gazetteer's, by content) that the first server made
            _new_server_visit(
                browser, script, geodata, tmp / "data", logfile, out, "restart", cold_timeout_s or timeout_s * 3
            )
        if prepared:
            _prepared_visit(
                browser, script, geodata, tmp / "data-prepared", logfile, out, cold_timeout_s or timeout_s * 3
            )
        if serve:
            _served_visits(browser, script, geodata, tmp / "data-served", logfile, out, cold_timeout_s or timeout_s * 3)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _prepared_visit(
    browser: Any, script: Path, geodata: Path, data: Path, logfile: Path, out: dict[str, Any], timeout_s: float
) -> None:
    """``geoplan prepare`` on a fresh data dir (its wall time), then a new server's first visit."""
    import subprocess
    import time

    data.mkdir()
    env = {**os.environ, "GEOPLAN_GEODATA_DIR": str(geodata), "GEOPLAN_DATA_DIR": str(data)}
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "geoplan.cli", "prepare"], env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:  # a tree without the command
        log(f"no geoplan prepare here: {done.stderr.strip().splitlines()[-1:]}")
        return
    out["prepare_s"] = time.perf_counter() - t0
    _new_server_visit(browser, script, geodata, data, logfile, out, "prepared", timeout_s)


def _served_visits(
    browser: Any, script: Path, geodata: Path, data: Path, logfile: Path, out: dict[str, Any], timeout_s: float
) -> None:
    """``geoplan serve`` on a fresh data dir, then again on it (a restart): each server's start until it answers
    (it computes, or reads, the default report before listening) and its first visit."""
    data.mkdir()
    for run in ("served", "reserved"):
        if not _new_server_visit(browser, script, geodata, data, logfile, out, run, timeout_s, serve=True):
            return


def _new_server_visit(
    browser: Any,
    script: Path,
    geodata: Path,
    data: Path,
    logfile: Path,
    out: dict[str, Any],
    run: str,
    timeout_s: float,
    *,
    serve: bool = False,
) -> bool:
    """A new server on ``data`` (``streamlit run``, or ``geoplan serve``), and its first visitor: ``out`` gets
    ``<run>_paint_s``, ``<run>_server_s`` (that visit's script run) and, for ``serve``, ``<run>_ready_s`` (start →
    answering: it prepares the report first) and the visit's steps. False when the server did not start."""
    from render import _reruns

    with _streamlit(script, geodata, data, logfile, serve=serve) as (url, proc, t_start):
        if not _wait_health(url, proc, 600 if serve else 60):
            log(f"the server did not start: {logfile.read_text(encoding='utf-8')[-500:]}")
            return False
        if serve:
            out[f"{run}_ready_s"] = time.monotonic() - t_start
        ctx, _page, out[f"{run}_paint_s"] = _visit(browser, url, timeout_s)
        ctx.close()
        out[f"{run}_server_s"] = (_reruns(logfile) or [None])[0]
        if serve and out[f"{run}_paint_s"] is not None:
            out[f"{run}_steps"] = _visit.steps[-1]  # type: ignore[attr-defined]
    return True


def _s(v: float | None) -> str:
    if v is None or v == float("inf"):
        return "—"
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000], help="generated reports' located features")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--json", type=Path, help="also write the raw results there")
    ap.add_argument("--no-shipped", action="store_true", help="only the generated reports")
    ap.add_argument(
        "--distinct",
        type=int,
        nargs="*",
        default=[10_000],
        help="apps on this many distinct places (a generated gazetteer and report: bench/app_distinct.py)",
    )
    ap.add_argument(
        "--src",
        type=Path,
        nargs="*",
        default=[],
        help="run the app from each of these geoplan source trees in turn (PYTHONPATH), e.g. the main checkout's "
        "src and a branch's: before and after in one run",
    )
    ap.add_argument("--restart", action="store_true", help="also a restarted server's first visit (distinct apps)")
    ap.add_argument(
        "--serve",
        action="store_true",
        help="also `geoplan serve`'s start and first visit, on a fresh data dir and restarted (distinct apps)",
    )
    ap.add_argument(
        "--cold-only", action="store_true", help="only first visits: no warm navigation, filter or language figures"
    )
    ap.add_argument(
        "--prepared",
        action="store_true",
        help="also the first visit after `geoplan prepare` on a fresh data dir (distinct apps; trees that have it)",
    )
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from _common import report_for_features

    print_machine()
    reports: list[tuple[str, str | int]] = (
        []
        if args.no_shipped
        else [("shipped", (ROOT / "geodata" / "reports" / "taiyuan-2025.txt").read_text(encoding="utf-8"))]
    )
    reports += [(label(n), report_for_features(n)) for n in args.sizes]
    reports += [(f"{label(n)} distinct", n) for n in args.distinct]
    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            path0 = os.environ.get("PYTHONPATH")
            for src in args.src or [None]:
                if src is not None:  # the app's server imports geoplan from there
                    os.environ["PYTHONPATH"] = os.pathsep.join([str(src.resolve()), *([path0] if path0 else [])])
                where = f" [{src}]" if src is not None else ""
                for name, text in reports:
                    log(f"app speed: {name}{where}")
                    cold = args.timeout * 10 if isinstance(text, int) else None  # its first visit runs the pipeline
                    restart = args.restart and isinstance(text, int)
                    prep = args.prepared and isinstance(text, int)
                    serve = args.serve and isinstance(text, int)
                    results.append(
                        run_one(
                            browser,
                            text,
                            name + where,
                            args.runs,
                            args.timeout,
                            cold,
                            restart,
                            prep,
                            serve,
                            args.cold_only,
                        )
                    )
            if path0 is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = path0
        finally:
            browser.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    rows = []
    controls: list[list[str]] = []
    for r in results:
        if "error" in r:
            rows.append([r["label"], r["error"], "", "", "", ""])
            continue
        if "changes" not in r:  # --cold-only
            continue
        ch = r["changes"]
        cells = []
        for c in ch:
            if "error" in c:
                cells.append(c["error"])
            else:
                new = " (new iframe)" if c.get("new_iframe") else ""
                cells.append(f"{_s(c['both_s'])} (map {_s(c['s'])}, counts {_s(c['steps'].get('metrics'))}){new}")
        controls.append(
            [
                r["label"],
                *(
                    f"map + in-map counts {_s(c.get('map_s'))}; header counts {_s(c.get('head_s'))}; "
                    f"URL {_s(c.get('url_s'))}"
                    if "error" not in c
                    else c["error"]
                    for c in r.get("map_control", [])
                ),
                *["—"] * (2 - len(r.get("map_control", []))),
                _s(TARGETS["map_control"]),
            ]
        )
        lang = r["lang"]
        lang_cell = lang.get("error") or (
            f"{_s(lang['s'])} (counts {_s(lang['head_s'])}, map {_s(lang['map_s'])}; "
            f"{'same' if lang.get('same_iframe') else 'new'} iframe)"
        )
        target = TARGETS["filter_shipped"] if r["label"] == "shipped" else TARGETS["filter_large"]
        rows.append(
            [
                r["label"],
                f"{_s(r['paint_s'])} ({', '.join(_s(p) for p in r['paints'])}; first visit {_s(r['cold_paint_s'])})",
                *cells,
                f"{_s(target)}",
                lang_cell,
                ", ".join(_s(x) for x in r["reruns_s"]),
            ]
        )
    table(
        [
            "report",
            "warm navigation → map painted (median; runs)",
            "filter all → 1 domain: map and counts",
            "filter 1 → 2 domains",
            "filter target",
            "language switch zh → en",
            "server reruns of the two changes",
        ],
        rows,
    )
    table(["report", "map control: untick a domain", "tick it again", "target (map + in-map counts)"], controls)
    colds = [
        [
            r["label"],
            _s(r.get("cold_paint_s")),
            _s(r.get("cold_server_s")),
            _s(r.get("restart_paint_s")) if "restart_paint_s" in r else "—",
            _s(r.get("restart_server_s")) if "restart_server_s" in r else "—",
            _s(r.get("prepare_s")) if "prepare_s" in r else "—",
            _s(r.get("prepared_paint_s")) if "prepared_paint_s" in r else "—",
            _s(r.get("prepared_server_s")) if "prepared_server_s" in r else "—",
            *(
                f"ready {_s(r.get(f'{run}_ready_s'))}, first visit {_s(r.get(f'{run}_paint_s'))} "
                f"(script run {_s(r.get(f'{run}_server_s'))})"
                if f"{run}_paint_s" in r
                else "—"
                for run in ("served", "reserved")
            ),
        ]
        for r in results
        if "error" not in r
    ]
    table(
        [
            "report",
            "cold start → map painted (first visit, empty data dir)",
            "its first script run (server)",
            "restarted server's first visit",
            "its first script run",
            "`geoplan prepare` (wall)",
            "then a new server's first visit (fresh data dir)",
            "its first script run",
            "`geoplan serve`, fresh data dir: start → answering; first visit",
            "`geoplan serve` restarted on it",
        ],
        colds,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
