"""The app on ``n`` distinct places (issue #14): a generated gazetteer and a report that names each place once.

The app reads a report and geocodes it with the gazetteer of its geodata dir, so it cannot be handed
``generate.distinct_features`` directly. This writes what it reads instead: ``gazetteer.geojson`` with one
entry per distinct feature (its geometry, kind, precision, district and status; names made unique with a
fixed-width number, so that no name is a prefix of another) and ``reports/taiyuan-2025.txt`` with one ◆ item
per feature, under the feature's own domain and section. The app then runs its whole pipeline (parse, link,
geocode) on them, as on any report: the figures include that work. Same seed, same files.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import shapely

from _common import ROOT
from generate import BYLINE, LEAD, TARGETS, distinct_features

KINDS = {"district": "area", "county": "area", "county_city": "area", "city": "area"}  # admin kinds: areas here


def distinct_geodata(root: Path, n: int, seed: int = 0) -> Path:
    """Write a geodata dir for ``n`` distinct places at ``root``; returns ``root``."""
    gdf = distinct_features(n, seed)
    (root / "reports").mkdir(parents=True, exist_ok=True)
    (root / "boundaries").mkdir(exist_ok=True)
    shutil.copy(ROOT / "geodata" / "boundaries" / "taiyuan.geojson", root / "boundaries" / "taiyuan.geojson")
    names = [
        re.sub(r"\d+$", "", re.sub(r"[（(].*?[）)]", "", str(name))) + f"{i:05d}"
        for i, name in enumerate(gdf["name"], 1)
    ]
    features = []
    for name, row, geom in zip(names, gdf.itertuples(), shapely.to_geojson(gdf.geometry.to_numpy()), strict=True):
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "name": name,
                    "kind": KINDS.get(str(row.place_kind), str(row.place_kind)),
                    "status": row.place_status or "existing",
                    "district": row.district if isinstance(row.district, str) else None,
                    "precision": row.precision,
                    "confidence": row.confidence or "medium",
                    "source": "bench/app_distinct.py (generated)",
                    "source_url": None,
                    "datum": "WGS84",
                    "converted_from": None,
                },
                "geometry": json.loads(geom),
            }
        )
    (root / "gazetteer.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8"
    )
    lines = [*LEAD, "关键词:主要预期目标", TARGETS]
    domain = section = None
    for name, row in zip(names, gdf.itertuples(), strict=True):
        if row.domain != domain:
            domain, section = row.domain, None
            lines.append(f"关键词:{domain}")
        if row.section != section:
            section = row.section
            lines.append("□" + str(section))
        lines.append(f"◆推进{name}建设，年内完成{1 + len(lines) % 9}项工程。")
    lines[-1] += BYLINE
    (root / "reports" / "taiyuan-2025.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root
