"""The curated Taiyuan gazetteer (``geodata/gazetteer.geojson``) is the output of ``scripts/gazetteer_tools.py``,
and the source link a popup shows for a place is the source itself, not a copy of it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
CURATED = ROOT / "geodata" / "gazetteer.geojson"
SCRIPT = ROOT / "scripts" / "gazetteer_tools.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gazetteer_tools", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["gazetteer_tools"] = module
    spec.loader.exec_module(module)
    return module


def _properties() -> list[dict[str, object]]:
    return [f["properties"] for f in json.loads(CURATED.read_text(encoding="utf-8"))["features"]]


def test_committed_file_is_the_script_output(tmp_path: Path) -> None:
    tools = _script()
    if not tools.OSM_RAIL.is_file():  # the OSM export in ../shared (or $GEOPLAN_OSM_RAIL)
        pytest.skip(f"{tools.OSM_RAIL} not found")
    out = tmp_path / "gazetteer.geojson"
    tools.dump(tools.build_features(), out)
    assert out.read_bytes() == CURATED.read_bytes()


@pytest.mark.parametrize("props", _properties(), ids=lambda p: str(p["name"]))
def test_a_wikipedia_source_links_to_wikipedia(props: dict[str, object]) -> None:
    """Some articles were read through mirror sites (gazetteer-sources.md says which); a resident who follows
    the popup's source link reaches the article's own address (a mirror's host is what the popup printed)."""
    source, url = str(props["source"]), props.get("source_url")
    if not url or not source.lower().startswith(("wikipedia", "course: wikipedia")):
        return
    host = urlsplit(str(url)).hostname or ""
    assert host.endswith(".wikipedia.org"), (props["name"], url)


def test_source_links_are_web_addresses() -> None:
    for props in _properties():
        url = props.get("source_url")
        if url:
            parts = urlsplit(str(url))
            assert parts.scheme in {"http", "https"} and parts.hostname, (props["name"], url)
