"""Provides what every CLI command shares: the state passed down, and turning user errors into one line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import click

from reviewkit.errors import ReviewkitError

T = TypeVar("T")


@dataclass
class CliState:
    """Global options: the review folder and who is acting."""

    review: Path
    reviewer: str | None = None


def run_guarded(fn: Callable[[], T]) -> T:
    """Run fn; a ReviewkitError becomes one red line on stderr and exit status 1, never a traceback."""
    try:
        return fn()
    except ReviewkitError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
