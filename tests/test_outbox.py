"""The on-disk outbox: order, acknowledgement, the bound, restarts, a damaged file."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from digitd.edge.mqtt.outbox import Outbox, OutboxError
from tests.storage import file_size_limit, small_disk


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
    with caplog.at_level(logging.WARNING, logger="digitd.edge.mqtt.outbox"), \
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



# -- storage faults: a disk that fills up or turns read-only is a state, not a crash ----------


def _payloads(box: Outbox) -> list[int]:
    return [int(m.payload) for m in box.peek(limit=10_000)]


@pytest.fixture(name="quick_retry")
def quick_retry_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    import digitd.edge.mqtt.outbox as outbox_module

    monkeypatch.setattr(outbox_module, "RETRY_FIRST", 0.0)
    monkeypatch.setattr(outbox_module, "RETRY_MAX", 0.0)


@pytest.mark.usefixtures("quick_retry")
def test_a_full_disk_keeps_readings_in_memory_in_order_and_writes_them_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A real full disk (a small tmpfs): put() never raises, nothing is lost or reordered,
    and once there is room again the readings kept in memory are on disk."""
    with small_disk(tmp_path / "disk") as disk:
        path = disk.path / "outbox.sqlite3"
        with caplog.at_level(logging.WARNING, logger="digitd.edge.mqtt.outbox"):
            box = Outbox(path, 10_000)
            for i in range(5):
                box.put("t", str(i).encode())
            disk.fill()
            for i in range(5, 200):
                box.put("t", str(i).encode())
            assert box.storage_error is not None and "full" in box.storage_error
            assert box.in_memory > 0 and box.dropped == 0
            assert _payloads(box) == list(range(200)) and len(box) == 200
            # Delivered while the disk is full: gone from memory and from the count.
            first = box.peek(limit=1)[0]
            assert box.ack(first.id)
            disk.free()
            box.put("t", b"200")
            assert box.storage_error is None and box.in_memory == 0
            box.close()
        assert "cannot write the outbox" in caplog.text and "written again" in caplog.text
        with Outbox(path, 10_000) as again:
            assert _payloads(again) == list(range(1, 201))


@pytest.mark.usefixtures("quick_retry")
def test_a_file_turned_read_only_while_running(tmp_path: Path) -> None:
    """Linux refuses to remount a disk read-only while a file on it is open for writing,
    so the file's connection is swapped for a real read-only one (what SQLite ends up
    with when the file system goes read-only under it): SQLITE_READONLY on every write."""
    import sqlite3

    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path, 10_000)
    box.put("t", b"0")
    writable = box._db
    box._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                              isolation_level=None)
    for i in range(1, 4):
        box.put("t", str(i).encode())
    assert box.storage_error is not None and "readonly" in box.storage_error
    assert _payloads(box) == [0, 1, 2, 3]
    assert box.ack(box.peek(limit=1)[0].id)  # delivered: forgotten until it can be deleted
    assert _payloads(box) == [1, 2, 3] and len(box) == 3
    box._db.close()
    box._db = writable
    box.put("t", b"4")
    assert box.storage_error is None
    box.close()
    with Outbox(path, 10_000) as again:
        assert _payloads(again) == [1, 2, 3, 4]


def test_a_read_only_state_dir_at_start_names_the_path_and_the_fix(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        box = Outbox(disk.path / "outbox.sqlite3", 10)
        box.put("t", b"kept")
        box.close()
        disk.read_only()
        try:
            with pytest.raises(OutboxError, match=r"not writable.*daemon\.state_dir"):
                Outbox(disk.path / "outbox.sqlite3", 10)
        finally:
            disk.read_only(False)
        assert not list(disk.path.glob("*.broken-*"))  # not mistaken for damage
        with Outbox(disk.path / "outbox.sqlite3", 10) as again:
            assert [m.payload for m in again.peek()] == [b"kept"]


@pytest.mark.usefixtures("quick_retry")
def test_file_size_limit_is_a_full_disk_too(tmp_path: Path) -> None:
    """Without privileges to mount: EFBIG past RLIMIT_FSIZE, the same path as ENOSPC."""
    path = tmp_path / "outbox.sqlite3"
    box = Outbox(path, 10_000, memory_max=50)
    box.put("t", b"0")
    biggest = max(p.stat().st_size for p in tmp_path.iterdir())
    with file_size_limit(biggest + 8192):
        for i in range(1, 120):
            box.put("t", str(i).encode())
        assert box.storage_error is not None
        # Beyond memory_max the oldest in memory are dropped, and counted exactly.
        assert box.in_memory == 50
        assert box.dropped == 120 - len(box)
    box.put("t", b"120")
    assert box.storage_error is None and box.in_memory == 0
    assert _payloads(box)[-51:] == list(range(70, 121))
    box.close()


def test_an_empty_file_is_named_in_the_log(tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "outbox.sqlite3"
    path.write_bytes(b"")
    with caplog.at_level(logging.WARNING), Outbox(path, 10) as box:
        assert len(box) == 0
    assert str(path) in caplog.text and "0 bytes" in caplog.text


def test_drops_spare_the_messages_handed_to_the_broker(tmp_path: Path) -> None:
    """Messages already with the broker are delivered after a reconnect: not dropped, and
    not counted as dropped."""
    with Outbox(tmp_path / "o.sqlite3", 10) as box:
        ids = [box.put("t", str(i).encode()) for i in range(10)]
        for msg_id in ids[:3]:
            box.handed(msg_id)
        for i in range(10, 15):
            box.put("t", str(i).encode())
        assert box.dropped == 5
        assert _payloads(box) == [0, 1, 2, *range(8, 15)]
