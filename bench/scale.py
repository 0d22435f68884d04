"""Parse + build time against input size, for every report shape and the hostile inputs that once broke it.

Each text is made from real report text (the shipped Taiyuan summary, the Beijing and Shanxi complete reports
in ../shared, cut or repeated to size) or from the hostile patterns of the robustness issue (one character
repeated on one line, 20k continuation lines, nested items). For each: ``report_from_text`` and
``features_from_report`` (what ``geoplan build`` does before writing), best of 3 below 500 kB, one run above.
The peer is the floor any sentence-based parser pays on the same text in the same process: decoding the
UTF-8 bytes and splitting them into sentences with one regex (``re.split``); the ratio says how many floors
geoplan costs. Targets: ≤ 5 s at 2 MB (the upload limit) for every shape; a 20,000-character full report
well under a second.

    .venv/bin/python bench/scale.py [--quick]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import log, print_machine, table

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "real-reports"
SIZES_KB = (10, 100, 500, 2000)


def _to_size(text: str, kb: int) -> str:
    """``text`` cut or repeated (whole lines) to about ``kb`` kB of UTF-8."""
    target = kb * 1000
    out: list[str] = []
    size = 0
    lines = text.splitlines(keepends=True)
    i = 0
    while size < target:
        line = lines[i % len(lines)]
        if i >= len(lines):
            # A repeat: marked inside every clause, so no repeated sentence contains its original (the
            # parser merges an item contained in another) and the item count grows with the size.
            k = i // len(lines)
            line = line.replace("，", f"，第{k}遍，").replace("。", f"（{k}）。")
        out.append(line)
        size += len(line.encode("utf-8"))
        i += 1
    return "".join(out)


def inputs(kb: int) -> dict[str, str]:
    seed = (ROOT / "geodata" / "reports" / "taiyuan-2025.txt").read_text(encoding="utf-8")
    out = {"keyword-summary (seed)": _to_size(seed, kb)}
    for name in ("beijing-2026", "shanxi-2026"):
        path = SHARED / f"{name}.txt"
        if path.exists():
            # Without the page's "相关报道：" tail: the parser drops everything after it, repeats included.
            body = path.read_text(encoding="utf-8").split("\n相关报道")[0] + "\n"
            out[f"full-report ({name})"] = _to_size(body, kb)
    bullets = "".join(
        f"● 推进第{i}号道路改造，新建学校{i % 9 + 1}所。\n" if i % 12 else f"【领域{i}】\n" for i in range(200_000)
    )
    out["bullet-summary"] = _to_size(bullets, kb)
    chars = kb * 1000 // 3
    out["hostile: one char line"] = "关键词:交通\n◆" + "路" * chars + "\n"
    n = kb * 1000 // 40
    out["hostile: continuation lines"] = "关键词:交通\n◆修路\n" + "".join(f"第{i}段迎泽西大街改造\n" for i in range(n))
    depth = int((2 * kb * 1000 / 3) ** 0.5)
    out["hostile: nested items"] = "关键词:交通\n" + "".join("◆" + "甲" * i + "\n" for i in range(1, depth))
    return out


def best(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10 kB and 500 kB only")
    args = ap.parse_args(argv)
    from geoplan.features import features_from_report
    from geoplan.gazetteer import gazetteer_for
    from geoplan.parse import report_from_text

    print("## Parse + build against size\n")
    print_machine()
    sizes = (10, 500) if args.quick else SIZES_KB
    rows = []
    for kb in sizes:
        for name, text in inputs(kb).items():
            data = text.encode("utf-8")
            runs = 3 if kb < 500 else 1
            report = report_from_text(text)
            gazetteer_for(report.city.adcode if report.city else None)  # loaded once, as the app caches it
            log(f"scale: {name} {kb} kB")
            t_parse = best(lambda text=text: report_from_text(text), runs)
            t_build = best(lambda report=report: features_from_report(report), runs)
            t_floor = best(lambda data=data: re.split(r"[。！？；\n]", data.decode("utf-8")), runs)
            total = t_parse + t_build
            rows.append(
                [
                    name,
                    f"{len(data) / 1e3:,.0f} kB",
                    f"{len(report.items):,}",
                    f"{t_parse:.2f} s",
                    f"{t_build:.2f} s",
                    f"{total:.2f} s",
                    f"{t_floor * 1e3:.1f} ms",
                    f"{total / t_floor:,.0f}×",
                    "yes" if kb < 2000 or total <= 5 else "NO",
                ]
            )
    table(
        ["input", "size", "items", "parse", "build", "parse+build", "floor (decode+split)", "ratio", "≤ 5 s at 2 MB"],
        rows,
    )
    if (SHARED / "shanxi-2026.txt").exists():
        # Shanxi's report is 18,808 characters: with the start of Beijing's it makes one of 20,000.
        text = "".join(
            (SHARED / f"{n}.txt").read_text(encoding="utf-8").split("\n相关报道")[0] + "\n"
            for n in ("shanxi-2026", "beijing-2026")
        )[:20_000]
        twenty = report_from_text(text)
        t = best(lambda: features_from_report(report_from_text(text)), 5)
        print(
            f"\nA 20,000-character full report (Shanxi 2026 and the start of Beijing 2026): parse + build "
            f"{t:.2f} s, {len(twenty.items)} items, {len(text):,} characters."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
