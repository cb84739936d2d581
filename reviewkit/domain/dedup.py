"""Provides duplicate detection over a list of records: automatic merges, a review queue and groups.

Stages: every record is normalised for matching (domain/normalise.py); blocking picks candidate
pairs in near-linear time (exact identifiers plus sorted neighbourhoods, dedup_features.py); the
title similarity of all candidates is computed in one batch in C (rapidfuzz cpdist); pairs with a
plausible title or a shared identifier get the full field comparison and score (dedup_score.py).
Pairs at or above the automatic threshold that pass the gates merge; other pairs scoring at or
above the review threshold go to the human review queue (one pair per two groups), except those a
do-not-merge rule forbids, which are listed apart as blocked. Groups are the union-find closure of
the automatic merges, refusing any union a do-not-merge rule forbids for any two records joined.
A group's primary (the record kept) is the one screening took furthest (`choose_primary`), so a
fuller copy found later never takes a screened paper out of screening; only among records equally
far along does the most complete metadata decide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from reviewkit.domain.dedup_features import (
    Prepared,
    candidate_pairs,
    prepare,
    shared_key,
    title_similarity,
)
from reviewkit.domain.dedup_rules import RecordFlags, do_not_merge, merge_flags
from reviewkit.domain.dedup_score import score_pair
from reviewkit.domain.records import Record

AUTO_THRESHOLD = 0.95
REVIEW_THRESHOLD = 0.85
#: Candidates below this title similarity are dropped before the full comparison unless an
#: identifier or the volume and first page tie them; it keeps the per-pair work near n.
TITLE_PREFILTER = 0.70
WINDOW = 8
#: How far screening took a record: (stage reached: 2 full text, 1 title/abstract, 0 none; how many
#: current decisions it has). Tuples compare in that order: full text beats title/abstract, then more.
ScreeningProgress = tuple[int, int]
NOT_SCREENED: ScreeningProgress = (0, 0)


@dataclass(frozen=True, slots=True)
class CandidatePair:
    """Two records (indexes into the input) that may be duplicates, with the evidence."""

    a: int
    b: int
    score: float
    fields: dict[str, float]
    #: Why the pair was not merged automatically ("" for an automatic merge).
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Records judged to be one publication; `primary` is the one kept (see `choose_primary`)."""

    primary: int
    members: tuple[int, ...]


@dataclass(frozen=True)
class DedupSettings:
    """The settings a result was produced with."""

    auto_threshold: float = AUTO_THRESHOLD
    review_threshold: float = REVIEW_THRESHOLD
    window: int = WINDOW
    title_prefilter: float = TITLE_PREFILTER


@dataclass(frozen=True)
class DedupResult:
    """Groups from the automatic merges, the merged pairs, the review queue and the settings used."""

    groups: list[DuplicateGroup]
    auto_pairs: list[CandidatePair]
    uncertain_pairs: list[CandidatePair]
    settings: DedupSettings
    n_records: int
    n_candidates: int = 0
    #: Pairs a do-not-merge rule kept apart although they look alike (for the UI to explain).
    blocked_pairs: list[CandidatePair] = field(default_factory=list)


_WEIGHTS = {"title": 2, "abstract": 2, "authors": 2, "year": 1, "journal": 1, "volume": 1, "issue": 1,
            "pages": 1, "doi": 2, "pmid": 2, "pmcid": 1, "keywords": 1, "mesh_terms": 1, "issn": 1,
            "publication_types": 1, "language": 1, "url": 1}


def completeness(record: Record) -> int:
    """Return how complete a record's metadata is: a weighted count of its non-empty fields."""
    return sum(w for name, w in _WEIGHTS.items() if getattr(record, name) not in (None, "", ()))


def choose_primary(members: Iterable[int], record_of: Callable[[int], Record],
                   screened: Mapping[int, ScreeningProgress] | None = None) -> int:
    """The member a duplicate group keeps: the one screening took furthest (full-text decisions beat
    title/abstract ones, then more current decisions), then the most complete metadata, then the lowest id.

    `screened` maps a member to its progress (absent: not screened). It is an input, not looked up,
    so this core stays free of the database; the caller reads the decisions.
    """
    progress = screened or {}
    return max(members, key=lambda i: (progress.get(i, NOT_SCREENED), completeness(record_of(i)), -i))


def also_screened(primary: int, members: Iterable[int], screened: Mapping[int, ScreeningProgress] | None
                  ) -> list[int]:
    """The members other than the primary that carry screening decisions too (they stop counting once merged)."""
    progress = screened or {}
    return sorted(m for m in members if m != primary and progress.get(m, NOT_SCREENED) > NOT_SCREENED)


class _Groups:
    """Union-find whose unions respect the do-not-merge rules across whole groups."""

    def __init__(self, flags: list[RecordFlags]) -> None:
        self.parent = list(range(len(flags)))
        self.flags = list(flags)

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> str | None:
        """Join the groups of a and b; return the rule that forbids it (nothing joined) or None."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        # venue_agrees=True: the abstract rule needs pair evidence, already checked for the pair itself.
        rule = do_not_merge(self.flags[ra], self.flags[rb], venue_agrees=True)
        if rule:
            return rule
        self.parent[rb] = ra
        self.flags[ra] = merge_flags(self.flags[ra], self.flags[rb])
        return None


def find_duplicates(
    records: Sequence[Record],
    *,
    auto_threshold: float = AUTO_THRESHOLD,
    review_threshold: float = REVIEW_THRESHOLD,
    window: int = WINDOW,
    progress: Callable[[int, int], None] | None = None,
    screened: Mapping[int, ScreeningProgress] | None = None,
) -> DedupResult:
    """Find duplicate records: automatic merges, uncertain pairs for review, and groups with a primary.

    `screened`: record index → how far screening took it (see `choose_primary`); absent: not screened.
    """
    if not 0.0 <= review_threshold <= auto_threshold <= 1.0:
        raise ValueError(f"need 0 <= review_threshold <= auto_threshold <= 1, got {review_threshold}, {auto_threshold}")
    settings = DedupSettings(auto_threshold, review_threshold, window, TITLE_PREFILTER)
    n = len(records)
    total = n + 2
    prepared: list[Prepared] = []
    step = max(1, n // 20)
    for i, record in enumerate(records):
        prepared.append(prepare(record))
        if progress and i % step == 0:
            progress(i, total)
    pairs = candidate_pairs(prepared, window)
    titles = title_similarity(prepared, pairs)
    if progress:
        progress(n + 1, total)
    keep = titles >= TITLE_PREFILTER
    keep |= shared_key(prepared, pairs)
    auto: list[CandidatePair] = []
    uncertain: list[CandidatePair] = []
    blocked: list[CandidatePair] = []
    for a, b, ratio in zip(pairs[0][keep].tolist(), pairs[1][keep].tolist(), titles[keep].tolist(), strict=True):
        verdict = score_pair(prepared[a], prepared[b], ratio, auto_threshold)
        pair = CandidatePair(a, b, verdict.score, verdict.fields, verdict.reason)
        if verdict.auto_ok:
            auto.append(pair)
        elif verdict.reason.startswith("rule:"):
            if verdict.score >= review_threshold:
                blocked.append(pair)
        elif verdict.score >= review_threshold:
            uncertain.append(pair)
    groups, auto, refused = _build_groups(records, prepared, auto, screened)
    blocked += refused
    uncertain = _one_pair_per_group_pair(uncertain, groups)
    if progress:
        progress(total, total)
    return DedupResult(groups, auto, uncertain, settings, n, int(pairs.shape[1]), blocked)


def _one_pair_per_group_pair(pairs: list[CandidatePair], groups: list[DuplicateGroup]) -> list[CandidatePair]:
    """The review queue: one pair (the best) per two groups, none inside a group, best first.

    Records the automatic merges already joined need no human look, and accepting one pair between
    two groups joins them whole, so the others between the same groups would be asked in vain.
    """
    root = {m: g.primary for g in groups for m in g.members}
    best: dict[tuple[int, int], CandidatePair] = {}
    for pair in pairs:
        ra, rb = root.get(pair.a, pair.a), root.get(pair.b, pair.b)
        if ra == rb:
            continue
        key = (min(ra, rb), max(ra, rb))
        if key not in best or pair.score > best[key].score:
            best[key] = pair
    return sorted(best.values(), key=lambda p: (-p.score, p.a, p.b))


def _build_groups(records: Sequence[Record], prepared: Sequence[Prepared], auto: list[CandidatePair],
                  screened: Mapping[int, ScreeningProgress] | None = None,
                  ) -> tuple[list[DuplicateGroup], list[CandidatePair], list[CandidatePair]]:
    """Groups from the automatic pairs (best first), the pairs merged, and those a group-level rule refused."""
    uf = _Groups([p.flags for p in prepared])
    merged: list[CandidatePair] = []
    refused: list[CandidatePair] = []
    for pair in sorted(auto, key=lambda p: (-p.score, p.a, p.b)):
        rule = uf.union(pair.a, pair.b)
        if rule:
            refused.append(replace(pair, reason=f"rule: {rule} (within the group)"))
        else:
            merged.append(pair)
    members: dict[int, list[int]] = {}
    for i in sorted({i for p in merged for i in (p.a, p.b)}):
        members.setdefault(uf.find(i), []).append(i)
    groups = []
    for group in members.values():
        primary = choose_primary(group, records.__getitem__, screened)
        groups.append(DuplicateGroup(primary, tuple(group)))
    groups.sort(key=lambda g: g.members[0])
    return groups, merged, refused


def explain(a: Record, b: Record) -> dict[str, object]:
    """Return the side-by-side evidence for two records: their matching forms, field similarities and verdict."""
    pa, pb = prepare(a), prepare(b)
    verdict = score_pair(pa, pb)
    return {
        "score": verdict.score,
        "fields": verdict.fields,
        "reason": verdict.reason,
        "auto": verdict.auto_ok,
        "normalised": {
            name: (getattr(pa, name), getattr(pb, name))
            for name in ("title", "authors", "year", "journal", "volume", "pages", "doi", "pmid")
        },
        "flags": (pa.flags, pb.flags),
    }
