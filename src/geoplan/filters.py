"""What a planner filters by, and how that lives in a URL so a copied link reproduces the view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import geopandas as gpd

# Filter field -> (query parameter, feature column).
FIELDS: dict[str, tuple[str, str]] = {
    "domains": ("domain", "domain"),
    "sections": ("section", "section"),
    "statuses": ("status", "status"),
    "districts": ("district", "district"),
    "kinds": ("kind", "place_kind"),
    "precisions": ("precision", "precision"),
}


@dataclass(frozen=True)
class Filters:
    """Empty tuples mean "everything"; ``query`` searches the sentence and place names."""

    domains: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    precisions: tuple[str, ...] = ()
    query: str = ""

    @classmethod
    def from_query_params(cls, params: Mapping[str, Any]) -> Filters:
        """Read ``?domain=民生&domain=环境&q=桥``; a value may be a list (repeated key) or a string."""

        def values(key: str) -> tuple[str, ...]:
            raw = params.get(key)
            if raw is None:
                return ()
            items = raw if isinstance(raw, list | tuple) else [raw]
            return tuple(dict.fromkeys(str(v) for v in items if str(v)))

        kwargs: dict[str, Any] = {name: values(param) for name, (param, _col) in FIELDS.items()}
        q = params.get("q", "")
        kwargs["query"] = (q[-1] if isinstance(q, list | tuple) and q else str(q or "")).strip()
        return cls(**kwargs)

    def to_query_params(self) -> dict[str, list[str] | str]:
        out: dict[str, list[str] | str] = {}
        for name, (param, _col) in FIELDS.items():
            vals = getattr(self, name)
            if vals:
                out[param] = list(vals)
        if self.query:
            out["q"] = self.query
        return out

    def restricted_to(self, gdf: gpd.GeoDataFrame) -> Filters:
        """Drop values the data does not have (a stale or hand-edited link must not break the app)."""
        kwargs = {}
        for name, (_param, col) in FIELDS.items():
            present = set(gdf[col].dropna().astype(str)) if col in gdf else set()
            kwargs[name] = tuple(v for v in getattr(self, name) if v in present)
        return Filters(**kwargs, query=self.query)

    def apply(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        from geoplan.export import filter_features

        return filter_features(gdf, **{f.name: getattr(self, f.name) for f in fields(self)})

    def is_empty(self) -> bool:
        return not any(asdict(self).values())
