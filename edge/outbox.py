"""A bounded, ordered on-disk queue of messages waiting for the broker's acknowledgement.

Every reading goes through the outbox (an SQLite file in the state directory):
it is written before it is handed to the MQTT client and deleted only when the
broker has acknowledged it (PUBACK). Readings taken while the broker is away,
or while the daemon is stopped before they went out, are therefore delivered,
in order, after the next (re)connect, by this process or the next one.

The outbox holds at most ``max_messages`` (``mqtt.outbox_max``). When it is
full, the **oldest** messages are dropped to make room: a long outage keeps the
most recent readings. Drops are counted (:attr:`Outbox.dropped`) and logged.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

OUTBOX_FILE = "outbox.sqlite3"

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


@dataclass(frozen=True)
class OutboxMessage:
    id: int  # increases with every message: the delivery order
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: float  # time.time() when it was queued


class OutboxError(RuntimeError):
    """The outbox file cannot be created or opened."""


class Outbox:
    """A thread-safe, bounded FIFO of messages in an SQLite file.

    :meth:`put` adds at the end (dropping the oldest beyond ``max_messages``),
    :meth:`peek` reads in order, :meth:`ack` removes one message once the broker
    has acknowledged it.
    """

    def __init__(self, path: Path, max_messages: int) -> None:
        if max_messages < 1:
            raise ValueError(f"max_messages must be at least 1, not {max_messages}")
        self.path = path
        self.max_messages = max_messages
        self.dropped = 0
        self._lock = threading.Lock()
        self._dropping = False
        self._db = self._open(path)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        # Used from the daemon thread (put) and the MQTT thread (ack): one
        # connection, serialised by our lock.
        db = sqlite3.connect(path, timeout=5.0, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL with WAL: a power cut may lose the last commits but never
        # corrupts the file, and the SD card is not fsynced on every reading.
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(_SCHEMA)
        return db

    def _open(self, path: Path) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise OutboxError(
                f"cannot create the state directory {path.parent}: {exc}; "
                "set daemon.state_dir to a writable directory"
            ) from None
        try:
            db = self._connect(path)
            db.execute("SELECT count(*) FROM outbox").fetchone()
            return db
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and not path.exists():
                raise OutboxError(f"cannot open the outbox {path}: {exc}") from None
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
            except (OSError, sqlite3.DatabaseError) as exc2:
                raise OutboxError(
                    f"cannot recreate the outbox {path}: {exc2}; "
                    "check that daemon.state_dir is writable"
                ) from None

    def put(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> int:
        """Append a message; return its id. Drops (and counts) the oldest beyond the bound."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO outbox (topic, payload, qos, retain, created) VALUES (?, ?, ?, ?, ?)",
                (topic, payload, qos, int(retain), time.time()),
            )
            msg_id = cur.lastrowid
            assert msg_id is not None
            (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
            excess = count - self.max_messages
            if excess > 0:
                self._db.execute(
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)",
                    (excess,),
                )
                self._note_drops(excess)
            else:
                self._dropping = False
            return msg_id

    def _note_drops(self, n: int) -> None:
        self.dropped += n
        # One warning when dropping starts, then a reminder now and then: a
        # long outage must be visible without a log line per reading.
        if not self._dropping or self.dropped % 1000 < n:
            logger.warning(
                "outbox full (%d messages, mqtt.outbox_max): dropping the oldest readings "
                "until the broker is back; %d dropped so far",
                self.max_messages, self.dropped,
            )
        self._dropping = True

    def peek(self, after_id: int = 0, limit: int = 100) -> list[OutboxMessage]:
        """Up to ``limit`` messages with an id above ``after_id``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, qos, retain, created FROM outbox "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [OutboxMessage(i, t, bytes(p), q, bool(r), c) for i, t, p, q, r, c in rows]

    def ack(self, msg_id: int) -> bool:
        """Remove a delivered message; False if it was not there (e.g. dropped meanwhile)."""
        with self._lock:
            cur = self._db.execute("DELETE FROM outbox WHERE id = ?", (msg_id,))
            if cur.rowcount:
                self._dropping = False
            return cur.rowcount > 0

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
