"""Run every benchmark and print their figures (``make bench``); ``--quick`` skips 100k and the app.

Each benchmark runs as its own process (the render benchmark twice: standalone page, then the app),
so one's memory never weighs on the next and each stays within its time budget on 2 cores:

    pipeline   ~1 min (--quick: 20 s)
    payload    ~8 min (--quick: 2.5 min)
    render     standalone ~6 min (--quick: 2 min); app ~8 min (skipped by --quick)

Feature sets are generated once per code version and cached under $TMPDIR/geoplan-bench
(``GEOPLAN_BENCH_CACHE`` to move it). Progress goes to stderr, figures to stdout:

    .venv/bin/python bench/run_all.py --quick | tee bench-results.md
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH, log, print_machine


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1k and 10k only, no Streamlit app")
    args = ap.parse_args(argv)
    quick = ["--quick"] if args.quick else []
    steps = [
        ["pipeline.py", *quick],
        ["payload.py", *quick],
        ["render.py", "--part", "standalone", *quick],
        ["scale.py", *quick],
    ]
    if not args.quick:
        steps.append(["render.py", "--part", "app"])

    print("# geoplan benchmarks" + (" (quick: no 100k, no app)" if args.quick else "") + "\n")
    print_machine()
    failed = []
    for step in steps:
        log(f"run_all: {' '.join(step)}")
        t0 = time.monotonic()
        print()
        sys.stdout.flush()
        res = subprocess.run([sys.executable, str(BENCH / step[0]), *step[1:]], check=False)
        log(f"run_all: {step[0]} finished in {time.monotonic() - t0:.0f} s (exit {res.returncode})")
        if res.returncode != 0:
            failed.append(" ".join(step))
    if failed:
        print(f"\nbenchmarks that failed to run: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
