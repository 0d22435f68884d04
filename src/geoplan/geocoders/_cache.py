"""Keep online services' answers on disk, with the time they were asked, so each is asked once.

Only answers the service gave as answers are stored: a place, a list of places, or "nothing found".
Failures (a bad key, a spent quota, a timeout, a reply that is not the documented shape) raise before
anything is written, so the next call asks again. The cache is one SQLite file
(``settings.data_dir()/cache/geocoder-answers.sqlite``); each operation opens its own connection in WAL
mode with a busy timeout, so app sessions and command-line runs can share it. The request key never
holds the API key: a new key reuses the answers the old one paid for.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from geoplan import settings
from geoplan.errors import GeocoderError

CACHE_NAME = "geocoder-answers.sqlite"
_READY: set[Path] = set()  # cache files whose schema this process has made sure of
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    service  TEXT NOT NULL,
    request  TEXT NOT NULL,
    answer   TEXT NOT NULL,
    asked_at TEXT NOT NULL,
    PRIMARY KEY (service, request)
);
"""


def default_cache_path(data_dir: str | Path | None = None) -> Path:
    """``<data dir>/cache/geocoder-answers.sqlite``; the data dir is read at call time."""
    return Path(data_dir or settings.data_dir()) / "cache" / CACHE_NAME


def request_key(endpoint: str, params: Mapping[str, str]) -> str:
    """A stable text key for one request: the endpoint and its parameters, sorted."""
    return json.dumps([endpoint, sorted(params.items())], ensure_ascii=False, separators=(",", ":"))


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class CachedAnswer:
    """A service's parsed JSON answer and when it was asked (UTC ISO 8601)."""

    answer: Any
    asked_at: str


@dataclass(frozen=True)
class AnswerCache:
    """Answers by service and request in one SQLite file; ``path=None`` means the default, read per call."""

    path: Path | None = None

    def _path(self) -> Path:
        return self.path if self.path is not None else default_cache_path()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        path = self._path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not path.exists()  # a file deleted to start afresh needs its table again
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
        except (OSError, sqlite3.Error) as err:
            msg = f"{path}: cannot open the geocoder cache ({err})"
            raise GeocoderError(msg) from err
        try:
            if fresh or path not in _READY:  # once per file and process: WAL mode persists, the table stays
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
                _READY.add(path)
            with conn:
                yield conn
        except sqlite3.Error as err:
            msg = f"{path}: the geocoder cache is unusable ({err}); delete it to start afresh"
            raise GeocoderError(msg) from err
        finally:
            conn.close()

    def get(self, service: str, request: str) -> CachedAnswer | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT answer, asked_at FROM answers WHERE service = ? AND request = ?", (service, request)
            ).fetchone()
        return None if row is None else CachedAnswer(json.loads(row[0]), row[1])

    def put(self, service: str, request: str, answer: Any, *, asked_at: str | None = None) -> CachedAnswer:
        stamp = asked_at or now_utc()
        text = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO answers (service, request, answer, asked_at) VALUES (?, ?, ?, ?)",
                (service, request, text, stamp),
            )
        return CachedAnswer(answer, stamp)

    def __len__(self) -> int:
        if not self._path().exists():
            return 0
        with self._connect() as conn:
            return int(conn.execute("SELECT count(*) FROM answers").fetchone()[0])
