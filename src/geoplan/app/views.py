"""The app's panels: header, lists, table, targets, chart and the correction form, each from the filtered frame."""

from __future__ import annotations

import html
import logging
import math
import re
from pathlib import Path

from typing import Any, cast

import pandas as pd
import streamlit as st

from geoplan.corrections import Correction

from geoplan import settings
from geoplan.errors import CorrectionStoreError, GeoplanError, StoredReportError
from geoplan.filters import FIELDS, Filters
from geoplan.i18n import (
    LANGS,
    district_label,
    error_text,
    precision_detail,
    precision_label,
    precision_option,
    status_label,
    t,
    target_words,
)
from geoplan.prepared import report_adcode
from geoplan.stored_reports import REPORT_HASH, load_report
from geoplan.vocab import admin_name, domain_name

from geoplan.app.data import (
    default_report,
    pipeline,
    store,
    target_label,
    save_correction,
)

#: The sidebar's widget key of each filter (geoplan.filters.FIELDS names them once for URL, frame and app).
FILTER_KEYS = {name: f"f_{name}" for name in FIELDS}
QUERY_KEY = "f_query"  # the sidebar's search text
TAB_KEY = "tab"  # the open tab below the map, by name: list, table, targets, downloads, missing, placed
MAX_LISTED = 300  # one line each; the table has them all
BASEMAPS = {"osm": "OpenStreetMap", "light": "Light / 浅色", "amap": "高德 AMap (GCJ-02)"}

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def md_escape(text: object) -> str:
    """Report text and file names shown as literal text, not Markdown (no remote images, no links)."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def _title(name: str, meta: dict[str, Any] | None = None) -> str:
    """The shipped report's title from its source sidecar, else the report's own title line
    (``2026年北京市政府工作报告``), else the upload's file name."""
    sidecar = settings.default_report_path().with_suffix(".source.json")
    if name == settings.default_report_path().name and sidecar.exists():
        import json

        return str(json.loads(sidecar.read_text(encoding="utf-8")).get("title", name))
    return str((meta or {}).get("title") or Path(name).stem)


def init_state() -> None:
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
    return default_report(), None


VIEW_KEYS = ("lat", "lon", "z", "sel")


def _view_from(qp: dict[str, Any]) -> dict[str, Any]:
    """The map view a link names (centre, zoom, selected feature); values out of range are left out."""
    view: dict[str, Any] = {}
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


def zoom_for(bounds: tuple[float, float, float, float]) -> int:
    extent = max(bounds[2] - bounds[0], bounds[3] - bounds[1], 0.004)
    return int(max(8, min(16, round(math.log2(360 / extent)) - 1)))


def clear_filters() -> None:
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


def correction_panel(
    lang: str,
    shown: pd.DataFrame,
    gdf: pd.DataFrame,
    drawing: dict[str, Any] | None,
    corrections: tuple[Correction, ...],
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
            format_func=lambda i: target_label(cast("pd.Series[Any]", rows.loc[i]), lang),  # unique index: a row
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
                save_correction(rows.loc[idx], drawing, note, author, report_adcode(gdf.attrs.get("report", {})))
            except CorrectionStoreError as err:  # names server paths: log it, tell the planner plainly
                logging.getLogger("geoplan.app").error("correction not saved: %s", err)
                st.error(t(lang, "store_save_error"))
            except GeoplanError as err:
                st.error(md_escape(error_text(err, lang)))
            else:
                # Cleared and confirmed on the next run: widgets cannot change once drawn in this one.
                st.session_state._c_reset = True
                st.session_state._toast = t(lang, "saved", what=target_label(rows.loc[idx], lang))
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


def apply_style(lang: str) -> None:
    """The layout's CSS (and, in Chinese, the uploader's words Streamlit has no parameter for), from files."""
    static = Path(settings.__file__).resolve().parent / "static" / "app"
    css = (static / "layout.css").read_text(encoding="utf-8")
    if lang == "zh":
        css += (static / "zh.css").read_text(encoding="utf-8")
    st.markdown(f"<style>{css}</style>", unsafe_allow_html=True)  # st.html drops a leading <style>


def page_header(lang: str, name: str, counts_line: str, meta: dict[str, Any]) -> None:
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


def unplaced_list(lang: str, unplaced: pd.DataFrame) -> None:
    """One line per item, its sentence on a tap: the 34 expanders it replaces made the page 4,500 px tall."""
    listed = unplaced.drop_duplicates("item_id")
    if listed.empty:
        st.caption(t(lang, "no_unplaced"))
        return
    rows = []
    for r in listed.head(MAX_LISTED).itertuples():
        tag = f"{domain_name(str(r.domain), lang)} · {precision_option(str(r.precision), lang)}"
        more = " · ".join(
            x
            for x in (
                domain_name(r.section if isinstance(r.section, str) else None, lang),
                status_label(str(r.status), lang),
            )
            if x
        )
        rows.append(
            f'<li><details><summary><span class="gp-tag">{html.escape(tag)}</span>{html.escape(str(r.text))}'
            f"</summary><p>{html.escape(more)}</p></details></li>"
        )
    st.html(f'<ul class="gp-list">{"".join(rows)}</ul>')
    if len(listed) > MAX_LISTED:
        st.caption(t(lang, "more_in_table", n=len(listed) - MAX_LISTED))


def placed_list(lang: str, located: pd.DataFrame) -> None:
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


def table_frame(lang: str, shown: pd.DataFrame) -> pd.DataFrame:
    """The items table in the page's language; empty cells blank, never "None"."""
    rows = shown.drop_duplicates("fid").reset_index(drop=True)
    table = pd.DataFrame(
        {
            t(lang, "domain"): [domain_name(d, lang) for d in rows["domain"]],
            t(lang, "section"): [domain_name(s, lang) for s in rows["section"]],
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


def targets_frame(lang: str, meta: dict[str, Any]) -> pd.DataFrame:
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


def chart_spec(shown: pd.DataFrame, lang: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The filtered items per domain, stacked by status, as a Vega-Lite spec: st.bar_chart builds it through
    Altair on every rerun (70-90 ms here, most of a filter change's rerun); this costs a few ms."""
    items = shown.drop_duplicates("item_id")
    long = items.groupby(["domain", "status"], sort=False).size().reset_index(name="items")
    long["status"] = [status_label(s, lang) for s in long["status"]]
    long["domain"] = [domain_name(d, lang) for d in long["domain"]]
    spec = {
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "domain", "type": "nominal", "sort": None, "title": None},
            "y": {"field": "items", "type": "quantitative", "title": None},
            "color": {"field": "status", "type": "nominal", "title": t(lang, "status")},
        },
    }
    return long, spec
