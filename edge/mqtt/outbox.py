"""A bounded, ordered on-disk queue of messages waiting for the broker's acknowledgement.

Every reading goes through the outbox (an SQLite file in the state directory):
it is written before it is handed to the MQTT client and deleted only when the
broker has acknowledged it (PUBACK). Readings taken while the broker is away,
or while the daemon is stopped before they went out, are therefore delivered,
in order, after the next (re)connect, by this process or the next one.

The outbox holds at most ``max_messages`` (``mqtt.outbox_max``). When it is
full, the **oldest** messages not already handed to the broker are dropped to
make room: a long outage keeps the most recent readings. Drops are counted
exactly (:attr:`Outbox.dropped`: readings that will never be delivered) and
logged.

A disk that fills up, turns read-only or changes owner while the daemon runs is
a state, not a crash: messages that cannot be written are kept in memory (at
most ``memory_max``, oldest dropped beyond), still handed to the broker in
order, and written to the file again once a retry (with backoff) succeeds.
:attr:`Outbox.storage_error` says what is wrong meanwhile. What the file cannot
be opened for at start (permission, read-only) is an :class:`OutboxError` that
names the path and the fix; only a file that is not an SQLite database any more
is set aside as damaged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError

logger = logging.getLogger(__name__)

RETRY_FIRST = 1.0  # seconds before the first write retry after a storage fault
RETRY_MAX = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    topic   TEXT    NOT NULL,
    payload BLOB    NOT NULL,
    qos     INTEGER NOT NULL,
    retain  INTEGER NOT NULL,
    created REAL    NOT NULL
)
"""
# SQLite's words for "this is not (or no longer) a database": the only case in which a
# file is set aside. Everything else (permission, read-only, full, I/O) is the disk's
# state, which moving the file would not mend and might lose.
_DAMAGED = ("SQLITE_NOTADB", "SQLITE_CORRUPT")
_NOT_WRITABLE = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")


@dataclass(frozen=True)
class OutboxMessage:
    id: int  # increases with every message: the delivery order
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: float  # time.time() when it was queued


class OutboxError(ConfigurationError):
    """The outbox file cannot be created or opened (a configuration problem: exit 78)."""


def _error_name(exc: sqlite3.Error) -> str:
    return str(getattr(exc, "sqlite_errorname", "") or "")


def _fix_for(path: Path) -> str:
    return (f"make {path.parent} writable for the user digitd runs as (owner, mode, "
            "a read-only mount) or set daemon.state_dir to a writable directory")


class Outbox:
    """A thread-safe, bounded FIFO of messages in an SQLite file.

    :meth:`put` adds at the end (dropping the oldest beyond ``max_messages``),
    :meth:`peek` reads in order, :meth:`handed` marks a message as sent (it is
    then never dropped), :meth:`ack` removes one once the broker acknowledged it.
    """

    def __init__(self, path: Path, max_messages: int, *, memory_max: int = 1000) -> None:
        if max_messages < 1:
            raise ValueError(f"max_messages must be at least 1, not {max_messages}")
        self.path = path
        self.max_messages = max_messages
        self.memory_max = max(1, min(memory_max, max_messages))
        self.dropped = 0
        self.storage_error: str | None = None  # why the file cannot be written now
        self._lock = threading.Lock()
        self._dropping = False
        # Messages that could not be written, oldest first; always newer than the file's.
        self._memory: dict[int, OutboxMessage] = {}
        self._handed: set[int] = set()  # given to the broker, not yet acknowledged
        self._acked_unwritten: set[int] = set()  # delivered, but the delete failed
        self._retry_at = 0.0
        self._backoff = RETRY_FIRST
        self._db = self._open(path)
        (last,) = self._db.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()
        seq = self._db.execute(
            "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'outbox'"
        ).fetchone()
        self._last_id = max(int(last), int(seq[0]) if seq else 0)

    # -- opening ---------------------------------------------------------------------------

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        # Used from the daemon thread (put) and the MQTT thread (ack): one
        # connection, serialised by our lock.
        db = sqlite3.connect(path, timeout=5.0, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL with WAL: a power cut may lose the last commits but never
            # corrupts the file, and the SD card is not fsynced on every reading.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            db.execute("SELECT count(*) FROM outbox").fetchone()
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _open(self, path: Path) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise OutboxError(
                f"cannot create the state directory {path.parent}: "
                f"{exc.strerror or exc}; set daemon.state_dir to a writable directory"
            ) from None
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise OutboxError(f"the state directory {path.parent} is not writable; "
                              f"{_fix_for(path)}")
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            raise OutboxError(f"the outbox {path} is not writable; {_fix_for(path)}")
        try:
            if path.is_file() and path.stat().st_size == 0:
                # SQLite would take it for a new, empty database without a word.
                logger.warning("the outbox %s is an empty file (0 bytes): whatever it held "
                               "before (a full disk? a copy cut short?) is lost; starting empty",
                               path)
        except OSError:
            pass
        try:
            return self._connect(path)
        except sqlite3.Error as exc:
            name = _error_name(exc)
            if name.startswith(_NOT_WRITABLE):
                raise OutboxError(f"cannot open the outbox {path}: {exc}; "
                                  f"{_fix_for(path)}") from None
            if not name.startswith(_DAMAGED):
                raise OutboxError(f"cannot open the outbox {path}: {exc} ({name or 'error'}); "
                                  "is the disk full or failing? Free space in "
                                  f"{path.parent} or set daemon.state_dir elsewhere") from None
            return self._set_aside(path, exc)

    def _set_aside(self, path: Path, exc: sqlite3.Error) -> sqlite3.Connection:
        # A damaged file must not keep the daemon down: keep it for
        # inspection and start empty.
        broken = path.with_name(f"{path.name}.broken-{int(time.time())}")
        logger.error("outbox %s is damaged (%s); moved to %s, starting empty",
                     path, exc, broken)
        try:
            path.rename(broken)
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return self._connect(path)
        except (OSError, sqlite3.Error) as exc2:
            raise OutboxError(f"cannot recreate the outbox {path}: {exc2}; "
                              f"{_fix_for(path)}") from None

    # -- writing ---------------------------------------------------------------------------

    def put(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> int:
        """Append a message; return its id. Drops (and counts) the oldest beyond the bound.

        Never raises for the disk's sake: a message that cannot be written is kept in
        memory and :attr:`storage_error` says why.
        """
        with self._lock:
            self._last_id += 1
            msg = OutboxMessage(self._last_id, topic, payload, qos, retain, time.time())
            if self._memory:
                self._retry_writes()
            if not self._memory:
                try:
                    self._write([msg])
                except sqlite3.Error as exc:
                    self._storage_failed(exc)
                else:
                    if self.storage_error is not None:
                        self._recovered(0)
                    return msg.id
            self._memory[msg.id] = msg
            self._bound_memory()
            return msg.id

    def _write(self, messages: list[OutboxMessage]) -> None:
        """Insert ``messages`` and trim to the bound, all in one transaction."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO outbox (id, topic, payload, qos, retain, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(m.id, m.topic, m.payload, m.qos, int(m.retain), m.created) for m in messages],
            )
            for msg_id in list(self._acked_unwritten):
                db.execute("DELETE FROM outbox WHERE id = ?", (msg_id,))
            (count,) = db.execute("SELECT count(*) FROM outbox").fetchone()
            excess = count - self.max_messages
            dropped = 0
            if excess > 0:
                # Handed messages stay: paho delivers them after a reconnect anyway,
                # so dropping them would count readings as lost that are not.
                marks = ",".join("?" * len(self._handed))
                cur = db.execute(
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox "
                    f"WHERE id NOT IN ({marks}) ORDER BY id LIMIT ?)",
                    (*self._handed, excess),
                )
                dropped = cur.rowcount
            db.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        self._acked_unwritten.clear()
        if dropped > 0:
            self._note_drops(dropped)
        else:
            self._dropping = False

    def _storage_failed(self, exc: sqlite3.Error) -> None:
        reason = f"cannot write the outbox {self.path}: {exc}"
        now = time.monotonic()
        if self.storage_error is None:
            self._backoff = RETRY_FIRST
            logger.error("%s; readings are kept in memory (up to %d) and sent directly while "
                         "the broker is up, and written again once the disk allows; "
                         "free space or %s", reason, self.memory_max, _fix_for(self.path))
        elif reason != self.storage_error:
            logger.error("%s (still keeping readings in memory)", reason)
        else:
            self._backoff = min(RETRY_MAX, self._backoff * 2)
            logger.debug("%s; retrying in %.0f s", reason, self._backoff)
        self.storage_error = reason
        self._retry_at = now + self._backoff

    def _retry_writes(self) -> None:
        """Write the messages kept in memory to the file, if the backoff allows a try."""
        if time.monotonic() < self._retry_at:
            return
        kept = list(self._memory.values())
        try:
            self._write(kept)
        except sqlite3.Error as exc:
            self._storage_failed(exc)
            return
        self._memory.clear()
        self._recovered(len(kept))

    def _recovered(self, written: int) -> None:
        logger.warning("the outbox %s can be written again: %d readings kept in memory "
                       "are on disk now", self.path, written)
        self.storage_error = None
        self._backoff = RETRY_FIRST

    def _bound_memory(self) -> None:
        excess = len(self._memory) - self.memory_max
        if excess <= 0:
            return
        victims = [i for i in self._memory if i not in self._handed][:excess]
        for msg_id in victims:
            del self._memory[msg_id]
        self._note_drops(len(victims))

    def _note_drops(self, n: int) -> None:
        self.dropped += n
        # One warning when dropping starts, then a reminder now and then: a
        # long outage must be visible without a log line per reading.
        if not self._dropping or self.dropped % 1000 < n:
            where = (f"{self.memory_max} kept in memory while the disk cannot be written"
                     if self.storage_error else f"{self.max_messages} messages, mqtt.outbox_max")
            logger.warning("outbox full (%s): dropping the oldest readings until the broker "
                           "is back; %d dropped so far", where, self.dropped)
        self._dropping = True

    # -- reading and acknowledging ---------------------------------------------------------

    def peek(self, after_id: int = 0, limit: int = 100) -> list[OutboxMessage]:
        """Up to ``limit`` messages with an id above ``after_id``, oldest first."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT id, topic, payload, qos, retain, created FROM outbox "
                    "WHERE id > ? ORDER BY id LIMIT ?",
                    (after_id, limit + len(self._acked_unwritten)),
                ).fetchall()
            except sqlite3.Error as exc:
                logger.debug("cannot read the outbox %s: %s", self.path, exc)
                rows = []
            stored = [OutboxMessage(i, t, bytes(p), q, bool(r), c)
                      for i, t, p, q, r, c in rows if i not in self._acked_unwritten]
            kept = [m for i, m in self._memory.items() if i > after_id]
        return (stored + kept)[:limit]

    def handed(self, msg_id: int) -> None:
        """``msg_id`` is with the broker now: never drop it (it will be delivered)."""
        with self._lock:
            self._handed.add(msg_id)

    def release_handed(self) -> None:
        """The client that was given the handed messages is gone: they may be dropped again."""
        with self._lock:
            self._handed.clear()

    def ack(self, msg_id: int) -> bool:
        """Remove a delivered message; False if it was not there (e.g. dropped meanwhile)."""
        with self._lock:
            self._handed.discard(msg_id)
            if self._memory.pop(msg_id, None) is not None:
                self._dropping = False
                return True
            try:
                cur = self._db.execute("DELETE FROM outbox WHERE id = ?", (msg_id,))
            except sqlite3.Error as exc:
                # Delivered, but still in the file: forget it now, delete it with the
                # next write that succeeds (a restart before that sends it again).
                logger.debug("cannot delete %d from the outbox: %s", msg_id, exc)
                self._acked_unwritten.add(msg_id)
                return True
            if cur.rowcount:
                self._dropping = False
            return cur.rowcount > 0

    @property
    def in_memory(self) -> int:
        """Messages kept in memory because the file cannot be written."""
        with self._lock:
            return len(self._memory)

    def __len__(self) -> int:
        with self._lock:
            try:
                (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
            except sqlite3.Error:
                count = 0
            return int(count) - len(self._acked_unwritten) + len(self._memory)

    def close(self) -> None:
        with self._lock:
            if self._memory:
                self._retry_at = 0.0
                self._retry_writes()
            if self._memory:
                logger.error("%d readings kept in memory are lost: the outbox %s cannot be "
                             "written (%s)", len(self._memory), self.path, self.storage_error)
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
