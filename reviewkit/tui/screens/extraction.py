"""Provides the extraction screen: a keyboard-driven form per study (study fields, arms, the outcome grid, prefill)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Label, Static

from reviewkit.services import extract
from reviewkit.services.extract import STAT_FIELDS, check_value
from reviewkit.services.project import Review
from reviewkit.tui.extraction_grid import KEY_COLUMNS, GridRow, grid_rows
from reviewkit.tui.screens.extraction_work import ExtractionWork
from reviewkit.tui.widgets.cell_editor import CellEditor
from reviewkit.tui.widgets.fitted_table import FittedTable, clipped
from reviewkit.wording import counted


class ExtractionScreen(ExtractionWork):
    """One extractor's form for a study: values are checked as typed and stored (enter) through the service
    (the loading, saving and the flows ending in a save are ExtractionWork's)."""

    # Escape first cancels an edit (only while a study field's input or the cell editor has focus, see
    # check_action), and leaves the screen otherwise. f, g, s and r are named in the help and the form's
    # headings (f: the status line) rather than in the footer, which then keeps Help and Quit on an
    # 80-column terminal.
    # While an input has focus it takes every letter (a, c, p, ? and q too), so the footer then shows
    # the keys that still work there instead: enter, escape, tab and ctrl+q. enter and ctrl+q are
    # priority bindings only so that the footer shows them rather than the input's and the app's
    # hidden ones; they do what those would.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "save_edit", "Save", priority=True),
        Binding("a", "add_arm", "Add arm"),
        Binding("c", "convert", "Derive SD"),
        Binding("p", "prefill", "Prefill"),
        Binding("g", "focus_grid", "Grid", show=False),
        Binding("s", "focus_studies", "Studies", show=False),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("f", "finish", "Finish my extraction", show=False),
        Binding("x", "remove_arm", "Remove the highlighted arm", show=False),
        Binding("escape", "cancel_edit", "Cancel edit"),
        Binding("escape", "back", "Dashboard"),
        # This screen's tab replaces Screen's: the first is shown in a study field, the second works elsewhere.
        Binding("tab", "next_field", "Next field"),
        Binding("tab", "app.focus_next", "Focus Next", show=False),
        Binding("ctrl+q", "quit_edit", "Quit", priority=True),
    ]

    #: Below this width the study fields' labels, inputs and problem lines stack (see DEFAULT_CSS):
    #: side by side they need the 34-column study list + 30 + 24 + about 30 for a problem.
    STACK_BELOW = 120
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (STACK_BELOW, "-wide")]

    DEFAULT_CSS = """
    ExtractionScreen #extraction-body { height: 1fr; }
    ExtractionScreen #study-list { width: 34; height: 1fr; }
    ExtractionScreen #extraction-form { width: 1fr; height: 1fr; }
    ExtractionScreen .extraction-section { text-style: bold; margin-top: 1; }
    ExtractionScreen .extraction-field { height: 3; }
    ExtractionScreen .field-name { width: 30; padding: 1 1; }
    ExtractionScreen .extraction-field Input { width: 24; }
    ExtractionScreen .field-problem { width: 1fr; color: $error; padding: 1 1; }
    /* Narrow (an 80-column terminal): each study field's label above its input, its problem line
       under it, all as wide as the form; the cell editor likewise. */
    ExtractionScreen.-narrow .extraction-section { width: 1fr; }
    ExtractionScreen.-narrow .extraction-field { layout: vertical; height: auto; }
    ExtractionScreen.-narrow .field-name { width: 1fr; padding: 0 1; }
    ExtractionScreen.-narrow .extraction-field Input { width: 1fr; }
    ExtractionScreen.-narrow .field-problem { height: auto; min-height: 1; padding: 0 1; }
    ExtractionScreen.-narrow CellEditor { layout: vertical; height: auto; }
    ExtractionScreen.-narrow CellEditor #cell-label { width: 1fr; height: auto; min-height: 1; padding: 0 1; }
    ExtractionScreen.-narrow CellEditor #cell-input { width: 1fr; }
    ExtractionScreen.-narrow CellEditor #cell-problem { height: auto; min-height: 1; padding: 0 1; }
    ExtractionScreen #arm-table { height: auto; max-height: 8; }
    ExtractionScreen #grid { height: 16; }
    ExtractionScreen #prefill-status { color: $accent; }
    """

    def __init__(self, review: Review, reviewer: str | None) -> None:
        super().__init__(review, reviewer)
        self.rows: list[GridRow] = []
        #: The grid cell being edited: (row, statistic).
        self.editing: tuple[GridRow, str] | None = None
        self._shown: int | None = None
        #: Each study field's value as last read from the database: a reload changes only the boxes still
        #: showing it, not one the extractor is typing in or whose change is still on its way.
        self._read: dict[str, str] = {}
        #: What the last change stored (or why it was refused): kept in the status line after the
        #: form reloads, until the next edit or another study, so a save is seen to have happened.
        self._note = ""

    def compose(self) -> ComposeResult:
        """Status line, the study list, and the form."""
        yield Header()
        # The form's texts are the protocol's, the study's and the services' (which quote what was typed):
        # each is shown as it is, never read as markup.
        yield Static("Loading studies…", id="extraction-status", markup=False)
        with Horizontal(id="extraction-body"):
            # The NCT id before the title: titles of one programme's trials often differ only at
            # their end, which a 34-column list cuts off.
            studies = FittedTable(id="study-list", cursor_type="row", squeeze=["study"])
            studies.add_columns("ID", "NCT")
            studies.add_column("Study", key="study")
            yield studies
            # Not focusable itself: tab from the study list goes to the first study field, where the
            # letters are typed, rather than to the container, where a, c and p start actions.
            with VerticalScroll(id="extraction-form", can_focus=False):
                yield Label("Study fields (enter: save; esc: cancel)", classes="extraction-section")
                for f in self.review.protocol.extraction.fields:
                    with Horizontal(classes="extraction-field"):
                        yield Label(f"{f.label or f.name}{f' ({f.unit})' if f.unit else ''}", classes="field-name",
                                    markup=False)
                        yield Input(id=f"field-{f.name}", placeholder=f.type)
                        yield Static("", id=f"problem-{f.name}", classes="field-problem", markup=False)
                yield Label("Arms (a: add or change, x: remove)", classes="extraction-section")
                arms = FittedTable(id="arm-table", cursor_type="row")
                arms.add_columns("Arm", "Intervention", "Dose", "Co-intervention", "N",
                                 *(f.name for f in self.review.protocol.extraction.arm_fields))
                yield arms
                yield Label("Outcomes (g: go here; enter: edit a cell, esc: cancel; c: derive SD; ≈ derived)",
                            classes="extraction-section")
                grid = FittedTable(id="grid", cursor_type="cell")
                grid.add_columns(*KEY_COLUMNS, *STAT_FIELDS)
                yield grid
                yield CellEditor(id="cell-editor")
                yield Static("", id="prefill-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Load the studies."""
        self.sub_title = f"Extraction — {self.reviewer or 'no reviewer'}"
        self._load_studies()

    # --- handlers ------------------------------------------------------------------------------------

    def on_extraction_work_studies_loaded(self, message: ExtractionWork.StudiesLoaded) -> None:
        """List the studies and open the first (or the one open before)."""
        self.studies = message.studies
        table = self.query_one("#study-list", DataTable)
        table.clear()
        for s in self.studies:
            # ✓: the reviewer's own extraction of it is finished.
            table.add_row(f"{s.id}{' ✓' if s.mine_finished else ''}", s.nct_id or "", clipped(s.label), key=str(s.id))
        if not self.studies:
            self._status("No studies yet: add them on the studies screen (t on the dashboard, then a) or with "
                         "`reviewkit extract add-study`.")
            return
        if self.study_id is None:
            self.study_id = self.studies[0].id
        self._load_form(self.study_id)

    def on_extraction_work_form_loaded(self, message: ExtractionWork.FormLoaded) -> None:
        """Fill the form: study fields, arms, the grid, and what the registry offers."""
        form = message.form
        if form.study.id != self.study_id:
            return
        self.form = form
        values = form.study_fields()
        # Reloading after a save keeps the "saved"/problem notes; another study starts clean.
        fresh = form.study.id != self._shown
        self._shown = form.study.id
        if fresh:
            self._note = ""
            self.prefill = None
            self.query_one("#prefill-status", Static).update("")
            self._load_prefill(form.study.id)
        self._show_status()
        for f in self.review.protocol.extraction.fields:
            box, stored = self.query_one(f"#field-{f.name}", Input), values.get(f.name) or ""
            if fresh or box.value == self._read.get(f.name, ""):
                box.value = stored
            self._read[f.name] = stored
            if fresh:
                self.query_one(f"#problem-{f.name}", Static).update("")
        arms = self.query_one("#arm-table", DataTable)
        arms.clear()
        for a in form.arms:
            arms.add_row(a.label, a.intervention, a.dose, a.co_intervention,
                         "" if a.n_randomised is None else str(a.n_randomised),
                         *(a.fields.get(f.name, "") for f in self.review.protocol.extraction.arm_fields))
        grid = self.query_one("#grid", DataTable)
        cursor = grid.cursor_coordinate
        grid.clear()
        self.rows = grid_rows(self.review.protocol, form)
        for row in self.rows:
            grid.add_row(row.arm, row.outcome, row.timepoint, *row.cells)
        if self.rows:
            grid.move_cursor(row=min(cursor.row, len(self.rows) - 1), column=cursor.column)

    def on_extraction_work_prefill_loaded(self, message: ExtractionWork.PrefillLoaded) -> None:
        """Say what the registry offers for the study shown."""
        if message.study_id != self.study_id:
            return
        self.prefill = prefill = message.prefill
        self.query_one("#prefill-status", Static).update(
            f"Registry {prefill.nct_id} has posted results: {counted(len(prefill.arms), 'arm')}, "
            f"{counted(len(prefill.measures), 'measure')} — p to review and confirm" if prefill else "")

    def on_extraction_work_saved(self, message: ExtractionWork.Saved) -> None:
        """Confirm (the note stays in the status line after the reload) and reload the form."""
        self._writes.done()
        self._note = f"✓ {message.note}"
        self._show_status()
        if message.target.startswith("field-"):
            self.query_one(f"#problem-{message.target.removeprefix('field-')}", Static).update("✓ saved")
        if self.study_id is not None:
            self._load_form(self.study_id)

    def on_extraction_work_finished(self, message: ExtractionWork.Finished) -> None:
        """Confirm (a notice, and the status line after the reload) and reload the list and the form."""
        self._writes.done()
        self._note = f"✓ {message.note}"
        self._show_status()
        self.notify(message.note, markup=False)
        self._load_studies()

    def on_extraction_work_failed(self, message: ExtractionWork.Failed) -> None:
        """Show why the service refused, next to the value when there is one."""
        if message.write:
            self._writes.done(failed=True)
        if message.target.startswith("field-"):
            self.query_one(f"#problem-{message.target.removeprefix('field-')}", Static).update(message.error)
        elif message.target == "cell":
            self.query_one(CellEditor).problem(message.error)
        else:
            self._status(message.error)
        self.notify(message.error, severity="error", markup=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Open the chosen study."""
        if event.data_table.id == "study-list" and event.row_key.value is not None:
            self.study_id = int(event.row_key.value)
            self._load_form(self.study_id)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        """Edit the chosen statistic in the cell editor."""
        if event.data_table.id != "grid" or not self.rows:
            return
        column = event.coordinate.column - len(KEY_COLUMNS)
        if column < 0:
            return
        row, field = self.rows[event.coordinate.row], STAT_FIELDS[column]
        if not row.allows(field):
            self.notify(f"{field} is not a statistic of a {row.outcome_type} outcome", severity="warning", markup=False)
            return
        self.editing = (row, field)
        self._note = ""  # a new edit: the last save's note has been seen
        self._show_status()
        current = self.form.stats(row.arm, row.outcome, row.timepoint) if self.form else {}
        self.query_one(CellEditor).open(f"{row.arm} · {row.outcome} · {row.timepoint} · {field}",
                                        current.get(field) or "")

    @on(Input.Changed)
    def _check(self, event: Input.Changed) -> None:
        """Validate as typed (pure checks, no database); the service checks again on enter."""
        problem = self._problems(event.input.id or "", event.value)
        if problem is None:
            return
        target = "#cell-problem" if event.input.id == "cell-input" else f"#problem-{(event.input.id or '')[6:]}"
        self.query_one(target, Static).update(problem)

    def _problems(self, input_id: str, text: str) -> str | None:
        protocol = self.review.protocol
        if input_id.startswith("field-"):
            _, _, problems = check_value(protocol, input_id.removeprefix("field-"), text)
        elif input_id == "cell-input" and self.editing and self.form:
            row, field = self.editing
            _, _, problems = check_value(protocol, field, text, arm=row.arm, outcome=row.outcome,
                                         timepoint=row.timepoint,
                                         current=self.form.stats(row.arm, row.outcome, row.timepoint))
        else:
            return None
        return "; ".join(f"{p.field}: {p.reason}" for p in problems)

    @on(Input.Submitted)
    def _commit(self, event: Input.Submitted) -> None:
        """Store the value through the service (in a worker)."""
        sid, who, value = self.study_id, self.reviewer, event.value
        if sid is None:
            return
        input_id = event.input.id or ""
        if input_id.startswith("field-"):
            name = input_id.removeprefix("field-")
            self._save(input_id, f"{name} saved",
                       lambda: extract.set_value(self.review, who, sid, name, value))
        elif input_id == "cell-input" and self.editing:
            row, field = self.editing
            self._save("cell", f"{row.arm} {row.outcome} {field} saved", lambda: extract.set_value(
                self.review, who, sid, field, value, arm=row.arm, outcome=row.outcome, timepoint=row.timepoint))
            self.query_one("#grid", DataTable).focus()

    # --- actions -----------------------------------------------------------------------------------

    def action_convert(self) -> None:
        """Derive the SD (or mean and SD) of the grid row's arm from SE, CI (asking its level) or median with
        IQR/range."""
        grid = self.query_one("#grid", DataTable)
        if self.study_id is None or not self.rows:
            return
        row = self.rows[grid.cursor_row]
        self._derive_sd(row.arm, row.outcome, row.timepoint)

    def action_focus_grid(self) -> None:
        """Move to the outcome grid."""
        self.query_one("#grid", DataTable).focus()

    def action_focus_studies(self) -> None:
        """Move to the study list."""
        self.query_one("#study-list", DataTable).focus()

    def action_refresh(self) -> None:
        """Reload the studies and the form."""
        self._load_studies()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Escape cancels an edit while a study field's input or the cell editor has focus, and leaves
        the screen otherwise (a disabled binding passes the key on to the next binding for it); enter,
        ctrl+q and (in a study field) tab are the editing bindings only then, so that the footer shows them."""
        if action in ("cancel_edit", "save_edit", "quit_edit"):
            return self._edited() is not None
        if action == "next_field":
            return self.focused is not None and (self.focused.id or "").startswith("field-")
        if action == "back":
            return self._edited() is None
        return True

    async def action_save_edit(self) -> None:
        """Store what is typed: what the input's own enter does (its Submitted message is handled by _commit)."""
        edited = self._edited()
        if edited is not None:
            await edited.action_submit()

    def action_next_field(self) -> None:
        """On to the next study field (after the last, the arm table)."""
        self.app.action_focus_next()

    async def action_quit_edit(self) -> None:
        """Quit the app: what ctrl+q does everywhere, shown in the footer while typing hides q."""
        await self.app.action_quit()

    def action_cancel_edit(self) -> None:
        """Drop what was typed (a study field gets its stored value back, the cell editor empties) and
        go back to the grid; a second escape then leaves the screen."""
        edited = self._edited()
        if edited is not None and edited.id != "cell-input":
            # Its problem line follows: the restored value is checked again like any change.
            stored = self.form.study_fields() if self.form else {}
            edited.value = stored.get((edited.id or "").removeprefix("field-")) or ""
        else:
            self.editing = None
            self.query_one(CellEditor).close()
        self.query_one("#grid", DataTable).focus()

    def action_back(self) -> None:
        """Back to the dashboard, once the changes made are stored."""
        self._writes.leave()

    def _edited(self) -> Input | None:
        """The study field's input or the cell editor's that has focus (None: nothing is being edited)."""
        # Textual refreshes the footer on every focus change, so its escape follows this too.
        focused = self.focused
        if isinstance(focused, Input) and (focused.id == "cell-input" or (focused.id or "").startswith("field-")):
            return focused
        return None

    def _show_status(self) -> None:
        """The study shown and who extracts it, then the last change's note."""
        form = self.form
        head = f"{form.study.label} {form.study.nct_id or ''} — extractor {form.extractor}" if form else ""
        if form and form.finished:
            head += " — finished"
        elif form and not form.consensus and (form.arms or form.values):  # f finishes what has been entered
            head += " — open (f: finish)"
        if form and not next((s.included for s in self.studies if s.id == form.study.id), True):
            # Extraction may start early, but the reviewer should know the study is not in yet.
            head += " — not included at full text (yet)"
        self._status(f"{head} · {self._note}" if head and self._note else head or self._note)

    def _status(self, text: str) -> None:
        self.query_one("#extraction-status", Static).update(text)
