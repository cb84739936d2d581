"""Provides the import prompt: a file path, an optional source name and format, returned as an ImportRequest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from reviewkit.sources.formats.detect import IMPORT_FORMATS


@dataclass(frozen=True)
class ImportRequest:
    """A file to import and, when typed, the source to credit it to; when chosen, its format (one of
    IMPORT_FORMATS' keys; None: detected from the file's content, as `reviewkit import` does without --format)."""

    path: Path
    source: str | None
    format: str | None = None


def resolve_path(text: str, base: Path) -> Path:
    """The typed path: as typed (from the working folder), or else inside the review's folder."""
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # "~name" of no user on this machine: kept as typed, it then names no file
        path = Path(text)
    if path.is_absolute() or _exists(path):
        return path
    in_review = base / path
    return in_review if _exists(in_review) else path


def _exists(path: Path) -> bool:
    # A name the system refuses (too long) raises instead of reading False; path_problem names why.
    try:
        return path.exists()
    except OSError:
        return False


def path_problem(path: Path) -> str | None:
    """Why `path` cannot be imported, naming it (None: it is a file).

    A folder was "No such file", though it is there; a name too long for the system raised its OSError
    out of the modal and closed the app.
    """
    try:
        if path.is_file():
            return None
        if path.is_dir():
            return f"{path} is a folder: type the path of the export file in it"
        if path.exists():
            return f"{path} is not a regular file (a device, a pipe or a socket)"
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return f"No such file: {path}"


class ImportFileModal(ModalScreen[ImportRequest | None]):
    """Asks for an export file's path and a source name; enter imports, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ImportFileModal { align: center middle; }
    /* No padding above or below, the hint right under the error line: with the Format choice the window
       still fits a 24-line terminal when an error wraps onto a second line. */
    ImportFileModal > Vertical { width: 80; height: auto; border: round $accent; padding: 0 2; background: $surface; }
    ImportFileModal Label { margin-top: 1; }
    ImportFileModal #import-format { width: 100%; }
    ImportFileModal #import-error { color: $error; height: auto; margin-top: 1; }
    ImportFileModal #import-hint { color: $text-muted; }
    """

    def __init__(self, base: Path, *, path: str = "", source: str = "") -> None:
        super().__init__()
        self._base = base
        self._path = path
        self._source = source

    def compose(self) -> ComposeResult:
        """Two inputs, the format's choice, a line for what is wrong, a hint."""
        with Vertical():
            yield Static("[b]Import a file[/b] (RIS, MEDLINE, PubMed XML, BibTeX, CSV, EndNote XML)")
            yield Label("File path")
            yield Input(value=self._path, placeholder="exports/embase.ris", id="import-path")
            yield Label("Source name (empty: what the file says, or PubMed for PubMed formats)")
            yield Input(value=self._source, placeholder="Embase", id="import-source")
            yield Label("Format")
            # The CLI's --format: a file whose content shows no known format is read as the one chosen here.
            yield Select([(name, key) for key, name in IMPORT_FORMATS.items()], id="import-format",
                         prompt="From the file's content", allow_blank=True)
            yield Static("", id="import-error", markup=False)  # it names the path typed
            yield Static("enter imports · escape cancels", id="import-hint")

    @on(Input.Submitted)
    def _submitted(self) -> None:
        text = self.query_one("#import-path", Input).value.strip()
        error = self.query_one("#import-error", Static)
        if not text:
            error.update("Type the path of the file to import.")
            self.query_one("#import-path", Input).focus()
            return
        path = resolve_path(text, self._base)
        if (problem := path_problem(path)) is not None:
            error.update(problem)
            self.query_one("#import-path", Input).focus()
            return
        source = self.query_one("#import-source", Input).value.strip() or None
        chosen = self.query_one("#import-format", Select).value
        self.dismiss(ImportRequest(path, source, chosen if isinstance(chosen, str) else None))

    def action_cancel(self) -> None:
        """Close without importing."""
        self.dismiss(None)
