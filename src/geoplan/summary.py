"""What the app's header counts: items, each once, so the parts add up to the whole.

A feature is an item × place; counting features beside items ("显示要素 5" next to "已定位 3 + 未定位 1")
made the numbers disagree. Each item is counted in exactly one class: located when any of its places is on
the map, else city-wide when the report states no place, else not located (it names a place the gazetteer
lacks).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class ItemCounts:
    items: int
    located: int
    city: int
    unlocated: int


def item_counts(features: pd.DataFrame) -> ItemCounts:
    """Count the items of ``features`` (rows sharing ``item_id`` are one item); linear in the rows.

    ``located + city + unlocated == items`` always holds.
    """
    if features.empty:
        return ItemCounts(0, 0, 0, 0)
    geometry = features.geometry if "geometry" in features else pd.Series(None, index=features.index)
    has_place = geometry.notna()
    if has_place.any():
        has_place &= ~features.geometry.is_empty
    frame = pd.DataFrame(
        {
            "item_id": features["item_id"].to_numpy(),
            "located": has_place.to_numpy(),
            "city": (features["precision"] == "city").to_numpy(),
        }
    )
    per_item = frame.groupby("item_id", sort=False)[["located", "city"]].any()
    located = int(per_item["located"].sum())
    city = int((~per_item["located"] & per_item["city"]).sum())
    return ItemCounts(items=len(per_item), located=located, city=city, unlocated=len(per_item) - located - city)
