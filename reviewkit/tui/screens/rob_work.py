"""Provides the risk-of-bias screen's work with the services: loading and saving in thread workers, the
messages they post back, and the queue that sends the form's changes one at a time."""

from __future__ import annotations

from collections import deque
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


@dataclass(frozen=True)
class Write:
    """One change to send to the service, in order: an answer, an override, finishing or reopening."""

    kind: str
    key: str = ""
    value: str | None = None
    text: str | None = None


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
        self._writes: deque[Write] = deque()
        self._writing = False

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

    @work(thread=True, exclusive=True, exit_on_error=False, group="rob-write")
    def _send(self, assessment_id: int, write: Write) -> None:
        # Changes go one at a time (the next starts when this one's message is handled), so
        # the view shown last is the newest.
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
        except ReviewkitError as exc:
            self.post_message(RobFailed(str(exc), write=True))
            return
        self.post_message(AssessmentLoaded(view, write.key if write.kind == "answer" else None, write=True))

    # -- the form's changes, sent one at a time -----------------------------------------------------

    def _queue(self, write: Write) -> None:
        self._writes.append(write)
        self._next_write()

    def _next_write(self) -> None:
        if self._writing or not self._writes or self.view is None:
            return
        self._writing = True
        self._send(self.view.id, self._writes.popleft())
