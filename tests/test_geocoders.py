"""Geocoders: the gazetteer by default; online services on recorded answers only, never the network."""

from __future__ import annotations

import http.server
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point

from geoplan.datum import convert_coords
from geoplan.errors import (
    GeocoderAuthError,
    GeocoderConfigError,
    GeocoderError,
    GeocoderQuotaError,
    GeocoderReplyError,
    GeocoderTimeoutError,
    GeoplanError,
)
from geoplan.features import features_from_report
from geoplan.geocoders import GazetteerGeocoder, Geocoder, city_scope
from geoplan.geocoders._cache import AnswerCache
from geoplan.geocoders.amap import AMapGeocoder
from geoplan.geocoders.base import urllib_transport
from geoplan.geocoders.nominatim import NominatimGeocoder
from geoplan.geocoders.online import SERVICES, geocoder_for
from geoplan.geocoders.tianditu import TiandituGeocoder
from geoplan.parse import report_from_text

from conftest import DATA

RECORDED = DATA / "recorded"
GEOD = Geod(ellps="WGS84")


class Replay:
    """Stands in for HTTP: answers each request with the next recorded (file, status); a surplus call fails."""

    def __init__(self, *answers: str | tuple[str, int]) -> None:
        self.answers = [a if isinstance(a, tuple) else (a, 200) for a in answers]
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, url: str, params: dict[str, str], timeout: float) -> tuple[int, bytes]:
        self.calls.append((url, dict(params)))
        if not self.answers:
            raise AssertionError(f"asked the service again: {url} {params}")
        name, status = self.answers.pop(0)
        return status, (RECORDED / name).read_bytes()


@pytest.fixture(scope="module")
def city(gaz):
    return city_scope(gaz)


def make(cls, replay, tmp_path: Path, city=None, **kw):
    key = None if cls is NominatimGeocoder else "test-key"
    extra = {"min_interval_s": 0.0} if cls is NominatimGeocoder else {}
    return cls(key=key, city=city, cache=AnswerCache(tmp_path / "answers.sqlite"), transport=replay, **extra, **kw)


def test_gazetteer_geocoder(gaz, city):
    coder = GazetteerGeocoder(gaz)
    assert isinstance(coder, Geocoder)
    station = coder.geocode("太原火车站")
    assert station.geometry.geom_type == "Point" and station.geocoder == "gazetteer"
    school = coder.geocode("万柏林一中")  # known only to its district
    assert school.precision == "district" and school.geometry.equals(gaz["万柏林区"].geometry)
    assert coder.geocode("不存在的地方") is None
    (cand,) = coder.candidates("太原火车站", city=city)
    assert cand.geometry.equals(station.geometry) and cand.provider == "gazetteer" and cand.distance_km > 0
    assert coder.candidates("不存在的地方", city=city) == ()


def test_every_provider_is_a_geocoder(tmp_path):
    for service in SERVICES:
        coder = geocoder_for(service, key="k", data_dir=tmp_path)
        assert isinstance(coder, Geocoder) and coder.name == service


def test_amap_geocode_is_converted_from_gcj02_and_cached_without_the_key(tmp_path, city):
    replay = Replay("amap/geocode-found.json")
    coder = make(AMapGeocoder, replay, tmp_path, city)
    loc = coder.geocode("测试中心")
    expected = convert_coords(112.5621, 37.8123, src="GCJ-02")
    assert (loc.geometry.x, loc.geometry.y) == pytest.approx(expected, abs=1e-6)
    assert (loc.geometry.x, loc.geometry.y) != pytest.approx((112.5621, 37.8123), abs=1e-4)  # it did shift
    assert loc.converted_from == "GCJ-02" and loc.datum == "GCJ-02" and loc.geocoder == "amap"
    assert loc.precision == "near" and loc.confidence == "low" and loc.raw["asked_at"] in loc.source
    ((url, params),) = replay.calls
    assert url.endswith("/v3/geocode/geo") and params["city"] == "140100" and params["address"] == "测试中心"
    again = make(AMapGeocoder, replay, tmp_path, city).geocode("测试中心")  # the replay has nothing left
    assert again.geometry.equals(loc.geometry) and again.raw["asked_at"] == loc.raw["asked_at"]
    stored = sqlite3.connect(tmp_path / "answers.sqlite").execute("SELECT request, asked_at FROM answers").fetchall()
    assert len(stored) == 1 and "test-key" not in stored[0][0] and stored[0][1] == loc.raw["asked_at"]


def test_pipeline_answer_recorded_first_still_reads(tmp_path):
    coder = make(AMapGeocoder, Replay("amap-geocode.json"), tmp_path)
    loc = coder.geocode("测试地点")
    assert (loc.geometry.x, loc.geometry.y) == pytest.approx(convert_coords(112.5442, 37.8573, src="GCJ-02"))


ERRORS = [
    # provider, call, recorded file, HTTP status, error class, the service's own words
    (AMapGeocoder, "geocode", "amap/invalid-key.json", 200, GeocoderAuthError, "INVALID_USER_KEY (infocode 10001)"),
    (AMapGeocoder, "candidates", "amap/quota-exceeded.json", 200, GeocoderQuotaError, "DAILY_QUERY_OVER_LIMIT"),
    (AMapGeocoder, "geocode", "amap/malformed.json", 200, GeocoderReplyError, "usable location"),
    (AMapGeocoder, "candidates", "amap/no-places.json", 200, GeocoderReplyError, "no geocodes or pois"),
    (AMapGeocoder, "geocode", "nominatim/blocked.html", 502, GeocoderError, "HTTP 502: <html>"),
    (TiandituGeocoder, "geocode", "tianditu/invalid-key.json", 403, GeocoderAuthError, "HTTP 403: 非法的key"),
    (TiandituGeocoder, "candidates", "tianditu/quota-exceeded.json", 200, GeocoderQuotaError, "访问次数超过限制"),
    (TiandituGeocoder, "geocode", "tianditu/geocoder-error.json", 200, GeocoderError, "服务出错 (status 404)"),
    (TiandituGeocoder, "candidates", "tianditu/search-error.json", 200, GeocoderError, "参数不正确 (infocode 1002)"),
    (TiandituGeocoder, "geocode", "tianditu/malformed.json", 200, GeocoderReplyError, "usable location"),
    (NominatimGeocoder, "candidates", "nominatim/blocked.html", 403, GeocoderAuthError, "Access blocked"),
    (NominatimGeocoder, "geocode", "nominatim/rate-limited.json", 429, GeocoderQuotaError, "Too Many Requests"),
    (NominatimGeocoder, "geocode", "nominatim/bad-request.json", 400, GeocoderError, "expects 4 coordinates"),
    (NominatimGeocoder, "geocode", "nominatim/malformed.json", 200, GeocoderReplyError, "usable location"),
    (NominatimGeocoder, "geocode", "nominatim/blocked.html", 200, GeocoderReplyError, "not JSON"),
]


@pytest.mark.parametrize(
    ("cls", "call", "name", "status", "error", "said"),
    ERRORS,
    ids=[f"{e[0].name}-{Path(e[2]).stem}-{e[3]}" for e in ERRORS],
)
def test_service_failures_raise_with_the_service_message_and_are_never_cached(
    tmp_path, city, cls, call, name, status, error, said
):
    replay = Replay((name, status), (name, status))
    coder = make(cls, replay, tmp_path, city)
    for attempt in (1, 2):  # the second call asks the service again: nothing was cached
        with pytest.raises(error) as info:
            getattr(coder, call)("测试中心")
        assert said in info.value.service_message and info.value.service_message in str(info.value)
        assert info.value.service == cls.name and isinstance(info.value, GeoplanError)
        assert len(replay.calls) == attempt
    assert len(coder.cache) == 0


def test_error_classes_resemble_their_builtins():
    assert issubclass(GeocoderAuthError, PermissionError) and issubclass(GeocoderQuotaError, ConnectionError)
    assert issubclass(GeocoderTimeoutError, TimeoutError) and issubclass(GeocoderReplyError, ValueError)
    assert issubclass(GeocoderConfigError, ValueError)
    assert all(issubclass(c, GeocoderError) for c in (GeocoderAuthError, GeocoderQuotaError, GeocoderReplyError))


def test_a_timeout_raises_and_is_not_cached(tmp_path, city):
    def slow(url, params, timeout):
        raise TimeoutError("timed out")

    coder = make(TiandituGeocoder, slow, tmp_path, city)
    with pytest.raises(GeocoderTimeoutError, match="no answer within 10 s"):
        coder.geocode("测试中心")
    assert len(coder.cache) == 0


EMPTY = [
    (AMapGeocoder, "geocode", "amap/geocode-empty.json"),
    (AMapGeocoder, "candidates", "amap/place-text-empty.json"),
    (TiandituGeocoder, "geocode", "tianditu/geocoder-empty.json"),
    (TiandituGeocoder, "candidates", "tianditu/search-empty.json"),
    (NominatimGeocoder, "geocode", "nominatim/search-empty.json"),
    (NominatimGeocoder, "candidates", "nominatim/search-empty.json"),
]


@pytest.mark.parametrize(("cls", "call", "name"), EMPTY, ids=[f"{e[0].name}-{e[1]}" for e in EMPTY])
def test_not_found_is_cached(tmp_path, city, cls, call, name):
    replay = Replay(name)  # one answer only: a second request would fail the test
    coder = make(cls, replay, tmp_path, city)
    empty = None if call == "geocode" else ()
    assert getattr(coder, call)("测试中心") == empty
    assert getattr(coder, call)("测试中心") == empty
    assert len(replay.calls) == 1 and len(coder.cache) == 1


def _km(a: Point, b: Point) -> float:
    return GEOD.inv(a.x, a.y, b.x, b.y)[2] / 1000


def test_amap_candidates_are_in_the_city_nearest_first(tmp_path, city, caplog):
    replay = Replay("amap/place-text.json")
    found = make(AMapGeocoder, replay, tmp_path, city).candidates("测试中心", city=city)
    ((url, params),) = replay.calls
    assert url.endswith("/v3/place/text") and params["citylimit"] == "true" and params["city"] == "140100"
    # The Beijing office AMap let through is left out (and logged); the rest are nearest the centre first.
    assert [c.name for c in found] == ["测试中心(北区)", "测试中心", "测试中心停车场"]
    assert "outside 太原市" in caplog.text
    assert all(city.area.covers(c.geometry) for c in found)
    for c in found:
        assert c.distance_km == pytest.approx(_km(city.centre, c.geometry), rel=5e-3)
        assert c.converted_from == "GCJ-02" and c.provider == "amap" and c.asked_at
    assert [c.distance_km for c in found] == sorted(c.distance_km for c in found)
    centre = found[1].geometry  # from another centre, another order
    near = make(AMapGeocoder, Replay(), tmp_path, city).candidates("测试中心", city=city, centre=centre)
    assert [c.name for c in near] == ["测试中心", "测试中心停车场", "测试中心(北区)"] and near[0].distance_km == 0


def test_tianditu_candidates_use_the_admin_code_and_keep_cgcs2000(tmp_path, city):
    replay = Replay("tianditu/search-found.json", "tianditu/geocoder-found.json")
    coder = make(TiandituGeocoder, replay, tmp_path, city)
    found = coder.candidates("测试中心")
    post = json.loads(replay.calls[0][1]["postStr"])
    assert post["queryType"] == 12 and post["specify"] == "156140100" and replay.calls[0][1]["type"] == "query"
    assert [c.name for c in found] == ["测试中心(北区)", "测试中心", "测试中心(阳曲)"]  # 15, 27, 33 km
    assert (found[1].geometry.x, found[1].geometry.y) == (112.5621, 37.8123)  # CGCS2000 taken as WGS84
    assert found[1].converted_from is None and found[1].kind == "科研机构" and "小店区" in found[1].address
    loc = coder.geocode("测试中心")
    assert json.loads(replay.calls[1][1]["ds"]) == {"keyWord": "太原市测试中心"}
    assert (loc.geometry.x, loc.geometry.y) == (112.5621, 37.8123) and loc.converted_from is None


def test_nominatim_is_bounded_to_the_city_and_says_osm(tmp_path, city):
    replay = Replay("nominatim/search-found.json")
    found = make(NominatimGeocoder, replay, tmp_path, city).candidates("测试中心")
    params = replay.calls[0][1]
    assert params["bounded"] == "1" and params["format"] == "jsonv2"
    x0, y1, x1, y0 = map(float, params["viewbox"].split(","))
    assert (x0, y0, x1, y1) == pytest.approx(city.bounds, abs=1e-6)
    assert [c.name for c in found] == ["测试中心北区", "测试中心"]
    assert all("© OpenStreetMap contributors" in c.licence and "OpenStreetMap" in c.source for c in found)
    assert found[1].kind == "amenity/research_institute" and found[1].converted_from is None


def test_geocode_answers_outside_the_city_are_not_used(tmp_path, city):
    body = {
        "status": "1",
        "info": "OK",
        "infocode": "10000",
        "count": "1",
        "geocodes": [
            {"formatted_address": "北京市东城区测试中心", "level": "兴趣点", "location": "116.404000,39.915000"}
        ],
    }
    coder = make(AMapGeocoder, lambda u, p, t: (200, json.dumps(body).encode()), tmp_path, city)
    assert coder.geocode("测试中心") is None


def test_configuration_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("GEOPLAN_AMAP_KEY", raising=False)
    with pytest.raises(GeocoderConfigError, match="unknown geocoding service 'google'"):
        geocoder_for("google")
    with pytest.raises(GeocoderConfigError, match="amap needs your own key"):
        geocoder_for("amap")
    with pytest.raises(GeocoderConfigError, match="tianditu needs your own key"):
        geocoder_for("tianditu", key="  ")
    monkeypatch.setenv("GEOPLAN_TIANDITU_KEY", "from-env")
    assert geocoder_for("tianditu").key == "from-env"
    assert geocoder_for("nominatim").key is None
    cache = geocoder_for("nominatim", data_dir=tmp_path).cache
    assert cache.path == tmp_path / "cache" / "geocoder-answers.sqlite"


class _Refusing(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = json.dumps({"error": {"code": 403, "message": f"refused {self.path[:20]}"}}).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_urllib_transport_returns_http_errors_on_loopback():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        status, body = urllib_transport(f"http://127.0.0.1:{server.server_port}/search", {"q": "测试"}, 5.0)
    finally:
        server.shutdown()
        server.server_close()
    assert status == 403 and json.loads(body)["error"]["message"].startswith("refused /search?q=%E6")


def test_online_backend_serves_names_the_gazetteer_lacks(gaz, tmp_path):
    coder = make(NominatimGeocoder, Replay("nominatim-search.json"), tmp_path)
    report = report_from_text("关键词:民生\n◆加快建设晋阳湖公园。\n◆实施迎泽西大街改造。", source="t")
    gdf = features_from_report(report, gazetteer=gaz, geocoders=[coder])
    online = gdf[gdf["geocoder"] == "nominatim"]
    assert list(online["name"]) == ["晋阳湖公园"]
    assert gdf[gdf["name"] == "迎泽西大街"]["geocoder"].item() == "gazetteer"


def test_the_network_guard_stops_the_real_transport():
    """The default transport is what a planner's run uses; under test it cannot leave the machine."""
    with pytest.raises(AssertionError, match="tried to reach the network"):
        urllib_transport("http://192.0.2.1/search", {"q": "测试"}, 1.0)  # TEST-NET-1, never routed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lon=st.floats(112.3, 112.8), lat=st.floats(37.6, 38.1))
def test_amap_candidates_land_where_the_gcj02_shift_came_from(tmp_path, city, lon, lat):
    gx, gy = convert_coords(lon, lat, src="WGS84", dst="GCJ-02")
    body = {
        "status": "1",
        "count": "1",
        "info": "OK",
        "infocode": "10000",
        "pois": [{"name": "测试点", "type": "", "address": [], "location": f"{gx:.6f},{gy:.6f}"}],
    }
    coder = AMapGeocoder(
        key="k",
        city=city,
        cache=AnswerCache(tmp_path / f"{lon}-{lat}.sqlite"),
        transport=lambda u, p, t: (200, json.dumps(body).encode()),
    )
    found = coder.candidates("测试点")
    if not city.area.covers(Point(lon, lat)):  # the box reaches past the city's edge: nothing is offered there
        assert found == ()
        return
    (cand,) = found
    assert (cand.geometry.x, cand.geometry.y) == pytest.approx((lon, lat), abs=2e-6)  # 6 decimals ≈ 0.1 m
    assert cand.distance_km == pytest.approx(_km(city.centre, Point(lon, lat)), rel=5e-3)


def test_page_sizes_stay_within_what_each_service_accepts(tmp_path, city):
    amap, osm = Replay("amap/place-text-empty.json"), Replay("nominatim/search-empty.json")
    make(AMapGeocoder, amap, tmp_path, city, limit=50).candidates("测试中心")
    make(NominatimGeocoder, osm, tmp_path, city, limit=50).candidates("测试中心")
    assert amap.calls[0][1]["offset"] == "25" and osm.calls[0][1]["limit"] == "40"


def test_a_deleted_cache_starts_afresh(tmp_path, city):
    replay = Replay("amap/geocode-empty.json", "amap/geocode-empty.json")
    coder = make(AMapGeocoder, replay, tmp_path, city)
    assert coder.geocode("测试中心") is None and len(coder.cache) == 1
    (tmp_path / "answers.sqlite").unlink()
    assert coder.geocode("测试中心") is None and len(replay.calls) == 2 and len(coder.cache) == 1
