"""Provides the RoB form's read-only parts: the question rows and the live judgement panel."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from reviewkit.services.assess_form import AssessmentView, DomainView
from reviewkit.tui.plain import plain

#: Judgement code → (label, style); RoB 2 and RoB 1 codes together (they do not clash).
LABELS: dict[str, tuple[str, str]] = {
    "low": ("Low risk", "bold green"),
    "some_concerns": ("Some concerns", "bold yellow"),
    "unclear": ("Unclear risk", "bold yellow"),
    "high": ("High risk", "bold red"),
}
#: RoB 2 answer keys: the letter of the answer, "o" for PN (n is N) and "a" for NA.
ROB2_KEYS: dict[str, str] = {"y": "Y", "p": "PY", "o": "PN", "n": "N", "i": "NI", "a": "NA"}
#: RoB 1 judgement keys.
ROB1_KEYS: dict[str, str] = {"l": "low", "h": "high", "u": "unclear"}


def judgement_text(code: str | None) -> Text:
    """A judgement as coloured words; None reads "not yet judged"."""
    if code is None:
        return Text("not yet judged", style="dim")
    label, style = LABELS.get(code, (code, ""))
    return Text(label, style=style)


def key_help(tool: str) -> str:
    """The footer-line help for the answer keys of a tool."""
    keys = ROB1_KEYS if tool == "rob1" else ROB2_KEYS
    answers = " · ".join(f"[b]{k}[/b] {v}" for k, v in keys.items())
    override = "[b]x[/b] override summary" if tool == "rob1" else "[b]x[/b] override domain · [b]X[/b] overall"
    return f"{answers} · [b]s[/b] support · {override} · [b]f[/b] finish · [b]r[/b] reopen · [b]c[/b] consensus · [b]esc[/b] back"


def question_rows(view: AssessmentView) -> list[tuple[str, str, str, str, str]]:
    """One row per question that applies now: key, id, answer, question text, support."""
    return [(q.id, q.id, q.answer or "·", q.text, q.support or "") for q in view.questions]


#: Below this width the panel leaves out the domains' names (D1…D5 stay), so on an 80×24 terminal it
#: takes one line per domain and leaves the question table room.
NAMES_FROM_WIDTH = 100


def _line(table: Table, d: DomainView, name: str | None) -> None:
    verdict = judgement_text(d.final)
    if d.overridden:
        verdict.append(f"  overridden (proposed {LABELS.get(d.proposed or '', ('incomplete', ''))[0]}): "
                       f"{d.justification}", style="italic")
    elif d.final is None and d.unanswered:
        verdict.append(f"  waiting for {', '.join(d.unanswered)}", style="dim")
    # Text throughout: a rich Table reads a str as markup.
    table.add_row(plain(d.key), *([] if name is None else [plain(name)]), verdict)


def judgements_table(view: AssessmentView, *, names: bool = True) -> Table:
    """Each domain's judgement (proposed, or overridden with its reason) and the overall, as they stand;
    `names` adds each domain's name beside its key."""
    table = Table(title="Judgements", title_justify="left", expand=True, show_header=False, box=None)
    table.add_column("", width=8, no_wrap=True)
    if names:
        table.add_column("", ratio=2)
    table.add_column("", ratio=3)
    for d in view.domains:
        _line(table, d, d.name if names else None)
    _line(table, view.overall, view.overall.name if names else None)
    if view.escalation_required:
        table.add_row("", *([""] if names else []), Text(
            "Some concerns in several domains: press X to decide (High if they substantially lower "
            "confidence, else Some concerns, with a reason) before finishing", style="yellow"))
    for note in view.notes:
        table.add_row("", *([""] if names else []), Text(f"Note: {note}", style="yellow"))
    return table


class RobJudgements(Static):
    """The live judgement panel of the RoB form."""

    DEFAULT_CSS = """
    RobJudgements { height: auto; padding: 0 1; border: round $primary; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._view: AssessmentView | None = None

    def show(self, view: AssessmentView) -> None:
        """Render the view's judgements."""
        self._view = view
        self._draw()

    def on_resize(self) -> None:
        """Names in or out as the width now allows."""
        self._draw()

    def _draw(self) -> None:
        if self._view is not None:
            # Before the first layout the width is 0: draw in full, the resize that follows decides.
            self.update(judgements_table(self._view, names=not 0 < self.size.width < NAMES_FROM_WIDTH))
