"""Load on the published site (`geoplan publish`): requests/s and latency for many concurrent residents.

Publishes the shipped report into a temporary folder, serves it on loopback with Python's http.server
(and nginx, if ``command -v nginx`` finds one), and runs, for each concurrency, a few seconds of clients
that each fetch what a first visit needs (the page, geoplan's scripts, Leaflet, the report's map data)
over and over. Bounded: ``--seconds`` per run, every process ended. Prints one table; never fails a build.

    .venv/bin/python bench/site_load.py                       # 50 and 200 clients, 3 s each
    .venv/bin/python bench/site_load.py --clients 50 --seconds 2
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import SHIPPED_REPORT, log

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
        f"worker_processes 1; pid {folder}/nginx.pid; error_log {folder}/nginx-error.log;\n"
        "events { worker_connections 1024; }\n"
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="geoplan-site-") as tmp:
        folder = Path(tmp)
        log("publishing the shipped report …")
        site = _publish(folder)
        servers = [("python http.server", _python_server)]
        if shutil.which("nginx"):
            servers.append(("nginx", lambda s, p: _nginx_server(s, p, folder)))
        else:
            log("no nginx on PATH: Python's http.server only")
        print(
            f"{'server':<20} {'clients':>7} {'requests':>9} {'errors':>6} {'unfin.':>6} {'wall s':>6} "
            f"{'req/s':>8} {'MB/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
        )
        for name, start in servers:
            port = _free_port()
            proc = start(site, port)
            try:
                _wait_listening(port, proc)
                for n in args.clients:
                    log(f"{name}: {n} clients for {args.seconds} s …")
                    r = asyncio.run(_run(port, n, args.seconds))
                    print(
                        f"{name:<20} {n:>7} {r['requests']:>9} {r['errors']:>6} {r['unfinished']:>6} "
                        f"{r['wall']:>6.1f} {r['rps']:>8.0f} {r['MB/s']:>7.1f} "
                        f"{r['p50']:>8.1f} {r['p95']:>8.1f} {r['max']:>8.1f}",
                        flush=True,
                    )
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


if __name__ == "__main__":
    main()
