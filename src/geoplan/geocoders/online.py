"""Optional online geocoding through geopy for names the gazetteer lacks.

Off by default and never used in tests: a planner turns it on with a service name (and, for AMap,
their own key). Answers are cached on disk under ``settings.data_dir()/geocache`` so a service is
asked once per name, and every result says it came from that service with low confidence, ``near``
precision, and (for AMap) that it was converted from GCJ-02.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import Point

from geoplan import settings
from geoplan._io import write_atomic
from geoplan.datum import Datum, convert_coords
from geoplan.errors import GeocoderError
from geoplan.models import Location

SERVICES = ("nominatim", "amap")


def _amap_class() -> type:
    from geopy.geocoders.base import DEFAULT_SENTINEL, Geocoder
    from geopy.location import Location as GeopyLocation

    class AMap(Geocoder):
        """AMap (高德) web geocoding in geopy's machinery; answers are GCJ-02."""

        api = "https://restapi.amap.com/v3/geocode/geo"

        def __init__(self, api_key: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            if not api_key:
                raise GeocoderError("AMap needs the user's own API key")
            self.api_key = api_key

        def geocode(self, query: str, *, city: str | None = None, timeout: Any = DEFAULT_SENTINEL) -> Any:
            from urllib.parse import urlencode

            params = {"key": self.api_key, "address": query, "output": "JSON"}
            if city:
                params["city"] = city
            url = f"{self.api}?{urlencode(params)}"
            return self._call_geocoder(url, self._parse, timeout=timeout)

        @staticmethod
        def _parse(doc: dict[str, Any]) -> Any:
            geocodes = doc.get("geocodes") or []
            if str(doc.get("status")) != "1" or not geocodes:
                return None
            first = geocodes[0]
            lon, lat = (float(v) for v in first["location"].split(","))
            return GeopyLocation(first.get("formatted_address", ""), (lat, lon), first)

    return AMap


@dataclass
class OnlineGeocoder:
    """Nominatim or AMap through geopy, restricted to one city, cached on disk."""

    service: str
    city: str = "太原市"
    api_key: str | None = None
    user_agent: str = "geoplan"
    cache_dir: Path | None = None
    client: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.service not in SERVICES:
            raise GeocoderError(f"unknown geocoding service {self.service!r}; choose one of {', '.join(SERVICES)}")
        if self.service == "amap" and not self.api_key:
            raise GeocoderError("AMap needs the user's own API key (--amap-key or GEOPLAN_AMAP_KEY)")
        self.cache_dir = Path(self.cache_dir or settings.data_dir() / "geocache")

    @property
    def name(self) -> str:
        return self.service

    def _client(self) -> Any:
        if self.client is None:
            if self.service == "nominatim":
                from geopy.geocoders import Nominatim

                self.client = Nominatim(user_agent=self.user_agent)
            else:
                self.client = _amap_class()(api_key=self.api_key or "")
        return self.client

    def _cache_file(self, query: str) -> Path:
        digest = hashlib.sha1(f"{self.service}\n{self.city}\n{query}".encode()).hexdigest()[:16]
        assert self.cache_dir is not None
        return self.cache_dir / f"{self.service}-{digest}.json"

    def geocode(self, query: str) -> Location | None:
        cache = self._cache_file(query)
        if cache.exists():
            raw = json.loads(cache.read_text(encoding="utf-8"))
        else:
            raw = self._ask(query)
            write_atomic(cache, json.dumps(raw, ensure_ascii=False))
        if raw is None:
            return None
        lon, lat = float(raw["lon"]), float(raw["lat"])
        datum = Datum.GCJ02 if self.service == "amap" else Datum.WGS84
        if datum is not Datum.WGS84:
            lon, lat = convert_coords(lon, lat, src=datum)
        return Location(
            name=query, kind="facility", geometry=Point(round(lon, 7), round(lat, 7)), precision="near",
            source=f"{self.service} geocoding of {query!r}: {raw.get('address', '')}", confidence="low",
            geocoder=self.service, datum=str(datum),
            converted_from=str(datum) if datum is not Datum.WGS84 else None, raw=raw,
        )

    def _ask(self, query: str) -> dict[str, Any] | None:
        from geopy.exc import GeopyError

        try:
            if self.service == "amap":
                loc = self._client().geocode(query, city=self.city)
            else:
                loc = self._client().geocode(f"{self.city} {query}", exactly_one=True, language="zh")
        except GeopyError as err:
            raise GeocoderError(f"{self.service} failed for {query!r}: {err}") from err
        if loc is None:
            return None
        return {"lon": loc.longitude, "lat": loc.latitude, "address": loc.address}
