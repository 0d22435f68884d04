"""Time and throughput of each pipeline stage, on the shipped report and on 1k/10k/100k-item reports.

Stages: load the gazetteer; parse (``report_from_text``); link (a fresh ``Linker``: automaton, then
``mentions`` and ``unknown_places`` for every item); geocode (``GazetteerGeocoder`` on every mention);
features (``features_from_report``, which links and geocodes again and assembles the GeoDataFrame);
GeoJSON (``features_to_geojson``) and serialise (``dumps_geojson``, what ``geoplan build`` writes); and
map data (``geoplan.maps.map_data``: the located rows grouped by place and serialised per domain, what
the app caches once per report and basemap; not part of parse→JSON).
Best of 7/5/3 runs for the shipped report/1k/10k, one run at 100k. Each size runs in its own process,
so the peak resident memory (``ru_maxrss``) is that size's own.

``--distinct`` adds rows for feature sets whose every row is its own place (``generate.distinct_features``:
points, lines and polygons at distinct positions inside Taiyuan): ``geoplan build`` after the features
(GeoJSON, validate, serialise) and ``geoplan map`` from the built file (read and check it, then the
standalone page as the command writes it), best of 3/1/1 at 1k/10k/100k.

``--distinct-only`` runs only those rows.

    .venv/bin/python bench/pipeline.py [--quick] [--sizes 1000 10000] [--distinct | --distinct-only]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    SEED,
    SHIPPED_REPORT,
    SIZES,
    best_of,
    fmt_bytes,
    fmt_s,
    label,
    log,
    peak_rss_mib,
    print_machine,
    runs_for,
    table,
    target,
)

STAGES = ("gazetteer", "parse", "link", "geocode", "features", "geojson", "serialise", "map_data")
BUILD = ("parse", "features", "geojson", "serialise")  # what `geoplan build` does, gazetteer loaded


def measure(n: int | None) -> dict[str, object]:
    """All stages for one report (``n`` ◆ lines, or the shipped report when ``None``)."""
    from generate import generate_report

    from geoplan.features import dumps_geojson, features_from_report, features_to_geojson
    from geoplan.gazetteer import load_gazetteer
    from geoplan.geocoders.gazetteer import GazetteerGeocoder
    from geoplan.link import Linker
    from geoplan.maps import map_data
    from geoplan.parse import report_from_text

    runs = runs_for(n or 0)
    out: dict[str, object] = {"n": n, "runs": runs}
    t: dict[str, float] = {}
    t["gazetteer"], gaz = best_of(load_gazetteer, runs)
    out["rss_base_mib"] = peak_rss_mib()
    text = SHIPPED_REPORT.read_text("utf-8") if n is None else generate_report(n, SEED, gazetteer=gaz)
    out["report_bytes"] = len(text.encode("utf-8"))
    out["lines"] = text.count("\n◆") + text.startswith("◆")

    t["parse"], report = best_of(lambda: report_from_text(text, source="bench.txt"), runs)

    def link() -> list:
        linker = Linker(gaz)
        found = []
        for item in report.items:
            ms = linker.mentions(item)
            linker.unknown_places(item, ms)
            found.extend(ms)
        return found

    t["link"], mentions = best_of(link, runs)

    def geocode() -> int:
        coder = GazetteerGeocoder(gaz)
        return sum(coder.geocode(m.name) is not None for m in mentions)

    t["geocode"], _ = best_of(geocode, runs)
    t["features"], gdf = best_of(lambda: features_from_report(report, gazetteer=gaz), runs)
    t["geojson"], doc = best_of(lambda: features_to_geojson(gdf), runs)
    t["serialise"], body = best_of(lambda: dumps_geojson(doc), runs)
    doc = None  # the GeoJSON dicts are most of the memory at 100k: free them before map_data
    t["map_data"], drawn = best_of(lambda: map_data(gdf, "osm"), runs)
    out["map_shapes"] = drawn.shapes
    out["map_data_bytes"] = sum(len(text.encode("utf-8")) for _d, _c, text in drawn.layers)
    out["items"] = len(report.items)
    out["features"] = len(gdf)
    out["located"] = int(gdf.geometry.notna().sum())
    out["geojson_bytes"] = len(body.encode("utf-8"))
    out["times"] = t
    out["rss_peak_mib"] = peak_rss_mib()
    return out


DISTINCT_STAGES = ("geojson", "validate", "serialise", "read", "map_data", "page")
DISTINCT_BUILD = ("geojson", "validate", "serialise")  # `geoplan build` once the features exist
DISTINCT_MAP = ("read", "page")  # `geoplan map built.geojson`: read and check the file, write the page


def measure_distinct(n: int) -> dict[str, object]:
    """Build and map stages for ``n`` features at ``n`` distinct places."""
    import tempfile

    from generate import distinct_features

    from geoplan.features import dumps_geojson, features_from_path, features_to_geojson, validate_geojson
    from geoplan.gazetteer import load_gazetteer
    from geoplan.maps import build_map, map_data, map_html
    from geoplan.offline import localize

    runs = 3 if n < 10_000 else 1
    cpu: dict[str, float] = {}

    def best_of(fn, runs):  # wall seconds as everywhere, and this process's CPU seconds of the same call
        import time as _time

        best, best_cpu, out = float("inf"), float("inf"), None
        for _ in range(runs):
            w, c = _time.perf_counter(), _time.process_time()
            out = fn()
            best, best_cpu = min(best, _time.perf_counter() - w), min(best_cpu, _time.process_time() - c)
        cpu[len(cpu)] = best_cpu
        return best, out

    gaz = load_gazetteer()
    gdf = distinct_features(n, SEED, gazetteer=gaz)
    out: dict[str, object] = {"n": n, "runs": runs, "distinct": True, "rss_base_mib": peak_rss_mib()}
    t: dict[str, float] = {}
    t["geojson"], doc = best_of(lambda: features_to_geojson(gdf), runs)
    t["validate"], _ = best_of(lambda: validate_geojson(doc), runs)
    t["serialise"], body = best_of(lambda: dumps_geojson(doc), runs)
    doc = None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "built.geojson"
        path.write_text(body, encoding="utf-8")
        from geoplan import settings  # 100k distinct is ~360 MB: over the 64 MiB a report may be by default

        settings.max_report_bytes = max(settings.max_report_bytes, path.stat().st_size)
        t["read"], read = best_of(lambda: features_from_path(path), runs)
    t["map_data"], drawn = best_of(lambda: map_data(read, "osm"), runs)

    def page() -> str:
        m = build_map(
            read, lang="zh", basemap="osm", gazetteer=gaz, show_boundaries=True, list_unplaced=True, search=True
        )
        localize(m, mode="inline")
        return map_html(m)

    t["page"], html_text = best_of(page, runs)
    out.update(
        features=len(gdf),
        vertices=int(__import__("shapely").get_num_coordinates(gdf.geometry.values).sum()),
        geojson_bytes=len(body.encode("utf-8")),
        page_bytes=len(html_text.encode("utf-8")),
        map_shapes=drawn.shapes,
        times=t,
        rss_peak_mib=peak_rss_mib(),
        cpu=dict(zip(DISTINCT_STAGES, cpu.values(), strict=True)),
    )
    return out


def _child(n: int | None, timeout: float, *, distinct: bool = False) -> dict[str, object] | None:
    cmd = [sys.executable, __file__, "--one", "shipped" if n is None else str(n)]
    if distinct:
        cmd.append("--distinct")
    try:
        res = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"pipeline {label(n)}: no result within {timeout:.0f} s")
        return None
    if res.returncode != 0:
        log(f"pipeline {label(n)} failed:\n{res.stderr[-3000:]}")
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip 100k")
    ap.add_argument("--sizes", type=int, nargs="*", help="report sizes in ◆ lines (default 1k 10k 100k)")
    ap.add_argument("--distinct", action="store_true", help="also feature sets of distinct places")
    ap.add_argument("--distinct-only", action="store_true", help="only the feature sets of distinct places")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        if args.distinct:
            print(json.dumps(measure_distinct(int(args.one))))
        else:
            print(json.dumps(measure(None if args.one == "shipped" else int(args.one))))
        return 0

    sizes = args.sizes or [s for s in SIZES if not (args.quick and s >= 100_000)]
    print("## Pipeline throughput\n")
    print_machine()
    results = []
    args.distinct = args.distinct or args.distinct_only
    for n in [] if args.distinct_only else [None, *sizes]:
        log(f"pipeline {label(n)} …")
        t0 = time.perf_counter()
        r = _child(n, timeout=420)
        log(f"pipeline {label(n)} done in {time.perf_counter() - t0:.0f} s")
        if r is not None:
            results.append(r)

    rows = []
    for r in results:
        t = r["times"]
        lines = r["lines"]
        build = sum(t[s] for s in BUILD)
        rows.append(
            [
                label(r["n"]),
                f"{lines:,}",
                f"{r['items']:,}",
                f"{r['features']:,} ({r['located']:,})",
                *(fmt_s(t[s]) for s in STAGES),
                fmt_s(build),
                f"{lines / build:,.0f}",
                fmt_bytes(r["geojson_bytes"]),
                f"{r['map_shapes']:,} / {fmt_bytes(r['map_data_bytes'])}",
                f"{r['rss_peak_mib']:.0f} MiB (+{r['rss_peak_mib'] - r['rss_base_mib']:.0f})",
            ]
        )
    table(
        [
            "report",
            "◆ lines",
            "items",
            "features (located)",
            *STAGES,
            "parse→JSON",
            "lines/s",
            "GeoJSON",
            "map shapes / map data",
            "peak RSS (+ over base)",
        ],
        rows,
        title="Stage times (best of N; 100k: one run)",
    )

    rows = []
    for r in results:
        t = r["times"]
        rows.append([label(r["n"]), *(f"{r['lines'] / t[s]:,.0f}" for s in STAGES if s != "gazetteer")])
    table(["report", *(f"{s} lines/s" for s in STAGES if s != "gazetteer")], rows, title="Throughput per stage")

    if args.distinct:
        distinct = []
        for n in sizes:
            log(f"pipeline distinct {label(n)} …")
            t0 = time.perf_counter()
            r = _child(n, timeout=900, distinct=True)
            log(f"pipeline distinct {label(n)} done in {time.perf_counter() - t0:.0f} s")
            if r is not None:
                distinct.append(r)
        rows = []
        for r in distinct:
            t = r["times"]
            rows.append(
                [
                    f"{label(r['n'])} distinct",
                    f"{r['features']:,} / {r['vertices']:,}",
                    *(f"{fmt_s(t[s])} ({fmt_s(r['cpu'][s])})" for s in DISTINCT_STAGES),
                    fmt_s(sum(t[s] for s in DISTINCT_BUILD)),
                    fmt_s(sum(t[s] for s in DISTINCT_MAP)),
                    fmt_bytes(r["geojson_bytes"]),
                    f"{r['map_shapes']:,} / {fmt_bytes(r['page_bytes'])}",
                    f"{r['rss_peak_mib']:.0f} MiB (+{r['rss_peak_mib'] - r['rss_base_mib']:.0f})",
                ]
            )
        table(
            [
                "features",
                "features / vertices",
                *DISTINCT_STAGES,
                "build (after features)",
                "map (file→page)",
                "GeoJSON",
                "map shapes / page",
                "peak RSS (+ over base)",
            ],
            rows,
            title="Distinct places: wall (CPU) per stage, best of 3 at 1k, one run at 10k/100k",
        )

    print()
    shipped = next((r for r in results if r["n"] is None), None)
    if shipped:
        t = shipped["times"]
        warm = sum(t[s] for s in BUILD)
        cold = warm + t["gazetteer"]
        target(
            "shipped report parsed + linked + built well under a second",
            cold < 0.5,
            f"{fmt_s(warm)} with the gazetteer loaded, {fmt_s(cold)} including loading it (limit taken: 0.5 s)",
        )
    big = max((r for r in results if r["n"]), key=lambda r: r["n"], default=None)
    if big:
        t = big["times"]
        total = sum(t[s] for s in STAGES if s != "map_data")
        target(
            f"{label(big['n'])}-item report built in reasonable time",
            total < 120,
            f"{fmt_s(total)} for all stages, peak RSS {big['rss_peak_mib']:.0f} MiB (limit taken: 2 min)",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
