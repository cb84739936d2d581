"""Provides the agreement screen: Cohen's kappa with its 95% CI and percentage agreement per stage and pair."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from reviewkit.domain.screening import STAGES
from reviewkit.errors import ReviewkitError
from reviewkit.services.agreement import PairAgreement, agreement_report, no_figures_text
from reviewkit.services.project import Review
from reviewkit.tui.widgets.fitted_table import FittedTable, clipped
from reviewkit.wording import counted


def agreement_cells(pair: PairAgreement) -> tuple[str, ...]:
    """One pair's row as shown: stage, reviewers, kappa, its CI, % agreement, records, why no kappa."""
    a = pair.agreement
    kappa = "—" if a.kappa is None else f"{a.kappa:.2f}"
    ci = ("—" if a.kappa_ci_lower is None or a.kappa_ci_upper is None
          else f"{a.kappa_ci_lower:.2f} to {a.kappa_ci_upper:.2f}")
    percent = "—" if a.percent_agreement is None else f"{100 * a.percent_agreement:.1f}%"
    note = a.reason or (no_ci_note(pair) if a.kappa is not None and ci == "—" else "")
    return (STAGES.get(pair.stage, pair.stage),  # type: ignore[call-overload]
            f"{pair.reviewer_a} · {pair.reviewer_b}", kappa, ci, percent, str(a.n), note)


def no_ci_note(pair: PairAgreement) -> str:
    """Why a kappa has no CI (its standard error is 0), as `reviewkit agreement` says "not estimable": the
    table showed a bare "—" beside kappa 1.00 with an empty note, as if a figure were missing."""
    a = pair.agreement
    k = len(a.table)
    if a.percent_agreement == 1:
        why = "they agreed on every record"
    elif a.percent_agreement == 0:
        why = "they disagreed on every record"
    else:
        rows = [i for i in range(k) if sum(a.table[i])]
        cols = [j for j in range(k) if sum(a.table[i][j] for i in range(k))]
        only = ((pair.reviewer_a, rows[0]) if len(rows) == 1 else (pair.reviewer_b, cols[0]) if len(cols) == 1
                else None)
        why = f"{only[0]} chose '{a.categories[only[1]]}' for every record" if only else "its standard error is 0"
    return f"95% CI not estimable: {why}"


class AgreementScreen(Screen[None]):
    """Inter-rater agreement as it stands (`reviewkit agreement` prints the same figures).

    Leads and adjudicators see every pair; a screener their own pairs, over the records whose
    blinding has ended for them (services.agreement.agreement_report decides).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "refresh", "Refresh"),
        Binding("m", "toggle_maybe", "Maybe: include / own"),
    ]

    #: Below this width the table leaves out the Note column and a line under it says the highlighted
    #: pair in full, its note too: with it, two full reviewer names pushed the agreement and the record
    #: count off an 80-column terminal.
    NARROW_BELOW = 120
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW_BELOW, "-wide")]
    DEFAULT_CSS = """
    AgreementScreen #agreement-detail { display: none; height: auto; margin: 1 1 0 1; color: $text-muted; }
    AgreementScreen.-narrow #agreement-detail { display: block; }
    /* Many pairs scroll in the table, so the line under it stays on a 24-row terminal. */
    AgreementScreen.-narrow #agreement-pairs { max-height: 70%; }
    """

    class Loaded(Message):
        """Posted by the worker with every pair's agreement (or the service's refusal)."""

        def __init__(self, pairs: list[PairAgreement], error: str = "", empty: str = "") -> None:
            super().__init__()
            self.pairs = pairs
            self.error = error
            #: What to say when there is no pair (it depends on the viewer's roles; see no_figures_text).
            self.empty = empty

    def __init__(self, review: Review, reviewer: str | None) -> None:
        super().__init__()
        self.review = review
        self.reviewer = reviewer
        self.pairs: list[PairAgreement] = []
        #: Whether the table has the narrow columns (no Note).
        self._narrow = False
        #: Whether a title/abstract maybe counts as its own category (`reviewkit agreement --keep-maybe`)
        #: rather than as include, which it is for where the record goes.
        self.keep_maybe = False

    def compose(self) -> ComposeResult:
        """A status line, the table of pairs, the highlighted pair in full (narrow only)."""
        yield Header()
        yield Static("Counting…", id="agreement-status", markup=False)  # or the service's refusal
        # Long reviewer names give way (cut with "…") to the figures.
        table = FittedTable(id="agreement-pairs", cursor_type="row", zebra_stripes=True, squeeze=["reviewers"])
        self._add_columns(table)
        yield table
        yield Static("", id="agreement-detail", markup=False)
        yield Footer()

    def _add_columns(self, table: FittedTable) -> None:
        table.add_column("Stage")
        table.add_column("Reviewers", key="reviewers")
        table.add_columns("Kappa", "95% CI", "Agreement", "Records")
        if not self._narrow:
            table.add_column("Note")

    def on_mount(self) -> None:
        """Count now."""
        self.sub_title = "Agreement between reviewers"
        self.action_refresh()

    def on_resize(self) -> None:
        """Across the breakpoint the table changes its columns."""
        # Screen's own resize handler, which sets the breakpoint's class, runs after this one.
        self.call_later(self._fit_width)

    def _fit_width(self) -> None:
        narrow = self.has_class("-narrow")
        if narrow != self._narrow:
            self._narrow = narrow
            table = self.query_one("#agreement-pairs", FittedTable)
            row = table.cursor_row
            table.clear(columns=True)
            self._add_columns(table)
            self._show_pairs()
            if table.row_count:
                table.move_cursor(row=min(row, table.row_count - 1))

    def action_refresh(self) -> None:
        """Recount in a worker thread."""
        self._load()

    def action_toggle_maybe(self) -> None:
        """Count a title/abstract maybe as include (the default) or as its own category, and recount:
        the figures `reviewkit agreement` and `--keep-maybe` give, on one screen."""
        self.keep_maybe = not self.keep_maybe
        self.query_one("#agreement-status", Static).update("Counting…")
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="agreement")
    def _load(self) -> None:
        try:
            pairs = agreement_report(self.review, self.reviewer, collapse_maybe=not self.keep_maybe)
            self.post_message(self.Loaded(pairs, empty="" if pairs else no_figures_text(self.review, self.reviewer)))
        except ReviewkitError as exc:
            self.post_message(self.Loaded([], str(exc)))

    def on_agreement_screen_loaded(self, message: Loaded) -> None:
        """Show each pair's figures."""
        self.pairs = message.pairs
        self._show_pairs()
        status = self.query_one("#agreement-status", Static)
        if message.error:
            status.update(f"error: {message.error}")
        elif not message.pairs:
            status.update(message.empty)
        else:
            at_ta = ("maybe as its own category at both stages" if self.keep_maybe else
                     "maybe counts as include at title/abstract; at full text, where a maybe goes to the "
                     "adjudicator, as its own category")
            status.update(f"Cohen's kappa ({at_ta}; m switches) with its 95% CI, over the records both "
                          "reviewers decided")

    def _show_pairs(self) -> None:
        table = self.query_one("#agreement-pairs", FittedTable)
        table.clear()
        for pair in self.pairs:
            stage, reviewers, *figures, note = agreement_cells(pair)
            table.add_row(stage, clipped(reviewers), *figures, *([] if self._narrow else [note]))
        self._show_detail()

    @on(DataTable.RowHighlighted, "#agreement-pairs")
    def _pair_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """The highlighted pair in full: its reviewers, its note (the narrow table leaves both out)."""
        table = self.query_one("#agreement-pairs", FittedTable)
        detail = ""
        if table.row_count and table.cursor_row < len(self.pairs):
            pair = self.pairs[table.cursor_row]
            stage, reviewers, _, _, _, _, note = agreement_cells(pair)
            detail = f"{stage} · {reviewers} · {counted(pair.agreement.n, 'record')}" + (f" · {note}" if note else "")
        self.query_one("#agreement-detail", Static).update(detail)
