"""Load on the published site (`geoplan publish`): requests/s and latency for many concurrent residents,
time to first map in Chromium under that load, and the Streamlit app's time to map for 5 / 20 visitors.

Publishes the shipped report into a temporary folder, serves it on loopback with Python's http.server
and nginx (Debian's: ``apt-get install -y nginx``; a throwaway config in the temporary folder, loopback
port, no daemon, pid and logs there; skipped with a note when ``command -v nginx`` finds none), and runs,
for each concurrency, a few seconds of clients (a separate process, asyncio, one connection per request)
that each fetch what a first visit needs (the page, geoplan's scripts, Leaflet, the report's map data)
over and over. While the load runs, Chromium opens the site ``--sample`` times, one after another, and
times navigation start → the map drawn (``data-geoplan-ready``). Then ``streamlit run streamlit_app.py``
on the same report: one visit warms it, then 5 and 20 visitors (Chromium contexts) open it at once; each
one's time from navigation to its map painted. Bounded: ``--seconds`` per run, every wait has a bound,
every process is ended. Prints tables; never fails a build.

    .venv/bin/python bench/site_load.py                       # 50 / 200 / 1,000 clients, 8 s each
    .venv/bin/python bench/site_load.py --clients 50 --seconds 2 --visitors 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import CHROMIUM, CHROMIUM_ARGS, SHIPPED_REPORT, log, print_machine, table

VISIT = (
    "index.html",
    "static/site.js",
    "static/geoplan.js",
    "static/geoplan.css",
    "static/vendor/leaflet/leaflet.js",
    "data/taiyuan-2025.map.json",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


async def _get(port: int, path: str) -> int:
    """One HTTP/1.0 GET (a new connection, as http.server closes it); the body's size in bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET /{path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200")):
        raise RuntimeError(f"/{path}: {head.splitlines()[0] if head else b'no answer'!r}")
    return len(body)


async def _run(port: int, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    nbytes = 0
    stop = time.monotonic() + seconds

    async def client(k: int) -> None:
        nonlocal errors, nbytes
        i = k
        while time.monotonic() < stop:
            path = VISIT[i % len(VISIT)]
            i += 1
            t0 = time.perf_counter()
            try:
                size = await _get(port, path)
            except (OSError, RuntimeError):
                errors += 1
                continue
            latencies.append(time.perf_counter() - t0)
            nbytes += size

    # Bounded: requests still open 5 s after the window (a connection the listen queue dropped waits for
    # TCP's SYN retries: 1, 3, 7, 15 s) are cancelled and counted as unfinished.
    t0 = time.perf_counter()
    tasks = [asyncio.ensure_future(client(k)) for k in range(clients)]
    _done, pending = await asyncio.wait(tasks, timeout=seconds + 5)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    wall = time.perf_counter() - t0
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    return {
        "requests": len(latencies),
        "errors": errors,
        "unfinished": len(pending),
        "wall": wall,
        "rps": len(latencies) / wall,
        "MB/s": nbytes / wall / 1e6,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "max": latencies[-1] * 1000 if latencies else float("nan"),
    }


def _publish(folder: Path) -> Path:
    site = folder / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "geoplan.cli",
            "publish",
            str(SHIPPED_REPORT),
            "-o",
            str(site),
            "--data-dir",
            str(folder / "no-corrections"),
        ],
        check=True,
        capture_output=True,
    )
    return site


def _python_server(site: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _nginx_server(site: Path, port: int, folder: Path) -> subprocess.Popen[bytes]:
    conf = folder / "nginx.conf"
    conf.write_text(
        f"worker_processes auto; worker_rlimit_nofile 8192; pid {folder}/nginx.pid;"
        f" error_log {folder}/nginx-error.log;\n"
        "events { worker_connections 4096; }\n"
        f"http {{ access_log off; include /etc/nginx/mime.types; client_body_temp_path {folder};"
        f" proxy_temp_path {folder}; fastcgi_temp_path {folder}; uwsgi_temp_path {folder}; scgi_temp_path {folder};"
        f" server {{ listen 127.0.0.1:{port}; root {site}; }} }}\n",
        encoding="utf-8",
    )
    return subprocess.Popen(
        ["nginx", "-c", str(conf), "-p", str(folder), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _load_worker(port: int, clients: int, seconds: float) -> None:
    """The HTTP clients, in their own process so that Chromium's timings are not queued behind them."""
    print(json.dumps(asyncio.run(_run(port, clients, seconds))), flush=True)


SITE_READY = "document.body && document.body.getAttribute('data-geoplan-ready') === '1'"


def _visit_site(browser: Any, url: str) -> float:
    """Chromium: navigation start → the site's map drawn, seconds (inf when the 30 s bound was hit)."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.route("**/*", lambda r: r.continue_() if "127.0.0.1" in r.request.url else r.abort())
    try:
        page.goto(url, timeout=30_000)
        page.wait_for_function(SITE_READY, timeout=30_000)
        return float(page.evaluate("performance.now()")) / 1000
    except Exception:  # noqa: BLE001 -- a bound hit is the figure
        return float("inf")
    finally:
        ctx.close()


def _under_load(
    browser: Any, port: int, clients: int, seconds: float, sample: int
) -> tuple[dict[str, float], list[float]]:
    """The clients' figures, and Chromium's first-map times taken one after another while they run."""
    url = f"http://127.0.0.1:{port}/index.html"
    worker = subprocess.Popen(
        [sys.executable, __file__, "--worker", str(port), str(clients), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    maps: list[float] = []
    try:
        time.sleep(min(1.0, seconds / 4))  # the clients are connecting
        while len(maps) < sample and worker.poll() is None:
            maps.append(_visit_site(browser, url))
        out, _err = worker.communicate(timeout=seconds + 60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    return json.loads(out), maps


async def _app_visitors(url: str, visitors: int, timeout_s: float) -> list[float]:
    """``visitors`` Chromium contexts open the app at once: each one's navigation → map painted, seconds."""
    from playwright.async_api import async_playwright
    from render import APP_MAP_READY, MAP_IFRAME

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            contexts = [await browser.new_context(viewport={"width": 1366, "height": 768}) for _ in range(visitors)]

            async def visit(ctx: object) -> float:
                page = await ctx.new_page()  # type: ignore[attr-defined]
                await page.route(
                    "**/*", lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1") else r.abort()
                )
                try:
                    await page.goto(url, timeout=timeout_s * 1000)
                    await page.wait_for_function(APP_MAP_READY, arg=[MAP_IFRAME], polling=100, timeout=timeout_s * 1000)
                    return float(await page.evaluate("window.__benchPainted")) / 1000
                except Exception:  # noqa: BLE001
                    return float("inf")

            return list(await asyncio.gather(*(visit(c) for c in contexts)))
        finally:
            await browser.close()


def _app_figures(visitor_counts: list[int], timeout_s: float) -> list[tuple[int, list[float]]]:
    from render import _app_script, _geodata_dir, _streamlit, _wait_health

    out = []
    with tempfile.TemporaryDirectory(prefix="geoplan-site-app-") as tmp:
        folder = Path(tmp)
        geodata = _geodata_dir(folder, SHIPPED_REPORT.read_text(encoding="utf-8"))
        (folder / "data").mkdir()
        with _streamlit(_app_script(folder), geodata, folder / "data", folder / "streamlit.log") as (url, proc, _t):
            if not _wait_health(url, proc, 60):
                raise RuntimeError("streamlit did not start")
            asyncio.run(_app_visitors(url, 1, timeout_s))  # warms the caches
            for n in visitor_counts:
                log(f"app: {n} visitors at once …")
                out.append((n, asyncio.run(_app_visitors(url, n, timeout_s))))
    return out


def _fmt(xs: list[float]) -> str:
    ok = sorted(x for x in xs if x != float("inf"))
    missed = len(xs) - len(ok)
    if not ok:
        return f"none of {len(xs)}"
    text = f"median {statistics.median(ok):.2f} s, max {ok[-1]:.2f} s (n={len(xs)})"
    return text + (f", {missed} over the bound" if missed else "")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        _load_worker(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[50, 200, 1000])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--sample", type=int, default=5, help="Chromium first-map visits during each load run")
    ap.add_argument("--visitors", type=int, nargs="*", default=[5, 20], help="the app's concurrent visitors")
    ap.add_argument("--timeout", type=float, default=120.0, help="bound of each app visitor's wait")
    args = ap.parse_args()
    print_machine()
    rows = []
    with tempfile.TemporaryDirectory(prefix="geoplan-site-") as tmp:
        folder = Path(tmp)
        log("publishing the shipped report …")
        site = _publish(folder)
        servers = [("python http.server", _python_server)]
        if shutil.which("nginx"):
            servers.append(("nginx", lambda s, p: _nginx_server(s, p, folder)))
        else:
            log("no nginx on PATH (apt-get install -y nginx): Python's http.server only")
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, start in servers:
            port = _free_port()
            proc = start(site, port)
            try:
                _wait_listening(port, proc)
                _visit_site(browser, f"http://127.0.0.1:{port}/index.html")  # Chromium's own start-up, not counted
                for n in args.clients:
                    log(f"{name}: {n} clients for {args.seconds} s …")
                    r, maps = _under_load(browser, port, n, args.seconds, args.sample)
                    rows.append(
                        [
                            name,
                            n,
                            f"{r['requests']:,}",
                            r["errors"],
                            r["unfinished"],
                            f"{r['wall']:.1f}",
                            f"{r['rps']:,.0f}",
                            f"{r['MB/s']:.1f}",
                            f"{r['p50']:.1f} / {r['p95']:.1f} / {r['max']:.0f}",
                            _fmt(maps),
                        ]
                    )
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        browser.close()
        pw.stop()
    table(
        [
            "server",
            "clients",
            "requests",
            "errors",
            "unfinished",
            "wall s",
            "req/s",
            "MB/s",
            "latency p50 / p95 / max ms",
            "Chromium: navigation → map drawn, under that load",
        ],
        rows,
        title="The static site (shipped report)",
    )
    if args.visitors:
        app = _app_figures(args.visitors, args.timeout)
        table(
            ["visitors at once", "navigation → each visitor's map painted"],
            [[n, _fmt(xs)] for n, xs in app],
            title="The Streamlit app (shipped report, warm server)",
        )


if __name__ == "__main__":
    main()
