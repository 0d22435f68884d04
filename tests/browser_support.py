"""What the browser tests share: Debian's Chromium, its flags for a closed network, a Streamlit server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def require_chromium() -> None:
    """Playwright cannot download a browser here; `make test` installs Debian's."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium")


def playwright_api():  # -> the playwright.sync_api module
    """Playwright's sync API, once Debian's Chromium is known to be there."""
    import playwright.sync_api as sync_api

    require_chromium()
    return sync_api


def launch(playwright):  # -> playwright Browser
    """Debian's Chromium with the flags for a closed network."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen[Any], log: Path, timeout: float) -> None:
    """Until the Streamlit server at ``url`` answers its health check; fail with its log if it stops or is late."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail("streamlit did not start:\n" + log.read_text(encoding="utf-8"))
        time.sleep(0.3)


@contextmanager
def streamlit_server(
    app: Path,
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    log: Path,
    args: Sequence[str] = (),
    timeout: float = 60.0,
    serve: bool = False,
) -> Iterator[str]:
    """Run ``streamlit run app`` on a free loopback port; yield its URL; stop it afterwards. ``serve``: start it as
    ``make run`` does, ``geoplan serve --script app`` (the default report computed before the server listens)."""
    port = free_port()
    start = ["geoplan.cli", "serve", "--script", str(app)] if serve else ["streamlit", "run", str(app)]
    with open(log, "w", encoding="utf-8") as out:
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
                *args,
            ],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, log, timeout)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def screenshots_dir() -> Path:
    """Where the browser tests save their pictures: ``$GEOPLAN_SCREENSHOTS``, else a git-ignored folder.

    Writing into docs/screenshots dirtied the tree on every test run; ``make screenshots`` points this at
    docs/screenshots to refresh the README's pictures on purpose.
    """
    folder = Path(
        os.environ.get("GEOPLAN_SCREENSHOTS") or Path(__file__).resolve().parent / "artifacts" / "screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder
