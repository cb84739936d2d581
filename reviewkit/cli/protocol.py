"""Provides the `protocol` commands: check a protocol file, show the review's, replace it (leads only)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from reviewkit.cli.common import CliState, print_error, run_guarded
from reviewkit.errors import ReviewkitError
from reviewkit.protocol import PROTOCOL_FILE, load_protocol, not_utf8, parse_protocol
from reviewkit.protocol_errors import ProtocolError
from reviewkit.services.project import check_review_folder, open_review
from reviewkit.services.protocol_edit import text_sha256, update_protocol

_SHA256 = re.compile(r"[0-9a-f]{64}")


def _read(path: Path) -> str:
    """A protocol file's text as the protocol loader reads it (UTF-8, BOM removed, universal newlines)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReviewkitError("no such file", where=str(path)) from None
    except IsADirectoryError:
        raise ReviewkitError("a folder, not a protocol file", where=str(path)) from None
    except UnicodeDecodeError as exc:
        raise not_utf8(exc, path) from None
    except OSError as exc:
        # Permissions, a vanished mount…: the system's own words, naming the file.
        raise ReviewkitError(exc.strerror or str(exc), where=str(path)) from None


def _protocol_path(state: CliState) -> Path:
    """The review's review.toml; -C naming a file or no folder is refused as opening the review refuses it."""
    return check_review_folder(state.review.resolve()) / PROTOCOL_FILE


@click.group("protocol", short_help="Check, show or replace the protocol (review.toml).")
def protocol_group() -> None:
    """The protocol (review.toml): check a file, show the review's, replace it (leads only)."""


@protocol_group.command("check", short_help="Validate a protocol file (default: review.toml).")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def check(state: CliState, file: Path | None) -> None:
    """Validate FILE (default: the review's review.toml); errors name the key and its line."""
    def go() -> None:
        path = file or _protocol_path(state)
        try:
            if file is None:
                load_protocol(path)  # no review.toml here: says how to create a review
            else:
                parse_protocol(_read(file), source=str(file))  # a file named: "no such file" when it is not
        except ProtocolError as exc:
            # Every problem at once, one per line, as analyze lists a review's.
            for problem in exc.problems:
                print_error(problem)
            sys.exit(1)
        click.echo(f"OK: {path}")

    run_guarded(go)


@protocol_group.command("show", short_help="Print the protocol's path and SHA-256.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, for scripts.")
@click.pass_obj
def show(state: CliState, as_json: bool) -> None:
    """Print the protocol's path and SHA-256 (the value `protocol replace --expect` takes)."""
    def go() -> None:
        path = _protocol_path(state)
        sha = text_sha256(_read(path))
        if as_json:
            click.echo(json.dumps({"path": str(path), "sha256": sha}, indent=2))
        else:
            click.echo(f"{path}\nsha256 {sha}")

    run_guarded(go)


@protocol_group.command("replace", short_help="Replace the review's protocol (leads only).")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--expect", "expect", metavar="SHA256", default=None,
              help="Refuse unless the current protocol still has this SHA-256 (from `protocol show`).")
@click.pass_obj
def replace(state: CliState, file: Path, expect: str | None) -> None:
    """Replace the review's protocol with FILE, as the acting reviewer (leads only); validated and audited."""

    def go() -> None:
        wanted = expect.strip().lower() if expect is not None else None
        if wanted is not None and not _SHA256.fullmatch(wanted):
            raise ReviewkitError(f"--expect {expect!r} is not a SHA-256",
                                 hint="64 hexadecimal digits, as `reviewkit protocol show` prints")
        new_text = _read(file)
        parse_protocol(new_text, source=str(file))  # errors name FILE and its line, not review.toml
        review = open_review(state.review)
        try:
            old_sha = text_sha256(_read(review.protocol_path))
            # Without --expect, the text just read is the one replaced: the old SHA printed is exact.
            update_protocol(review, state.reviewer, new_text,
                            expected_sha256=wanted or old_sha)
        finally:
            review.engine.dispose()
        click.echo(f"{review.protocol_path}: {old_sha} -> {text_sha256(new_text)}")

    run_guarded(go)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(protocol_group)
