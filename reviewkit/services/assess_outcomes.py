"""Provides the names of the results assessed for risk of bias: one spelling per result, near-misses refused.

RoB 2 is assessed per result, and a result's name is free text. Two spellings of one result would
make two results, each with its own assessors and consensus, and the plots would show both; so a
name is read as the review already spells it (`resolve_outcome`), and a new name that is a slip
of an existing one is refused (`OutcomeNearMiss`) until the reviewer says it is a new result.

What counts as a near-miss (`is_near_miss`), on the names compared without case, spaces or
punctuation (`folded_key`, as an extraction import matches study labels):

- a name that differs from a known one only in punctuation ("iga 0/1", "IGA 0 1" for the protocol's
  "iga_0_1"), with the same numbers, is one (punctuation that joins or splits numbers makes other
  numbers: "week 1/2" is not "week 12"): it is read as the known name only when the two differ in case or spaces alone
  (`outcome_key`), so a punctuation variant is refused naming the name used, never started as a
  second result;
- otherwise the numbers must be the same: a result's numbers carry most of what legitimately tells
  results apart (time points "week 12" / "week 16", thresholds "EASI 75" / "EASI 90"; the example
  protocol's own outcomes easi50/easi75/easi90 differ only there);
- and the rest differs by at most MAX_EDITS edits (insert, delete, substitute, or swap two
  neighbours: rapidfuzz's OSA distance), and by at most one per CHARS_PER_EDIT characters of the
  longer name, so short abbreviations that differ by one letter ("AE" / "SAE", "ITT" / "mITT") stay
  distinct results. A similarity ratio (rapidfuzz `fuzz.ratio` >= 90) was not used: it counts a
  swap or a substitution as two edits, so it misses "esai50" for "easi50" (83), and on short names
  it flags nothing at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rapidfuzz.distance import OSA

from reviewkit.errors import ReviewkitError
from reviewkit.services.project import Review
from reviewkit.store import rob as store

if TYPE_CHECKING:
    from sqlmodel import Session

#: A near-miss differs by at most this many edits ...
MAX_EDITS = 2
#: ... and by at most one edit per this many characters of the longer name (compared without spaces or punctuation).
CHARS_PER_EDIT = 5

_NUMBER = re.compile(r"\d+")


def outcome_key(name: str) -> str:
    """A name compared without case or spaces: "IGA 0/1 week 16 " and "iga 0/1 week16" are one result."""
    return "".join(name.split()).casefold()


def folded_key(name: str) -> str:
    """A name compared without case, spaces or punctuation: "IGA 0/1", "iga 0 1" and "iga_0_1" fold alike
    (extract_checks.label_key's rule for study labels; "_" is punctuation here)."""
    return "".join(c for c in name.casefold() if c.isalnum())


def numbers_in(name: str) -> list[int]:
    """The numbers in `name`, each ended by anything not a digit (a space or punctuation too: "0/1",
    "0_1" and "0 1" are 0 and 1)."""
    return [int(n) for n in _NUMBER.findall(name)]


def is_near_miss(name: str, known: str) -> bool:
    """Whether `name` looks like a slip for `known` (see the module's docstring); equal keys (case and
    spaces aside) are not a near-miss but the same name; a name equal but for punctuation is one."""
    if not outcome_key(name) or not outcome_key(known) or outcome_key(name) == outcome_key(known):
        return False
    a, b = folded_key(name), folded_key(known)
    if not a or not b:
        return False
    # Numbers first, read from the names as typed: punctuation between digits separates numbers, so
    # "week 1/2" (1 and 2) is another result than "week 12" though the two fold alike.
    if numbers_in(name) != numbers_in(known):
        return False
    if a == b:
        return True
    allowed = min(MAX_EDITS, max(len(a), len(b)) // CHARS_PER_EDIT)
    return allowed > 0 and OSA.distance(a, b, score_cutoff=allowed) <= allowed


def near_misses(name: str, known: Iterable[str]) -> list[str]:
    """The known names `name` is a near-miss of, closest first."""
    close = [k for k in dict.fromkeys(known) if is_near_miss(name, k)]
    return sorted(close, key=lambda k: OSA.distance(folded_key(name), folded_key(k)))


class OutcomeNearMiss(ReviewkitError):
    """A new result name close to one the review already uses: `close` holds those names, closest first."""

    def __init__(self, outcome: str, close: Sequence[str], protocol: Iterable[str] = ()) -> None:
        self.outcome = outcome
        self.close = tuple(close)
        planned = set(protocol)
        named = ", ".join(f"'{c}'" + (" (a protocol outcome)" if c in planned else "") for c in self.close)
        super().__init__(
            f"outcome '{outcome}' is not used in this review's risk-of-bias assessments but is close to {named}: "
            "a second spelling would start a separate result, with its own assessors and consensus",
            hint=f"give the existing name (--outcome '{self.close[0]}'), or, if '{outcome}' is a different result, "
                 "start it with --new-outcome (the TUI asks which)")


def protocol_outcomes(review: Review) -> list[str]:
    """The outcome names of the protocol's extraction form."""
    return [o.name for o in review.protocol.extraction.outcomes]


def stored_outcomes(session: Session) -> list[tuple[int, str]]:
    """(study, outcome) of every stored assessment, oldest first: read once per import, not per row."""
    return [(a.study_id, a.outcome) for a in store.assessments(session)]


def known_outcomes(stored: Sequence[tuple[int, str]], protocol: Sequence[str], study_id: int,
                   also: Sequence[str] = ()) -> list[str]:
    """Every result name the review uses, in the order a spelling is preferred: the study's own
    assessments (so a second assessor joins the first), `also` (names an import has read so far),
    the protocol's, then the other studies' assessments (one result keeps one name across studies,
    or its plot would split)."""
    own = [o for s, o in stored if s == study_id]
    others = [o for s, o in stored if s != study_id]
    return list(dict.fromkeys([*own, *also, *protocol, *others]))


def resolve_outcome(outcome: str, known: Sequence[str], protocol: Sequence[str] = (), *,
                    new_outcome: bool = False) -> str:
    """`outcome` as `known` spells it (compared without case or spaces), or, when no name matches,
    `outcome` itself as a new result, unless it is a near-miss of a known name: that raises
    OutcomeNearMiss (marking the `protocol` names), unless `new_outcome` says it is a different result."""
    outcome = outcome.strip()
    spelled = next((k for k in known if outcome_key(k) == outcome_key(outcome)), None)
    if spelled is not None:
        return spelled
    close = near_misses(outcome, known)
    if close and not new_outcome:
        raise OutcomeNearMiss(outcome, close, protocol)
    return outcome


def study_outcome(session: Session, review: Review, study_id: int, outcome: str, *, new_outcome: bool = False) -> str:
    """resolve_outcome for one study against what the review stores and its protocol names (`rob start`)."""
    protocol = protocol_outcomes(review)
    return resolve_outcome(outcome, known_outcomes(stored_outcomes(session), protocol, study_id), protocol,
                           new_outcome=new_outcome)


def assessed_outcome(session: Session, study_id: int, outcome: str) -> str:
    """`outcome` as the study's independent assessments spell it (compared without case or spaces), for
    the commands that act on what was assessed (the consensus, its disagreements). A name no assessment
    of the study has is refused, suggesting the near-misses among them (is_near_miss), else naming them."""
    outcome = outcome.strip()
    names = list(dict.fromkeys(a.outcome for a in store.assessments(session, study_id=study_id)
                               if not a.is_consensus))
    spelled = next((n for n in names if outcome_key(n) == outcome_key(outcome)), None)
    if spelled is not None:
        return spelled
    close = near_misses(outcome, names)
    shown = [f"'{n}'" if n else "(no outcome)" for n in names]
    if close:
        hint = "did you mean " + " or ".join(f"'{c}'" for c in close) + f"? (--outcome '{close[0]}')"
    elif names:
        hint = "its assessed outcomes: " + ", ".join(shown)
    else:
        hint = "no one has assessed this study yet"
    raise ReviewkitError(f"study {study_id} has no assessment of '{outcome}'" if outcome
                         else f"study {study_id} has no assessment without an outcome", hint=hint)
