"""Tests for `reviewkit dedup confirm|reject|undo|reopen`: one verdict per pair, said aloud, by a named reviewer."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reviewkit.cli import cli
from reviewkit.domain.records import Record
from reviewkit.services import dedup
from reviewkit.services.audit import audit_trail
from reviewkit.services.project import Review
from tests.factories import PAIR_TITLE, add_records, uncertain_pair


def run(folder: Path, *args: str, reviewer: str | None = "alice") -> Result:
    """Invoke `reviewkit dedup ...` on a review folder."""
    pre = ["-C", str(folder)] + (["--reviewer", reviewer] if reviewer else [])
    return CliRunner().invoke(cli, [*pre, "dedup", *args])


@pytest.fixture
def pair(review: Review) -> dedup.PairView:
    return uncertain_pair(review)


def groups_in_export(review: Review, tmp_path: Path) -> dict[int, str]:
    """record → its group in `dedup export`."""
    out = tmp_path / "d.csv"
    assert run(review.folder, "export", str(out)).exit_code == 0
    return {int(r["record"]): r["group"] for r in csv.DictReader(out.open(encoding="utf-8"))}


def test_each_verdict_says_what_it_did(review: Review, pair: dedup.PairView) -> None:
    """confirm names the new group, undo the records it splits; both are audited under the reviewer."""
    result = run(review.folder, "confirm", str(pair.id))
    assert result.exit_code == 0, result.output
    group = dedup.group_of(review, pair.a_id)
    assert result.output.strip() == f"pair {pair.id}: confirmed; records {pair.a_id} and {pair.b_id} are now group {group}"
    result = run(review.folder, "undo", str(group))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"group {group}: undone; records {pair.a_id}, {pair.b_id} count separately again",
        f"  pair {pair.id} was confirmed and its records are apart now: "
        f"`reviewkit dedup reopen {pair.id}` puts it back to check"]
    assert [(e.action, e.actor) for e in audit_trail(review) if e.entity.startswith("duplicate")] == [
        ("confirmed", "alice"), ("merge", "alice"), ("undo", "alice")]
    # The hint works: the pair waits for a verdict again.
    assert run(review.folder, "reopen", str(pair.id)).exit_code == 0
    assert [p.id for p in dedup.pending_pairs(review)] == [pair.id]


def test_reject_says_records_stay_apart(review: Review, pair: dedup.PairView) -> None:
    """reject prints what it decided."""
    result = run(review.folder, "reject", str(pair.id))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"pair {pair.id}: rejected; records {pair.a_id} and {pair.b_id} stay apart"


def test_reject_after_confirm_is_refused_and_points_at_undo(review: Review, pair: dedup.PairView,
                                                            tmp_path: Path) -> None:
    """A rejection cannot leave a confirmed pair merged: it is refused, naming `dedup undo GROUP`."""
    assert run(review.folder, "confirm", str(pair.id)).exit_code == 0
    group = dedup.group_of(review, pair.a_id)
    result = run(review.folder, "reject", str(pair.id), reviewer="bob")
    assert result.exit_code == 1
    assert f"pair {pair.id} is already confirmed by alice" in result.stderr
    assert f"reviewkit dedup undo {group}" in result.stderr
    rows = groups_in_export(review, tmp_path)
    assert rows[pair.a_id] == rows[pair.b_id] == str(group)
    assert [e.action for e in audit_trail(review) if e.entity == "duplicate_pair"] == ["confirmed"]


def test_confirming_twice_is_refused_without_a_new_merge(review: Review, pair: dedup.PairView) -> None:
    """The second confirm names the group the first made and merges nothing again."""
    assert run(review.folder, "confirm", str(pair.id)).exit_code == 0
    group = dedup.group_of(review, pair.a_id)
    result = run(review.folder, "confirm", str(pair.id))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: pair {pair.id} is already confirmed (group {group})"
    assert [e.action for e in audit_trail(review) if e.entity == "duplicate_group"] == ["merge"]


def test_rejected_pair_is_not_confirmed_later(review: Review, pair: dedup.PairView) -> None:
    """A rejection stands: a later confirm is refused and merges nothing."""
    assert run(review.folder, "reject", str(pair.id), reviewer="bob").exit_code == 0
    result = run(review.folder, "confirm", str(pair.id))
    assert result.exit_code == 1 and f"pair {pair.id} is already rejected by bob" in result.stderr
    assert dedup.group_of(review, pair.a_id) is None


def test_unknown_pair_and_group(review: Review) -> None:
    """A pair or group that does not exist is named."""
    assert "no duplicate pair 99" in run(review.folder, "confirm", "99").stderr
    assert "no live duplicate group 99" in run(review.folder, "undo", "99").stderr


@pytest.mark.parametrize("args", [("confirm",), ("reject",)])
def test_a_verdict_needs_a_reviewer_of_the_review(review: Review, pair: dedup.PairView, args: tuple[str]) -> None:
    """A name not in review.toml, or no name at all, is refused and nothing is decided."""
    result = run(review.folder, *args, str(pair.id), reviewer="zed")
    assert result.exit_code == 1 and "unknown reviewer 'zed'" in result.stderr
    result = run(review.folder, *args, str(pair.id), reviewer=None)
    assert result.exit_code == 1 and "no reviewer given" in result.stderr
    assert [p.id for p in dedup.pending_pairs(review)] == [pair.id]
    assert not [e for e in audit_trail(review) if e.entity.startswith("duplicate")]


def test_undo_needs_a_reviewer_of_the_review(review: Review, pair: dedup.PairView) -> None:
    """Undo by an unknown name is refused and the group stays."""
    assert run(review.folder, "confirm", str(pair.id)).exit_code == 0
    group = dedup.group_of(review, pair.a_id)
    result = run(review.folder, "undo", str(group), reviewer="zed")
    assert result.exit_code == 1 and "unknown reviewer 'zed'" in result.stderr
    assert dedup.group_of(review, pair.a_id) == group


def test_verdict_falls_back_to_the_user_config(review: Review, pair: dedup.PairView, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """With no --reviewer, the user config's reviewer decides (as every other command)."""
    config = tmp_path / "config.toml"
    config.write_text('reviewer = "bob"\n', encoding="utf-8")
    monkeypatch.setenv("REVIEWKIT_CONFIG", str(config))
    assert run(review.folder, "reject", str(pair.id), reviewer=None).exit_code == 0
    assert [e.actor for e in audit_trail(review) if e.entity == "duplicate_pair"] == ["bob"]


def test_automatic_run_keeps_its_system_actor_but_refuses_unknown_names(review: Review) -> None:
    """`dedup` with no reviewer merges as 'dedup'; a named run must name a reviewer of the review."""
    same = Record(title=PAIR_TITLE, authors=("Reich, K",), year=2020, journal="J Derm", doi="10.1/x")
    add_records(review, [same, same])
    result = run(review.folder, reviewer="zed")
    assert result.exit_code == 1 and "unknown reviewer 'zed'" in result.stderr
    assert run(review.folder, reviewer=None).exit_code == 0
    assert [e.actor for e in audit_trail(review) if e.action == "merge"] == ["dedup"]


def test_reopen_takes_back_a_rejection(review: Review, pair: dedup.PairView, tmp_path: Path) -> None:
    """reject → reopen lists the pair again (as waiting) and a confirm merges it; all under the reviewers."""
    assert run(review.folder, "reject", str(pair.id), reviewer="bob").exit_code == 0
    result = run(review.folder, "reopen", str(pair.id))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (f"pair {pair.id}: reopened; records {pair.a_id} and {pair.b_id} wait for a "
                                     f"verdict (reviewkit dedup confirm {pair.id})")
    assert run(review.folder, "pairs").output.startswith(f"pair {pair.id}  score")
    assert run(review.folder, "confirm", str(pair.id)).exit_code == 0
    rows = groups_in_export(review, tmp_path)
    assert rows[pair.a_id] == rows[pair.b_id] != ""
    assert [(e.action, e.actor) for e in audit_trail(review) if e.entity == "duplicate_pair"] == [
        ("rejected", "bob"), ("reopen", "alice"), ("confirmed", "alice")]


def test_reopen_refuses_what_is_not_rejected(review: Review, pair: dedup.PairView) -> None:
    """A waiting pair has nothing to reopen; a confirmed one is split with `dedup undo GROUP`."""
    result = run(review.folder, "reopen", str(pair.id))
    assert result.exit_code == 1 and "nothing to reopen" in result.stderr
    assert run(review.folder, "confirm", str(pair.id)).exit_code == 0
    group = dedup.group_of(review, pair.a_id)
    result = run(review.folder, "reopen", str(pair.id))
    assert result.exit_code == 1
    assert f"pair {pair.id} is confirmed by alice: records {pair.a_id} and {pair.b_id} are merged" in result.stderr
    assert f"reviewkit dedup undo {group}" in result.stderr
    assert "no duplicate pair 99" in run(review.folder, "reopen", "99").stderr


def test_reopen_needs_a_reviewer_of_the_review(review: Review, pair: dedup.PairView) -> None:
    """An unknown name, or none, is refused and the rejection stands."""
    assert run(review.folder, "reject", str(pair.id)).exit_code == 0
    result = run(review.folder, "reopen", str(pair.id), reviewer="zed")
    assert result.exit_code == 1 and "unknown reviewer 'zed'" in result.stderr
    result = run(review.folder, "reopen", str(pair.id), reviewer=None)
    assert result.exit_code == 1 and "no reviewer given" in result.stderr
    assert dedup.pending_pairs(review) == []
