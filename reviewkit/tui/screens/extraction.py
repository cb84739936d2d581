"""Provides the extraction screen: a keyboard-driven form per study (study fields, arms, the outcome grid, prefill)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Label, Static

from reviewkit.errors import ReviewkitError
from reviewkit.services import extract
from reviewkit.services.extract import STAT_FIELDS, StudyForm, StudyView, check_value
from reviewkit.services.extract_convert import convert
from reviewkit.services.prefill import Prefill, confirm_arms, confirm_measure, registry_prefill
from reviewkit.services.project import Review
from reviewkit.tui.extraction_grid import KEY_COLUMNS, GridRow, grid_rows, parse_arm_line
from reviewkit.tui.modals.choice import Choice, ChoiceModal
from reviewkit.tui.modals.text_prompt import TextPromptModal
from reviewkit.tui.widgets.cell_editor import CellEditor
from reviewkit.tui.widgets.fitted_table import FittedTable, clipped


class ExtractionScreen(Screen[None]):
    """One extractor's form for a study: values are checked as typed and stored (enter) through the service."""

    # Escape first cancels a cell edit (only while the cell editor has focus, see check_action), and
    # leaves the screen otherwise. g, s and r are named in the help and the form's headings rather
    # than in the footer, which then keeps Help and Quit on an 80-column terminal.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add_arm", "Add arm"),
        Binding("c", "convert", "Derive SD"),
        Binding("p", "prefill", "Prefill"),
        Binding("g", "focus_grid", "Grid", show=False),
        Binding("s", "focus_studies", "Studies", show=False),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("escape", "cancel_edit", "Cancel edit"),
        Binding("escape", "back", "Dashboard"),
    ]

    DEFAULT_CSS = """
    ExtractionScreen #extraction-body { height: 1fr; }
    ExtractionScreen #study-list { width: 34; height: 1fr; }
    ExtractionScreen #extraction-form { width: 1fr; height: 1fr; }
    ExtractionScreen .extraction-section { text-style: bold; margin-top: 1; }
    ExtractionScreen .extraction-field { height: 3; }
    ExtractionScreen .field-name { width: 30; padding: 1 1; }
    ExtractionScreen .extraction-field Input { width: 24; }
    ExtractionScreen .field-problem { width: 1fr; color: $error; padding: 1 1; }
    ExtractionScreen #arm-table { height: auto; max-height: 8; }
    ExtractionScreen #grid { height: 16; }
    ExtractionScreen #prefill-status { color: $accent; }
    """

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

    class Failed(Message):
        """The service refused; `target` is where to show why (a field's problem line or the status)."""

        def __init__(self, target: str, error: str) -> None:
            super().__init__()
            self.target = target
            self.error = error

    def __init__(self, review: Review, reviewer: str | None) -> None:
        super().__init__()
        self.review = review
        self.reviewer = reviewer
        self.studies: list[StudyView] = []
        self.study_id: int | None = None
        self.form: StudyForm | None = None
        self.prefill: Prefill | None = None
        self.rows: list[GridRow] = []
        #: The grid cell being edited: (row, statistic).
        self.editing: tuple[GridRow, str] | None = None
        self._shown: int | None = None
        #: What the last change stored (or why it was refused): kept in the status line after the
        #: form reloads, until the next edit or another study, so a save is seen to have happened.
        self._note = ""

    def compose(self) -> ComposeResult:
        """Status line, the study list, and the form."""
        yield Header()
        yield Static("Loading studies…", id="extraction-status")
        with Horizontal(id="extraction-body"):
            # The NCT id before the title: titles of one programme's trials often differ only at
            # their end, which a 34-column list cuts off.
            studies = FittedTable(id="study-list", cursor_type="row", squeeze=["study"])
            studies.add_columns("ID", "NCT")
            studies.add_column("Study", key="study")
            yield studies
            with VerticalScroll(id="extraction-form"):
                yield Label("Study fields", classes="extraction-section")
                for f in self.review.protocol.extraction.fields:
                    with Horizontal(classes="extraction-field"):
                        yield Label(f"{f.label or f.name}{f' ({f.unit})' if f.unit else ''}", classes="field-name")
                        yield Input(id=f"field-{f.name}", placeholder=f.type)
                        yield Static("", id=f"problem-{f.name}", classes="field-problem")
                yield Label("Arms (a: add)", classes="extraction-section")
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
                yield Static("", id="prefill-status")
        yield Footer()

    def on_mount(self) -> None:
        """Load the studies."""
        self.sub_title = f"Extraction — {self.reviewer or 'no reviewer'}"
        self._load_studies()

    # --- workers: one service call each, results posted back --------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="extraction-studies")
    def _load_studies(self) -> None:
        self.post_message(self.StudiesLoaded(extract.list_studies(self.review)))

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

    @work(thread=True, exclusive=True, exit_on_error=False, group="extraction-save")
    def _save(self, target: str, note: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except ReviewkitError as exc:
            self.post_message(self.Failed(target, exc.message))
            return
        self.post_message(self.Saved(target, note))

    # --- handlers ------------------------------------------------------------------------------------

    def on_extraction_screen_studies_loaded(self, message: StudiesLoaded) -> None:
        """List the studies and open the first (or the one open before)."""
        self.studies = message.studies
        table = self.query_one("#study-list", DataTable)
        table.clear()
        for s in self.studies:
            table.add_row(str(s.id), s.nct_id or "", clipped(s.label), key=str(s.id))
        if not self.studies:
            self._status("No studies yet: add them with `reviewkit extract add-study`.")
            return
        if self.study_id is None:
            self.study_id = self.studies[0].id
        self._load_form(self.study_id)

    def on_extraction_screen_form_loaded(self, message: FormLoaded) -> None:
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
            self.query_one(f"#field-{f.name}", Input).value = values.get(f.name) or ""
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

    def on_extraction_screen_prefill_loaded(self, message: PrefillLoaded) -> None:
        """Say what the registry offers for the study shown."""
        if message.study_id != self.study_id:
            return
        self.prefill = prefill = message.prefill
        self.query_one("#prefill-status", Static).update(
            f"Registry {prefill.nct_id} has posted results: {len(prefill.arms)} arms, "
            f"{len(prefill.measures)} measures — p to review and confirm" if prefill else "")

    def on_extraction_screen_saved(self, message: Saved) -> None:
        """Confirm (the note stays in the status line after the reload) and reload the form."""
        self._note = f"✓ {message.note}"
        self._show_status()
        if message.target.startswith("field-"):
            self.query_one(f"#problem-{message.target.removeprefix('field-')}", Static).update("✓ saved")
        if self.study_id is not None:
            self._load_form(self.study_id)

    def on_extraction_screen_failed(self, message: Failed) -> None:
        """Show why the service refused, next to the value when there is one."""
        if message.target.startswith("field-"):
            self.query_one(f"#problem-{message.target.removeprefix('field-')}", Static).update(message.error)
        elif message.target == "cell":
            self.query_one(CellEditor).problem(message.error)
        else:
            self._status(message.error)
        self.notify(message.error, severity="error")

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
            self.notify(f"{field} is not a statistic of a {row.outcome_type} outcome", severity="warning")
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

    def action_add_arm(self) -> None:
        """Add (or change) an arm: "label; intervention; dose; co-intervention; N; dose_mg=4"."""
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
                self.notify(str(exc), severity="error")
                return
            self._save("status", f"arm {args['label']} saved",
                       lambda: extract.set_arm(self.review, who, sid, **args))  # type: ignore[arg-type]

        hint = "; ".join(["label", "intervention", "dose", "co-intervention", "N", *(f"{n}=…" for n in names)])
        self.app.push_screen(TextPromptModal(f"Arm: {hint}", placeholder=hint), written)

    def action_convert(self) -> None:
        """Derive the SD (or mean and SD) of the grid row's arm from SE, CI or median with IQR/range."""
        grid = self.query_one("#grid", DataTable)
        if self.study_id is None or not self.rows:
            return
        row, sid, who = self.rows[grid.cursor_row], self.study_id, self.reviewer
        self._save("status", f"SD derived for {row.arm} {row.outcome}", lambda: convert(
            self.review, who, sid, arm=row.arm, outcome=row.outcome, timepoint=row.timepoint))

    def action_prefill(self) -> None:
        """Review the registry's proposals; a chosen one is stored as this extractor's (origin ctgov)."""
        prefill, sid, who = self.prefill, self.study_id, self.reviewer
        if prefill is None or sid is None:
            self.notify("No registry results for this study", severity="warning")
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
        """Escape cancels a cell edit while the cell editor has focus, and leaves the screen otherwise
        (a disabled binding passes the key on to the next binding for it)."""
        if action == "cancel_edit":
            return self._editing_cell()
        if action == "back":
            return not self._editing_cell()
        return True

    def action_cancel_edit(self) -> None:
        """Drop what was typed in the cell editor and go back to the cell in the grid."""
        self.editing = None
        self.query_one(CellEditor).close()
        self.query_one("#grid", DataTable).focus()

    def action_back(self) -> None:
        """Back to the dashboard."""
        self.dismiss(None)

    def _editing_cell(self) -> bool:
        # Textual refreshes the footer on every focus change, so its escape follows this too.
        return self.editing is not None and self.query_one(CellEditor).input.has_focus

    def _show_status(self) -> None:
        """The study shown and who extracts it, then the last change's note."""
        form = self.form
        head = f"{form.study.label} {form.study.nct_id or ''} — extractor {form.extractor}" if form else ""
        if form and not next((s.included for s in self.studies if s.id == form.study.id), True):
            # Extraction may start early, but the reviewer should know the study is not in yet.
            head += " — not included at full text (yet)"
        self._status(f"{head} · {self._note}" if head and self._note else head or self._note)

    def _status(self, text: str) -> None:
        self.query_one("#extraction-status", Static).update(text)
