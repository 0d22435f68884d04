"""geoplan's web app: the report's projects on a layered map, with filters, a table and downloads.

Widgets only: every decision is a call into the geoplan package. Run with ``make run``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geoplan import settings
from geoplan.corrections import CorrectionStore, apply_corrections
from geoplan.errors import CorrectionStoreError, GeoplanError
from geoplan.export import FORMATS, MEDIA_TYPES, SUFFIXES, export_bytes
from geoplan.features import features_from_report
from geoplan.filters import FilterOptions, Filters, export_filename
from geoplan.gazetteer import Gazetteer, gazetteer_for
from geoplan.geocoders import city_scope
from geoplan.geocoders.base import PRECISION
from geoplan.maps import STATUS_EN, MapData, build_map, map_data, map_view
from geoplan.models import STATUS_LABELS, Status
from geoplan.offline import localize
from geoplan.parse import report_from_bytes
from geoplan.review import online_panel

st.set_page_config(page_title="geoplan", page_icon="🗺️", layout="wide")

TEXT = {
    "zh": {
        "title": "城市规划项目地图", "lang": "语言 Language", "filters": "筛选", "domain": "领域",
        "section": "板块", "status": "进度", "district": "区县", "kind": "地点类型", "precision": "定位精度",
        "search": "搜索事项或地名", "basemap": "底图", "upload": "上传其他报告（.txt）",
        "city": "城市", "shape": "报告格式", "rule_title": "据标题", "rule_venue": "据会议名称",
        "rule_speaker": "据报告人", "rule_mentions": "据文中地名", "rule_default": "默认", "rule_option": "指定",
        "shape_full-report": "政府工作报告全文", "shape_keyword-summary": "新闻摘要（关键词）",
        "shape_bullet-summary": "要点摘要", "shape_excerpt": "报告节选",
        "shapes_help": "可读取四种格式：政府工作报告全文（一、/（一）/段落）；新闻摘要（关键词: / □ / ◆）；"
                       "要点摘要（● • 1. 1、 （1） 条目，标题为 □、【…】、一、或短行）；报告节选（几段文字）。",
        "shown": "显示要素", "items": "事项", "located": "已定位", "unplaced": "全市范围/未定位",
        "table": "事项表", "targets": "主要预期目标", "downloads": "下载", "missing": "地名库未收录的地名",
        "unplaced_title": "全市范围或未定位的事项", "no_unplaced": "没有", "select_hint": "选中一行，地图即定位到该地点。",
        "no_geometry": "该事项没有可定位的地点。", "chart": "各领域事项数（按进度）", "download_hint": "下载当前显示的要素：",
        "with_unlocated": "包括全市范围/未定位的事项（无几何）",
        "too_big": "文件太大", "upload_error": "无法读取上传的报告，仍显示上一份报告：", "source": "报告来源",
        "missing_none": "所有地名均已收录。", "reset": "清除筛选", "value": "目标值",
        "sentence": "报告原文", "place": "地点", "correct": "校正位置（规划人员）", "gazetteer_name": "地名库名称",
        "more_in_table": "另有 {n} 项见下方事项表。",
        "correct_help": "在地图上用左侧工具画出正确的点、线或面，再选择要校正的事项并保存。",
        "correct_target": "要校正的要素或事项", "note": "说明（必填）", "author": "署名", "save": "保存校正",
        "need_drawing": "请先在地图上画出位置。", "saved": "已保存校正", "corrections": "已保存的校正",
        "undo": "撤销", "store_error": "校正库暂时无法读取，地图未应用规划人员的校正。请联系管理员。",
        "store_save_error": "校正库暂时无法写入，校正未保存。请联系管理员。",
        "not_applied": "以下校正未能应用（事项已不在本报告中或有多个地点）：",
    },
    "en": {
        "title": "Map of a city's planned projects", "lang": "语言 Language", "filters": "Filters",
        "domain": "Domain", "section": "Section", "status": "Status", "district": "District",
        "kind": "Place kind", "precision": "Precision", "search": "Search items and places",
        "basemap": "Basemap", "upload": "Upload another report (.txt)",
        "city": "City", "shape": "Report shape", "rule_title": "from the title", "rule_venue": "from the venue",
        "rule_speaker": "from the speaker", "rule_mentions": "from the places it names", "rule_default": "default",
        "rule_option": "chosen", "shape_full-report": "complete official report",
        "shape_keyword-summary": "news summary (关键词)", "shape_bullet-summary": "bullet summary",
        "shape_excerpt": "excerpt",
        "shapes_help": "geoplan reads four shapes: the complete official report (一、 / （一） / prose); a news "
                       "summary (关键词: / □ / ◆); a bullet summary (● • 1. 1、 （1） items under □, 【…】, 一、 or "
                       "short headings); an excerpt (a few paragraphs).", "shown": "Features shown",
        "items": "Items", "located": "Located", "unplaced": "City-wide / unlocated", "table": "Items",
        "targets": "Main targets", "downloads": "Downloads", "missing": "Names the gazetteer lacks",
        "unplaced_title": "City-wide or unlocated items", "no_unplaced": "None",
        "select_hint": "Select a row to zoom the map to it.", "no_geometry": "This item has no place to show.",
        "chart": "Items per domain (by status)", "download_hint": "Download the features shown:",
        "with_unlocated": "Include city-wide / unlocated items (no geometry)",
        "too_big": "File too large", "upload_error": "Could not read the uploaded report; still showing the previous one:",
        "source": "Report", "missing_none": "Every name is in the gazetteer.", "reset": "Clear filters",
        "value": "Target", "sentence": "Report sentence", "place": "Place",
        "correct": "Correct locations (planners)", "gazetteer_name": "Gazetteer name",
        "more_in_table": "{n} more in the table below.",
        "correct_help": "Draw the true point, line or area with the tools on the map, choose what it locates, and save.",
        "correct_target": "Feature or item to correct", "note": "Note (required)", "author": "Your name",
        "save": "Save correction", "need_drawing": "Draw the location on the map first.", "saved": "Correction saved",
        "corrections": "Saved corrections", "undo": "Undo",
        "store_error": "The corrections store cannot be read right now; the map is shown without planners' "
                       "corrections. Please tell the administrator.",
        "store_save_error": "The corrections store cannot be written right now; nothing was saved. "
                            "Please tell the administrator.",
        "not_applied": "These corrections were not applied (their item is not in this report or has several places):",
    },
}
KIND_LABELS = {
    "road": ("道路", "road"), "river": ("河流", "river"), "station": ("车站", "station"), "bridge": ("桥梁", "bridge"),
    "metro_line": ("轨道交通", "metro line"), "area": ("片区", "area"), "spring": ("泉", "spring"),
    "school": ("学校", "school"), "university": ("高校", "university"), "hospital": ("医院", "hospital"),
    "facility": ("设施", "facility"), "park": ("公园", "park"), "district": ("区", "district"),
    "county": ("县", "county"), "county_city": ("县级市", "county-level city"), "city": ("全市", "city"),
    "rail_line": ("铁路", "railway"), "water": ("水域", "water"),
}
MAX_LISTED = 50
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
    chart: pd.DataFrame  # items per domain and status, for the whole report
    missing: tuple[str, ...]  # names the gazetteer lacks


@st.cache_resource(show_spinner=False, max_entries=8)
def prepare(data: bytes, name: str, corrections_key: str, _corrections: tuple) -> Prepared:
    gdf, meta = pipeline(data, name)
    corrected, not_applied = apply_corrections(gdf, _corrections, gazetteer=gazetteer(_adcode(meta)))
    corrected.attrs["report"] = meta
    key = hashlib.sha1(data + name.encode() + corrections_key.encode()).hexdigest()
    items = corrected.drop_duplicates("item_id")
    chart = items.pivot_table(index="domain", columns="status_zh", values="item_id", aggfunc="count", fill_value=0)
    missing = tuple(sorted({n for v in corrected["unresolved"].dropna() for n in str(v).split("；") if n}))
    return Prepared(key, corrected, meta, tuple(not_applied), FilterOptions.of(corrected), chart, missing)


@st.cache_resource(show_spinner=False, max_entries=16)
def drawn(key: str, basemap: str, _gdf: pd.DataFrame) -> MapData:
    """The map's data, serialised once per report, corrections and basemap: filters only hide features."""
    return map_data(_gdf, basemap)  # type: ignore[arg-type]


@st.cache_resource(show_spinner=False)
def _store(data_dir: str) -> CorrectionStore:
    return CorrectionStore.in_data_dir(data_dir)


def store() -> CorrectionStore:
    """One store per data dir; it opens a connection per call, so sessions can share it."""
    return _store(str(settings.data_dir()))


def _corrections(t: dict) -> list:
    """The active corrections, or none (with one notice) when the store is unusable: the map still shows.

    The reason, which names server paths, goes to the server log only, never to a visitor.
    """
    try:
        return store().all()
    except GeoplanError as err:
        logging.getLogger("geoplan.app").error("corrections not applied: %s", err)
        st.warning(t["store_error"])
        return []


def _target_label(row: pd.Series, lang: str) -> str:
    precision = PRECISION[row["precision"]].label_zh if lang == "zh" else PRECISION[row["precision"]].label_en
    place = row["matched"] if isinstance(row["matched"], str) else "—"
    return f"{row['domain']} · {place} · {precision} · {str(row['text'])[:24]}…"


def _save_correction(row: pd.Series, drawing: dict, note: str, author: str) -> None:
    import json

    placeless = row["precision"] == "city" or not isinstance(row["name"], str)
    store().add(row["item_id"], json.dumps(drawing["geometry"]), note=note, author=author,
                place=None if placeless else row["name"], previous=row.geometry)


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


def _title(name: str) -> str:
    """The shipped report's title from its source sidecar; an upload's file name otherwise."""
    sidecar = settings.default_report_path().with_suffix(".source.json")
    if name == settings.default_report_path().name and sidecar.exists():
        import json

        return json.loads(sidecar.read_text(encoding="utf-8")).get("title", name)
    return Path(name).stem


def _init_state() -> None:
    """Seed widgets from the URL once per session, so a copied link reproduces the view."""
    if st.session_state.get("_init"):
        return
    qp = st.query_params.to_dict()
    multi = {k: st.query_params.get_all(k) for k in qp}
    f = Filters.from_query_params(multi)
    st.session_state.update(
        _init=True, f_domains=list(f.domains), f_sections=list(f.sections), f_statuses=list(f.statuses),
        f_districts=list(f.districts), f_kinds=list(f.kinds), f_precisions=list(f.precisions), f_query=f.query,
        lang=qp.get("lang", "zh") if qp.get("lang") in TEXT else "zh",
        basemap=qp.get("basemap", "osm") if qp.get("basemap") in BASEMAPS else "osm",
    )
    if "report" not in st.session_state:
        st.session_state.report = _default_report()


def _zoom_for(bounds: tuple[float, float, float, float]) -> int:
    extent = max(bounds[2] - bounds[0], bounds[3] - bounds[1], 0.004)
    return int(max(8, min(16, round(math.log2(360 / extent)) - 1)))


def _clear_filters() -> None:
    for key in ("f_domains", "f_sections", "f_statuses", "f_districts", "f_kinds", "f_precisions"):
        st.session_state[key] = []
    st.session_state.f_query = ""


def _correction_panel(t: dict, lang: str, shown: pd.DataFrame, drawing: dict | None, corrections: list) -> None:
    st.caption(t["correct_help"])
    rows = shown.drop_duplicates("fid").reset_index(drop=True)
    with st.form("correction", clear_on_submit=False):
        idx = st.selectbox(t["correct_target"], list(rows.index), key="c_target",
                           format_func=lambda i: _target_label(rows.loc[i], lang))
        note = st.text_input(t["note"], key="c_note")
        author = st.text_input(t["author"], key="c_author")
        submitted = st.form_submit_button(t["save"])
    if submitted:
        if not drawing or not drawing.get("geometry"):
            st.error(t["need_drawing"])
        else:
            try:
                _save_correction(rows.loc[idx], drawing, note, author)
            except CorrectionStoreError as err:  # names server paths: log it, tell the planner plainly
                logging.getLogger("geoplan.app").error("correction not saved: %s", err)
                st.error(t["store_save_error"])
            except GeoplanError as err:
                st.error(_md(err))
            else:
                st.success(t["saved"])
                st.rerun()
    active = [c for c in corrections if c.active]
    if active:
        st.subheader(t["corrections"])
    for c in active:
        col_a, col_b = st.columns([5, 1])
        col_a.text(f"#{c.id} {c.item_id} {c.place or ''} {c.geometry_type} · {c.author or '—'} · {c.note}")
        if col_b.button(t["undo"], key=f"undo_{c.id}"):
            try:
                store().undo(c.id)
            except GeoplanError as err:
                logging.getLogger("geoplan.app").error("correction not undone: %s", err)
                st.error(t["store_save_error"])
            else:
                st.rerun()


def main() -> None:
    _init_state()
    lang = st.sidebar.radio(TEXT["zh"]["lang"], ["zh", "en"], key="lang", horizontal=True,
                            format_func=lambda v: "中文" if v == "zh" else "English")
    t = TEXT[lang]

    upload = st.sidebar.file_uploader(t["upload"], type=["txt"], key="upload", help=t["shapes_help"])
    if upload is not None and st.session_state.get("_upload_id") != upload.file_id:
        st.session_state._upload_id = upload.file_id
        data = upload.getvalue()
        if len(data) > settings.max_upload_bytes:
            st.session_state.upload_error = f"{upload.name}: {t['too_big']} ({len(data):,} > {settings.max_upload_bytes:,} bytes)"
        else:
            try:
                pipeline(data, upload.name)
            except GeoplanError as err:
                st.session_state.upload_error = str(err)
            else:
                st.session_state.report = (data, upload.name)
                st.session_state.upload_error = None
                _clear_filters()
    if st.session_state.get("upload_error"):
        st.error(f"{t['upload_error']} {_md(st.session_state.upload_error)}")

    data, name = st.session_state.report
    corrections = _corrections(t)
    # Content, not ids: two data dirs may both hold a correction #1.
    corrections_key = hashlib.sha1(repr([c.to_properties() for c in corrections]).encode()).hexdigest()
    prep = prepare(data, name, corrections_key, tuple(corrections))
    gdf, meta, opts = prep.gdf, prep.meta, prep.options
    if prep.not_applied:
        st.warning(t["not_applied"] + " " + _md("；".join(f"#{c.id} {c.item_id} {c.place or ''}" for c in prep.not_applied)))

    st.sidebar.header(t["filters"])
    # Options come from the data; values a stale link names but the data lacks are dropped.
    present = Filters(*(tuple(st.session_state.get(k, [])) for k in (
        "f_domains", "f_sections", "f_statuses", "f_districts", "f_kinds", "f_precisions")),
        query=st.session_state.get("f_query", "")).restricted_to(opts)
    in_domains = set(opts.sections_of(present.domains))  # a section of a domain no longer chosen is dropped
    present = replace(present, sections=tuple(s for s in present.sections if s in in_domains))
    for key, vals in zip(("f_domains", "f_sections", "f_statuses", "f_districts", "f_kinds", "f_precisions"),
                         (present.domains, present.sections, present.statuses, present.districts,
                          present.kinds, present.precisions), strict=True):
        st.session_state[key] = list(vals)

    st.sidebar.multiselect(t["domain"], list(opts.domains), key="f_domains")
    st.sidebar.multiselect(t["section"], opts.sections_of(present.domains), key="f_sections")
    st.sidebar.multiselect(t["status"], list(opts.statuses), key="f_statuses",
                           format_func=lambda s: STATUS_LABELS[Status(s)][0] if lang == "zh" else STATUS_EN[s])
    st.sidebar.multiselect(t["district"], list(opts.districts), key="f_districts")
    st.sidebar.multiselect(t["kind"], list(opts.kinds), key="f_kinds",
                           format_func=lambda k: KIND_LABELS.get(k, (k, k))[0 if lang == "zh" else 1])
    st.sidebar.multiselect(t["precision"], list(opts.precisions), key="f_precisions",
                           format_func=lambda p: PRECISION[p].label_zh if lang == "zh" else PRECISION[p].label_en)
    st.sidebar.text_input(t["search"], key="f_query")
    st.sidebar.button(t["reset"], on_click=_clear_filters)
    st.sidebar.selectbox(t["basemap"], list(BASEMAPS), key="basemap", format_func=BASEMAPS.get)
    editing = st.sidebar.toggle(t["correct"], key="edit")

    filters = Filters(
        domains=tuple(st.session_state.f_domains), sections=tuple(st.session_state.f_sections),
        statuses=tuple(st.session_state.f_statuses), districts=tuple(st.session_state.f_districts),
        kinds=tuple(st.session_state.f_kinds), precisions=tuple(st.session_state.f_precisions),
        query=st.session_state.f_query.strip(),
    )
    wanted = filters.to_query_params()
    if lang != "zh":
        wanted["lang"] = lang
    if st.session_state.basemap != "osm":
        wanted["basemap"] = st.session_state.basemap
    if {k: st.query_params.get_all(k) for k in st.query_params} != {
            k: (v if isinstance(v, list) else [v]) for k, v in wanted.items()}:
        st.query_params.from_dict(wanted)

    shown = filters.apply(gdf)
    located = shown[shown.geometry.notna()]
    unplaced = shown[shown.geometry.isna()]

    st.title(t["title"])
    st.subheader(_md(_title(name)))
    byline = meta.get("byline") or ""
    city = meta.get("city") or {}
    st.caption(f"{t['source']}: " + _md(f"{name} {byline}  ·  " + " ".join(meta.get("lead", [])[:1]))
               + f"  ·  {t['city']}: " + _md(f"{city.get('name', '?')}") + f" ({t['rule_' + str(city.get('rule', 'default'))]})"
               + f"  ·  {t['shape']}: {t['shape_' + str(meta.get('shape', 'keyword-summary'))]}")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t["shown"], len(shown))
    c2.metric(t["items"], shown["item_id"].nunique())
    c3.metric(t["located"], len(located))
    c4.metric(t["unplaced"], unplaced["item_id"].nunique())

    table = shown.drop_duplicates("fid")[["fid", "domain", "section", "status_zh", "matched", "name",
                                          "precision_zh", "district", "text"]].reset_index(drop=True)
    selected_fid = None
    sel = st.session_state.get("table", {}).get("selection", {}).get("rows", []) if isinstance(
        st.session_state.get("table"), dict) else []
    if sel and sel[0] < len(table):
        selected_fid = table.loc[sel[0], "fid"]

    map_col, side_col = st.columns([3, 1])
    with map_col:
        center = zoom = None
        if selected_fid is not None:
            row = shown[shown["fid"] == selected_fid].iloc[0]
            if row.geometry is not None:
                b = row.geometry.bounds
                center, zoom = ((b[1] + b[3]) / 2, (b[0] + b[2]) / 2), _zoom_for(b)
            else:
                st.info(t["no_geometry"])
        # The map holds every located feature of the report and stays loaded in the browser; a filter or a
        # selected row only sends which fids to show (map_view), so the map is not rebuilt or reloaded.
        basemap = st.session_state.basemap
        m = build_map(gdf, lang=lang, basemap=basemap, gazetteer=gazetteer(_adcode(meta)), show_boundaries=True,
                      draw=editing, search=True, data=drawn(prep.key, basemap, gdf))
        localize(m, mode="static")
        # Only the correction mode needs anything back from the map; otherwise panning reruns nothing.
        out = st_folium(m, key="map", height=620, use_container_width=True, render=False,
                        feature_group_to_add=[map_view(shown, gdf, selected=selected_fid)],
                        returned_objects=["last_active_drawing"] if editing else [], center=center, zoom=zoom)
        if editing:
            _correction_panel(t, lang, shown, (out or {}).get("last_active_drawing"), corrections)
            # Online candidates for the names the gazetteer lacks; only an accepted one is stored (a correction).
            online_panel(st, gdf, lang=lang, city=city_scope(gazetteer(_adcode(meta))), store=store())
    with side_col:
        st.subheader(t["unplaced_title"])
        if unplaced.empty:
            st.caption(t["no_unplaced"])
        listed = unplaced.drop_duplicates("item_id")
        if len(listed) > MAX_LISTED:  # thousands of expanders would stall the browser; the table has them all
            st.caption(t["more_in_table"].format(n=len(listed) - MAX_LISTED))
        for r in listed.head(MAX_LISTED).itertuples():
            label = PRECISION[r.precision].label_zh if lang == "zh" else PRECISION[r.precision].label_en
            with st.expander(_md(f"{r.domain} · {label} · {r.text[:18]}…")):
                st.text(r.text)

    tab_table, tab_targets, tab_dl, tab_missing = st.tabs([t["table"], t["targets"], t["downloads"], t["missing"]])
    with tab_table:
        st.caption(t["select_hint"])
        st.dataframe(
            table.drop(columns=["fid"]).rename(columns={
                "domain": t["domain"], "section": t["section"], "status_zh": t["status"], "matched": t["place"],
                "name": t["gazetteer_name"], "precision_zh": t["precision"], "district": t["district"], "text": t["sentence"]}),
            key="table", on_select="rerun", selection_mode="single-row", hide_index=True, width="stretch",
        )
    with tab_targets:
        targets = pd.DataFrame(meta.get("targets", []))
        if not targets.empty:
            st.dataframe(targets[["name", "value", "unit", "qualifier"]].rename(columns={"value": t["value"]}),
                         hide_index=True, width="stretch")
        st.subheader(t["chart"])
        st.bar_chart(prep.chart)
    with tab_dl:
        st.caption(t["download_hint"])
        with_unlocated = st.checkbox(t["with_unlocated"], key="dl_unlocated")
        offered = shown if with_unlocated else shown[shown.geometry.notna().to_numpy()]
        # The prepared report's key hashes the text and every correction: a correction keeps every fid but
        # moves a place, so a key of name and fids alone would serve the export from before it.
        key = hashlib.sha1((prep.key + "|" + ",".join(offered["fid"])).encode()).hexdigest()
        cols = st.columns(len(FORMATS))
        for col, fmt in zip(cols, FORMATS, strict=True):
            # Built on click, not on every rerun: the four exports cost 1.3 s per filter change at 10k rows.
            col.download_button(fmt.upper(), data=lambda fmt=fmt: download(offered, key, fmt),
                                file_name=export_filename(name, filters, SUFFIXES[fmt],
                                                          include_unlocated=with_unlocated),
                                mime=MEDIA_TYPES[fmt], key=f"dl_{fmt}", width="stretch", on_click="ignore")
    with tab_missing:
        if prep.missing:
            st.text("、".join(prep.missing))
        else:
            st.caption(t["missing_none"])


main()
