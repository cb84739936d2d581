"""Provides the extraction screen's work with the services: loading and saving in thread workers, the
messages they post back, and the flows (an arm line, the registry's proposals, a CI's level) that end in a save."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable
from textual.worker import Worker, WorkerState

from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.extract import StudyForm, StudyView
from reviewkit.services.extract_convert import DEFAULT_LEVEL, auto_method, convert, level_from_text
from reviewkit.services.extract_status import describe, finish_extraction
from reviewkit.services.prefill import Prefill, confirm_arms, confirm_measure, registry_prefill
from reviewkit.services.project import Review
from reviewkit.tui.extraction_grid import parse_arm_line
from reviewkit.tui.modals.choice import Choice, ChoiceModal
from reviewkit.tui.modals.text_prompt import TextPromptModal
from reviewkit.tui.write_queue import WriteQueue


class ExtractionWork(Screen[None]):
    """What the extraction screen knows (the studies, the study shown, its form and the registry's
    proposals) and how it talks to the services; ExtractionScreen lays it out and shows the results."""

    class StudiesLoaded(Message):
        """The studies to extract."""

        def __init__(self, studies: list[StudyView]) -> None:
            super().__init__()
            self.studies = studies

    class FormLoaded(Message):
        """A study's form for this extractor."""

        def __init__(self, form: StudyForm) -> None:
            super().__init__()
            self.form = form

    class PrefillLoaded(Message):
        """The registry's proposals for a study (None without posted results)."""

        def __init__(self, study_id: int, prefill: Prefill | None) -> None:
            super().__init__()
            self.study_id = study_id
            self.prefill = prefill

    class Saved(Message):
        """A change is stored; `note` says what, for the status line."""

        def __init__(self, target: str, note: str) -> None:
            super().__init__()
            self.target = target
            self.note = note

    class Finished(Message):
        """The extractor's extraction of a study is finished (or already was); `note` says where it stands."""

        def __init__(self, note: str) -> None:
            super().__init__()
            self.note = note

    class Failed(Message):
        """The service refused; `target` is where to show why (a field's problem line or the status);
        `write`: a queued write was refused (the next one goes)."""

        def __init__(self, target: str, error: str, *, write: bool = False) -> None:
            super().__init__()
            self.target = target
            self.error = error
            self.write = write

    def __init__(self, review: Review, reviewer: str | None) -> None:
        super().__init__()
        self.review = review
        self.reviewer = reviewer
        self.studies: list[StudyView] = []
        self.study_id: int | None = None
        self.form: StudyForm | None = None
        self.prefill: Prefill | None = None
        #: Values, arms, conversions and "finished", stored one at a time in the order made: two saves
        #: at once could land out of order (a cell changed twice kept the first value), an exclusive
        #: worker cancelled before it ran lost its change, and a finish could land before the last value.
        #: Leaving the screen (or quitting the app) waits for them: a screen's workers end with it.
        self._writes: WriteQueue[Callable[[], object]] = WriteQueue(lambda start: start(),
                                                                     leave=lambda: self.dismiss(None))

    @property
    def write_queue(self) -> WriteQueue[Callable[[], object]]:
        """The changes not stored yet (the app waits for them before it quits)."""
        return self._writes

    def _save(self, target: str, note: str, call: Callable[[], Any]) -> None:
        """Store a change through `call` after those already made; `target` shows the outcome, `note` says
        what was saved."""
        self._writes.put(lambda: self._store(target, note, call))

    # --- workers: one service call each, results posted back --------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="extraction-studies")
    def _load_studies(self) -> None:
        try:  # as the acting reviewer: whether their extraction of each study is finished
            self.post_message(self.StudiesLoaded(extract.list_studies(self.review, self.reviewer)))
        except ReviewkitError as exc:
            self.post_message(self.Failed("status", str(exc)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="extraction-form")
    def _load_form(self, study_id: int) -> None:
        try:
            self.post_message(self.FormLoaded(extract.study_form(self.review, self.reviewer, study_id)))
        except ReviewkitError as exc:
            self.post_message(self.Failed("status", str(exc)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="extraction-prefill")
    def _load_prefill(self, study_id: int) -> None:
        try:
            self.post_message(self.PrefillLoaded(study_id, registry_prefill(self.review, study_id)))
        except ReviewkitError as exc:
            self.post_message(self.Failed("status", str(exc)))

    # Not exclusive: the queue sends one at a time, and a cancelled worker would lose its change.
    @work(thread=True, exit_on_error=False, group="extraction-save")
    def _store(self, target: str, note: str, call: Callable[[], Any]) -> None:
        try:
            result = call()
        except ReviewkitError as exc:
            self.post_message(self.Failed(target, exc.message, write=True))
            return
        # A value whose change cleared a converted SD says so, as `extract set` does: the grid's SD just
        # emptying would read as a lost value.
        if isinstance(result, extract.ValueView) and result.cleared:
            note = f"{note}; {'; '.join(result.cleared)}"
        self.post_message(self.Saved(target, note))

    @work(thread=True, exit_on_error=False, group="extraction-save")
    def _finish(self, study_id: int) -> None:
        try:
            change = finish_extraction(self.review, self.reviewer, study_id)
        except ReviewkitError as exc:
            self.post_message(self.Failed("status", exc.message, write=True))
            return
        self.post_message(self.Finished(describe(change, self.review.protocol.extraction.extractors_per_study)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An unexpected error in a worker (the database gone mid-session) is shown, not swallowed; a write's
        lets the next one go."""
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "extraction-save":
            self._writes.done(failed=True)
        self.notify(f"{event.worker.name}: {event.worker.error}", severity="error", markup=False)

    # --- flows that end in a save ------------------------------------------------------------------

    def action_finish(self) -> None:
        """Mark the acting reviewer's extraction of the study shown finished (reopen: `reviewkit extract
        reopen`, until the comparison opens)."""
        if self.study_id is not None:
            sid = self.study_id
            self._writes.put(lambda: self._finish(sid))

    def action_add_arm(self) -> None:
        """Add (or change) an arm: "label; intervention; dose; co-intervention; N; dose_mg=4". On an arm of
        the arm table, the prompt starts with that arm's line. As `extract arm`, only what the line gives
        changes: parts left off its end and arm fields not named keep the arm's values; an empty part
        ("Placebo; ; ; ; 120") or "dose_mg=" clears one."""
        sid, who = self.study_id, self.reviewer
        names = [f.name for f in self.review.protocol.extraction.arm_fields]
        if sid is None:
            return

        def written(text: str | None) -> None:
            if not text:
                return
            try:
                args = parse_arm_line(text, names)
            except ReviewkitError as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
            given = len([p for p in text.split(";") if "=" not in p])
            for i, key in enumerate(("intervention", "dose", "co_intervention", "n_randomised"), start=1):
                if i >= given:
                    args[key] = None  # not given: the arm keeps its value
            self._save("status", f"arm {args['label']} saved",
                       lambda: extract.set_arm(self.review, who, sid, **args))  # type: ignore[arg-type]

        hint = "; ".join(["label", "intervention", "dose", "co-intervention", "N", *(f"{n}=…" for n in names)])
        self.app.push_screen(TextPromptModal(f"Arm: {hint}", value=self._arm_line(names), placeholder=hint),
                             written)

    def action_remove_arm(self) -> None:
        """Withdraw the arm highlighted in the arm table (a mistyped label, an arm entered by mistake), with
        its values, as `extract remove-arm` does; asked first, as its values go with it."""
        sid, who, form = self.study_id, self.reviewer, self.form
        table = self.focused
        if sid is None or form is None:
            return
        if not isinstance(table, DataTable) or table.id != "arm-table" or not 0 <= table.cursor_row < len(form.arms):
            self.notify("Highlight the arm to remove in the arm table first (arrows there), then press x",
                        markup=False)
            return
        label, consensus = form.arms[table.cursor_row].label, form.consensus
        values = sum(1 for v in form.values if v.arm == label and v.value not in (None, ""))

        def chosen(choice: Choice | None) -> None:
            if choice is not None and choice.option == "remove":
                self._save("status", f"arm {label} removed, with its {values} value{'' if values == 1 else 's'}",
                           lambda: extract.remove_arm(self.review, who, sid, label, consensus=consensus))

        self.app.push_screen(ChoiceModal(
            f"Remove arm '{label}'? Its {values} value{'' if values == 1 else 's'} are cleared with it (the history "
            "keeps them).", ["remove", "keep"], labels=["Remove the arm", "Keep it"], text_label=None), chosen)

    def _arm_line(self, names: list[str]) -> str:
        """The line of the arm highlighted in the arm table while it has focus ("" otherwise)."""
        table = self.focused
        if not isinstance(table, DataTable) or table.id != "arm-table" or self.form is None:
            return ""
        arms = self.form.arms
        if not 0 <= table.cursor_row < len(arms):
            return ""
        a = arms[table.cursor_row]
        parts = [a.label, a.intervention, a.dose, a.co_intervention, "" if a.n_randomised is None else str(a.n_randomised)]
        return "; ".join([*parts, *(f"{n}={a.fields[n]}" for n in names if a.fields.get(n))])

    def _derive_sd(self, arm: str, outcome: str, timepoint: str) -> None:
        """Derive the SD (or mean and SD) of an arm at an outcome and timepoint, as `extract convert` does.
        A conversion from the CI first asks the CI's level (prefilled with 95%; escape converts nothing):
        a 90% CI read as 95% gives an SD 16% too small. One from SE or quantiles takes no level."""
        sid, who = self.study_id, self.reviewer
        if sid is None:
            return

        def derived(level: float | None) -> None:
            how = f" from its {level * 100:g}% CI" if level is not None else ""
            self._save("status", f"SD derived for {arm} {outcome}{how}", lambda: convert(
                self.review, who, sid, arm=arm, outcome=outcome, timepoint=timepoint, level=level))

        values = [v for v in self.form.values if (v.arm, v.outcome, v.timepoint) == (arm, outcome, timepoint)
                  ] if self.form else []
        reported_sd = any(v.field == "sd" and v.value and not v.converted_from for v in values)
        # No prompt where the service will refuse at once (a reported SD) or convert something else.
        if reported_sd or auto_method({v.field: v.value for v in values}) != "ci":
            derived(None)
            return

        # The level this arm's SD was last converted at (its CI since corrected): accepting the prompt as it
        # opens must not turn a recorded 90% into 95%.
        level = self.form.ci_levels.get((arm, outcome, timepoint), DEFAULT_LEVEL) if self.form else DEFAULT_LEVEL

        def given(text: str | None) -> None:
            if text is not None:  # the prompt lets only a level through (check)
                derived(level_from_text(text))

        def problem(text: str) -> str | None:
            try:
                level_from_text(text)
            except ReviewkitError as exc:
                return exc.message
            return None

        self.app.push_screen(TextPromptModal(f"Confidence level of {arm}'s CI ({outcome}, {timepoint}): "
                                             "0.95 for a 95% CI, 0.9 for a 90% one", value=f"{level:g}",
                                             check=problem), given)

    def action_prefill(self) -> None:
        """Review the registry's proposals; a chosen one is stored as this extractor's (origin ctgov)."""
        prefill, sid, who = self.prefill, self.study_id, self.reviewer
        if prefill is None or sid is None:
            self.notify("No registry results for this study", severity="warning", markup=False)
            return
        options = ["arms", *(str(m.index) for m in prefill.measures)]
        labels = [f"Arms: {', '.join(a.label for a in prefill.arms)}", *(m.label for m in prefill.measures)]

        def chosen(choice: Choice | None) -> None:
            if choice is None:
                return
            if choice.option == "arms":
                self._save("status", "registry arms confirmed", lambda: confirm_arms(self.review, who, sid, prefill.arms))
                return
            measure = prefill.measures[int(choice.option)]
            outcomes = [o.name for o in self.review.protocol.extraction.outcomes if o.type == measure.kind]

            def target(pick: Choice | None) -> None:
                if pick is not None:
                    self._save("status", f"{measure.title} confirmed as {pick.option}", lambda: confirm_measure(
                        self.review, who, sid, measure, outcome=pick.option))

            self.app.push_screen(ChoiceModal(f"Store '{measure.title}' as which outcome?", outcomes), target)

        self.app.push_screen(ChoiceModal("Registry results: confirm what to take over", options, labels=labels),
                             chosen)
