"""BibTeX reader: macros, LaTeX, names, real-export quirks, and failed blocks refused with a line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reviewkit.errors import ParseError
from reviewkit.sources.formats import read_records
from reviewkit.sources.formats.bibtex import split_names

REFS = Path(__file__).resolve().parents[3] / "fixtures" / "references"


def test_string_macros_concatenate_across_blocks() -> None:
    """`author = jean # " " # cesar` resolves @string macros defined in earlier blocks."""
    record = next(read_records(REFS / "bibtexparser" / "article_with_strings.bib"))
    assert record.authors == ("César, Jean",)
    assert record.journal == "Nice Journal"
    assert record.source_id == "Cesar2013"


def test_a_hash_inside_a_braced_or_quoted_value_is_text(tmp_path: Path) -> None:
    """BibTeX joins pieces with "#" only between them: "{C # and F# in music}" is text. It was read as an
    expression and lost its spaces ("CandF#inmusic"); "Study #2" lost its number sign."""
    entries = ['@string{jn = "Journal of Music"}',
               '@article{a, title = {C # and F# in music: a {LaTeX} study}, journal = jn # " Theory", '
               'note = "Study #2 of 3", year = 2020}',
               "@article{b, title = {Intro} # { and outro}, year = 2021}"]
    (tmp_path / "hash.bib").write_text("\n".join(entries) + "\n", encoding="utf-8")
    first, second = read_records(tmp_path / "hash.bib")
    assert first.title == "C # and F# in music: a LaTeX study"
    assert first.journal == "Journal of Music Theory"
    assert first.extra["notes"] == "Study #2 of 3"
    assert second.title == "Intro and outro"


def test_latex_accents_and_multiline_values() -> None:
    """{\\'e}-style accents decode to Unicode; a keyword list splits on commas."""
    record = next(read_records(REFS / "bibtexparser" / "traps.bib"))
    assert "érudit" in record.abstract
    assert record.keywords == ("keyword1", "keyword2")
    assert record.pages == "12-23"


def test_scopus_bibtex_with_repeated_field_is_read() -> None:
    """Scopus repeats funding_details in one entry; the entry still imports, authors split on "and"."""
    first = next(read_records(REFS / "synthesisr" / "Scopus_bib_example.bib"))
    assert first.authors[:3] == ("Li, W.", "Dou, Z.", "Cui, L.")
    assert first.doi == "10.1080/20964129.2020.1722034"
    assert first.keywords[:2] == ("Environmental factors", "Lake Taihu")


def test_zotero_bibtex_matches_zotero_ris() -> None:
    """The same Zotero library as BibTeX and RIS gives the same titles, years and first authors."""
    bib = list(read_records(REFS / "asysd_spaniels" / "zotero_export.bib"))
    ris = list(read_records(REFS / "asysd_spaniels" / "zotero_export.ris"))
    assert [r.year for r in bib] == [r.year for r in ris]
    assert [r.first_author for r in bib[:50]] == [r.first_author for r in ris[:50]]
    same_title = sum(a.title.rstrip(".") == b.title.rstrip(".") for a, b in zip(bib, ris, strict=True))
    assert same_title >= 950


def test_split_names_forms() -> None:
    """"First Last", "von Last, First", "Last, Jr, First" and {{Corporate}} names."""
    assert split_names("Jean Cesar and van Beethoven, Ludwig and {{World Health Organization}}") == (
        "Cesar, Jean", "van Beethoven, Ludwig", "World Health Organization",
    )
    assert split_names("Smith, Jr, John AND others") == ("Smith Jr, John",)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("@article{ok, title={Fine}}\n\n@article{broken, title = {no closing brace\n\n@article{next, title={B}}\n", 3),
        ("@article{ok, title={Fine}}\n@article{bad, title {A}, year=2000}\n", 2),
    ],
)
def test_failed_block_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    """A block bibtexparser cannot parse is a ParseError at that block's line."""
    path = tmp_path / "bad.bib"
    path.write_text(text)
    with pytest.raises(ParseError) as info:
        list(read_records(path, format="bibtex"))
    assert info.value.file == str(path)
    assert info.value.line == line


def test_failed_block_says_why_once(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """The error gives bibtexparser's reason and where it stopped; the library prints nothing itself."""
    path = tmp_path / "cut.bib"
    path.write_text("@article{a1,\n  title = {Good},\n  year = {2020}\n}\n\n"
                    "@article{b2,\n  title = {Broken {brace,\n  year = 2020\n}\n")
    with pytest.raises(ParseError) as info:
        list(read_records(path, format="bibtex"))
    assert info.value.line == 6
    assert "Unexpectedly reached end of file (reading stopped at line 9)" in str(info.value)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize("commented", [
    "%  note = {old note},",
    "%  note = {old note}",  # no comma after it: the title's value seemed to run on into the year
    "%  note = {old note, {unclosed",  # its braces are no entry's: the entry seemed never to close
    "%  note = {old}}, extra = {x}",  # nor a closing brace too many
    '  % note = "a quoted, old note',
], ids=["field", "no comma", "open brace", "brace too many", "open quote"])
def test_a_commented_out_field_inside_an_entry_is_skipped(tmp_path: Path, commented: str) -> None:
    """A "%" between an entry's fields starts a comment to the end of the line, as biber reads a .bib file: a
    field commented out by hand is no field, whatever its braces, quotes and commas (it was refused: "no comma
    before the field 'year'", "Unexpectedly reached end of file", "a closing brace too many"). The record's raw
    text keeps it; a "%" in a braced or quoted value is still text."""
    path = tmp_path / "commented.bib"
    text = ("@article{key,\n  title = {A trial: 50% of patients},\n" + commented + "\n  year = {2020}, % checked\n"
            '  journal = "Trials %\n% of the year", % the journal\n  volume = 3\n}\n')
    path.write_text(text, encoding="utf-8")
    (record,) = read_records(path)
    assert (record.title, record.year, record.journal, record.volume) == (
        "A trial: 50% of patients", 2020, "Trials % % of the year", "3")
    assert "notes" not in record.extra
    assert record.raw == text.rstrip("\n")


def test_comments_in_a_parenthesised_entry_and_a_string_are_skipped(tmp_path: Path) -> None:
    """"@article(...)" and @string blocks read "%" as their entries do; an @comment block is left as written."""
    path = tmp_path / "parens.bib"
    path.write_text("@comment{ 50% of {this} is a note }\n@string{jn = {Journal % of Trials}} % the journal\n"
                    "@article(key,\n  title = {Parenthesised},\n%  note = {old) note},\n  journal = jn,\n"
                    "  year = 2020 % no comma after the last field\n)\n", encoding="utf-8")
    (record,) = read_records(path)
    assert (record.title, record.journal, record.year) == ("Parenthesised", "Journal % of Trials", 2020)


@pytest.mark.parametrize(("text", "line", "said"), [
    # The entry's closing brace commented out: it never closes before the next entry.
    ("@article{a,\n  title = {A},\n  year = 2020\n% }\n@article{b,\n  title = {B}\n}\n", 1,
     "reading stopped at line 4"),
    # A comma only inside the comment: the title still needs its own.
    ("@article{a,\n  title = {A}\n%  note = {old},\n  year = {2020}\n}\n", 4, "no comma before the field 'year'"),
], ids=["closing brace commented out", "comma only in the comment"])
def test_an_entry_broken_around_a_comment_is_still_refused(tmp_path: Path, text: str, line: int, said: str) -> None:
    path = tmp_path / "broken.bib"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError) as info:
        list(read_records(path))
    assert (info.value.file, info.value.line) == (str(path), line)
    assert said in str(info.value)


def test_corporate_name_survives_latex_in_the_same_author_field(tmp_path: Path) -> None:
    """A braced group name is kept whole even when another name of the field holds a LaTeX accent
    (decoding the field first dropped the braces: "Organization, World Health")."""
    path = tmp_path / "corp.bib"
    path.write_text('@article{k, author = {M{\\"u}ller, J{\\"o}rg and {World Health Organization} and '
                    '{Barnes and Noble}}, title = {T}, year = {2020}}\n', encoding="utf-8")
    record = next(read_records(path))
    assert record.authors == ("Müller, Jörg", "World Health Organization", "Barnes and Noble")


def test_crossref_entries_take_missing_fields_from_their_parent() -> None:
    """biber's crossref examples: each child takes its parent's year and has the parent's title as its
    book title; records keep file order."""
    path = REFS / "bibtexparser" / "crossref_entries.bib"
    records = list(read_records(path))
    by_key = {r.source_id: r for r in records}
    text = path.read_text(encoding="utf-8")
    assert [r.source_id for r in records] == re.findall(r"^@\w+\{([^,]+),", text, re.MULTILINE)
    children = [(key, parent) for key, parent in re.findall(
        r"^@\w+\{([^,]+),[^@]*?CROSSREF\s*=\s*\{([^}]+)\}", text, re.MULTILINE | re.IGNORECASE)]
    assert len(children) >= 4
    inherited = 0
    for key, parent in children:
        child, mother = by_key[key], by_key[parent]
        own_year = re.search(r"^\s*(?:year|date)\s*=", child.raw, re.MULTILINE | re.IGNORECASE)
        assert child.year == (child.year if own_year else mother.year), key
        inherited += not own_year and mother.year is not None
        if "booktitle" not in child.raw.lower():
            assert child.journal == mother.title, key
    assert inherited >= 4


def test_crossref_does_not_pass_on_identifiers_and_keeps_own_fields(tmp_path: Path) -> None:
    """A chapter does not get its book's DOI (every chapter would then look like a duplicate of the
    others); its own year wins; a parent read first still counts; a missing parent leaves the entry as is."""
    path = tmp_path / "cr.bib"
    path.write_text(
        "@inbook{a, title={Chapter A}, author={Doe, J}, crossref={b1}}\n"
        "@inbook{c, title={Chapter C}, year={2001}, crossref={b1}}\n"
        "@book{b1, title={The Book}, year={1999}, doi={10.1000/book}, publisher={P}}\n"
        "@inbook{d, title={Chapter D}, crossref={b1}}\n"
        "@inbook{e, title={Orphan}, crossref={nowhere}}\n", encoding="utf-8")
    records = {r.source_id: r for r in read_records(path)}
    assert list(records) == ["a", "c", "b1", "d", "e"]
    assert (records["a"].year, records["a"].journal, records["a"].doi) == (1999, "The Book", None)
    assert records["c"].year == 2001
    assert (records["d"].year, records["d"].journal) == (1999, "The Book")
    assert records["b1"].doi == "10.1000/book"
    assert (records["e"].year, records["e"].journal) == (None, "")


def test_latex_text_macros_keep_their_text(tmp_path: Path) -> None:
    """\\texttt{R} kept its text lost ("the  package"); \\href without its label crashed with IndexError."""
    path = tmp_path / "macros.bib"
    path.write_text("@article{k, title={The \\texttt{R} package \\textsf{x} via \\href{http://e.org}{site}}, "
                    "abstract={See \\href{http://e.org}}, year={2020}}\n", encoding="utf-8")
    record = next(read_records(path))
    assert record.title == "The R package x via site"
    assert "http://e.org" in record.abstract


def test_a_percent_in_a_value_is_text(tmp_path: Path) -> None:
    """"%" in a field value is text, escaped or not. In a value holding LaTeX it was read as a LaTeX comment:
    "A 50% reduction in {\\'e}v{\\'e}nements" became "A 50", and "10\\% of patients and 20% of controls"
    lost "% of controls"."""
    path = tmp_path / "percent.bib"
    path.write_text(
        "@article{p1,\n"
        "  title = {A 50% reduction in {\\'e}v{\\'e}nements},\n"
        "  note = {10\\% of patients and 20% of controls},\n"
        "  abstract = {Of these, 45\n% were women; 5\\% were lost to follow-up % at one year},\n"
        "  author = {M{\\\"u}ller, Anna},\n"
        "  year = {2020},\n"
        "}\n", encoding="utf-8")
    (record,) = read_records(path)
    assert record.title == "A 50% reduction in événements"
    assert record.extra["notes"] == "10% of patients and 20% of controls"
    assert record.abstract == "Of these, 45\n% were women; 5% were lost to follow-up % at one year"
    assert (record.authors, record.year) == (("Müller, Anna",), 2020)


def test_percent_comment_lines_outside_entries_and_between_fields_are_ignored(tmp_path: Path) -> None:
    """"%" comment lines between entries are skipped, even an entry commented out line by line (it was read as
    an entry, or refused: "Expected a `=` after entry key `%`"); one between an entry's fields no longer takes
    the next field with it (the journal was silently lost)."""
    path = tmp_path / "comments.bib"
    path.write_text(
        "% Exported by hand; a stray { brace in a comment\n"
        "@article{first,\n  title = {First},\n  year = {2020},\n}\n"
        "% @article{old,\n%   title = {Commented out},\n%   year = {1999},\n% }\n"
        "  % an indented comment with @misc{x} in it\n"
        "@article{second,\n  title = {Second},\n  year = {2021},\n"
        "  % checked against the PDF\n  journal = {New Journal},\n}\n", encoding="utf-8")
    records = list(read_records(path))
    assert [(r.source_id, r.title, r.year, r.journal) for r in records] == [
        ("first", "First", 2020, ""), ("second", "Second", 2021, "New Journal")]
    assert "%" not in records[0].raw
