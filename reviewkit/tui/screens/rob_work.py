"""Provides the risk-of-bias screen's work with the services: loading and saving in thread workers, the
messages they post back, and the queue that sends the form's changes one at a time."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.message import Message
from textual.screen import Screen

from reviewkit.errors import ReviewkitError
from reviewkit.services import assess, assess_view
from reviewkit.services.assess_form import AssessmentView
from reviewkit.services.assess_outcomes import OutcomeNearMiss
from reviewkit.services.assess_view import StudyTask
from reviewkit.services.project import Review
from reviewkit.tui.write_queue import WriteQueue


@dataclass(frozen=True)
class Write:
    """One change to send to the service, in order: an answer, an override, finishing or reopening."""

    kind: str
    key: str = ""
    value: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Queued:
    """A change with the assessment it was made on: the reviewer may have left that form (or opened
    another) by the time it is sent."""

    assessment_id: int
    write: Write


class StudiesLoaded(Message):
    """The studies, with the reviewer's assessments of them."""

    def __init__(self, tasks: list[StudyTask]) -> None:
        super().__init__()
        self.tasks = tasks


class AssessmentLoaded(Message):
    """An assessment as it now stands (after opening it or after a write); `answered` is the question just saved."""

    def __init__(self, view: AssessmentView, answered: str | None = None, write: bool = False) -> None:
        super().__init__()
        self.view = view
        self.answered = answered
        self.write = write


class OutcomeClose(Message):
    """The outcome typed is new but close to names already used: the reviewer picks one, or keeps it as new."""

    def __init__(self, study_id: int, outcome: str, close: tuple[str, ...]) -> None:
        super().__init__()
        self.study_id = study_id
        self.outcome = outcome
        self.close = close


class RobFailed(Message):
    """The service refused; `write` when it was a change (the next queued change may go)."""

    def __init__(self, error: str, write: bool = False) -> None:
        super().__init__()
        self.error = error
        self.write = write


class RobWork(Screen[None]):
    """What the risk-of-bias screen knows (the studies, the assessment shown, the changes waiting to be
    sent) and how it talks to the services; RobScreen lays it out and shows the results."""

    def __init__(self, review: Review, reviewer: str | None, *, study_id: int | None = None,
                 outcome: str = "") -> None:
        super().__init__()
        self.review = review
        self.reviewer = reviewer
        self.view: AssessmentView | None = None
        self._open_directly = (study_id, outcome) if study_id is not None else None
        self._tasks: list[StudyTask] = []
        #: The form's changes, sent one at a time in the order made; leaving the screen (or quitting the
        #: app) waits for them, as a screen's workers end with it and a change still waiting would be lost.
        self._writes: WriteQueue[Queued] = WriteQueue(self._save, leave=lambda: self.dismiss(None),
                                                      idle=self._all_stored)

    @property
    def write_queue(self) -> WriteQueue[Queued]:
        """The changes not stored yet (the app waits for them before it quits)."""
        return self._writes

    def _all_stored(self) -> None:
        """Every change is stored: a study list shown meanwhile is read again (its open/finished states)."""
        if self.view is None and self.is_attached:
            self._load_studies()

    # -- workers: each calls one service and posts a message ----------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="rob-studies")
    def _load_studies(self) -> None:
        try:
            self.post_message(StudiesLoaded(assess_view.studies_to_assess(self.review, self.reviewer)))
        except ReviewkitError as exc:
            self.post_message(RobFailed(str(exc)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="rob-open")
    def _start(self, study_id: int, outcome: str, new_outcome: bool = False) -> None:
        try:
            self.post_message(AssessmentLoaded(assess.start_assessment(self.review, self.reviewer, study_id,
                                                                       outcome, new_outcome=new_outcome)))
        except OutcomeNearMiss as exc:
            self.post_message(OutcomeClose(study_id, exc.outcome, exc.close))
        except ReviewkitError as exc:
            self.post_message(RobFailed(str(exc)))

    # Not exclusive: a worker cancelled before it ran would lose its change (the queue sends one at a time,
    # the next when this one's message is handled, so the view shown last is the newest).
    @work(thread=True, exit_on_error=False, group="rob-write")
    def _send(self, assessment_id: int, write: Write) -> None:
        try:
            if write.kind == "answer":
                view = assess.answer(self.review, self.reviewer, assessment_id, write.key, write.value or "",
                                     write.text)
            elif write.kind == "override":
                view = assess.override(self.review, self.reviewer, assessment_id, write.key, write.value,
                                       write.text or "")
            elif write.kind == "reopen":
                view = assess.reopen(self.review, self.reviewer, assessment_id)
            else:
                view = assess.finish(self.review, self.reviewer, assessment_id)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the assessor must see it was not saved
            self.post_message(RobFailed(str(exc), write=True))
            return
        self.post_message(AssessmentLoaded(view, write.key if write.kind == "answer" else None, write=True))

    # -- the form's changes, sent one at a time -----------------------------------------------------

    def _queue(self, write: Write) -> None:
        if self.view is not None:
            self._writes.put(Queued(self.view.id, write))

    def _save(self, queued: Queued) -> None:
        self._send(queued.assessment_id, queued.write)

    def _queued_answers(self) -> dict[str, str]:
        """The answers given on the form shown that are not stored yet (question → answer, the last given)."""
        view = self.view
        return {q.write.key: q.write.value for q in self._writes.unsaved()
                if view is not None and q.assessment_id == view.id and q.write.kind == "answer" and q.write.value}
