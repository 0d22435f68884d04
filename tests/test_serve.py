"""``geoplan serve``: the default report computed in the server's own process before Streamlit takes visitors, so
a first visit reads nothing and computes nothing; Streamlit's options passed on; bad input stops it with one line.

The browser tests (tests/test_browser.py) start the app this way, as ``make run`` does.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from geoplan import prepared as P
from geoplan.cli import main

from conftest import ROOT


@pytest.fixture
def fresh_caches():
    """The server process's memory, as at its start."""
    import streamlit as st

    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the app asks the data dir (or the pipeline) for the report's frame and its map data."""
    import geoplan.app.data as data

    calls = {"frame": 0, "map data": 0, "map": 0}
    real_frame, real_drawn, real_map = data.prepared_frame, data.prepared_drawn, data.build_map

    def frame(*args: Any, **kwargs: Any) -> Any:
        calls["frame"] += 1
        return real_frame(*args, **kwargs)

    def drawn(*args: Any, **kwargs: Any) -> Any:
        calls["map data"] += 1
        return real_drawn(*args, **kwargs)

    def build_map(*args: Any, **kwargs: Any) -> Any:
        calls["map"] += 1
        return real_map(*args, **kwargs)

    monkeypatch.setattr(data, "prepared_frame", frame)
    monkeypatch.setattr(data, "prepared_drawn", drawn)
    monkeypatch.setattr(data, "build_map", build_map)
    return calls


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Streamlit's command line as ``geoplan serve`` hands it over (the server itself is not started here)."""
    from streamlit.web import cli as streamlit_cli

    calls: list[list[str]] = []

    def run(*, args: list[str], prog_name: str, standalone_mode: bool) -> None:
        assert prog_name == "streamlit" and standalone_mode
        calls.append(args)

    monkeypatch.setattr(streamlit_cli.main, "main", run)
    return calls


#: What the checkout's .streamlit/config.toml says, given to Streamlit before the caller's own options.
DEFAULTS = [
    "--server.enableStaticServing=true",
    "--server.maxUploadSize=2",
    "--browser.gatherUsageStats=false",
    "--client.toolbarMode=minimal",
]


def _first_visit() -> Any:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90).run()
    assert not at.exception, at.exception
    return at


def test_serve_warms_what_the_first_visit_needs(_data_dir, fresh_caches, reads, started, capsys):
    script = str(ROOT / "streamlit_app.py")
    assert main(["serve", "--script", script, "--server.port", "8599", "--server.headless", "true"]) == 0
    assert started == [["run", script, *DEFAULTS, "--server.port", "8599", "--server.headless", "true"]]
    assert "taiyuan-2025.txt: 49 features, map data on osm ready" in capsys.readouterr().err
    assert reads == {"frame": 1, "map data": 1, "map": 1}
    kept = sorted(p.name.split("-")[0] for p in P.prepared_dir(_data_dir).iterdir())
    assert kept == ["gazetteer", "mapdata", "report"]  # a restart reads them
    at = _first_visit()
    assert reads == {"frame": 1, "map data": 1, "map": 1}  # the visit found all three in memory
    assert any("gp-counts" in h.proto.body for h in at.get("html"))


_COMPILES = """
import sys
from streamlit.testing.v1 import AppTest
from streamlit.web import cli as streamlit_cli

streamlit_cli.main.main = lambda **kwargs: None  # the server is not started here
from geoplan.cli import main
from geoplan._folium import LazyTemplate

assert main(["serve", "--script", sys.argv[1], *sys.argv[2:]]) == 0
compiles = []
real = LazyTemplate.compiled

def compiled(self):
    if self._template is None:
        compiles.append(self)
    return real(self)

LazyTemplate.compiled = compiled
at = AppTest.from_file(sys.argv[1], default_timeout=90).run()
assert not at.exception and any("gp-counts" in h.proto.body for h in at.get("html"))
print(len(compiles))
"""


@pytest.mark.parametrize(("how", "first_visit_compiles"), [([], False), (["--no-warm"], True)])
def test_serve_compiles_the_maps_templates_before_the_first_visit(tmp_path, how, first_visit_compiles):
    """folium's templates compile when first used (geoplan._folium): the warm map of one place uses the page's."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "GEOPLAN_DATA_DIR": str(tmp_path)}
    args = [sys.executable, "-c", _COMPILES, str(ROOT / "streamlit_app.py"), *how]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=True)
    compiles = int(done.stdout.strip().splitlines()[-1])
    assert (compiles > 0) == first_visit_compiles, compiles


def test_serve_without_warming_leaves_the_work_to_the_first_visit(_data_dir, fresh_caches, reads, started):
    assert main(["serve", "--script", str(ROOT / "streamlit_app.py"), "--no-warm"]) == 0
    assert len(started) == 1 and reads == {"frame": 0, "map data": 0, "map": 0}
    _first_visit()
    assert reads == {"frame": 1, "map data": 1, "map": 1}


def test_serve_warms_the_basemap_asked_for(_data_dir, fresh_caches, reads, started, capsys):
    assert main(["serve", "--script", str(ROOT / "streamlit_app.py"), "--basemap", "light"]) == 0
    assert "map data on light ready" in capsys.readouterr().err
    assert len(list(P.prepared_dir(_data_dir).glob("mapdata-*"))) == 1
    _first_visit()  # the page opens on osm: its map data and map are made then
    assert reads == {"frame": 1, "map data": 2, "map": 2}


def test_serve_applies_the_stored_corrections_before_the_first_visit(_data_dir, fresh_caches, reads, started):
    from geoplan.corrections import CorrectionStore
    from geoplan.features import features_from_path

    gdf = features_from_path(ROOT / "geodata" / "reports" / "taiyuan-2025.txt")
    item = gdf[gdf["precision"] == "city"].iloc[0]
    CorrectionStore.in_data_dir(_data_dir).add(item["item_id"], "POINT (112.55 37.87)", note="市政府所在地")
    assert main(["serve", "--script", str(ROOT / "streamlit_app.py")]) == 0
    at = _first_visit()
    assert reads == {"frame": 1, "map data": 1, "map": 1}
    counts = next(h.proto.body for h in at.get("html") if "gp-counts" in h.proto.body)
    located = gdf.loc[gdf.geometry.notna(), "item_id"].nunique() + 1
    assert f"已定位 {located}" in counts


def test_serve_runs_the_installed_script_from_a_folder_without_one(tmp_path, started, monkeypatch):
    """An installed geoplan serves from any folder: the package's own script, static/ beside it."""
    import geoplan

    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--no-warm", "--server.maxUploadSize", "5"]) == 0
    packaged = Path(geoplan.__file__).parent / "streamlit_app.py"
    assert started == [["run", str(packaged), *DEFAULTS, "--server.maxUploadSize", "5"]]
    assert (packaged.parent / "static" / "geoplan.js").is_file()
    shutil.copy2(ROOT / "streamlit_app.py", tmp_path / "streamlit_app.py")  # a folder with its own: that one
    assert main(["serve", "--no-warm"]) == 0
    assert started[-1][1] == "streamlit_app.py"


def test_the_installed_script_is_the_checkouts_wiring():
    import geoplan

    packaged = (Path(geoplan.__file__).parent / "streamlit_app.py").read_text(encoding="utf-8")
    ours = (ROOT / "streamlit_app.py").read_text(encoding="utf-8")
    code = [line for line in ours.splitlines() if line and not line.startswith(('"""', "Widgets", "Run with"))]
    assert [line for line in packaged.splitlines() if line in code] == code


def test_serve_names_a_missing_script(tmp_path, started, capsys):
    assert main(["serve", "--script", str(tmp_path / "app.py")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'app.py'}: no such file" in err and "Traceback" not in err
    assert started == []


def test_serve_names_a_bad_default_reports_file_and_line(data_dir, fresh_caches, started, monkeypatch, capsys):
    from geoplan import settings

    bad = data_dir / "bad" / "item-first.txt"
    monkeypatch.setattr(settings, "default_report_path", lambda: bad)
    assert main(["serve", "--script", str(ROOT / "streamlit_app.py")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"geoplan: error: {bad}:1: ") and err.count("\n") == 1
    assert started == []  # nothing served from a report that does not parse


# -- the map rendered before its layers' URL is known ------------------------------------------------------------


def _ids_out(script: str) -> str:
    """folium's element names end in a random hex id per render."""
    import re

    return re.sub(r"_[0-9a-f]{32}", "_ID", script)


def test_a_map_rendered_with_the_url_slot_is_the_map_rendered_with_the_url(_data_dir, fresh_caches):
    from geoplan.app import data as D
    from geoplan.app_map import DATA_URL_SLOT, fetching, render_map
    from geoplan.maps import build_map
    from geoplan.offline import localize

    prep = D.warm()
    slotted = D.map_parts(prep.key, None, "osm", True, prep.gdf, prep.meta)
    assert DATA_URL_SLOT in slotted.script
    url = "../../media/0f1e2d3c4b5a69788796a5b4c3d2e1f0.json"
    filled = fetching(slotted, url)
    direct = build_map(
        prep.gdf,
        bilingual=True,
        data_url=url,
        gazetteer=D.gazetteer(P.report_adcode(prep.meta)),
        show_boundaries=True,
        search=True,
        data=D.drawn(prep.key, "osm", prep.gdf),
    )
    localize(direct, mode="static")
    assert _ids_out(filled.script) == _ids_out(render_map(direct, "map").script)
    assert f'"url":"{url}"' in filled.script and DATA_URL_SLOT not in filled.script
    again, other = fetching(slotted, url), fetching(slotted, url.replace("0f1e", "aaaa"))
    assert again.hash_key == filled.hash_key and len({slotted.hash_key, filled.hash_key, other.hash_key}) == 3
    assert fetching(slotted, None) is slotted


def test_only_a_map_rendered_to_fetch_takes_a_url(_data_dir, fresh_caches):
    from geoplan.app import data as D
    from geoplan.app_map import fetching

    prep = D.warm()
    inline = D.map_parts(prep.key, None, "osm", False, prep.gdf, prep.meta)  # the shipped report's: 63 kB inline
    assert not D.fetched(prep.key, "osm", prep.gdf)
    with pytest.raises(ValueError, match="not rendered to fetch"):
        fetching(inline, "../../media/x.json")
