"""Provides the messages the TUI's workers post when a service call is done (past-tense names)."""

from __future__ import annotations

from textual.message import Message

from reviewkit.domain.screening import RecordScreening
from reviewkit.services.assess_differences import RecordedConsensus, StudyDisagreements
from reviewkit.services.assess_form import AssessmentView
from reviewkit.services.conflicts import Conflict
from reviewkit.services.prioritise import PrioritisedQueue
from reviewkit.services.screen_cards import RecordCard
from reviewkit.services.screen_queue import ScreeningProgress


class ScreenMessage(Message):
    """A worker's message to its own screen, not bubbling up to the app (the base of screens' own messages)."""

    bubble = False


class QueueLoaded(Message):
    """The records awaiting this reviewer at a stage, in order."""

    def __init__(self, ids: list[int]) -> None:
        super().__init__()
        self.ids = ids


class ProgressLoaded(Message):
    """Fresh progress counts for the reviewer."""

    def __init__(self, progress: ScreeningProgress) -> None:
        super().__init__()
        self.progress = progress


class CardsLoaded(Message):
    """Record cards fetched ahead of the reviewer (and the ids asked for, found or not)."""

    def __init__(self, cards: list[RecordCard], asked: list[int]) -> None:
        super().__init__()
        self.cards = cards
        self.asked = asked


class CardFailed(Message):
    """The service refused or failed to read a record for display; `error` says why."""

    def __init__(self, record_id: int, error: str) -> None:
        super().__init__()
        self.record_id = record_id
        self.error = error


class DecisionRecorded(Message):
    """A decision or an undo is stored (`decision`: the reviewer's decision now, None when withdrawn);
    `state` is the record's new state."""

    def __init__(self, record_id: int, decision: str | None, state: RecordScreening, undo: bool = False) -> None:
        super().__init__()
        self.record_id = record_id
        self.decision = decision
        self.state = state
        self.undo = undo


class DecisionFailed(Message):
    """The service refused a decision or an undo; the record is not marked decided."""

    def __init__(self, record_id: int, decision: str | None, error: str, undo: bool = False) -> None:
        super().__init__()
        self.record_id = record_id
        self.decision = decision
        self.error = error
        self.undo = undo


class SearchFinished(Message):
    """Records whose title or abstract contains `text`."""

    def __init__(self, text: str, ids: set[int]) -> None:
        super().__init__()
        self.text = text
        self.ids = ids


class FullTextSaved(Message):
    """A record's full-text status is stored; `missing`: the path stored, when no file is there."""

    def __init__(self, record_id: int, status: str, missing: str | None = None) -> None:
        super().__init__()
        self.record_id = record_id
        self.status = status
        self.missing = missing


class FullTextRefused(Message):
    """The service refused a record's full-text status; `error` says why."""

    def __init__(self, record_id: int, error: str) -> None:
        super().__init__()
        self.record_id = record_id
        self.error = error


class ConflictsLoaded(Message):
    """The conflicts at a stage, for the adjudicator."""

    def __init__(self, stage: str, conflicts: list[Conflict]) -> None:
        super().__init__()
        self.stage = stage
        self.conflicts = conflicts


class ServiceFailed(Message):
    """A service refused or failed; `error` is the message to show the user."""

    def __init__(self, what: str, error: str) -> None:
        super().__init__()
        self.what = what
        self.error = error


class PriorityUpdated(Message):
    """A retrained relevance ranking of the reviewer's queue, with the stopping aid, and how many of
    the screen's writes had landed when it was asked (`asked_at`)."""

    def __init__(self, queue: PrioritisedQueue, asked_at: int = 0) -> None:
        super().__init__()
        self.queue = queue
        self.asked_at = asked_at


class DisagreementsLoaded(Message):
    """Where the assessors of one study and outcome differ, per pair of assessors, and the consensus
    recorded so far (None: none yet), which a revision starts from."""

    def __init__(self, pairs: list[StudyDisagreements], consensus: AssessmentView | None = None) -> None:
        super().__init__()
        self.pairs = pairs
        self.consensus = consensus


class ConsensusRecorded(Message):
    """The consensus assessment is stored; `view` holds its judgements and what the recording changed."""

    def __init__(self, view: RecordedConsensus) -> None:
        super().__init__()
        self.view = view


class CountsChanged(Message):
    """A write landed after its screen was left (a decision made just before escape): the dashboard,
    which reloaded its counts on coming back, perhaps before the write, reloads them again."""
