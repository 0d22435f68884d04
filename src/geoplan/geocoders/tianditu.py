"""天地图 (Tianditu), the national mapping service: geocoding and POI search within an administrative code.

Needs the planner's own key (``tk``). Coordinates are CGCS2000, which differs from WGS84 by well under a
metre, so they are taken as WGS84 unchanged (``datum`` says CGCS2000; nothing is converted).

- Geocoder (``/geocoder?ds={"keyWord": …}``): ``status`` "0" found, "101" nothing found, anything else
  (e.g. "404") an error with ``msg``; the place is ``location{lon, lat, level}``.
- Search (``/v2/search?postStr={…, "queryType": 12, "specify": "156<adcode>"}&type=query``): the
  administrative-area search, restricted to the city's 9-digit code; ``status{infocode, cndesc}`` with
  infocode 1000 for a served request; places in ``pois[{name, address, lonlat "lon,lat", typeName}]``.
- A refused key or spent quota comes back as HTTP 403/429 or as a ``msg`` naming the key or the limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from geoplan.datum import Datum
from geoplan.errors import GeocoderAuthError, GeocoderError, GeocoderQuotaError, GeocoderReplyError
from geoplan.geocoders.base import CityScope, Hit, OnlineGeocoder, number

GEOCODE_URL = "https://api.tianditu.gov.cn/geocoder"
SEARCH_URL = "https://api.tianditu.gov.cn/v2/search"
CHINA_PREFIX = "156"  # Tianditu's administrative codes are the 6-digit adcode behind China's ISO number

_AUTH_WORDS = ("key", "tk", "权限", "授权", "密钥", "非法")
_QUOTA_WORDS = ("超限", "超过", "上限", "次数", "limit", "频繁")


def _error_class(said: str) -> type[GeocoderError]:
    low = said.lower()
    if any(w in low for w in _QUOTA_WORDS):
        return GeocoderQuotaError
    if any(w in low for w in _AUTH_WORDS):
        return GeocoderAuthError
    return GeocoderError


@dataclass(frozen=True)
class TiandituGeocoder(OnlineGeocoder):
    """天地图 geocoding (``geocode``) and administrative-area POI search (``candidates``)."""

    name: ClassVar[str] = "tianditu"
    datum: ClassVar[Datum] = Datum.WGS84  # CGCS2000, taken as WGS84
    licence: ClassVar[str] = "data © 天地图 (National Platform for Common GeoSpatial Information Services)"

    def _geocode_request(self, query: str, city: CityScope | None) -> tuple[str, dict[str, str]]:
        keyword = query if city is None or query.startswith(city.name) else f"{city.name}{query}"
        ds = json.dumps({"keyWord": keyword}, ensure_ascii=False, separators=(",", ":"))
        return GEOCODE_URL, {"ds": ds, "tk": self.key or ""}

    def _search_request(self, query: str, city: CityScope | None) -> tuple[str, dict[str, str]]:
        post: dict[str, Any] = {"keyWord": query, "start": 0, "count": self.limit}
        if city is not None and city.adcode:
            post.update(queryType=12, specify=f"{CHINA_PREFIX}{city.adcode}")
        elif city is not None and city.bounds is not None:
            x0, y0, x1, y1 = city.bounds
            post.update(queryType=2, level=12, mapBound=f"{x0:.6f},{y0:.6f},{x1:.6f},{y1:.6f}")
        else:
            post.update(queryType=1, level=12, mapBound="73,3,136,54")
        body = json.dumps(post, ensure_ascii=False, separators=(",", ":"))
        return SEARCH_URL, {"postStr": body, "type": "query", "tk": self.key or ""}

    def _secret_params(self) -> tuple[str, ...]:
        return ("tk",)

    def _check(self, doc: Any, query: str) -> None:
        if not isinstance(doc, dict):
            raise self._fail(GeocoderReplyError, query, f"reply is not a JSON object: {str(doc)[:120]!r}")
        status = doc.get("status")
        if isinstance(status, dict):  # search API
            code = str(status.get("infocode", ""))
            if code == "1000":
                return
            said = f"{status.get('cndesc') or 'no message'} (infocode {code or '?'})"
            raise self._fail(_error_class(said), query, said)
        if status is None:
            said = str(doc.get("msg") or doc.get("message") or "")
            if said:
                raise self._fail(_error_class(said), query, said)
            raise self._fail(GeocoderReplyError, query, f"reply without a status: {str(doc)[:120]!r}")
        code = str(status)
        if code in ("0", "101"):
            return
        said = f"{doc.get('msg') or 'no message'} (status {code})"
        raise self._fail(_error_class(said), query, said)

    def _hits(self, doc: Any, query: str) -> list[Hit]:
        if not isinstance(doc, dict):
            return []
        try:
            if isinstance(doc.get("status"), dict):  # search: only resultType 1 lists places
                pois = doc.get("pois") or []
                if not isinstance(pois, list):
                    raise TypeError("pois is not a list")
                hits = []
                for p in pois:
                    lon_s, lat_s = str(p["lonlat"]).replace(" ", ",").split(",")
                    address = "".join(str(p.get(k) or "") for k in ("province", "city", "county", "address"))
                    hits.append(
                        Hit(
                            name=str(p.get("name") or query),
                            kind=str(p.get("typeName") or ""),
                            lon=number(lon_s, "longitude"),
                            lat=number(lat_s, "latitude"),
                            address=address,
                            raw=dict(p),
                        )
                    )
                return hits
            if str(doc.get("status")) != "0":
                return []
            loc = doc["location"]
            keyword = str(loc.get("keyWord") or query)
            return [
                Hit(
                    name=query,
                    kind=str(loc.get("level") or ""),
                    lon=number(loc["lon"], "longitude"),
                    lat=number(loc["lat"], "latitude"),
                    address=keyword,
                    raw=dict(loc),
                )
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise self._fail(GeocoderReplyError, query, f"a place without a usable location ({err})") from err
