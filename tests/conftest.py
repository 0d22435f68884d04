"""Shared fixtures: the shipped data (paths, gazetteer, features), node for the map script, and a guard
that fails any test touching the network."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hsettings

# No per-example deadline anywhere: tests assert behaviour, never time (bench/ measures speed), and a loaded
# CI machine made a 200 ms deadline fail on examples that take 1 s there.
hsettings.register_profile("geoplan", deadline=None)
hsettings.load_profile("geoplan")

# What geoplan keeps per user (folium's compiled templates, geoplan._folium) goes to a folder of this session,
# never the user's ~/.cache: set before any test imports geoplan, inherited by the servers and commands tests
# start, removed at the end (pytest_sessionfinish).
_USER_CACHE = tempfile.mkdtemp(prefix="geoplan-tests-cache-")
os.environ["XDG_CACHE_HOME"] = _USER_CACHE


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_USER_CACHE, ignore_errors=True)


def dying_worker(*args: Any) -> None:
    """A forked worker killed before it answers (patched in for the function a pool's worker runs)."""
    os._exit(3)


class NoSemaphores:
    """A ProcessPoolExecutor on a system without the semaphores its queues need (no /dev/shm)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise OSError(38, "Function not implemented")


class NoFork(ProcessPoolExecutor):
    """A pool whose fork the system refuses (out of processes)."""

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        raise OSError(11, "Resource temporarily unavailable")


ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
REPORT = ROOT / "geodata" / "reports" / "taiyuan-2025.txt"
GEOPLAN_JS = ROOT / "src" / "geoplan" / "static" / "geoplan.js"


def _is_local(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # unix sockets


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach beyond this machine (loopback stays open for the app server and the browser)."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if not _is_local(address):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def report_path() -> Path:
    return REPORT


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Corrections and caches go to a fresh folder per test, never the developer's own data dir (nor database)."""
    path = tmp_path_factory.mktemp("geoplan-data")
    monkeypatch.setenv("GEOPLAN_DATA_DIR", str(path))
    monkeypatch.delenv("GEOPLAN_DATABASE_URL", raising=False)
    return path


@pytest.fixture(scope="session")
def gaz():
    """The shipped gazetteer (frozen entries: safe to share across the session)."""
    from geoplan.gazetteer import load_gazetteer

    return load_gazetteer()


@pytest.fixture(scope="session")
def _shipped_features(gaz):
    from geoplan.features import features_from_path

    return features_from_path(REPORT, gazetteer=gaz)


@pytest.fixture(scope="module")
def gdf(_shipped_features):
    """The shipped report's features, built once per session; each test module gets its own copy."""
    return _shipped_features.copy()


def node_binary() -> str:
    """Debian's node: the map script's tests need it, so its absence fails them (``make test`` installs it)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: run `make node` (apt-get install nodejs)")
    return node


def run_node(script: str, payload: object) -> Any:
    """Run ``script`` in node after ``window.geoplan`` (a fresh static/geoplan.js) and an empty ``L``;
    ``payload`` arrives as JSON on stdin, the script prints JSON."""
    prelude = f"var window = {{geoplan: require({json.dumps(str(GEOPLAN_JS))}).create()}}; var L = {{}};\n"
    res = subprocess.run(
        [node_binary(), "-e", prelude + script],
        input=json.dumps(payload, ensure_ascii=False),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return json.loads(res.stdout)
