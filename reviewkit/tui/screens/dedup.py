"""Provides the duplicates screen: uncertain pairs side by side, confirmed or rejected with single keys."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from reviewkit.errors import ReviewkitError
from reviewkit.services import dedup, dedup_undo
from reviewkit.services.dedup import DedupSummary, PairView
from reviewkit.services.dedup_refusals import MergedAlready
from reviewkit.services.project import Review
from reviewkit.tui.messages import ScreenMessage
from reviewkit.tui.widgets.dedup_pair import DedupPairView
from reviewkit.tui.write_queue import WriteQueue
from reviewkit.wording import counted

Evidence = dict[str, Any]
WriteKind = Literal["confirm", "reject", "undo"]


class _Cancelled(Exception):
    """Raised from a progress callback to stop a service when its worker was cancelled."""


@dataclass(frozen=True)
class _Write:
    """A verdict (or an undo) to store; writes run one at a time in the order they were made."""

    kind: WriteKind
    pair: PairView
    #: The pair's evidence, to show it again if the write is refused.
    evidence: Evidence


class DedupScreen(Screen[None]):
    """Check the uncertain duplicate pairs: y duplicate, n not, s skip, u undo a merge, r run dedup."""

    # Run dedup is left out of the footer (? lists it, and the empty queue says "Press r"), as is the
    # command palette (ctrl+p still opens it): with them the footer was cut at 80 columns before Help and Quit.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "verdict(True)", "Duplicate"),
        Binding("n", "verdict(False)", "Not duplicate"),
        Binding("s", "skip", "Skip"),
        Binding("u", "undo", "Undo merge"),
        Binding("r", "run_dedup", "Run dedup", show=False),
        Binding("pagedown", "scroll(1)", "Scroll down", show=False),
        Binding("pageup", "scroll(-1)", "Scroll up", show=False),
        Binding("escape", "back", "Back / cancel"),
    ]

    class QueueLoaded(ScreenMessage):
        """The pending pairs, each with its evidence."""

        def __init__(self, pairs: list[tuple[PairView, Evidence]]) -> None:
            super().__init__()
            self.pairs = pairs

    class DedupProgressed(ScreenMessage):
        """A running dedup reached `done` of `total` steps."""

        def __init__(self, done: int, total: int | None) -> None:
            super().__init__()
            self.done = done
            self.total = total

    class DedupFinished(ScreenMessage):
        """A dedup run is stored (summary None: it was cancelled or refused, with `error`)."""

        def __init__(self, summary: DedupSummary | None, error: str | None = None) -> None:
            super().__init__()
            self.summary = summary
            self.error = error

    class WriteDone(ScreenMessage):
        """A verdict or an undo is stored (or, with `error`, the service refused it)."""

        def __init__(self, write: _Write, error: str | None = None, *, settled: bool = False,
                     notes: list[str] | None = None, reopened: bool = False) -> None:
            super().__init__()
            self.write = write
            #: After an undo: the pair waits for a verdict again (its records are apart).
            self.reopened = reopened
            self.error = error
            #: Refused, or a confirmation that changed nothing, because the records are merged already: the
            #: pair has no question left (and no merge of its own to undo).
            self.settled = settled
            #: What the service says beside a stored verdict (e.g. decisions on two merged records).
            self.notes = notes or []

    def __init__(self, review: Review, reviewer: str | None = None) -> None:
        super().__init__()
        self.review = review
        self.reviewer = reviewer
        self._queue: deque[tuple[PairView, Evidence]] = deque()
        self._loaded = False
        #: Pairs confirmed here, latest last: u undoes the merge of the last one.
        self._confirmed: list[tuple[PairView, Evidence]] = []
        self._writes: WriteQueue[_Write] = WriteQueue(self._save, leave=lambda: self.dismiss(None))
        self._dedup: Worker[None] | None = None

    @property
    def write_queue(self) -> WriteQueue[_Write]:
        """The verdicts and undos not stored yet (the app waits for them before it quits)."""
        return self._writes

    def compose(self) -> ComposeResult:
        """Count line, a progress bar while dedup runs, the pair side by side."""
        yield Header()
        yield Static("", id="dedup-status", markup=False)
        yield ProgressBar(id="dedup-progress", show_eta=False)
        with VerticalScroll(id="dedup-scroll", can_focus=False):
            yield DedupPairView(id="dedup-pair")
        yield Footer(show_command_palette=False)

    @property
    def pair_view(self) -> DedupPairView:
        """The side-by-side widget."""
        return self.query_one("#dedup-pair", DedupPairView)

    @property
    def left(self) -> int:
        """Pairs still to check (the one on screen included)."""
        return len(self._queue)

    def on_mount(self) -> None:
        """Load the queue."""
        self.sub_title = "Duplicates"
        self.pair_view.show_message("Loading the pairs to check…")
        self._load_queue()

    # -- workers: each calls the dedup service and posts a message -----------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="dedup-queue")
    def _load_queue(self) -> None:
        worker = get_current_worker()
        pairs = []
        for pair in dedup.pending_pairs(self.review):
            if worker.is_cancelled:
                return
            pairs.append((pair, dedup.pair_evidence(pair)))
        self.post_message(self.QueueLoaded(pairs))

    @work(thread=True, exclusive=True, exit_on_error=False, group="dedup-run")
    def _run_dedup(self) -> None:
        worker = get_current_worker()

        def progress(done: int, total: int | None) -> None:
            # The service has no cancel of its own; raising here stops it before it writes anything.
            if worker.is_cancelled:
                raise _Cancelled
            self.post_message(self.DedupProgressed(done, total))

        try:
            summary = dedup.run_dedup(self.review, actor=self.reviewer, progress=progress)
        except _Cancelled:
            self.post_message(self.DedupFinished(None, "Dedup cancelled: nothing was changed"))
        except ReviewkitError as exc:
            self.post_message(self.DedupFinished(None, str(exc)))
        else:
            self.post_message(self.DedupFinished(summary))

    @work(thread=True, exclusive=True, exit_on_error=False, group="dedup-write")
    def _save(self, write: _Write) -> None:
        try:
            if write.kind == "undo":
                group = dedup.group_of(self.review, write.pair.a_id)
                # Both records, or the group is one record a has joined since (another merge, not this one).
                if group is None or dedup.group_of(self.review, write.pair.b_id) != group:
                    raise ReviewkitError(f"records {write.pair.a_id} and {write.pair.b_id} are not merged now")
                undone = dedup_undo.undo_merge(self.review, self.reviewer, group)
                notes = [f"records {', '.join(map(str, m))} stay merged, as before this merge took them in"
                         for m in undone.restored.values()]
                # The confirmed pair would otherwise be in neither list, merged nor waiting: it waits for a
                # verdict again (audited as a reopen), unless its records stay merged through a group brought back.
                reopened = False
                pair = {write.pair.a_id, write.pair.b_id}
                if not any(pair <= set(members) for members in undone.restored.values()):
                    try:
                        dedup.reopen_pair(self.review, self.reviewer, write.pair.id)
                        reopened = True
                    except ReviewkitError as exc:
                        notes.append(f"pair {write.pair.id} was not put back to check: {exc} "
                                     f"(reviewkit dedup reopen {write.pair.id})")
                self.post_message(self.WriteDone(write, notes=notes, reopened=reopened))
                return
            else:
                done = dedup.decide_pair(self.review, self.reviewer, write.pair.id, write.kind == "confirm")
                if not done.changed:
                    # Merged meanwhile (other pairs, another reviewer, a run): this confirmation made no
                    # merge, so u must not undo the group someone else made.
                    self.post_message(self.WriteDone(write, settled=True, notes=[
                        f"Records {done.record_a} and {done.record_b} were already merged in group "
                        f"{done.group_id}; nothing changed"]))
                    return
                self.post_message(self.WriteDone(write, notes=done.notes()))
                return
        except MergedAlready as exc:
            self.post_message(self.WriteDone(write, str(exc), settled=True))
        except ReviewkitError as exc:
            self.post_message(self.WriteDone(write, str(exc)))
        else:
            self.post_message(self.WriteDone(write))

    # -- message handlers ----------------------------------------------------------------------------

    def on_dedup_screen_queue_loaded(self, message: QueueLoaded) -> None:
        """Show the first pair."""
        # Verdicts given here but not stored yet would otherwise come back as pending.
        unsaved = {w.pair.id for w in self._writes.unsaved()}
        self._queue = deque(p for p in message.pairs if p[0].id not in unsaved)
        self._loaded = True
        self._show_current()

    def on_dedup_screen_dedup_progressed(self, message: DedupProgressed) -> None:
        """Move the progress bar."""
        self.query_one("#dedup-progress", ProgressBar).update(total=message.total, progress=message.done)

    def on_dedup_screen_dedup_finished(self, message: DedupFinished) -> None:
        """Say what the run did and show the new queue."""
        self._dedup = None
        self.query_one("#dedup-progress", ProgressBar).remove_class("running")
        if message.summary is None:
            self.notify(message.error or "Dedup stopped", severity="warning" if "cancelled" in (
                message.error or "") else "error", markup=False)
            self._show_current()
            return
        s = message.summary
        self.notify(f"{counted(s.records, 'record')}: {counted(s.groups_created, 'duplicate group')}, "
                    f"{s.records_merged} merged, {counted(s.pairs_waiting, 'pair')} to check", markup=False)
        for note in s.notes():  # what a lead should look at, as the CLI prints it
            self.notify(note, severity="warning", timeout=10, markup=False)
        self.pair_view.show_message("Loading the pairs to check…")
        self._load_queue()

    def on_dedup_screen_write_done(self, message: WriteDone) -> None:
        """Confirm an undo, or say a write was refused (its pair back on screen); start the next write."""
        write = message.write
        for note in message.notes:
            self.notify(note, severity="warning", markup=False)
        if message.settled and write.kind == "confirm":
            self._confirmed = [c for c in self._confirmed if c[0].id != write.pair.id]
        if message.error is not None:
            self.notify(f"Not saved: {message.error}", severity="error", markup=False)
            if write.kind != "undo" and not message.settled:
                self._confirmed = [c for c in self._confirmed if c[0].id != write.pair.id]
                self._queue.appendleft((write.pair, write.evidence))
                self._show_current()
        elif write.kind == "undo":
            again = " and their pair is back to check" if message.reopened else ""
            self.notify(f"Merge undone: records {write.pair.a_id} and {write.pair.b_id} count separately "
                        f"again{again}", markup=False)
            if message.reopened and all(p.id != write.pair.id for p, _ in self._queue):
                self._queue.appendleft((write.pair, write.evidence))
                self._show_current()
        self._writes.done(failed=message.error is not None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An unexpected error in a worker is shown, not swallowed."""
        if event.state != WorkerState.ERROR:
            return
        if event.worker.group == "dedup-write":
            self._writes.done(failed=True)
        elif event.worker.group == "dedup-run":
            self._dedup = None
            self.query_one("#dedup-progress", ProgressBar).remove_class("running")
        self.notify(f"{event.worker.name}: {event.worker.error}", severity="error", markup=False)

    # -- showing -------------------------------------------------------------------------------------

    def _show_current(self) -> None:
        status = self.query_one("#dedup-status", Static)
        if not self._loaded:
            return
        if not self._queue:
            self.pair_view.show_message("No pairs left to check. Press r to run dedup, escape for the dashboard.")
            status.update("0 pairs left to check")
            return
        pair, evidence = self._queue[0]
        self.pair_view.show(pair, evidence)
        self.query_one("#dedup-scroll", VerticalScroll).scroll_home(animate=False)
        status.update(f"{self.left} pair{'s' if self.left != 1 else ''} left to check · "
                      f"records {pair.a_id} and {pair.b_id} · score {pair.score:.3f}")

    # -- actions -------------------------------------------------------------------------------------

    def _current(self) -> tuple[PairView, Evidence] | None:
        if not self._queue or self.pair_view.pair_id is None:
            self.notify("No pair on screen", severity="warning", markup=False)
            return None
        return self._queue[0]

    def action_verdict(self, duplicate: bool) -> None:
        """Store the verdict on the pair on screen and show the next one at once."""
        current = self._current()
        if current is None:
            return
        self._queue.popleft()
        if duplicate:
            self._confirmed.append(current)
        self._writes.put(_Write("confirm" if duplicate else "reject", *current))
        self._show_current()

    def action_skip(self) -> None:
        """Leave the pair for later: it goes to the end of the queue."""
        if self._current() is not None:
            self._queue.rotate(-1)
            self._show_current()

    def action_undo(self) -> None:
        """Undo the merge of the last pair confirmed here (its whole group counts separately again)."""
        if not self._confirmed:
            self.notify("Nothing to undo: no pair confirmed here", severity="warning", markup=False)
            return
        self._writes.put(_Write("undo", *self._confirmed.pop()))

    def action_run_dedup(self) -> None:
        """Run dedup over all records in a worker, with a progress bar; the queue follows."""
        if self._dedup is not None:
            self.notify("Dedup is running already; escape cancels it", severity="warning", markup=False)
            return
        bar = self.query_one("#dedup-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.add_class("running")
        self._dedup = self._run_dedup()

    def action_scroll(self, pages: int) -> None:
        """Scroll a long pair."""
        scroll = self.query_one("#dedup-scroll", VerticalScroll)
        (scroll.scroll_page_down if pages > 0 else scroll.scroll_page_up)(animate=False)

    def action_back(self) -> None:
        """Cancel a running dedup; otherwise back to the dashboard once every verdict is stored."""
        if self._dedup is not None:
            self._dedup.cancel()
            self.notify("Cancelling dedup…", markup=False)
            return
        self._writes.leave()
