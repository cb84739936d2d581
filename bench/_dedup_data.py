"""Provides the dedup benchmark data: the five labelled searches as Records with true groups, and synthetic sets."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from reviewkit.domain.records import Record, normalise_doi

DATA = Path("/work/shared/data/dedup")

SETS: dict[str, tuple[str, str]] = {
    # name: (records file, clusters file), relative to DATA
    "cytology_screening": ("sra_rathbone_2015/cytology_screening/records_pre_merged.csv",
                           "sra_rathbone_2015/cytology_screening/merged_record_ids.csv"),
    "haematology": ("sra_rathbone_2015/haematology/records_pre_merged.csv",
                    "sra_rathbone_2015/haematology/merged_record_ids.csv"),
    "respiratory": ("sra_rathbone_2015/respiratory/records_pre_merged.csv",
                    "sra_rathbone_2015/respiratory/merged_record_ids.csv"),
    "stroke": ("sra_rathbone_2015/stroke/records_pre_merged.csv",
               "sra_rathbone_2015/stroke/merged_record_ids.csv"),
    "asysd_diabetes": ("asysd_diabetes/labelled_test_set.csv", "asysd_diabetes/merged_record_ids.csv"),
}


@dataclass(frozen=True)
class LabelledSet:
    """Records of one search and its true duplicate groups (indexes into records; singletons left out)."""

    name: str
    records: list[Record]
    groups: list[tuple[int, ...]]


def available() -> bool:
    """Whether the shared benchmark data is on this machine."""
    return DATA.is_dir()


def _s(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()


def _year(value: object) -> int | None:
    text = _s(value)
    match = re.search(r"\d{4}", text)
    return int(match.group(0)) if match else None


# ASySD writes "Adeli K.Lewis G. F.": authors run together, each ending in an initial's full stop.
_ASYSD_SPLIT = re.compile(r"(?<=\.)(?=[^\s.,;\-])")


def _rathbone(path: Path) -> tuple[list[Record], list[str]]:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    records = [
        Record(
            title=row.title, year=_year(row.year),
            authors=tuple(a.strip() for a in row.author.split(" and ") if a.strip()),
            pages=row.pages, volume=row.volume, issue=row.number, journal=row.journal,
            source_type=row.ENTRYTYPE, source_id=row.ID, format="csv",
        )
        for row in df.itertuples(index=False)
    ]
    return records, list(df.ID)


def _asysd(path: Path) -> tuple[list[Record], list[str]]:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp1252")
    # R wrote missing values as "NA".
    df = df.replace("NA", "")
    records = []
    for row in df.itertuples(index=False):
        journal = row.journal
        records.append(Record(
            title=row.title, abstract=row.abstract, year=_year(row.year),
            authors=tuple(a.strip() for a in _ASYSD_SPLIT.split(row.author) if a.strip()),
            journal=journal, pages=row.pages, volume=row.volume, issue=row.number,
            doi=normalise_doi(row.doi), issn=row.isbn.replace("\n", " "),
            source_id=f"id_{int(row.record_id):07d}", format="csv",
        ))
    return records, [r.source_id for r in records]


def load_set(name: str) -> LabelledSet:
    """Load one labelled set: its records and true groups."""
    rec_file, cluster_file = SETS[name]
    loader = _asysd if name == "asysd_diabetes" else _rathbone
    records, ids = loader(DATA / rec_file)
    where = {rid: i for i, rid in enumerate(ids)}
    clusters = pd.read_csv(DATA / cluster_file, dtype=str).iloc[:, 0]
    groups = []
    for line in clusters:
        members = tuple(sorted(where[x] for x in line.split(";") if x in where))
        if len(members) > 1:
            groups.append(members)
    return LabelledSet(name, records, groups)


# --- synthetic sets ---------------------------------------------------------------------------

_STOP = {"of", "the", "and", "in", "a", "an", "for", "on", "with", "to", "by", "at"}


def _abbreviate(journal: str) -> str:
    words = [w for w in re.split(r"[\s.:,&]+", journal) if w and w.lower() not in _STOP]
    return " ".join(w if len(w) <= 4 else w[: max(3, len(w) // 2)] for w in words)


def _author_variant(author: str) -> str:
    surname, _, given = author.partition(",")
    initials = "".join(w[0] for w in given.replace(".", " ").split() if w)
    return f"{surname.strip()} {initials}".strip()


def _duplicate(rec: Record, rng: random.Random) -> Record:
    """A realistic duplicate: the same paper as another database exports it."""
    changes: dict[str, object] = {}
    title = rec.title
    roll = rng.random()
    if roll < 0.2:
        title = title.upper()
    elif roll < 0.4:
        title = title.lower().replace(":", " -").replace(",", "")
    elif roll < 0.5:
        title = title.rstrip(".") + "."
    changes["title"] = title
    if rng.random() < 0.5:
        changes["doi"] = None
    if rec.journal and rng.random() < 0.5:
        changes["journal"] = _abbreviate(rec.journal)
    if rng.random() < 0.5:
        changes["authors"] = tuple(_author_variant(a) for a in rec.authors)
    if rec.abstract and rng.random() < 0.5:
        changes["abstract"] = rec.abstract[: len(rec.abstract) // 2]
    if rec.year and rng.random() < 0.15:
        changes["year"] = rec.year + rng.choice((-1, 1))
    match = re.match(r"^(\d+)-(\d+)$", rec.pages or "")
    if match and rng.random() < 0.4 and len(match.group(2)) == len(match.group(1)):
        start, end = match.groups()
        keep = next((i for i in range(len(end)) if end[i] != start[i]), len(end) - 1)
        changes["pages"] = f"{start}-{end[keep:]}"
    return replace(rec, **changes)


def _distinct(rec: Record, rng: random.Random, vocab: list[str], surnames: list[str]) -> Record:
    """A different paper made from a real one: a substantively different title and other metadata."""
    words = rec.title.split() or ["untitled"]
    n = max(3, int(len(words) * 0.5))
    for pos in rng.sample(range(len(words)), min(n, len(words))):
        words[pos] = rng.choice(vocab)
    words += rng.sample(vocab, 2)
    rng.shuffle(words)
    authors = tuple(f"{rng.choice(surnames)}, {rng.choice('ABCDEFGHJKLMNPRSTW')}." for _ in range(rng.randint(1, 6)))
    first = rng.randint(1, 2000)
    return replace(
        rec, title=" ".join(words), authors=authors, year=rng.randint(1990, 2023),
        volume=str(rng.randint(1, 200)), pages=f"{first}-{first + rng.randint(1, 15)}",
        doi=f"10.{rng.randint(1000, 9999)}/syn.{rng.getrandbits(40):x}" if rng.random() < 0.6 else None,
        abstract=rec.abstract,
    )


def synthetic(size: int, seed: int = 7) -> LabelledSet:
    """A set of about `size` records: real records, distinct records made from them, and duplicates of both.

    About 20% of the records are duplicates; true groups are known by construction.
    """
    rng = random.Random(seed)
    bases: list[Record] = []
    for name in SETS:
        labelled = load_set(name)
        in_group = {i for g in labelled.groups for i in g[1:]}
        bases.extend(r for i, r in enumerate(labelled.records) if i not in in_group and r.title)
    vocab = sorted({w for r in bases for w in r.title.split() if len(w) > 3})
    surnames = sorted({a.split(",")[0] for r in bases for a in r.authors if "," in a})
    n_unique = int(size * 0.8)
    records: list[Record] = list(bases[:n_unique])
    while len(records) < n_unique:
        records.append(_distinct(rng.choice(bases), rng, vocab, surnames))
    groups: dict[int, list[int]] = {}
    while len(records) < size:
        src = rng.randrange(n_unique)
        groups.setdefault(src, [src]).append(len(records))
        records.append(_duplicate(records[src], rng))
    return LabelledSet(f"synthetic_{size}", records, [tuple(g) for g in groups.values()])
