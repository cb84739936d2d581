"""What a new user meets first: `--help` of every command, usage errors, missing files and `--json` output.

The command list of a group shows each command's short help; click cuts a long one mid-sentence with
"...", which told a user nothing ("Settle a conflict as the adjudicator (give --reviewer), as..."). A
command typed wrong is click's usage block and exit 2; a file that is not there is one error line and
exit 1; `--json` puts only JSON on stdout, so `reviewkit ... --json | jq` works.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from reviewkit.cli import cli
from reviewkit.services.project import Review

#: The width click formats help for in an 80-column terminal (and the most it uses in a wider one).
TERMINAL = 80


def groups(command: click.Command = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every group of the tree, the top level first."""
    if isinstance(command, click.Group):
        yield path
        for name, sub in sorted(command.commands.items()):
            yield from groups(sub, (*path, name))


def commands(command: click.Command = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                                       click.Command]]:
    """Every command of the tree with its path."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from commands(sub, (*path, name))


def cli_group(path: tuple[str, ...]) -> click.Group:
    """The group at `path` of the command tree."""
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    assert isinstance(command, click.Group)
    return command


def command_rows(help_text: str) -> list[str]:
    """The lines of the "Commands:" section of a group's help."""
    section = help_text.split("\nCommands:\n", 1)[1]
    return [line.strip() for line in section.splitlines() if line.strip()]


@pytest.mark.parametrize("path", list(groups()), ids=lambda p: " ".join(p) or "reviewkit")
def test_every_command_in_a_group_list_has_its_whole_short_help(path: tuple[str, ...]) -> None:
    """No row of `reviewkit [GROUP] --help`'s command list is cut off with "..." in an 80-column terminal."""
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=TERMINAL)
    assert result.exit_code == 0, result.output
    rows = command_rows(result.stdout)
    assert rows
    cut = [row for row in rows if row.endswith("...")]
    assert not cut, "short help cut off:\n  " + "\n  ".join(cut)


def test_every_command_has_a_summary_line_in_its_help() -> None:
    """`reviewkit CMD --help` opens with a sentence saying what CMD does."""
    bare = [" ".join(path) for path, command in commands() if not (command.help or "").strip()]
    assert not bare, f"commands without help: {bare}"


def test_no_option_shows_clicks_type_name_for_a_range() -> None:
    """An id or count option shows a name for what it takes (RECORD, N), not click's "INTEGER RANGE"."""
    shown = []
    for path, command in commands():
        ctx = click.Context(command)
        for param in command.get_params(ctx):
            if "RANGE" in param.make_metavar(ctx):
                shown.append(" ".join([*path, param.name or ""]))
    assert not shown, shown


def test_a_word_for_an_id_is_refused_as_not_an_integer(tmp_path: Path) -> None:
    """'x' for a pair id is "not a valid integer", not click's "not a valid integer range"."""
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "dedup", "confirm", "x"])
    assert result.exit_code == 2
    assert "'x' is not a valid integer." in result.stderr


@pytest.mark.parametrize("args", [
    ["import"], ["meta", "--measure", "RR"], ["decisions", "import"], ["export", "flow"], ["restore"],
    ["protocol", "replace"], ["dedup", "confirm"], ["rob", "plot"],
], ids=" ".join)
def test_a_missing_argument_is_a_usage_error(tmp_path: Path, args: list[str]) -> None:
    """A file argument left out is a command typed wrong, as any other argument left out: usage, exit 2."""
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert "Usage: " in result.stderr and "Missing argument" in result.stderr


@pytest.mark.parametrize("args", [
    ["import", "{missing}"], ["meta", "{missing}", "--measure", "RR"], ["restore", "{missing}", "{new}"],
    ["init", "{new}", "--protocol", "{missing}"], ["protocol", "check", "{missing}"],
    ["--reviewer", "alice", "decisions", "import", "{missing}"],
    ["--reviewer", "alice", "extract", "import", "{missing}"],
    ["--reviewer", "alice", "rob", "import", "{missing}"],
], ids=lambda a: " ".join(w for w in a if not w.startswith("{")))
def test_a_missing_input_file_is_one_error_line_naming_it(review_dir: Path, tmp_path: Path, args: list[str]
                                                          ) -> None:
    """Whether click or reviewkit finds the file missing, the user reads the same kind of line: `error: ...`
    naming the file, exit 1, no usage block and no traceback."""
    missing, new = tmp_path / "nope.csv", tmp_path / "new-review"
    words = [a.format(missing=missing, new=new) for a in args]
    result = CliRunner().invoke(cli, ["-C", str(review_dir), *words])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(missing) in lines[0], result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_every_json_output_of_the_demo_is_json_on_stdout(demo: Review, tmp_path: Path) -> None:
    """Each `--json` command on the worked example prints JSON and nothing else on stdout (notes and
    warnings go to stderr), so a script can parse it."""
    folder = tmp_path / "demo"
    data = tmp_path / "meta.csv"
    data.write_text("study,events_treat,n_treat,events_ctrl,n_ctrl\nA,10,100,5,100\nB,20,150,12,140\n"
                    "C,8,90,9,95\n", encoding="utf-8")
    runs = [
        ["status", "--json"], ["sources", "--json"], ["sources", "--run", "1", "--json"],
        ["protocol", "show", "--json"], ["studies", "--json"], ["studies", "list", "--json"],
        ["--reviewer", "carol", "conflicts", "--json"], ["--reviewer", "carol", "agreement", "--json"],
        ["--reviewer", "alice", "audit", "--limit", "3", "--json"],
        ["--reviewer", "alice", "extract", "differences", "--json"],
        ["--reviewer", "alice", "rob", "disagreements", "--json"], ["rob", "summary", "--json"],
        ["--reviewer", "alice", "rob", "show", "1", "--json"],
        ["analyze", "--no-plots", "--json"], ["prisma", "--format", "json", "-o", "-"],
        ["rob", "judge", "--tool", "rob1", "--answers", "D1=low,D2=unclear"],
        ["meta", str(data), "--measure", "RR", "--json", "--plot", str(tmp_path / "forest.svg")],
    ]
    for args in runs:
        result = CliRunner().invoke(cli, ["-C", str(folder), *args])
        assert result.exit_code == 0, (args, result.output)
        try:
            json.loads(result.stdout)
        except ValueError:
            pytest.fail(f"reviewkit {' '.join(args)}: stdout is not JSON:\n{result.stdout[:500]}")


@pytest.mark.parametrize("command", [["status"], ["protocol", "show"], ["protocol", "check"],
                                     ["export", "flow", "{out}"]], ids=" ".join)
@pytest.mark.parametrize("kind", ["file", "missing"])
def test_a_review_folder_that_is_a_file_or_missing_is_one_error_line(tmp_path: Path, command: list[str],
                                                                     kind: str) -> None:
    """`-C FILE` was click's usage block and exit 2 ("Directory ... is a file"), `-C /nope` an `error:` line and
    exit 1: both are a folder to fix, not a command typed wrong, and say so alike: one line naming the path and
    that a review folder was wanted, exit 1."""
    given = tmp_path / ("review.toml" if kind == "file" else "nope")
    if kind == "file":
        given.write_text("", encoding="utf-8")
    words = [w.format(out=tmp_path / "flow.csv") for w in command]
    result = CliRunner().invoke(cli, ["-C", str(given), *words])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    (line,) = result.stderr.strip().splitlines()
    what = "is a file, not a folder" if kind == "file" else "does not exist"
    assert line.startswith(f"error: no review here: {'' if kind == 'file' else 'the folder '}{given} {what} "
                           "(pass the review folder, the one holding review.toml, with -C DIR"), line
    assert not (tmp_path / "flow.csv").exists()


@pytest.mark.parametrize(("args", "said"), [
    (["adjudicate", "1", "include"], "Missing option '--stage'. Choose from: ta, ft."),
    (["adjudicate", "1"], "Missing argument '{include|exclude}'. Choose from: include, exclude."),
    (["meta", "{data}"], "Missing option '--measure'. Choose from: RR, OR, RD, MD, SMD, generic."),
], ids=lambda a: " ".join(a) if isinstance(a, list) else "")
def test_a_missing_choice_lists_its_choices_on_one_line(tmp_path: Path, args: list[str], said: str) -> None:
    """Click lists the choices of a missing choice one per line, a tab before each, which read as more errors:
    the error is one line, as click's other messages are."""
    data = tmp_path / "d.csv"
    data.write_text("study,events_treat,n_treat,events_ctrl,n_ctrl\nA,1,10,2,10\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), *[a.format(data=data) for a in args]])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Usage: ")
    assert result.stderr.strip().splitlines()[-1] == f"Error: {said}"


def test_no_option_help_shows_clicks_range_notation() -> None:
    """`audit --help` read "Only the last N events (N ≥ 1).  [x>=1]" and "Only the history of this record.
    [1<=x<=2147483647]": an option's help says what it takes in words, never in click's x<=… notation."""
    shown = []
    for path, command in commands():
        ctx = click.Context(command)
        for param in command.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record and ("x>" in record[1] or "x<" in record[1] or "<=x" in record[1] or "<x" in record[1]):
                shown.append(f"{' '.join(path)} {record[0]}: {record[1]}")
    assert not shown, "\n".join(shown)


def test_an_id_option_is_still_refused_out_of_its_range(tmp_path: Path) -> None:
    """Hiding the range from the help does not widen it: 0 is still refused as a usage error."""
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "audit", "--limit", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--limit': 0 is not in the range" in result.stderr


@pytest.mark.parametrize("path", [p for p in groups() if p and not cli_group(p).invoke_without_command],
                         ids=" ".join)
def test_a_group_without_a_command_shows_its_help_as_a_usage_error(path: tuple[str, ...]) -> None:
    """Every group with no action of its own (export as rob, extract, protocol, decisions) answers alike when
    no command is given: its help, listing its commands, and exit 2 (dedup and studies run their own action)."""
    result = CliRunner().invoke(cli, list(path))
    assert result.exit_code == 2, result.output
    help_text = CliRunner().invoke(cli, [*path, "--help"]).stdout
    assert result.output.strip() == help_text.strip()
    assert command_rows(result.output)

