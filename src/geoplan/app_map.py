"""The app's map component, rendered once per report, basemap and mode: a rerun sends only the view.

``st_folium`` renders the whole folium map into its script on every call (build_map, jinja, the variable
renaming: ~100 ms for the shipped report, ~350 ms at 10k features, bench/README.md, "Decisions" 4), even
when the script is unchanged and the browser keeps the loaded map. ``render_map`` does that work once (the app
caches its ``MapParts``); ``show_map`` hands streamlit-folium's component the cached strings and the small
view script (``maps.map_view``: which fids to show, the selected one), the arguments ``st_folium`` itself
would send, so the frontend behaves exactly as with ``st_folium`` (same script → the same iframe, only the
view runs).

The map's own controls are filters too (issue 13): geoplan.js posts the domains ticked in its layer control
and the find box's text as ``{"geoplan": {"domains", "q", "seq"}}`` in the component's value; ``follow_map``
writes them into the sidebar's widgets before the fragment reruns, and ``with_filters`` sends the state the
app applied back in the view, so the map sets its controls to it without posting again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from geoplan import _folium  # noqa: F401  (first: folium's templates then compile when used)
import folium
import streamlit as st
import streamlit_folium as sf  # type: ignore[import-untyped]

from geoplan.maps import MapView, js_json


@dataclass(frozen=True)
class MapParts:
    """What streamlit-folium's component needs of a map, computed once."""

    script: str
    header: str
    html: str
    map_id: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    bounds: dict[str, dict[str, float | None]]
    zoom: Any
    key: str  # the app's key for the map (``st_folium``'s ``key``)
    hash_key: str  # streamlit-folium's widget key: a sha256 of the whole script, so computed once


#: What a map whose layers are fetched is rendered with in the place of their URL (``MapParts.fetching``): the URL
#: is the served file's, which only the running server gives, and the map is rendered before (``geoplan serve``).
DATA_URL_SLOT = "geoplan-layer-data-url-slot-4b1f9e"


def fetching(parts: MapParts, data_url: str | None) -> MapParts:
    """``parts`` rendered with ``DATA_URL_SLOT`` as its layers' URL, now fetching them from ``data_url``.

    The slot is written as JSON in the script (``maps.js_json``), as the URL is put there; the widget key names
    the URL too, so another file (a correction) is another component. ``None`` (layers in the script): as is.
    """
    if data_url is None:
        return parts
    if DATA_URL_SLOT not in parts.script:
        raise ValueError("this map was not rendered to fetch its layers (maps.build_map(data_url=DATA_URL_SLOT))")
    url = js_json(data_url)[1:-1]
    key = hashlib.sha256(f"{parts.hash_key}\0{data_url}".encode()).hexdigest()
    return replace(parts, script=parts.script.replace(DATA_URL_SLOT, url), hash_key=key)


def _assets(element: Any) -> Iterator[Any]:
    if isinstance(element, folium.elements.JSCSSMixin):
        yield element
    for child in getattr(element, "_children", {}).values():
        yield from _assets(child)


def render_map(m: folium.Map, key: str) -> MapParts:
    """The map as ``st_folium(m, key=key, render=False)`` renders it on each call (same helpers, same order)."""
    m.render()  # type: ignore[no-untyped-call]
    html = sf._get_html(m)
    header = sf._get_header(m)
    script = sf._get_map_string(m)
    css = [href for e in _assets(m) for _n, href in getattr(e, "default_css", [])]
    js = [src for e in _assets(m) for _n, src in getattr(e, "default_js", [])]
    try:
        (s, w), (n, e) = m.get_bounds()
    except AttributeError:
        (s, w), (n, e) = (None, None), (None, None)
    bounds = {"_southWest": {"lat": s, "lng": w}, "_northEast": {"lat": n, "lng": e}}
    return MapParts(
        script=script,
        header=header,
        html=html,
        map_id=sf.get_full_id(m),
        css_links=tuple(dict.fromkeys(css)),
        js_links=tuple(dict.fromkeys(js)),
        bounds=bounds,
        zoom=m.options.get("zoom"),
        key=key,
        hash_key=sf.generate_js_hash(script, key, False),
    )


def view_script(groups: Sequence[folium.FeatureGroup]) -> str:
    """The feature groups' script as st_folium writes it (their map is renamed ``map_div`` there)."""
    host = folium.Map(tiles=None)  # any map: its name is replaced by "map_div"
    return "".join(sf._get_feature_group_string(g, map=host, idx=i) for i, g in enumerate(groups))


@dataclass(frozen=True)
class MapFilters:
    """The filter state the map's controls posted: ``domains`` None when every domain layer is ticked."""

    domains: tuple[str, ...] | None
    query: str
    seq: int


def map_filters(value: Any, after: int) -> MapFilters | None:
    """The map's filter state in a component value, if it is newer than post ``after`` (else None).

    The value is whatever the browser sent: anything malformed is ignored rather than trusted.
    """
    g = value.get("geoplan") if isinstance(value, dict) else None
    if not isinstance(g, dict):
        return None
    seq, domains, query = g.get("seq"), g.get("domains"), g.get("q", "")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq <= after or not isinstance(query, str):
        return None
    if domains is not None and not (isinstance(domains, list) and all(isinstance(d, str) for d in domains)):
        return None
    return MapFilters(None if domains is None else tuple(domains), query.strip(), seq)


# The last post the app applied (the view sends it back).
SEQ_KEY = "_map_seq"


def follow_map(key: str, domains_key: str, query_key: str) -> None:
    """``show_map``'s on_change: the map's posted domains and search text become the sidebar's widgets'
    (``domains_key``, ``query_key``).

    Runs before the fragment reruns (a widget callback), so the sidebar, counts, table, lists, downloads and
    URL are computed from the new state in that one rerun.
    """
    posted = map_filters(st.session_state.get(key), int(st.session_state.get(SEQ_KEY, 0)))
    if posted is None:  # streamlit-folium's own value (a drawing), or a post already applied
        return
    st.session_state[SEQ_KEY] = posted.seq
    st.session_state[domains_key] = [] if posted.domains is None else list(posted.domains)
    st.session_state[query_key] = posted.query


def with_filters(view: MapView, domains: Sequence[str], query: str) -> MapView:
    """``view`` carrying the filter state the app applied and the last post it followed."""
    view.state = {**view.state, "domains": list(domains), "q": query, "seq": int(st.session_state.get(SEQ_KEY, 0))}
    return view


def _register_component() -> None:
    """File streamlit-folium's component with the running server, when its import did not.

    ``declare_component`` registers a component only when a script is running as it is imported. ``geoplan
    serve`` imports the app before Streamlit's server exists, so the server would answer 404 for the map's
    frame (a blank map); the registry's own interface files it on the first run, once.
    """
    from streamlit import runtime

    if not runtime.exists():
        return
    registry = runtime.get_instance().component_registry
    if registry.get_component(sf._component_func.name) is None:
        registry.register_component(sf._component_func)


def show_map(
    parts: MapParts,
    *,
    feature_group_to_add: Sequence[folium.FeatureGroup] = (),
    returned_objects: Sequence[str] = (),
    height: int = 700,
    use_container_width: bool = True,
    center: tuple[float, float] | None = None,
    zoom: int | None = None,
    on_change: Callable[[], None] | None = None,
) -> dict[str, Any] | None:
    """``st_folium(m, render=False, ...)`` for a map rendered once by ``render_map``."""
    defaults: dict[str, Any] = {
        "last_clicked": None,
        "last_object_clicked": None,
        "last_object_clicked_count": None,
        "last_object_clicked_tooltip": None,
        "last_object_clicked_popup": None,
        "all_drawings": None,
        "last_active_drawing": None,
        "bounds": parts.bounds,
        "zoom": parts.zoom,
        "last_circle_radius": None,
        "last_circle_polygon": None,
        "selected_layers": None,
        "selected_tags": None,
        "last_geocoder_result": None,
    }
    defaults = {k: v for k, v in defaults.items() if k in returned_objects}
    key, hash_key = parts.key, parts.hash_key

    def _on_change() -> None:
        st.session_state[key] = st.session_state.get(hash_key, {})
        if on_change is not None:
            on_change()

    _register_component()
    result: dict[str, Any] | None = sf._component_func(
        script=parts.script,
        header=parts.header,
        html=parts.html,
        id=parts.map_id,
        key=hash_key,
        height=height,
        width=None if use_container_width else 700,
        returned_objects=list(returned_objects),
        default=defaults,
        zoom=zoom,
        center=center,
        feature_group=view_script(feature_group_to_add) if feature_group_to_add else None,
        return_on_hover=False,
        layer_control=None,
        pixelated=False,
        css_links=list(parts.css_links),
        js_links=list(parts.js_links),
        on_change=_on_change,
        wrap_longitude=False,
    )
    return result
