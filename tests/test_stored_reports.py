"""Uploaded reports kept by content hash: a link names the hash, never a path."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geoplan.errors import StoredReportError
from geoplan.stored_reports import load_report, save_report


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
