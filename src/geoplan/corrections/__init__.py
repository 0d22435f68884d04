"""Planners' hand corrections of locations: checked input, a store, and applying them to every build.

Corrections live apart from the generated data, so a rebuild never loses them: by default in an SQLite file
(``corrections.sqlite`` in ``settings.data_dir()``), or in PostgreSQL when ``GEOPLAN_DATABASE_URL`` is set.

- ``geometry``: reading and checking a correction's geometry (WKT or GeoJSON, in the city);
- ``store``: the store's API and ``Correction`` records, the same on every backend;
- ``sqlite`` / ``postgres``: the two backends;
- ``apply``: applying corrections to built features.

Callers import from here (``from geoplan.corrections import CorrectionStore, apply_corrections``). ``apply``
(and with it geopandas) loads on first use of its names, so a process that only talks to the store starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from geoplan.corrections.geometry import SHIPPED_CITY_AREA, check_geometry, parse_geometry, shipped_city_area, to_wkt
from geoplan.corrections.postgres import PostgresCorrectionStore, redact
from geoplan.corrections.sqlite import BUSY_TIMEOUT_S, MIGRATIONS, SqliteCorrectionStore
from geoplan.corrections.store import (
    SCHEMA_VERSION,
    STORE_NAME,
    Correction,
    CorrectionStore,
    default_store_path,
    is_database_url,
)

if TYPE_CHECKING:
    from geoplan.corrections.apply import PLACELESS_PRECISIONS, apply_corrections, corrected_features, current_geometry

_FROM_APPLY = ("PLACELESS_PRECISIONS", "apply_corrections", "corrected_features", "current_geometry")


def __getattr__(name: str) -> Any:
    if name in _FROM_APPLY:
        from geoplan.corrections import apply

        return getattr(apply, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUSY_TIMEOUT_S",
    "MIGRATIONS",
    "PLACELESS_PRECISIONS",
    "SCHEMA_VERSION",
    "SHIPPED_CITY_AREA",
    "STORE_NAME",
    "Correction",
    "CorrectionStore",
    "PostgresCorrectionStore",
    "SqliteCorrectionStore",
    "apply_corrections",
    "check_geometry",
    "corrected_features",
    "current_geometry",
    "default_store_path",
    "is_database_url",
    "parse_geometry",
    "redact",
    "shipped_city_area",
    "to_wkt",
]
