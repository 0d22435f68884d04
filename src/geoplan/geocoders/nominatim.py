"""Nominatim (OpenStreetMap) search, restricted to the city's bounding box; answers are WGS84.

No key, but the service's usage policy asks for an identifying user agent and at most one request a
second, which ``min_interval_s`` keeps (answers come from the cache after the first time). Every
place it gives is OpenStreetMap data: © OpenStreetMap contributors, ODbL 1.0, said wherever shown.
Errors come back as HTTP 403 (blocked) / 429 (too many requests) or ``{"error": {"message": …}}``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from geoplan.datum import Datum
from geoplan.errors import GeocoderError, GeocoderReplyError
from geoplan.geocoders.base import CityScope, Hit, OnlineGeocoder, Transport, _said, number

SEARCH_URL = "https://nominatim.openstreetmap.org/search"
OSM_LICENCE = "© OpenStreetMap contributors, ODbL 1.0"
MAX_RESULTS = 40  # the search API's own ceiling for limit

_lock = threading.Lock()
_last_request = [0.0]


def _paced(transport: Transport, min_interval_s: float) -> Transport:
    """``transport`` sending at most one request per ``min_interval_s`` from this process."""

    def send(url: str, params: Mapping[str, str], timeout: float) -> tuple[int, bytes]:
        with _lock:
            wait = _last_request[0] + min_interval_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            _last_request[0] = time.monotonic()
        return transport(url, params, timeout)

    return send


@dataclass(frozen=True)
class NominatimGeocoder(OnlineGeocoder):
    """OpenStreetMap's Nominatim, ``viewbox`` + ``bounded=1`` on the city's bounds."""

    min_interval_s: float = 1.0
    email: str | None = None

    name: ClassVar[str] = "nominatim"
    datum: ClassVar[Datum] = Datum.WGS84
    licence: ClassVar[str] = OSM_LICENCE
    needs_key: ClassVar[bool] = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_interval_s > 0:
            object.__setattr__(self, "transport", _paced(self.transport, self.min_interval_s))

    def _request(self, query: str, city: CityScope | None, limit: int) -> tuple[str, dict[str, str]]:
        params = {
            "q": query,
            "format": "jsonv2",
            "limit": str(limit),
            "accept-language": "zh",
            "countrycodes": "cn",
            "addressdetails": "0",
        }
        if city is not None and city.bounds is not None:
            x0, y0, x1, y1 = city.bounds
            params.update(viewbox=f"{x0:.6f},{y1:.6f},{x1:.6f},{y0:.6f}", bounded="1")
        if self.email:
            params["email"] = self.email
        return SEARCH_URL, params

    def _geocode_request(self, query: str, city: CityScope | None) -> tuple[str, dict[str, str]]:
        return self._request(query, city, 1)

    def _search_request(self, query: str, city: CityScope | None) -> tuple[str, dict[str, str]]:
        return self._request(query, city, min(self.limit, MAX_RESULTS))

    def _secret_params(self) -> tuple[str, ...]:
        return ("email",)

    def _check(self, doc: Any, query: str) -> None:
        if isinstance(doc, list):
            return
        said = _said(doc)
        if said:
            raise self._fail(GeocoderError, query, said)
        raise self._fail(GeocoderReplyError, query, f"reply is not a list of places: {str(doc)[:120]!r}")

    def _hits(self, doc: Any, query: str) -> list[Hit]:
        hits = []
        for rec in doc or []:
            try:
                lon, lat = number(rec["lon"], "longitude"), number(rec["lat"], "latitude")
                kind = "/".join(str(rec.get(k)) for k in ("category", "type") if rec.get(k)) or "/".join(
                    str(rec.get(k)) for k in ("class", "type") if rec.get(k)
                )
                full = str(rec.get("display_name") or query)
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                raise self._fail(GeocoderReplyError, query, f"a place without a usable location ({err})") from err
            name = str(rec.get("name") or full.split(",")[0].strip() or query)
            hits.append(Hit(name=name, kind=kind, lon=lon, lat=lat, address=full, raw=dict(rec)))
        return hits
