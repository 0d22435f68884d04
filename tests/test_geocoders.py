"""Geocoders: the gazetteer by default; the online backend on recorded answers only, never the network."""

from __future__ import annotations

import json

import pytest
from geopy.geocoders import Nominatim

from geoplan.datum import convert_coords
from geoplan.errors import GeocoderError
from geoplan.features import features_from_report
from geoplan.geocoders import GazetteerGeocoder, Geocoder
from geoplan.geocoders.online import OnlineGeocoder, _amap_class
from geoplan.parse import report_from_text

from conftest import DATA

RECORDED = DATA / "recorded"


def test_gazetteer_geocoder(gaz):
    coder = GazetteerGeocoder(gaz)
    assert isinstance(coder, Geocoder)
    station = coder.geocode("太原火车站")
    assert station.geometry.geom_type == "Point" and station.geocoder == "gazetteer"
    school = coder.geocode("万柏林一中")  # known only to its district
    assert school.precision == "district" and school.geometry.equals(gaz["万柏林区"].geometry)
    assert coder.geocode("不存在的地方") is None


class _Recorded:
    """Stands in for geopy's HTTP layer: hands the recorded JSON to geopy's own parser."""

    def __init__(self, payload):
        self.payload = payload
        self.calls = 0

    def __call__(self, url, callback, *, timeout=None, is_json=True, headers=None):
        self.calls += 1
        return callback(self.payload)


def test_nominatim_on_a_recorded_answer_is_cached(tmp_path, monkeypatch):
    client = Nominatim(user_agent="geoplan-tests")
    recorded = _Recorded(json.loads((RECORDED / "nominatim-search.json").read_text("utf-8")))
    monkeypatch.setattr(client, "_call_geocoder", recorded)
    coder = OnlineGeocoder("nominatim", cache_dir=tmp_path, client=client)
    loc = coder.geocode("测试地点")
    assert (loc.geometry.x, loc.geometry.y) == (112.538, 37.856)
    assert loc.geocoder == "nominatim" and loc.confidence == "low" and loc.precision == "near"
    assert loc.converted_from is None
    again = OnlineGeocoder("nominatim", cache_dir=tmp_path, client=client).geocode("测试地点")
    assert again.geometry.equals(loc.geometry) and recorded.calls == 1  # second answer from the disk cache


def test_amap_answers_are_converted_from_gcj02(tmp_path, monkeypatch):
    client = _amap_class()(api_key="test-key")
    recorded = _Recorded(json.loads((RECORDED / "amap-geocode.json").read_text("utf-8")))
    monkeypatch.setattr(client, "_call_geocoder", recorded)
    loc = OnlineGeocoder("amap", api_key="test-key", cache_dir=tmp_path, client=client).geocode("测试地点")
    expected = convert_coords(112.5442, 37.8573, src="GCJ-02")
    assert (loc.geometry.x, loc.geometry.y) == pytest.approx(expected, abs=1e-6)
    assert loc.converted_from == "GCJ-02" and loc.datum == "GCJ-02"


def test_configuration_errors():
    with pytest.raises(GeocoderError):
        OnlineGeocoder("google")
    with pytest.raises(GeocoderError, match="key"):
        OnlineGeocoder("amap")


def test_online_backend_serves_names_the_gazetteer_lacks(gaz, tmp_path, monkeypatch):
    client = Nominatim(user_agent="geoplan-tests")
    monkeypatch.setattr(client, "_call_geocoder",
                        _Recorded(json.loads((RECORDED / "nominatim-search.json").read_text("utf-8"))))
    coder = OnlineGeocoder("nominatim", cache_dir=tmp_path, client=client)
    report = report_from_text("关键词:民生\n◆加快建设国家区域医疗中心。\n◆实施迎泽西大街改造。", source="t")
    gdf = features_from_report(report, gazetteer=gaz, geocoders=[coder])
    online = gdf[gdf["geocoder"] == "nominatim"]
    assert list(online["name"]) == ["国家区域医疗中心"]
    assert gdf[gdf["name"] == "迎泽西大街"]["geocoder"].item() == "gazetteer"
