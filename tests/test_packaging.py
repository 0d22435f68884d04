"""``pip install .`` (not editable) gives a geoplan that works from any folder: the wheel carries its data.

The wheel is built from a copy of the checkout (no build/ or egg-info left in it), without build isolation
or an index (setuptools comes from the test extra), and installed with ``--no-deps`` into a fresh venv that
borrows this venv's site-packages for the dependencies, so the test is quick and needs no network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import REPORT, ROOT

pytestmark = pytest.mark.install

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("checkout")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    for name in ("src", "geodata"):
        shutil.copytree(ROOT / name, tree / name, ignore=_IGNORE)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(dist),
            str(tree),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = dist.glob("geoplan-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; its dependencies come from this venv (a .pth line)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # A plain path, not a site dir: this venv's own .pth files (the editable geoplan) are not processed.
    (purelib / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    return venv


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


def test_wheel_holds_every_module_and_every_data_file(wheel: Path) -> None:
    names = _names(wheel)
    modules = {
        f"geoplan/{p.relative_to(ROOT / 'src' / 'geoplan').as_posix()}"
        for p in (ROOT / "src" / "geoplan").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert modules and modules <= names, sorted(modules - names)
    # Every file under geodata/ (whoever adds one), as geoplan/_geodata/…
    data = {
        f"geoplan/_geodata/{p.relative_to(ROOT / 'geodata').as_posix()}"
        for p in (ROOT / "geodata").rglob("*")
        if p.is_file()
    }
    assert {
        "geoplan/_geodata/gazetteer.geojson",
        "geoplan/_geodata/boundaries/taiyuan.geojson",
        "geoplan/_geodata/reports/taiyuan-2025.txt",
    } <= data
    assert data <= names, sorted(data - names)
    assert {
        "geoplan/py.typed",
        "geoplan/static/geoplan.js",
        "geoplan/static/geoplan.css",
        "geoplan/static/vendor/assets.json",
    } <= names
    assert not [n for n in names if n.startswith(("geodata/", "src/", "tests/"))]


def test_installed_geoplan_builds_the_report_from_another_folder(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy2(REPORT, elsewhere / REPORT.name)
    env = {k: v for k, v in os.environ.items() if k not in ("GEOPLAN_GEODATA_DIR", "PYTHONPATH")}
    env["GEOPLAN_DATA_DIR"] = str(tmp_path / "data")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)

    where = run(
        str(installed / "bin" / "python"),
        "-c",
        "import geoplan, geoplan.settings as s; print(geoplan.__file__); print(s.geodata_dir())",
    )
    assert where.returncode == 0, where.stderr
    module, geodata = where.stdout.split()
    assert Path(module).is_relative_to(installed) and Path(geodata).is_relative_to(installed), where.stdout
    assert not Path(module).is_relative_to(ROOT)

    built = run(str(installed / "bin" / "geoplan"), "build", REPORT.name, "-o", "out.geojson")
    assert built.returncode == 0, built.stderr
    doc = json.loads((elsewhere / "out.geojson").read_text(encoding="utf-8"))
    shipped = json.loads((ROOT / "geodata" / "taiyuan-2025.geojson").read_text(encoding="utf-8"))
    assert doc["features"] == shipped["features"]
    assert sum(f["geometry"] is not None for f in doc["features"]) > 10  # the gazetteer was found

    page = run(str(installed / "bin" / "geoplan"), "map", "out.geojson", "-o", "map.html")
    assert page.returncode == 0, page.stderr
    html = (elsewhere / "map.html").read_text(encoding="utf-8")
    assert 'data-vendored="../geoplan.js"' in html and "function create()" in html  # the script, from the wheel


def test_installed_geoplan_serves_the_app_from_another_folder(installed: Path, tmp_path: Path) -> None:
    """`geoplan serve` in a folder without streamlit_app.py: the wheel's script, its static/ served, the shipped
    report ready before the server answers."""
    import urllib.request

    from browser_support import free_port, wait_healthy

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("GEOPLAN_GEODATA_DIR", "PYTHONPATH")}
    env["GEOPLAN_DATA_DIR"] = str(tmp_path / "data")
    port = free_port()
    log = tmp_path / "serve.log"
    args = ["--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1"]
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [str(installed / "bin" / "geoplan"), "serve", *args], cwd=elsewhere, env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log, 120)
        with urllib.request.urlopen(f"{url}/app/static/geoplan.js", timeout=10) as r:
            served = r.read()
        assert served == (_installed_static(installed) / "geoplan.js").read_bytes()
        assert "taiyuan-2025.txt: 49 features, map data on osm ready" in log.read_text(encoding="utf-8")
        assert list((tmp_path / "data" / "prepared").glob("report-*.gpk"))
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _installed_static(venv: Path) -> Path:
    (static,) = venv.glob("lib/python*/site-packages/geoplan/static")
    return static
