"""Tests of what the CLI tells a user who slips: an unknown reviewer before the TUI opens, a global option
after the command, a protocol file that is not there or has several problems, the import formats, demo
re-runs, a postgres:// URL, and the wording of a few outputs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reviewkit.cli import cli
from reviewkit.services.demo import MARK
from reviewkit.services.identify import IMPORT_FORMATS
from reviewkit.services.project import EXAMPLE_PROTOCOL, database_url_for, init_review
from reviewkit.services.status import review_status
from tests.conftest import FIXTURES

TEAM = "alice, bob, carol"  # the example protocol's reviewers


def run(folder: Path, *args: str) -> Result:
    """Invoke the CLI on a review folder."""
    return CliRunner().invoke(cli, ["-C", str(folder), *args])


class _FakeApp:
    """Stands in for the TUI: records that it was started, and with whom."""

    started: list[str | None] = []

    def __init__(self, reviewer: str | None) -> None:
        self.reviewer = reviewer

    def run(self) -> None:
        _FakeApp.started.append(self.reviewer)


@pytest.fixture
def tui(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The TUI replaced by _FakeApp; returns the reviewers it was started with."""
    import reviewkit.tui.app

    _FakeApp.started = []
    monkeypatch.setattr(reviewkit.tui.app, "make_app",
                        lambda review, reviewer=None, **_: _FakeApp(reviewer))
    return _FakeApp.started


@pytest.fixture
def config_names_zed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user config naming zed, who is on no team."""
    config = tmp_path / "config.toml"
    config.write_text('reviewer = "zed"\n', encoding="utf-8")
    monkeypatch.setenv("REVIEWKIT_CONFIG", str(config))
    return config


# 1: an unknown reviewer is refused before the TUI starts.

@pytest.mark.parametrize("command", [["screen", "--stage", "ta"], []], ids=["screen", "bare"])
def test_unknown_reviewer_is_refused_before_the_tui(review_dir: Path, tui: list[str | None],
                                                    command: list[str]) -> None:
    """`--reviewer alise screen` (and the bare command) drew the TUI with the error inside it; now one line
    naming the team, exit 1, and no TUI."""
    result = CliRunner().invoke(cli, ["-C", str(review_dir), "--reviewer", "alise", *command])
    assert result.exit_code == 1
    assert result.stderr == f"error: unknown reviewer 'alise' (review.toml lists: {TEAM})\n"
    assert tui == []


def test_screen_local_reviewer_is_checked_too(review_dir: Path, tui: list[str | None]) -> None:
    """`screen --reviewer NAME` (the command's own option) is checked the same way."""
    result = run(review_dir, "screen", "--reviewer", "alise")
    assert result.exit_code == 1 and "unknown reviewer 'alise'" in result.stderr
    assert tui == []


def test_no_reviewer_still_opens_the_dashboard(review_dir: Path, tui: list[str | None]) -> None:
    """Nobody named: the TUI opens as before (on the dashboard, acting as nobody); a known name opens it too."""
    assert run(review_dir).exit_code == 0
    assert run(review_dir, "--reviewer", "bob", "screen").exit_code == 0
    assert tui == [None, "bob"]


def test_screen_without_a_reviewer_is_refused_before_the_tui(review_dir: Path, tui: list[str | None]) -> None:
    """`screen` with nobody named (no --reviewer, no reviewer in the user config) opened a screening screen
    that could only say so; now one line saying how to name yourself, exit 1, and no TUI."""
    result = run(review_dir, "screen", "--stage", "ft")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: screening needs a reviewer: whose decisions are these? (pass "
                                    "--reviewer NAME, or put reviewer = \"NAME\" in ")
    assert tui == []


# 13 (second part): an unknown reviewer from the user config says so.

@pytest.mark.parametrize("command", [["conflicts"], ["screen"]])
def test_unknown_reviewer_from_the_config_names_the_config(review_dir: Path, config_names_zed: Path,
                                                           tui: list[str | None], command: list[str]) -> None:
    """A name the user never typed is traced to the file it came from."""
    result = run(review_dir, *command)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: unknown reviewer 'zed', named by your user config {config_names_zed} "
                                    f"(review.toml lists: {TEAM}")
    assert tui == []


def test_unknown_reviewer_given_overrides_the_config_message(review_dir: Path, config_names_zed: Path) -> None:
    """--reviewer given: the message does not blame the config."""
    result = run(review_dir, "--reviewer", "alise", "conflicts")
    assert result.exit_code == 1 and "user config" not in result.stderr and "'alise'" in result.stderr


# 6: a global option after the command gets the way to give it.

@pytest.mark.parametrize(("args", "option", "words"), [
    (["status", "--reviewer", "alice"], "--reviewer", "status"),
    (["status", "-C", "."], "-C", "status"),
    (["dedup", "pairs", "--review", "."], "--review", "dedup pairs"),
])
def test_global_option_after_the_command_gets_a_hint(args: list[str], option: str, words: str) -> None:
    """Still a usage error (exit 2), now saying global options go before the command."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert (f"{option} is a global option, and global options go before the command, e.g. "
            f"`reviewkit -C DIR --reviewer NAME {words}`") in result.stderr


def test_other_unknown_options_get_no_such_hint() -> None:
    """An option no level takes is click's plain refusal."""
    result = CliRunner().invoke(cli, ["status", "--bogus"])
    assert result.exit_code == 2 and "global option" not in result.stderr


@pytest.mark.parametrize("args", [
    ["import", "{folder}"], ["meta", "{missing}", "--measure", "RR"], ["decisions", "import", "{folder}"],
    ["export", "records", "{folder}"],
])
def test_a_missing_file_or_a_folder_for_a_file_is_one_error_line_and_exit_1(tmp_path: Path, args: list[str]
                                                                             ) -> None:
    """A file that is not there, or a folder given as one (input or output), is an error the user fixes
    by naming another file: one line naming it, exit 1, no usage block (that is for a command typed wrong)."""
    folder, missing = tmp_path / "a-folder", tmp_path / "none.csv"
    folder.mkdir()
    words = [a.format(folder=folder, missing=missing) for a in args]
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), *words])
    assert result.exit_code == 1, result.output
    assert "Usage:" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert str(folder if "{folder}" in " ".join(args) else missing) in result.output


# 7 and 12: protocol check.

def test_protocol_check_of_a_missing_file_says_so(tmp_path: Path) -> None:
    """A named file that is not there is "no such file", not "no protocol here (run reviewkit init)"."""
    missing = tmp_path / "nope.toml"
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "protocol", "check", str(missing)])
    assert result.exit_code == 1
    assert result.stderr == f"error: {missing}: no such file\n"


def test_protocol_check_lists_every_problem_one_per_line(tmp_path: Path) -> None:
    """Peto with RR and a random model, and an outcome's timepoint the form lacks: every problem at once, one
    line each (one per run before), as analyze lists them."""
    text = EXAMPLE_PROTOCOL.read_text(encoding="utf-8")
    text = text.replace('measure = "RR"\nmethod = "MH"\nmodel = "random"',
                        'measure = "RR"\nmethod = "Peto"\nmodel = "random"', 1)
    text = text.replace('timepoint = "week 16"', 'timepoint = "week 99"', 1)
    path = tmp_path / "protocol.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["protocol", "check", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 3 and all(re.match(rf"error: {re.escape(str(path))}: line \d+: 'analyses\[0\]\.", line)
                                   for line in lines)
    assert sorted(line.split("'")[1] for line in lines) == [
        "analyses[0].measure", "analyses[0].model", "analyses[0].timepoint"]


# 9: every import format, from one list.

def test_import_help_and_choices_name_every_format() -> None:
    """ClinicalTrials.gov JSON and EndNote tagged were missing from the help and from --format."""
    result = CliRunner().invoke(cli, ["import", "--help"])
    assert result.exit_code == 0
    help_text = " ".join(result.output.split())
    for fmt, name in IMPORT_FORMATS.items():
        assert name in help_text and fmt in help_text
    assert {"ctgov_json", "endnote_tagged"} <= set(IMPORT_FORMATS)


def test_forced_ctgov_and_endnote_tagged_import(review_dir: Path, tmp_path: Path) -> None:
    """Both can be forced with --format (click refused them) and import their records."""
    ctgov = run(review_dir, "import", "--format", "ctgov_json", str(FIXTURES / "demo" / "ctgov_studies.json"))
    assert ctgov.exit_code == 0, ctgov.output
    assert "from ClinicalTrials.gov (ctgov_json)" in ctgov.output
    enw = tmp_path / "refs.txt"
    enw.write_text("%0 Journal Article\n%T Baricitinib in atopic dermatitis\n%D 2020\n\n"
                   "%0 Journal Article\n%T Another trial\n%D 2021\n", encoding="utf-8")
    tagged = run(review_dir, "import", "--format", "endnote_tagged", str(enw))
    assert tagged.exit_code == 0, tagged.output
    assert "2 records" in tagged.output and "(endnote_tagged)" in tagged.output


def test_a_truncated_ctgov_json_says_where_and_that_it_ends_early(review_dir: Path, tmp_path: Path) -> None:
    """A ClinicalTrials.gov export cut mid-string said "line 7: not valid JSON: Unterminated string starting
    at", cut off; now it names the column and that the file ends there, and other JSON faults their column."""
    text = (FIXTURES / "demo" / "ctgov_studies.json").read_text(encoding="utf-8")
    start = text.index('"briefTitle": "') + len('"briefTitle": ')
    line = text[:start].count("\n") + 1
    column = start - text.rindex("\n", 0, start)
    cut = tmp_path / "trunc.json"
    cut.write_text(text[:start + 10], encoding="utf-8")
    result = run(review_dir, "import", str(cut))
    assert result.exit_code == 1
    assert (f"trunc.json, line {line}: not valid JSON: the file ends inside a string that starts at column "
            f"{column} (truncated?)") in result.stderr
    cut.write_text(text[:start], encoding="utf-8")  # cut before a value
    result = run(review_dir, "import", "--format", "ctgov_json", str(cut))
    assert (f"line {line}: not valid JSON: the file ends at column {column} before its JSON does (truncated?): "
            "Expecting value") in result.stderr
    cut.write_text(text[:start] + "x" + text[start:], encoding="utf-8")  # broken, not cut
    result = run(review_dir, "import", str(cut))
    assert f"line {line}: not valid JSON: Expecting value at column {column}" in result.stderr
    assert review_status_of(review_dir) == 0  # nothing imported


def test_unrecognised_file_lists_every_format(review_dir: Path, tmp_path: Path) -> None:
    """The refusal of a file of no known format names each format the importer reads."""
    odd = tmp_path / "notes.txt"
    odd.write_text("just some notes\nnothing bibliographic\n", encoding="utf-8")
    result = run(review_dir, "import", str(odd))
    assert result.exit_code == 1 and "unrecognised file format" in result.stderr
    for name in IMPORT_FORMATS.values():
        assert name in result.stderr


# 10: demo re-runs.

@pytest.fixture
def fake_demo(review_dir: Path, tmp_path: Path) -> Path:
    """A review marked as the demo's (what `reviewkit demo` writes), on the same database kind as review_dir."""
    protocol = tmp_path / "demo-protocol.toml"
    protocol.write_text(EXAMPLE_PROTOCOL.read_text(encoding="utf-8").replace('title = "', f'title = "{MARK}', 1),
                        encoding="utf-8")
    folder = tmp_path / "my demo"
    # On PostgreSQL it shares review_dir's database (REVIEWKIT_DATABASE_URL): only its folder matters here.
    init_review(folder, protocol).engine.dispose()
    return folder


def test_demo_force_without_open_says_how_to_open(fake_demo: Path, tui: list[str | None]) -> None:
    """--force on the demo without --open said "Opening …" and opened nothing."""
    result = CliRunner().invoke(cli, ["demo", str(fake_demo), "--force"])
    assert result.exit_code == 0, result.output
    assert result.output == f"{fake_demo} already holds the demo; open it with `reviewkit -C '{fake_demo}'`\n"
    assert tui == []
    opened = CliRunner().invoke(cli, ["demo", str(fake_demo), "--force", "--open"])
    assert opened.exit_code == 0 and "Opening" in opened.output and tui == ["alice"]


def test_demo_without_force_names_the_folder_and_force(fake_demo: Path) -> None:
    """The refusal named a literal DIR and kept quiet about --force."""
    result = CliRunner().invoke(cli, ["demo", str(fake_demo)])
    assert result.exit_code == 1
    assert result.stderr == (f"error: {fake_demo} already holds the demo (open it with `reviewkit -C '{fake_demo}'`, "
                             f"or `reviewkit demo '{fake_demo}' --force --open`)\n")


def test_demo_force_refuses_a_review_that_is_not_the_demo(review_dir: Path, tui: list[str | None]) -> None:
    """--force opened any review; the example protocol's is not the demo's, and nothing is built or opened."""
    before = (review_dir / "review.toml").read_text(encoding="utf-8")
    for extra in (["--force"], ["--force", "--open"], []):
        result = CliRunner().invoke(cli, ["demo", str(review_dir), *extra])
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: {review_dir} holds a review that is not the demo")
    assert tui == [] and (review_dir / "review.toml").read_text(encoding="utf-8") == before
    assert review_status_of(review_dir) == 0


def review_status_of(folder: Path) -> int:
    """How many records the review in `folder` holds."""
    from reviewkit.services.project import open_review

    review = open_review(folder)
    try:
        return review_status(review).identified
    finally:
        review.engine.dispose()


def test_init_on_an_existing_review_names_the_folder(review_dir: Path) -> None:
    """"open it with `reviewkit -C DIR status`" named no folder."""
    result = CliRunner().invoke(cli, ["init", str(review_dir)])
    assert result.exit_code == 1
    assert f"open it with `reviewkit -C {review_dir} status`" in result.stderr and " DIR " not in result.stderr


# 14: postgres:// URLs.

def test_postgres_scheme_is_normalised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """postgres:// (Heroku's, libpq's) reached SQLAlchemy as is: "Can't load plugin: sqlalchemy.dialects:postgres"."""
    from reviewkit.protocol import parse_protocol

    text = EXAMPLE_PROTOCOL.read_text(encoding="utf-8")
    protocol = parse_protocol('database_url = "postgres://u@h:5432/db"\n' + text)
    assert database_url_for(tmp_path, protocol) == "postgresql://u@h:5432/db"
    monkeypatch.setenv("REVIEWKIT_DATABASE_URL", "postgres+psycopg://u@h/db")
    assert database_url_for(tmp_path, protocol) == "postgresql+psycopg://u@h/db"


def test_a_review_on_a_postgres_url_opens(database_url: str, tmp_path: Path) -> None:
    """On PostgreSQL: a review whose review.toml says postgres://… is created and opened."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL URL is what this is about")
    short = "postgres://" + database_url.split("://", 1)[1]
    protocol = tmp_path / "pg.toml"
    protocol.write_text(f'database_url = "{short}"\n' + EXAMPLE_PROTOCOL.read_text(encoding="utf-8"),
                        encoding="utf-8")
    init = CliRunner().invoke(cli, ["init", str(tmp_path / "pg"), "--protocol", str(protocol)])
    assert init.exit_code == 0, init.output
    status = run(tmp_path / "pg", "status")
    assert status.exit_code == 0, status.output
    assert "database: postgresql+psycopg://" in status.output


def test_a_database_url_of_another_kind_is_refused_naming_the_key(tmp_path: Path) -> None:
    """mysql://… is refused by `protocol check` with the key, its line and what to write (without echoing the
    URL, which may hold a password)."""
    path = tmp_path / "protocol.toml"
    path.write_text('database_url = "mysql://me:secret@h/db"\n' + EXAMPLE_PROTOCOL.read_text(encoding="utf-8"),
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["protocol", "check", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}: line 1: 'database_url': reviewkit keeps a shared review in "
                                    "PostgreSQL: write postgresql://")
    assert "secret" not in result.stderr


# 15: wording.

def test_one_record_is_singular(review_dir: Path, tmp_path: Path) -> None:
    """"1 records from …"."""
    ris = tmp_path / "one.ris"
    ris.write_text("TY  - JOUR\nTI  - A single trial\nPY  - 2020\nER  - \n", encoding="utf-8")
    result = run(review_dir, "import", str(ris))
    assert result.exit_code == 0, result.output
    assert ": 1 record from " in result.output


def test_status_keeps_counts_in_one_column_for_long_source_names(review_dir: Path, tmp_path: Path) -> None:
    """"Academic Search Premier" pushed its count out of the column."""
    ris = tmp_path / "asp.ris"
    ris.write_text("TY  - JOUR\nTI  - A trial\nPY  - 2020\nER  - \n\nTY  - JOUR\nTI  - Another\nPY  - 2021\nER  - \n",
                   encoding="utf-8")
    assert run(review_dir, "import", "--source", "Academic Search Premier", str(ris)).exit_code == 0
    result = run(review_dir, "status")
    assert result.exit_code == 0, result.output
    table = [line for line in result.output.splitlines()[3:] if re.search(r"\d$", line)]
    assert any("Academic Search Premier" in line for line in table)
    assert len({len(line) for line in table}) == 1, table


def test_dedup_pairs_says_when_none_wait(review_dir: Path) -> None:
    """An empty queue printed nothing at all."""
    result = run(review_dir, "dedup", "pairs")
    assert result.exit_code == 0
    assert result.output == "No pairs wait for a verdict.\n"


def test_map_errors_name_the_option_only(review_dir: Path, tmp_path: Path) -> None:
    """"--map (column_map)" showed an internal name."""
    ris = tmp_path / "a.ris"
    ris.write_text("TY  - JOUR\nTI  - A trial\nER  - \n", encoding="utf-8")
    csv = tmp_path / "a.csv"
    csv.write_text("Title,Year\nA trial,2020\n", encoding="utf-8")
    outputs: list[Any] = [run(review_dir, "import", "--map", "title=Title", str(ris)),
                          run(review_dir, "import", "--map", "titel=Title", str(csv)),
                          run(review_dir, "import", "--map", "title=Nope", str(csv))]
    assert all(r.exit_code == 1 and "--map " in r.stderr for r in outputs)
    assert not any("column_map" in r.stderr for r in outputs)
    assert "--map applies to CSV files only, this file is RIS" in outputs[0].stderr


def test_a_config_file_named_but_missing_is_an_error(review_dir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """REVIEWKIT_CONFIG naming no file is said, naming it (it was ignored: "no reviewer given" followed)."""
    missing = tmp_path / "missing.toml"
    monkeypatch.setenv("REVIEWKIT_CONFIG", str(missing))
    result = run(review_dir, "conflicts")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {missing}: no such file")
