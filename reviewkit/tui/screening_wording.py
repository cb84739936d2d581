"""Provides what the screening screen says past the end of its queue, and its stopping aid's parts of the progress line."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection

from reviewkit.domain.screening import STAGES
from reviewkit.services.prioritise import PrioritisedQueue
from reviewkit.tui.record_queue import RecordQueue


def end_message(where: str, queue: RecordQueue, decided: Collection[int], key: Callable[[str], str]) -> str:
    """What the card says past the end of the queue at stage `where`, with the keys as the user has
    them (`key`: a screen action's key)."""
    nxt, back, leave = key("next"), key("previous"), key("back")
    if not queue.ids:
        # Opened with nothing waiting: there is nothing behind to go back to either.
        # At full text, a report marked not retrieved is out of the queue too, without a decision.
        taken = ("has your decision or its full text marked not retrieved" if where == STAGES["ft"]
                 else "has your decision")
        return (f"Nothing waits for you at {where}: every record up for it {taken}. Press "
                f"{leave} for the dashboard (reviewkit decisions export lists your decisions).")
    waiting = len(queue.undecided(decided))
    if waiting:
        # Skipped with next, or undone and left: behind the cursor, where "no more records" hid them.
        end = (f"End of the records matching the search in your {where} queue, but {waiting} of them"
               if queue.filter else f"End of your {where} queue, but {waiting} of its records")
        return (f"{end} still {'waits' if waiting == 1 else 'wait'} for your decision (skipped or "
                f"undone). Press {nxt} to go to the first, {back} to go back, {leave} for the dashboard.")
    if queue.filter:
        return (f"No more records matching the search in your {where} queue. Press {key('search')} "
                f"and an empty search for the whole queue, {back} to go back, {leave} for the dashboard.")
    return f"No more records in your {where} queue. Press {back} to go back, {leave} for the dashboard."


def back_to_waiting(queue: RecordQueue, decided: Collection[int]) -> str:
    """What a decision on the last record says when records behind it still wait for a decision."""
    waiting = len(queue.undecided(decided))
    end = "the records matching the search" if queue.filter else "the queue"
    return (f"End of {end}: back to the {waiting} record{'s' if waiting > 1 else ''} "
            "still waiting for your decision (skipped or undone)")


def stopping_parts(ranked: PrioritisedQueue) -> list[tuple[str, str]]:
    """The queue's order and the stopping aid, as parts of the progress line: (long, short) each."""
    stop = ranked.stopping
    parts = [("relevance order", "relevance order") if ranked.fitted else
             ("import order (ranking starts after an include and an exclude)", "import order (not ranked yet)"),
             (f"{stop.since_last_relevant} irrelevant since the last relevant",
              f"{stop.since_last_relevant} irrelevant in a row")]
    if stop.recall_lower_bound is not None:
        # A lower bound rounds down: 99.7% shown as "≥ 100%" would claim that nothing was missed
        # (the 1e-9 keeps a float such as 0.57 * 100 = 56.99… at 57).
        bound = f"{math.floor(stop.recall_lower_bound * 100 + 1e-9)}%"
        confidence = f"{round((1 - stop.alpha) * 100)}%"
        parts.append((f"recall ≥ {bound} ({confidence} confidence)", f"recall ≥ {bound}"))
    return parts

