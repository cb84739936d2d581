"""Tests for opening a full text with the system's viewer, with a stand-in xdg-open on PATH: a path with
spaces, no desktop (a terminal over SSH), no xdg-open, xdg-open failing, a malformed URL."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from reviewkit.errors import ReviewkitError
from reviewkit.tui.viewer import CORRECT_LOCATION, open_in_viewer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xdg-open is the Linux opener")


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty PATH but for this folder, on a desktop (DISPLAY set)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return folder


def _xdg_open(bin_dir: Path, status: int) -> Path:
    """A stand-in xdg-open that writes its arguments, one a line, and exits with `status`."""
    log = bin_dir / "args.txt"
    script = bin_dir / "xdg-open"
    script.write_text(f'#!/bin/sh\nfor a in "$@"; do echo "$a" >> "{log}"; done\nexit {status}\n', encoding="utf-8")
    script.chmod(0o755)
    return log


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "full texts" / "trial 1.pdf"
    path.parent.mkdir()
    path.write_bytes(b"%PDF-1.4\n")
    return path


def test_a_path_with_spaces_reaches_the_opener_whole(bin_dir: Path, pdf: Path) -> None:
    log = _xdg_open(bin_dir, 0)
    open_in_viewer(str(pdf))
    assert log.read_text(encoding="utf-8").splitlines() == [str(pdf)]


def test_the_openers_failure_is_reported(bin_dir: Path, pdf: Path) -> None:
    """xdg-open exits 4 when no application takes the file: it was started and forgotten, so o said nothing."""
    _xdg_open(bin_dir, 4)
    with pytest.raises(ReviewkitError, match=f"xdg-open could not open it \\(no application opened it\\); "
                                             f"the full text is at {re.escape(str(pdf))}"):
        open_in_viewer(str(pdf))


def test_no_xdg_open_says_so_and_where_the_file_is(bin_dir: Path, pdf: Path) -> None:
    """It said "[Errno 2] No such file or directory: 'xdg-open'", read as the PDF being missing."""
    with pytest.raises(ReviewkitError, match=f"xdg-open is not installed\\); the full text is at {re.escape(str(pdf))}"):
        open_in_viewer(str(pdf))


def test_no_desktop_opens_nothing(bin_dir: Path, pdf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over SSH xdg-open (or a console browser for a URL) took over the terminal the screen runs in."""
    log = _xdg_open(bin_dir, 0)
    monkeypatch.delenv("DISPLAY")
    for location in (str(pdf), "https://example.org/a.pdf"):
        with pytest.raises(ReviewkitError, match=f"no desktop here to open it in.*the full text is at {re.escape(location)}"):
            open_in_viewer(location)
    assert not log.exists()


@pytest.mark.parametrize("location", ["https://", "htps://example.org/a.pdf"])
def test_a_malformed_url_is_refused_with_its_fix(bin_dir: Path, location: str) -> None:
    log = _xdg_open(bin_dir, 0)
    with pytest.raises(ReviewkitError, match="not a URL a browser can open") as caught:
        open_in_viewer(location)
    assert caught.value.fix == CORRECT_LOCATION and not log.exists()


def test_a_missing_file_is_refused_with_its_fix(bin_dir: Path, tmp_path: Path) -> None:
    _xdg_open(bin_dir, 0)
    with pytest.raises(ReviewkitError, match="no file at") as caught:
        open_in_viewer(str(tmp_path / "nowhere.pdf"))
    assert caught.value.fix == CORRECT_LOCATION
