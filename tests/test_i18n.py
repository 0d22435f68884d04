"""The message catalogue and the vocabulary: both languages complete, resident words, item counts."""

from __future__ import annotations

import re
import string

import geopandas as gpd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Point

from geoplan import i18n
from geoplan.errors import ReportError
from geoplan.features import features_from_path
from geoplan.geocoders.base import PRECISION as CODES
from geoplan.models import Status
from geoplan.summary import item_counts
from geoplan.vocab import ADMIN_EN, admin_name, domain_gloss, domain_name

from conftest import REPORT, ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


@pytest.fixture(scope="module")
def features():
    return features_from_path(REPORT)


def test_both_languages_have_the_same_messages_and_fields():
    zh, en = i18n.MESSAGES["zh"], i18n.MESSAGES["en"]
    assert zh.keys() == en.keys()
    for key in zh:
        assert _fields(zh[key]) == _fields(en[key]), key


def test_english_has_no_chinese_and_chinese_has_no_stray_english():
    for key, text in i18n.MESSAGES["en"].items():
        if key != "lang":  # the language switch names both languages on purpose
            assert not CJK.search(text), (key, text)
    for key, text in i18n.MESSAGES["zh"].items():
        words = re.findall(r"[A-Za-z]{3,}", re.sub(r"\{\w*\}", "", text))
        assert set(words) <= {"Language", "UTF", "GB", "TXT", "txt", "IATI"}, (
            key,
            words,
        )


def test_every_vocabulary_key_is_labelled_in_both_languages():
    assert set(i18n.STATUS) == {s.value for s in Status}
    assert set(i18n.PRECISION) == set(CODES)
    for lang in i18n.LANGS:
        for table in (i18n.STATUS, i18n.KINDS, i18n.PRECISION):
            labels = [i18n._pick(v, lang) for v in table.values()]
            assert all(labels) and len(set(labels)) == len(labels)
            assert all(bool(CJK.search(x)) == (lang == "zh") for x in labels), labels


def test_precision_reads_as_a_place_not_an_alarm():
    assert i18n.precision_label("near", "zh") == "大致位置"  # not "附近（25公里内）"
    assert i18n.precision_label("near", "zh", radius_km=2) == "大致位置（约2公里）"
    assert i18n.precision_label("district", "zh", district="万柏林区") == "位于万柏林区"
    assert i18n.precision_label("district", "en", district="万柏林区") == "in Wanbailin District"
    assert i18n.precision_label("estimated", "zh", geometry_kind="line") == "大致走向"
    assert i18n.precision_label("city", "en") == "city-wide"
    assert "IATI" not in i18n.precision_label("site", "zh")
    assert i18n.precision_detail("near", "zh") == "大致位置（IATI 2）"
    assert i18n.precision_detail("unlocated", "en") == "not located yet"
    assert i18n.precision_label(None, "zh") == ""


def test_status_labels_read_right():
    assert i18n.status_label("completing", "zh") == "建成投用"
    assert i18n.status_label("completing", "en") == "to be completed"
    assert i18n.status_label(None, "en") == ""
    assert i18n.status_label("unknown-key", "zh") == "unknown-key"


def test_every_district_of_the_boundaries_is_romanised():
    import json

    doc = json.loads((ROOT / "geodata" / "boundaries" / "taiyuan.geojson").read_text(encoding="utf-8"))
    names = {f["properties"]["name"] for f in doc["features"]}
    assert names <= set(ADMIN_EN), names - set(ADMIN_EN)
    assert all(not CJK.search(v) for v in ADMIN_EN.values())
    assert admin_name("小店区", "en") == "Xiaodian District"
    assert admin_name("不存在区", "en") == "不存在区"  # never guessed
    assert admin_name(None, "zh") == ""


def test_report_errors_lead_with_file_and_line_in_chinese():
    err = ReportError("item before any domain", source="bad.txt", line=2)
    assert i18n.error_text(err, "zh") == "bad.txt:2：报告无法读取（item before any domain）"
    assert i18n.error_text(err, "en") == "bad.txt:2: item before any domain"
    from geoplan.errors import GeometryError

    assert (
        i18n.error_text(GeometryError("self-intersection at (1, 2)"), "zh")
        == "画出的位置无效（self-intersection at (1, 2)）"
    )
    assert i18n.error_text(GeometryError("x"), "en") == "x"


def test_item_counts_add_up_on_the_shipped_report(features):
    c = item_counts(features)
    assert c.items == features["item_id"].nunique() == 39
    assert c.located + c.city + c.unlocated == c.items
    located_ids = set(features.loc[features.geometry.notna(), "item_id"])
    assert c.located == len(located_ids)
    city_only = {i for i, g in features.groupby("item_id") if i not in located_ids and (g["precision"] == "city").any()}
    assert c.city == len(city_only) > 0
    assert c.unlocated > 0
    assert item_counts(features.iloc[0:0]) == type(c)(0, 0, 0, 0)


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(["site", "city", "unlocated", "district"]), st.booleans()),
        max_size=30,
    )
)
def test_item_counts_partition_the_items(rows):
    gdf = gpd.GeoDataFrame(
        {"item_id": [f"it-{i}" for i, _, _ in rows], "precision": [p for _, p, _ in rows]},
        geometry=[Point(112.5, 37.8) if g else None for _, _, g in rows],
        crs="EPSG:4326",
    )
    c = item_counts(gdf)
    assert c.items == len({i for i, _, _ in rows})
    assert c.located == len({i for i, _, g in rows if g})
    assert c.located + c.city + c.unlocated == c.items


def test_every_domain_of_the_shipped_and_real_reports_is_glossed(features):
    """The chapters of two complete official reports and the shipped summary's keyword blocks all read in
    English; a section phrase the vocabulary does not know stays Chinese, nothing is guessed."""
    from geoplan.parse import report_from_path

    names = set(features["domain"].dropna())
    for report in ("beijing-2026.txt", "shanxi-2026.txt"):
        names |= {d.name for d in report_from_path(ROOT.parent / "shared" / "real-reports" / report).domains}
    assert len(names) >= 10
    for name in names:
        gloss = domain_gloss(name)
        assert gloss and not CJK.search(gloss), name
        assert domain_name(name, "en") == f"{name} · {gloss}" and domain_name(name, "zh") == name
    assert domain_gloss("2026年重点工作") == "2026: Main tasks"
    assert domain_gloss("“十四五”时期工作回顾") == "14th Five-Year Plan period: Review of work"
    for unknown in ("打好品质提升攻坚战", "2026年迎泽大街", "十四五时期迎泽大街", "民生和迎泽大街", "和", ""):
        assert domain_gloss(unknown) is None, unknown
        assert domain_name(unknown, "en") == unknown


@given(st.text(max_size=30))
def test_a_domain_name_is_never_replaced_or_lost(name):
    assert domain_name(name, "zh") == name
    shown = domain_name(name, "en")
    assert shown == name or (shown.startswith(f"{name} · ") and not CJK.search(shown[len(name) :]))
