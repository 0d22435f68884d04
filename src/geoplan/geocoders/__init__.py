"""Geocoders behind one interface: the offline gazetteer by default, an online service on request."""

from __future__ import annotations

from geoplan.geocoders.base import PRECISION, Geocoder, Precision, precision_info
from geoplan.geocoders.gazetteer import GazetteerGeocoder

__all__ = ["PRECISION", "GazetteerGeocoder", "Geocoder", "Precision", "precision_info"]
