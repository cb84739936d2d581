"""Tests for `reviewkit protocol`: check, show, replace (leads only, validated, audited, --expect)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reviewkit.cli import cli
from reviewkit.services.audit import audit_trail
from reviewkit.services.project import open_review


def run(folder: Path, *args: str, reviewer: str | None = None) -> Result:
    """Invoke `reviewkit -C folder [--reviewer NAME] protocol ARGS`."""
    pre = ["-C", str(folder)] + (["--reviewer", reviewer] if reviewer else [])
    return CliRunner().invoke(cli, [*pre, "protocol", *args])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _edited(review_dir: Path, tmp_path: Path) -> Path:
    """A valid copy of the review's protocol with a new title."""
    text = (review_dir / "review.toml").read_text(encoding="utf-8")
    assert 'title = "Baricitinib' in text
    new = tmp_path / "new.toml"
    new.write_text(text.replace('title = "Baricitinib', 'title = "Edited: Baricitinib', 1), encoding="utf-8")
    return new


def _protocol_events(review_dir: Path) -> list:
    review = open_review(review_dir)
    try:
        return [e for e in audit_trail(review) if e.entity == "protocol"]
    finally:
        review.engine.dispose()


def test_check_ok_for_the_review_and_for_a_file(review_dir: Path, tmp_path: Path) -> None:
    """check validates the review's review.toml by default, or the FILE given."""
    result = run(review_dir, "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK") and "review.toml" in result.stdout
    result = run(review_dir, "check", str(_edited(review_dir, tmp_path)))
    assert result.exit_code == 0, result.output
    assert "new.toml" in result.stdout


def test_check_invalid_names_file_key_and_line(review_dir: Path, tmp_path: Path) -> None:
    """An invalid file exits 1 with one error line naming the file, the key and its line."""
    bad = tmp_path / "bad.toml"
    text = (review_dir / "review.toml").read_text(encoding="utf-8")
    bad.write_text(f'bogus = 1\n{text}', encoding="utf-8")
    result = run(review_dir, "check", str(bad))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {bad}: line 1: unknown key 'bogus'")
    assert "Traceback" not in result.output


def test_check_not_toml_and_missing_file(review_dir: Path, tmp_path: Path) -> None:
    """Broken TOML and a missing file are the same kind of one-line error."""
    broken = tmp_path / "broken.toml"
    broken.write_text('title = "x"\ntitle = "y"\n', encoding="utf-8")
    result = run(review_dir, "check", str(broken))
    assert result.exit_code == 1 and "not valid TOML" in result.stderr and "line 2" in result.stderr
    result = run(tmp_path / "nowhere", "check")
    assert result.exit_code == 1 and result.stderr.startswith("error: ")


def test_show_prints_path_and_sha(review_dir: Path) -> None:
    """show prints the protocol's path and SHA-256, as text and as JSON."""
    path = (review_dir / "review.toml").resolve()
    result = run(review_dir, "show")
    assert result.exit_code == 0, result.output
    assert str(path) in result.stdout and _sha(path) in result.stdout
    result = run(review_dir, "show", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"path": str(path), "sha256": _sha(path)}


def test_replace_by_a_lead_changes_the_file_and_audits(review_dir: Path, tmp_path: Path) -> None:
    """A lead (alice) replaces the protocol: file changed, old -> new SHA printed, one audit event."""
    path = review_dir / "review.toml"
    new = _edited(review_dir, tmp_path)
    old_sha, new_sha = _sha(path), _sha(new)
    result = run(review_dir, "replace", str(new), reviewer="alice")
    assert result.exit_code == 0, result.output
    assert f"{old_sha} -> {new_sha}" in result.stdout
    assert path.read_bytes() == new.read_bytes()
    (event,) = _protocol_events(review_dir)
    assert (event.actor, event.action) == ("alice", "update")
    assert event.old == {"sha256": old_sha} and event.new == {"sha256": new_sha}


def test_replace_with_the_current_sha_as_expect(review_dir: Path, tmp_path: Path) -> None:
    """--expect with the SHA `show --json` gave succeeds; the user config names the reviewer."""
    cfg = Path(os.environ["REVIEWKIT_CONFIG"])
    cfg.write_text('reviewer = "alice"\n', encoding="utf-8")
    sha = json.loads(run(review_dir, "show", "--json").stdout)["sha256"]
    result = run(review_dir, "replace", str(_edited(review_dir, tmp_path)), "--expect", sha.upper())
    assert result.exit_code == 0, result.output
    assert "Edited: Baricitinib" in (review_dir / "review.toml").read_text(encoding="utf-8")


def test_replace_refused_for_a_screener(review_dir: Path, tmp_path: Path) -> None:
    """bob is a screener only: refused, exit 1, file unchanged, nothing audited."""
    path = review_dir / "review.toml"
    before = path.read_bytes()
    result = run(review_dir, "replace", str(_edited(review_dir, tmp_path)), reviewer="bob")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "only a lead" in result.stderr
    assert path.read_bytes() == before
    assert _protocol_events(review_dir) == []
    assert not [p for p in review_dir.iterdir() if p.name.endswith(".tmp")]


def test_replace_refused_with_a_stale_expect(review_dir: Path, tmp_path: Path) -> None:
    """The SHA read before another lead's edit no longer matches: refused, their edit kept."""
    path = review_dir / "review.toml"
    stale = _sha(path)
    first = _edited(review_dir, tmp_path)
    assert run(review_dir, "replace", str(first), reviewer="alice").exit_code == 0
    second = tmp_path / "second.toml"
    second.write_text(first.read_text(encoding="utf-8").replace("Edited:", "Again:"), encoding="utf-8")
    result = run(review_dir, "replace", str(second), "--expect", stale, reviewer="alice")
    assert result.exit_code == 1
    assert "changed since you read it" in result.stderr
    assert path.read_bytes() == first.read_bytes()
    assert len(_protocol_events(review_dir)) == 1


def test_replace_refuses_an_invalid_file_naming_it(review_dir: Path, tmp_path: Path) -> None:
    """An invalid FILE is refused with its own name and line; review.toml is untouched."""
    path = review_dir / "review.toml"
    before = path.read_bytes()
    bad = tmp_path / "bad.toml"
    bad.write_text(f'bogus = 1\n{before.decode("utf-8")}', encoding="utf-8")
    result = run(review_dir, "replace", str(bad), reviewer="alice")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {bad}: line 1: unknown key 'bogus'")
    assert path.read_bytes() == before
    result = run(review_dir, "replace", str(_edited(review_dir, tmp_path)), "--expect", "abc", reviewer="alice")
    assert result.exit_code == 1 and "not a SHA-256" in result.stderr
    assert path.read_bytes() == before


def test_replace_from_an_unreadable_path_is_a_one_line_error(review_dir: Path, tmp_path: Path) -> None:
    """A FILE the system cannot open (here: below a plain file) is named with the system's reason."""
    path = review_dir / "review.toml"
    before = path.read_bytes()
    plain = tmp_path / "plain.txt"
    plain.write_text("x", encoding="utf-8")
    result = run(review_dir, "replace", str(plain / "review.toml"), reviewer="alice")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {plain / 'review.toml'}: Not a directory")
    assert "Traceback" not in result.output + result.stderr
    assert path.read_bytes() == before


#: An analysis setting a check added later refuses: IGA 0/1 (analyses[0]) with tau2 on a fixed-effect model.
RANDOM_DL, FIXED_DL = 'model = "random"\ntau2 = "DL"', 'model = "fixed"\ntau2 = "DL"'


def _break_first_analysis(review_dir: Path) -> int:
    """Give the review's first analysis tau2 under a fixed-effect model; return the tau2 line."""
    path = review_dir / "review.toml"
    text = path.read_text(encoding="utf-8")
    assert RANDOM_DL in text
    text = text.replace(RANDOM_DL, FIXED_DL, 1)
    path.write_text(text, encoding="utf-8")
    return text[:text.index(FIXED_DL)].count("\n") + 2


def test_check_refuses_an_analysis_problem_naming_its_line(review_dir: Path) -> None:
    """`protocol check` stays strict: the review's review.toml with tau2 on a fixed model exits 1, naming the line."""
    line = _break_first_analysis(review_dir)
    result = run(review_dir, "check")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {review_dir.resolve() / 'review.toml'}: line {line}: 'analyses[0].tau2': ")
    assert 'remove tau2 or set model = "random"' in result.stderr


def test_replace_fixes_a_review_whose_protocol_has_an_analysis_problem(review_dir: Path, tmp_path: Path) -> None:
    """The review still opens, so a lead can replace its protocol: a new text with the same problem is refused
    (naming the new file's line), a fixed one is accepted and audited."""
    _break_first_analysis(review_dir)
    path = review_dir / "review.toml"
    same = tmp_path / "same.toml"
    same.write_text(path.read_text(encoding="utf-8").replace("Baricitinib", "Edited: Baricitinib", 1),
                    encoding="utf-8")
    refused = run(review_dir, "replace", str(same), reviewer="alice")
    assert refused.exit_code == 1 and f"error: {same}: line " in refused.stderr
    assert "'analyses[0].tau2'" in refused.stderr
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(same.read_text(encoding="utf-8").replace(FIXED_DL, RANDOM_DL, 1), encoding="utf-8")
    result = run(review_dir, "replace", str(fixed), reviewer="alice")
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == fixed.read_bytes()
    assert len(_protocol_events(review_dir)) == 1


def test_status_works_and_warns_once_about_analysis_problems(review_dir: Path) -> None:
    """`status` on a review with an analysis problem prints its counts (JSON stays JSON) and one warning line
    on stderr pointing at `protocol check`; a healthy review gets no warning."""
    healthy = CliRunner().invoke(cli, ["-C", str(review_dir), "status"])
    assert healthy.exit_code == 0 and healthy.stderr == ""
    _break_first_analysis(review_dir)
    for args in ((), ("--json",)):
        result = CliRunner().invoke(cli, ["-C", str(review_dir), "status", *args])
        assert result.exit_code == 0, result.output
        (warning,) = result.stderr.splitlines()
        assert "analyses[0]" in warning and "reviewkit protocol check" in warning
        if args:
            assert json.loads(result.stdout)["identified"] == 0
        else:
            assert "Identified" in result.stdout


def test_replace_refuses_switching_the_rob_tool_once_assessments_exist(review_dir: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """rob1 → rob2 with a RoB 1 assessment stored is refused (its answers would read as nothing under RoB 2 and
    drop out of the plots); before any assessment the switch is a plain edit."""
    from reviewkit.services import assess
    from reviewkit.store import rob as rob_store
    from reviewkit.store.db import session_scope

    text = (review_dir / "review.toml").read_text(encoding="utf-8")
    assert 'tool = "rob1"' in text
    rob2 = tmp_path / "rob2.toml"
    rob2.write_text(text.replace('tool = "rob1"', 'tool = "rob2"'), encoding="utf-8")
    review = open_review(review_dir)
    with session_scope(review.engine, write=True) as session:
        sid = rob_store.add_study(session, "S1").id
    assess.start_assessment(review, "bob", sid, "IGA")
    review.engine.dispose()
    result = run(review_dir, "replace", str(rob2), reviewer="alice")
    assert result.exit_code == 1
    assert "risk_of_bias.tool cannot change from 'rob1' to 'rob2': 1 assessment was made with rob1" in result.stderr
    assert (review_dir / "review.toml").read_text(encoding="utf-8") == text
    fresh = tmp_path / "fresh"
    monkeypatch.delenv("REVIEWKIT_DATABASE_URL", raising=False)  # a review of its own (SQLite)
    assert CliRunner().invoke(cli, ["init", str(fresh)]).exit_code == 0
    assert run(fresh, "replace", str(rob2), reviewer="alice").exit_code == 0


def test_replace_refuses_fewer_screeners_than_records_already_have(review_dir: Path, tmp_path: Path) -> None:
    """Three screeners decided a record; lowering screeners_per_record to 2 is refused (the extra decision could
    no longer be imported into a copy, so the history export would stop replaying); 3 stays accepted."""
    from reviewkit.services import screen

    text = (review_dir / "review.toml").read_text(encoding="utf-8")
    three = tmp_path / "three.toml"
    three.write_text(text.replace("screeners_per_record = 2", "screeners_per_record = 3")
                     + '\n[[reviewers]]\nname = "dave"\nrole = "screener"\n', encoding="utf-8")
    assert run(review_dir, "replace", str(three), reviewer="alice").exit_code == 0
    review = open_review(review_dir)
    from tests.factories import add_records
    (rid,) = add_records(review, 1)
    for who in ("alice", "bob", "dave"):
        screen.record_decision(review, who, rid, "ta", "include")
    review.engine.dispose()
    two = tmp_path / "two.toml"
    two.write_text(three.read_text(encoding="utf-8").replace("screeners_per_record = 3", "screeners_per_record = 2"),
                   encoding="utf-8")
    result = run(review_dir, "replace", str(two), reviewer="alice")
    assert result.exit_code == 1
    assert ("screening.screeners_per_record cannot go down to 2: records already have 3 screeners' decisions at "
            "title/abstract") in result.stderr
    assert (review_dir / "review.toml").read_text(encoding="utf-8") == three.read_text(encoding="utf-8")


def _without_a_lead(text: str) -> str:
    """The example protocol with alice no longer a lead (the only one it has)."""
    assert text.count('"lead"') == 1
    return text.replace('roles = ["screener", "lead"]', 'roles = ["screener"]', 1)


def test_a_protocol_without_a_lead_is_refused_by_check_replace_and_init(review_dir: Path, tmp_path: Path) -> None:
    """Nobody could replace the protocol, read the audit or back up afterwards: refused naming the file, the
    reviewers key and its line; the review's protocol is left as it was."""
    text = (review_dir / "review.toml").read_text(encoding="utf-8")
    bad = tmp_path / "nolead.toml"
    bad.write_text(_without_a_lead(text), encoding="utf-8")
    line = next(i for i, row in enumerate(bad.read_text().splitlines(), 1) if row == "[[reviewers]]")
    before = (review_dir / "review.toml").read_bytes()
    for result in (run(review_dir, "check", str(bad)), run(review_dir, "replace", str(bad), reviewer="alice"),
                   CliRunner().invoke(cli, ["init", str(tmp_path / "new"), "--protocol", str(bad)])):
        assert result.exit_code == 1, result.output
        assert "OK" not in result.stdout
        (error,) = result.stderr.splitlines()
        assert f"{bad}: line {line}: 'reviewers': no reviewer is a lead (alice, bob, carol)" in error
    assert (review_dir / "review.toml").read_bytes() == before
    assert not (tmp_path / "new").exists()
    assert _protocol_events(review_dir) == []


def test_a_review_whose_protocol_has_no_lead_still_opens_and_warns(review_dir: Path, tmp_path: Path) -> None:
    """A review.toml written before leads were required opens (status works, with one warning); once the file
    gives someone the lead role again, replace works."""
    path = review_dir / "review.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(_without_a_lead(text), encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(review_dir), "status"])
    assert result.exit_code == 0, result.output
    (warning,) = result.stderr.splitlines()
    assert "no reviewer is a lead" in warning and str(path) in warning
    assert run(review_dir, "check").exit_code == 1  # check is strict: it says what to fix
    path.write_text(text, encoding="utf-8")
    assert run(review_dir, "replace", str(_edited(review_dir, tmp_path)), reviewer="alice").exit_code == 0


def test_replace_keeps_the_protocol_files_permissions(review_dir: Path, tmp_path: Path) -> None:
    """A team sharing one machine reads a group-readable review.toml: the replaced file keeps its mode
    (the temporary file it is renamed from was 0600, which locked the others out of the review)."""
    path = review_dir / "review.toml"
    path.chmod(0o664)
    result = run(review_dir, "replace", str(_edited(review_dir, tmp_path)), reviewer="alice")
    assert result.exit_code == 0, result.output
    assert path.stat().st_mode & 0o777 == 0o664


def test_replace_writes_through_a_linked_protocol(review_dir: Path, tmp_path: Path) -> None:
    """A review.toml that links to a shared file is replaced where the link points; the link stays."""
    path = review_dir / "review.toml"
    shared = tmp_path / "shared.toml"
    path.rename(shared)
    path.symlink_to(shared)
    new = _edited(review_dir, tmp_path)
    result = run(review_dir, "replace", str(new), reviewer="alice")
    assert result.exit_code == 0, result.output
    assert path.is_symlink() and shared.read_bytes() == new.read_bytes()


def test_replace_refuses_moving_the_review_to_another_database(review_dir: Path, tmp_path: Path) -> None:
    """A new database_url would cut the review off its records (the next command finds another database,
    or none): refused, naming the key and how to move a review; review.toml and the audit unchanged."""
    path = review_dir / "review.toml"
    before = path.read_bytes()
    new = tmp_path / "moved.toml"
    new.write_text('database_url = "postgresql://u:secret@db.example/other"\n' + before.decode("utf-8"),
                   encoding="utf-8")
    result = run(review_dir, "replace", str(new), reviewer="alice")
    assert result.exit_code == 1
    assert "database_url" in result.stderr and "restore" in result.stderr
    assert "secret" not in result.stderr
    assert path.read_bytes() == before
    assert _protocol_events(review_dir) == []


def test_replace_refuses_a_reviewer_renamed_only_in_case(review_dir: Path, tmp_path: Path) -> None:
    """"bob" written "Bob" would be a second reviewer to the database: bob's decisions would not be Bob's,
    and one person could screen a record twice. Refused, naming both spellings; nothing changed."""
    path = review_dir / "review.toml"
    before = path.read_bytes()
    new = tmp_path / "renamed.toml"
    text = before.decode("utf-8")
    assert text.count('name = "bob"') == 1
    new.write_text(text.replace('name = "bob"', 'name = "Bob"'), encoding="utf-8")
    result = run(review_dir, "replace", str(new), reviewer="alice")
    assert result.exit_code == 1
    assert "'Bob'" in result.stderr and "'bob'" in result.stderr and "case" in result.stderr
    assert path.read_bytes() == before
    assert _protocol_events(review_dir) == []
    review = open_review(review_dir)
    try:
        assert review.protocol.reviewer("Bob") is None
    finally:
        review.engine.dispose()


def test_a_reviewer_renamed_only_in_case_by_hand_is_refused_on_opening(review_dir: Path) -> None:
    """The same rename made by editing review.toml directly: the next command refuses to open the review,
    naming the file and both spellings, instead of quietly adding a second reviewer "Bob"."""
    path = review_dir / "review.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('name = "bob"', 'name = "Bob"'), encoding="utf-8")
    result = CliRunner().invoke(cli, ["-C", str(review_dir), "status"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"error: {path}: reviewer 'Bob' differs only in case from 'bob', whose work "
                                     "the review holds: it would be a second reviewer (write the name as 'bob')")
    path.write_text(path.read_text(encoding="utf-8").replace('name = "Bob"', 'name = "bob"'), encoding="utf-8")
    assert CliRunner().invoke(cli, ["-C", str(review_dir), "status"]).exit_code == 0
