"""Provides the BibTeX reader: the file is cut into top-level @ blocks, each parsed by bibtexparser."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any, TextIO

import bibtexparser
from bibtexparser.library import Library
from bibtexparser.middlewares.enclosing import RemoveEnclosingMiddleware
from bibtexparser.model import DuplicateFieldKeyBlock, Entry, Field, String
from pylatexenc import latexwalker, macrospec
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from reviewkit.domain.records import Record, normalise_pmcid, parse_year
from reviewkit.errors import ParseError
from reviewkit.sources.formats._common import (
    author_given_first,
    build_record,
    clean,
    normalise_pages,
    unique,
)
from reviewkit.sources.formats._text import numbered_lines
from reviewkit.sources.formats.notes import ParseNote, unreadable_year, year_note

# bibtexparser logs each failed block to stderr by itself; the ParseError below already says what
# went wrong, naming the file and line, so its log is silenced (a library's own NullHandler idiom).
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())
logging.getLogger("bibtexparser").propagate = False

#: An entry, @string, @preamble or @comment opening at the start of a line.
_BLOCK_START = re.compile(r"\s*@\s*[A-Za-z]+\s*[{(]")
_ESCAPED_BRACES = re.compile(r"\\[{}]")
#: A "%" comment line outside any entry. BibTeX itself skips all text between entries, "%" or not; the
#: line is dropped before parsing, as an entry commented out line by line ("% @article{old, ...") was
#: otherwise read as an entry, or refused.
_COMMENT_LINE = re.compile(r"\s*%")
#: A "%" LaTeX would read as the start of a comment: not escaped ("\\%") by an odd run of backslashes.
_BARE_PERCENT = re.compile(r"(?<!\\)((?:\\\\)*)%")
_MAX_BLOCK_LINES = 20_000
#: Macros whose argument is their text. pylatexenc's defaults drop the argument of some of them
#: ("the \\texttt{R} package" became "the  package") and know \\href without its two arguments (an
#: IndexError, which crashed the import); here each is given its arguments and its text.
_TEXT_MACROS = ("texttt", "textsf", "textup", "textmd", "mbox", "hbox", "url", "nolinkurl", "NoCaseChange",
                "enquote", "mkbibquote")


def _last_argument(node: Any, l2tobj: LatexNodes2Text) -> str:
    """The text of a macro's last argument given ("\\href{url}{label}" -> "label", "\\href{url}" -> "url")."""
    given = [arg for arg in node.nodeargd.argnlist if arg is not None] if node.nodeargd else []
    return str(l2tobj.nodelist_to_text([given[-1]])) if given else ""


_WALKER_CONTEXT = latexwalker.get_default_latex_context_db()
_WALKER_CONTEXT.add_context_category(
    "reviewkit", prepend=True,
    macros=[macrospec.std_macro("href", False, 2), *(macrospec.std_macro(m, False, 1) for m in _TEXT_MACROS)],
)
_TEXT_CONTEXT = get_default_latex_context_db()
_TEXT_CONTEXT.add_context_category(
    "reviewkit", prepend=True,
    macros=[MacroTextSpec("href", simplify_repl=lambda node, l2tobj: _last_argument(node, l2tobj)),
            *(MacroTextSpec(m, simplify_repl="%(1)s") for m in _TEXT_MACROS)],
)
#: One converter for the module: building it is the slow part of LaTeX decoding.
_LATEX = LatexNodes2Text(latex_context=_TEXT_CONTEXT)


def _blocks(stream: TextIO, *, file: str) -> Iterator[tuple[int, str, str]]:
    """Yield (first line, text to parse, text as written) of each top-level @ block, so one entry is in
    memory at a time.

    A block starts at an "@type{" line when the braces before it are balanced, or at any
    "@type{" in column 0 (so an entry missing its closing brace fails alone, and loudly). A "%"
    comment line between entries is left out: its braces and "@" are no entry's. Inside an entry, a
    "%" between fields runs to the end of its line (see _cut_comment); the text to parse has it blanked
    out, line for line, so a commented-out field ("%  note = {old},") is no field and its braces do not
    count, while the text as written keeps it for the record's raw text.
    """
    lines: list[str] = []
    written: list[str] = []
    start = 0
    depth = 0
    closed = 0  # the line where the block's braces first came back to 0: its end, when they balance
    parens = False  # whether the block is "@type(...)", whose end its braces do not tell
    fielded = False  # whether the block holds fields (an entry or @string), where "%" starts a comment
    quoted = False  # whether a quoted field value is open at the end of the line before
    for number, line in numbered_lines(stream, file=file):
        if depth <= 0 and (closed or not start) and not parens and _COMMENT_LINE.match(line):
            continue
        opens = _BLOCK_START.match(line)
        begin = 0  # where the block's own text starts on this line
        if opens and (depth <= 0 or line[:1] == "@"):
            if lines:
                yield start, "\n".join(lines), "\n".join(written)
            lines, written, start, depth, closed, quoted = [], [], number, 0, 0, False
            parens = opens.group().rstrip().endswith("(")
            kind = opens.group().strip().lstrip("@").rstrip("{(").strip().lower()
            fielded = kind not in ("comment", "preamble")
            begin = opens.end()
        if start:
            written.append(line)
            if fielded:
                level = 0 if parens else 1  # the brace depth of the entry's fields
                line, quoted = _cut_comment(line, begin, level if begin else depth, level, quoted)
            lines.append(line)
            if len(lines) > _MAX_BLOCK_LINES:
                raise ParseError(
                    f"the BibTeX entry opened at line {start} never closes",
                    file=file, line=start, hint="a closing brace is missing",
                )
        bare = _ESCAPED_BRACES.sub("", line)
        for char in bare:
            if char not in "{}":
                continue
            depth += 1 if char == "{" else -1
            if depth == 0 and start and not closed:
                closed = number
            elif depth < 0 and start:
                # A closing brace too many ("{Too many}}},"): the entry ended early and the fields
                # after it were silently dropped by the parser.
                where = closed if closed and closed != number else number
                raise ParseError(
                    "a closing brace too many: the braces of the BibTeX entry opened at line "
                    f"{start} close on this line, before the end of the entry",
                    file=file, line=where, hint="remove the extra '}' or add the missing '{'",
                )
    if lines:
        yield start, "\n".join(lines), "\n".join(written)


def _cut_comment(line: str, begin: int, depth: int, level: int, quoted: bool) -> tuple[str, bool]:
    """The line without its "%" comment, and whether a quoted value is still open at its end.

    `depth` is the brace depth at `begin` (where the entry's own text starts on its first line), `level`
    the depth of the entry's fields. As biber reads a .bib file, a "%" between fields starts a comment
    to the end of the line (a field commented out, a remark after a value); inside a braced or quoted
    value it is text ("{50% of patients}", a value's wrapped line starting "% were women"). A "%", brace
    or quote after a backslash is escaped, as bibtexparser takes them.
    """
    index = begin
    while index < len(line):
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == '"' and depth == level:
            quoted = not quoted
        elif char == "%" and depth == level and not quoted:
            return line[:index].rstrip(), quoted
        index += 1
    return line, quoted


def iter_bibtex(stream: TextIO, *, file: str, notes: list[ParseNote] | None = None) -> Iterator[Record]:
    """Yield one Record per BibTeX entry; @string macros carry over to the entries after them, and an
    entry with a crossref takes the fields it lacks from the entry it names (see _Crossrefs).

    A block bibtexparser cannot parse is a ParseError. Two tolerated quirks of real exports:
    a field repeated in one entry (Scopus repeats funding_details; the first value is kept)
    and a citation key used twice (biber's own examples do; both entries are imported).
    `notes`, when given, receives a ParseNote for a year field holding no year ("forthcoming").
    """
    strings: list[String] = []
    crossrefs = _Crossrefs()
    held: list[tuple[Entry, str, int]] = []  # entries waiting for a crossref parent
    for start, text, written in _blocks(stream, file=file):
        _check_commas(text, start, file=file)
        library = Library(blocks=list(strings))
        bibtexparser.parse_string(text, library=library)
        entries = list(library.entries)
        for failed in library.failed_blocks:
            if isinstance(failed, DuplicateFieldKeyBlock) and isinstance(
                failed.ignore_error_block, Entry
            ):
                entries.append(_unenclosed(failed.ignore_error_block))
                continue
            line = start + (failed.start_line or 0)
            raise ParseError(
                f"BibTeX entry not understood: {_why(failed, text, start)}", file=file, line=line,
                hint="check the braces, quotes and commas of this entry",
            )
        strings = list(library.strings)
        macros = {s.key.lower(): str(s.value).strip('{}"') for s in strings}
        for entry in sorted(entries, key=lambda e: e.start_line or 0):
            _concatenate_expressions(entry, macros)
            raw = written if len(entries) == 1 else (entry.raw or text)
            crossrefs.see(entry)
            if crossrefs.wants(entry) or held:
                held.append((entry, raw, start))
            else:
                yield _yield_record(crossrefs.inherit(entry), raw, start, file, notes)
            if held and not crossrefs.waiting:
                for waited, waited_raw, waited_start in held:
                    yield _yield_record(crossrefs.inherit(waited), waited_raw, waited_start, file, notes)
                held = []
    for waited, waited_raw, waited_start in held:  # a parent never found: own fields only
        yield _yield_record(crossrefs.inherit(waited), waited_raw, waited_start, file, notes)


def _yield_record(entry: Entry, raw: str, start: int, file: str,
                  notes: list[ParseNote] | None) -> Record:
    """The entry's Record; its unreadable year noted."""
    record = _to_record(entry, raw)
    if record.year is None and notes is not None:
        _note_year(entry, start, file, notes)
    return record


#: Entry types another entry's crossref names (the book of an inbook, the proceedings of an
#: inproceedings); their fields are remembered in case an entry after them cross-references them.
_PARENT_TYPES = frozenset({
    "book", "mvbook", "proceedings", "mvproceedings", "collection", "mvcollection", "reference",
    "mvreference", "periodical", "suppbook", "suppcollection",
})
#: Parent-type entries remembered before anything names them (biber allows a parent before its
#: children): a bound, so a library of 100,000 books does not sit in memory. Parents after their
#: children, as BibTeX wants them, are always found.
_MAX_REMEMBERED = 10_000
#: Fields a cross-referencing entry never takes from its parent.
#: The parent's own identifiers, text and pages are not the child's: a chapter given its book's DOI
#: would look like a duplicate of every other chapter of the book.
_NOT_INHERITED = frozenset({
    "crossref", "ids", "key", "title", "subtitle", "titleaddon", "indextitle", "shorttitle", "entryset",
    "xref", "shorthand", "label", "doi", "url", "eprint", "pmid", "pmcid", "abstract", "note", "annote",
    "annotation", "keywords", "pages", "file",
})


class _Crossrefs:
    """Crossref inheritance: an entry with `crossref = {parent}` takes the fields it lacks from the parent
    (the parent's title as its booktitle), as BibTeX and biber do.

    BibTeX wants the parent after the entries citing it, so such an entry is held (and every entry after
    it, to keep file order) until its parent has been read; only held entries and parent-type entries
    (book, proceedings ...) are remembered, so a file without crossrefs streams as before.
    """

    def __init__(self) -> None:
        self.parents: dict[str, list[Field]] = {}
        self.waiting: set[str] = set()

    @staticmethod
    def _target(entry: Entry) -> str:
        item = next((i for i in entry.fields if i.key.lower() == "crossref"), None)
        return _strip_braces(str(item.value)).strip().lower() if item is not None else ""

    def see(self, entry: Entry) -> None:
        """Remember the entry if it may be a parent; it answers a held entry's crossref."""
        key = entry.key.lower()
        if key in self.waiting or (entry.entry_type.lower() in _PARENT_TYPES
                                   and len(self.parents) < _MAX_REMEMBERED):
            self.parents.setdefault(key, entry.fields)
            self.waiting.discard(key)

    def wants(self, entry: Entry) -> bool:
        """Whether the entry names a parent not read yet (it is then waited for)."""
        target = self._target(entry)
        if target and target not in self.parents:
            self.waiting.add(target)
            return True
        return False

    def inherit(self, entry: Entry) -> Entry:
        """The entry with the fields it lacks filled in from its parent's (itself when it has none)."""
        parent = self.parents.get(self._target(entry))
        if not parent:
            return entry
        own = {item.key.lower() for item in entry.fields}
        added = [Field(item.key, item.value) for item in parent
                 if item.key.lower() not in own and item.key.lower() not in _NOT_INHERITED]
        title = next((item.value for item in parent if item.key.lower() == "title"), None)
        if title is not None and "booktitle" not in own:
            added.append(Field("booktitle", title))
        return Entry(entry.entry_type, entry.key, [*entry.fields, *added], entry.start_line, entry.raw)


#: In an entry's outline (values replaced by V): a value, then the next field with no comma between.
_MISSING_COMMA = re.compile(r"=\s*(?:V|[\w.:/+-]+)(?:\s*#\s*(?:V|[\w.:/+-]+))*\s*([A-Za-z_][\w.:+-]*\s*=)")


def _outline(text: str) -> str | None:
    """The entry's top level with each braced or quoted value replaced by "V", line ends kept.

    None for @comment and @preamble blocks, which hold no fields.
    """
    opens = _BLOCK_START.match(text)
    if not opens:
        return None
    kind = opens.group().strip().lstrip("@").rstrip("{(").strip().lower()
    if kind in ("comment", "preamble"):
        return None
    out = [text[:opens.end()]]
    i, n = opens.end(), len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            out.append(text[i:i + 2])
            i += 2
            continue
        if char in "{\"":
            # A value: skip to its end, nested braces and escapes included.
            depth = 0
            j = i
            while j < n:
                c = text[j]
                if c == "\\":
                    j += 2
                    continue
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                if (char == "{" and depth == 0) or (char == '"' and c == '"' and j > i and depth == 0):
                    break
                j += 1
            out.append("V" + "\n" * text.count("\n", i, j + 1))
            i = j + 1
            continue
        if char in "})":
            break  # the end of the entry
        out.append(char)
        i += 1
    return "".join(out)


def _check_commas(text: str, start: int, *, file: str) -> None:
    """Refuse two fields with no comma between ("title = {ok}" then "year = {2020}" on the next line).

    bibtexparser reads them as one value ("ok year = 2020"), losing the second field without a word.
    """
    outline = _outline(text)
    if outline is None:
        return
    found = _MISSING_COMMA.search(outline)
    if found:
        line = start + outline.count("\n", 0, found.start(1))
        raise ParseError(
            f"no comma before the field '{found.group(1).rstrip('= ').strip()}' (the value before it "
            "would swallow it)", file=file, line=line,
            hint="separate the fields of a BibTeX entry with commas",
        )


def _why(failed: Any, text: str, start: int) -> str:
    """What bibtexparser found wrong in a block, and on which line of the file it gave up."""
    error = getattr(failed, "error", None)
    reason = getattr(error, "abort_reason", None) or (str(error) if error else "") or type(failed).__name__
    end = getattr(error, "end_index", None)
    if isinstance(end, int):
        reason = f"{reason.rstrip('.')} (reading stopped at line {start + text[:end].count(chr(10))})"
    return reason


def _unenclosed(entry: Entry) -> Entry:
    """Strip the outer braces/quotes as the parse stack does for the blocks it parses (it skips failed ones),
    noting which values were enclosed (see _concatenate_expressions)."""
    return RemoveEnclosingMiddleware().transform_entry(entry, Library())


def _concatenate_expressions(entry: Entry, macros: dict[str, str]) -> None:
    """Resolve the fields written as expressions (`jean # " " # cesar`, `jan # " 2020"`), which bibtexparser
    leaves as written. Only a value not enclosed whole in braces or quotes is one: "{C # and F# in music}"
    is text, which was read as three pieces and lost its spaces ("CandF#inmusic")."""
    enclosing = entry.parser_metadata.get(RemoveEnclosingMiddleware.metadata_key(), {})
    for item in entry.fields:
        value = str(item.value).strip()
        if enclosing.get(item.key) == "no-enclosing" and "#" in value:
            item.value = _concatenate(value, macros)


def _concatenate(value: str, macros: dict[str, str]) -> str:
    """Resolve `jean # " " # cesar`, which bibtexparser leaves as written, piece by piece."""
    pieces = re.findall(r'\{(?:[^{}]|\{[^{}]*\})*\}|"[^"]*"|[^#\s]+', value)
    out = []
    for piece in pieces:
        if piece[:1] in "{\"":
            out.append(piece[1:-1])
        else:
            out.append(macros.get(piece.lower(), piece))
    return "".join(out)


def _decode(value: str) -> str:
    """Turn LaTeX into text ({\\'e} -> é, \\& -> &); values without a backslash only lose braces.

    A "%" in a value is text ("50% reduction"), as BibTeX has it; LaTeX would read it as a comment and drop
    the rest of its line ("10\\% of patients; 20% more" lost "% more"), so it is escaped first.
    """
    if "\\" in value:
        if "%" in value:
            value = _BARE_PERCENT.sub(r"\1\\%", value)
        try:
            nodes = latexwalker.LatexWalker(value, latex_context=_WALKER_CONTEXT, tolerant_parsing=True)
            return str(_LATEX.nodelist_to_text(nodes.get_latex_nodes()[0]))
        except Exception:  # pylatexenc fails on some malformed macros ("\\href{x}" alone): keep the text
            return value
    return value


def _strip_braces(value: str) -> str:
    """Drop the case-protecting braces left in a value ("{COVID}-19" -> "COVID-19")."""
    return value.replace("{", "").replace("}", "")


def _wholly_braced(name: str) -> bool:
    """Whether a name is one brace group ("{World Health Organization}"), not "{\\"U}ber, Hans"."""
    if not (name.startswith("{") and name.endswith("}")):
        return False
    depth = 0
    for index, char in enumerate(_ESCAPED_BRACES.sub("", name)):
        depth += 1 if char == "{" else -1 if char == "}" else 0
        if depth == 0:
            return index == len(_ESCAPED_BRACES.sub("", name)) - 1
    return False


def split_names(value: str) -> tuple[str, ...]:
    """Split a BibTeX name list (its LaTeX not yet decoded) on "and" outside braces and return
    "Surname, Given" names."""
    names: list[str] = []
    depth = 0
    current: list[str] = []
    for token in re.split(r"(\s+and\s+|[{}])", value, flags=re.IGNORECASE):
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
        elif depth == 0 and re.fullmatch(r"\s+and\s+", token, re.IGNORECASE):
            names.append("".join(current))
            current = []
            continue
        current.append(token)
    names.append("".join(current))
    result = []
    for name in names:
        name = clean(name)
        if not name or name.lower() == "others":
            continue
        if _wholly_braced(name):
            # {World Health Organization}: a corporate name, kept as written. Tested before LaTeX is
            # decoded, since decoding drops the braces that say so.
            result.append(clean(_strip_braces(_decode(name))))
            continue
        name = clean(_strip_braces(_decode(name)))
        parts = [p.strip() for p in name.split(",")]
        if len(parts) == 3:  # "von Last, Jr, First"
            result.append(f"{parts[0]} {parts[1]}, {parts[2]}")
        else:
            result.append(author_given_first(name))
    return tuple(result)


def _note_year(entry: Entry, start: int, file: str, notes: list[ParseNote]) -> None:
    """Note the entry's year (else date) field when it holds text but no year; `start` is the line its
    block starts on."""
    for name in ("year", "date"):
        item = next((i for i in entry.fields if i.key.lower() == name and str(i.value).strip()), None)
        if item is None:
            continue
        value = _strip_braces(str(item.value))
        if unreadable_year(value):
            line = start + item.start_line if item.start_line is not None else None
            notes.append(year_note(file, line, item.key, value))
        return


def _to_record(entry: Entry, raw: str) -> Record:
    """Map a bibtexparser entry onto a Record (formats.md §3)."""
    fields: dict[str, str] = {}
    for item in entry.fields:  # a field given twice keeps its first value (fields_dict keeps the last)
        fields.setdefault(item.key.lower(), str(item.value))

    def field(*names: str, decode: bool = True) -> str:
        for name in names:
            value = fields.get(name, "").strip()
            if value:
                return _decode(value) if decode else value
        return ""

    def f(*names: str) -> str:
        return _strip_braces(field(*names))

    keywords = re.split(r"\s*[;,]\s*", f("keywords", "keyword", "author_keywords"))
    notes = f("note", "annote", "annotation")
    extra: dict[str, object] = {}
    if notes:
        extra["notes"] = notes
    if fields.get("editor"):
        extra["editors"] = list(split_names(field("editor", decode=False)))
    return build_record(
        raw=raw, format="bibtex",
        source_type=entry.entry_type.lower(),
        title=f("title"),
        abstract=f("abstract"),
        # Names are split before their LaTeX is decoded: decoding drops the braces that mark a
        # corporate name ("{World Health Organization}") and an "and" that is part of one.
        authors=split_names(field("author", decode=False)),
        year=parse_year(f("year")) or parse_year(f("date")),
        journal=f("journal", "journaltitle", "booktitle"),
        journal_abbrev=f("journal_abbrev", "shortjournal", "abbrev_source_title", "journalabbrev"),
        volume=f("volume"), issue=f("number", "issue"),
        pages=normalise_pages(f("pages")),
        doi=f("doi") or None,
        pmid=f("pmid") or None,
        pmcid=normalise_pmcid(f("pmcid")),
        publication_types=unique([f("type", "document_type")]),
        keywords=unique(keywords),
        language=f("language", "langid"),
        issn=f("issn"),
        url=f("url"),
        source_id=entry.key,
        source_db=f("source"),
        extra=extra,
    )
