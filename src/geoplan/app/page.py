"""The app's page: the sidebar, then the fragment that filters, counts, maps and lists (st.fragment)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import streamlit as st

from geoplan.corrections import Correction
from geoplan.i18n import Lang

from geoplan import settings
from geoplan.errors import GeoplanError, StoredReportError
from geoplan.export import FORMATS, MEDIA_TYPES, SUFFIXES
from geoplan.filters import FIELDS, Filters, export_filename
from geoplan.geocoders import city_scope
from geoplan.i18n import (
    LANGS,
    district_label,
    error_text,
    kind_label,
    precision_option,
    status_label,
    t,
)
from geoplan.app_map import fetching, follow_map, show_map, with_filters
from geoplan.maps import map_view
from geoplan.prepared import corrections_key, report_adcode
from geoplan.review import online_panel
from geoplan.stored_reports import save_report
from geoplan.summary import item_counts
from geoplan.vocab import domain_name

from geoplan.app.data import (
    gazetteer,
    pipeline,
    Prepared,
    prepare,
    map_parts,
    layer_data_url,
    store,
    active_corrections,
    download,
)
from geoplan.app.views import (
    md_escape,
    init_state,
    VIEW_KEYS,
    zoom_for,
    clear_filters,
    correction_panel,
    apply_style,
    page_header,
    unplaced_list,
    placed_list,
    table_frame,
    targets_frame,
    chart_spec,
    FILTER_KEYS,
    QUERY_KEY,
    TAB_KEY,
    BASEMAPS,
)


def main() -> None:
    init_state()
    lang = st.sidebar.radio(
        t("zh", "lang"),
        list(LANGS),
        key="lang",
        horizontal=True,
        format_func=lambda v: "中文" if v == "zh" else "English",
    )
    apply_style(lang)
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
                clear_filters()
    if st.session_state.get("_report_notice"):
        st.warning(t(lang, st.session_state.pop("_report_notice")))
    if st.session_state.get("upload_error"):
        st.error(f"{t(lang, 'upload_error')} {md_escape(st.session_state.upload_error)}")

    data, name = st.session_state.report
    corrections = active_corrections(lang)
    prep = prepare(data, name, corrections_key(corrections), tuple(corrections))
    if prep.not_applied:
        st.warning(
            t(lang, "not_applied")
            + " "
            + md_escape("；".join(f"#{c.id} {c.item_id} {c.place or ''}" for c in prep.not_applied))
        )

    _workbench(prep, lang, name, tuple(corrections))


@st.fragment
def _workbench(prep: Prepared, lang: Lang, name: str, corrections: tuple[Correction, ...]) -> None:
    """Filters, counts, map, lists, table and downloads: one fragment, so a filter change reruns only this.

    A full rerun cost 0.8-1.7 s per filter change (bench/app_speed.py); the fragment skips the language,
    upload and corrections steps, and the map is rendered once per report, basemap and mode, in both languages
    (``map_parts``), so a rerun sends only which fids to show, and in which language. The filter widgets are written into the
    sidebar from here (Streamlit reruns the writing fragment for them).
    """
    gdf, meta, opts = prep.gdf, prep.meta, prep.options
    st.sidebar.header(t(lang, "filters"))
    # Options come from the data; values a stale link names but the data lacks are dropped.
    present = Filters(
        **{f: tuple(st.session_state.get(key, [])) for f, key in FILTER_KEYS.items()},
        query=st.session_state.get(QUERY_KEY, ""),
    ).restricted_to(opts)
    in_domains = set(opts.sections_of(present.domains))  # a section of a domain no longer chosen is dropped
    present = replace(present, sections=tuple(s for s in present.sections if s in in_domains))
    for f, key in FILTER_KEYS.items():
        st.session_state[key] = list(getattr(present, f))

    # One multiselect per filter field, in FIELDS' order, labelled by its query parameter's word. Empty means
    # "all": no "Select all" (Streamlit's own English words), and a Chinese placeholder.
    choices: dict[str, list[str]] = {
        "domains": list(opts.domains),
        "sections": list(opts.sections_of(present.domains)),
        "statuses": list(opts.statuses),
        "districts": list(opts.districts),
        "kinds": list(opts.kinds),
        "precisions": list(opts.precisions),
        "parts": list(opts.parts) if len(opts.parts) > 1 else [],  # a full report: review, plan, targets, …
    }
    labels: dict[str, Callable[[str], str]] = {
        "domains": lambda v: domain_name(v, lang),
        "sections": lambda v: domain_name(v, lang),
        "statuses": lambda v: status_label(v, lang),
        "districts": lambda v: district_label(v, lang),
        "kinds": lambda v: kind_label(v, lang),
        "precisions": lambda v: precision_option(v, lang),
        "parts": lambda v: t(lang, f"part_{v}"),
    }
    for field, (param, _column) in FIELDS.items():
        if field == "parts" and not choices[field]:
            continue
        st.sidebar.multiselect(
            t(lang, param),
            choices[field],
            key=FILTER_KEYS[field],
            format_func=labels.get(field, str),
            placeholder=t(lang, "choose"),
            select_all=False,
        )
    st.sidebar.text_input(t(lang, "search"), key=QUERY_KEY)
    st.sidebar.button(t(lang, "reset"), on_click=clear_filters)
    st.sidebar.selectbox(t(lang, "basemap"), list(BASEMAPS), key="basemap", format_func=lambda b: BASEMAPS[b])
    editing = st.sidebar.toggle(t(lang, "correct"), key="edit")

    filters = Filters(
        **{f: tuple(st.session_state[key]) for f, key in FILTER_KEYS.items()}, query=st.session_state[QUERY_KEY].strip()
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
    page_header(lang, name, counts_line, meta)

    if shown.empty:
        st.info(t(lang, "empty_filtered"))
        st.button(t(lang, "reset"), on_click=clear_filters, key="reset_empty")
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
            center, zoom = ((b[1] + b[3]) / 2, (b[0] + b[2]) / 2), zoom_for(b)
        else:
            st.info(t(lang, "no_geometry"))
    # The map holds every located feature of the report and stays loaded in the browser; a filter or a
    # selected row only sends which fids to show (map_view), so the map is not rebuilt or reloaded. Its
    # layer control and find box are filters too: the browser applies them at once and posts them
    # (follow_map writes them into the sidebar's widgets before this fragment reruns). The domains are
    # applied there by the layer control's ticks, set from the view, so the fids sent leave them out: a
    # domain ticked in the map shows its places at once, without waiting for this rerun.
    basemap = st.session_state.basemap
    in_any_domain = shown if not filters.domains else replace(filters, domains=()).apply(gdf)
    data_url = layer_data_url(prep.key, basemap, gdf)
    out = show_map(
        fetching(
            map_parts(prep.key, lang if editing else None, basemap, data_url is not None, gdf, meta), data_url
        ),  # one map for both languages: a switch sends a view, not a new map
        height=560,
        feature_group_to_add=[
            with_filters(map_view(in_any_domain, gdf, selected=selected_fid, lang=lang), filters.domains, filters.query)
        ],
        returned_objects=["last_active_drawing"] if editing else [],
        center=center,
        zoom=zoom,
        on_change=partial(follow_map, "map", FILTER_KEYS["domains"], QUERY_KEY),
    )

    if editing:  # right under the map, not in a tab: the planner draws and saves in one place
        st.subheader(t(lang, "tab_correct"))
        correction_panel(lang, shown, gdf, (out or {}).get("last_active_drawing"), corrections)
        # Online candidates for the names the gazetteer lacks; only an accepted one is stored (a correction).
        online_panel(
            st, gdf, lang=lang, city=city_scope(gazetteer(report_adcode(meta))), store=store(report_adcode(meta))
        )
    # Only the open tab is computed and sent (``st.tabs`` with a state, Streamlit >= 1.52): the table alone was
    # 2.3 MB of Arrow and 0.3 s of the server's time on every visit and filter change at 10k places, hidden.
    tab_labels = {
        "list": t(lang, "tab_list", n=unplaced["item_id"].nunique()),
        "table": t(lang, "tab_table"),
        "targets": t(lang, "tab_targets"),
        "downloads": t(lang, "tab_downloads"),
        "missing": t(lang, "tab_missing"),
        "placed": t(lang, "tab_placed", n=located["fid"].nunique()),
    }
    if "dl_unlocated" in st.session_state:  # a widget not drawn loses its state: the closed tab's box keeps it
        st.session_state["dl_unlocated"] = st.session_state["dl_unlocated"]
    tab_list, tab_table, tab_targets, tab_dl, tab_missing, tab_placed = st.tabs(
        list(tab_labels.values()),
        key="tabs",
        # The tab_labels carry counts, so a filter makes them a new widget: the open tab is kept by name.
        default=tab_labels.get(st.session_state.get(TAB_KEY, "list"), tab_labels["list"]),
        on_change=partial(_follow_tab, {label: name for name, label in tab_labels.items()}),
    )
    if tab_list.open:
        with tab_list:
            unplaced_list(lang, unplaced)
    if tab_table.open:
        with tab_table:
            st.caption(t(lang, "select_hint"))
            st.dataframe(
                table_frame(lang, shown),
                key="table",
                on_select="rerun",
                selection_mode="single-row",
                hide_index=True,
                width="stretch",
            )
    if tab_targets.open:
        with tab_targets:
            byline = " ".join(x for x in (name, meta.get("byline") or "") if x)
            st.caption(f"{t(lang, 'source')}: " + md_escape(" · ".join([byline, *meta.get("lead", [])[:1]])))
            targets = targets_frame(lang, meta)
            if targets.empty:
                st.caption(t(lang, "no_targets"))
            else:
                st.dataframe(targets, hide_index=True, width="stretch")
            st.subheader(t(lang, "chart"))
            data, spec = chart_spec(shown, lang)
            st.vega_lite_chart(data, spec, width="stretch")
    if tab_dl.open:
        with tab_dl:
            _downloads(prep, lang, name, filters, shown)
    if tab_missing.open:
        with tab_missing:
            if prep.missing:
                st.text("、".join(prep.missing))
            else:
                st.caption(t(lang, "missing_none"))
    if tab_placed.open:
        with tab_placed:
            placed_list(lang, located)


def _follow_tab(names: dict[str, str]) -> None:
    """The tabs' on_change: the open tab by name (``TAB_KEY``), which the next run opens whatever its label."""
    st.session_state[TAB_KEY] = names.get(st.session_state.get("tabs", ""), "list")


def _downloads(prep: Prepared, lang: Lang, name: str, filters: Filters, shown: Any) -> None:
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
            data=partial(download, offered, key, fmt),
            file_name=export_filename(name, filters, SUFFIXES[fmt], include_unlocated=with_unlocated),
            mime=MEDIA_TYPES[fmt],
            key=f"dl_{fmt}",
            width="stretch",
            on_click="ignore",
        )
