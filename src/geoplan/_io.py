"""Atomic, checked file writes: a failed, interrupted or silently truncated write leaves the previous file.

Some writers do not report a failed write (GDAL's KML driver on a full disk says nothing and leaves
truncated XML), so a caller can pass ``verify``: it reads the temporary file back and raises when it is
not whole; only then is the file moved into place.

Targets that are symlinks are written *through*: the link stays and the file it points at is replaced
(atomically, beside that file). Replacing the link with a regular file would silently detach whatever
the link was for (``latest.geojson`` -> a dated file), and writing through is what ``>`` in a shell does.
A missing parent folder is created; ``created`` is told about each folder made, so a command can say so.
A parent that is a file is refused with a message naming it, instead of the system's "File exists".
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

MAX_JSON_DEPTH = 64  # a MultiPolygon in a Feature in a FeatureCollection nests 7 levels


class TruncatedWriteError(OSError):
    """What was written is not what was meant (short, empty, unreadable): nothing was replaced."""


def resolve_target(target: str | Path) -> Path:
    """``target``, or the file it links to (followed to the end), so a write goes through the link."""
    path = Path(target)
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def missing_parents(target: Path) -> list[Path]:
    """The folders above ``target`` that do not exist yet, outermost first.

    Raise ``NotADirectoryError`` naming the first ancestor that exists but is not a folder.
    """
    missing: list[Path] = []
    parent = target.parent
    while not parent.exists() and not parent.is_symlink():
        missing.append(parent)
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{parent} is a file, not a folder")
    return missing[::-1]


@contextlib.contextmanager
def atomic_path(target: str | Path, *, created: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it into place only if the block succeeds."""
    target = resolve_target(target)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"{target} is a folder")
    for folder in missing_parents(target):
        folder.mkdir(exist_ok=True)
        if created is not None:
            created(folder)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part" + target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # writers such as GDAL want to create the file themselves
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def check_size(path: Path, expected: int) -> None:
    """Raise ``TruncatedWriteError`` unless ``path`` holds exactly ``expected`` bytes."""
    size = path.stat().st_size
    if size != expected:
        msg = f"wrote {size:,} of {expected:,} bytes (disk full?)"
        raise TruncatedWriteError(errno.EIO, msg)


def write_atomic(
    target: str | Path,
    data: str | bytes | Callable[[Path], None],
    *,
    verify: Callable[[Path], None] | None = None,
    created: Callable[[Path], None] | None = None,
) -> Path:
    """Write text, bytes, or whatever ``data(tmp_path)`` writes, to ``target`` atomically.

    Text and bytes are checked by size; a callable writer by ``verify(tmp_path)``, which raises
    (``TruncatedWriteError`` or any ``OSError``) when the file is not whole. Returns ``target``.
    """
    with atomic_path(target, created=created) as tmp:
        if callable(data):
            data(tmp)
        elif isinstance(data, bytes):
            tmp.write_bytes(data)
            check_size(tmp, len(data))
        else:
            tmp.write_text(data, encoding="utf-8", newline="")
            check_size(tmp, len(data.encode("utf-8")))
        if verify is not None:
            verify(tmp)
    return Path(target)


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def json_nesting(text: str) -> int:
    """How deep ``[``/``{`` nest outside strings, in linear time, before ``json.loads`` recurses and crashes.

    Text with no more opening brackets than ``MAX_JSON_DEPTH`` cannot nest deeper: its bracket count, an
    upper bound, is returned without a scan (a single geometry; this runs once per imported row).
    """
    opening = text.count("[") + text.count("{")
    if opening <= MAX_JSON_DEPTH:
        return opening
    steps = [1 if b in "[{" else -1 for b in _JSON_BRACKET.findall(_JSON_STRING.sub('""', text))]
    return int(np.cumsum(steps).max()) if steps else 0
