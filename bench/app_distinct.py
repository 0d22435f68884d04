"""The app on ``n`` distinct places (issue #14): a generated gazetteer and a report that names each place once.

The app reads a report and geocodes it with the gazetteer of its geodata dir, so it cannot be handed
``generate.distinct_features`` directly. This writes what it reads instead: ``gazetteer.geojson`` with one
entry per distinct feature (its geometry, kind, precision, district and status; names made unique with a
fixed-width number, so that no name is a prefix of another) and ``reports/taiyuan-2025.txt`` with one ◆ item
per feature, under the feature's own domain and section. The app then runs its whole pipeline (parse, link,
geocode) on them, as on any report: the figures include that work. Same seed, same files.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import shapely

from _common import ROOT, log, print_machine, table
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


# Both children start alike: a stage timer, then the imports (streamlit, then the app), timed.
PRELUDE = r"""
import hashlib, inspect, json, os, sys, time
out = {}
def stage(name, f, *a, **k):
    c0 = time.process_time()
    r = f(*a, **k)
    out[name] = time.process_time() - c0
    return r
c0 = time.process_time()
import streamlit
out["imports: streamlit"] = time.process_time() - c0
def imports():
    import geoplan.app.page
stage("imports: geoplan.app", imports)
from geoplan.app import data as D, views as V
"""

# Both children end alike: the map's files and parts for ``prep``, the filters, the view and the table tab.
MAP_STAGES = r"""
files = stage("band files", D._band_files, prep.key, "osm", prep.gdf)
urls = tuple((i, "m/" + n) for i, _d, n in files)
stage("layer file", D._layer_file, prep.key, "osm", urls, prep.gdf)
stage("map_parts (build_map, render)", D.map_parts, prep.key, None, "osm", True, prep.gdf, prep.meta)
from geoplan.filters import Filters
from geoplan.maps import map_view
shown = stage("filters.apply", Filters().apply, prep.gdf)
stage("map_view", map_view, shown, prep.gdf, selected=None, lang="zh")
stage("table tab: table_frame", V.table_frame, "zh", shown)
print("STAGES " + json.dumps(out))
"""

# The app's first run, stage by stage, in a fresh process (geoplan from the PYTHONPATH it is given): the calls
# of geoplan.app.page.main and _workbench up to the map, then what the tabs would compute. CPU seconds.
CHILD = (
    PRELUDE
    + r"""
from geoplan import gazetteer as G, settings
from geoplan.filters import Filters
from geoplan.maps import map_view
from geoplan.parse import report_from_bytes
from geoplan.features import features_from_report
from pathlib import Path
path = settings.default_report_path()
data, name = path.read_bytes(), path.name
report = stage("parse", report_from_bytes, data, source=name)
adcode = report.city.adcode if report.city else None
gaz = stage("gazetteer (empty data dir)", D.gazetteer, adcode)
if "prepared_dir" in inspect.signature(G.gazetteer_for).parameters:
    stage("gazetteer (prepared, next start)", G.gazetteer_for, adcode, prepared_dir=settings.data_dir() / "prepared")
gdf = stage("link + geocode + features", features_from_report, report, gazetteer=gaz)
from geoplan.filters import FilterOptions
opts = stage("filter options", FilterOptions.of, gdf)
prep = D.Prepared("k", gdf, gdf.attrs["report"], (), opts, ())
md = stage("map_data (drawn)", D.drawn, prep.key, "osm", prep.gdf)
"""
    + MAP_STAGES
)


# The app's first run through its own cached functions (geoplan.app.data), as a server's first script run calls
# them: on an empty data dir, on a data dir a previous server filled (restart), and on one `geoplan prepare`
# filled. Works on trees before geoplan.prepared too (their pipeline() returns two values). CPU seconds.
CHILD_APP = (
    PRELUDE
    + r"""
from geoplan import settings
from geoplan.filters import Filters
from geoplan.maps import map_view
path = settings.default_report_path()
data, name = path.read_bytes(), path.name
got = stage("pipeline() (parse, gazetteer, link, geocode)", D.pipeline, data, name)
meta = got[1]
stage("gazetteer() (the report's city)", D.gazetteer, D.report_adcode(meta))
ckey = hashlib.sha1(repr([]).encode()).hexdigest()
prep = stage("prepare() (corrections, filter options)", D.prepare, data, name, ckey, ())
stage("drawn() (map data)", D.drawn, prep.key, "osm", prep.gdf)
"""
    + MAP_STAGES
)


def _keep_best(best: dict[str, float], stdout: str) -> None:
    """Fold a child's ``STAGES {…}`` line into ``best`` (the lowest CPU seconds of each stage so far)."""
    line = next(x for x in stdout.splitlines() if x.startswith("STAGES "))
    for k, v in json.loads(line[len("STAGES ") :]).items():
        best[k] = min(best.get(k, v), v)


def _print_stages(results: dict[str, dict[str, float]], repeat: int, counted: Callable[[str], bool]) -> None:
    """One column per tree (and start); a last row sums the stages ``counted`` says are the first run's."""
    names = list(dict.fromkeys(k for r in results.values() for k in r))
    rows = [[k, *(f"{r[k]:.2f} s" if k in r else "—" for r in results.values())] for k in names]
    first_run = [k for k in names if counted(k)]
    rows.append(["sum of the first run", *(f"{sum(r.get(k, 0.0) for k in first_run):.2f} s" for r in results.values())])
    table([f"stage (CPU, best of {repeat})", *results], rows)


@contextmanager
def _distinct_dir(prefix: str, n: int) -> Iterator[tuple[Path, Path]]:
    """A scratch folder holding a geodata dir of ``n`` distinct places (and the children's data dirs); removed after."""
    tmp = Path(tempfile.mkdtemp(prefix=f"geoplan-bench-{prefix}-"))
    try:
        log(f"writing {n:,} distinct places")
        yield tmp, distinct_geodata(tmp / "geodata", n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


STARTS = ("never prepared", "restart", "geoplan prepare")


def app_starts(n: int, srcs: list[Path], repeat: int) -> None:
    """Print the first run's stages through the app's functions for each tree and start (best of ``repeat``)."""
    with _distinct_dir("starts", n) as (tmp, geodata):
        results: dict[str, dict[str, float]] = {}
        for _ in range(repeat):
            for src in srcs:
                env = {**os.environ, "PYTHONPATH": str(src.resolve()), "GEOPLAN_GEODATA_DIR": str(geodata)}
                for start in STARTS:
                    data = Path(tempfile.mkdtemp(dir=tmp))
                    env["GEOPLAN_DATA_DIR"] = str(data)
                    if start == "restart":  # a previous server's first run filled the data dir
                        subprocess.run([sys.executable, "-c", CHILD_APP], env=env, capture_output=True, check=True)
                    elif start == "geoplan prepare":
                        c0 = time.perf_counter()
                        done = subprocess.run(
                            [sys.executable, "-m", "geoplan.cli", "prepare"], env=env, capture_output=True, text=True
                        )
                        if done.returncode != 0:
                            continue  # a tree without the command
                        results.setdefault(f"{src} · {start}", {})["(geoplan prepare, wall)"] = min(
                            results.get(f"{src} · {start}", {}).get("(geoplan prepare, wall)", float("inf")),
                            time.perf_counter() - c0,
                        )
                    log(f"app start [{src} · {start}]")
                    done = subprocess.run(
                        [sys.executable, "-c", CHILD_APP], env=env, capture_output=True, text=True, timeout=600
                    )
                    if done.returncode != 0:
                        raise SystemExit(done.stderr)
                    _keep_best(results.setdefault(f"{src} · {start}", {}), done.stdout)
        _print_stages(results, repeat, lambda k: not k.startswith(("table tab", "(")))


def cold_stages(n: int, srcs: list[Path], repeat: int) -> None:
    """Print the stage table: one column per source tree (best of ``repeat`` fresh processes, each stage)."""
    with _distinct_dir("cold", n) as (tmp, geodata):
        results: dict[str, dict[str, float]] = {}
        for _ in range(repeat):
            for src in srcs:
                data = Path(tempfile.mkdtemp(dir=tmp))  # empty: nothing prepared
                env = {
                    **os.environ,
                    "PYTHONPATH": str(src.resolve()),
                    "GEOPLAN_GEODATA_DIR": str(geodata),
                    "GEOPLAN_DATA_DIR": str(data),
                }
                log(f"cold stages [{src}]")
                done = subprocess.run(
                    [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=600, check=True
                )
                _keep_best(results.setdefault(str(src), {}), done.stdout)
        _print_stages(results, repeat, lambda k: "prepared" not in k and not k.startswith("table tab"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="the app's cold path at n distinct places, stage by stage")
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--src", type=Path, nargs="*", default=[ROOT / "src"], help="geoplan source trees, in turn")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument(
        "--starts",
        action="store_true",
        help="instead: the first run through the app's functions, never prepared / restart / after geoplan prepare",
    )
    args = ap.parse_args(argv)
    print_machine()
    (app_starts if args.starts else cold_stages)(args.n, args.src, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
