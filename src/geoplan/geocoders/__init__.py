"""Geocoders behind one interface: the offline gazetteer by default, an online service on request."""

from __future__ import annotations

from geoplan.geocoders.base import (
    PRECISION,
    Candidate,
    CityScope,
    Geocoder,
    OnlineGeocoder,
    Precision,
    city_scope,
    precision_info,
)
from geoplan.geocoders.gazetteer import GazetteerGeocoder

__all__ = [
    "PRECISION",
    "Candidate",
    "CityScope",
    "GazetteerGeocoder",
    "Geocoder",
    "OnlineGeocoder",
    "Precision",
    "city_scope",
    "precision_info",
]
