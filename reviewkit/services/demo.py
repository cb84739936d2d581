"""Provides `reviewkit demo`: a complete example review of the worked example, built through the services."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from reviewkit.errors import ReviewkitError
from reviewkit.services import screen
from reviewkit.services.dedup import run_dedup
from reviewkit.services.identify import import_file
from reviewkit.services.project import EXAMPLE_PROTOCOL, Review, init_review, open_review
from reviewkit.services.studies import list_studies, rename_study, set_report_link
from reviewkit.store.convert import row_to_record
from reviewkit.store.db import session_scope

#: Where the demo's inputs live: the project's fixtures (a source checkout) or the installed copy.
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MARK = "EXAMPLE DATA (reviewkit demo): "
#: Titles the demo's reviewers exclude at title/abstract, with who decides what.
_TA_EXCLUDE = ("narrative review", "murine model", "case report", "plaque psoriasis")
_TA_CONFLICT = "open-label extension"
_FT_EXCLUDE = {"week-16 results of BREEZE-AD7": "Conference abstract"}


def build_demo(folder: Path, *, log: Callable[[str], None] = lambda _: None) -> Review:
    """Build the worked example's review in `folder`, clearly marked as example data.

    Records from RIS and ClinicalTrials.gov files, deduplication, two reviewers' title/abstract
    and full-text decisions with one conflict adjudicated, studies named after their trials,
    RoB 1 judgements and the arm-level extraction of fixtures/baricitinib, all made through the
    same services a reviewer uses.
    """
    demo = FIXTURES / "demo"
    if not (demo / "pubmed_export.ris").exists():
        raise ReviewkitError(f"the demo's fixtures are missing ({demo})",
                             hint="run reviewkit demo from a source checkout (pip install -e .)")
    text = EXAMPLE_PROTOCOL.read_text(encoding="utf-8").replace('title = "', f'title = "{MARK}', 1)
    folder.mkdir(parents=True, exist_ok=True)
    protocol = folder / "demo-protocol.toml"
    protocol.write_text(text, encoding="utf-8")
    review = init_review(folder, protocol)
    protocol.unlink()
    (folder / "EXAMPLE-DATA.txt").write_text(
        "This review was built by `reviewkit demo` from the worked example's fixtures.\n"
        "Its records, decisions and judgements are example data, made to show every screen;\n"
        "the trial numbers come from fixtures/baricitinib (see its README for each source).\n",
        encoding="utf-8")
    for name, source in (("pubmed_export.ris", "PubMed"), ("embase_export.ris", "Embase"),
                         ("ctgov_studies.json", "ClinicalTrials.gov")):
        summary = import_file(review, demo / name, source=source, actor="alice")
        log(f"imported {summary.records} records from {name}")
    dedup = run_dedup(review, actor="alice")
    log(f"dedup: {dedup.records_merged} duplicates merged")
    _screen(review, log)
    _name_studies(review)
    for step in (_assess, _extract):
        step(review, log)
    return open_review(folder)


def _titles(review: Review) -> dict[int, tuple[str, str]]:
    from reviewkit.store import dedup as store

    with session_scope(review.engine) as session:
        return {r.id: (r.title, r.kind) for r in store.records_with_ids(session)}  # type: ignore[misc]


def _screen(review: Review, log: Callable[[str], None]) -> None:
    titles = _titles(review)
    for rid in screen.screening_queue(review, "alice", "ta"):
        title = titles[rid][0].lower()
        exclude = any(k in title for k in _TA_EXCLUDE)
        if _TA_CONFLICT in title:
            screen.record_decision(review, "alice", rid, "ta", "include", note="long-term baricitinib data")
            screen.record_decision(review, "bob", rid, "ta", "exclude", note="no placebo group")
            screen.resolve_conflict(review, "carol", rid, "ta", "exclude",
                                    reason="Non-randomised design", note="open-label, single arm")
            continue
        decision = "exclude" if exclude else "include"
        screen.record_decision(review, "alice", rid, "ta", decision)
        screen.record_decision(review, "bob", rid, "ta", "maybe" if "phase 2" in title else decision)
    for rid in screen.screening_queue(review, "alice", "ft"):
        title, kind = titles[rid]
        reason = next((r for k, r in _FT_EXCLUDE.items() if k.lower() in title.lower()), None)
        location = (f"https://clinicaltrials.gov/study/{_nct(review, rid)}" if kind == "registry"
                    else f"fulltext/record-{rid}.pdf")
        screen.set_full_text(review, "alice", rid, "retrieved", location=location)
        for who in ("alice", "bob"):
            screen.record_decision(review, who, rid, "ft", "exclude" if reason else "include", reason=reason)
    log("screened: two reviewers, one conflict adjudicated")


def _nct(review: Review, record_id: int) -> str:
    from reviewkit.store import screening as store

    with session_scope(review.engine) as session:
        row = store.record(session, record_id)
        return row.nct_ids[0] if row and row.nct_ids else ""


def _trials() -> list[dict[str, str]]:
    with (FIXTURES / "baricitinib" / "trials.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _name_studies(review: Review) -> None:
    names = {t["nct_id"]: t["study"] for t in _trials()}
    for study in list_studies(review):
        if study.nct_id in names:
            rename_study(review, "alice", study.id, names[study.nct_id])
        for record_id, status in study.reports.items():
            if status == "proposed":
                set_report_link(review, "alice", study.id, record_id, True)


def _assess(review: Review, log: Callable[[str], None]) -> None:
    """RoB 1 judgements by two assessors and their consensus (when the RoB service is present)."""
    try:
        from reviewkit.services import demo_rob
    except ImportError:
        return
    demo_rob.assess_demo(review)
    log("risk of bias: two assessors and a consensus")


def _extract(review: Review, log: Callable[[str], None]) -> None:
    """Arms and week-16 results from fixtures/baricitinib, by two extractors and a consensus."""
    try:
        from reviewkit.services import demo_extract
    except ImportError:
        return
    demo_extract.extract_demo(review, FIXTURES / "baricitinib")
    log("extraction: two extractors and a consensus")


def record_labels(review: Review) -> dict[int, str]:
    """record id → short label, for messages."""
    from reviewkit.store import dedup as store

    with session_scope(review.engine) as session:
        return {r.id: row_to_record(r).label for r in store.records_with_ids(session)}  # type: ignore[misc]
