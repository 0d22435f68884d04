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
points, lines and polygons at distinct positions inside Taiyuan), each step in its own process so each
peak RSS is that step's own and the bench holds no copies of its own: ``build`` (``geoplan build`` after
the features: made, checked and written chunk by chunk), ``whole`` (the whole-document path it replaced,
for the ratio; at 100k only with ``--whole``), ``map`` (the file read back, ``map_data`` and the page,
stage by stage) and the ``geoplan map`` command itself (wall, user + sys and peak RSS from ``wait4``).
The features are generated once per code version and cached (generation is not measured).

The ``command`` step runs ``--rounds`` times (3 up to 10k places, once above), interleaved, each run a fresh process timed by ``wait4``,
beside two peers (sizes up to 10k, unless ``--no-peers``): ``peer``, what a plain tool does with the built
file (``geopandas.read_file`` through pyogrio, a ``folium.Map`` with one ``folium.GeoJson`` layer, a popup of
``text`` and a tooltip of ``name``, ``Map.save``), and ``floor``, ``python -c "import geopandas, folium"``;
issue 14's targets are ratios against the peer in the same run. The trees measured are byte-compiled first
(``compileall``): an editable install under ``PYTHONDONTWRITEBYTECODE=1`` compiles geoplan's modules from
source on every start (~0.15-0.2 s), which a normal install does not.

``--distinct-only`` runs only those rows; ``--steps`` only some of the steps; ``--before SRC`` runs the
``map`` and ``command`` steps a second time with geoplan imported from ``SRC`` (an export of an earlier
commit's ``src/``, e.g. ``git archive <commit> src geodata pyproject.toml | tar -x -C /tmp/before``),
on the same built file, and prints the two side by side.

    .venv/bin/python bench/pipeline.py [--quick] [--sizes 1000 10000] [--distinct | --distinct-only]
    .venv/bin/python bench/pipeline.py --distinct-only --sizes 10000 100000 --steps build map command \
        --before /tmp/before/src
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ROOT,
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

if os.environ.get("GEOPLAN_BENCH_SRC"):  # --before: _common put this checkout's src/ first; the export goes first
    sys.path.insert(0, os.environ["GEOPLAN_BENCH_SRC"])

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


DISTINCT_STAGES = ("build", "read", "map_data", "page")
DISTINCT_STEPS = ("prepare", "whole", "build", "map", "command")  # one process each


def _distinct_gdf(n: int):
    """The ``n`` distinct places, generated once per code version (generation is not what is measured)."""
    from _common import cached
    from generate import distinct_features

    from geoplan.gazetteer import load_gazetteer

    return cached(f"distinct-{n}", lambda: distinct_features(n, SEED, gazetteer=load_gazetteer()), n, SEED)


def _timed(fn):
    """Wall and CPU seconds of one call, and its result."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def measure_distinct(n: int, step: str, folder: Path) -> dict[str, object]:
    """One step for ``n`` distinct places, in its own process so its peak RSS is its own.

    ``prepare`` makes (or reads) the features; ``build`` writes them as ``geoplan build`` does after the
    features (made, checked and written chunk by chunk: ``geoplan.features.write_geojson``); ``whole`` is
    the whole-document path it replaced (``features_to_geojson``, ``validate_geojson``, ``dumps_geojson``),
    for the ratio; ``map`` reads ``folder/built.geojson`` and makes the page as ``geoplan map`` does,
    stage by stage. Each step reports the RSS before it starts (the imports and the features) and its peak.
    """
    from geoplan import settings

    settings.max_report_bytes = 1 << 40  # 100k distinct is ~360 MB: over the 64 MiB a report may be by default
    built = folder / "built.geojson"
    out: dict[str, object] = {"n": n, "step": step}
    if step == "prepare":
        import shapely

        gdf = _distinct_gdf(n)
        out.update(features=len(gdf), vertices=int(shapely.get_num_coordinates(gdf.geometry.values).sum()))
        return out
    if step in ("build", "whole"):
        from geoplan.features import dumps_geojson, features_to_geojson, validate_geojson, write_geojson

        gdf = _distinct_gdf(n)
        out["rss_base_mib"] = peak_rss_mib()
        if step == "build":
            w, c, size = _timed(lambda: write_geojson(gdf, built))
        else:
            w, c, size = _timed(
                lambda: (folder / "whole.geojson").write_bytes(
                    dumps_geojson(validate_geojson(features_to_geojson(gdf))).encode("utf-8")
                )
            )
        out.update(times={"build": w}, cpu={"build": c}, geojson_bytes=size, rss_peak_mib=peak_rss_mib())
        return out
    import geoplan.maps
    from geoplan.features import features_and_gazetteer
    from geoplan.maps import build_map, map_data, map_html
    from geoplan.offline import localize

    out["rss_base_mib"] = peak_rss_mib()
    t: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t["read"], cpu["read"], (read, gaz) = _timed(lambda: features_and_gazetteer(built))
    # As the command makes it: zoom bands, and (since mem100k) the bands and popup data spilled to files.
    spill = tempfile.TemporaryDirectory(prefix="geoplan-bench-spill-")
    spills = "spill" in inspect.signature(map_data).parameters
    kwargs = {"spill": Path(spill.name)} if spills else {}
    t["map_data"], cpu["map_data"], data = _timed(lambda: map_data(read, "osm", lod=True, **kwargs))

    def page() -> int:
        m = build_map(
            read,
            lang="zh",
            basemap="osm",
            gazetteer=gaz,
            show_boundaries=True,
            list_unplaced=True,
            search=True,
            data=data,
        )
        localize(m, mode="inline")
        if not hasattr(geoplan.maps, "save_map"):  # an old src/: the page as one string
            return len(map_html(m).encode("utf-8")), 0
        page_file = folder / "stages" / "map.html"  # as `geoplan map` writes it: bands in map.data/ beside it
        written = geoplan.maps.save_map(m, page_file)
        return page_file.stat().st_size, written - page_file.stat().st_size

    t["page"], cpu["page"], (page_bytes, data_bytes) = _timed(page)
    spill.cleanup()
    out.update(times=t, cpu=cpu, page_bytes=page_bytes, data_bytes=data_bytes, rss_peak_mib=peak_rss_mib())
    return out


# What a plain tool does with a built file (issue 14's peer): read it with pyogrio, one folium.GeoJson layer with
# a popup of the item's text and a tooltip of the place's name, the page saved. argv: the file, the page.
PEER_CODE = """
import sys
import folium
import geopandas
gdf = geopandas.read_file(sys.argv[1], engine="pyogrio")
minx, miny, maxx, maxy = gdf.total_bounds
m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=10)
folium.GeoJson(
    gdf[["name", "text", "geometry"]],
    popup=folium.GeoJsonPopup(fields=["text"]),
    tooltip=folium.GeoJsonTooltip(fields=["name"]),
).add_to(m)
m.fit_bounds([[miny, minx], [maxy, maxx]])
m.save(sys.argv[2])
"""
FLOOR_CODE = "import geopandas, folium"  # the imports any such tool pays before its first line of work
PEER_MAX = 10_000  # the peer at 100k distinct places takes minutes and GBs: up to this size only


def _timed_child(cmd: list[str], env: dict[str, str] | None, what: str) -> dict[str, object]:
    """Wall, user + sys and peak RSS (``wait4``) of one fresh process; ``{}`` (logged) if it failed."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status != 0:
        log(f"{what} failed:\n{err[-2000:]}")
        return {}
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_peak_mib": usage.ru_maxrss / 1024}


def _command(
    n: int, folder: str, _step: str = "command", env: dict[str, str] | None = None, extra: tuple[str, ...] = ()
) -> dict[str, object]:
    """``geoplan map built.geojson -o map.html`` as a command: wall, user + sys and peak RSS from ``wait4`` (its
    forked workers' included: it waits for them).

    The only change is the size limit, raised for files over 64 MiB (100k distinct places); the command exits
    as the installed ``geoplan`` does (``cli.script``, where the source has it). ``env``: the child's
    environment (``--before``: geoplan from another ``src/``; else this checkout's ``src/``). ``extra``: more
    options (``--jobs 1``).
    """
    code = (
        "import sys; from geoplan import settings; settings.max_report_bytes = 1 << 40; "
        "import geoplan.cli as cli; cli.script() if hasattr(cli, 'script') else sys.exit(cli.main(sys.argv[1:]))"
    )
    cmd = [sys.executable, "-c", code, "map", f"{folder}/built.geojson", "-o", f"{folder}/map.html", *extra]
    return _timed_child(cmd, env or _before_env(str(ROOT / "src")), f"geoplan map on {label(n)} distinct")


def _peer(n: int, folder: str) -> dict[str, object]:
    cmd = [sys.executable, "-c", PEER_CODE, f"{folder}/built.geojson", f"{folder}/peer.html"]
    return _timed_child(cmd, None, f"the folium.GeoJson peer on {label(n)} distinct")


def _floor(n: int, _folder: str) -> dict[str, object]:
    return _timed_child([sys.executable, "-c", FLOOR_CODE], None, "the import floor")


def _runs(runs: list[dict[str, object]]) -> dict[str, object]:
    """The best run (least CPU) with every run's figures (``runs``)."""
    best = min(runs, key=lambda r: r["cpu"])
    return {**best, "runs": runs}


def _command_rounds(n: int, folder: str, *, before: str | None, rounds: int, peers: bool) -> dict[str, object] | None:
    """``geoplan map`` (and ``--before``'s) and its peers, ``rounds`` times, interleaved: each round runs every
    one once, the order turned by one each round, so a slow minute of this shared machine hits all of them."""
    kinds: list[tuple[str, Callable[[], dict[str, object]]]] = []
    if before:
        kinds.append(("before_command", lambda: _command(n, folder, env=_before_env(before))))
    kinds.append(("command", lambda: _command(n, folder)))
    kinds.append(("command_one", lambda: _command(n, folder, extra=("--jobs", "1"))))  # one process
    if peers:
        kinds += [("peer", lambda: _peer(n, folder)), ("floor", lambda: _floor(n, folder))]
    for src in [ROOT / "src", *([Path(before)] if before else [])]:  # bytecode, as a normal install has it
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=False, capture_output=True)
    got: dict[str, list[dict[str, object]]] = {key: [] for key, _run in kinds}
    for r in range(rounds):
        for key, run in kinds[r % len(kinds) :] + kinds[: r % len(kinds)]:
            log(f"pipeline distinct {label(n)}: {key} (round {r + 1} of {rounds}) …")
            res = run()
            if not res:
                return None
            got[key].append(res)
    return {key: _runs(runs) for key, runs in got.items()}


def _step(n: int, folder: str, step: str, env: dict[str, str] | None = None) -> dict[str, object] | None:
    return _child(n, timeout=1800, distinct=step, folder=folder, env=env)


def _before_env(src: str) -> dict[str, str]:
    """The environment of a child that imports geoplan from ``src`` (an export of an earlier commit's ``src/``)."""
    import os

    return {**os.environ, "PYTHONPATH": str(Path(src).resolve()), "GEOPLAN_BENCH_SRC": str(Path(src).resolve())}


def run_distinct(
    n: int, *, whole: bool, steps: tuple[str, ...], before: str | None, rounds: int = 1, peers: bool = False
) -> dict[str, object] | None:
    """The steps for ``n`` distinct places, each in its own process, sharing one folder for the built file.

    With ``before`` the ``map`` and ``command`` steps run again on the same built file with geoplan imported
    from that ``src/`` (``before_map``, ``before_command``): before and after in one run. The ``command`` step
    runs ``rounds`` times interleaved with ``--before``'s and, with ``peers``, the peer and the import floor.
    """
    import tempfile

    res: dict[str, object] = {"n": n}
    with tempfile.TemporaryDirectory(prefix="geoplan-distinct-") as tmp:
        for step in DISTINCT_STEPS:
            if step == "whole" and not whole or step not in steps:
                continue
            if step == "command":
                timed = _command_rounds(n, tmp, before=before, rounds=rounds, peers=peers and n <= PEER_MAX)
                if timed is None:
                    return None
                res.update(timed)
                continue
            runs = [(step, None)]
            if before and step == "map":
                runs = [(f"before_{step}", _before_env(before)), *runs]
            for key, env in runs:
                log(f"pipeline distinct {label(n)}: {key} …")
                r = _step(n, tmp, step, env)
                if not r:
                    return None
                res[key] = r
    return res


def _child(
    n: int | None, timeout: float, *, distinct: str = "", folder: str = "", env: dict[str, str] | None = None
) -> dict[str, object] | None:
    cmd = [sys.executable, __file__, "--one", "shipped" if n is None else str(n)]
    if distinct:
        cmd += ["--step", distinct, "--folder", folder]
    try:
        res = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        log(f"pipeline {label(n)}: no result within {timeout:.0f} s")
        return None
    if res.returncode != 0:
        log(f"pipeline {label(n)} failed:\n{res.stderr[-3000:]}")
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def print_before_after(distinct: list[dict[str, object]], before: str) -> None:
    """``geoplan map`` and its stages with geoplan from ``before`` and from this checkout, on the same files."""
    rows = []
    for r in distinct:
        for key, name in (("before_", f"before ({before})"), ("", "after (this checkout)")):
            mp, cmd = r.get(f"{key}map"), r.get(f"{key}command")
            rows.append(
                [
                    f"{label(r['n'])} distinct",
                    name,
                    *(
                        (f"{fmt_s(mp['times'][s])} ({fmt_s(mp['cpu'][s])})" for s in ("read", "map_data", "page"))
                        if mp
                        else ["—"] * 3
                    ),
                    f"{mp['rss_peak_mib']:,.0f} MiB (+{mp['rss_peak_mib'] - mp['rss_base_mib']:,.0f})" if mp else "—",
                    f"{fmt_bytes(mp['page_bytes'])} + {fmt_bytes(mp.get('data_bytes', 0))}" if mp else "—",
                    f"{fmt_s(cmd['wall'])} ({fmt_s(cmd['cpu'])})" if cmd else "—",
                    f"{cmd['rss_peak_mib']:,.0f} MiB" if cmd else "—",
                ]
            )
    table(
        [
            "features",
            "geoplan",
            "read",
            "map_data",
            "page (build_map + save_map)",
            "map stages: peak (+ over imports)",
            "page + data files",
            "`geoplan map`: wall (user+sys)",
            "`geoplan map`: peak RSS",
        ],
        rows,
        title="`geoplan map` before and after, same run, same built files (wall (CPU) seconds; one run each)",
    )


def _median(values: list[float]) -> float:
    v = sorted(values)
    return (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2


def print_peers(distinct: list[dict[str, object]], before: str | None) -> None:
    """``geoplan map`` against the folium.GeoJson peer and the import floor, from the same interleaved rounds."""
    rows = []
    for r in distinct:
        peer = r.get("peer")
        names = [("before_command", f"`geoplan map`, before ({before})"), ("command", "`geoplan map`")]
        names += [("command_one", "`geoplan map --jobs 1`")]
        names += [("peer", "peer: read_file + one folium.GeoJson + save"), ("floor", "floor: import geopandas, folium")]
        for key, name in names:
            got = r.get(key)
            if not got:
                continue
            runs = got["runs"]
            cpu, wall = [x["cpu"] for x in runs], [x["wall"] for x in runs]
            rows.append(
                [
                    f"{label(r['n'])} distinct",
                    name,
                    len(runs),
                    f"{fmt_s(min(cpu))} / {fmt_s(_median(cpu))}",
                    f"{fmt_s(min(wall))} / {fmt_s(_median(wall))}",
                    f"{max(x['rss_peak_mib'] for x in runs):,.0f} MiB",
                    f"{min(cpu) / min(peer['runs'], key=lambda x: x['cpu'])['cpu']:.2f}" if peer else "—",
                    f"{_median(wall) / _median([x['wall'] for x in peer['runs']]):.2f}" if peer else "—",
                ]
            )
    table(
        [
            "features",
            "run",
            "runs",
            "CPU: best / median",
            "wall: best / median",
            "peak RSS",
            "CPU ÷ peer (best)",
            "wall ÷ peer (median)",
        ],
        rows,
        title="`geoplan map` and its peers, interleaved rounds, a fresh process each (user + sys and wall from wait4)",
    )


def print_distinct(distinct: list[dict[str, object]]) -> None:
    """The distinct-place tables and the #14 targets they decide."""
    distinct = [r for r in distinct if all(k in r for k in ("prepare", "build", "map", "command"))]
    rows = []
    for r in distinct:
        prep, build, mp, cmd = r["prepare"], r["build"], r["map"], r["command"]
        whole = r.get("whole")
        t, c = mp["times"], mp["cpu"]
        rows.append(
            [
                f"{label(r['n'])} distinct",
                f"{prep['features']:,} / {prep['vertices']:,}",
                f"{fmt_s(whole['times']['build'])} ({fmt_s(whole['cpu']['build'])}), {whole['rss_peak_mib']:,.0f} MiB"
                if whole
                else "—",
                f"{fmt_s(build['times']['build'])} ({fmt_s(build['cpu']['build'])}), {build['rss_peak_mib']:,.0f} MiB"
                f" (+{build['rss_peak_mib'] - build['rss_base_mib']:,.0f})",
                *(f"{fmt_s(t[s])} ({fmt_s(c[s])})" for s in ("read", "map_data", "page")),
                f"{mp['rss_peak_mib']:,.0f} MiB (+{mp['rss_peak_mib'] - mp['rss_base_mib']:,.0f})",
                f"{fmt_s(cmd['wall'])} ({fmt_s(cmd['cpu'])}), {cmd['rss_peak_mib']:,.0f} MiB",
                fmt_bytes(build["geojson_bytes"]),
                fmt_bytes(mp["page_bytes"]),
                f"{max(build['rss_peak_mib'], cmd['rss_peak_mib'], mp['rss_peak_mib']):,.0f} MiB",
            ]
        )
    table(
        [
            "features",
            "features / vertices",
            "build, whole document (before): wall (CPU), peak",
            "build, streamed: wall (CPU), peak (+ over features)",
            "read",
            "map_data",
            "page",
            "map stages: peak (+ over imports)",
            "`geoplan map` command: wall (user+sys), peak",
            "GeoJSON",
            "page",
            "pipeline peak RSS",
        ],
        rows,
        title="Distinct places: each step in its own process (wall (CPU) seconds; one run each)",
    )
    for r in distinct:
        n, build, cmd = r["n"], r["build"], r["command"]
        peak = max(build["rss_peak_mib"], cmd["rss_peak_mib"], r["map"]["rss_peak_mib"])
        if n == 10_000:
            target("#14, 10k distinct: `geoplan map` ≤ 2 s", cmd["wall"] <= 2, f"{fmt_s(cmd['wall'])} wall")
        if n == 100_000:
            target(
                "#14, 100k distinct: built ≤ 15 s",
                build["times"]["build"] <= 15,
                f"{fmt_s(build['times']['build'])} wall ({fmt_s(build['cpu']['build'])} CPU) after the features",
            )
            target("#14, 100k distinct: pipeline peak RSS ≤ 1 GB", peak <= 1000, f"{peak:,.0f} MiB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="skip 100k")
    ap.add_argument("--sizes", type=int, nargs="*", help="report sizes in ◆ lines (default 1k 10k 100k)")
    ap.add_argument("--distinct", action="store_true", help="also feature sets of distinct places")
    ap.add_argument("--distinct-only", action="store_true", help="only the feature sets of distinct places")
    ap.add_argument("--whole", action="store_true", help="distinct: also the whole-document build at 100k (7 GiB)")
    ap.add_argument(
        "--steps",
        nargs="*",
        choices=DISTINCT_STEPS,
        default=list(DISTINCT_STEPS),
        help="distinct: the steps to run (build is needed by map and command)",
    )
    ap.add_argument("--before", metavar="SRC", help="distinct: map and command also with geoplan from SRC (an export)")
    ap.add_argument(
        "--rounds", type=int, help="distinct: interleaved rounds of the command step (3 up to 10k places, then 1)"
    )
    ap.add_argument(
        "--no-peers", action="store_true", help="distinct: no folium.GeoJson peer and import floor beside the command"
    )
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        if args.step:
            print(json.dumps(measure_distinct(int(args.one), args.step, Path(args.folder))))
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
            t0 = time.perf_counter()
            r = run_distinct(
                n,
                whole=args.whole or n < 100_000,
                steps=tuple(args.steps),
                before=args.before,
                rounds=max(1, args.rounds or (3 if n <= PEER_MAX else 1)),
                peers=not args.no_peers,
            )
            log(f"pipeline distinct {label(n)} done in {time.perf_counter() - t0:.0f} s")
            if r is not None:
                distinct.append(r)
        print_distinct(distinct)
        if "command" in args.steps:
            print_peers(distinct, args.before)
        if args.before:
            print_before_after(distinct, args.before)

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
