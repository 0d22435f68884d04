"""AMap (高德) web service: geocoding and POI search, answers in GCJ-02, converted to WGS84 on the way in.

Needs the planner's own web-service key. The city restriction is AMap's own: ``city=<adcode>`` and,
for the POI search, ``citylimit=true``. AMap answers HTTP 200 with ``status`` "0" and an ``infocode``
for every failure (bad key, quota); those raise with AMap's ``info`` and are never cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from geoplan.datum import Datum
from geoplan.errors import GeocoderAuthError, GeocoderError, GeocoderQuotaError, GeocoderReplyError
from geoplan.geocoders.base import CityScope, Hit, OnlineGeocoder, number

GEOCODE_URL = "https://restapi.amap.com/v3/geocode/geo"
SEARCH_URL = "https://restapi.amap.com/v3/place/text"
MAX_PAGE = 25  # place/text answers at most 25 places a page

# AMap's infocodes (its "错误码说明" table): the key is refused, or its quota / rate is spent.
AUTH_CODES = frozenset(
    {
        "10001",
        "10002",
        "10005",
        "10006",
        "10007",
        "10008",
        "10009",
        "10011",
        "10012",
        "10013",
        "10026",
        "40000",
        "40001",
        "40002",
        "40003",
    }
)
QUOTA_CODES = frozenset({"10003", "10004", "10010", "10014", "10019", "10020", "10021", "10029", "10044", "10045"})


def _text(value: Any) -> str:
    """AMap writes an empty field as ``[]``; anything else as a string."""
    return "" if value in (None, [], "") else str(value)


@dataclass(frozen=True)
class AMapGeocoder(OnlineGeocoder):
    """高德 geocoding (``geocode``) and keyword POI search in the city (``candidates``)."""

    name: ClassVar[str] = "amap"
    datum: ClassVar[Datum] = Datum.GCJ02
    licence: ClassVar[str] = "data © AMap (高德), for review only"

    def _city_param(self, city: CityScope | None) -> dict[str, str]:
        if city is None:
            return {}
        return {"city": city.adcode or city.name}

    def _geocode_request(self, query: str, city: CityScope | None) -> tuple[str, dict[str, str]]:
        return GEOCODE_URL, {"key": self.key or "", "address": query, "output": "JSON", **self._city_param(city)}

    def _search_request(self, query: str, city: CityScope | None) -> tuple[str, dict[str, str]]:
        params = {
            "key": self.key or "",
            "keywords": query,
            "output": "JSON",
            "offset": str(min(self.limit, MAX_PAGE)),
            "page": "1",
            "extensions": "base",
            **self._city_param(city),
        }
        if city is not None:
            params["citylimit"] = "true"
        return SEARCH_URL, params

    def _secret_params(self) -> tuple[str, ...]:
        return ("key",)

    def _check(self, doc: Any, query: str) -> None:
        if not isinstance(doc, dict) or "status" not in doc:
            raise self._fail(GeocoderReplyError, query, f"reply without a status: {str(doc)[:120]!r}")
        if str(doc["status"]) == "1":
            return
        code = str(doc.get("infocode", ""))
        said = f"{doc.get('info') or 'no message'} (infocode {code or '?'})"
        cls = GeocoderAuthError if code in AUTH_CODES else GeocoderQuotaError if code in QUOTA_CODES else GeocoderError
        raise self._fail(cls, query, said)

    def _hits(self, doc: Any, query: str) -> list[Hit]:
        field = next((k for k in ("geocodes", "pois") if k in doc), None) if isinstance(doc, dict) else None
        if field is None:  # a served request always lists its places, even none
            raise self._fail(GeocoderReplyError, query, "reply lists no geocodes or pois")
        records = doc[field]
        if records in ([], ""):
            return []
        if not isinstance(records, list):
            raise self._fail(GeocoderReplyError, query, f"places are not a list: {str(records)[:120]!r}")
        hits = []
        for rec in records:
            try:
                lon_s, lat_s = str(rec["location"]).split(",")
                lon, lat = number(lon_s, "longitude"), number(lat_s, "latitude")
            except (KeyError, TypeError, ValueError) as err:
                raise self._fail(GeocoderReplyError, query, f"a place without a usable location ({err})") from err
            if "formatted_address" in rec:  # geocode answer
                name = _text(rec.get("formatted_address")) or query
                address = name
                kind = _text(rec.get("level"))
            else:  # POI
                name = _text(rec.get("name")) or query
                address = "".join(_text(rec.get(k)) for k in ("pname", "cityname", "adname", "address"))
                kind = _text(rec.get("type"))
            hits.append(Hit(name=name, kind=kind, lon=lon, lat=lat, address=address, raw=dict(rec)))
        return hits
