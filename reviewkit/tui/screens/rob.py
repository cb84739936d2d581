"""Provides the risk-of-bias screen: pick a study and outcome, then answer the RoB form with single keys."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, Header, Static
from textual.widgets.data_table import ColumnKey

from reviewkit.tui.modals.choice import Choice, ChoiceModal
from reviewkit.tui.modals.text_prompt import TextPromptModal
from reviewkit.tui.plain import marked
from reviewkit.tui.screens.rob_consensus import RobConsensusScreen
from reviewkit.tui.screens.rob_work import (
    AssessmentLoaded,
    OutcomeClose,
    RobFailed,
    RobWork,
    StudiesLoaded,
    Write,
)
from reviewkit.tui.widgets.fitted_table import FittedTable, clipped
from reviewkit.tui.widgets.rob_judgements import (
    ROB1_KEYS,
    ROB2_KEYS,
    RobJudgements,
    key_help,
    question_rows,
)
from reviewkit.wording import counted

NO_REVIEWER = "No reviewer set: start reviewkit with --reviewer NAME (or set reviewer in your user config)."
#: The option of the near-miss choice that keeps the typed name as a new result (no outcome name is empty
#: and new at once, so it cannot clash with a name offered).
NEW_RESULT = ""
_FORM_ACTIONS = {"answer", "support", "override", "finish", "reopen"}
#: The form's column headings per tool: RoB 1 has no signalling questions, each domain is judged directly
#: with its "support for judgement" (Handbook 5.1 Table 8.5.a).
COLUMNS: dict[str, dict[str, str]] = {
    "rob2": {"id": "Q", "answer": "Answer", "question": "Question", "support": "Support"},
    "rob1": {"id": "D", "answer": "Judgement", "question": "Domain", "support": "Support for judgement"},
}


class RobScreen(RobWork):
    """The reviewer's RoB assessments: a study list, then the form of one study and outcome (the loading
    and saving are RobWork's)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # The answer keys and X are listed in the key line above the footer; shown in the footer too
        # they pushed Help and Quit off an 80-column terminal.
        *(Binding(k, f"answer('{v}')", v, show=False) for k, v in ROB2_KEYS.items()),
        *(Binding(k, f"answer('{v}')", v.capitalize(), show=False) for k, v in ROB1_KEYS.items()),
        Binding("s", "support", "Support"),
        Binding("x", "override('domain')", "Override"),
        Binding("X", "override('overall')", "Override overall", key_display="X", show=False),
        Binding("f", "finish", "Finish"),
        Binding("r", "reopen", "Reopen", show=False),
        Binding("c", "consensus", "Consensus"),
        Binding("j", "cursor(1)", "Next", show=False),
        Binding("k", "cursor(-1)", "Previous", show=False),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    RobScreen #rob-status { padding: 0 2; height: auto; background: $boost; }
    RobScreen #rob-studies { margin: 1 2; height: 1fr; }
    /* On a 24-line terminal the questions keep a few rows and the judgements at most half the height
       (below 100 columns they leave out the domains' names, so every domain and the overall fit). */
    RobScreen #rob-questions { margin: 0 1; height: 1fr; min-height: 6; }
    RobScreen #rob-judgements { max-height: 50%; overflow-y: auto; }
    RobScreen #rob-keys { padding: 0 2; height: auto; color: $text-muted; }
    RobScreen #rob-question { padding: 0 2; height: auto; }
    """

    def compose(self) -> ComposeResult:
        """Status line, the study list or the form (questions and judgements), the keys."""
        yield Header()
        # Study labels, outcome names and the services' messages are shown as they are (see _status).
        yield Static("Loading…", id="rob-status", markup=False)
        # Long study titles and question texts give way, so the columns after them stay on screen.
        studies = FittedTable(id="rob-studies", cursor_type="row", zebra_stripes=True, squeeze=["study"])
        studies.add_column("Study", key="study")
        studies.add_columns("Outcome", "State")
        yield studies
        questions = FittedTable(id="rob-questions", cursor_type="row", zebra_stripes=True,
                                squeeze=["question", "support"])
        for key, label in COLUMNS["rob2"].items():
            questions.add_column(label, key=key)
        yield questions
        yield Static("", id="rob-question", markup=False)
        yield RobJudgements(id="rob-judgements")
        yield Static("", id="rob-keys")
        yield Footer()

    def on_mount(self) -> None:
        """Load the studies (or open the asked-for assessment)."""
        self.sub_title = "Risk of bias"
        self._show_form(False)
        if not self.reviewer:
            self._status(NO_REVIEWER)
            return
        if self._open_directly is not None:
            self._start(*self._open_directly)
        self._load_studies()

    # -- message handlers ---------------------------------------------------------------------------

    def on_studies_loaded(self, message: StudiesLoaded) -> None:
        """List each study: the reviewer's assessments of it, and a row to start another outcome."""
        self._tasks = message.tasks
        table = self.query_one("#rob-studies", DataTable)
        table.clear()
        for task in message.tasks:
            for mine in task.mine:
                table.add_row(clipped(task.label), mine.outcome or "(no outcome)",
                              "finished" if mine.finished else "open", key=f"a:{task.study_id}:{mine.outcome}")
            table.add_row(clipped(task.label), "+ new outcome…", "" if task.included else "not included",
                          key=f"s:{task.study_id}")
        if self.view is None:
            n_in = sum(t.included for t in message.tasks)
            self._status(f"{counted(len(message.tasks), 'study', 'studies')}, {n_in} included at full text · enter opens one"
                         if message.tasks else "No studies yet: studies come from the dedup/studies stage.")
            table.focus()

    def on_assessment_loaded(self, message: AssessmentLoaded) -> None:
        """Show the form as it now stands; after the last answer sent, go to the next question still open.
        A change stored after its form was left (for the list, or another form) is not shown: the form
        would come back over what the assessor went to."""
        if not message.write:
            self.view = message.view
            self._show_form(True)
            self._render_view(None)
            return
        # What the write did beyond itself (an escalation choice lapsed, a consensus reopened) is said
        # at once too, not only in the judgements panel.
        for note in message.view.notes:
            self.notify(note, severity="warning", markup=False)
        if self.view is not None and self.view.id == message.view.id:
            self.view = message.view
            # With more changes on their way the cursor stays where the assessor has moved it.
            self._render_view(message.answered if self._writes.pending == 1 else None)
        self._writes.done()

    def on_outcome_close(self, message: OutcomeClose) -> None:
        """Ask whether the name typed is a slip for a name already used or a result of its own;
        escape starts nothing."""
        def chosen(choice: Choice | None) -> None:
            if choice is None:
                return
            if choice.option == NEW_RESULT:
                self._start(message.study_id, message.outcome, new_outcome=True)
            else:
                self._start(message.study_id, choice.option)

        labels = [f"{name} (already used)" for name in message.close]
        self.app.push_screen(ChoiceModal(
            f"'{message.outcome}' is close to a result name already used; a second spelling would make a "
            "separate result. Which is it?", [*message.close, NEW_RESULT],
            labels=[*labels, f"{message.outcome} (a new result)"], text_label=None), chosen)

    def on_rob_failed(self, message: RobFailed) -> None:
        """Say why; a refused change is dropped and the next one goes."""
        self.notify(message.error, severity="error", markup=False)
        if message.write:
            self._writes.done(failed=True)
            if self.view is not None:  # the refused answer, shown at its key, goes
                self._render_view(None)
        elif self.view is None:
            self._status(message.error)

    @on(DataTable.RowSelected, "#rob-studies")
    def _study_chosen(self, event: DataTable.RowSelected) -> None:
        kind, study, *rest = str(event.row_key.value).split(":", 2)
        if kind == "a":
            self._start(int(study), rest[0])
            return

        def named(outcome: str | None) -> None:
            if outcome is not None:
                self._start(int(study), outcome.strip())

        self.app.push_screen(TextPromptModal("Which result (outcome, time point) is assessed?",
                                             placeholder="e.g. IGA 0/1 at week 16"), named)

    @on(DataTable.RowHighlighted, "#rob-questions")
    def _question_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted question in full, with when it applies and the answers it takes."""
        if self.view is None:
            return
        q = next((q for q in self.view.questions if q.id == event.row_key.value), None)
        if q is not None:
            template = ("[b]$id[/b] $text\n[dim]$condition · judgements: $answers[/dim]" if self.view.tool == "rob1"
                        else "[b]$id[/b] $text\n[dim]applies: $condition · answers: $answers[/dim]")
            self.query_one("#rob-question", Static).update(marked(
                template, id=q.id, text=q.text, condition=q.condition, answers="/".join(q.choices)))

    # -- actions -------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Form keys only on the form; RoB 2 answer keys in RoB 2, RoB 1's in RoB 1."""
        if action in _FORM_ACTIONS and self.view is None:
            return False
        if action == "answer" and self.view is not None:
            keys = ROB1_KEYS if self.view.tool == "rob1" else ROB2_KEYS
            return parameters[0] in keys.values()
        if action == "override" and self.view is not None and self.view.tool == "rob1":
            return parameters[0] == "domain"
        return True

    def _current(self) -> str | None:
        table = self.query_one("#rob-questions", DataTable)
        if self.view is None or not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_answer(self, code: str) -> None:
        """Answer the highlighted question (committed at once)."""
        qid = self._current()
        if qid is None:
            return
        # No support sent: the service keeps the stored one (and one still queued from s lands first).
        self._queue(Write("answer", qid, code, None))
        self._answered_at_once(qid, code)

    def _answered_at_once(self, qid: str, code: str) -> None:
        """Show the answer and move to the next question still open at once, as the stored answer will:
        the next key, pressed before this answer is stored, answers that question, not this one again."""
        assert self.view is not None
        table = self.query_one("#rob-questions", DataTable)
        ids = [str(table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value) for i in range(table.row_count)]
        table.update_cell(qid, "answer", code)
        answered = set(self.view.answers) | set(self._queued_answers())
        after = ids[ids.index(qid) + 1:]
        target = next((q for q in after if q not in answered), after[0] if after else qid)
        table.move_cursor(row=ids.index(target))

    def action_support(self) -> None:
        """Write the support text of the highlighted question (it keeps its answer)."""
        qid = self._current()
        if qid is None or self.view is None:
            return
        current = self._queued_answers().get(qid) or self.view.answers.get(qid)
        if current is None:
            self.notify(f"Answer {qid} first, then add its support", severity="warning", markup=False)
            return

        def written(text: str | None) -> None:
            if text is not None:
                self._queue(Write("answer", qid, current, text.strip()))  # "": the support is removed

        self.app.push_screen(TextPromptModal(f"Support for {qid} (quote, page)",
                                             value=self.view.supports.get(qid, "")), written)

    def action_override(self, target: str) -> None:
        """Override the highlighted question's domain (or the overall) with a justification."""
        if self.view is None:
            return
        qid = self._current()
        key = "overall" if target == "overall" or self.view.tool == "rob1" else None
        if key is None:
            domain = next((q.domain for q in self.view.questions if q.id == qid), None)
            if domain is None:
                return
            key = domain
        d = self.view.domain(key)
        codes = ["low", "unclear", "high"] if self.view.tool == "rob1" else ["low", "some_concerns", "high"]
        labels = [c.replace("_", " ").capitalize() for c in codes]

        def chosen(choice: Choice | None) -> None:
            if choice is None:
                return
            final = None if choice.option == "accept" else choice.option
            self._queue(Write("override", key, final, choice.text))

        proposed = (d.proposed or "incomplete").replace("_", " ")
        title = f"Override {key} (proposed: {proposed})"
        if key == "overall" and self.view.concerns:
            # RoB 2's escalation choice: finishing waits for it, and "not escalating" is a choice with a reason too.
            title = (f"Overall: Some concerns in {', '.join(self.view.concerns)}: High (escalate) or Some concerns "
                     "(do not), with the reason")
        self.app.push_screen(ChoiceModal(
            title, [*codes, "accept"], labels=[*labels, "Accept the proposal"],
            text_label="Justification (required to override)", text_required_for=codes,
            text=d.justification), chosen)

    def action_finish(self) -> None:
        """Finish the assessment (every domain judged); the other assessor's answers then show once they finish."""
        self._queue(Write("finish"))

    def action_reopen(self) -> None:
        """Reopen my finished assessment to change it, while the other assessors have not all finished."""
        self._queue(Write("reopen"))

    def action_consensus(self) -> None:
        """Open the consensus of the shown (or highlighted) study's outcome, once every assessor finished."""
        if not self.reviewer:
            self.notify(NO_REVIEWER, severity="error", markup=False)
            return
        if self.view is not None:
            self._open_consensus(self.view.study_id, self.view.outcome, self.view.study)
            return
        table = self.query_one("#rob-studies", DataTable)
        if not table.row_count:
            return
        kind, study, *rest = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value).split(":", 2)
        label = next((t.label for t in self._tasks if t.study_id == int(study)), "")
        if kind == "a":
            self._open_consensus(int(study), rest[0], label)
            return

        # Pick from the results someone assessed: typing a name could miss by a word.
        assessed = next((t.assessed_outcomes for t in self._tasks if t.study_id == int(study)), ())
        if not assessed:
            self.notify(f"No one has assessed {label} yet: a consensus follows the assessors' own assessments",
                        severity="warning", markup=False)
            return

        def chosen(choice: Choice | None) -> None:
            if choice is not None:
                self._open_consensus(int(study), choice.option, label)

        labels = [o or "(no outcome named)" for o in assessed]
        self.app.push_screen(ChoiceModal(f"Consensus of {label}: which result?", list(assessed), labels=labels,
                                         text_label=None), chosen)

    def _open_consensus(self, study_id: int, outcome: str, label: str) -> None:
        self.app.push_screen(RobConsensusScreen(self.review, self.reviewer, study_id, outcome, label))

    def action_cursor(self, step: int) -> None:
        """Move between questions (j/k as well as the arrows)."""
        table = self.query_one("#rob-questions", DataTable)
        if table.display:
            table.move_cursor(row=max(0, table.cursor_row + step))

    def action_back(self) -> None:
        """From the form back to the study list; from the list back to the dashboard."""
        if self.view is not None and self._open_directly is None:
            self.view = None
            self._show_form(False)
            self._status("Pick a study · enter opens it")
            self.refresh_bindings()
            self._load_studies()
            return
        self._writes.leave()  # once every change is stored

    # -- helpers -------------------------------------------------------------------------------------
    def _status(self, text: str | Content) -> None:
        """A str as it is (it may quote a study or an outcome name); Content for our own markup around them."""
        self.query_one("#rob-status", Static).update(text)

    def _show_form(self, form: bool) -> None:
        self.query_one("#rob-studies", DataTable).display = not form
        self.query_one("#rob-questions", DataTable).display = form
        self.query_one("#rob-judgements", RobJudgements).display = form
        self.query_one("#rob-keys", Static).display = form
        self.query_one("#rob-question", Static).display = form

    def _render_view(self, answered: str | None) -> None:
        view = self.view
        assert view is not None
        table = self.query_one("#rob-questions", DataTable)
        keep = self._current() if table.row_count else None
        for key, label in COLUMNS["rob1" if view.tool == "rob1" else "rob2"].items():
            table.columns[ColumnKey(key)].label = Text(label)
        table.clear()
        # Answers given but not stored yet show as given (each is stored in turn, or refused and said).
        queued = self._queued_answers()
        for key, qid, answer, text, support in question_rows(view):
            table.add_row(qid, queued.get(qid, answer), clipped(text), clipped(support), key=key)
        ids = [q.id for q in view.questions]
        target = keep
        if answered in ids:
            after = ids[ids.index(answered) + 1:]
            target = next((q for q in after if view.answers.get(q) is None), after[0] if after else answered)
        elif target not in ids:
            target = next((q.id for q in view.questions if q.answer is None), ids[0] if ids else None)
        if target is not None:
            table.move_cursor(row=ids.index(target))
        table.focus()
        self.query_one("#rob-judgements", RobJudgements).show(view)
        who = "consensus" if view.is_consensus else view.assessor
        state = "finished" if view.finished else "open"
        tool = "RoB 1" if view.tool == "rob1" else f"RoB 2 ({view.variant})"
        self._status(marked("[b]$study[/b] · $outcome · $tool · $who · $state", study=view.study,
                            outcome=view.outcome or "(no outcome)", tool=tool, who=str(who), state=state))
        self.query_one("#rob-keys", Static).update(key_help(view.tool))
        self.refresh_bindings()
