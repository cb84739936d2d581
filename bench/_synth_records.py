"""Provides synthetic RIS, MEDLINE and PubMed XML files for the import benchmark, built from real records.

Real records are repeated and perturbed (ids, titles) so every synthetic record differs; files are
written record by record so building a 100,000-record file never holds it in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

SHARED = Path("/work/shared/data")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "references"


def data_root() -> tuple[Path, Path, str]:
    """Return (references dir, entrez biopython dir, where from): the shared data, else fixtures."""
    if (SHARED / "references").is_dir():
        return SHARED / "references", SHARED / "entrez" / "biopython", "/work/shared/data"
    return FIXTURES, FIXTURES / "entrez_biopython", "fixtures/references"


def _ris_blocks(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    return [m.group(0) for m in re.finditer(r"^TY  - .*?^ER  -[^\n]*$", text, re.MULTILINE | re.DOTALL)]


def ris_sources() -> list[str]:
    """Real RIS records from several exporters (PubMed via EndNote, Scopus, Lens, Ovid, WoS)."""
    refs, _, _ = data_root()
    names = ["asreview/pubmed_endnote.txt", "asreview/scopus.ris", "asreview/_baseline.ris",
             "asreview/ovid_zotero.ris", "asreview/web_of_science.txt", "asysd_spaniels/wos_test.ris"]
    blocks = [b for name in names for b in _ris_blocks(refs / name)]
    return blocks


def medline_sources() -> list[str]:
    """Real MEDLINE records (Biopython and synthesisr PubMed exports)."""
    refs, biopython, _ = data_root()
    paths = sorted(biopython.glob("medline_pubmed_result*.txt"))
    nbib = (SHARED / "entrez" / "synthesisr" / "PubMed_medline_example.nbib")
    paths.append(nbib if nbib.is_file() else refs / "entrez_synthesisr" / "PubMed_medline_example.nbib")
    blocks: list[str] = []
    for path in paths:
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        blocks += [b.strip("\n") for b in re.split(r"\n\s*\n", text) if b.strip().startswith("PMID-")]
    return blocks


def pubmed_sources() -> list[str]:
    """Real <PubmedArticle> elements from the efetch captures."""
    _, biopython, _ = data_root()
    out: list[str] = []
    for path in sorted(biopython.glob("pubmed*.xml")):
        text = path.read_text(encoding="utf-8")
        out += re.findall(r"<PubmedArticle>.*?</PubmedArticle>", text, re.DOTALL)
    return out


def _ris_record(block: str, i: int) -> str:
    block = re.sub(r"^(TI|T1)  - ", rf"\g<1>  - [{i}] ", block, count=1, flags=re.MULTILINE)
    block = re.sub(r"^(ID|AN)  - .*$", rf"\g<1>  - S{i}", block, flags=re.MULTILINE)
    return block + "\n\n"


def _medline_record(block: str, i: int) -> str:
    block = re.sub(r"^PMID- \d+", f"PMID- {40_000_000 + i}", block, count=1, flags=re.MULTILINE)
    block = re.sub(r"^TI  - ", f"TI  - [{i}] ", block, count=1, flags=re.MULTILINE)
    return block + "\n\n"


def _pubmed_record(element: str, i: int) -> str:
    element = re.sub(r'(<PMID Version="\d+">)\d+(</PMID>)', rf"\g<1>{40_000_000 + i}\g<2>", element, count=1)
    element = element.replace("<ArticleTitle>", f"<ArticleTitle>[{i}] ", 1)
    return element + "\n"


def _write(path: Path, head: str, records: Iterator[str], tail: str) -> Path:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(head)
        for record in records:
            fh.write(record)
        fh.write(tail)
    return path


def build(fmt: str, count: int, folder: Path) -> Path:
    """Write a `count`-record file of the format (ris, medline, pubmed_xml) and return its path."""
    if fmt == "ris":
        src = ris_sources()
        return _write(folder / f"synth_{count}.ris", "",
                      (_ris_record(src[i % len(src)], i) for i in range(count)), "")
    if fmt == "medline":
        src = medline_sources()
        return _write(folder / f"synth_{count}.nbib", "\n",
                      (_medline_record(src[i % len(src)], i) for i in range(count)), "")
    if fmt == "pubmed_xml":
        src = pubmed_sources()
        return _write(folder / f"synth_{count}.xml",
                      '<?xml version="1.0" encoding="UTF-8"?>\n<PubmedArticleSet>\n',
                      (_pubmed_record(src[i % len(src)], i) for i in range(count)),
                      "</PubmedArticleSet>\n")
    raise ValueError(fmt)
