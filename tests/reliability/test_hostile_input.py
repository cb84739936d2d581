"""Reliability: random, truncated, mutated and hostile files give records or the project's clear error, never a partial import.

Property tests run every importer through services.identify.import_file (the path a user takes):
the only outcomes are a complete import or ReviewkitError/ParseError with nothing written; a
watchdog and hypothesis deadlines bound the time. The XML readers refuse entity expansion,
external entities and absurd nesting; the protocol loader refuses anything but a valid protocol
with ReviewkitError.
"""

from __future__ import annotations

import itertools
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from reviewkit.errors import ParseError, ReviewkitError
from reviewkit.protocol import Protocol, load_protocol, parse_protocol
from reviewkit.services.identify import import_file
from reviewkit.services.project import EXAMPLE_PROTOCOL, Review
from reviewkit.store.db import session_scope
from reviewkit.store.tables import RecordRow, SourceRunRow
from tests.conftest import FIXTURES

REFS = FIXTURES / "references"
#: No single example may take longer than this: a hang fails the test instead of stalling CI.
WATCHDOG_S = 60


def _first_records(path: Path, closing: str, end_tag: str, n: int) -> bytes:
    """The head of a big XML export up to its n-th record, closed again: a small, well-formed real file."""
    data = path.read_bytes()
    cut = [m.end() for m in re.finditer(re.escape(end_tag.encode()), data)][n - 1]
    return data[:cut] + closing.encode()


#: One real file per importer (small, or cut at a record boundary), and its format.
REAL: dict[str, tuple[str, bytes]] = {
    "ris": ("ris", (REFS / "asreview" / "pubmed_endnote.txt").read_bytes()),
    "medline": ("medline", (REFS / "entrez_biopython" / "medline_pubmed_result2.txt").read_bytes()),
    "pubmed_xml": ("pubmed_xml", (FIXTURES / "entrez" / "pubmed1.xml").read_bytes()),
    "bibtex": ("bibtex", (REFS / "bibtexparser" / "multiple_entries_and_comments.bib").read_bytes()),
    "csv": ("csv", (REFS / "asreview" / "embase.csv").read_bytes()),
    "endnote_xml": ("endnote_xml", _first_records(REFS / "asysd_spaniels" / "zotero_export.xml",
                                                  "</records></xml>", "</record>", 3)),
    "wos": ("wos", (REFS / "synthesisr" / "WoS_ciw_example.ciw").read_bytes()),
    "endnote_tagged": ("endnote_tagged", (REFS / "colrev" / "ais_endnote_tagged.enw").read_bytes()),
}
#: Fragments that matter to one format or another, spliced in by the mutations.
TOKENS = [b"\nER  - \n", b"\nTY  - JOUR\n", b"\nPMID- 1\n", b"\n\n", b"\nPT J\n", b"\r", b"\nER\n", b"%0 ",
          b"<PubmedArticle>", b"</Article>", b"<record>", b"</record>", b"<![CDATA[", b"&amp;", b"&#0;",
          b"&#x110000;", b"<!--", b"\"", b",", b"@article{", b"}", b"{", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf",
          b"\xc3", "é€😀".encode()]


@contextmanager
def watchdog(seconds: int = WATCHDOG_S) -> Iterator[None]:
    """Fail (instead of hanging CI) when the block runs longer than `seconds`."""

    def _timeout(signum: int, frame: object) -> None:
        raise TimeoutError(f"no result within {seconds} s: the reader hangs")

    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """A real file cut short and/or with spans deleted, duplicated, replaced or spliced with tokens."""
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.integers(0, len(out)))
        action = draw(st.sampled_from(["cut", "delete", "insert", "token", "replace", "duplicate"]))
        if action == "cut":
            del out[where:]
        elif action == "delete":
            del out[where:where + draw(st.integers(1, 300))]
        elif action == "insert":
            out[where:where] = draw(st.binary(max_size=30))
        elif action == "token":
            out[where:where] = draw(st.sampled_from(TOKENS))
        elif action == "duplicate":
            out[where:where] = out[where:where + draw(st.integers(1, 400))]
        elif where < len(out):
            out[where] = draw(st.integers(0, 255))
    return bytes(out)


def _counts(review: Review) -> tuple[int, int]:
    with session_scope(review.engine) as s:
        records = int(s.exec(select(func.count()).select_from(RecordRow)).one())
        runs = int(s.exec(select(func.count()).select_from(SourceRunRow)).one())
    return records, runs


def _import_whole_or_nothing(review: Review, path: Path, fmt: str | None) -> int | None:
    """Import; on success the records and one run land, on the project's error nothing does. Returns count."""
    before = _counts(review)
    try:
        with watchdog():
            summary = import_file(review, path, format=fmt)
    except ReviewkitError as error:
        assert str(error)  # a message for the user
        assert _counts(review) == before, f"partial write after {error!r}"
        return None
    assert _counts(review) == (before[0] + summary.records, before[1] + 1)
    return summary.records


_names = itertools.count()


@pytest.mark.parametrize("key", sorted(REAL))
def test_mutated_real_file_imports_whole_or_not_at_all(key: str, review: Review, tmp_path: Path) -> None:
    """Any mutation of a real export of each format: a whole import or ReviewkitError, nothing partial."""
    fmt, data = REAL[key]
    assert _import_whole_or_nothing(review, _write(tmp_path, data), fmt), "the unmutated file imports"

    @settings(max_examples=50, deadline=timedelta(seconds=20), database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(data=mutated(data), detect=st.booleans())
    def check(data: bytes, detect: bool) -> None:
        _import_whole_or_nothing(review, _write(tmp_path, data), None if detect else fmt)

    check()


def _write(folder: Path, data: bytes, suffix: str = ".txt") -> Path:
    path = folder / f"input-{next(_names)}{suffix}"
    path.write_bytes(data)
    return path


@settings(max_examples=60, deadline=timedelta(seconds=20), database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.binary(max_size=2000), fmt=st.sampled_from([None, *sorted({f for f, _ in REAL.values()})]))
def test_random_bytes_import_whole_or_not_at_all(review: Review, tmp_path: Path, data: bytes, fmt: str | None) -> None:
    """Arbitrary bytes, with or without a stated format: a whole import or the project's error."""
    _import_whole_or_nothing(review, _write(tmp_path, data), fmt)


# Hostile XML ---------------------------------------------------------------------------------

SECRET = "TOP-SECRET-7f3a9c"

PUBMED_HEAD = '<?xml version="1.0"?>\n'
ARTICLE = ("<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>"
           "<ArticleTitle>{title}</ArticleTitle></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>")
ENDNOTE = "<xml><records><record><titles><title>{title}</title></titles></record></records></xml>"
ROOTS = {"pubmed_xml": ("PubmedArticleSet", ARTICLE), "endnote_xml": ("xml", ENDNOTE)}


def _hostile(kind: str, fmt: str, secret_file: Path) -> str:
    root, body = ROOTS[fmt]
    uri = secret_file.as_uri()
    if kind == "billion_laughs":
        entities = '<!ENTITY a "lol">' + "".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        return f"{PUBMED_HEAD}<!DOCTYPE {root} [{entities}]>" + body.format(title="&j;")
    if kind == "quadratic":
        return f'{PUBMED_HEAD}<!DOCTYPE {root} [<!ENTITY a "{"x" * 50_000}">]>' + body.format(title="&a;" * 5_000)
    if kind == "xxe":
        return f'{PUBMED_HEAD}<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{uri}">]>' + body.format(title="&xxe;")
    if kind == "parameter_entity":
        return f'{PUBMED_HEAD}<!DOCTYPE {root} [<!ENTITY % p SYSTEM "{uri}"> %p;]>' + body.format(title="t")
    if kind == "external_dtd":
        return f'{PUBMED_HEAD}<!DOCTYPE {root} SYSTEM "{uri}">' + body.format(title="&secret;")
    raise AssertionError(kind)


@pytest.mark.parametrize("fmt", sorted(ROOTS))
@pytest.mark.parametrize("kind", ["billion_laughs", "quadratic", "xxe", "parameter_entity", "external_dtd"])
def test_hostile_xml_is_refused_and_reads_no_local_file(kind: str, fmt: str, review: Review, tmp_path: Path) -> None:
    """Entity expansion, external entities and external DTDs are refused; no local file's text is read in."""
    secret = tmp_path / "secret.txt"
    secret.write_text(f"{SECRET}\n", encoding="utf-8")
    if kind == "external_dtd":
        secret.write_text(f'<!ENTITY secret "{SECRET}">', encoding="utf-8")
    path = _write(tmp_path, _hostile(kind, fmt, secret).encode(), ".xml")
    before = _counts(review)
    with watchdog(), pytest.raises(ParseError) as caught:
        import_file(review, path, format=fmt)
    assert caught.value.file == str(path)
    assert _counts(review) == before
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("fmt", sorted(ROOTS))
@pytest.mark.parametrize("depth", [500, 100_000])
def test_deeply_nested_xml_is_refused(fmt: str, depth: int, review: Review, tmp_path: Path) -> None:
    """Elements nested thousands deep give ParseError (not RecursionError), and nothing is written."""
    title = "<i>" * depth + "x" + "</i>" * depth
    path = _write(tmp_path, (PUBMED_HEAD + ROOTS[fmt][1].format(title=title)).encode(), ".xml")
    before = _counts(review)
    with watchdog(), pytest.raises(ParseError, match="nested more than"):
        import_file(review, path, format=fmt)
    assert _counts(review) == before


@pytest.mark.parametrize("fmt", sorted(ROOTS))
def test_huge_field_is_read_in_bounded_time_whole_or_not_at_all(fmt: str, review: Review, tmp_path: Path) -> None:
    """A 20 MB title neither hangs nor crashes the reader: the import is whole (every character) or refused."""
    path = _write(tmp_path, (PUBMED_HEAD + ROOTS[fmt][1].format(title="x" * 20_000_000)).encode(), ".xml")
    stored = _import_whole_or_nothing(review, path, fmt)
    if stored:
        with session_scope(review.engine) as s:
            assert [len(t) for t in s.exec(select(RecordRow.title))] == [20_000_000]


# Protocol loader -------------------------------------------------------------------------------

PROTOCOL_TEXT = EXAMPLE_PROTOCOL.read_text(encoding="utf-8")
TOML_TOKENS = ["[", "]", "[[", "]]", "{", "}", "=", '"', "'", '"""', ",", ".", "#", "\n", "\\", "\x00",
               "reviewers", "screeners_per_record = 0", "roles = []", "[[reviewers]]\nname = \"x\"\n",
               "9" * 40, "inf", "nan", "1979-05-27T07:32:00Z", "é", "\ud7ff"]


@st.composite
def mutated_protocol(draw: st.DrawFn) -> str:
    """The example protocol with lines dropped or repeated, spans cut, and TOML tokens spliced in."""
    text = PROTOCOL_TEXT
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["cut", "delete", "token", "text", "dup_line", "drop_line"]))
        if action == "cut":
            text = text[:where]
        elif action == "delete":
            text = text[:where] + text[where + draw(st.integers(1, 200)):]
        elif action == "token":
            text = text[:where] + draw(st.sampled_from(TOML_TOKENS)) + text[where:]
        elif action == "text":
            text = text[:where] + draw(st.text(max_size=20)) + text[where:]
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines[i:i + 1] = [lines[i]] * 2 if action == "dup_line" else []
            text = "".join(lines)
    return text


@settings(max_examples=150, deadline=timedelta(seconds=10), database=None)
@given(mutated_protocol())
def test_mutated_protocol_is_a_protocol_or_a_clear_error(text: str) -> None:
    """parse_protocol returns a Protocol or raises ReviewkitError naming the file; nothing else escapes."""
    try:
        with watchdog():
            protocol = parse_protocol(text, source="review.toml")
    except ReviewkitError as error:
        assert str(error).startswith("review.toml")
        return
    assert isinstance(protocol, Protocol)


@settings(max_examples=60, deadline=timedelta(seconds=10), database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=400), mutated(PROTOCOL_TEXT.encode()[:4000])))
def test_protocol_file_of_any_bytes_loads_or_gives_clear_error(tmp_path: Path, data: bytes) -> None:
    """load_protocol on arbitrary or damaged bytes (bad UTF-8 included) gives a Protocol or ReviewkitError."""
    path = _write(tmp_path, data, ".toml")
    try:
        with watchdog():
            load_protocol(path)
    except ReviewkitError as error:
        assert str(path) in str(error)


@pytest.mark.parametrize("nested", ["a = " + "[" * 100_000, "a = " + "{b = " * 5_000, "[" + "a." * 5_000 + "b]"],
                         ids=["arrays", "inline-tables", "dotted-table"])
def test_absurdly_nested_protocol_is_a_clear_error(nested: str) -> None:
    """TOML nested thousands deep gives ReviewkitError, not RecursionError."""
    with watchdog(), pytest.raises(ReviewkitError):
        parse_protocol(nested)


def test_nul_bytes_are_refused_the_same_on_every_database(review: Review, tmp_path: Path) -> None:
    """A CSV with NULs inside fields is refused like every text reader refuses a NUL (file and line named,
    nothing written) on SQLite and PostgreSQL alike, instead of PostgreSQL's driver error or silently
    dropped bytes."""
    text = 'Title,Authors,Original Title\nA trial,"Doe, J",Original\nBari\x00citinib trial,"Doe, J\x00",Orig\x00inal\n'
    path = _write(tmp_path, text.encode())
    assert _import_whole_or_nothing(review, path, "csv") is None
    with pytest.raises(ParseError, match="NUL character") as info:
        import_file(review, path, format="csv")
    assert (info.value.file, info.value.line) == (str(path), 3)
