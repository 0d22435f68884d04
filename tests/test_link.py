"""Linking: names, aliases and short forms found in items; longest match; no generic false positives."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, Point, box

from geoplan.gazetteer import Gazetteer, GazetteerEntry
from geoplan.link import Linker, surface_forms
from geoplan.models import Item, Occurrence, Status
from geoplan.parse import actions_from_text, item_id, status_from_actions

SRC = dict(confidence="high", source="test fixture (synthetic geometry)", datum="WGS84")


def _entry(name: str, kind: str, geom, *, aliases=(), precision="site", district=None) -> GazetteerEntry:
    return GazetteerEntry(
        name=name, kind=kind, geometry=geom, precision=precision, aliases=tuple(aliases), district=district, **SRC
    )


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    city = box(112.0, 37.5, 113.0, 38.3)
    return Gazetteer(
        entries=(
            _entry("太原市", "city", city, aliases=["太原"], precision="city"),
            _entry("万柏林区", "district", box(112.4, 37.8, 112.55, 37.95), aliases=["万柏林"], precision="district"),
            _entry("清徐县", "county", box(112.2, 37.5, 112.5, 37.7), aliases=["清徐"], precision="district"),
            _entry("万柏林区第一中学", "school", None, precision="district", district="万柏林区"),
            _entry("太原火车站", "station", Point(112.58, 37.85)),
            _entry("太原火车站东站房", "station", Point(112.585, 37.85)),
            _entry(
                "轨道交通1号线二期", "metro_line", LineString([(112.6, 37.75), (112.62, 37.74)]), precision="estimated"
            ),
            _entry("迎泽西大街", "road", LineString([(112.5, 37.86), (112.54, 37.86)]), precision="estimated"),
            _entry("新建路", "road", LineString([(112.56, 37.86), (112.56, 37.9)]), precision="estimated"),
        )
    )


def _item(text: str) -> Item:
    actions = actions_from_text(text)
    return Item(
        id=item_id(text),
        text=text,
        occurrences=(Occurrence("测试", None, 1),),
        actions=actions,
        status=status_from_actions(actions),
    )


def _names(gaz, text):
    return [(m.name, m.matched) for m in Linker(gaz).mentions(_item(text))]


def test_report_sentence_names_each_place_in_order(gaz):
    text = "实施迎泽西大街、新建路等维修改造工程,启动太原火车站东站房建设,推进幸福桥、大运路打通等工程"
    assert _names(gaz, text) == [
        ("迎泽西大街", "迎泽西大街"),
        ("新建路", "新建路"),
        ("太原火车站东站房", "太原火车站东站房"),
    ]


def test_longest_match_wins(gaz):
    # 太原火车站东站房 contains 太原火车站; 万柏林一中 contains the district's short form 万柏林.
    assert _names(gaz, "启动太原火车站东站房建设") == [("太原火车站东站房", "太原火车站东站房")]
    assert _names(gaz, "推动万柏林一中建成投用") == [("万柏林区第一中学", "万柏林一中")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("太原站东站房年内开工", "太原火车站东站房"),
        ("火车站东站房开工建设", "太原火车站东站房"),
        ("地铁1号线二期开展前期工作", "轨道交通1号线二期"),
        ("推进1号线二期前期工作", "轨道交通1号线二期"),
        ("万柏林区一中扩建", "万柏林区第一中学"),
        ("万柏林区第一中学新校区建成", "万柏林区第一中学"),
        ("太原站改造提升", "太原火车站"),
    ],
)
def test_short_forms_in_other_wording(gaz, text, expected):
    assert [n for n, _ in _names(gaz, text)] == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "推动太原市乡镇卫生院、社区卫生服务中心全部达到国家能力标准",
        "每个县(市、区)至少建成1所医养结合服务机构",
        "太原的城市更新要体现山水风光",
        "新建公办幼儿园10所",
    ],
)
def test_generic_words_are_not_places(gaz, text):
    assert _names(gaz, text) == []
    assert Linker(gaz).unknown_places(_item(text)) == ()


def test_county_short_form_links_the_county(gaz):
    assert _names(gaz, "支持清徐加快打造“城市融合型县城”示范样板") == [("清徐县", "清徐")]


def test_one_feature_per_place_per_item(gaz):
    assert _names(gaz, "迎泽西大街西段和迎泽西大街东段") == [("迎泽西大街", "迎泽西大街")]


def test_clause_status(gaz):
    ms = Linker(gaz).mentions(_item("实施迎泽西大街维修改造工程,启动太原火车站东站房建设"))
    assert [(m.name, m.status) for m in ms] == [
        ("迎泽西大街", Status.UNDER_CONSTRUCTION),
        ("太原火车站东站房", Status.STARTING),
    ]


def test_unknown_places_are_listed(gaz):
    item = _item("高标准建设国家区域医疗中心,加快筹设太原卫生职业学院,深入推进“百园兴绿”")
    # 国家区域医疗中心 is a designation (national regional medical centre), not one place's name.
    assert Linker(gaz).unknown_places(item) == ("太原卫生职业学院",)


def test_surface_forms():
    e = _entry("轨道交通3号线一期", "metro_line", None, precision="district")
    assert {"3号线一期", "地铁3号线一期", "轨道交通3号线一期"} <= surface_forms(e)
    s = _entry("太原火车站东站房", "station", None, precision="district")
    assert {"太原站东站房", "火车站东站房"} <= surface_forms(s, city_names=["太原市", "太原"])


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("强化山西大学学科建设", ["山西大学"]),
        ("抓好市人民医院新院区建设", ["市人民医院新院区"]),
        ("抓好市人民医院建设", ["市人民医院"]),
        ("新建化工路、中车、长江等小学", ["化工路小学", "中车小学", "长江小学"]),
        ("推进36中迁建", ["36中"]),
        ("谋划地铁5号线", ["地铁5号线"]),
        ("完善发展思路，建设开发区和新区", []),
        ("新建22个示范片区，打通断头路5条，发展集成电路", []),
    ],
)
def test_candidate_names_have_clean_boundaries(text, names):
    from geoplan.names import candidates_from_text

    assert [c.name for c in candidates_from_text(text)] == names


def test_candidate_kinds():
    from geoplan.names import kind_of

    assert [kind_of(n) for n in ("迎泽西大街", "36中", "地铁1号线", "晋祠泉", "汾河", "山西大学")] == [
        "road",
        "school",
        "metro_line",
        "spring",
        "river",
        "university",
    ]
