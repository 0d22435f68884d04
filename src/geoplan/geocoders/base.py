"""The geocoder interface and the precision vocabulary every location is stated in.

Precision follows the IATI GeographicalPrecision / AidData codes. China has one more level than
those codes name: 省 is ADM1, a 地级市 such as 太原 is ADM2, and its 区/县/县级市 are ADM3. IATI code 3
reads "the location is, or lies in, a second-order administrative division", so both a district of
Taiyuan and the city as a whole carry code 3; geoplan's own ``precision`` key tells them apart.

| key | IATI | meaning |
|---|---|---|
| site | 1 | exact site: a cited point, or a road/line traced along its course |
| near | 2 | near, within 25 km: an approximate position (estimate from a description) |
| estimated | 5 | estimated along a road or river or between places: a line or area built from cited points |
| district | 3 | somewhere in a 区/县 (ADM3 in China, lying in the ADM2 太原市); drawn as that district |
| city | 3 | city-wide: the whole 太原市 (ADM2) or no particular place; listed, not drawn |
| corrected | 1 | corrected by hand by a planner (the correction's note says how) |
| unlocated | — | names a site the gazetteer lacks; geometry null until someone adds it |
"""

from __future__ import annotations

import json
import logging
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from geoplan.datum import Datum, convert_coords
from geoplan.errors import (
    GeocoderAuthError,
    GeocoderConfigError,
    GeocoderError,
    GeocoderQuotaError,
    GeocoderReplyError,
    GeocoderTimeoutError,
    GeocoderUnavailableError,
)
from geoplan.geocoders._cache import AnswerCache, CachedAnswer, now_utc, request_key
from geoplan.models import Location

if TYPE_CHECKING:
    from geoplan.gazetteer import Gazetteer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Precision:
    key: str
    code: int | None
    label_zh: str
    label_en: str
    rank: int  # 0 is the most precise


PRECISION: dict[str, Precision] = {
    p.key: p
    for p in (
        Precision("corrected", 1, "人工校正", "corrected by hand", 0),
        Precision("site", 1, "精确地点", "exact site", 1),
        Precision("near", 2, "附近（25公里内）", "near (within 25 km)", 2),
        Precision("estimated", 5, "估计位置（沿线或片区）", "estimated (along a line or between places)", 3),
        Precision("district", 3, "区县范围", "district or county", 4),
        Precision("city", 3, "全市范围", "city-wide", 5),
        Precision("unlocated", None, "未定位", "unlocated", 6),
    )
}


def precision_info(key: str) -> Precision:
    return PRECISION[key]


@runtime_checkable
class Geocoder(Protocol):
    """A query in, a located place out; ``None`` for "not found" (only service failures raise)."""

    @property
    def name(self) -> str:
        """The backend's name in messages and caches (a class constant for the online services)."""
        ...

    def geocode(self, query: str) -> Location | None: ...

    def candidates(
        self, query: str, *, city: CityScope | None = None, centre: Point | None = None
    ) -> tuple[Candidate, ...]:
        """Every place the backend offers for ``query`` inside ``city``, nearest ``centre`` first."""
        ...


# -- online services: the records they answer with and the machinery they share ---------------------

EARTH_RADIUS_KM = 6371.0088


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance between two WGS84 lon/lat points (haversine; ample for ranking candidates)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a.x, a.y, b.x, b.y))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class CityScope:
    """The city a search is restricted to: its name and adcode for the service, its area to check answers.

    ``area`` is the city boundary buffered by ``settings.city_buffer_km`` (WGS84); ``centre`` is the
    centroid of the boundary, the point candidates are ranked from.
    """

    name: str
    adcode: str | None = None
    area: BaseGeometry | None = None
    centre: Point | None = None

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        return None if self.area is None else self.area.bounds

    def covers(self, geom: BaseGeometry) -> bool:
        return self.area is None or self.area.covers(geom)


def city_scope(gazetteer: Gazetteer) -> CityScope:
    """The gazetteer's city entry as a search scope; ``GeocoderConfigError`` if the gazetteer has none."""
    city = gazetteer.city
    if city is None or city.geometry is None:
        msg = f"the gazetteer ({', '.join(gazetteer.paths) or 'in memory'}) has no city boundary to search in"
        raise GeocoderConfigError(msg)
    centroid = city.geometry.centroid
    return CityScope(
        name=city.name,
        adcode=city.adcode,
        area=gazetteer.city_area,
        centre=Point(round(centroid.x, 6), round(centroid.y, 6)),
    )


@dataclass(frozen=True)
class Candidate:
    """One place a service offers for a name, in WGS84, for a planner to accept or pass over.

    ``raw`` is the service's own record, ``asked_at`` when the service was asked (UTC ISO 8601; for a
    cached answer, when it was first asked), ``distance_km`` from the city centre.
    """

    name: str
    kind: str
    geometry: Point
    address: str
    provider: str
    raw: dict[str, Any] = field(compare=False, repr=False)
    distance_km: float | None = None
    asked_at: str = ""
    datum: str = "WGS84"
    converted_from: str | None = None
    licence: str = ""

    @property
    def source(self) -> str:
        """Where this point comes from, in one line, for a correction's note or a table."""
        conv = f", converted from {self.converted_from}" if self.converted_from else ""
        lic = f"; {self.licence}" if self.licence else ""
        return (
            f"{self.provider} candidate {self.name!r} ({self.kind or 'no kind'}; {self.address or 'no address'})"
            f" at {self.geometry.x:.6f},{self.geometry.y:.6f} WGS84{conv}, asked {self.asked_at}{lic}"
        )


Transport = Callable[[str, Mapping[str, str], float], tuple[int, bytes]]
"""``(url, params, timeout_s) -> (HTTP status, body)``: how a request leaves the machine (tests replay)."""


def urllib_transport(url: str, params: Mapping[str, str], timeout: float) -> tuple[int, bytes]:
    """GET ``url?params`` with the standard library; an HTTP error status is returned, not raised."""
    full = f"{url}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(full, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (https/http only)
            return int(response.status), response.read(MAX_REPLY_BYTES + 1)
    except urllib.error.HTTPError as err:
        return int(err.code), err.read(MAX_REPLY_BYTES + 1) if err.fp is not None else b""


USER_AGENT = "geoplan (planners' review of government work report places)"
MAX_REPLY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Hit:
    """One place in a service's answer, still in the service's datum."""

    name: str
    kind: str
    lon: float
    lat: float
    address: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class OnlineGeocoder:
    """What AMap, Tianditu and Nominatim share: asking over HTTP, the disk cache, errors, datum, city.

    A provider names its service, datum and licence, builds its two requests (``_geocode_request``,
    ``_search_request``), raises on an error reply (``_check``) and lists the places of an answer
    (``_hits``). Everything else lives here, once. Answers are cached only after ``_check`` passed.
    """

    key: str | None = None
    city: CityScope | None = None
    cache: AnswerCache = field(default_factory=AnswerCache)
    transport: Transport = field(default=urllib_transport, repr=False)
    timeout_s: float = 10.0
    limit: int = 10

    name: ClassVar[str] = "online"
    datum: ClassVar[Datum] = Datum.WGS84
    licence: ClassVar[str] = ""
    needs_key: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.needs_key and not (self.key or "").strip():
            msg = f"{self.name} needs your own key (--key, or GEOPLAN_{self.name.upper()}_KEY)"
            raise GeocoderConfigError(msg, service=self.name)

    # -- what a provider fills in ------------------------------------------------------------------

    def _geocode_request(self, query: str, city: CityScope | None) -> tuple[str, dict[str, str]]:
        raise NotImplementedError

    def _search_request(self, query: str, city: CityScope | None) -> tuple[str, dict[str, str]]:
        raise NotImplementedError

    def _secret_params(self) -> tuple[str, ...]:
        """Parameters left out of the cache key (the API key)."""
        return ()

    def _check(self, doc: Any, query: str) -> None:
        """Raise ``GeocoderError`` (a subclass) with the service's own message if ``doc`` is an error."""

    def _hits(self, doc: Any, query: str) -> list[Hit]:
        raise NotImplementedError

    # -- shared machinery --------------------------------------------------------------------------

    def _fail(self, cls: type[GeocoderError], query: str, service_message: str) -> GeocoderError:
        msg = f"{self.name} failed for {query!r}: {service_message}"
        return cls(msg, service=self.name, service_message=service_message)

    def _send(self, endpoint: str, params: dict[str, str], query: str) -> Any:
        try:
            status, body = self.transport(endpoint, params, self.timeout_s)
        except TimeoutError as err:  # socket.timeout is TimeoutError
            raise self._fail(GeocoderTimeoutError, query, f"no answer within {self.timeout_s:g} s") from err
        except urllib.error.URLError as err:
            reason = err.reason
            if isinstance(reason, TimeoutError):
                raise self._fail(GeocoderTimeoutError, query, f"no answer within {self.timeout_s:g} s") from err
            raise self._fail(GeocoderUnavailableError, query, f"cannot reach the service ({reason})") from err
        except OSError as err:
            raise self._fail(GeocoderUnavailableError, query, f"cannot reach the service ({err})") from err
        if len(body) > MAX_REPLY_BYTES:
            raise self._fail(GeocoderReplyError, query, f"reply larger than {MAX_REPLY_BYTES} bytes")
        text = body.decode("utf-8", errors="replace")
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            doc = None
        if status != 200:
            said = _said(doc) or " ".join(text.split())[:200] or "no message"
            cls = (
                GeocoderAuthError
                if status in (401, 403)
                else GeocoderQuotaError
                if status == 429
                else GeocoderUnavailableError
                if status >= 500
                else GeocoderError
            )
            raise self._fail(cls, query, f"HTTP {status}: {said}")
        if doc is None:
            raise self._fail(GeocoderReplyError, query, f"reply is not JSON: {' '.join(text.split())[:120]!r}")
        self._check(doc, query)
        return doc

    def _ask(self, endpoint: str, params: dict[str, str], query: str) -> CachedAnswer:
        """The cached answer to this request, or a fresh one (cached once it is known not to be an error)."""
        public = {k: v for k, v in params.items() if k not in self._secret_params()}
        key = request_key(endpoint, public)
        cached = self.cache.get(self.name, key)
        if cached is not None:
            return cached
        asked_at = now_utc()
        doc = self._send(endpoint, params, query)
        self._hits(doc, query)  # a reply that cannot be read is an error, never cached
        return self.cache.put(self.name, key, doc, asked_at=asked_at)

    def _wgs84(self, hit: Hit) -> Point:
        lon, lat = hit.lon, hit.lat
        if self.datum is Datum.GCJ02 or self.datum is Datum.BD09:
            lon, lat = convert_coords(lon, lat, src=self.datum)
        return Point(round(lon, 7), round(lat, 7))

    @property
    def converted_from(self) -> str | None:
        return str(self.datum) if self.datum in (Datum.GCJ02, Datum.BD09) else None

    def geocode(self, query: str) -> Location | None:
        """The service's first answer inside the city, or ``None`` ("not found" is cached too)."""
        endpoint, params = self._geocode_request(query, self.city)
        answer = self._ask(endpoint, params, query)
        for hit in self._hits(answer.answer, query):
            point = self._wgs84(hit)
            if self.city is not None and not self.city.covers(point):
                log.info("%s: %r answered outside %s at %s; not used", self.name, query, self.city.name, point.wkt)
                continue
            lic = f"; {self.licence}" if self.licence else ""
            return Location(
                name=query,
                kind=hit.kind or "facility",
                geometry=point,
                precision="near",
                source=f"{self.name} geocoding of {query!r}, asked {answer.asked_at}: {hit.address}{lic}",
                confidence="low",
                geocoder=self.name,
                datum=str(self.datum),
                converted_from=self.converted_from,
                raw={**hit.raw, "asked_at": answer.asked_at},
            )
        return None

    def candidates(
        self, query: str, *, city: CityScope | None = None, centre: Point | None = None
    ) -> tuple[Candidate, ...]:
        """Places the service offers for ``query`` inside ``city``, nearest ``centre`` first.

        Places outside the city (a service's own restriction is loose at the edges) are left out and
        logged; an empty tuple means nothing was found, and is cached like any answer.
        """
        scope = city if city is not None else self.city
        centre = centre if centre is not None else (scope.centre if scope is not None else None)
        endpoint, params = self._search_request(query, scope)
        answer = self._ask(endpoint, params, query)
        found: list[Candidate] = []
        outside = 0
        for hit in self._hits(answer.answer, query):
            point = self._wgs84(hit)
            if scope is not None and not scope.covers(point):
                outside += 1
                continue
            found.append(
                Candidate(
                    name=hit.name,
                    kind=hit.kind,
                    geometry=point,
                    address=hit.address,
                    provider=self.name,
                    raw=hit.raw,
                    distance_km=None if centre is None else round(distance_km(centre, point), 3),
                    asked_at=answer.asked_at,
                    datum=str(self.datum),
                    converted_from=self.converted_from,
                    licence=self.licence,
                )
            )
        if outside:
            log.warning(
                "%s: %d candidate(s) for %r lie outside %s and are not offered",
                self.name,
                outside,
                query,
                scope.name if scope else "the city",
            )
        far = math.inf
        return tuple(sorted(found, key=lambda c: (far if c.distance_km is None else c.distance_km, c.name)))


def _said(doc: Any) -> str:
    """A service's own error words from a JSON error body, whatever the service calls them."""
    if not isinstance(doc, dict):
        return ""
    err = doc.get("error")
    if isinstance(err, dict):
        return str(err.get("message") or err.get("code") or "")
    for key in ("info", "msg", "message", "error"):
        if doc.get(key):
            return str(doc[key])
    return ""


def number(value: Any, what: str) -> float:
    """A finite float from a service's number or numeric string; ``ValueError`` naming ``what`` otherwise."""
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{what} is not a finite number: {value!r}")
    return x
