"""Time `geoplan gazetteer import-osm` on generated .osm.pbf extracts of growing size (linear?).

Each extract holds, inside Taiyuan, ``n`` named roads of four ways each (a grid, so the ways of a road
share end nodes), ``n // 4`` stations, ``n // 4`` school campuses and ``n // 8`` parks, plus as many
unnamed footways as roads (read and counted, never entries). One process per size, so peak RSS is the
import's own; CPU time is given beside wall time because the machine is shared:

    .venv/bin/python bench/osm_import.py --sizes 1000 4000 16000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LON0, LAT0, STEP = 112.45, 37.75, 0.0009  # south-west corner of the grid, ~80-100 m between grid nodes


def write_extract(path: Path, n: int) -> dict[str, int]:
    """A synthetic extract with ``n`` roads; returns what it holds."""
    import osmium
    from osmium.osm.mutable import Node, Way

    nid, wid = 1, 1
    side = int(n**0.5) + 1
    counts = {"nodes": 0, "ways": 0}
    with osmium.SimpleWriter(str(path)) as w:

        def node(lon: float, lat: float, tags: dict[str, str] | None = None) -> int:
            nonlocal nid
            w.add_node(Node(id=nid, location=(lon, lat), tags=tags or {}))
            nid += 1
            counts["nodes"] += 1
            return nid - 1

        def way(refs: list[int], tags: dict[str, str]) -> None:
            nonlocal wid
            w.add_way(Way(id=wid, nodes=refs, tags=tags))
            wid += 1
            counts["ways"] += 1

        roads = []
        for r in range(n):  # a road: 5 nodes along x (or y for every other road), 4 ways
            row, col = divmod(r, side)
            x0, y0 = LON0 + col * 5 * STEP, LAT0 + row * STEP * 1.3
            refs = [node(x0 + i * STEP, y0 + (i % 2) * STEP * 0.1) for i in range(5)]
            roads.append(refs)
            for i in range(4):
                way(refs[i : i + 2], {"highway": "residential", "name": f"测试路{r}号街"})
        for refs in roads:  # unnamed footways
            way([refs[0], refs[2]], {"highway": "footway"})
        for s in range(n // 4):
            x, y = LON0 + (s % 50) * 0.004, LAT0 + (s // 50) * 0.003 + 0.0005
            node(x, y, {"railway": "station", "public_transport": "station", "name": f"测试站{s}"})
        for k in range(n // 4 + n // 8):
            x, y = LON0 + (k % 60) * 0.003, LAT0 + 0.0002 + (k // 60) * 0.0025
            d = 0.0008
            ring = [node(x, y), node(x + d, y), node(x + d, y + d), node(x, y + d)]
            tags = (
                {"amenity": "school", "name": f"测试学校{k}"}
                if k < n // 4
                else {"leisure": "park", "name": f"测试公园{k}"}
            )
            way([*ring, ring[0]], tags)
    return counts


def run_one(n: int) -> dict[str, float]:
    from geoplan import settings
    from geoplan.osm import import_osm

    with tempfile.TemporaryDirectory() as tmp:
        pbf = Path(tmp) / f"synthetic-{n}.osm.pbf"
        t0 = time.perf_counter()
        counts = write_extract(pbf, n)
        t_write = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        result = import_osm(pbf, curated_paths=[settings.gazetteer_paths()[-1]])
        t_import, c_import = time.perf_counter() - t0, time.process_time() - c0
        size = pbf.stat().st_size
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "roads": n,
        **counts,
        "pbf_kb": size / 1024,
        "write_s": t_write,
        "import_s": t_import,
        "cpu_s": c_import,
        "entries": len(result.features),
        "merged": len(result.report.merged),
        "peak_rss_mb": rss_mb,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 16000])
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one)))
        return 0
    print(
        "| roads | nodes | ways | .pbf KB | entries | merged | import s (wall) | CPU s | CPU µs per way | peak RSS MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], check=True, capture_output=True, text=True)
        r = json.loads(out.stdout)
        print(
            f"| {r['roads']:,} | {r['nodes']:,} | {r['ways']:,} | {r['pbf_kb']:,.0f} | {r['entries']:,} | "
            f"{r['merged']:,} | {r['import_s']:.2f} | {r['cpu_s']:.2f} | {r['cpu_s'] / r['ways'] * 1e6:.0f} | "
            f"{r['peak_rss_mb']:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
