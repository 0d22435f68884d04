"""The app's data: the report through the pipeline and the corrections, cached per content, and the store."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from geoplan import settings
from geoplan.corrections import Correction, CorrectionStore
from geoplan.errors import GeoplanError
from geoplan.export import export_bytes
from geoplan.filters import FilterOptions
from geoplan.gazetteer import Gazetteer, gazetteer_for
from geoplan.i18n import (
    precision_option,
    t,
)
from geoplan.app_map import DATA_URL_SLOT, MapParts, render_map
from geoplan.maps import Basemap, Lang, MapData, band_scripts, build_map, layers_json
from geoplan.offline import localize
from geoplan.prepared import (
    corrected_frame,
    corrections_key,
    prepared_drawn,
    prepared_dir,
    prepared_frame,
    report_adcode,
)


@st.cache_resource(show_spinner=False, max_entries=8)
def gazetteer(adcode: str | None = None) -> Gazetteer:
    """The gazetteer of a report's city (Taiyuan's curated one, or any city's districts), kept checked in the data
    dir's ``prepared/`` by content: a server's next start reads 10k places in 0.3 s instead of 2.4 s."""
    return gazetteer_for(adcode, prepared_dir=prepared_dir())


@st.cache_resource(show_spinner=False, max_entries=8)
def pipeline(data: bytes, name: str) -> tuple[gpd.GeoDataFrame, dict[str, Any], str]:
    """Parse, link and geocode a report once per distinct text; the frame, its report meta and its key.

    A resource, not cache_data: every rerun would unpickle the frame (1-1.6 s at 100k rows). Callers treat
    it as read-only; filters and corrections return new frames. Kept in the data dir's ``prepared/`` by
    content (``geoplan.prepared``): a server's next start, or one after ``geoplan prepare``, reads it.
    """
    gdf, key = prepared_frame(data, name, directory=prepared_dir(), gazetteer=gazetteer)
    return gdf, gdf.attrs["report"], key


@dataclass(frozen=True)
class Prepared:
    """One report with the corrections applied, and what the sidebar offers for it."""

    key: str
    gdf: gpd.GeoDataFrame
    meta: dict[str, Any]
    not_applied: tuple[Correction, ...]
    options: FilterOptions
    missing: tuple[str, ...]  # names the gazetteer lacks


@st.cache_resource(show_spinner=False, max_entries=8)
def prepare(data: bytes, name: str, corrections_key: str, _corrections: tuple[Correction, ...]) -> Prepared:
    # corrections_key names _corrections' content for the cache (corrected_frame derives the same key).
    gdf, meta, report = pipeline(data, name)
    corrected, not_applied, key = corrected_frame(gdf, report, _corrections, gazetteer(report_adcode(meta)))
    missing = tuple(sorted({n for v in corrected["unresolved"].dropna() for n in str(v).split("；") if n}))
    return Prepared(key, corrected, meta, tuple(not_applied), FilterOptions.of(corrected), missing)


@st.cache_resource(show_spinner=False, max_entries=16)
def drawn(key: str, basemap: Basemap, _gdf: gpd.GeoDataFrame) -> MapData:
    """The map's data, serialised once per report, corrections and basemap: filters only hide features.

    Layers of many vertices by zoom band (``lod``), as in standalone pages: the bands and the popups' data
    come in the same fetched file (``layer_data_url``), and the browser builds what the view needs. Kept in
    the data dir's ``prepared/`` under ``key`` (the report's content key and its corrections: a correction
    names another file), read there on a server's next start."""
    return prepared_drawn(key, basemap, _gdf, directory=prepared_dir())


def _named(data: bytes, suffix: str) -> tuple[bytes, str]:
    """Bytes and a name with their whole digest: Streamlit's file id hashes only samples of a large file (its
    length, head, middle and tail), so a correction that moves one place could keep the id, and the browser
    the old data; the name enters the id."""
    return data, f"geoplan-{hashlib.sha256(data).hexdigest()[:32]}{suffix}"


@st.cache_resource(show_spinner=False, max_entries=16)
def _band_files(key: str, basemap: Basemap, _gdf: gpd.GeoDataFrame) -> tuple[tuple[str, bytes, str], ...]:
    """(id, bytes, name) of the map's band and deferred-property scripts (``maps.band_scripts``)."""
    return tuple((i, *_named(text.encode("utf-8"), ".js")) for i, text in band_scripts(drawn(key, basemap, _gdf)))


@st.cache_resource(show_spinner=False, max_entries=16)
def _layer_file(
    key: str, basemap: Basemap, urls: tuple[tuple[str, str], ...], _gdf: gpd.GeoDataFrame
) -> tuple[bytes, str]:
    return _named(layers_json(drawn(key, basemap, _gdf), dict(urls)), ".json")


def fetched(key: str, basemap: Basemap, gdf: gpd.GeoDataFrame) -> bool:
    """Whether the map fetches its layers (``layer_data_url``): banded, or more than ``settings.map_inline_bytes``
    of JSON; smaller ones are in the map's script (a request more on first load cost more than the rerun's
    bytes)."""
    return bool(_band_files(key, basemap, gdf)) or len(_layer_file(key, basemap, (), gdf)[0]) > (
        settings.map_inline_bytes()
    )


# The component page is <app>/component/<name>/index.html: media URLs are relative to it, so that they also
# hold under server.baseUrlPath (as geoplan.offline's static URLs).
_FROM_COMPONENT = "../.."


def layer_data_url(key: str, basemap: Basemap, gdf: gpd.GeoDataFrame) -> str | None:
    """Where the browser fetches the map's layers (``maps.layers_json``), or None: without a Streamlit
    runtime, and for layers of no more than ``settings.map_inline_bytes`` without zoom bands (they go in the
    map's script: the shipped report's 63 kB).

    Streamlit's media file manager serves them (``/media/<content hash>.json``, from memory), and the zoom
    bands' and deferred properties' scripts it names: a file per session at one coordinate each, kept while a
    session's latest run registered it and dropped after, so files cannot pile up. Called on every run of the
    map's fragment (registering is a dict lookup: the hash of a large file samples it); the bytes are made
    once per report, corrections and basemap. The map's script then carries the URL, not the data: at 10k
    features every rerun re-sent 4.45 MB (bench/README.md, ``lang`` section).
    """
    from streamlit import runtime

    if not runtime.exists() or not fetched(key, basemap, gdf):
        return None
    files = _band_files(key, basemap, gdf)
    manager = runtime.get_instance().media_file_mgr

    def served(data: bytes, mimetype: str, coordinates: str, name: str) -> str:
        url = manager.add(data, mimetype, coordinates=coordinates, file_name=name)
        return _FROM_COMPONENT + url if url.startswith("/") else url

    # A banded layer's finer bands and popup data are scripts of their own, loaded when the map needs them
    # (as beside a standalone page): in the one file, 10k distinct places were tens of MB to fetch and parse
    # before the first draw.
    urls = tuple((i, served(data, "text/javascript", f"geoplan.map.{i}", name)) for i, data, name in files)
    data, name = _layer_file(key, basemap, urls, gdf)
    return served(data, "application/json", "geoplan.map.layers", name)


@st.cache_resource(show_spinner=False, max_entries=16)
def map_parts(
    key: str,
    draw_lang: Lang | None,
    basemap: Basemap,
    fetch: bool,
    _gdf: gpd.GeoDataFrame,
    _meta: dict[str, Any],
) -> MapParts:
    """The map rendered once per report (and corrections), basemap and mode; filters and the language only
    send a view (``maps.map_view``): the map carries both languages' words (``build_map(bilingual=True)``).

    ``draw_lang`` is the language of a planner's map (editing, with the draw toolbar, whose words Leaflet.draw
    reads once, when it builds the toolbar), None otherwise. ``fetch``: the layers are fetched (``fetched``),
    from a URL the map is rendered without (``app_map.DATA_URL_SLOT``; ``app_map.fetching`` puts the served file's
    in), so ``geoplan serve`` renders it before the server runs; else they are in the script. The page's CSS
    sizes the map to the screen (static/app/layout.css); the height given is a floor.
    """
    m = build_map(
        _gdf,
        lang=draw_lang or "zh",
        bilingual=True,
        data_url=DATA_URL_SLOT if fetch else None,
        basemap=basemap,
        gazetteer=gazetteer(report_adcode(_meta)),
        show_boundaries=True,
        draw=draw_lang is not None,
        search=True,
        data=drawn(key, basemap, _gdf),
    )
    localize(m, mode="static")
    return render_map(m, "map")


@st.cache_resource(show_spinner=False)
def _store(data_dir: str, adcode: str | None) -> CorrectionStore:
    return CorrectionStore.in_data_dir(data_dir, city_area=gazetteer(adcode).city_area)


def store(adcode: str | None = None) -> CorrectionStore:
    """One store per data dir (and report city, whose area new geometries must lie in); it opens a
    connection per call, so sessions can share it."""
    return _store(str(settings.data_dir()), adcode)


def active_corrections(lang: str) -> list[Correction]:
    """The active corrections, or none (with one notice) when the store is unusable: the map still shows.

    The reason, which names server paths, goes to the server log only, never to a visitor.
    """
    try:
        return store().all()
    except GeoplanError as err:
        logging.getLogger("geoplan.app").error("corrections not applied: %s", err)
        st.warning(t(lang, "store_error"))
        return []


def target_label(row: pd.Series[Any], lang: str) -> str:
    """What a planner recognises an item by: its place and its own words, not its id."""
    place = row["matched"] if isinstance(row["matched"], str) else precision_option(row["precision"], lang)
    text = str(row["text"])
    return f"{place} · {text[:40]}{'…' if len(text) > 40 else ''}"


def save_correction(row: pd.Series[Any], drawing: dict[str, Any], note: str, author: str, adcode: str | None) -> None:
    import json

    placeless = row["precision"] == "city" or not isinstance(row["name"], str)
    store(adcode).add(
        row["item_id"],
        json.dumps(drawing["geometry"]),
        note=note,
        author=author,
        place=None if placeless else row["name"],
        previous=row.geometry,
    )


@st.cache_data(show_spinner=False, max_entries=32)
def download(_gdf: gpd.GeoDataFrame, key: str, fmt: str) -> bytes:
    return export_bytes(_gdf, fmt)


def default_report() -> tuple[bytes, str]:
    """The report a visitor sees first (``settings.default_report_path``): its bytes and file name."""
    path = settings.default_report_path()
    return path.read_bytes(), path.name


def warm(basemap: Basemap = "osm") -> Prepared:
    """Compute, before the server takes its first visitor, what that visit to the default report needs.

    ``geoplan serve`` calls this in the server's own process: the cached resources (gazetteer, frame,
    corrections applied, map data, its band scripts and the rendered map) are then held in memory under the keys
    the page asks for, and the modules are imported. A first visit otherwise paid ~2.4 s of imports, ~0.9 s of
    reading the prepared files and ~0.9 s of rendering at 10k distinct places (bench/README.md, "serve").
    """
    data, name = default_report()
    corrections = active_corrections("zh")  # an unusable store: logged, and no visitor yet to tell
    prep = prepare(data, name, corrections_key(corrections), tuple(corrections))
    # The map data and band scripts (fetched() makes them), the page's map (its layers' URL put in per visit),
    # and Streamlit's emoji pattern for the page icon (0.5 s and 0.36 s of a first run at 10k distinct places).
    map_parts(prep.key, None, basemap, fetched(prep.key, basemap, prep.gdf), prep.gdf, prep.meta)
    with contextlib.suppress(ImportError):  # an internal module of Streamlit's: only a speed-up if it is there
        importlib.import_module("streamlit.emojis")
    return prep
