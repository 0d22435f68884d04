"""Pick an online geocoder by name: AMap (高德), 天地图 or Nominatim, each in its own module.

Online answers never reach the map on their own: ``geoplan geocode-missing`` and the app's
"在线候选 / Online suggestions" panel list them, and only a candidate a planner accepts becomes a
correction (``geoplan.review``). Answers are cached on disk with the time they were asked
(``geocoders._cache``); failures raise ``GeocoderError`` and are never cached.
"""

from __future__ import annotations

import os
from pathlib import Path

from geoplan.errors import GeocoderConfigError
from geoplan.geocoders._cache import AnswerCache, default_cache_path
from geoplan.geocoders.amap import AMapGeocoder
from geoplan.geocoders import base
from geoplan.geocoders.base import CityScope, OnlineGeocoder, Transport
from geoplan.geocoders.nominatim import NominatimGeocoder
from geoplan.geocoders.tianditu import TiandituGeocoder

PROVIDERS: dict[str, type[OnlineGeocoder]] = {
    "amap": AMapGeocoder,
    "tianditu": TiandituGeocoder,
    "nominatim": NominatimGeocoder,
}
SERVICES = tuple(PROVIDERS)


def key_from_env(service: str) -> str | None:
    """The service's key from ``GEOPLAN_<SERVICE>_KEY`` (``GEOPLAN_AMAP_KEY``, ``GEOPLAN_TIANDITU_KEY``)."""
    return os.environ.get(f"GEOPLAN_{service.upper()}_KEY") or None


def geocoder_for(
    service: str,
    *,
    key: str | None = None,
    city: CityScope | None = None,
    data_dir: str | Path | None = None,
    transport: Transport | None = None,
    timeout_s: float = 10.0,
    limit: int = 10,
) -> OnlineGeocoder:
    """The named service's geocoder, its key from ``key`` or the environment, cached in ``data_dir``.

    An unknown service or a missing key is a ``GeocoderConfigError`` before any request is made. The
    transport defaults to ``base.urllib_transport``, looked up at call time (tests put a replay there).
    """
    cls = PROVIDERS.get(service)
    if cls is None:
        msg = f"unknown geocoding service {service!r}; choose one of {', '.join(SERVICES)}"
        raise GeocoderConfigError(msg, service=service)
    cache = AnswerCache(default_cache_path(data_dir) if data_dir is not None else None)
    return cls(
        key=key or key_from_env(service),
        city=city,
        cache=cache,
        transport=transport or base.urllib_transport,
        timeout_s=timeout_s,
        limit=limit,
    )


__all__ = [
    "PROVIDERS",
    "SERVICES",
    "AMapGeocoder",
    "NominatimGeocoder",
    "OnlineGeocoder",
    "TiandituGeocoder",
    "geocoder_for",
    "key_from_env",
]
