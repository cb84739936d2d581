"""Tests for the one-at-a-time write queue the dedup and studies screens share."""

from __future__ import annotations

from reviewkit.tui.write_queue import WriteQueue


def test_writes_are_stored_one_at_a_time_in_order_then_idle_and_leave_waits() -> None:
    """An undo given while its confirm is being stored waits for it; leaving waits for the last write."""
    events: list[str] = []
    queue: WriteQueue[str] = WriteQueue(lambda w: events.append(f"save {w}"), leave=lambda: events.append("leave"),
                                        idle=lambda: events.append("idle"))
    queue.put("confirm 1")
    queue.put("undo 1")
    assert events == ["save confirm 1"] and list(queue.unsaved()) == ["confirm 1", "undo 1"]
    queue.done()
    assert events[-1] == "save undo 1" and list(queue.unsaved()) == ["undo 1"]
    queue.leave()
    assert "leave" not in events  # not before the undo is stored
    queue.done()
    assert events == ["save confirm 1", "save undo 1", "leave"] and list(queue.unsaved()) == []


def test_an_idle_queue_reloads_and_leaves_at_once() -> None:
    events: list[str] = []
    queue: WriteQueue[str] = WriteQueue(lambda w: events.append(f"save {w}"), leave=lambda: events.append("leave"),
                                        idle=lambda: events.append("idle"))
    queue.put("link")
    queue.done()
    assert events == ["save link", "idle"]
    queue.leave()
    assert events[-1] == "leave"


def test_a_flush_runs_once_every_write_is_reported_saying_whether_all_were_stored() -> None:
    """What the app waits for before it quits: writes given meanwhile too; a failure is told."""
    events: list[str] = []
    queue: WriteQueue[str] = WriteQueue(lambda w: events.append(f"save {w}"), leave=lambda: events.append("leave"))
    queue.flush(lambda stored: events.append(f"flushed {stored}"))
    assert events == ["flushed True"]  # nothing to wait for
    queue.put("confirm 1")
    queue.done(failed=True)  # before any flush was asked for: not its concern
    queue.put("confirm 2")
    assert queue.pending == 1
    queue.flush(lambda stored: events.append(f"flushed {stored}"))
    queue.put("reject 3")
    queue.done()
    assert events[-1] == "save reject 3" and queue.pending == 1
    queue.done(failed=True)
    assert events[-1] == "flushed False" and queue.pending == 0
    queue.put("confirm 4")
    queue.flush(lambda stored: events.append(f"flushed {stored}"))
    queue.done()
    assert events[-1] == "flushed True"
