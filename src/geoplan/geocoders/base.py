"""The geocoder interface and the precision vocabulary every location is stated in.

Precision follows the IATI GeographicalPrecision / AidData codes. China has one more level than
those codes name: 省 is ADM1, a 地级市 such as 太原 is ADM2, and its 区/县/县级市 are ADM3. IATI code 3
reads "the location is, or lies in, a second-order administrative division", so both a district of
Taiyuan and the city as a whole carry code 3; geoplan's own ``precision`` key tells them apart.

| key | IATI | meaning |
|---|---|---|
| site | 1 | exact site: a cited point, or a road/line traced along its course |
| near | 2 | near, within 25 km: an approximate position (estimate from a description) |
| estimated | 5 | estimated along a road or river or between places: a line or area built from cited points |
| district | 3 | somewhere in a 区/县 (ADM3 in China, lying in the ADM2 太原市); drawn as that district |
| city | 3 | city-wide: the whole 太原市 (ADM2) or no particular place; listed, not drawn |
| corrected | 1 | corrected by hand by a planner (the correction's note says how) |
| unlocated | — | names a site the gazetteer lacks; geometry null until someone adds it |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from geoplan.models import Location


@dataclass(frozen=True, slots=True)
class Precision:
    key: str
    code: int | None
    label_zh: str
    label_en: str
    rank: int  # 0 is the most precise


PRECISION: dict[str, Precision] = {
    p.key: p
    for p in (
        Precision("corrected", 1, "人工校正", "corrected by hand", 0),
        Precision("site", 1, "精确地点", "exact site", 1),
        Precision("near", 2, "附近（25公里内）", "near (within 25 km)", 2),
        Precision("estimated", 5, "估计位置（沿线或片区）", "estimated (along a line or between places)", 3),
        Precision("district", 3, "区县范围", "district or county", 4),
        Precision("city", 3, "全市范围", "city-wide", 5),
        Precision("unlocated", None, "未定位", "unlocated", 6),
    )
}


def precision_info(key: str) -> Precision:
    return PRECISION[key]


@runtime_checkable
class Geocoder(Protocol):
    """A query in, a located place out; ``None`` for "not found" (only service failures raise)."""

    name: str

    def geocode(self, query: str) -> Location | None: ...
