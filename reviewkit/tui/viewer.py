"""Provides opening a full text (a PDF path or a URL) with the system's viewer."""

from __future__ import annotations

import os
import subprocess
import sys
import webbrowser
from pathlib import Path

from reviewkit.errors import ReviewkitError


def resolve_location(location: str, folder: Path) -> str:
    """A URL as it is; a relative path taken from the review folder."""
    if "://" in location:
        return location
    path = Path(location).expanduser()
    return str(path if path.is_absolute() else folder / path)


def open_in_viewer(location: str) -> None:
    """Open a URL in the browser, a file with the desktop's default application."""
    if "://" in location:
        if not webbrowser.open(location):
            raise ReviewkitError(f"no web browser could open {location}")
        return
    if not Path(location).exists():
        raise ReviewkitError(f"no file at {location}")
    if sys.platform == "win32":
        os.startfile(location)  # type: ignore[attr-defined]  # noqa: S606 - the user's own file
        return
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    # Detached and silent: the viewer must not write over the terminal UI.
    subprocess.Popen([opener, location], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
