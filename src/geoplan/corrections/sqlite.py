"""The default corrections store: one SQLite file (``corrections.sqlite`` in ``settings.data_dir()``).

It needs no server: each operation opens its own connection, writes happen in ``BEGIN IMMEDIATE`` transactions
on a WAL database with a busy timeout, so app sessions (threads) and command-line runs (processes) saving at once
lose nothing, and a writer killed mid-transaction leaves only a WAL tail that no reader sees.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shapely.geometry.base import BaseGeometry

from geoplan.corrections.geometry import SHIPPED_CITY_AREA, _Default
from geoplan.corrections.store import (
    CORRECTIONS_TABLE,
    _FIELDS,
    _INSERT,
    SCHEMA_VERSION,
    Connection,
    CorrectionStore,
    default_store_path,
)
from geoplan.errors import CorrectionStoreError

BUSY_TIMEOUT_S = 30.0

# MIGRATIONS[v] brings a store from ``user_version`` v to v + 1 (see CorrectionStore.migrations).
MIGRATIONS: tuple[str, ...] = (
    CORRECTIONS_TABLE.format(id_column="INTEGER PRIMARY KEY AUTOINCREMENT"),  # 0 -> 1
)
assert len(MIGRATIONS) == SCHEMA_VERSION


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL, waiting out other writers.

    SQLite answers the switch with "database is locked" at once, not after the busy timeout, while another
    connection holds a write lock on a file still in rollback mode: two processes creating a new store race
    into exactly that, so the switch is retried here until the timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


class SqliteCorrectionStore(CorrectionStore):
    """Corrections in one SQLite file; safe to share between threads and processes."""

    migrations = MIGRATIONS

    def __init__(
        self, path: str | Path | None = None, *, city_area: BaseGeometry | None | _Default = SHIPPED_CITY_AREA
    ) -> None:
        super().__init__(path, city_area=city_area)
        self.path = Path(path) if path is not None else default_store_path()
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CorrectionStore({str(self.path)!r})"

    @property
    def location(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.exists()

    def writable(self) -> bool:
        """Whether this process may write the store (and its folder, where SQLite keeps the WAL)."""
        if self.path.exists():
            return os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)
        parent = self.path.parent
        while not parent.exists() and parent.parent != parent:
            parent = parent.parent
        return parent.is_dir() and os.access(parent, os.W_OK)

    def _open(self, *, read_only: bool = False) -> sqlite3.Connection:
        """A connection; read-only ones use a ``mode=ro`` URI (a store on a read-only share is still read)."""
        try:
            if read_only:
                uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
                try:
                    conn.execute("PRAGMA user_version").fetchone()
                except sqlite3.OperationalError:
                    # A WAL store in a folder we cannot write: SQLite cannot make its -shm file. Nobody can
                    # write there either, so reading it as immutable is safe.
                    conn.close()
                    conn = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None)
            else:
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        except sqlite3.Error as err:
            raise self._fail("cannot open the corrections store", err) from err
        return conn

    def _ensure_schema(self) -> None:
        """Create the store or migrate it to the newest schema, one step per version, in one transaction."""
        with self._lock:
            if self._ready and self.path.exists():
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                msg = f"{self.path.parent}: cannot create the data directory ({err.strerror or err})"
                raise CorrectionStoreError(msg) from err
            conn = self._open()
            try:
                _use_wal(conn)
                conn.execute("BEGIN IMMEDIATE")
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                try:
                    self._check_version(version)
                except CorrectionStoreError:
                    conn.execute("ROLLBACK")
                    raise
                for step in range(version, self.schema_target):
                    for stmt in self.migrations[step].split(";"):
                        if stmt.strip():
                            conn.execute(stmt)
                    conn.execute(f"PRAGMA user_version = {step + 1}")
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self._fail("not a usable corrections store", err) from err
            finally:
                conn.close()
            self._ready = True

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[Connection | None]:
        """One connection per operation; writes in one ``BEGIN IMMEDIATE`` transaction.

        Reads never create anything: a missing store yields ``None`` (no corrections), and a store this
        process cannot write is opened read-only.
        """
        if write and self.path.exists() and not self.writable():
            raise self._fail("the corrections store is read-only here (it can be listed and applied, not changed)")
        if write or (self.path.exists() and self.writable()):
            self._ensure_schema()
            conn = self._open()
        elif not self.path.exists():
            yield None
            return
        else:
            conn = self._open(read_only=True)
            try:
                self._check_version(int(conn.execute("PRAGMA user_version").fetchone()[0]))
            except sqlite3.Error as err:
                conn.close()
                raise self._fail("not a usable corrections store", err) from err
            except BaseException:
                conn.close()
                raise
        try:
            if write:
                conn.execute("BEGIN IMMEDIATE")
            yield conn
            if write:
                conn.execute("COMMIT")
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise self._fail("corrections store failed", err) from err
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    @property
    def schema_version(self) -> int:
        with self._connect() as conn:
            return 0 if conn is None else int(conn.execute("PRAGMA user_version").fetchone()[0])

    def _items_clause(self) -> str:
        return "item_id IN (SELECT value FROM json_each(?))"

    def _items_param(self, item_ids: builtins.list[str]) -> Any:
        return json.dumps(item_ids)

    def _insert_many(self, conn: Connection, rows: builtins.list[tuple[Any, ...]]) -> builtins.list[Any]:
        """One ``executemany``; ``BEGIN IMMEDIATE`` holds every other writer out, so the new ids are those above
        the largest id before."""
        assert isinstance(conn, sqlite3.Connection)
        last = conn.execute("SELECT coalesce(max(id), 0) FROM corrections").fetchone()[0]
        conn.executemany(_INSERT, rows)
        return conn.execute(f"SELECT {_FIELDS} FROM corrections WHERE id > ? ORDER BY id", (last,)).fetchall()
