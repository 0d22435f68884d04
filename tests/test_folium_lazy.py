"""folium's templates compiled on first use (geoplan._folium): the same pages, and every entry point gets it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jinja2
import pytest

from geoplan._folium import LazyTemplate, lazy_templates

# One process builds the shipped report's standalone page (every element geoplan renders: layers, boundaries,
# legend, search, draw toolbar, inline assets) and reports it with folium's random element ids numbered in order
# of appearance, and whether folium's class templates were lazy.
_PAGE = """
import json, re, sys
{first}
from geoplan.features import features_from_path
from geoplan.gazetteer import load_gazetteer
from geoplan.maps import build_map, map_html
from geoplan.offline import localize
import folium.map
from geoplan._folium import TemplateCache
compiles = []  # folium's class templates compiled in this process and stored (the rest came from the cache)
_store = TemplateCache.set_bucket
TemplateCache.set_bucket = lambda self, bucket: compiles.append(1) or _store(self, bucket)
gdf = features_from_path("geodata/reports/taiyuan-2025.txt")
m = build_map(gdf, lang="en", gazetteer=load_gazetteer(), show_boundaries=True, draw=True, search=True)
localize(m, mode="inline")
html = map_html(m)
ids = {{}}
html = re.sub(r"[0-9a-f]{{32}}", lambda g: ids.setdefault(g.group(0), f"id{{len(ids)}}"), html)
print(json.dumps({{"lazy": type(folium.map.Popup._template).__name__, "html": html, "compiles": len(compiles)}}))
"""


def _page(first: str, cache: Path | None = None) -> dict[str, Any]:
    """The page made in a fresh process (``cache``: its XDG_CACHE_HOME, where compiled templates are kept)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)} if cache is not None else None
    out = subprocess.run(
        [sys.executable, "-c", _PAGE.format(first=first)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_page_is_the_same_with_templates_compiled_late_or_at_import(tmp_path):
    late = _page("import geoplan._folium", tmp_path)
    eager = _page("import branca.element, folium, folium.plugins  # compiled as folium defines them", tmp_path)
    assert late["lazy"] == "LazyTemplate" and eager["lazy"] == "Template"  # the two really differ
    assert len(late["html"]) > 100_000
    assert late["html"] == eager["html"]


@pytest.mark.parametrize("entry", ["geoplan.maps", "geoplan.app.page", "geoplan.map_ui", "geoplan.offline"])
def test_every_entry_point_imports_folium_through_geoplan_folium(entry):
    """Whichever module a process imports first, folium is imported with late templates (a module that imported
    folium before geoplan._folium would silently bring the compile time back)."""
    code = f"import {entry}, folium.map, folium.plugins; print(type(folium.plugins.Draw._template).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "LazyTemplate"


def test_a_lazy_template_compiles_once_with_its_class_and_options_and_reports_errors_when_used():
    class Mine(jinja2.Template):
        pass

    with lazy_templates():
        t = Mine("{{ x }}|{% if y %}y{% endif %}", trim_blocks=True)
        broken = jinja2.Template("{% if %}")  # a syntax error surfaces when the template is first used
    assert isinstance(t, LazyTemplate) and isinstance(broken, LazyTemplate)
    assert t.render(x="<a>", y=True) == "<a>|y"  # autoescape off, as jinja2.Template's default
    assert isinstance(t.compiled(), Mine) and t.compiled() is t.compiled()
    assert t.environment.trim_blocks is True
    assert t.module.__class__.__name__ == "TemplateModule"
    with pytest.raises(jinja2.TemplateSyntaxError):
        broken.render()
    # Outside the context, templates are jinja2's own again.
    assert type(jinja2.Template("{{ x }}")) is jinja2.Template


def _cache_files(cache: Path) -> list[Path]:
    return sorted((cache / "geoplan" / "jinja2").glob("*.cache"))


def test_a_second_process_loads_the_compiled_templates_and_makes_the_same_page(tmp_path):
    first = _page("import geoplan._folium", tmp_path)
    files = _cache_files(tmp_path)
    assert first["compiles"] >= 8 and len(files) >= 8  # the templates the page rendered, one file each
    second = _page("import geoplan._folium", tmp_path)
    assert second["compiles"] == 0  # every template the page needed came from the cache
    assert second["html"] == first["html"]
    assert _cache_files(tmp_path) == files


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "empty"])
def test_a_damaged_cache_file_is_compiled_again_and_rewritten(tmp_path, damage):
    first = _page("import geoplan._folium", tmp_path)
    for f in _cache_files(tmp_path):
        data = f.read_bytes()
        spoiled = {
            "garbage": b"j2\x80\x02not a template at all",
            "truncated": data[: len(data) // 2],
            "flipped": data[:-40] + bytes([data[-40] ^ 0x55]) + data[-39:],  # in the code: only the digest tells
            "empty": b"",
        }[damage]
        f.write_bytes(spoiled)
    again = _page("import geoplan._folium", tmp_path)
    assert again["html"] == first["html"]
    assert again["compiles"] == first["compiles"]  # every damaged file compiled again ...
    assert _page("import geoplan._folium", tmp_path)["compiles"] == 0  # ... and written back whole


def test_a_cache_that_cannot_be_written_only_costs_the_compile(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    first = _page("import geoplan._folium", blocked)
    second = _page("import geoplan._folium", blocked)
    assert first["html"] == second["html"] == _page("import geoplan._folium", tmp_path / "fine")["html"]
    assert first["compiles"] == second["compiles"] > 0


def test_templates_of_other_options_or_sources_are_kept_apart(tmp_path):
    from geoplan._folium import TemplateCache

    cache = TemplateCache(tmp_path)
    new = jinja2.Template.__dict__["__new__"]
    new = new.__func__ if isinstance(new, staticmethod) else new
    source = "{{ x }}{% if y %}\n<{{ y }}>{% endif %}"
    plain = cache.compiled(new, jinja2.Template, (source,), {})
    trimmed = cache.compiled(new, jinja2.Template, (source,), {"trim_blocks": True, "autoescape": True})
    other = cache.compiled(new, jinja2.Template, ("{{ x }}!",), {})
    assert len(list(tmp_path.glob("*.cache"))) == 3
    assert plain.render(x=1, y="&") == "1\n<&>" and trimmed.render(x=1, y="&") == "1<&amp;>"
    assert other.render(x=1) == "1!"
    again = cache.compiled(new, jinja2.Template, (source,), {"trim_blocks": True, "autoescape": True})
    assert again.render(x=1, y="&") == "1<&amp;>" and again.environment is trimmed.environment
