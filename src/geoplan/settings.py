"""Typed defaults, read at call time so tests and the CLI can override them.

- ``geodata_dir``: the checked-in gazetteer, boundaries and reports (env ``GEOPLAN_GEODATA_DIR``; else the
  checkout's ``geodata/``, or the copy an installed wheel carries, see ``geoplan.resources``).
- ``data_dir``: where planners' corrections and the online geocoder's cache live
  (env ``GEOPLAN_DATA_DIR``, default ``$XDG_DATA_HOME/geoplan`` or ``~/.local/share/geoplan``).
- ``database_url``: a PostgreSQL database for the corrections instead of the data dir's SQLite file
  (env ``GEOPLAN_DATABASE_URL=postgresql://…``; unset by default).
- ``default_crs``: every coordinate geoplan writes is WGS84 lon/lat.
- ``coordinate_decimals``: 6 decimals are ~0.1 m, far finer than any source; RFC 7946 output stays small.
- ``max_report_bytes``: reports larger than this are refused before reading (uploads and CLI).
- ``max_stored_reports``, ``max_stored_report_bytes``: how many uploaded reports (and how many bytes of them)
  the data dir keeps for links; past either, the least recently used are deleted (``geoplan.stored_reports``).
- ``city_buffer_km``: how far outside the city boundary a geometry may reach before it is refused.
- ``default_city``: the city of a report that names none (the shipped report's, 太原市).
- ``map_inline_bytes``: the app's map carries its layers in its script up to this many bytes of JSON, and
  fetches them by URL above it (env ``GEOPLAN_MAP_INLINE_BYTES``; ``geoplan.app.data.layer_data_url``).
"""

from __future__ import annotations

import os
from pathlib import Path

from geoplan.resources import packaged_geodata_dir

default_crs: str = "EPSG:4326"
coordinate_decimals: int = 6
max_report_bytes: int = 64 * 1024 * 1024
max_upload_bytes: int = 2 * 1024 * 1024
max_stored_reports: int = 500
max_stored_report_bytes: int = 256 * 1024 * 1024
city_buffer_km: float = 5.0
default_report_name: str = "taiyuan-2025"
#: Whose report a text is when it does not say and names no place that tells (``city.rule == "default"``).
default_city: str = "太原市"
default_city_adcode: str = "140100"


def geodata_dir() -> Path:
    env = os.environ.get("GEOPLAN_GEODATA_DIR")
    return Path(env) if env else packaged_geodata_dir()


def gazetteer_paths() -> tuple[Path, ...]:
    """Hand-curated places first (they win a name), then those imported from OpenStreetMap, then boundaries.

    The OSM import is optional (a geodata folder for another city may have none); the other two are not.
    """
    root = geodata_dir()
    osm = root / "osm" / "taiyuan-osm.geojson"
    return (root / "gazetteer.geojson", *((osm,) if osm.is_file() else ()), root / "boundaries" / "taiyuan.geojson")


def city_gazetteers() -> dict[str, tuple[Path, ...]]:
    """Curated gazetteers by the adcode of their city (the rest of China has its districts only)."""
    return {default_city_adcode: gazetteer_paths()}


def default_report_path() -> Path:
    return geodata_dir() / "reports" / f"{default_report_name}.txt"


def default_features_path() -> Path:
    return geodata_dir() / f"{default_report_name}.geojson"


def data_dir() -> Path:
    env = os.environ.get("GEOPLAN_DATA_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "geoplan"


def database_url() -> str | None:
    """``GEOPLAN_DATABASE_URL`` (a ``postgresql://`` URL) when set: corrections then live in that database."""
    env = os.environ.get("GEOPLAN_DATABASE_URL", "").strip()
    return env or None


def map_inline_bytes() -> int:
    """Below this, one more request on a page's first load costs more than re-sending the data with each
    rerun (shipped report: warm navigation 3.7 s inline, 5.0 s by URL, under load; bench/README.md)."""
    env = os.environ.get("GEOPLAN_MAP_INLINE_BYTES", "").strip()
    return int(env) if env.isdigit() else 1_000_000
