"""Real reports of any shape and any city: the complete official reports in ../shared, fixtures of the other shapes.

What a user brings: the complete 政府工作报告 of 北京 and of 山西 (official documents, outside copyright),
news round-ups with ● or ``1.`` items under bare headings or district names, pasted paragraphs, a county-level
city's own list. Each must parse into a plausible structure, say whose report it is, place what it can inside
that city and list the rest.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import shapely

from geoplan.admin import admin_index
from geoplan.errors import ReportError
from geoplan.features import features_from_report, features_to_geojson, validate_geojson
from geoplan.gazetteer import gazetteer_for
from geoplan.link import Linker
from geoplan.parse import report_from_path, report_from_text

from conftest import DATA, REPORT, ROOT

SHARED = ROOT.parent / "shared" / "real-reports"
SHAPES = DATA / "shapes"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} not laid out beside the checkout")


@pytest.fixture(scope="module")
def beijing():
    return report_from_path(SHARED / "beijing-2026.txt")


@pytest.fixture(scope="module")
def shanxi():
    return report_from_path(SHARED / "shanxi-2026.txt")


@needs_shared
def test_beijing_full_report_structure(beijing):
    assert beijing.shape == "full-report"
    assert beijing.title == "2026年北京市政府工作报告"
    assert beijing.city.to_dict() == {"name": "北京市", "adcode": "110000", "rule": "title", "kind": "city"}
    assert [d.name for d in beijing.domains] == [
        "2025年工作回顾",
        "“十四五”时期发展成就和“十五五”时期主要目标任务",
        "2026年重点工作",
    ]
    assert [d.part for d in beijing.domains] == ["review", "review", "plan"]
    plan = beijing.domains[-1]
    titled = [s.title for s in plan.sections if s.title]
    assert len(titled) == 10 and titled[0] == "深入落实城市总体规划，推动京津冀协同发展走深走实"
    # 一是…二是… run-in sections of the review
    assert "首都功能持续优化提升" in [s.title for s in beijing.domains[0].sections]
    assert 180 <= len(beijing.items) <= 280
    assert {t.name for t in beijing.targets} >= {"地区生产总值增长", "城镇调查失业率控制在"}
    # web page leftovers are dropped and said so; the lead keeps title, venue, speaker
    assert [d.text for d in beijing.dropped][:3] == ["下载", "打印", "全屏"]
    assert beijing.dropped[-1].text == "相关报道："
    assert "北京市市长殷勇" in beijing.lead


@needs_shared
def test_every_source_line_maps_to_something(beijing):
    lines = (SHARED / "beijing-2026.txt").read_text(encoding="utf-8").splitlines()
    mapped = {o.line for it in beijing.items for o in it.occurrences}
    mapped |= {c.line for d in beijing.domains for s in d.sections for c in s.context}
    mapped |= {d.line for d in beijing.domains} | {s.line for d in beijing.domains for s in d.sections if s.line}
    mapped |= {d.line for d in beijing.dropped}
    lead = set(beijing.lead)
    for n, text in enumerate(lines, 1):
        if text.strip() and n not in mapped:
            assert text.strip().replace(" ", "") in lead or text.strip() in lead, (n, text)


@needs_shared
def test_shanxi_provincial_report(shanxi):
    assert shanxi.shape == "full-report"
    assert (shanxi.city.name, shanxi.city.adcode, shanxi.city.rule) == ("山西省", "140000", "title")
    parts = [d.part for d in shanxi.domains]
    assert parts == ["review", "plan", "plan", "government"]
    sections = [s.title for s in shanxi.domains[2].sections if s.title]
    assert sections[0] == "着力实施扩大内需战略" and len(sections) == 10
    # run-in sections of chapter 二: （一）高质量发展取得显著成效。…
    assert "高质量发展取得显著成效" in [s.title for s in shanxi.domains[1].sections]
    # run-in lead sentences become the items' topic
    topics = {o.topic for it in shanxi.items for o in it.occurrences}
    assert "扩大有效投资" in topics
    assert 250 <= len(shanxi.items) <= 420
    assert any(t.name.startswith("地区生产总值增长") for t in shanxi.targets)


@needs_shared
@pytest.mark.parametrize("name", ["beijing-2026.txt", "shanxi-2026.txt"])
def test_features_stay_in_the_reports_area(name):
    report = report_from_path(SHARED / name)
    gaz = gazetteer_for(report.city.adcode)
    gdf = features_from_report(report, gazetteer=gaz)
    validate_geojson(features_to_geojson(gdf))
    area = admin_index().geometry(report.city.adcode).buffer(0.02)
    located = gdf[gdf.geometry.notna()]
    assert len(located) >= 8
    assert shapely.covers(area, located.geometry.values).all()
    # every recognised name is kept: located or unresolved
    linker = Linker(gaz)
    for item in report.items:
        rows = gdf[gdf.item_id == item.id]
        kept = set(rows["name"].dropna()) | {n for v in rows["unresolved"].dropna() for n in v.split("；")}
        for m in linker.mentions(item):
            assert m.name in kept, (item.text, m.name)
        for c in linker.unknown_candidates(item, linker.mentions(item)):
            assert c.name in kept, (item.text, c.name)


@needs_shared
def test_beijing_districts_are_beijings(beijing):
    gdf = features_from_report(beijing)
    districts = gdf[gdf.precision == "district"]
    assert set(districts["name"]) >= {"通州区", "房山区", "昌平区"}
    assert set(districts["district"]) <= {u.name for u in admin_index().descendants("110000")}
    unresolved = {n for v in gdf["unresolved"].dropna() for n in v.split("；")}
    assert "雄安新区" in unresolved  # in 河北: named, never placed inside Beijing
    assert {"温榆河公园", "北京工业大学", "五环路"} <= unresolved


@needs_shared
def test_provincial_report_links_a_curated_city_place_only_when_qualified(shanxi):
    gdf = features_from_report(shanxi)
    metro = gdf[gdf["name"] == "太原轨道交通1号线"]
    assert not metro.empty and set(metro["matched"]) == {"太原地铁1号线"}
    assert {"太原市", "大同市", "长治市"} <= set(gdf.loc[gdf.precision == "district", "name"])


def test_seed_is_the_keyword_summary_of_taiyuan():
    report = report_from_path(REPORT)
    assert report.shape == "keyword-summary"
    assert (report.city.name, report.city.adcode, report.city.rule) == ("太原市", "140100", "venue")
    assert len(report.items) == 39
    assert {it.part for it in report.items} == {"plan"}
    assert report.domains[0].part == "targets"


def _features(name: str, **kw):
    report = report_from_path(SHAPES / name, **kw)
    return report, features_from_report(report)


def test_bullet_summary_with_district_headings():
    report, gdf = _features("bullet-districts.txt")
    assert report.shape == "bullet-summary"
    assert [d.name for d in report.domains] == ["迎泽", "杏花岭", "小店区"]
    assert report.city.name == "太原市"
    by_text = {r.text: r for r in gdf.itertuples()}
    # heading context: no finer place → the heading's district, and it says so
    row = by_text["持续优化营商环境。"]
    assert (row.name, row.precision, row.place_from) == ("小店区", "district", "heading")
    # shared kind word: three schools, not the road 化工路
    row = by_text["新建化工路、中车、长江等小学。"]
    assert row.unresolved == "化工路小学；中车小学；长江小学"
    # no verb glued on
    assert by_text["强化山西大学东山校区建设。"].unresolved == "山西大学东山校区"
    assert by_text["加快推进府东街提质改造。"].unresolved == "府东街"
    # a district's name inside a school's name is no district mention
    assert "杏花岭区第二实验小学" in by_text["新建杏花岭区第二实验小学，新增学位1800个。"].unresolved


def test_bullet_summary_with_numbered_items():
    report, gdf = _features("bullet-numbered.txt")
    assert report.shape == "bullet-summary"
    assert [d.name for d in report.domains] == ["交通", "教育"]
    assert [len(s.item_ids) for d in report.domains for s in d.sections] == [2, 3]
    unresolved = {n for v in gdf["unresolved"].dropna() for n in v.split("；")}
    assert {"迎泽大街", "市人民医院新院区"} <= unresolved
    assert "断头路" not in unresolved


def test_excerpt_is_one_untitled_section_and_keeps_its_rhetoric():
    report, gdf = _features("excerpt.txt")
    assert report.shape == "excerpt"
    assert report.city.rule == "default" and report.city.name == "太原市"
    assert len(report.domains) == 1 and report.domains[0].sections[0].title is None
    assert len(report.items) == 2
    context = [c.text for c in report.domains[0].sections[0].context]
    assert context == ["同时，要坚持以人民为中心的发展思想，让群众有更多获得感。"]


def test_city_from_the_names_it_mentions_and_rivers_streets_are_not_districts():
    report, gdf = _features("excerpt-beijing.txt")
    assert (report.city.name, report.city.rule) == ("北京市", "mentions")
    located = set(gdf.loc[gdf.geometry.notna(), "name"])
    assert located == {"朝阳区", "海淀区", "丰台区", "通州区", "顺义区"}
    unresolved = {n for v in gdf["unresolved"].dropna() for n in v.split("；")}
    assert {"黄浦江", "河北大街"} <= unresolved  # not 黄浦区, not 河北省


def test_county_level_city_keeps_places_inside_it():
    report, gdf = _features("gujiao.txt")
    assert (report.city.name, report.city.adcode, report.city.rule) == ("古交市", "140181", "venue")
    gujiao = admin_index().geometry("140181").buffer(0.02)
    located = gdf[gdf.geometry.notna() & (gdf.precision != "city")]
    assert shapely.covers(gujiao, located.geometry.values).all()
    assert "娄烦县" not in set(gdf["name"].dropna())


def test_city_option_overrides(tmp_path):
    report = report_from_path(SHAPES / "excerpt.txt", city="北京市")
    assert (report.city.name, report.city.rule) == ("北京市", "option")
    with pytest.raises(ReportError, match="unknown city"):
        report_from_path(SHAPES / "excerpt.txt", city="不存在市")


def test_shape_option_forces_a_shape():
    report = report_from_path(SHAPES / "bullet-numbered.txt", shape="excerpt")
    assert report.shape == "excerpt"


def test_text_without_sentence_structure_is_refused_with_the_shapes():
    with pytest.raises(ReportError) as exc:
        report_from_path(SHAPES / "no-structure.txt")
    assert "full-report" in str(exc.value) and "keyword-summary" in str(exc.value)
    assert exc.value.line == 1


def test_repeated_domain_headings_merge_into_one_layer():
    text = "关键词:交通\n◆修幸福桥。\n关键词:民生\n◆建学校10所。\n关键词:交通\n◆修大运路。\n"
    report = report_from_text(text)
    assert [d.name for d in report.domains] == ["交通", "民生"]
    assert [len(s.item_ids) for s in report.domains[0].sections] == [2]


def test_web_line_breaks_are_line_breaks():
    text = "关键词:交通\u2028◆修幸福桥。\u2029◆建学校10所。\x85◆修大运路。"
    report = report_from_text(text)
    assert len(report.items) == 3


@pytest.mark.parametrize("name", ["bullet-districts.txt", "excerpt.txt", "gujiao.txt"])
def test_cli_parse_json_has_shape_and_city(name):
    out = subprocess.run(
        [sys.executable, "-m", "geoplan.cli", "parse", str(SHAPES / name), "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    doc = json.loads(out)
    assert doc["shape"] in ("bullet-summary", "excerpt")
    assert set(doc["city"]) == {"name", "adcode", "rule", "kind"}


def test_geojson_carries_shape_and_city():
    report, gdf = _features("excerpt-beijing.txt")
    doc = features_to_geojson(gdf)
    assert doc["report"]["shape"] == "excerpt"
    assert doc["report"]["city"]["adcode"] == "110000"


@needs_shared
@pytest.mark.parametrize(
    ("name", "city", "shape"),
    [("beijing-2026.txt", "北京市", "政府工作报告全文"), ("shanxi-2026.txt", "山西省", "政府工作报告全文")],
)
def test_the_app_maps_an_uploaded_full_report(name, city, shape):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.session_state["report"] = ((SHARED / name).read_bytes(), name)
    at.run()
    assert not at.exception
    head = "".join(h.proto.body for h in at.get("html"))
    assert f"{city}（据标题）· {shape}" in head
    assert f"<h1>2026年{city}政府工作报告</h1>" in head  # the report's own title, not its file name
    located = int(re.search(r"已定位 (\d+)", head)[1])
    assert located >= 8


@needs_shared
def test_a_planner_exports_this_years_plan_only(tmp_path):
    from geoplan.cli import main

    assert (
        main(["export", str(SHARED / "shanxi-2026.txt"), "--part", "plan", "--include-unlocated", "-o", str(tmp_path)])
        == 0
    )
    (out,) = tmp_path.iterdir()
    assert out.name == "shanxi-2026-plan-with-unlocated.geojson"
    parts = {f["properties"]["part"] for f in json.loads(out.read_text("utf-8"))["features"]}
    assert parts == {"plan"}
    gdf = features_from_report(report_from_path(SHARED / "shanxi-2026.txt"))
    assert {"review", "plan", "government"} <= set(gdf["part"])


@needs_shared
def test_corrections_of_another_citys_report_are_checked_against_that_city(tmp_path):
    from geoplan.cli import main
    from geoplan.corrections import CorrectionStore

    report = report_from_path(SHARED / "beijing-2026.txt")
    item = next(it for it in report.items if "温榆河公园" in it.text)
    args = [
        "corrections",
        "add",
        item.id,
        "--note",
        "温榆河公园, 朝阳区",
        "--report",
        str(SHARED / "beijing-2026.txt"),
        "--place",
        "温榆河公园",
        "--data-dir",
        str(tmp_path),
    ]
    assert main([*args[:3], "--geometry", "POINT (116.55 40.02)", *args[3:]]) == 0  # in Beijing
    assert main([*args[:3], "--geometry", "POINT (112.55 37.87)", *args[3:]]) == 2  # Taiyuan: outside Beijing
    assert len(CorrectionStore.in_data_dir(tmp_path).all()) == 1


@needs_shared
def test_a_planner_shows_this_years_plan_only_in_the_app():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.session_state["report"] = ((SHARED / "shanxi-2026.txt").read_bytes(), "shanxi-2026.txt")
    at.run()
    parts = at.multiselect(key="f_parts")
    assert parts.options == ["工作回顾", "今年工作安排", "主要目标", "政府自身建设"]  # the report's parts, in order
    all_items = int(re.search(r"(\d+) 项", "".join(h.proto.body for h in at.get("html")))[1])
    parts.set_value(["plan"]).run()
    assert not at.exception
    head = "".join(h.proto.body for h in at.get("html"))
    plan_items = int(re.search(r"(\d+) 项", head)[1])
    assert 0 < plan_items < all_items
    assert "plan" in str(at.query_params.get("part"))  # in the URL: a shared link shows the plan only
