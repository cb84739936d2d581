"""Provides the risk-of-bias consensus screen: the assessors' disagreements, the settled answers, the save."""

from __future__ import annotations

import textwrap
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from reviewkit.errors import ReviewkitError
from reviewkit.services import assess_consensus
from reviewkit.services.assess_form import AssessmentView
from reviewkit.services.project import Review
from reviewkit.tui import messages as msg
from reviewkit.tui.modals.choice import Choice, ChoiceModal
from reviewkit.tui.modals.text_prompt import TextPromptModal
from reviewkit.tui.plain import marked, plain
from reviewkit.tui.widgets.fitted_table import FittedTable, clipped
from reviewkit.tui.widgets.rob_judgements import LABELS, ROB1_KEYS, ROB2_KEYS, RobJudgements
from reviewkit.wording import counted

_KEYS_REST = ("[b]w[/b] co-signer (an assessor records it with the other) · [b]s[/b] save the consensus · "
              "[b]esc[/b] back")


def keys_help(tool: str) -> str:
    """The key line: X judges the overall, which is RoB 2's escalation choice but RoB 1's summary (RoB 1 has
    no Some concerns to escalate)."""
    overall = "the summary judgement (override)" if tool == "rob1" else "the overall judgement (escalate to High?)"
    return f"[b]enter[/b] settle the highlighted item · [b]X[/b] {overall} · {_KEYS_REST}"


#: A support or reason quoted in a choice's label is cut to about this many characters (the panel under
#: the table shows it in full): a paragraph each would push the other answers out of the box.
CHOICE_QUOTE = 100


def _shown(value: str | None) -> str:
    if value is None:
        return "—"
    return LABELS[value][0] if value in LABELS else value


class RobConsensusScreen(Screen[None]):
    """One study's outcome: each disagreement with every assessor's answer, then the consensus saved."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "settle", "Settle", show=False),
        Binding("X", "overall", "Overall", key_display="X"),
        Binding("s", "save", "Save consensus"),
        Binding("w", "co_signer", "Co-signer"),
        Binding("escape", "back", "Back"),
    ]
    DEFAULT_CSS = """
    RobConsensusScreen #consensus-status { padding: 0 2; height: auto; background: $boost; }
    RobConsensusScreen #consensus-items { margin: 1 2; height: 1fr; }
    /* The highlighted item's supports in full, wrapped; long ones scroll (tab to them) rather than push
       the table, and once saved the judgements, and the keys off an 80×24 terminal. */
    RobConsensusScreen #consensus-support-box { height: auto; max-height: 50%; }
    RobConsensusScreen.-saved #consensus-support-box { max-height: 20%; }
    RobConsensusScreen #consensus-support { padding: 0 2; }
    RobConsensusScreen #consensus-keys { padding: 0 2; height: auto; color: $text-muted; }
    """

    def __init__(self, review: Review, reviewer: str | None, study_id: int, outcome: str = "",
                 label: str = "") -> None:
        super().__init__()
        self.review = review
        self.reviewer = reviewer
        self.study_id = study_id
        self.outcome = outcome
        self.label = label or f"study {study_id}"
        self.tool = review.protocol.risk_of_bias.tool
        #: item key ("question:1.2", "domain:D1") → assessor → answer or judgement.
        self.items: dict[str, dict[str, str | None]] = {}
        #: Domain keys whose differing judgements include an override: the consensus judges each itself.
        self.to_decide: set[str] = set()
        #: Judgements the assessors agree on with a reason: carried by the consensus, not taken back by "accept".
        self.carried: set[str] = set()
        #: (domain key, assessor) → the reason that assessor recorded their judgement with.
        self.reasons: dict[tuple[str, str], str] = {}
        #: (item key, assessor) → what that assessor based the answer on (RoB 1: the domain's judgement).
        self.supports: dict[tuple[str, str], str] = {}
        self.assessors: list[str] = []
        #: What this visit settles (sent on save); ("accept", "") takes back a recorded judgement.
        self.answers: dict[str, str] = {}
        self.overrides: dict[str, tuple[str, str]] = {}
        #: What the consensus recorded before holds (shown, not sent: the service starts from it, so a
        #: revision changes only what is settled here).
        self.recorded_answers: dict[str, str] = {}
        self.recorded_overrides: dict[str, tuple[str, str]] = {}
        self.revising = False
        self.co_signer: str | None = None
        self.loaded = False
        self.saving = False

    def compose(self) -> ComposeResult:
        """Status line, the disagreements, the consensus judgements once saved, the keys."""
        yield Header()
        # The study's label, the outcome and the services' messages are shown as they are (see _status).
        yield Static("Loading the disagreements…", id="consensus-status", markup=False)
        # Refilled after each settled item: a FittedTable keeps its columns as wide as the answers; the
        # assessors' columns (an answer and its support) give way to keep the consensus column on screen.
        yield FittedTable(id="consensus-items", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="consensus-support-box"):
            yield Static("", id="consensus-support")
        yield RobJudgements(id="consensus-judgements")
        yield Static(keys_help(self.tool), id="consensus-keys")
        yield Footer()

    def on_mount(self) -> None:
        """Load the disagreements."""
        self.sub_title = f"Risk of bias · consensus · {self.label} · {self.outcome or '(no outcome)'}"
        self.query_one("#consensus-judgements", RobJudgements).display = False
        self.query_one("#consensus-support-box").display = False
        self._load()

    # -- workers: each calls one service and posts a message ----------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="rob-consensus-load")
    def _load(self) -> None:
        try:
            pairs = assess_consensus.disagreements(self.review, self.reviewer, self.study_id, self.outcome)
            self.post_message(msg.DisagreementsLoaded(
                pairs, assess_consensus.current_consensus(self.review, self.reviewer, self.study_id, self.outcome)))
        except ReviewkitError as exc:
            self.post_message(msg.ServiceFailed("disagreements", str(exc)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="rob-consensus-save")
    def _save(self, answers: dict[str, str], overrides: dict[str, tuple[str, str]], co_signer: str | None) -> None:
        try:
            self.post_message(msg.ConsensusRecorded(assess_consensus.record_consensus(
                self.review, self.reviewer, self.study_id, self.outcome, answers=answers, overrides=overrides,
                co_signer=co_signer)))
        except ReviewkitError as exc:
            self.post_message(msg.ServiceFailed("consensus", str(exc)))

    # -- message handlers ---------------------------------------------------------------------------

    def on_disagreements_loaded(self, message: msg.DisagreementsLoaded) -> None:
        """One row per question or domain on which any two assessors differ, with each one's answer."""
        self.items.clear()
        self.to_decide.clear()
        self.carried.clear()
        self.reasons.clear()
        self.supports.clear()
        self.assessors = []
        for pair in message.pairs:
            for name in (pair.assessor_a, pair.assessor_b):
                if name not in self.assessors:
                    self.assessors.append(name)
            for item in pair.items:
                key = f"{item.level}:{item.key}"
                values = self.items.setdefault(key, {})
                values[pair.assessor_a] = item.a_value
                values[pair.assessor_b] = item.b_value
                for name, support in zip((pair.assessor_a, pair.assessor_b), pair.support(item.key), strict=True):
                    if support:
                        self.supports[(key, name)] = support
            self.to_decide |= set(pair.to_decide)
            self.carried |= set(pair.carried)
            for key, a_why, b_why in pair.reasons:
                for name, why in ((pair.assessor_a, a_why), (pair.assessor_b, b_why)):
                    if why:
                        self.reasons[(key, name)] = why
        self._recorded(message.consensus)
        self.loaded = True
        self._render_items()
        table = self.query_one("#consensus-items", DataTable)
        table.focus()
        if self.items:
            judge = (f" · {counted(len(self.to_decide), 'judgement')} with an override to decide "
                     f"({', '.join(sorted(self.to_decide))})" if self.to_decide else "")
            self._status(self._headed(f"{counted(len(self.items), 'disagreement')}{judge}{self._revising_note()} · "
                                      "enter settles one, s saves"))
        else:
            self._status(self._headed(f"the assessors agree everywhere{self._revising_note()} · "
                                      "s saves the consensus"))

    def on_consensus_recorded(self, message: msg.ConsensusRecorded) -> None:
        """Show the consensus judgements as stored and, for a revision, what it changed."""
        self.saving = False
        view = message.view
        panel = self.query_one("#consensus-judgements", RobJudgements)
        panel.display = True
        self.add_class("-saved")  # the supports give the judgements room
        panel.show(view)
        # What was settled is now the recorded consensus: a second save sends only what changes after it.
        self.answers.clear()
        self.overrides.clear()
        self._recorded(view)
        self._render_items()
        overall = _shown(view.overall.final)
        if not view.revised:
            changed, note = "", "Consensus recorded"
        elif view.changes:
            changed = f" · revised, {counted(len(view.changes), 'change')}: " + "; ".join(str(c) for c in view.changes)
            note = f"Consensus revised: {counted(len(view.changes), 'change')}"
        else:
            changed, note = " · nothing changed", "Consensus recorded again: nothing changed"
        self._status(self._headed(f"consensus recorded · overall: {overall}{changed}"))
        self.notify(note, markup=False)

    def on_service_failed(self, message: msg.ServiceFailed) -> None:
        """Say why the service refused (the message it gave)."""
        if message.what == "consensus":
            self.saving = False
        self.notify(message.error, severity="error", markup=False)
        self._status(message.error)

    @on(DataTable.RowSelected, "#consensus-items")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self._settle(str(event.row_key.value))

    @on(DataTable.RowHighlighted, "#consensus-items")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_support(str(event.row_key.value))

    # -- actions -------------------------------------------------------------------------------------

    def action_settle(self) -> None:
        """Settle the highlighted item (enter)."""
        key = self._current()
        if key is not None:
            self._settle(key)

    def action_save(self) -> None:
        """Record the consensus: agreed answers, the settled ones and the overrides."""
        if not self.loaded or self.saving:
            return
        open_items = [k.split(":", 1)[1] for k in self.items if self._is_answer(k) and
                      k.split(":", 1)[1] not in self.answers and k.split(":", 1)[1] not in self.recorded_answers]
        open_items += sorted(k for k in self.to_decide if k not in self.overrides and k not in self.recorded_overrides)
        if open_items:
            self.notify(f"Not settled yet: {', '.join(open_items)} (the service decides whether that is enough)",
                        severity="warning", markup=False)
        self.saving = True
        self._status("Saving the consensus…")
        self._save(dict(self.answers), dict(self.overrides), self.co_signer)

    def action_overall(self) -> None:
        """Judge the overall (X): RoB 2's choice whether several Some concerns amount to High, or an override."""
        if self.loaded:
            self._settle("domain:overall")

    def action_co_signer(self) -> None:
        """Name the other assessor, when an assessor (not a lead or adjudicator) records the consensus."""
        def named(name: str | None) -> None:
            if name is not None:
                self.co_signer = name.strip() or None
                self.notify(f"Co-signer: {self.co_signer}" if self.co_signer else "No co-signer", markup=False)

        self.app.push_screen(TextPromptModal("Co-signer: the other assessor recording this consensus with you",
                                             value=self.co_signer or ""), named)

    def action_back(self) -> None:
        """Back to the RoB screen."""
        self.dismiss(None)

    # -- helpers -------------------------------------------------------------------------------------

    def _is_answer(self, key: str) -> bool:
        """RoB 2 questions and RoB 1 domains are answered; RoB 2 domains and any overall are overridden."""
        level, name = key.split(":", 1)
        return level == "question" or (self.tool == "rob1" and name != "overall")

    def _current(self) -> str | None:
        table = self.query_one("#consensus-items", DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _settle(self, key: str) -> None:
        values = self.items.get(key, {})
        name = key.split(":", 1)[1]
        if self._is_answer(key):
            codes = list(ROB1_KEYS.values() if self.tool == "rob1" else ROB2_KEYS.values())
            # The consensus stores answers, not notes: nothing to type for an answer.
            text_label, required = None, []
            title = f"Consensus {'judgement' if self.tool == 'rob1' else 'answer'} for {name}"
        else:
            codes = ["low", "unclear", "high"] if self.tool == "rob1" else ["low", "some_concerns", "high"]
            if name in self.to_decide or name in self.carried:
                # An assessor overrode the proposal (or both did, alike): leaving it to the answers would
                # drop that; the service refuses it, so each judgement here is an explicit one with its reason.
                text_label, required = "Justification (required: an assessor overrode this judgement)", codes
                title = (f"Consensus judgement for {name} (the assessors differ and one overrode the proposal)"
                         if name in self.to_decide else
                         f"Consensus judgement for {name} (both assessors judged it so, with a reason)")
            else:
                codes.append("accept")
                text_label, required = "Justification (required to override)", codes[:-1]
                title = f"Consensus judgement for {name} (accept: what the answers give)"
        labels = []
        for code in codes:
            who = [a + (f": {_quoted(note)}" if (note := self._basis(key, a)) else "")
                   for a in self.assessors if values.get(a) == code]
            shown = "Accept the algorithm's judgement" if code == "accept" else _shown(code)
            labels.append(f"{shown} — {'; '.join(who)}" if who else shown)

        def chosen(choice: Choice | None) -> None:
            if choice is None:
                return
            self.items.setdefault(key, {})  # the overall (X) may be judged without a disagreement
            if self._is_answer(key):
                self.answers[name] = choice.option
            elif choice.option == "accept":
                if name in self.recorded_overrides:
                    self.overrides[name] = ("accept", "")  # take back the recorded judgement
                else:
                    self.overrides.pop(name, None)
            else:
                self.overrides[name] = (choice.option, choice.text or "")
            self._render_items()

        self.app.push_screen(ChoiceModal(title, codes, labels=labels, text_label=text_label,
                                         text_required_for=required,
                                         text=self.overrides.get(name, self.recorded_overrides.get(name, ("", "")))[1]),
                            chosen)

    def _render_items(self) -> None:
        table = self.query_one("#consensus-items", FittedTable)
        keep = self._current()
        table.clear(columns=True)
        table.squeeze(_column(a) for a in self.assessors)
        table.add_column("Item")
        for assessor in self.assessors:
            table.add_column(assessor, key=_column(assessor))
        table.add_column("Consensus")
        for key, values in self.items.items():
            level, name = key.split(":", 1)
            if self._is_answer(key):
                settled = (_shown(self.answers[name]) if name in self.answers else
                           f"{_shown(self.recorded_answers[name])} (recorded)" if name in self.recorded_answers
                           else "(to settle)")
            else:
                over = self.overrides.get(name)
                recorded = self.recorded_overrides.get(name)
                settled = ("(from the answers)" if over and over[0] == "accept" else
                           f"{_shown(over[0])} (override)" if over else
                           f"{_shown(recorded[0])} (recorded)" if recorded else
                           "(to decide)" if name in self.to_decide else "(from the answers)")
            label = name if level == "question" else f"{name} (judgement)"
            table.add_row(label, *(self._value(key, values, a) for a in self.assessors), settled, key=key)
        keys = list(self.items)
        if keep in keys:
            table.move_cursor(row=keys.index(keep))
        self._show_support(self._current())

    def _value(self, key: str, values: dict[str, str | None], assessor: str) -> Text:
        """An assessor's answer or judgement as shown; one recorded with a reason says so (the panel under
        the table shows it); an answer with a support is followed by it, cut to the column's width."""
        name = key.split(":", 1)[1]
        shown = _shown(values.get(assessor))
        if (name, assessor) in self.reasons:
            return clipped(f"{shown} (with reason)")
        support = self.supports.get((key, assessor))
        return clipped(f"{shown} · {' '.join(support.split())}" if support else shown)

    def _basis(self, key: str, assessor: str) -> str | None:
        """What an assessor based an item on: the support of an answer, the reason of a judgement."""
        return self.supports.get((key, assessor)) or self.reasons.get((key.split(":", 1)[1], assessor))

    def _show_support(self, key: str | None) -> None:
        """Under the table, the highlighted item's supports (or reasons) in full, one assessor a line;
        the panel is there only while some item has one."""
        box = self.query_one("#consensus-support-box")
        box.display = any(self._basis(k, a) for k in self.items for a in self.assessors)
        if key is None or not box.display:
            return
        level, name = key.split(":", 1)
        values = self.items.get(key, {})
        # RoB 1's domains are answered with their judgement, as RoB 2's domains are judged
        what = (f"the answer to {name}" if level == "question" else
                "the overall judgement" if name == "overall" else f"the judgement of {name}")
        # A grid: each text wraps in its own column, under itself rather than under the names.
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1)
        for a in self.assessors:
            basis = self._basis(key, a)
            grid.add_row(plain(f"{a} ({_shown(values.get(a))}):"),
                         plain(basis) if basis else plain("none written", style="dim"))
        self.query_one("#consensus-support", Static).update(
            Group(plain(f"What each assessor based {what} on:", style="bold"), grid))
        box.scroll_home(animate=False)

    def _recorded(self, view: AssessmentView | None) -> None:
        """Take what the consensus holds as the starting point shown (nothing recorded yet: none)."""
        self.revising = view is not None
        self.recorded_answers = dict(view.answers) if view is not None else {}
        self.recorded_overrides = ({d.key: (d.final, d.justification) for d in (*view.domains, view.overall)
                                    if d.chosen and d.final} if view is not None else {})

    def _revising_note(self) -> str:
        return (" · revising the consensus recorded before: its answers and judgements stand unless settled "
                "again" if self.revising else "")

    def _headed(self, rest: str) -> Content:
        """The status line: the study in bold, the outcome, then `rest`, each shown as it is."""
        return marked("[b]$label[/b] · $outcome · $rest", label=self.label, outcome=self.outcome or "(no outcome)",
                      rest=rest)

    def _status(self, text: str | Content) -> None:
        """A str as it is (the service's message may quote a name); Content for our own markup around it."""
        self.query_one("#consensus-status", Static).update(text)


def _column(assessor: str) -> str:
    """An assessor's column key (apart from the Item and Consensus columns, whatever the name)."""
    return f"by:{assessor}"


def _quoted(text: str) -> str:
    """A support or reason on one line, cut at a word to about CHOICE_QUOTE characters."""
    return textwrap.shorten(text, CHOICE_QUOTE, placeholder=" …")
