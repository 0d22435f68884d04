"""What every benchmark shares: paths, the machine, timing, cached feature sets, tables, targets."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import pickle
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
for p in (str(ROOT / "src"), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

SHIPPED_REPORT = ROOT / "geodata" / "reports" / "taiyuan-2025.txt"
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
SEED = 20250225
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
CACHE_DIR = Path(os.environ.get("GEOPLAN_BENCH_CACHE", Path(tempfile.gettempdir()) / "geoplan-bench"))

T = TypeVar("T")


def log(msg: str) -> None:
    """Progress on stderr, so stdout holds only the figures."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> str:
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
        return f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        return "unknown"


def _run(cmd: Sequence[str]) -> str:
    try:
        return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=20, cwd=ROOT).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def machine() -> dict[str, str]:
    import folium
    import shapely

    commit = _run(["git", "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "status", "--porcelain", "--", "src", "streamlit_app.py"])
    return {
        "date": _run(["date"]),
        "cpu": _cpu_model(),
        "nproc": str(os.cpu_count()),
        "ram": _ram_gib(),
        "python": platform.python_version(),
        "chromium": _run([CHROMIUM, "--version"]) if Path(CHROMIUM).exists() else "missing",
        "folium": folium.__version__,
        "shapely": shapely.__version__,
        "commit": commit + (" + uncommitted changes in src/ or the app" if dirty else ""),
    }


def print_machine() -> None:
    m = machine()
    print(
        f"machine: {m['cpu']}, {m['nproc']} cores, {m['ram']} RAM; Python {m['python']}; {m['chromium']}; "
        f"folium {m['folium']}; shapely {m['shapely']}"
    )
    print(f"code: {m['commit']}; date: {m['date']}")


# --------------------------------------------------------------------------- timing


def best_of(fn: Callable[[], T], runs: int) -> tuple[float, T]:
    """The fastest of ``runs`` calls (seconds) and the last result."""
    best = math.inf
    out: Any = None
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def runs_for(n: int) -> int:
    """Best of 7 for the shipped report, 5 at 1k, 3 at 10k, 1 run at 100k."""
    return 7 if n < 1_000 else 5 if n < 10_000 else 3 if n < 100_000 else 1


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- data


def _source_key(*extra: object) -> str:
    """Changes whenever geoplan's or the generator's code changes, so a cache never serves stale features."""
    h = hashlib.sha256()
    for path in sorted((ROOT / "src" / "geoplan").rglob("*.py")) + [BENCH / "generate.py"]:
        h.update(path.read_bytes())
    for path in (ROOT / "geodata" / "gazetteer.geojson", ROOT / "geodata" / "boundaries" / "taiyuan.geojson"):
        h.update(path.read_bytes())
    h.update(repr(extra).encode())
    return h.hexdigest()[:16]


def cached(name: str, make: Callable[[], T], *key: object) -> T:
    """``make()`` once per code version; later runs read the pickle (generation is not what is measured)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"{name}-{_source_key(name, *key)}.pkl"
    if path.exists():
        with path.open("rb") as f:
            return pickle.load(f)
    out = make()
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as f:
        pickle.dump(out, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return out


def gazetteer():
    from geoplan.gazetteer import load_gazetteer

    return load_gazetteer()


def shipped_features():
    """The shipped report's features, as the app builds them."""
    from geoplan.features import features_from_report
    from geoplan.parse import report_from_path

    return features_from_report(report_from_path(SHIPPED_REPORT), gazetteer=gazetteer())


def shared_geometries(gdf):
    """``gdf`` with rows of one place sharing one geometry object again, as the pipeline's output does.

    Pickling a GeoDataFrame writes its geometries as WKB, so after a round trip through the cache every
    row has its own copy. ``geoplan.maps.map_data`` groups by geometry content and no longer needs this,
    but the other stages' per-object memos (``features_to_geojson``) do, so the cached features are timed
    as the app's own objects are.
    """
    import geopandas as gpd
    import numpy as np

    canon: dict[bytes, Any] = {}
    geoms = np.empty(len(gdf), dtype=object)
    geoms[:] = [None if g is None else canon.setdefault(g.wkb, g) for g in gdf.geometry.values]
    out = gdf.copy()
    out[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    out.attrs = dict(gdf.attrs)
    return out


def located_features(n: int, seed: int = SEED):
    """``n`` located features from a generated report (cached on disk between runs), places' rows sharing
    their geometry object as in the pipeline's output."""
    from generate import generate_features

    return shared_geometries(
        cached(f"features-{n}", lambda: generate_features(n, seed, gazetteer=gazetteer()), n, seed)
    )


def report_for_features(n: int, seed: int = SEED) -> str:
    """A generated report whose pipeline output has about ``n`` located features."""
    from generate import LOCATED_PER_ITEM, generate_report

    return generate_report(max(4, round(n / LOCATED_PER_ITEM)), seed, gazetteer=gazetteer())


def label(n: int | None) -> str:
    if n is None:
        return "shipped"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


# --------------------------------------------------------------------------- output


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "—"
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:.2f} {unit}" if n < 10 * div else f"{n / div:.1f} {unit}"
    return f"{int(n)} B"


def fmt_s(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 0.9995:
        return f"{s * 1000:.0f} ms" if s >= 0.01 else f"{s * 1000:.1f} ms"
    return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"


def fmt_ratio(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.2f}×" if x < 10 else f"{x:.0f}×"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], title: str | None = None) -> None:
    """A Markdown table on stdout (so the README can take it verbatim)."""
    rows = [["—" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    if title:
        print(f"\n### {title}\n")
    print("| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    sys.stdout.flush()


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "PASS" if ok else "FAIL"


def target(name: str, ok: bool | None, detail: str) -> None:
    print(f"TARGET {verdict(ok)}: {name} — {detail}")
    sys.stdout.flush()


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
