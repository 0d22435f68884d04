"""Uploaded reports kept by content hash: a link names the hash, never a path."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoplan import settings
from geoplan.errors import StoredReportError
from geoplan.stored_reports import evict, load_report, save_report


def test_a_saved_report_loads_back_by_its_sha1(tmp_path, report_path):
    data = report_path.read_bytes()
    sha = save_report(data, "太原 2025.txt", tmp_path)
    assert sha == hashlib.sha1(data).hexdigest()
    assert (tmp_path / "reports" / f"{sha}.txt").read_bytes() == data
    assert load_report(sha, tmp_path) == (data, "太原 2025.txt")
    assert save_report(data, "again.txt", tmp_path) == sha  # the same text is one file
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == [f"{sha}.json", f"{sha}.txt"]


@given(st.text(max_size=60))
def test_only_40_hex_characters_are_a_hash(text):
    if re.fullmatch(r"[0-9a-f]{40}", text):
        return
    with pytest.raises(StoredReportError, match="not a report hash"):
        load_report(text, Path("/nonexistent"))


def test_missing_or_altered_reports_are_refused(tmp_path):
    sha = save_report("一".encode(), "a.txt", tmp_path)
    with pytest.raises(StoredReportError, match="no such stored report"):
        load_report("0" * 40, tmp_path)
    (tmp_path / "reports" / f"{sha}.txt").write_bytes(b"changed")
    with pytest.raises(StoredReportError, match="does not match its hash"):
        load_report(sha, tmp_path)


def test_an_unwritable_data_dir_is_one_clear_error(tmp_path):
    (tmp_path / "reports").write_text("a file where the folder should be")
    with pytest.raises(StoredReportError, match="cannot keep the report"):
        save_report(b"x", "x.txt", tmp_path)


# -- the quota: an app anyone can reach must not fill its disk with uploads -------------------------------


def _save_aged(tmp_path, texts, start=1_000_000):
    """Save each text, then date it ``start + i`` seconds (oldest first), as if used in that order."""
    shas = []
    for i, text in enumerate(texts):
        sha = save_report(text.encode(), f"{i}.txt", tmp_path)
        os.utime(tmp_path / "reports" / f"{sha}.txt", (start + i, start + i))
        shas.append(sha)
    return shas


def _kept(tmp_path):
    return {p.name for p in (tmp_path / "reports").iterdir()}


def test_past_the_count_quota_the_least_recently_used_go(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_stored_reports", 3)
    old = _save_aged(tmp_path, ["一", "二", "三"])
    load_report(old[0], tmp_path)  # opened by a link: used now, so it outlives 二 and 三
    new = save_report("四".encode(), "4.txt", tmp_path)
    assert _kept(tmp_path) == {f"{s}.{ext}" for s in (old[0], old[2], new) for ext in ("txt", "json")}
    with pytest.raises(StoredReportError, match="no such stored report"):
        load_report(old[1], tmp_path)
    assert save_report("三".encode(), "3 again.txt", tmp_path) == old[2]  # saved again: used now
    assert (tmp_path / "reports" / f"{old[2]}.txt").stat().st_mtime > 2_000_000
    assert load_report(old[2], tmp_path)[1] == "3 again.txt"


def test_past_the_byte_quota_the_oldest_go_but_never_the_one_just_saved(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_stored_report_bytes", 250)
    a, b = _save_aged(tmp_path, ["a" * 100, "b" * 100])
    c = save_report(b"c" * 100, "c.txt", tmp_path)  # 300 bytes: a goes
    assert {p for p in _kept(tmp_path) if p.endswith(".txt")} == {f"{b}.txt", f"{c}.txt"}
    big = save_report(b"d" * 400, "d.txt", tmp_path)  # over the quota alone: kept, every other goes
    assert _kept(tmp_path) == {f"{big}.txt", f"{big}.json"}
    assert load_report(big, tmp_path)[0] == b"d" * 400


def test_eviction_leaves_other_files_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_stored_reports", 1)
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a report")
    (folder / f"{'0' * 39}.txt").write_text("39 hex characters: not a hash")
    save_report(b"x", "x.txt", tmp_path)
    sha = save_report(b"y", "y.txt", tmp_path)
    assert _kept(tmp_path) == {"notes.txt", f"{'0' * 39}.txt", f"{sha}.txt", f"{sha}.json"}
    assert evict(folder, keep=sha) == []  # within the quota: nothing to do
