"""Provides `reviewkit demo`: a complete example review of the worked example, built through the services."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

from reviewkit.domain.records import Record
from reviewkit.errors import ReviewkitError
from reviewkit.protocol import PROTOCOL_FILE, load_protocol
from reviewkit.services import screen
from reviewkit.services.conflicts import resolve_conflict
from reviewkit.services.dedup import run_dedup
from reviewkit.services.identify import import_file
from reviewkit.services.project import EXAMPLE_PROTOCOL, Review, init_review, open_review
from reviewkit.services.screen_full_text import set_full_text
from reviewkit.services.screen_queue import screening_queue
from reviewkit.services.studies import list_studies, rename_study, set_report_link
from reviewkit.store.convert import row_to_record
from reviewkit.store.db import session_scope
from reviewkit.wording import counted

#: Where the demo's inputs live: the project's fixtures (a source checkout) or the installed copy.
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MARK = "EXAMPLE DATA (reviewkit demo): "
#: Titles the demo's reviewers exclude at title/abstract, with who decides what.
_TA_EXCLUDE = ("narrative review", "murine model", "case report", "plaque psoriasis")
_TA_CONFLICT = "open-label extension"
_FT_EXCLUDE = {"week-16 results of BREEZE-AD7": "Conference abstract"}


def holds_demo(folder: Path) -> bool:
    """Whether `folder` already holds a review `reviewkit demo` built (its title carries MARK); False when
    it holds no review. A review that is not the demo is refused: nothing may treat it as the demo."""
    path = folder / PROTOCOL_FILE
    if not path.exists():
        return False
    try:
        title = load_protocol(path, lenient_analyses=True).title
    except ReviewkitError:
        title = None  # a protocol that does not load is no demo's either
    if title is not None and title.startswith(MARK.strip()):
        return True
    raise ReviewkitError(f"{folder} holds a review that is not the demo"
                         + (f" ('{title}')" if title else ""),
                         hint="pick a new folder for the demo; nothing was changed")


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
    text, dropped = _analyses_with_data(text)
    folder.mkdir(parents=True, exist_ok=True)
    protocol = folder / "demo-protocol.toml"
    protocol.write_text(text, encoding="utf-8")
    try:
        review = init_review(folder, protocol)
    finally:  # refused or not, the scratch protocol is not left in the folder
        protocol.unlink(missing_ok=True)
    (folder / "EXAMPLE-DATA.txt").write_text(
        "This review was built by `reviewkit demo` from the worked example's fixtures.\n"
        "Its records, decisions and judgements are example data, made to show every screen;\n"
        "the trial numbers come from fixtures/baricitinib (see its README for each source).\n"
        + "".join(f"The example protocol also plans the analysis '{name}'; the fixtures hold no data for it,\n"
                  "so this review's protocol leaves it out.\n" for name in dropped),
        encoding="utf-8")
    for name, source in (("pubmed_export.ris", "PubMed"), ("embase_export.ris", "Embase"),
                         ("ctgov_studies.json", "ClinicalTrials.gov")):
        summary = import_file(review, demo / name, source=source, actor="alice")
        log(f"imported {counted(summary.records, 'record')} from {name}")
    dedup = run_dedup(review, actor="alice")
    log(f"dedup: {counted(dedup.records_merged, 'duplicate')} merged")
    _screen(review, log)
    _name_studies(review)
    _assess(review, log)
    _extract(review, log)
    return open_review(folder)


def _analyses_with_data(text: str) -> tuple[str, list[str]]:
    """The protocol text without the [[analyses]] tables of outcomes the fixtures hold no data for,
    and their names.

    `analyze` fails (status 1) when a planned analysis cannot run, so the example review plans
    only what its example data support (DLQI: no arm-level numbers were published).
    """
    kept: list[str] = []
    block: list[str] = []
    dropped: list[str] = []

    def close() -> None:
        body = "\n".join(block)
        outcome = re.search(r'^outcome\s*=\s*"([^"]+)"', body, re.M)
        if outcome and outcome.group(1) not in _OUTCOMES.values():
            name = re.search(r'^name\s*=\s*"([^"]+)"', body, re.M)
            dropped.append(name.group(1) if name else outcome.group(1))
        else:
            kept.extend(block)
        block.clear()

    for line in text.splitlines():
        if line.startswith("["):
            if block:
                close()
            if line.strip() == "[[analyses]]":
                block.append(line)
                continue
        (block if block else kept).append(line)
    if block:
        close()
    return "\n".join(kept) + "\n", dropped


def _records(review: Review) -> dict[int, Record]:
    from reviewkit.store import dedup as store

    with session_scope(review.engine) as session:
        return {r.id: row_to_record(r) for r in store.records_with_ids(session)}  # type: ignore[misc]


def _stand_in(review: Review, location: str, record: Record) -> None:
    """Write the one-page PDF the demo records as a report's full text, so that `o` opens it: the
    fixtures hold no articles (they are not the project's to ship), and a location with no file there
    showed the worked example's full-text step failing."""
    from reviewkit.render.stand_in import stand_in_pdf

    volume = record.volume + (f"({record.issue})" if record.issue else "")
    where = ":".join(p for p in (volume, record.pages) if p)
    citation = ". ".join(p for p in (record.journal, str(record.year) if record.year else "", where) if p)
    doi = f" doi:{record.doi}" if record.doi else ""
    stand_in_pdf(review.folder / location, title=record.title, authors=record.authors,
                 citation=(citation + "." if citation else "") + doi,
                 note=f"{MARK}this page stands in for the article's full text, which the demo does not ship. "
                      "Read the article itself from its journal; nothing on this page is from it.")


def _screen(review: Review, log: Callable[[str], None]) -> None:
    records = _records(review)
    for rid in screening_queue(review, "alice", "ta"):
        title = records[rid].title.lower()
        exclude = any(k in title for k in _TA_EXCLUDE)
        if _TA_CONFLICT in title:
            screen.record_decision(review, "alice", rid, "ta", "include", note="long-term baricitinib data")
            screen.record_decision(review, "bob", rid, "ta", "exclude", note="no placebo group")
            resolve_conflict(review, "carol", rid, "ta", "exclude",
                             reason="Non-randomised design", note="open-label, single arm")
            continue
        decision = "exclude" if exclude else "include"
        screen.record_decision(review, "alice", rid, "ta", decision)
        screen.record_decision(review, "bob", rid, "ta", "maybe" if "phase 2" in title else decision)
    for rid in screening_queue(review, "alice", "ft"):
        record = records[rid]
        reason = next((r for k, r in _FT_EXCLUDE.items() if k.lower() in record.title.lower()), None)
        location = (f"https://clinicaltrials.gov/study/{_nct(review, rid)}" if record.kind == "registry"
                    else f"fulltext/record-{rid}.pdf")
        if record.kind != "registry":
            _stand_in(review, location, record)
        set_full_text(review, "alice", rid, "retrieved", location=location)
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


#: Example RoB 1 judgements for the demo (the published review's own are not in the fixtures):
#: every domain low but "other bias" unclear where results come from a press release; bob judges
#: allocation concealment unclear in the phase 2 trial, a disagreement carol settles.
_ROB1_EXAMPLE = {f"D{i}": "low" for i in range(1, 8)}
_PRESS_RELEASE = {"BREEZE-AD5", "BREEZE-AD7"}


def _assess(review: Review, log: Callable[[str], None]) -> None:
    """RoB 1 by two assessors and their consensus, through the RoB service."""
    from reviewkit.services import assess, assess_consensus, assess_view

    for task in assess_view.studies_to_assess(review, "alice"):
        for who in ("alice", "bob"):
            view = assess.start_assessment(review, who, task.study_id)
            for domain, judgement in _ROB1_EXAMPLE.items():
                if domain == "D7" and task.label in _PRESS_RELEASE:
                    judgement = "unclear"
                if who == "bob" and domain == "D2" and "phase 2" in task.label:
                    judgement = "unclear"
                assess.answer(review, who, view.id, domain, judgement,
                              support="example judgement written for the reviewkit demo")
            assess.finish(review, who, view.id)
        settle = {"D2": "low"} if "phase 2" in task.label else None
        assess_consensus.record_consensus(review, "carol", task.study_id, answers=settle)
    log("risk of bias (RoB 1): two assessors and a consensus")


#: fixtures/baricitinib outcome codes → the protocol's outcome names.
_OUTCOMES = {"iga01": "iga_0_1", "easi50": "easi50", "easi75": "easi75", "itch_nrs4": "itch_nrs4", "teae": "teae"}


def _arm_label(arm: str, dose: str) -> str:
    return "Placebo" if arm == "placebo" else f"Baricitinib {float(dose):g} mg"


def _extract(review: Review, log: Callable[[str], None]) -> None:
    """Arms and week-16 results of fixtures/baricitinib by two extractors, each finished, and their consensus.

    bob mistypes one count (BREEZE-AD2 placebo IGA events) so the demo has a difference to settle.
    """
    from reviewkit.services import extract, extract_consensus, extract_status

    data = FIXTURES / "baricitinib"
    with (data / "arms.csv").open(encoding="utf-8") as fh:
        arms = list(csv.DictReader(fh))
    with (data / "outcomes.csv").open(encoding="utf-8") as fh:
        outcomes = [r for r in csv.DictReader(fh) if r["outcome"] in _OUTCOMES]
    studies = {s.label: s.id for s in list_studies(review)}
    typo = ("BREEZE-AD2", "placebo", "iga01")
    for trial in _trials():
        sid = studies[trial["study"]]
        tcs = trial["tcs"] == "yes"
        for who in ("alice", "bob"):
            extract.set_value(review, who, sid, "trial_name", trial["study"])
            extract.set_value(review, who, sid, "nct_id", trial["nct_id"])
            extract.set_value(review, who, sid, "phase", trial["phase"])
            extract.set_value(review, who, sid, "tcs", "yes" if tcs else "no")
            for a in (a for a in arms if a["study"] == trial["study"]):
                label = _arm_label(a["arm"], a["dose_mg"])
                extract.set_arm(review, who, sid, label, intervention="placebo" if a["arm"] == "placebo" else
                                "baricitinib", dose="" if a["arm"] == "placebo" else f"{a['dose_mg']} mg",
                                co_intervention="TCS" if tcs else "", n_randomised=int(a["n_randomised"]),
                                fields={} if a["arm"] == "placebo" else {"dose_mg": float(a["dose_mg"])})
            for o in (o for o in outcomes if o["study"] == trial["study"]):
                label = _arm_label(o["arm"], next(a["dose_mg"] for a in arms
                                                  if a["study"] == o["study"] and a["arm"] == o["arm"]))
                events = int(o["events"]) + (1 if who == "bob" and (o["study"], o["arm"], o["outcome"]) == typo else 0)
                for field, value in (("events", events), ("total", int(o["total"]))):
                    extract.set_value(review, who, sid, field, str(value), arm=label,
                                      outcome=_OUTCOMES[o["outcome"]], timepoint="week 16")
            extract_status.finish_extraction(review, who, sid)  # the comparison waits for both
        take = {}
        if trial["study"] == typo[0]:
            take = {f"value|Placebo|{_OUTCOMES[typo[2]]}|week 16|events": "alice"}
        result = extract_consensus.record_consensus(review, "alice", sid, take=take)
        if result.unresolved:
            raise ReviewkitError(f"demo consensus left {len(result.unresolved)} differences for {trial['study']}")
    log("extraction: two extractors, both finished, one difference settled, consensus recorded")


def record_labels(review: Review) -> dict[int, str]:
    """record id → short label, for messages."""
    from reviewkit.store import dedup as store

    with session_scope(review.engine) as session:
        return {r.id: row_to_record(r).label for r in store.records_with_ids(session)}  # type: ignore[misc]
