"""Parser tests on the shipped Taiyuan report and small fixture variants."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from geoplan.errors import GeoplanError, ReportError
from geoplan.models import Status
from geoplan.parse import (
    item_id,
    normalize_text,
    report_from_bytes,
    report_from_path,
    report_from_text,
    targets_from_text,
)

from conftest import DATA, REPORT


@pytest.fixture(scope="module")
def report():
    return report_from_path(REPORT)


def _by_text(report, fragment: str):
    hits = [it for it in report.items if fragment in it.text]
    assert len(hits) == 1, (fragment, [h.text for h in hits])
    return hits[0]


def test_domains_and_item_counts(report):
    names = [d.name for d in report.domains]
    assert names == ["主要预期目标", "消费", "城乡融合发展", "环境", "民生"]
    per_domain = {d.name: sum(len(s.item_ids) for s in d.sections) for d in report.domains}
    # 城乡融合发展 lists 14 item lines; five repeat earlier ones under a second heading.
    assert per_domain == {"主要预期目标": 0, "消费": 9, "城乡融合发展": 14, "环境": 7, "民生": 14}
    assert len(report.items) == 9 + 9 + 7 + 14


def test_every_item_line_maps_to_one_item(report):
    item_lines = [n for n, ln in enumerate(REPORT.read_text("utf-8").splitlines(), 1) if ln.lstrip().startswith("◆")]
    mapped = sorted(o.line for it in report.items for o in it.occurrences)
    assert mapped == item_lines


def test_sections_lose_trailing_full_stop(report):
    titles = [s.title for d in report.domains for s in d.sections]
    assert "打好品质提升攻坚战" in titles
    assert "推进“弱有众扶”" in titles
    assert not any(t and t.endswith("。") for t in titles)


def test_repeats_are_merged_keeping_every_occurrence(report):
    station = _by_text(report, "太原火车站东站房")
    assert [(o.section, o.line) for o in station.occurrences] == [
        ("打好品质提升攻坚战", 23),
        ("坚持“体检、更新”一体化推进", 33),
    ]
    metro = _by_text(report, "1号线二期")
    assert [o.line for o in metro.occurrences] == [24, 34]  # "1 号线" on line 34 normalised
    parks = _by_text(report, "口袋游园")
    assert [o.line for o in parks.occurrences] == [26, 36]  # "游园、 街头" on line 36
    repeated = [it for it in report.items if len(it.occurrences) > 1]
    assert len(repeated) == 5


def test_contained_item_is_a_repeat_of_the_longer_one(report):
    longer = _by_text(report, "既体现出现有的独特山水风光")
    assert [o.line for o in longer.occurrences] == [21, 32]
    assert "以城市片区为单元的系统化更新" in longer.text


def test_normalisation_removes_layout_spaces(report):
    texts = "\n".join(it.text for it in report.items)
    for fixed in ["改造战略研究", "1号线二期", "673个续建", "学位2500个", "游园、街头", "建设一流应用型", "绿色建筑"]:
        assert fixed in texts, fixed
    assert "精准落实" in _by_text(report, "精准落实").text[:4]
    assert normalize_text("Line 1 号线 and Metro 2") == "Line 1号线and Metro 2"
    assert normalize_text("打造 口袋游园、 街头绿地") == "打造口袋游园、街头绿地"


def test_byline_is_metadata(report):
    assert report.byline == "记者 梁耀华"
    last = _by_text(report, "残疾人两项补贴")
    assert last.text == "健全完善残疾人两项补贴制度,不断改善残疾人生活水平。"


def test_lead_and_targets(report):
    assert report.lead[0].startswith("2月25日")
    t = {x.name: x for x in report.targets}
    assert (t["地区生产总值增长"].value, t["地区生产总值增长"].unit, t["地区生产总值增长"].qualifier) == (
        5,
        "%",
        "左右",
    )
    assert (t["固定资产投资增长"].value, t["固定资产投资增长"].qualifier) == (6, "以上")
    assert (t["城镇新增就业"].value, t["城镇新增就业"].unit) == (8, "万人")
    assert t["进出口总额争取保持正增长"].value is None
    assert len(report.targets) == 8


def test_quantities_and_units(report):
    q = {x.text: x for it in report.items for x in it.quantities}
    assert q["673个"].value == 673 and q["673个"].unit == "个"
    assert q["2.4万个"].value == 2.4 and q["2.4万个"].unit == "万个"
    assert q["300场以上"].qualifier == "以上"
    for text in ["18个", "2500个", "2000张", "4.5个", "10所", "2万人", "1.5万人"]:
        assert text in q, text


def test_status_vocabulary(report):
    assert _by_text(report, "1号线二期").status is Status.PREPARATORY
    assert _by_text(report, "太原火车站东站房").status is Status.STARTING
    assert _by_text(report, "大东关小学").status is Status.COMPLETING
    assert _by_text(report, "新建公办幼儿园").status is Status.NEW_BUILD
    assert _by_text(report, "职教园区").status is Status.PREPARATORY
    # 创建成果 is no completion, 新建路 is a street: neither is an action.
    assert _by_text(report, "文明城市创建成果").status is Status.ONGOING_POLICY
    assert "新建" not in _by_text(report, "新建路").actions


def test_ids_are_stable_and_encoding_independent(report, data_dir):
    again = report_from_path(REPORT)
    assert [i.id for i in again.items] == [i.id for i in report.items]
    gb = report_from_bytes(REPORT.read_bytes().decode("utf-8").encode("gb18030"), source="x")
    assert gb.encoding == "gb18030"
    assert [i.id for i in gb.items] == [i.id for i in report.items]
    assert item_id("推进轨道交通1号线二期、3号线一期前期工作。") == item_id("推进轨道交通1号线二期、3号线一期前期工作")


@pytest.mark.parametrize(
    "name", ["small.txt", "small-crlf.txt", "small-bom.txt", "small-gb18030.txt", "small-fullwidth-colon.txt"]
)
def test_fixture_variants_parse_alike(name):
    rep = report_from_path(DATA / name)
    ref = report_from_path(DATA / "small.txt")
    assert rep.to_dict()["domains"] == ref.to_dict()["domains"]
    assert [d.name for d in rep.domains] == ["主要预期目标", "交通", "民生"]
    assert rep.byline == "记者 张三"
    assert rep.targets[0].value == 6


def test_domain_without_sections():
    rep = report_from_path(DATA / "small.txt")
    minsheng = rep.domains[2]
    assert [s.title for s in minsheng.sections] == [None]
    assert len(minsheng.sections[0].item_ids) == 2
    assert rep.domains[1].sections[0].title == "建设便捷交通"


@pytest.mark.parametrize(
    ("name", "line", "reason"),
    [
        ("blank.txt", 1, "empty"),
        ("no-markers.txt", 1, "no items found"),
        ("item-before-domain.txt", 2, "before any"),
        ("binary.bin", 3, "binary"),
    ],
)
def test_bad_input_names_file_and_line(name, line, reason):
    with pytest.raises(ReportError) as exc:
        report_from_path(DATA / name)
    assert exc.value.line == line
    assert reason in str(exc.value)
    assert str(exc.value).startswith(str(DATA / name) + f":{line}:")
    assert isinstance(exc.value, GeoplanError)


def test_undecodable_bytes_name_the_line():
    data = "关键词:交通\n◆修路。\n".encode() + b"\xff\xff\xff\n"
    with pytest.raises(ReportError) as exc:
        report_from_bytes(data, source="bad.txt")
    assert exc.value.line == 3


def test_missing_file():
    with pytest.raises(ReportError, match="cannot read file"):
        report_from_path(DATA / "does-not-exist.txt")


def test_parsing_is_deterministic(report):
    a = json.dumps(report.to_dict(), ensure_ascii=False)
    b = json.dumps(report_from_text(REPORT.read_text("utf-8"), source=str(REPORT)).to_dict(), ensure_ascii=False)
    assert a == b


def test_targets_from_text_handles_clauses_without_numbers():
    ts = targets_from_text("粮食产量稳定,PM2.5浓度下降3%以上。")
    assert [t.name for t in ts] == ["粮食产量稳定", "PM2.5浓度下降"]
    assert ts[1].value == 3 and ts[1].qualifier == "以上"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "geoplan.cli", *args], capture_output=True, text=True, check=False)


def test_cli_parse_json():
    res = _cli("parse", str(REPORT))
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    items = [i for d in doc["domains"] for s in d["sections"] for i in s["items"]]
    assert {"id", "text", "occurrences", "quantities", "status"} <= set(items[0])
    assert len({i["id"] for i in items}) == 39


def test_cli_parse_table():
    res = _cli("parse", str(REPORT), "--format", "table")
    assert res.returncode == 0
    assert "民生  [plan]" in res.stdout and "39 items in 5 domains" in res.stdout
    assert res.stdout.startswith("taiyuan-2025.txt: keyword-summary, city 太原市 (140100, by venue)")


def test_cli_errors_without_traceback():
    res = _cli("parse", str(DATA / "item-before-domain.txt"))
    assert res.returncode == 2
    assert "item-before-domain.txt:2:" in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_version_and_help():
    assert _cli("--version").stdout.startswith("geoplan ")
    assert "parse" in _cli("--help").stdout
    assert "--format" in _cli("parse", "--help").stdout


def test_a_bare_marker_before_a_byline_is_refused_in_one_line(tmp_path):
    """Hypothesis found '□' then a byline: the byline left an empty line that the heading check indexed."""
    path = tmp_path / "marker.txt"
    path.write_text("□\n记者 张三\n", encoding="utf-8")
    with pytest.raises(ReportError, match="no items found"):
        report_from_path(path)
