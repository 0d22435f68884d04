"""Planners' review of online candidates: missing names, accepting one, and ``geoplan geocode-missing``."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from shapely.geometry import Point

from geoplan.cli import main
from geoplan.corrections import CorrectionStore
from geoplan.datum import convert_coords
from geoplan.errors import GeometryError
from geoplan.features import features_from_path
from geoplan.gazetteer import load_gazetteer
from geoplan.geocoders import base
from geoplan.geocoders.base import Candidate
from geoplan.review import MissingName, accept, missing_names

from conftest import DATA, REPORT

RECORDED = DATA / "recorded"
ASKED = "社会康养中心"  # a name the shipped report uses and the gazetteer lacks


@pytest.fixture(scope="module")
def gdf():
    return features_from_path(REPORT, gazetteer=load_gazetteer())


class Router:
    """Replays AMap: the recorded POI list for ``ASKED``, the recorded empty answer for every other name."""

    def __init__(self, found: str = "amap/place-text.json", status: int = 200) -> None:
        self.found, self.status = found, status
        self.asked: list[str] = []

    def __call__(self, url: str, params: dict[str, str], timeout: float) -> tuple[int, bytes]:
        assert url.endswith("/v3/place/text") and params["citylimit"] == "true" and params["city"] == "140100"
        self.asked.append(params["keywords"])
        name = self.found if params["keywords"] == ASKED else "amap/place-text-empty.json"
        return self.status, (RECORDED / name).read_bytes()


def _run(monkeypatch, capsys, args: list[str], stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_missing_names_of_the_shipped_report(gdf):
    names = missing_names(gdf)
    assert [m.name for m in names] == ["职教园区", "安宁疗护中心", "社会康养中心"]
    (medical,) = (m for m in names if m.name == ASKED)
    assert medical.item_ids == ("it-7a94822206",) and ASKED in medical.text
    unresolved = {n for u in gdf["unresolved"].dropna() for n in u.split("；")}
    assert unresolved == {m.name for m in names}  # every name, none twice


def test_accept_stores_one_correction_per_item_naming_the_service(tmp_path):
    store = CorrectionStore(tmp_path / "c.sqlite")
    missing = MissingName("测试中心", ("it-a", "it-b"), "…")
    cand = Candidate(
        name="测试中心",
        kind="科研机构",
        geometry=Point(112.5621, 37.8123),
        address="小店区",
        provider="tianditu",
        raw={},
        distance_km=27.0,
        asked_at="2026-12-02T02:30:00+00:00",
        licence="data © 天地图",
    )
    saved = accept(store, missing, cand, author="王工")
    assert [(c.item_id, c.place, c.author) for c in saved] == [
        ("it-a", "测试中心", "王工"),
        ("it-b", "测试中心", "王工"),
    ]
    assert all("tianditu" in c.note and "2026-12-02T02:30:00+00:00" in c.note for c in saved)
    assert saved[0].geometry.equals(cand.geometry)
    beijing = Candidate("测试中心", "", Point(116.404, 39.915), "", "amap", {}, asked_at="t")
    with pytest.raises(GeometryError):
        accept(store, missing, beijing)
    assert len(store.all()) == 2  # nothing written for the refused one


def test_geocode_missing_accepts_a_piped_choice_that_build_then_applies(tmp_path, monkeypatch, capsys):
    router = Router()
    monkeypatch.setattr(base, "urllib_transport", router)
    data = tmp_path / "data"
    args = ["geocode-missing", str(REPORT), "--geocoder", "amap", "--key", "test-key", "--data-dir", str(data)]
    code, out, err = _run(monkeypatch, capsys, [*args, "--author", "王工"], stdin="2\n")
    assert code == 0, err
    assert router.asked == ["职教园区", "安宁疗护中心", ASKED]
    # Candidates in the city, nearest the centre first, with kind and distance; the Beijing one is not offered.
    assert (
        "1. 测试中心(北区) · 科教文化服务;科研机构;科研机构 · 14.7 km · 山西省太原市尖草坪区测试路3号 · amap" in out
        and "北京办事处" not in out
    )
    assert "2. 测试中心 · " in out and "accepted -> correction #1" in out
    assert "3 names asked, 1 accepted, 2 without candidates" in err
    (c,) = CorrectionStore.in_data_dir(data).all()
    assert (c.item_id, c.place, c.author) == ("it-7a94822206", ASKED, "王工")
    assert "amap candidate '测试中心'" in c.note and "asked 20" in c.note and "GCJ-02" in c.note
    expected = convert_coords(112.5621, 37.8123, src="GCJ-02")
    assert (c.geometry.x, c.geometry.y) == pytest.approx(expected, abs=1e-6)

    built = tmp_path / "built.geojson"
    assert main(["build", str(REPORT), "--data-dir", str(data), "-o", str(built)]) == 0
    feats = json.loads(built.read_text("utf-8"))["features"]
    (row,) = (f for f in feats if f["properties"]["item_id"] == "it-7a94822206")
    assert row["properties"]["name"] == ASKED and row["properties"]["precision"] == "corrected"
    assert row["geometry"]["coordinates"] == pytest.approx(list(expected), abs=1e-6)
    assert "amap candidate" in row["properties"]["source"] and not row["properties"]["unresolved"]

    # Asked again: the corrected name is no longer missing, and the others come from the cache.
    code, out, err = _run(monkeypatch, capsys, [*args, "--list-only"])
    assert code == 0 and "2 names asked, 0 accepted" in err and len(router.asked) == 3


def test_geocode_missing_lists_only_without_an_answer_on_stdin(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(base, "urllib_transport", Router())
    data = tmp_path / "data"
    args = ["geocode-missing", str(REPORT), "--geocoder", "amap", "--key", "k", "--data-dir", str(data)]
    code, out, err = _run(monkeypatch, capsys, args, stdin="")
    assert code == 0 and "listing only" in err and "1. 测试中心(北区)" in out
    assert "3 names asked, 0 accepted" in err and not CorrectionStore.in_data_dir(data).all()
    code, out, err = _run(monkeypatch, capsys, [*args, "--yes-first"])
    assert code == 0 and "1 accepted" in err
    (c,) = CorrectionStore.in_data_dir(data).all()
    assert "测试中心(北区)" in c.note  # the nearest


def test_geocode_missing_service_failure_is_one_line_and_not_cached(tmp_path, monkeypatch, capsys):
    router = Router()
    monkeypatch.setattr(
        base, "urllib_transport", lambda u, p, t: (200, (RECORDED / "amap/invalid-key.json").read_bytes())
    )
    data = tmp_path / "data"
    args = ["geocode-missing", str(REPORT), "--geocoder", "amap", "--key", "bad", "--data-dir", str(data)]
    code, out, err = _run(monkeypatch, capsys, args, stdin="1\n")
    assert code == 2 and "Traceback" not in err
    assert (
        err.strip().splitlines()[-1] == "geoplan: error: amap failed for '职教园区': INVALID_USER_KEY (infocode 10001)"
    )
    cache = data / "cache" / "geocoder-answers.sqlite"
    assert sqlite3.connect(cache).execute("SELECT count(*) FROM answers").fetchone()[0] == 0
    monkeypatch.setattr(base, "urllib_transport", router)  # with a good key the same names are asked afresh
    assert _run(monkeypatch, capsys, [*args, "--list-only"])[0] == 0 and router.asked[0] == "职教园区"


def test_geocode_missing_needs_a_key_and_build_takes_no_online_answers(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GEOPLAN_TIANDITU_KEY", raising=False)
    code, _, err = _run(monkeypatch, capsys, ["geocode-missing", str(REPORT), "--geocoder", "tianditu"])
    assert code == 2 and "tianditu needs your own key" in err
    code, _, err = _run(monkeypatch, capsys, ["build", str(REPORT), "--geocoder", "nominatim"])
    assert code == 2 and "geocode-missing" in err and "review" in err


def test_cli_help_lists_geocode_missing(monkeypatch, capsys):
    code, out, _ = _run(monkeypatch, capsys, ["geocode-missing", "--help"])
    assert code == 0 and "--yes-first" in out and "--list-only" in out and Path(REPORT).exists()


def test_app_panel_lists_candidates_and_accepts_one(monkeypatch, _data_dir, gdf):
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    monkeypatch.setattr(base, "urllib_transport", Router())
    monkeypatch.setenv("GEOPLAN_AMAP_KEY", "test-key")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90).run()

    def located_items() -> int:  # the header's counts line: "39 项 · 已定位 7 · …"
        return int(re.search(r"已定位 (\d+)", "".join(h.proto.body for h in at.get("html")))[1])

    located = located_items()
    at.toggle(key="edit").set_value(True).run()
    assert not at.exception
    assert any(e.label == "在线候选 / Online suggestions" for e in at.expander)
    assert at.selectbox(key="ol_name").options == ["职教园区", "安宁疗护中心", ASKED]
    at.selectbox(key="ol_name").set_value(ASKED).run()
    at.button(key="ol_ask").click().run()
    choices = at.radio(key="ol_choice")
    assert [o.split(" · ")[0] for o in choices.options] == ["测试中心(北区)", "测试中心", "测试中心停车场"]
    assert any("AMap" in c.value for c in at.caption)
    choices.set_value(1)
    at.text_input(key="ol_author").set_value("王工")
    at.button(key="ol_accept").click().run()
    assert not at.exception and any("#1" in s.value for s in at.success)
    (c,) = CorrectionStore.in_data_dir(_data_dir).all()
    assert (c.item_id, c.place, c.author) == ("it-7a94822206", ASKED, "王工") and "amap candidate '测试中心'" in c.note
    assert located_items() == located + 1
    assert ASKED not in at.selectbox(key="ol_name").options  # located now, so no longer missing


def test_app_panel_shows_a_service_failure(monkeypatch, _data_dir):
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    monkeypatch.setattr(
        base, "urllib_transport", lambda u, p, t: (200, (RECORDED / "amap/quota-exceeded.json").read_bytes())
    )
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90).run()
    at.toggle(key="edit").set_value(True).run()
    at.text_input(key="ol_key").set_value("typed-key").run()
    at.button(key="ol_ask").click().run()
    assert any("DAILY_QUERY_OVER_LIMIT" in e.value for e in at.error)
    assert not CorrectionStore.in_data_dir(_data_dir).all()
