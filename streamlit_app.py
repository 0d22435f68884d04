"""geoplan's web app: the report's projects on a layered map, with filters, a table and downloads.

Widgets only: every decision is a call into the geoplan package. Run with ``make run``.
"""

from __future__ import annotations

import hashlib
import html
import logging
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import streamlit as st

from geoplan import settings
from geoplan.corrections import CorrectionStore, apply_corrections
from geoplan.errors import CorrectionStoreError, GeoplanError, StoredReportError
from geoplan.export import FORMATS, MEDIA_TYPES, SUFFIXES, export_bytes
from geoplan.features import features_from_report
from geoplan.filters import FIELDS, FilterOptions, Filters, export_filename
from geoplan.gazetteer import Gazetteer, gazetteer_for
from geoplan.geocoders import city_scope
from geoplan.i18n import (
    LANGS,
    district_label,
    error_text,
    kind_label,
    precision_detail,
    precision_label,
    precision_option,
    status_label,
    t,
    target_words,
)
from geoplan.app_map import MapParts, render_map, show_map
from geoplan.maps import MapData, build_map, map_data, map_view
from geoplan.offline import localize
from geoplan.parse import report_from_bytes
from geoplan.review import online_panel
from geoplan.stored_reports import REPORT_HASH, load_report, save_report
from geoplan.summary import item_counts
from geoplan.vocab import admin_name

st.set_page_config(page_title="geoplan", page_icon="🗺️", layout="wide", initial_sidebar_state="auto")

#: The sidebar's widget key of each filter (geoplan.filters.FIELDS names them once for URL, frame and app).
FILTER_KEYS = {name: f"f_{name}" for name in FIELDS}
MAX_LISTED = 300  # one line each; the table has them all
BASEMAPS = {"osm": "OpenStreetMap", "light": "Light / 浅色", "amap": "高德 AMap (GCJ-02)"}


@st.cache_resource(show_spinner=False, max_entries=8)
def gazetteer(adcode: str | None = None) -> Gazetteer:
    """The gazetteer of a report's city (Taiyuan's curated one, or any city's districts)."""
    return gazetteer_for(adcode)


def _adcode(meta: dict) -> str | None:
    return (meta.get("city") or {}).get("adcode")


@st.cache_resource(show_spinner=False, max_entries=8)
def pipeline(data: bytes, name: str) -> tuple[pd.DataFrame, dict]:
    """Parse, link and geocode a report once per distinct text.

    A resource, not cache_data: every rerun would unpickle the frame (1-1.6 s at 100k rows). Callers treat
    it as read-only; filters and corrections return new frames.
    """
    report = report_from_bytes(data, source=name)
    gdf = features_from_report(report, gazetteer=gazetteer(report.city.adcode if report.city else None))
    return gdf, gdf.attrs["report"]


@dataclass(frozen=True)
class Prepared:
    """One report with the corrections applied, and what the sidebar offers for it."""

    key: str
    gdf: pd.DataFrame
    meta: dict
    not_applied: tuple
    options: FilterOptions
    missing: tuple[str, ...]  # names the gazetteer lacks


@st.cache_resource(show_spinner=False, max_entries=8)
def prepare(data: bytes, name: str, corrections_key: str, _corrections: tuple) -> Prepared:
    gdf, meta = pipeline(data, name)
    corrected, not_applied = apply_corrections(gdf, _corrections, gazetteer=gazetteer(_adcode(meta)))
    corrected.attrs["report"] = meta
    key = hashlib.sha1(data + name.encode() + corrections_key.encode()).hexdigest()
    missing = tuple(sorted({n for v in corrected["unresolved"].dropna() for n in str(v).split("；") if n}))
    return Prepared(key, corrected, meta, tuple(not_applied), FilterOptions.of(corrected), missing)


@st.cache_resource(show_spinner=False, max_entries=16)
def drawn(key: str, basemap: str, _gdf: pd.DataFrame) -> MapData:
    """The map's data, serialised once per report, corrections and basemap: filters only hide features."""
    return map_data(_gdf, basemap)  # type: ignore[arg-type]


@st.cache_resource(show_spinner=False, max_entries=16)
def map_parts(key: str, lang: str, basemap: str, editing: bool, _gdf: pd.DataFrame, _meta: dict) -> MapParts:
    """The map rendered once per report (and corrections), language, basemap and mode; filters only send a view.

    The page's CSS sizes the map to the screen (static/app/layout.css); the height given is a floor.
    """
    m = build_map(
        _gdf,  # type: ignore[arg-type]
        lang=lang,  # type: ignore[arg-type]
        basemap=basemap,  # type: ignore[arg-type]
        gazetteer=gazetteer(_adcode(_meta)),
        show_boundaries=True,
        draw=editing,
        search=True,
        data=drawn(key, basemap, _gdf),
        domain_control=False,
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


def _corrections(lang: str) -> list:
    """The active corrections, or none (with one notice) when the store is unusable: the map still shows.

    The reason, which names server paths, goes to the server log only, never to a visitor.
    """
    try:
        return store().all()
    except GeoplanError as err:
        logging.getLogger("geoplan.app").error("corrections not applied: %s", err)
        st.warning(t(lang, "store_error"))
        return []


def _target_label(row: pd.Series, lang: str) -> str:
    """What a planner recognises an item by: its place and its own words, not its id."""
    place = row["matched"] if isinstance(row["matched"], str) else precision_option(row["precision"], lang)
    text = str(row["text"])
    return f"{place} · {text[:40]}{'…' if len(text) > 40 else ''}"


def _save_correction(row: pd.Series, drawing: dict, note: str, author: str, adcode: str | None) -> None:
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
def download(_gdf: pd.DataFrame, key: str, fmt: str) -> bytes:
    return export_bytes(_gdf, fmt)


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def _md(text: object) -> str:
    """Report text and file names shown as literal text, not Markdown (no remote images, no links)."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def _default_report() -> tuple[bytes, str]:
    path = settings.default_report_path()
    return path.read_bytes(), path.name


def _title(name: str, meta: dict | None = None) -> str:
    """The shipped report's title from its source sidecar, else the report's own title line
    (``2026年北京市政府工作报告``), else the upload's file name."""
    sidecar = settings.default_report_path().with_suffix(".source.json")
    if name == settings.default_report_path().name and sidecar.exists():
        import json

        return json.loads(sidecar.read_text(encoding="utf-8")).get("title", name)
    return str((meta or {}).get("title") or Path(name).stem)


def _init_state() -> None:
    """Seed widgets from the URL once per session, so a copied link reproduces the view."""
    if st.session_state.get("_init"):
        return
    qp = st.query_params.to_dict()
    multi = {k: st.query_params.get_all(k) for k in qp}
    f = Filters.from_query_params(multi)
    st.session_state.update(
        _init=True,
        **{key: list(getattr(f, name)) for name, key in FILTER_KEYS.items()},
        f_query=f.query,
        lang=qp.get("lang", "zh") if qp.get("lang") in LANGS else "zh",
        basemap=qp.get("basemap", "osm") if qp.get("basemap") in BASEMAPS else "osm",
    )
    st.session_state.view = _view_from(qp)
    if "report" not in st.session_state:
        st.session_state.report, st.session_state.report_hash = _linked_report(qp.get("report"))


def _linked_report(sha: str | None) -> tuple[tuple[bytes, str], str | None]:
    """The report a link names by hash, or the default one (with a notice saying why) when it cannot be had."""
    if sha:
        try:
            data, name = load_report(sha, settings.data_dir())
            pipeline(data, name)
        except StoredReportError as err:
            logging.getLogger("geoplan.app").warning("linked report not shown: %s", err)
            bad = not REPORT_HASH.fullmatch(sha)
            st.session_state._report_notice = "report_bad_link" if bad else "report_missing"
        except GeoplanError as err:
            logging.getLogger("geoplan.app").warning("linked report not shown: %s", err)
            st.session_state._report_notice = "report_missing"
        else:
            return (data, name), sha
    return _default_report(), None


VIEW_KEYS = ("lat", "lon", "z", "sel")


def _view_from(qp: dict) -> dict:
    """The map view a link names (centre, zoom, selected feature); values out of range are left out."""
    view: dict = {}
    try:
        lat, lon, z = float(qp["lat"]), float(qp["lon"]), int(qp["z"])
        if -90 <= lat <= 90 and -180 <= lon <= 180 and 1 <= z <= 19:
            view.update(center=(lat, lon), zoom=z)
    except (KeyError, ValueError, TypeError):
        pass
    sel = qp.get("sel")
    if isinstance(sel, str) and 0 < len(sel) <= 80:
        view["sel"] = sel
    return view


def _zoom_for(bounds: tuple[float, float, float, float]) -> int:
    extent = max(bounds[2] - bounds[0], bounds[3] - bounds[1], 0.004)
    return int(max(8, min(16, round(math.log2(360 / extent)) - 1)))


def _clear_filters() -> None:
    for key in FILTER_KEYS.values():
        st.session_state[key] = []
    st.session_state.f_query = ""


def _reset_correction_form() -> None:
    """Empty the target and note after a save (the author stays: the same planner goes on correcting).

    Runs before the form's widgets exist in this run, so their values may still be set; setting them
    (rather than deleting the keys) makes the browser show the new values.
    """
    if st.session_state.pop("_c_reset", False):
        st.session_state.c_target = None
        st.session_state.c_note = ""


def _correction_panel(
    lang: str, shown: pd.DataFrame, gdf: pd.DataFrame, drawing: dict | None, corrections: tuple
) -> None:
    st.caption(t(lang, "correct_help"))
    rows = shown.drop_duplicates("fid").reset_index(drop=True)
    _reset_correction_form()
    with st.form("correction", clear_on_submit=False):
        # Nothing chosen until the planner chooses: a preselected first row was saved by mistake.
        idx = st.selectbox(
            t(lang, "correct_target"),
            list(rows.index),
            index=None,
            key="c_target",
            placeholder=t(lang, "choose_one"),
            format_func=lambda i: _target_label(rows.loc[i], lang),
        )
        note = st.text_input(t(lang, "note"), key="c_note")
        author = st.text_input(t(lang, "author"), key="c_author")
        submitted = st.form_submit_button(t(lang, "save"))
    if submitted:
        if idx is None:
            st.error(t(lang, "need_target"))
        elif not drawing or not drawing.get("geometry"):
            st.error(t(lang, "need_drawing"))
        else:
            try:
                _save_correction(rows.loc[idx], drawing, note, author, _adcode(gdf.attrs.get("report", {})))
            except CorrectionStoreError as err:  # names server paths: log it, tell the planner plainly
                logging.getLogger("geoplan.app").error("correction not saved: %s", err)
                st.error(t(lang, "store_save_error"))
            except GeoplanError as err:
                st.error(_md(error_text(err, lang)))
            else:
                # Cleared and confirmed on the next run: widgets cannot change once drawn in this one.
                st.session_state._c_reset = True
                st.session_state._toast = t(lang, "saved", what=_target_label(rows.loc[idx], lang))
                st.rerun()
    active = [c for c in corrections if c.active]
    if active:
        st.subheader(t(lang, "corrections"))
    texts = dict(zip(gdf["item_id"], gdf["text"], strict=True))
    for c in active:
        col_a, col_b = st.columns([5, 1])
        text = str(texts.get(c.item_id, c.item_id))
        col_a.text(f"{c.place or '—'} · {text[:40]}{'…' if len(text) > 40 else ''} · {c.author or '—'} · {c.note}")
        if col_b.button(t(lang, "undo"), key=f"undo_{c.id}"):
            try:
                store().undo(c.id)
            except GeoplanError as err:  # names server paths: log it, tell the planner plainly
                logging.getLogger("geoplan.app").error("correction not undone: %s", err)
                st.error(t(lang, "store_save_error"))
            else:
                st.rerun()


def _style(lang: str) -> None:
    """The layout's CSS (and, in Chinese, the uploader's words Streamlit has no parameter for), from files."""
    static = Path(settings.__file__).resolve().parent / "static" / "app"
    css = (static / "layout.css").read_text(encoding="utf-8")
    if lang == "zh":
        css += (static / "zh.css").read_text(encoding="utf-8")
    st.markdown(f"<style>{css}</style>", unsafe_allow_html=True)  # st.html drops a leading <style>


def _header(lang: str, name: str, counts_line: str, meta: dict) -> None:
    """Title, whose report it is and how it was read (the rule that found the city, the shape), and the counts."""
    city = meta.get("city") or {}
    rule = str(city.get("rule") or "default")
    shape = str(meta.get("shape") or "keyword-summary")
    where = t(
        lang,
        "city_shape",
        city=admin_name(str(city.get("name") or ""), lang),
        rule=t(lang, f"rule_{rule}"),
        shape=t(lang, f"shape_{shape}"),
    )
    st.html(
        f'<div class="gp-head"><h1>{html.escape(_title(name, meta))}</h1>'
        f'<span class="gp-city" data-testid="gp-city">{html.escape(where)}</span>'
        f'<div class="gp-counts" data-testid="gp-counts">{html.escape(counts_line)}</div></div>'
    )


def _unplaced_list(lang: str, unplaced: pd.DataFrame) -> None:
    """One line per item, its sentence on a tap: the 34 expanders it replaces made the page 4,500 px tall."""
    listed = unplaced.drop_duplicates("item_id")
    if listed.empty:
        st.caption(t(lang, "no_unplaced"))
        return
    rows = []
    for r in listed.head(MAX_LISTED).itertuples():
        tag = f"{r.domain} · {precision_option(r.precision, lang)}"
        more = " · ".join(
            x for x in (r.section if isinstance(r.section, str) else "", status_label(r.status, lang)) if x
        )
        rows.append(
            f'<li><details><summary><span class="gp-tag">{html.escape(tag)}</span>{html.escape(str(r.text))}'
            f"</summary><p>{html.escape(more)}</p></details></li>"
        )
    st.html(f'<ul class="gp-list">{"".join(rows)}</ul>')
    if len(listed) > MAX_LISTED:
        st.caption(t(lang, "more_in_table", n=len(listed) - MAX_LISTED))


def _placed_list(lang: str, located: pd.DataFrame) -> None:
    """One line per item and place on the map; pointing at one highlights its place (the map's script listens
    on this page for ``data-gp-fid``): Streamlit's table has no hover events."""
    rows = located.drop_duplicates("fid")
    st.caption(t(lang, "placed_hint"))
    lines = "".join(
        f'<li data-gp-fid="{html.escape(str(r.fid))}" tabindex="0"><span class="gp-tag">'
        f"{html.escape(str(r.name if isinstance(r.name, str) else r.matched))}</span> {html.escape(str(r.text))}</li>"
        for r in rows.head(MAX_LISTED).itertuples()
    )
    st.html(f'<ul class="gp-list">{lines}</ul>')
    if len(rows) > MAX_LISTED:
        st.caption(t(lang, "more_in_table", n=len(rows) - MAX_LISTED))


def _table(lang: str, shown: pd.DataFrame) -> pd.DataFrame:
    """The items table in the page's language; empty cells blank, never "None"."""
    rows = shown.drop_duplicates("fid").reset_index(drop=True)
    table = pd.DataFrame(
        {
            t(lang, "domain"): rows["domain"],
            t(lang, "section"): rows["section"],
            t(lang, "status"): [status_label(s, lang) for s in rows["status"]],
            t(lang, "place"): rows["matched"],
            t(lang, "gazetteer_name"): [admin_name(n, lang) for n in rows["name"]],  # 太原市 -> Taiyuan
            t(lang, "precision"): [
                precision_label(p, lang, district=d, geometry_kind=g)
                for p, d, g in zip(rows["precision"], rows["district"], rows["geometry_kind"], strict=True)
            ],
            t(lang, "district"): [district_label(d, lang) for d in rows["district"]],
            t(lang, "sentence"): rows["text"],
            t(lang, "iati"): [precision_detail(p, lang) for p in rows["precision"]],
        }
    )
    return table.astype(object).where(table.notna(), "")


def _targets(lang: str, meta: dict) -> pd.DataFrame:
    targets = pd.DataFrame(meta.get("targets", []))
    if targets.empty:
        return targets
    cols = {"name": "target_name", "value": "target_value", "unit": "target_unit", "qualifier": "target_qualifier"}
    targets = targets.reindex(columns=list(cols)).astype(object)
    words = [target_words(u, q, lang) for u, q in zip(targets["unit"], targets["qualifier"], strict=True)]
    targets["unit"], targets["qualifier"] = [w[0] for w in words], [w[1] for w in words]
    # As text: a column mixing numbers and blanks cannot be shown, and 5.0 reads better as 5.
    targets = targets.map(lambda v: "" if v is None or v != v else f"{v:g}" if isinstance(v, float) else str(v))
    return targets.rename(columns={c: t(lang, k) for c, k in cols.items()})


def _chart(shown: pd.DataFrame, lang: str) -> tuple[pd.DataFrame, dict]:
    """The filtered items per domain, stacked by status, as a Vega-Lite spec: st.bar_chart builds it through
    Altair on every rerun (70-90 ms here, most of a filter change's rerun); this costs a few ms."""
    items = shown.drop_duplicates("item_id")
    long = items.groupby(["domain", "status"], sort=False).size().reset_index(name="items")
    long["status"] = [status_label(s, lang) for s in long["status"]]
    spec = {
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "domain", "type": "nominal", "sort": None, "title": None},
            "y": {"field": "items", "type": "quantitative", "title": None},
            "color": {"field": "status", "type": "nominal", "title": t(lang, "status")},
        },
    }
    return long, spec


def main() -> None:
    _init_state()
    lang = st.sidebar.radio(
        t("zh", "lang"),
        list(LANGS),
        key="lang",
        horizontal=True,
        format_func=lambda v: "中文" if v == "zh" else "English",
    )
    _style(lang)
    if st.session_state.get("_toast"):
        st.toast(st.session_state.pop("_toast"), icon="✅")

    upload = st.sidebar.file_uploader(t(lang, "upload"), type=["txt"], key="upload", help=t(lang, "upload_help"))
    if upload is not None and st.session_state.get("_upload_id") != upload.file_id:
        st.session_state._upload_id = upload.file_id
        data = upload.getvalue()
        if len(data) > settings.max_upload_bytes:
            st.session_state.upload_error = (
                f"{upload.name}: {t(lang, 'too_big')} ({len(data):,} > {settings.max_upload_bytes:,} bytes)"
            )
        else:
            try:
                pipeline(data, upload.name)
            except GeoplanError as err:
                st.session_state.upload_error = error_text(err, lang)
            else:
                st.session_state.report = (data, upload.name)
                st.session_state.upload_error = None
                try:  # kept by content hash, so a reload or a shared link shows it (?report=<sha1>)
                    st.session_state.report_hash = save_report(data, upload.name, settings.data_dir())
                except StoredReportError as err:  # names server paths: log it, tell the visitor plainly
                    logging.getLogger("geoplan.app").error("upload not kept: %s", err)
                    st.session_state.report_hash = None
                    st.session_state._report_notice = "report_not_kept"
                st.session_state.view = {}
                _clear_filters()
    if st.session_state.get("_report_notice"):
        st.warning(t(lang, st.session_state.pop("_report_notice")))
    if st.session_state.get("upload_error"):
        st.error(f"{t(lang, 'upload_error')} {_md(st.session_state.upload_error)}")

    data, name = st.session_state.report
    corrections = _corrections(lang)
    # Content, not ids: two data dirs may both hold a correction #1.
    corrections_key = hashlib.sha1(repr([c.to_properties() for c in corrections]).encode()).hexdigest()
    prep = prepare(data, name, corrections_key, tuple(corrections))
    if prep.not_applied:
        st.warning(
            t(lang, "not_applied")
            + " "
            + _md("；".join(f"#{c.id} {c.item_id} {c.place or ''}" for c in prep.not_applied))
        )

    _workbench(prep, lang, name, tuple(corrections))


@st.fragment
def _workbench(prep: Prepared, lang: str, name: str, corrections: tuple) -> None:
    """Filters, counts, map, lists, table and downloads: one fragment, so a filter change reruns only this.

    A full rerun cost 0.8-1.7 s per filter change (bench/app_speed.py); the fragment skips the language,
    upload and corrections steps, and the map is rendered once per report, language, basemap and mode
    (``map_parts``), so a rerun sends only which fids to show. The filter widgets are written into the
    sidebar from here (Streamlit reruns the writing fragment for them).
    """
    gdf, meta, opts = prep.gdf, prep.meta, prep.options
    st.sidebar.header(t(lang, "filters"))
    # Options come from the data; values a stale link names but the data lacks are dropped.
    present = Filters(
        **{f: tuple(st.session_state.get(key, [])) for f, key in FILTER_KEYS.items()},
        query=st.session_state.get("f_query", ""),
    ).restricted_to(opts)
    in_domains = set(opts.sections_of(present.domains))  # a section of a domain no longer chosen is dropped
    present = replace(present, sections=tuple(s for s in present.sections if s in in_domains))
    for f, key in FILTER_KEYS.items():
        st.session_state[key] = list(getattr(present, f))

    # Empty means "all": no "Select all" (Streamlit's own English words), and a Chinese placeholder.
    choose = {"placeholder": t(lang, "choose"), "select_all": False}
    st.sidebar.multiselect(t(lang, "domain"), list(opts.domains), key="f_domains", **choose)
    st.sidebar.multiselect(t(lang, "section"), opts.sections_of(present.domains), key="f_sections", **choose)
    st.sidebar.multiselect(
        t(lang, "status"), list(opts.statuses), key="f_statuses", format_func=lambda s: status_label(s, lang), **choose
    )
    st.sidebar.multiselect(
        t(lang, "district"),
        list(opts.districts),
        key="f_districts",
        format_func=lambda d: district_label(d, lang),
        **choose,
    )
    st.sidebar.multiselect(
        t(lang, "kind"), list(opts.kinds), key="f_kinds", format_func=lambda k: kind_label(k, lang), **choose
    )
    st.sidebar.multiselect(
        t(lang, "precision"),
        list(opts.precisions),
        key="f_precisions",
        format_func=lambda p: precision_option(p, lang),
        **choose,
    )
    if len(opts.parts) > 1:  # a full report: last year's review, this year's plan, targets, the government
        st.sidebar.multiselect(
            t(lang, "part"), list(opts.parts), key="f_parts", format_func=lambda p: t(lang, f"part_{p}"), **choose
        )
    st.sidebar.text_input(t(lang, "search"), key="f_query")
    st.sidebar.button(t(lang, "reset"), on_click=_clear_filters)
    st.sidebar.selectbox(t(lang, "basemap"), list(BASEMAPS), key="basemap", format_func=BASEMAPS.get)
    editing = st.sidebar.toggle(t(lang, "correct"), key="edit")

    filters = Filters(
        **{f: tuple(st.session_state[key]) for f, key in FILTER_KEYS.items()}, query=st.session_state.f_query.strip()
    )
    wanted = filters.to_query_params()
    if lang != "zh":
        wanted["lang"] = lang
    if st.session_state.basemap != "osm":
        wanted["basemap"] = st.session_state.basemap
    if st.session_state.get("report_hash"):
        wanted["report"] = st.session_state.report_hash
    # The map's script writes the view (lat, lon, z) and the open popup (sel) into the URL as it changes;
    # they are kept here, so rewriting the filters does not drop them.
    wanted.update({k: st.query_params[k] for k in VIEW_KEYS if st.query_params.get(k)})
    shown = filters.apply(gdf)
    table = shown.drop_duplicates("fid").reset_index(drop=True)
    rows = (
        st.session_state.get("table", {}).get("selection", {}).get("rows", [])
        if isinstance(st.session_state.get("table"), dict)
        else []
    )
    if rows and rows[0] < len(table):  # a row chosen in the table is the selected feature
        wanted["sel"] = str(table.loc[rows[0], "fid"])
    if {k: st.query_params.get_all(k) for k in st.query_params} != {
        k: (v if isinstance(v, list) else [v]) for k, v in wanted.items()
    }:
        st.query_params.from_dict(wanted)

    located = shown[shown.geometry.notna()]
    unplaced = shown[shown.geometry.isna()]

    # A slim header, then the map: one line of counts, every number an item (not a feature).
    counts = item_counts(shown)
    counts_line = t(
        lang, "counts", n=counts.items, located=counts.located, city=counts.city, unlocated=counts.unlocated
    )
    if not filters.is_empty():
        counts_line += t(lang, "counts_filtered", total=gdf["item_id"].nunique())
    _header(lang, name, counts_line, meta)

    if shown.empty:
        st.info(t(lang, "empty_filtered"))
        st.button(t(lang, "reset"), on_click=_clear_filters, key="reset_empty")
    elif gdf.geometry.notna().sum() == 0:
        st.info(t(lang, "empty_report"))
    elif located.empty:
        st.info(t(lang, "empty_map"))

    selected_fid = None
    if rows and rows[0] < len(table):
        selected_fid = table.loc[rows[0], "fid"]
    elif st.query_params.get("sel") in set(table["fid"]):  # a shared link's (or the map's) open popup
        selected_fid = st.query_params["sel"]

    # A link's view is applied once, when the session opens it; afterwards the map keeps its own. A link
    # with an open popup opens that popup instead: the map shows its feature (setting the link's view as
    # well raced the popup's reveal, and a marker taken back into its cluster closed the popup).
    linked = st.session_state.pop("view", {}) or {}
    center, zoom = (None, None) if selected_fid is not None else (linked.get("center"), linked.get("zoom"))
    if rows and selected_fid is not None:
        row = shown[shown["fid"] == selected_fid].iloc[0]
        if row.geometry is not None:
            b = row.geometry.bounds
            center, zoom = ((b[1] + b[3]) / 2, (b[0] + b[2]) / 2), _zoom_for(b)
        else:
            st.info(t(lang, "no_geometry"))
    # Domains are chosen in the sidebar only: st_folium returns no overlay state, so a domain unticked in the
    # map's layer control could not update the sidebar, the counts or the URL (two filters that disagree).
    # The map holds every located feature of the report and stays loaded in the browser; a filter or a
    # selected row only sends which fids to show (map_view), so the map is not rebuilt or reloaded.
    basemap = st.session_state.basemap
    out = show_map(
        map_parts(prep.key, lang, basemap, editing, gdf, meta),
        height=560,
        feature_group_to_add=[map_view(shown, gdf, selected=selected_fid)],
        returned_objects=["last_active_drawing"] if editing else [],
        center=center,
        zoom=zoom,
    )

    if editing:  # right under the map, not in a tab: the planner draws and saves in one place
        st.subheader(t(lang, "tab_correct"))
        _correction_panel(lang, shown, gdf, (out or {}).get("last_active_drawing"), corrections)
        # Online candidates for the names the gazetteer lacks; only an accepted one is stored (a correction).
        online_panel(st, gdf, lang=lang, city=city_scope(gazetteer(_adcode(meta))), store=store(_adcode(meta)))
    tab_list, tab_table, tab_targets, tab_dl, tab_missing, tab_placed = st.tabs(
        [
            t(lang, "tab_list", n=unplaced["item_id"].nunique()),
            t(lang, "tab_table"),
            t(lang, "tab_targets"),
            t(lang, "tab_downloads"),
            t(lang, "tab_missing"),
            t(lang, "tab_placed", n=located["fid"].nunique()),
        ]
    )
    with tab_list:
        _unplaced_list(lang, unplaced)
    with tab_table:
        st.caption(t(lang, "select_hint"))
        st.dataframe(
            _table(lang, shown),
            key="table",
            on_select="rerun",
            selection_mode="single-row",
            hide_index=True,
            width="stretch",
        )
    with tab_targets:
        byline = " ".join(x for x in (name, meta.get("byline") or "") if x)
        st.caption(f"{t(lang, 'source')}: " + _md(" · ".join([byline, *meta.get("lead", [])[:1]])))
        targets = _targets(lang, meta)
        if targets.empty:
            st.caption(t(lang, "no_targets"))
        else:
            st.dataframe(targets, hide_index=True, width="stretch")
        st.subheader(t(lang, "chart"))
        data, spec = _chart(shown, lang)
        st.vega_lite_chart(data, spec, width="stretch")
    with tab_dl:
        st.caption(t(lang, "download_hint"))
        with_unlocated = st.checkbox(t(lang, "with_unlocated"), key="dl_unlocated")
        offered = shown if with_unlocated else shown[shown.geometry.notna().to_numpy()]
        # The prepared report's key hashes the text and every correction: a correction keeps every fid but
        # moves a place, so a key of name and fids alone would serve the export from before it.
        key = hashlib.sha1((prep.key + "|" + ",".join(offered["fid"])).encode()).hexdigest()
        cols = st.columns(len(FORMATS))
        for col, fmt in zip(cols, FORMATS, strict=True):
            # Built on click, not on every rerun: the four exports cost 1.3 s per filter change at 10k rows.
            col.download_button(
                fmt.upper(),
                data=lambda fmt=fmt: download(offered, key, fmt),
                file_name=export_filename(name, filters, SUFFIXES[fmt], include_unlocated=with_unlocated),
                mime=MEDIA_TYPES[fmt],
                key=f"dl_{fmt}",
                width="stretch",
                on_click="ignore",
            )
    with tab_missing:
        if prep.missing:
            st.text("、".join(prep.missing))
        else:
            st.caption(t(lang, "missing_none"))
    with tab_placed:
        _placed_list(lang, located)


main()
