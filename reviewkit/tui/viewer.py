"""Provides opening a full text (a PDF path or a URL) with the system's viewer."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import webbrowser
from pathlib import Path

from reviewkit.errors import Fix, ReviewkitError
from reviewkit.services.screen_full_text import is_url, url_problem

#: The fix of a location that is wrong (no file there, a malformed URL): record it again.
CORRECT_LOCATION = Fix("full_text_status")
#: How long the opener may take to say it failed (xdg-open exits non-zero when no application takes
#: the file); past it, the viewer is taken to be open. Waited for in the screen's worker thread.
OPENER_GRACE_SECONDS = 3.0
#: xdg-open's exit statuses, as its manual gives them.
_XDG_OPEN_FAILURES = {1: "it did not understand the file's name", 2: "it found no such file",
                      3: "a program it needs is missing", 4: "no application opened it"}


def open_in_viewer(location: str) -> None:
    """Open a URL in the browser, a file with the desktop's default application.

    Refused, saying where the full text is, where it cannot be opened: a malformed URL, a missing
    file, no desktop (a terminal over SSH: a text-mode browser or viewer would take over the
    terminal the screen runs in), no opener program, or the opener's failure.
    """
    url = is_url(location)
    if url and (problem := url_problem(location)):
        raise ReviewkitError(problem, fix=CORRECT_LOCATION)
    if not url and not Path(location).exists():
        raise ReviewkitError(f"no file at {location}", fix=CORRECT_LOCATION)
    if sys.platform == "win32":
        if url:
            _open_url(location)
        else:
            os.startfile(location)  # type: ignore[attr-defined]  # noqa: S606 - the user's own file
        return
    if sys.platform != "darwin" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise ReviewkitError("no desktop here to open it in (neither DISPLAY nor WAYLAND_DISPLAY is set); "
                             f"the full text is at {location}")
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    program = shutil.which(opener)
    if program is None:
        if url:  # a desktop without xdg-open may still have a browser Python knows
            _open_url(location)
            return
        raise ReviewkitError(f"no program to open it with ({opener} is not installed); "
                             f"the full text is at {location}")
    _run_opener(program, opener, location)


def _run_opener(program: str, opener: str, location: str) -> None:
    """Start the opener detached and silent (the viewer must not write over the terminal UI), and
    report its failure if it fails at once."""
    process = subprocess.Popen(  # noqa: S603 - a fixed program, the user's own file or URL
        [program, location], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        status = process.wait(timeout=OPENER_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        return  # still running: the viewer it started is open
    if status != 0:
        why = (_XDG_OPEN_FAILURES.get(status) if opener == "xdg-open" else None) or f"exit status {status}"
        raise ReviewkitError(f"{opener} could not open it ({why}); the full text is at {location}")


def _open_url(location: str) -> None:
    if not webbrowser.open(location):
        raise ReviewkitError(f"no web browser could open {location}")
