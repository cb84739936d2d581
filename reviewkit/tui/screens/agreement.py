"""Provides the agreement screen: Cohen's kappa with its 95% CI and percentage agreement per stage and pair."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from reviewkit.domain.screening import STAGES
from reviewkit.errors import ReviewkitError
from reviewkit.services.agreement import PairAgreement, agreement_report
from reviewkit.services.project import Review
from reviewkit.tui.widgets.fitted_table import FittedTable


def agreement_cells(pair: PairAgreement) -> tuple[str, ...]:
    """One pair's row as shown: stage, reviewers, kappa, its CI, % agreement, records, why no kappa."""
    a = pair.agreement
    kappa = "—" if a.kappa is None else f"{a.kappa:.2f}"
    ci = ("—" if a.kappa_ci_lower is None or a.kappa_ci_upper is None
          else f"{a.kappa_ci_lower:.2f} to {a.kappa_ci_upper:.2f}")
    percent = "—" if a.percent_agreement is None else f"{100 * a.percent_agreement:.1f}%"
    return (STAGES.get(pair.stage, pair.stage),  # type: ignore[call-overload]
            f"{pair.reviewer_a} · {pair.reviewer_b}", kappa, ci, percent, str(a.n), a.reason)


class AgreementScreen(Screen[None]):
    """Inter-rater agreement as it stands (`reviewkit agreement` prints the same figures).

    Leads and adjudicators see every pair; a screener their own pairs, over the records whose
    blinding has ended for them (services.agreement.agreement_report decides).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "refresh", "Refresh"),
    ]

    class Loaded(Message):
        """Posted by the worker with every pair's agreement (or the service's refusal)."""

        def __init__(self, pairs: list[PairAgreement], error: str = "") -> None:
            super().__init__()
            self.pairs = pairs
            self.error = error

    def __init__(self, review: Review, reviewer: str | None) -> None:
        super().__init__()
        self.review = review
        self.reviewer = reviewer

    def compose(self) -> ComposeResult:
        """A status line and the table of pairs."""
        yield Header()
        yield Static("Counting…", id="agreement-status")
        table = FittedTable(id="agreement-pairs", cursor_type="row", zebra_stripes=True)
        table.add_columns("Stage", "Reviewers", "Kappa", "95% CI", "Agreement", "Records", "Note")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        """Count now."""
        self.sub_title = "Agreement between reviewers"
        self.action_refresh()

    def action_refresh(self) -> None:
        """Recount in a worker thread."""
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="agreement")
    def _load(self) -> None:
        try:
            self.post_message(self.Loaded(agreement_report(self.review, self.reviewer)))
        except ReviewkitError as exc:
            self.post_message(self.Loaded([], str(exc)))

    def on_agreement_screen_loaded(self, message: Loaded) -> None:
        """Show each pair's figures."""
        table = self.query_one("#agreement-pairs", FittedTable)
        table.clear()
        for pair in message.pairs:
            table.add_row(*agreement_cells(pair))
        status = self.query_one("#agreement-status", Static)
        if message.error:
            status.update(f"error: {message.error}")
        elif not message.pairs:
            status.update("No two reviewers have decided the same record yet.")
        else:
            status.update("Cohen's kappa (maybe counts as include) with its 95% CI, over the records both "
                          "reviewers decided")
