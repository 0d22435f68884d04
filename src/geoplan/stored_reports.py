"""Uploaded reports kept by content hash, so a link (``?report=<sha1>``) reopens the same report.

The text lives in ``<data_dir>/reports/<sha1>.txt`` and the uploader's file name beside it
(``<sha1>.json``): the hash names content, not a person's upload, and the same text uploaded twice is
one file. A link is untrusted input: only 40 lowercase hex characters are taken as a hash, so it can
never name a path outside the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

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
        (folder / f"{sha}.json").write_text(json.dumps({"name": name}, ensure_ascii=False), encoding="utf-8")
    except OSError as err:
        raise StoredReportError(f"{folder}: cannot keep the report: {err.strerror or err}") from err
    return sha


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
    try:
        name = str(json.loads((folder / f"{sha}.json").read_text(encoding="utf-8"))["name"])
    except (OSError, ValueError, KeyError, TypeError):
        name = f"{sha[:8]}.txt"
    return data, name
