"""Hostile reports under the upload limit: no crash, no hang, no silent merge (issue: hold under hostile input).

Each input once made geoplan crash (a segfault in pyahocorasick), hang (a FIFO) or take minutes (quadratic
and cubic stages). The sizes here are those that broke it, or large enough that a quadratic stage would
take minutes; the times themselves are measured in bench/, not asserted.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
import textwrap

import pytest

from geoplan import parse
from geoplan.errors import ReportError
from geoplan.features import features_from_report
from geoplan.parse import item_id, report_from_path, report_from_text


def test_one_huge_random_item_does_not_crash_the_process(tmp_path):
    """≳550k random characters in one item: pyahocorasick segfaulted freeing the automaton (exit 139)."""
    random.seed(7)
    body = "".join(chr(random.randint(0x4E00, 0x9FFF)) for _ in range(600_000))
    path = tmp_path / "huge.txt"
    path.write_text("关键词:交通\n◆修路。\n◆" + body + "\n◆修路。再修一段\n", encoding="utf-8")
    code = textwrap.dedent(f"""
        from geoplan.parse import report_from_path
        from geoplan.features import features_from_report
        r = report_from_path({str(path)!r})
        print(len(r.items), len(features_from_report(r)))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["2", "2"]  # 修路。 is a repeat of 修路。再修一段


def test_one_character_repeated_on_a_long_line():
    report = report_from_text("关键词:交通\n◆" + "路" * 300_000 + "\n")
    assert len(report.items) == 1
    assert len(features_from_report(report)) == 1


def test_many_continuation_lines_make_one_item():
    lines = "".join(f"第{i}段迎泽西大街改造\n" for i in range(20_000))
    report = report_from_text("关键词:交通\n◆修路\n" + lines)
    (item,) = report.items
    assert len(item.occurrences) == 1 and item.text.startswith("修路第0段迎泽西大街改造")
    gdf = features_from_report(report)
    assert list(gdf["name"]) == ["迎泽西大街"]  # one feature per place per item; no "第N段迎泽西大街" names
    assert gdf["unresolved"].isna().all()


def test_nested_items_resolve_to_the_longest():
    text = "关键词:交通\n" + "".join("◆" + "甲" * i + "\n" for i in range(1, 1151))
    report = report_from_text(text)
    assert len(report.items) == 1
    assert len(report.items[0].occurrences) == 1150


def test_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "report.txt"
    os.mkfifo(fifo)
    with pytest.raises(ReportError, match="not a regular file"):
        report_from_path(fifo)


def test_colliding_ids_are_disambiguated_and_others_keep_theirs(monkeypatch):
    """Two different texts whose 40-bit ids collide are never merged; every other id stays as it was."""
    real = hashlib.sha1

    class Colliding:
        def __init__(self, data: bytes) -> None:
            self.hex = real(data).hexdigest()
            self.collides = data.decode().startswith("修")

        def hexdigest(self) -> str:
            return ("0" * 10 + self.hex[10:]) if self.collides else self.hex

    monkeypatch.setattr(parse.hashlib, "sha1", Colliding)
    report = report_from_text("关键词:交通\n◆修幸福桥。\n◆建学校10所。\n◆修大运路。\n")
    ids = [it.id for it in report.items]
    assert len(set(ids)) == 3 and len(report.items) == 3
    assert ids[0] == "it-0000000000"  # the first text keeps the short id
    assert ids[2].startswith("it-0000000000") and len(ids[2]) == len(ids[0]) + 2
    monkeypatch.setattr(parse.hashlib, "sha1", real)
    assert ids[1] == item_id("建学校10所。")


@pytest.mark.parametrize("shape", ["full-report", "bullet-summary", "excerpt", "keyword-summary"])
def test_every_shape_survives_a_two_megabyte_line(shape):
    text = "关键词:交通\n◆" if shape == "keyword-summary" else "一、工作回顾\n二、工作安排\n"
    text += ("推进幸福桥建设，" * 60_000) + "。\n"
    report = report_from_text(text, shape=shape)
    assert report.shape == shape
