"""The on-disk outbox: order, acknowledgement, the bound, restarts, a damaged file."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from digitd.edge.outbox import Outbox, OutboxError


def test_messages_come_out_in_order_until_acknowledged(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite3", 100) as box:
        ids = [box.put("t/state", f"{i}".encode(), qos=1, retain=True) for i in range(5)]
        assert ids == sorted(ids) and len(box) == 5
        msgs = box.peek()
        assert [m.payload for m in msgs] == [b"0", b"1", b"2", b"3", b"4"]
        assert all(m.topic == "t/state" and m.qos == 1 and m.retain for m in msgs)
        assert [m.id for m in box.peek(after_id=ids[2], limit=1)] == [ids[3]]
        assert box.ack(ids[0]) and not box.ack(ids[0])
        assert box.peek()[0].payload == b"1"


def test_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "outbox.sqlite3"  # the directory is created
    with Outbox(path, 100) as box:
        box.put("t", b"kept")
        box.ack(box.put("t", b"delivered"))
    with Outbox(path, 100) as box:
        assert [m.payload for m in box.peek()] == [b"kept"]
        assert box.put("t", b"next") > box.peek()[0].id  # ids keep increasing


def test_bound_drops_the_oldest_counts_and_logs(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="digitd.edge.outbox"), \
            Outbox(tmp_path / "o.sqlite3", 10) as box:
        for i in range(25):
            box.put("t", str(i).encode())
        assert len(box) == 10 and box.dropped == 15
        assert [int(m.payload) for m in box.peek()] == list(range(15, 25))
    warnings = [r for r in caplog.records if "outbox full" in r.getMessage()]
    assert len(warnings) == 1  # when dropping starts, not once per reading
    assert "mqtt.outbox_max" in warnings[0].getMessage()


def test_concurrent_put_and_ack(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite3", 10_000) as box:
        def writer() -> None:
            for i in range(200):
                box.put("t", str(i).encode())

        threads = [threading.Thread(target=writer) for _ in range(3)]
        for t in threads:
            t.start()
        acked = 0
        while any(t.is_alive() for t in threads) or len(box):
            for m in box.peek(limit=50):
                acked += box.ack(m.id)
        for t in threads:
            t.join()
        assert acked == 600 and len(box) == 0


def test_damaged_file_is_set_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "outbox.sqlite3"
    path.write_bytes(b"this is not an sqlite database" * 100)
    with caplog.at_level(logging.ERROR), Outbox(path, 10) as box:
        assert len(box) == 0
        box.put("t", b"x")
    assert list(tmp_path.glob("outbox.sqlite3.broken-*"))
    assert "damaged" in caplog.text


def test_unwritable_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutboxError, match=r"daemon\.state_dir"):
        Outbox(blocker / "sub" / "outbox.sqlite3", 10)

