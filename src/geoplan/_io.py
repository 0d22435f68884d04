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
import gc
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

MAX_JSON_DEPTH = 64  # a MultiPolygon in a Feature in a FeatureCollection nests 7 levels


@contextlib.contextmanager
def forked_pool(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``workers`` processes forked from this one, or None (no workers asked, or no fork here).

    Forked, a worker inherits what this process has read and built (a frame, a file's head) instead of being
    sent it, and starts in milliseconds where a spawned one imports geopandas again (~0.6 s). Only a
    single-threaded caller may fork (the command line; never the app's server, whose threads hold locks).
    Standard streams are flushed first: a worker flushes what it inherited as it ends.
    """
    if workers < 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:  # its queues need the system's semaphores (/dev/shm), which some containers lack
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    except (OSError, ImportError, NotImplementedError):
        yield None
        return
    with pool:
        yield pool


def forked_submit(pool: ProcessPoolExecutor | None, fn: Callable[..., T], *args: Any) -> Future[T] | None:
    """``pool.submit(fn, *args)``, or None: no pool, or the system refused the fork (out of processes or
    memory). The caller then does the work itself; nothing but time is lost."""
    if pool is None:
        return None
    try:
        return pool.submit(fn, *args)
    except (OSError, RuntimeError):  # RuntimeError: a pool broken by an earlier failed fork
        return None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a block builds millions of lists and dicts.

    Parsing 10k distinct places makes ~2M coordinate lists; each allocation threshold set off a full
    collection over everything alive, and ``orjson.loads`` took 1.9 s instead of 0.4 s (bench/README.md).
    Nothing a parse builds is cyclic, so nothing is lost by collecting after it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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


def write_pieces(path: Path, pieces: Iterable[bytes]) -> int:
    """Write ``pieces`` to ``path`` as they come, keeping none; the number of bytes meant (for ``check_size``)."""
    size = 0
    with path.open("wb") as f:
        for piece in pieces:
            f.write(piece)
            size += len(piece)
    return size


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


_NESTING_CHUNK = 1 << 24  # bytes scanned at a time: the masks stay a few tens of MB at any file size


def json_nesting(text: str | bytes) -> int:
    """How deep ``[``/``{`` nest outside strings, in linear time, before a JSON parser recurses and crashes.

    Text with no more opening brackets than ``MAX_JSON_DEPTH`` cannot nest deeper: its bracket count, an
    upper bound, is returned without a scan (a single geometry; this runs once per imported row). Longer
    text is scanned in numpy, chunk by chunk, on its UTF-8 bytes (a quote or bracket byte is never part
    of a multi-byte character): a regular expression over the strings and a list of steps took 1 s for
    10k distinct places (bench/README.md).
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    opening = data.count(b"[") + data.count(b"{")
    if opening <= MAX_JSON_DEPTH:
        return opening
    raw = np.frombuffer(data, dtype=np.uint8)
    depth = best = 0
    inside = 0  # 1 while the scan is within a string
    for start in range(0, len(raw), _NESTING_CHUNK):
        chunk = raw[start : start + _NESTING_CHUNK]
        classes = _BYTE_CLASS[chunk]  # one pass: 1 quote, 2 opening bracket, 3 closing bracket
        at = np.flatnonzero(classes)
        kinds = classes[at]
        quotes = at[kinds == 1]
        escaped = quotes[raw[np.maximum(quotes + start - 1, 0)] == 0x5C] if len(quotes) else quotes
        if len(escaped):  # rare: a quote after backslashes is escaped when they are odd in number
            drop = [q for q in escaped.tolist() if _backslashes_before(data, q + start) % 2]
            quotes = np.setdiff1d(quotes, np.asarray(drop, dtype=quotes.dtype))
        brackets = at[kinds > 1]
        outside = (np.searchsorted(quotes, brackets) + inside) % 2 == 0
        if outside.any():
            levels = np.cumsum(np.where(kinds[kinds > 1][outside] == 2, 1, -1)) + depth
            best = max(best, int(levels.max()))
            depth = int(levels[-1])
        inside = (inside + len(quotes)) % 2
    return best


_BYTE_CLASS = np.zeros(256, dtype=np.uint8)
_BYTE_CLASS[[0x22]] = 1
_BYTE_CLASS[[0x5B, 0x7B]] = 2
_BYTE_CLASS[[0x5D, 0x7D]] = 3


def _backslashes_before(data: bytes, pos: int) -> int:
    n = 0
    while pos - n - 1 >= 0 and data[pos - n - 1] == 0x5C:
        n += 1
    return n
