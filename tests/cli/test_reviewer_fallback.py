"""Tests that every command acting as someone falls back to the user config's reviewer, as the TUI does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reviewkit.cli import cli
from reviewkit.services import screen
from reviewkit.services.project import Review
from tests.factories import add_records


@pytest.fixture
def as_carol(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user config naming carol, the adjudicator."""
    config = tmp_path / "config.toml"
    config.write_text('reviewer = "carol"\n', encoding="utf-8")
    monkeypatch.setenv("REVIEWKIT_CONFIG", str(config))


def run(folder: Path, *args: str) -> Result:
    """Invoke the CLI on a review folder without --reviewer."""
    return CliRunner().invoke(cli, ["-C", str(folder), *args])


def test_conflicts_uses_the_configured_reviewer(review: Review, as_carol: None) -> None:
    """`conflicts` with no --reviewer lists the conflicts for the config's adjudicator."""
    (rid,) = add_records(review, 1)
    screen.record_decision(review, "alice", rid, "ta", "include")
    screen.record_decision(review, "bob", rid, "ta", "exclude")
    result = run(review.folder, "conflicts", "--json")
    assert result.exit_code == 0, result.output
    assert [c["record"] for c in json.loads(result.output)] == [rid]


def test_given_reviewer_overrides_the_config(review: Review, as_carol: None) -> None:
    """--reviewer wins over the config: bob is no adjudicator, so conflicts are refused to him."""
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "bob", "conflicts"])
    assert result.exit_code == 1 and "bob" in result.stderr


def test_broken_config_is_one_line_only_where_a_reviewer_is_needed(review: Review, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A config that does not parse stops the commands that need a reviewer, with one line; not `status`."""
    config = tmp_path / "config.toml"
    config.write_text("reviewer = 3\n", encoding="utf-8")
    monkeypatch.setenv("REVIEWKIT_CONFIG", str(config))
    assert run(review.folder, "status").exit_code == 0
    result = run(review.folder, "conflicts")
    assert result.exit_code == 1 and result.stderr.strip() == f"error: {config}: 'reviewer' must be a string"


def test_import_credits_the_configured_reviewer(review: Review, as_carol: None) -> None:
    """An import's run is started by the config's reviewer when no --reviewer is given."""
    from sqlmodel import select

    from reviewkit.store.db import session_scope
    from reviewkit.store.tables import SourceRunRow

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "embase_export.ris"
    assert run(review.folder, "import", str(fixture)).exit_code == 0
    with session_scope(review.engine) as session:
        assert list(session.exec(select(SourceRunRow.started_by))) == ["carol"]


def test_dedup_runs_when_the_config_names_someone_of_another_review(
    review: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The automatic dedup acts as nobody when the configured reviewer is not on this review's team;
    an explicit unknown --reviewer is still refused."""
    config = tmp_path / "zed.toml"
    config.write_text('reviewer = "zed"\n', encoding="utf-8")
    monkeypatch.setenv("REVIEWKIT_CONFIG", str(config))
    add_records(review, 2)
    result = run(review.folder, "dedup", "--auto-only")
    assert result.exit_code == 0, result.output
    refused = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "zed", "dedup", "--auto-only"])
    assert refused.exit_code == 1 and "zed" in refused.output


def test_a_config_saved_with_a_byte_order_mark_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Notepad's "UTF-8 with BOM" config names its reviewer, as review.toml with a BOM is read, rather than
    being refused as invalid TOML at line 1."""
    config = tmp_path / "bom.toml"
    config.write_text('reviewer = "carol"\n', encoding="utf-8-sig")
    monkeypatch.setenv("REVIEWKIT_CONFIG", str(config))
    from reviewkit.config import load_user_config

    assert load_user_config().reviewer == "carol"


@pytest.mark.parametrize(("text", "said"), [
    (None, "cannot read the user config: Is a directory"),
    ("reviewer = \"alice\"\n[keys\n", "not valid TOML"),
    ("keys = 3\n", '[keys] must be a table of action = "key" lines'),
    ("[keys]\ninclude = 5\n", '[keys] include must be a key or a list of keys, as in include = "y"'),
    ("[keys]\nnext = [\"j\", 2]\n", "[keys] next must be a key or a list of keys"),
    ("reviewer = \"\"\n", "'reviewer' is empty"),
])
@pytest.mark.parametrize("command", [[], ["screen"]])
def test_a_broken_config_is_refused_before_the_tui_opens_even_with_reviewer(
    review: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | None, said: str, command: list[str],
) -> None:
    """--reviewer kept the config unread until the screening screen read its [keys] inside the TUI: a
    folder where the file goes (or one without permission) was a full-screen traceback there, the rest
    a notice. Each is now one line naming the file and the setting, and exit 1, before the TUI opens."""
    from reviewkit.tui.app import ReviewkitApp

    opened: list[bool] = []
    monkeypatch.setattr(ReviewkitApp, "run", lambda self, *a, **kw: opened.append(True))
    config = tmp_path / "config.toml"
    if text is None:
        config.mkdir()
    else:
        config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("REVIEWKIT_CONFIG", str(config))
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", *command])
    assert result.exit_code == 1 and not opened
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {config}: ") and said in line, line


def test_keys_may_be_given_as_a_list(review: Review, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """next = ["j", "down", "space"] is the same keys as next = "j,down,space" (it was refused as no key names)."""
    from reviewkit.config import load_user_config
    from reviewkit.tui.app import ReviewkitApp

    config = tmp_path / "config.toml"
    config.write_text('[keys]\nnext = ["j", "down", "space"]\ninclude = "y"\n', encoding="utf-8")
    monkeypatch.setenv("REVIEWKIT_CONFIG", str(config))
    assert load_user_config().keys == {"next": "j,down,space", "include": "y"}
    opened: list[bool] = []
    monkeypatch.setattr(ReviewkitApp, "run", lambda self, *a, **kw: opened.append(True))
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", "alice", "screen"])
    assert result.exit_code == 0 and opened, result.output


def test_the_config_is_found_in_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without REVIEWKIT_CONFIG the config is $XDG_CONFIG_HOME/reviewkit/config.toml (on Linux), as the
    README says; with it, the file it names wins."""
    import sys

    from reviewkit.config import load_user_config

    if not sys.platform.startswith("linux"):
        pytest.skip("XDG_CONFIG_HOME is the Linux config folder")
    folder = tmp_path / "xdg" / "reviewkit"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text('reviewer = "bob"\n', encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("REVIEWKIT_CONFIG")
    assert load_user_config().reviewer == "bob"
    named = tmp_path / "named.toml"
    named.write_text('reviewer = "carol"\n', encoding="utf-8")
    monkeypatch.setenv("REVIEWKIT_CONFIG", str(named))
    assert load_user_config().reviewer == "carol"


@pytest.mark.parametrize("where", ["option", "config"])
def test_a_reviewer_name_with_spaces_around_it_is_that_reviewer(review: Review, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """--reviewer " carol " or reviewer = " carol" in the user config acts as carol (it was refused as an
    unknown reviewer); a name review.toml does not hold is still refused, without the spaces."""
    (rid,) = add_records(review, 1)
    screen.record_decision(review, "alice", rid, "ta", "include")
    screen.record_decision(review, "bob", rid, "ta", "exclude")
    config = tmp_path / "config.toml"

    def conflicts(name: str) -> Result:
        if where == "config":
            config.write_text(f'reviewer = "{name}"\n', encoding="utf-8")
            monkeypatch.setenv("REVIEWKIT_CONFIG", str(config))
            return run(review.folder, "conflicts", "--json")
        return CliRunner().invoke(cli, ["-C", str(review.folder), "--reviewer", name, "conflicts", "--json"])

    result = conflicts(" carol ")
    assert result.exit_code == 0, result.output
    assert [c["record"] for c in json.loads(result.output)] == [rid]
    refused = conflicts(" zoe ")
    assert refused.exit_code == 1 and "unknown reviewer 'zoe'" in refused.stderr


def test_screen_reviewer_option_with_spaces_around_it(review: Review) -> None:
    """`screen --reviewer " zoe "` is refused naming zoe (trimmed as the global option is), before the TUI opens."""
    result = CliRunner().invoke(cli, ["-C", str(review.folder), "screen", "--reviewer", " zoe "])
    assert result.exit_code == 1 and "unknown reviewer 'zoe'" in result.stderr
