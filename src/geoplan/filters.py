"""What a planner filters by, and how that lives in a URL so a copied link reproduces the view."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import PurePath
from typing import Any

import geopandas as gpd
import pandas as pd

from geoplan.vocab import admin_name

# Filter field -> (query parameter, feature column).
FIELDS: dict[str, tuple[str, str]] = {
    "domains": ("domain", "domain"),
    "sections": ("section", "section"),
    "statuses": ("status", "status"),
    "districts": ("district", "district"),
    "kinds": ("kind", "place_kind"),
    "precisions": ("precision", "precision"),
    "parts": ("part", "part"),  # review / plan / targets / government: a planner shows this year's plan only
}


# "district" as the map's find box (geoplan.js): 万柏林 finds every place in 万柏林区, in the map and the table alike.
QUERY_COLUMNS: tuple[str, ...] = ("text", "name", "matched", "section", "unresolved", "district")


def _values(values: str | Iterable[object]) -> list[str]:
    """A lone string is one value, not its characters."""
    if isinstance(values, str):
        return [values] if values else []
    return [str(v) for v in values]


def filter_features(
    gdf: gpd.GeoDataFrame,
    *,
    domains: str | Iterable[str] = (),
    sections: str | Iterable[str] = (),
    statuses: str | Iterable[str] = (),
    districts: str | Iterable[str] = (),
    kinds: str | Iterable[str] = (),
    precisions: str | Iterable[str] = (),
    parts: str | Iterable[str] = (),
    query: str = "",
) -> gpd.GeoDataFrame:
    """Rows matching every non-empty filter, in their order, null geometries included.

    Each argument lists accepted values of one column (``statuses`` are keys such as ``"starting"``,
    ``kinds`` match ``place_kind``); an empty one does not filter. ``sections`` also match an item's
    other sections, so an item the report repeats shows under each. ``query`` is a case-insensitive
    substring search over the item text, place names, section and unresolved names.
    """
    mask = pd.Series(True, index=gdf.index)
    for column, wanted in (
        ("domain", domains),
        ("status", statuses),
        ("district", districts),
        ("place_kind", kinds),
        ("precision", precisions),
        ("part", parts),
    ):
        accepted = _values(wanted)
        if accepted:
            mask &= gdf[column].isin(accepted) if column in gdf else False
    accepted = _values(sections)
    if accepted:
        hit = gdf["section"].isin(accepted) if "section" in gdf else pd.Series(False, index=gdf.index)
        if "sections" in gdf:
            hit |= gdf["sections"].map(lambda s: isinstance(s, str) and any(part in accepted for part in s.split("；")))
        mask &= hit
    needle = (query or "").strip()
    if needle:
        hit = pd.Series(False, index=gdf.index)
        for column in QUERY_COLUMNS:
            if column in gdf:
                hit |= gdf[column].astype("string").str.contains(needle, case=False, regex=False, na=False)
        if "district" in gdf:  # and its English name, as the map's find box (Wanbailin finds 万柏林区)
            english = {d: admin_name(d, "en") for d in gdf["district"].dropna().unique()}
            hit |= gdf["district"].map(english).astype("string").str.contains(needle, case=False, regex=False, na=False)
        mask &= hit
    return gdf[mask.astype(bool)]


@dataclass(frozen=True)
class Filters:
    """Empty tuples mean "everything"; ``query`` searches the sentence and place names."""

    domains: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    precisions: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
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

    def restricted_to(self, data: gpd.GeoDataFrame | FilterOptions) -> Filters:
        """Drop values the data does not have (a stale or hand-edited link must not break the app)."""
        options = data if isinstance(data, FilterOptions) else FilterOptions.of(data)
        kwargs = {name: tuple(v for v in getattr(self, name) if v in options.present[name]) for name in FIELDS}
        return Filters(**kwargs, query=self.query)

    def apply(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return filter_features(gdf, **{f.name: getattr(self, f.name) for f in fields(self)})

    def is_empty(self) -> bool:
        return not any(asdict(self).values())


@dataclass(frozen=True)
class FilterOptions:
    """The values each filter can take in one frame, in display order; built once per report, because
    scanning six columns on every rerun cost 1-1.6 s at 100k rows (bench/README.md)."""

    domains: tuple[str, ...]
    sections: dict[str, tuple[str, ...]]  # domain -> its sections, in report order
    statuses: tuple[str, ...]
    districts: tuple[str, ...]
    kinds: tuple[str, ...]
    precisions: tuple[str, ...]
    parts: tuple[str, ...]
    present: dict[str, frozenset[str]] = field(repr=False)

    @classmethod
    def of(cls, gdf: gpd.GeoDataFrame) -> FilterOptions:
        from geoplan.geocoders.base import PRECISION
        from geoplan.models import PARTS, Status

        def uniq(col: str) -> list[str]:
            return [str(v) for v in gdf[col].dropna().unique()] if col in gdf else []

        present = {name: frozenset(uniq(col)) for name, (_param, col) in FIELDS.items()}
        listed = [d for d in gdf.attrs.get("report", {}).get("domains", []) if d in present["domains"]]
        domains = (*listed, *(d for d in uniq("domain") if d not in listed))
        sections: dict[str, tuple[str, ...]] = {}
        if "section" in gdf:
            pairs = gdf[["domain", "section"]].dropna().drop_duplicates()
            for d, s in pairs.itertuples(index=False, name=None):
                sections[str(d)] = (*sections.get(str(d), ()), str(s))
        return cls(
            domains=tuple(domains),
            sections=sections,
            statuses=tuple(s.value for s in Status if s.value in present["statuses"]),
            districts=tuple(sorted(present["districts"])),
            kinds=tuple(sorted(present["kinds"])),
            precisions=tuple(p for p in PRECISION if p in present["precisions"]),
            parts=tuple(p for p in PARTS if p in present["parts"]),
            present=present,
        )

    def sections_of(self, domains: tuple[str, ...] | list[str]) -> list[str]:
        """Sections of the chosen domains (all when none is chosen), in report order."""
        return list(dict.fromkeys(s for d in (domains or self.domains) for s in self.sections.get(d, ())))


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|\s]+')
MAX_NAME_CHARS = 100


def _name_part(value: str) -> str:
    """A filter value safe in a file name on Windows, macOS and Linux (no separators, no reserved marks)."""
    return _UNSAFE_NAME.sub("_", unicodedata.normalize("NFC", value)).strip("._") or "_"


def export_filename(report_name: str, filters: Filters | None, ext: str, *, include_unlocated: bool = False) -> str:
    """A download's file name that says what it holds: ``taiyuan-2025-民生-小店区.geojson``.

    The report's stem, then each filter's values in ``FIELDS`` order (several values of one filter
    joined by ``+``), then the search text, then ``with-unlocated`` when those rows are included.
    Characters a file system refuses become ``_``; a name longer than ``MAX_NAME_CHARS`` is cut and
    ends in a short hash of the whole, so two different selections never share a name.
    """
    stem = PurePath(str(report_name)).name
    for suffix in (".txt", ".geojson", ".json"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    parts = [_name_part(stem or "geoplan")]
    if filters is not None:
        for name in FIELDS:
            values = getattr(filters, name)
            if values:
                parts.append("+".join(_name_part(v) for v in values))
        if filters.query:
            parts.append(_name_part(filters.query))
    if include_unlocated:
        parts.append("with-unlocated")
    name = "-".join(parts)
    if len(name) > MAX_NAME_CHARS:
        digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
        name = name[: MAX_NAME_CHARS - 9].rstrip("-+_") + "-" + digest
    return f"{name}.{ext.lstrip('.')}"
