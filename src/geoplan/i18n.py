"""Every word the app and the map show, in Chinese and English, in one catalogue.

Two audiences read the same data: residents want "大致位置" where planners want "IATI 2", so the vocabulary
(statuses, precisions, place kinds, table columns) has a resident's label and a planner's detail. Keeping
both languages side by side here is what lets a test prove that a language switch leaves no word behind.
"""

from __future__ import annotations

from typing import Literal

from geoplan.vocab import admin_name

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "lang": "语言 Language",
        "filters": "筛选",
        "domain": "领域",
        "section": "板块",
        "status": "进度",
        "district": "区县",
        "kind": "地点类型",
        "precision": "定位精度",
        "search": "搜索事项或地名",
        "basemap": "底图",
        "choose": "全部（可多选）",
        "choose_one": "请选择",
        "upload": "上传其他报告（.txt）",
        "upload_help": "纯文本的政府工作报告，UTF-8 或 GB18030 编码，不超过 2 MB。可读取四种格式：政府工作报告全文"
        "（一、/（一）/段落）；新闻摘要（关键词: / □ / ◆）；要点摘要（● • 1. 1、 （1） 条目，标题为 □、"
        "【…】、一、或短行）；报告节选（几段文字）。",
        "city_shape": "{city}（{rule}）· {shape}",
        "rule_title": "据标题",
        "rule_venue": "据会议名称",
        "rule_speaker": "据报告人",
        "rule_mentions": "据文中地名",
        "rule_default": "默认城市",
        "rule_option": "指定",
        "shape_full-report": "政府工作报告全文",
        "shape_keyword-summary": "新闻摘要（关键词）",
        "shape_bullet-summary": "要点摘要",
        "shape_excerpt": "报告节选",
        "with_unlocated": "包括全市范围/未定位的事项（无几何）",
        "part": "报告部分",
        "part_review": "工作回顾",
        "part_plan": "今年工作安排",
        "part_targets": "主要目标",
        "part_government": "政府自身建设",
        "store_error": "校正库暂时无法读取，地图未应用规划人员的校正。请联系管理员。",
        "store_save_error": "校正库暂时无法写入，校正未保存。请联系管理员。",
        "counts": "{n} 项 · 已定位 {located} · 全市范围 {city} · 未定位 {unlocated}",
        "counts_filtered": "（已筛选，全部 {total} 项）",
        "tab_list": "全市范围与未定位（{n}）",
        "tab_table": "事项表",
        "tab_targets": "主要预期目标",
        "tab_downloads": "下载",
        "tab_missing": "地名库未收录的地名",
        "tab_placed": "地图上的事项（{n}）",
        "placed_hint": "指向一项即在地图上突出显示其位置；在“事项表”中选中一行可放大并打开详情。",
        "tab_correct": "校正位置",
        "select_hint": "选中一行，地图即定位到该地点。",
        "no_geometry": "该事项没有可定位的地点。",
        "chart": "各领域事项数（按进度）",
        "download_hint": "下载当前显示的要素：",
        "too_big": "文件太大",
        "upload_error": "无法读取上传的报告，仍显示上一份报告：",
        "report_bad_link": "链接中的报告编号无效，显示默认报告。",
        "report_missing": "链接中的报告已不在本服务器上，显示默认报告。",
        "report_not_kept": "报告已显示，但无法保存在服务器上：刷新或分享链接后将显示默认报告。",
        "source": "报告来源",
        "missing_none": "所有地名均已收录。",
        "reset": "清除筛选",
        "sentence": "报告原文",
        "place": "地点",
        "gazetteer_name": "地名库名称",
        "iati": "IATI 精度代码",
        "target_name": "指标",
        "target_value": "目标值",
        "target_unit": "单位",
        "target_qualifier": "说明",
        "more_in_table": "另有 {n} 项见事项表。",
        "empty_filtered": "没有符合当前筛选条件的事项。",
        "empty_map": "当前筛选下没有可以在地图上显示的地点。",
        "empty_report": "这份报告没有提到地名库中的任何地点，地图上没有可显示的内容；事项见下方各页。",
        "no_unplaced": "当前显示的事项都已在地图上定位。",
        "no_targets": "报告中没有找到主要预期目标。",
        "correct": "校正位置（规划人员）",
        "correct_help": "在地图上用左侧工具画出正确的点、线或面，再选择要校正的事项并保存。",
        "correct_target": "要校正的事项",
        "note": "说明（必填）",
        "author": "署名",
        "save": "保存校正",
        "need_target": "请先选择要校正的事项。",
        "need_drawing": "请先在地图上画出位置。",
        "saved": "已保存校正：{what}",
        "corrections": "已保存的校正",
        "undo": "撤销",
        "not_applied": "以下校正未能应用（事项已不在本报告中或有多个地点）：",
        "error_report": "报告无法读取",
    },
    "en": {
        "lang": "语言 Language",
        "filters": "Filters",
        "domain": "Domain",
        "section": "Section",
        "status": "Status",
        "district": "District",
        "kind": "Place kind",
        "precision": "Precision",
        "search": "Search items and places",
        "basemap": "Basemap",
        "choose": "All (choose to narrow)",
        "choose_one": "Choose one",
        "upload": "Upload another report (.txt)",
        "upload_help": "A government work report as plain text, UTF-8 or GB18030, at most 2 MB, in one of four "
        "shapes: the complete official report (chapters, sections, prose); a news summary (keyword "
        "blocks, □ headings, ◆ items); a bullet summary (● • 1. (1) items under short headings); an "
        "excerpt (a few paragraphs).",
        "city_shape": "{city} ({rule}) · {shape}",
        "rule_title": "from the title",
        "rule_venue": "from the venue",
        "rule_speaker": "from the speaker",
        "rule_mentions": "from the places it names",
        "rule_default": "default city",
        "rule_option": "chosen",
        "shape_full-report": "complete official report",
        "shape_keyword-summary": "news summary (keywords)",
        "shape_bullet-summary": "bullet summary",
        "shape_excerpt": "excerpt",
        "with_unlocated": "Include city-wide / unlocated items (no geometry)",
        "part": "Part of the report",
        "part_review": "review of past work",
        "part_plan": "this year's plan",
        "part_targets": "targets",
        "part_government": "the government's own work",
        "store_error": "The corrections store cannot be read right now; the map is shown without planners' "
        "corrections. Please tell the administrator.",
        "store_save_error": "The corrections store cannot be written right now; nothing was saved. "
        "Please tell the administrator.",
        "counts": "{n} items · {located} located · {city} city-wide · {unlocated} not located",
        "counts_filtered": " (filtered, of {total})",
        "tab_list": "City-wide and not located ({n})",
        "tab_table": "Items",
        "tab_targets": "Main targets",
        "tab_downloads": "Downloads",
        "tab_missing": "Names the gazetteer lacks",
        "tab_placed": "On the map ({n})",
        "placed_hint": "Point at an item to highlight its place on the map; choose a row in the table to zoom to it.",
        "tab_correct": "Correct locations",
        "select_hint": "Select a row to zoom the map to it.",
        "no_geometry": "This item has no place to show.",
        "chart": "Items per domain (by status)",
        "download_hint": "Download the features shown:",
        "too_big": "File too large",
        "upload_error": "Could not read the uploaded report; still showing the previous one:",
        "report_bad_link": "The link's report id is not valid; showing the default report.",
        "report_missing": "The linked report is no longer on this server; showing the default report.",
        "report_not_kept": "The report is shown but could not be kept on the server: a reload or a shared link "
        "will show the default report.",
        "source": "Report",
        "missing_none": "Every name is in the gazetteer.",
        "reset": "Clear filters",
        "sentence": "Report sentence",
        "place": "Place",
        "gazetteer_name": "Gazetteer name",
        "iati": "IATI precision code",
        "target_name": "Indicator",
        "target_value": "Target",
        "target_unit": "Unit",
        "target_qualifier": "Qualifier",
        "more_in_table": "{n} more in the Items tab.",
        "empty_filtered": "No item matches these filters.",
        "empty_map": "Nothing the current filters show has a place on the map.",
        "empty_report": "This report names no place the gazetteer knows, so the map is empty; its items are in the tabs below.",
        "no_unplaced": "Every item shown has a place on the map.",
        "no_targets": "The report states no main targets.",
        "correct": "Correct locations (planners)",
        "correct_help": "Draw the true point, line or area with the tools on the map, choose what it locates, and save.",
        "correct_target": "Item to correct",
        "note": "Note (required)",
        "author": "Your name",
        "save": "Save correction",
        "need_target": "Choose the item to correct first.",
        "need_drawing": "Draw the location on the map first.",
        "saved": "Correction saved: {what}",
        "corrections": "Saved corrections",
        "undo": "Undo",
        "not_applied": "These corrections were not applied (their item is not in this report or has several places):",
        "error_report": "The report cannot be read",
    },
}

# Status of an item's clause (geoplan.models.Status values): what the report says happens this year.
STATUS: dict[str, tuple[str, str]] = {
    "planning": ("规划中", "planned"),
    "preparatory": ("开展前期工作", "preparatory work"),
    "starting": ("启动建设", "starting"),
    "new_build": ("新建", "new build"),
    "under_construction": ("在建", "under construction"),
    "continuing": ("续建", "continuing"),
    "completing": ("建成投用", "to be completed"),
    "ongoing_policy": ("持续推进", "ongoing"),
}

KINDS: dict[str, tuple[str, str]] = {
    "road": ("道路", "road"),
    "river": ("河流", "river"),
    "station": ("车站", "station"),
    "bridge": ("桥梁", "bridge"),
    "metro_line": ("轨道交通", "metro line"),
    "area": ("片区", "area"),
    "spring": ("泉", "spring"),
    "school": ("学校", "school"),
    "university": ("高校", "university"),
    "hospital": ("医院", "hospital"),
    "facility": ("设施", "facility"),
    "park": ("公园", "park"),
    "district": ("区", "district"),
    "county": ("县", "county"),
    "county_city": ("县级市", "county-level city"),
    "city": ("全市", "city"),
}

# Precision (geoplan.geocoders.base.PRECISION keys) as a resident reads it: how far to trust the pin.
PRECISION: dict[str, tuple[str, str]] = {
    "corrected": ("规划人员标注", "placed by a planner"),
    "site": ("精确地点", "exact place"),
    "near": ("大致位置", "approximate location"),
    "estimated": ("大致走向或范围", "approximate course or area"),
    "district": ("位于某区县", "somewhere in a district"),
    "city": ("全市范围", "city-wide"),
    "unlocated": ("尚未定位", "not located yet"),
}
_ESTIMATED = {"line": ("大致走向", "approximate course"), "area": ("大致范围", "approximate area")}

# A target's qualifier and unit (geoplan.parse) in English; the indicator's name stays the report's own.
QUALIFIERS_EN = {"左右": "about", "以上": "or more", "以下": "or less", "以内": "at most", "上下": "about"}
UNITS_EN = {
    "平方公里": "km²",
    "平方米": "m²",
    "万亩": "10k mu",
    "公里": "km",
    "千米": "km",
    "万人": "10k people",
    "万个": "10k",
    "万户": "10k households",
    "万套": "10k units",
    "万张": "10k",
    "万元": "10k yuan",
    "亿元": "100 million yuan",
    "个百分点": "percentage points",
    "人": "people",
    "户": "households",
    "元": "yuan",
    "米": "m",
    "亩": "mu",
    "％": "%",
}


def target_words(unit: str | None, qualifier: str | None, lang: str) -> tuple[str, str]:
    """A target's unit and qualifier for the page; a counter word (个, 所, 场 …) reads as nothing in English."""
    unit = unit if isinstance(unit, str) else ""
    qualifier = qualifier if isinstance(qualifier, str) else ""
    if lang != "en":
        return unit, qualifier
    en_unit = UNITS_EN.get(unit, unit if unit.isascii() else "")
    return en_unit, QUALIFIERS_EN.get(qualifier, qualifier)


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def t(lang: str, key: str, **values: object) -> str:
    """The message ``key`` in ``lang``, with ``{name}`` fields filled from ``values``."""
    text = MESSAGES["en" if lang == "en" else "zh"][key]
    return text.format(**values) if values else text


def status_label(status: str | None, lang: str) -> str:
    """An item status in words; an unknown key is shown as it is, a missing one as ""."""
    if not isinstance(status, str):
        return ""
    return _pick(STATUS[status], lang) if status in STATUS else status


def kind_label(kind: str | None, lang: str) -> str:
    if not isinstance(kind, str):
        return ""
    return _pick(KINDS[kind], lang) if kind in KINDS else kind


def precision_option(precision: str, lang: str) -> str:
    """A precision as a filter choice (no particular place): 精确地点, 大致位置 …"""
    return _pick(PRECISION[precision], lang) if precision in PRECISION else precision


def precision_label(
    precision: str | None,
    lang: str,
    *,
    district: str | None = None,
    geometry_kind: str | None = None,
    radius_km: float | None = None,
) -> str:
    """A place's precision as a resident reads it: 精确地点, 大致位置（约2公里）, 位于万柏林区, 全市范围.

    The radius is shown only when a source states it: the IATI bound ("within 25 km") read as an alarm
    for a station placed within a few hundred metres.

    >>> precision_label("district", "zh", district="万柏林区"), precision_label("district", "en", district="万柏林区")
    ('位于万柏林区', 'in Wanbailin District')
    >>> precision_label("near", "zh"), precision_label("near", "en", radius_km=2)
    ('大致位置', 'approximate location (about 2 km)')
    """
    if not isinstance(precision, str):
        return ""
    if precision == "district" and isinstance(district, str) and district:
        return f"in {admin_name(district, 'en')}" if lang == "en" else f"位于{district}"
    if precision == "estimated" and geometry_kind in _ESTIMATED:
        return _pick(_ESTIMATED[geometry_kind], lang)
    label = precision_option(precision, lang)
    if precision == "near" and radius_km:
        km = f"{radius_km:g}"
        return f"{label} (about {km} km)" if lang == "en" else f"{label}（约{km}公里）"
    return label


def precision_detail(precision: str | None, lang: str) -> str:
    """The planner's view of a precision: the resident label with its IATI code, e.g. 大致位置（IATI 2）."""
    from geoplan.geocoders.base import PRECISION as CODES

    if not isinstance(precision, str):
        return ""
    code = CODES[precision].code if precision in CODES else None
    label = precision_option(precision, lang)
    if code is None:
        return label
    return f"{label} (IATI {code})" if lang == "en" else f"{label}（IATI {code}）"


def district_label(district: str | None, lang: str) -> str:
    return admin_name(district, lang)


# What went wrong, in Chinese, before the error's own (English) detail; the file and line lead for reports.
_ERROR_LEADS = {"GeometryError": "画出的位置无效", "CorrectionError": "校正无法保存"}


def error_text(err: Exception, lang: str) -> str:
    """A geoplan error for the page: ``file:line``, then what is wrong in the page's language (the
    parser's own detail stays, in English, in brackets: it quotes the offending text)."""
    from geoplan.errors import ReportError

    if lang != "en" and isinstance(err, ReportError):
        where = f"{err.source}:{err.line}" if err.line is not None else err.source
        return f"{where}：{t(lang, 'error_report')}（{err.reason}）"
    lead = next((v for k, v in _ERROR_LEADS.items() if any(c.__name__ == k for c in type(err).__mro__)), None)
    if lang != "en" and lead:
        return f"{lead}（{err}）"
    return str(err)
