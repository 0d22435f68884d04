"""Uploaded reports kept by content hash, so a link (``?report=<sha1>``) reopens the same report.

The text lives in ``<data_dir>/reports/<sha1>.txt`` and the uploader's file name beside it
(``<sha1>.json``): the hash names content, not a person's upload, and the same text uploaded twice is
one file. A link is untrusted input: only 40 lowercase hex characters are taken as a hash, so it can
never name a path outside the folder.

Anyone who can reach the app can upload, so the folder is bounded: past ``settings.max_stored_reports``
reports or ``settings.max_stored_report_bytes`` bytes, the least recently used are deleted (saving or
opening a report marks it used), never the one just saved. A link to an evicted report then says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path

from geoplan import settings
from geoplan.errors import StoredReportError

REPORT_HASH = re.compile(r"[0-9a-f]{40}")


def report_hash(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def reports_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "reports"


def save_report(data: bytes, name: str, data_dir: Path) -> str:
    """Keep ``data`` under its hash (written to a temporary file, then renamed: never half a report)."""
    sha = report_hash(data)
    folder = reports_dir(data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{sha}.txt"
        if not target.is_file():
            tmp = folder / f".{sha}.{os.getpid()}.tmp"
            tmp.write_bytes(data)
            tmp.replace(target)
        else:
            os.utime(target)  # used again: the last to be evicted
        (folder / f"{sha}.json").write_text(json.dumps({"name": name}, ensure_ascii=False), encoding="utf-8")
        evict(folder, keep=sha)
    except OSError as err:
        raise StoredReportError(f"{folder}: cannot keep the report: {err.strerror or err}") from err
    return sha


def evict(folder: Path, *, keep: str) -> list[str]:
    """Delete the least recently used reports until the quota holds; return their hashes (oldest first).

    ``keep`` (the report just saved) stays even if it alone is over the byte quota. Another process may
    evict at the same time: a file already gone is not an error.
    """
    stored = []
    for entry in os.scandir(folder):
        sha = entry.name[:-4]
        if entry.name.endswith(".txt") and REPORT_HASH.fullmatch(sha) and entry.is_file():
            st = entry.stat()
            stored.append((st.st_mtime_ns, sha, st.st_size))
    stored.sort()  # least recently used first
    count, total = len(stored), sum(size for _, _, size in stored)
    evicted: list[str] = []
    for _, sha, size in stored:
        if count <= settings.max_stored_reports and total <= settings.max_stored_report_bytes:
            break
        if sha == keep:
            continue
        (folder / f"{sha}.txt").unlink(missing_ok=True)
        (folder / f"{sha}.json").unlink(missing_ok=True)
        count, total = count - 1, total - size
        evicted.append(sha)
    return evicted


def load_report(sha: str, data_dir: Path) -> tuple[bytes, str]:
    """The text and file name kept under ``sha``; refuses anything but a 40-hex hash, and a missing file."""
    if not REPORT_HASH.fullmatch(sha or ""):
        raise StoredReportError(f"not a report hash (40 hex characters): {sha[:60]!r}")
    folder = reports_dir(data_dir)
    path = folder / f"{sha}.txt"
    try:
        data = path.read_bytes()
    except OSError as err:
        raise StoredReportError(f"{path}: no such stored report") from err
    if report_hash(data) != sha:
        raise StoredReportError(f"{path}: the stored text does not match its hash")
    with contextlib.suppress(OSError):  # a read-only data dir still serves its reports
        os.utime(path)  # opened by a link: recently used
    try:
        name = str(json.loads((folder / f"{sha}.json").read_text(encoding="utf-8"))["name"])
    except (OSError, ValueError, KeyError, TypeError):
        name = f"{sha[:8]}.txt"
    return data, name
