"""Provides inter-rater agreement per stage and reviewer pair (Cohen's kappa with its 95% CI)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import cast

from reviewkit.domain.agreement import Agreement, cohen_kappa
from reviewkit.domain.screening import STAGES, Decision, Stage, is_blind_to_others, resolve
from reviewkit.services.common import acting_reviewer
from reviewkit.services.project import Review
from reviewkit.services.screen_state import stage_candidates
from reviewkit.store import queries
from reviewkit.store import screening as store
from reviewkit.store.db import session_scope


@dataclass(frozen=True)
class PairAgreement:
    """Agreement of two reviewers at one stage, over the records both decided."""

    stage: str
    reviewer_a: str
    reviewer_b: str
    agreement: Agreement

    def as_dict(self) -> dict[str, object]:
        """The JSON form `reviewkit agreement --json` prints."""
        a = self.agreement
        return {"stage": self.stage, "reviewers": [self.reviewer_a, self.reviewer_b], "kappa": a.kappa,
                "kappa_ci_lower": a.kappa_ci_lower, "kappa_ci_upper": a.kappa_ci_upper,
                # The domain keeps a proportion; the report speaks in percent, as its name says.
                "percent_agreement": None if a.percent_agreement is None else 100 * a.percent_agreement,
                "n": a.n,
                # What kappa was over: a maybe as include (the default at title/abstract) or its own category
                # (--keep-maybe, and always at full text), so a script can tell the two figures apart.
                "categories": list(a.categories),
                **({"note": a.reason} if a.reason else {})}


def no_figures_text(review: Review, viewer: str | None) -> str:
    """What to say when agreement_report has no pair for this viewer.

    A lead (or an adjudicator who does not screen) sees every record, so "none yet" is the fact. A
    screener's figures cover only the records released to them: telling them that no record has two
    reviewers' decisions would be false while such records wait for a third screener, and telling them
    that some do would reveal decisions on records still in their queue; so they are told what the
    figures count instead.
    """
    with session_scope(review.engine) as session:
        roles = set(acting_reviewer(session, viewer).roles)
    if "lead" in roles or "screener" not in roles:
        return "No record has decisions from two reviewers yet."
    return ("No agreement figures for you yet: they count the records you and another reviewer have both "
            "decided, once every decision the protocol asks for on the record is in.")


def agreement_report(review: Review, viewer: str | None, *, collapse_maybe: bool = True) -> list[PairAgreement]:
    """Kappa and percentage agreement for every reviewer pair with shared decisions, per stage.

    Decisions are each reviewer's current ones (changes replace, undos remove), on the records in the
    stage (a removed duplicate's stop counting, as in status and PRISMA); with
    `collapse_maybe`, maybe counts as include at title/abstract, as it moves a record forward; at
    full text a maybe is a conflict with either (domain.screening.resolve), so there it is always
    its own category. A lead sees every
    pair over every record, and so does an adjudicator who does not screen. Anyone else who
    screens sees figures only over the records released to them at the stage (they have decided
    and the record has all its decisions: domain.screening.is_blind_to_others, the rule of the
    screen and the decisions export): with three screeners per record, two having decided does not
    end blinding, and a figure over such records (or a note that both chose exclude every time)
    would reveal a decision on a record still in their queue. Of those records, a screener sees
    their own pairs, a screener who also adjudicates every pair.
    """
    required = review.protocol.screening.screeners_per_record
    out: list[PairAgreement] = []
    with session_scope(review.engine) as session:
        who = acting_reviewer(session, viewer)
        roles = set(who.roles)
        every_record = "lead" in roles or "screener" not in roles
        every_pair = bool(roles & {"lead", "adjudicator"})
        names = store.reviewer_names(session)
        # Only records still in the stage, as status, PRISMA and the conflicts list count them: a removed
        # duplicate's decisions were real, but its paper is in the stage once, as its group's primary.
        stages: dict[Stage, dict[int, dict[int, Decision]]] = {}
        for stage in STAGES:
            in_stage = stage_candidates(session, stage, required)
            stages[stage] = {rid: d for rid, d in queries.current_decisions(session, stage).items() if rid in in_stage}
        adjudicated = {stage: queries.adjudications(session, stage) for stage in STAGES}
    for stage, by_record in stages.items():
        if not every_record:
            by_record = {
                rid: d for rid, d in by_record.items()
                if not is_blind_to_others(d.get(cast(int, who.id)),
                                          resolve(d, required, adjudicated[stage].get(rid), stage=stage).outcome)
            }
        reviewers = sorted({r for decisions in by_record.values() for r in decisions}, key=lambda r: names[r])
        for a, b in combinations(reviewers, 2):
            if not every_pair and who.id not in (a, b):
                continue
            pairs = [(d[a], d[b]) for d in by_record.values() if a in d and b in d]
            if pairs:
                out.append(PairAgreement(stage, names[a], names[b], cohen_kappa(pairs, collapse_maybe=collapse_maybe and stage == "ta")))
    return out
