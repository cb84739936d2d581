"""Provides the record queue behind the screening screen: position, search filter and the look-ahead cards."""

from __future__ import annotations

from collections.abc import Collection

from reviewkit.services.screen_cards import RecordCard

#: Cards kept ready ahead of the reviewer; a key press then only renders one (no database on the way).
LOOKAHEAD = 24
#: Cards fetched per worker run: small enough that a jump elsewhere is served soon.
BATCH = 12
#: Cards fetched when the current one is missing (opening, a jump): the first shows sooner.
FIRST = 2


class RecordQueue:
    """The reviewer's queue, loaded once, walked by index; plain state the screen renders.

    `index == len(ids)` means "past the end": the queue is done. A search narrows `ids` to
    the matching records of `all_ids`, in queue order; clearing it keeps the current record.
    """

    def __init__(self) -> None:
        self.all_ids: list[int] = []
        self.ids: list[int] = []
        self.index = 0
        self.filter = ""
        self.loaded = False
        self.cards: dict[int, RecordCard] = {}

    def load(self, ids: list[int]) -> None:
        """Start over on a freshly loaded queue."""
        self.all_ids = self.ids = ids
        self.index, self.filter, self.loaded = 0, "", True

    @property
    def current(self) -> int | None:
        """The record at the cursor, None past the end."""
        return self.ids[self.index] if self.index < len(self.ids) else None

    def move(self, step: int) -> bool:
        """Move the cursor by one record (forward up to "past the end"); whether it moved."""
        target = min(max(self.index + step, 0), len(self.ids))
        moved, self.index = target != self.index, target
        return moved

    def go_to(self, record_id: int) -> None:
        """Put the cursor on a record, dropping the search if it hides the record."""
        if record_id not in self.ids:
            self.filter, self.ids = "", self.all_ids
        self.index = self.ids.index(record_id)

    def drop(self, record_id: int) -> None:
        """Take a record out of the queue (and the search): one that takes no decision now (its full
        text marked not retrieved). The cursor stays on the record it is on; on the dropped one, it
        goes to the record that followed it."""
        current = self.current
        self.all_ids = [rid for rid in self.all_ids if rid != record_id]
        self.ids = [rid for rid in self.ids if rid != record_id] if self.filter else self.all_ids
        if current is None:
            self.index = len(self.ids)
        elif current != record_id:
            self.index = self.ids.index(current)
        else:
            self.index = min(self.index, len(self.ids))
        self.cards.pop(record_id, None)

    def undecided(self, decided: Collection[int]) -> list[int]:
        """The records of the queue (or of the search) not in `decided`, in queue order: those skipped
        with next or undone, which the reviewer still owes a decision."""
        return [rid for rid in self.ids if rid not in decided]

    def advance(self, decided: Collection[int]) -> bool:
        """After a decision: on to the next record not in `decided`; past the last, back to the first
        such record (True: it went round, which the screen says); past the end when none is left.

        As Rayyan and Covidence do, a decision takes the reviewer to the next record still waiting
        for one, so records skipped or undone on the way are not left behind unseen.
        """
        ahead = next((i for i in range(self.index + 1, len(self.ids)) if self.ids[i] not in decided), None)
        if ahead is not None:
            self.index = ahead
            return False
        behind = next((i for i in range(min(self.index, len(self.ids))) if self.ids[i] not in decided), None)
        self.index = len(self.ids) if behind is None else behind
        return behind is not None

    def to_first_undecided(self, decided: Collection[int]) -> int | None:
        """Put the cursor on the first record not in `decided` and return it (None, and no move, when
        every record has a decision)."""
        first = next((i for i, rid in enumerate(self.ids) if rid not in decided), None)
        if first is None:
            return None
        self.index = first
        return self.ids[first]

    def narrow(self, text: str, matches: set[int]) -> bool:
        """Keep only matching records (in queue order); False, and no change, when none match."""
        found = [rid for rid in self.all_ids if rid in matches]
        if not found:
            return False
        self.filter, self.ids, self.index = text, found, 0
        return True

    def widen(self, skip: Collection[int] = ()) -> None:
        """Drop the search, staying on the current record; past the search's end, go to the first
        record not in `skip` (the ones already decided), else past the end of the queue."""
        current = self.current
        self.filter, self.ids = "", self.all_ids
        if current in self.ids:
            self.index = self.ids.index(current)
        else:
            self.index = next((i for i, rid in enumerate(self.ids) if rid not in skip), len(self.ids))

    def wanted(self) -> list[int]:
        """The next batch of records to fetch: the previous one, the current and those ahead, not yet held."""
        start = max(self.index - 1, 0)
        missing = [rid for rid in self.ids[start:self.index + LOOKAHEAD] if rid not in self.cards]
        # The reviewer is waiting for the current record: fetch it in a small batch of its own.
        return missing[:FIRST if self.current in missing else BATCH]

    def keep(self, cards: list[RecordCard]) -> None:
        """Hold fetched cards; far-away ones go once the cache grows (a whole session would not fit)."""
        self.cards.update((card.id, card) for card in cards)
        if len(self.cards) > 8 * LOOKAHEAD:
            near = set(self.ids[max(self.index - LOOKAHEAD, 0):self.index + 2 * LOOKAHEAD])
            self.cards = {rid: card for rid, card in self.cards.items() if rid in near}

    def reorder_ahead(self, order: list[int]) -> None:
        """Put the records after the cursor in `order` (a fresh relevance ranking); the rest stay put.

        Records behind the cursor and the one on screen keep their places, so a retrained ranking
        never moves what the reviewer is looking at. Ignored while a search narrows the queue.
        """
        if self.filter:
            return
        done, ahead = self.all_ids[: self.index + 1], self.all_ids[self.index + 1:]
        rank = {rid: i for i, rid in enumerate(order)}
        ahead = sorted(ahead, key=lambda rid: rank.get(rid, len(rank)))
        self.all_ids = self.ids = done + ahead

    def position(self) -> str:
        """"3 of 120 in queue" (and the search), for the progress line. Not "record 3/120": the card
        shows the record's id (#8), which dialogs and `reviewkit full-text ID` use, and a position
        worded as a record was read as that id."""
        if not self.ids:
            return ""
        n = len(self.ids)
        # Past the end no record is shown: "5 of 5" read as the last one still on screen.
        text = f"end of queue ({n} record{'s' if n != 1 else ''})" if self.index >= n else f"{self.index + 1} of {n} in queue"
        return text + (f" · search '{self.filter}'" if self.filter else "")
