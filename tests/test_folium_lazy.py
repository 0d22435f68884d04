"""folium's templates compiled on first use (geoplan._folium): the same pages, and every entry point gets it."""

from __future__ import annotations

import json
import subprocess
import sys

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
gdf = features_from_path("geodata/reports/taiyuan-2025.txt")
m = build_map(gdf, lang="en", gazetteer=load_gazetteer(), show_boundaries=True, draw=True, search=True)
localize(m, mode="inline")
html = map_html(m)
ids = {{}}
html = re.sub(r"[0-9a-f]{{32}}", lambda g: ids.setdefault(g.group(0), f"id{{len(ids)}}"), html)
print(json.dumps({{"lazy": type(folium.map.Popup._template).__name__, "html": html}}))
"""


def _page(first: str) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-c", _PAGE.format(first=first)], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_page_is_the_same_with_templates_compiled_late_or_at_import():
    late = _page("import geoplan._folium")
    eager = _page("import branca.element, folium, folium.plugins  # compiled as folium defines them")
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
