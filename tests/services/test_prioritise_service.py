"""Tests for the prioritised queue: relevant records rise, only the reviewer's own decisions count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reviewkit.domain.prioritise import tfidf_matrix
from reviewkit.domain.records import Record
from reviewkit.errors import ReviewkitError
from reviewkit.services import prioritise, screen
from reviewkit.services.prioritise import prioritised_queue
from reviewkit.services.project import Review
from reviewkit.services.protocol_edit import update_protocol
from tests.factories import add_records


def _records(review: Review) -> list[int]:
    relevant = [Record(title=f"Randomised trial of oral baricitinib in atopic dermatitis, cohort {i}",
                       abstract="placebo-controlled randomised trial of baricitinib in eczema")
                for i in range(6)]
    irrelevant = [Record(title=f"Fracture healing after hip surgery in older adults, series {i}",
                         abstract="orthopaedic case series of hip fractures")
                  for i in range(6)]
    mixed = [x for pair in zip(irrelevant, relevant, strict=True) for x in pair]  # alternate in import order
    return add_records(review, mixed)


def test_own_decisions_lift_relevant_records(review: Review) -> None:
    """After one include and one exclude, alice's queue puts the baricitinib trials first."""
    ids = _records(review)
    irrelevant, relevant = ids[0::2], ids[1::2]
    cold = prioritised_queue(review, "alice", "ta")
    assert not cold.fitted and "cold start" in cold.reason
    screen.record_decision(review, "alice", relevant[0], "ta", "include")
    screen.record_decision(review, "alice", irrelevant[0], "ta", "exclude")
    q = prioritised_queue(review, "alice", "ta")
    assert q.fitted
    assert set(q.order[:5]) == set(relevant[1:])
    assert q.stopping.n_screened == 2 and q.stopping.n_relevant_found == 1
    assert q.stopping.since_last_relevant == 1


def test_queue_order_ignores_other_reviewers(review: Review) -> None:
    """bob's decisions never change alice's order (no leak through the ranking)."""
    ids = _records(review)
    before = prioritised_queue(review, "alice", "ta").order
    screen.record_decision(review, "bob", ids[1], "ta", "include")
    screen.record_decision(review, "bob", ids[0], "ta", "exclude")
    assert prioritised_queue(review, "alice", "ta").order == before


@pytest.mark.parametrize("model", ["svm", "logistic"])
def test_protocol_chooses_the_ranker(review: Review, model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """prioritise_model in [screening] picks the ranker (its features and its classifier); every ranker
    lifts the relevant records."""
    used: list[tuple[str, str]] = []

    class Spy(prioritise.Prioritiser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            used.append(("classifier", kwargs["model"]))
            super().__init__(*args, **kwargs)

    def features(texts: list[str], *, model: str) -> Any:
        used.append(("features", model))
        return tfidf_matrix(texts, model=model)  # type: ignore[arg-type]

    monkeypatch.setattr(prioritise, "Prioritiser", Spy)
    monkeypatch.setattr(prioritise, "tfidf_matrix", features)
    text = review.protocol_path.read_text(encoding="utf-8")
    review = update_protocol(
        review, "alice", text.replace("[screening]\n", f'[screening]\nprioritise_model = "{model}"\n', 1))
    assert review.protocol.screening.prioritise_model == model
    ids = _records(review)
    irrelevant, relevant = ids[0::2], ids[1::2]
    screen.record_decision(review, "alice", relevant[0], "ta", "include")
    screen.record_decision(review, "alice", irrelevant[0], "ta", "exclude")
    q = prioritised_queue(review, "alice", "ta")
    assert q.fitted
    assert set(q.order[:5]) == set(relevant[1:])
    assert set(used) == {("features", model), ("classifier", model)}


def test_unknown_ranker_is_refused_with_its_line(review: Review) -> None:
    """A misspelt model names the key and its line, and the protocol file is left as it was."""
    before = review.protocol_path.read_text(encoding="utf-8")
    changed = before.replace("[screening]\n", '[screening]\nprioritise_model = "bert"\n', 1)
    with pytest.raises(ReviewkitError) as caught:
        update_protocol(review, "alice", changed)
    message = str(caught.value)
    assert "prioritise_model" in message and "line" in message
    assert review.protocol_path.read_text(encoding="utf-8") == before


def test_a_decision_undone_and_made_again_counts_where_it_was_made_again(review: Review) -> None:
    """An undone decision puts the record back unscreened: made again later (after skipping it and
    screening others), it is the latest record screened, so the run of irrelevant records follows it.
    It used to keep the undone decision's place, so an include made last still showed a run of 2."""
    ids = _records(review)
    irrelevant, relevant = ids[0::2], ids[1::2]
    screen.record_decision(review, "alice", irrelevant[0], "ta", "exclude")
    screen.record_decision(review, "alice", relevant[0], "ta", "include")
    screen.undo_decision(review, "alice", relevant[0], "ta")  # back in the queue, skipped for now
    screen.record_decision(review, "alice", irrelevant[1], "ta", "exclude")
    screen.record_decision(review, "alice", irrelevant[2], "ta", "exclude")
    assert prioritised_queue(review, "alice", "ta").stopping.since_last_relevant == 3  # nothing relevant yet
    screen.record_decision(review, "alice", relevant[0], "ta", "include")
    stop = prioritised_queue(review, "alice", "ta").stopping
    assert (stop.n_screened, stop.n_relevant_found, stop.since_last_relevant) == (4, 1, 0)


def test_a_changed_decision_keeps_its_place(review: Review) -> None:
    """Changing a decision (no undo between) re-judges a record screened earlier: the run counts the
    records screened after it, not from the change."""
    ids = _records(review)
    irrelevant = ids[0::2]
    for rid in irrelevant[:4]:
        screen.record_decision(review, "alice", rid, "ta", "exclude")
    screen.record_decision(review, "alice", irrelevant[1], "ta", "maybe")  # a maybe moves on, as an include
    stop = prioritised_queue(review, "alice", "ta").stopping
    assert (stop.n_screened, stop.n_relevant_found, stop.since_last_relevant) == (4, 1, 2)


def test_the_stopping_aid_counts_the_reviewers_own_records(tmp_path: Path, database_url: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Three screeners, two a record: four records bob and dave decided are none of alice's to find. They
    counted as unscreened in her urn, so with her queue empty her recall bound stayed under 100%; the
    urn is now her decided records and her queue."""
    from reviewkit.services.project import EXAMPLE_PROTOCOL, init_review

    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("REVIEWKIT_DATABASE_URL", database_url)
    protocol = tmp_path / "three.toml"
    protocol.write_text(EXAMPLE_PROTOCOL.read_text(encoding="utf-8")
                        + '\n[[reviewers]]\nname = "dave"\nrole = "screener"\n', encoding="utf-8")
    team = init_review(tmp_path / "r", protocol)
    try:
        ids = _records(team)
        for rid in ids[:4]:
            for who in ("bob", "dave"):
                screen.record_decision(team, who, rid, "ta", "exclude")
        screen.record_decision(team, "alice", ids[5], "ta", "include")
        screen.record_decision(team, "alice", ids[4], "ta", "exclude")
        stop = prioritised_queue(team, "alice", "ta").stopping
        assert (stop.n_total, stop.n_screened) == (8, 2)  # 12 records, 4 of them never hers
        assert prioritise.stopping_aid(team, "alice", "ta").n_total == 8
        for rid in ids[6:]:
            screen.record_decision(team, "alice", rid, "ta", "include" if rid in ids[1::2] else "exclude")
        stop = prioritise.stopping_aid(team, "alice", "ta")
        assert stop.n_screened == stop.n_total == 8 and stop.recall_lower_bound == 1.0
    finally:
        team.engine.dispose()
