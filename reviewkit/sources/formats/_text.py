"""Provides encoding detection and streaming text opening for the bibliographic file readers."""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from reviewkit.errors import ParseError

_CHUNK = 1 << 20
#: Bytes a format sniffer looks at: enough for a file header plus the first record.
SNIFF_BYTES = 16 * 1024

#: C0 control characters that never occur in a text export (tab, line ends, form feed and the DOS
#: end-of-file mark do); their presence means binary data.
_BINARY_RE = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f]")
#: NUL is refused by every text reader, the CSV reader included (which tolerates the other control
#: characters some real exports carry): dropping it would silently alter the data, and PostgreSQL
#: cannot store it.
NUL = "\x00"


def _decodes(path: Path, encoding: str, limit: int | None) -> bool:
    """Whether the file (or its first `limit` bytes) decodes; read in chunks, memory bounded."""
    decoder = codecs.getincrementaldecoder(encoding)()
    read = 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK if limit is None else min(_CHUNK, limit - read)):
                decoder.decode(chunk)
                read += len(chunk)
            # A multi-byte character cut by the limit is not an error of the file.
            decoder.decode(b"", final=limit is None)
    except UnicodeDecodeError:
        return False
    return True


def sniff_encoding(path: Path, *, limit: int | None = None) -> str:
    """Return the codec name a file is written in: BOM first, then UTF-8, then Windows-1252, Latin-1.

    UTF-8 is tried over the whole file (a late accented name in a Latin-1 export must not become
    a decoding error at record 9,000); Windows-1252 leaves five bytes undefined, Latin-1 none.
    `limit` restricts the check to the first bytes (format sniffing needs no more).
    """
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        # A BOM says UTF-8, but text pasted in from a Windows-1252 file may follow it: refused as
        # the same mixed file without a BOM is, naming the line of its first stray byte.
        if limit is None and not _decodes(path, "utf-8-sig", None):
            _refuse_mixed_utf8(path)
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) and head[2:4] == b"\x00\x00":
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # UTF-16 without a BOM: ASCII text then has a NUL in every other byte.
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] and head[2]:
        return "utf-16-le"
    if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] and head[3]:
        return "utf-16-be"
    if _decodes(path, "utf-8", limit):
        return "utf-8"
    if limit is None:
        _refuse_mixed_utf8(path)
    if _decodes(path, "cp1252", limit):
        return "cp1252"
    return "latin-1"


#: A well-formed UTF-8 sequence of two to four bytes (RFC 3629: no overlong forms, no surrogates).
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}")


_HIGH_BYTES = bytes(range(0x80, 0x100))


def _refuse_mixed_utf8(path: Path) -> None:
    """Refuse a file that is UTF-8 but for some bytes (text pasted in from a Windows-1252 file).

    Read as Windows-1252, its every UTF-8 character would turn into two or three wrong ones
    ("München" into "MÃ¼nchen") without a word. A file counts as mixed when it holds at least as
    many well-formed UTF-8 sequences as stray high bytes: a real Windows-1252 (or GBK, Big5 …)
    export has a byte pair that is also well-formed UTF-8 only now and then, and many stray ones.
    The error names the line of the first stray byte.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    sequences = stray = read = 0
    bad: int | None = None  # the offset of the first invalid byte
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            found = _UTF8_MULTIBYTE.findall(chunk)
            sequences += len(found)
            stray += len(chunk) - len(chunk.translate(None, _HIGH_BYTES)) - sum(map(len, found))
            read += len(chunk)
            if bad is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    bad = _bad_byte_offset(exc, read)
        if bad is None:
            try:
                decoder.decode(b"", final=True)  # a sequence cut off by the end of the file
            except UnicodeDecodeError as exc:
                bad = _bad_byte_offset(exc, read)
        if bad is None or sequences < stray:
            return
        fh.seek(0)
        # Line ends are single ASCII bytes in UTF-8 and Windows-1252 alike: Latin-1 counts them.
        bad_line = _line_of(fh, bad, "latin-1")
    raise ParseError(
        "the file is UTF-8 but for bytes that are not (its first invalid byte is on this line): read as "
        "Windows-1252 its UTF-8 characters would be silently changed",
        file=str(path), line=bad_line,
        hint="the file mixes encodings: fix that line's characters or save the whole file again as UTF-8",
    )


def _bad_byte_offset(exc: UnicodeDecodeError, end: int) -> int:
    """The file offset of the first byte an incremental decoder refused, `end` bytes having been fed to it.

    `exc.object` is always the last bytes read: the decoder puts the bytes of a character the previous
    chunk cut in front of the new chunk, and a BOM-skipping one decodes only what follows the BOM.
    """
    return end - len(exc.object) + exc.start


def _line_of(binary: BinaryIO, offset: int, encoding: str) -> int:
    """The line (from 1) holding byte `offset` of `binary`, read from where it stands, chunk by chunk.

    Line ends are counted as universal newlines reads them (LF, CRLF, and CR alone, as old Mac
    exports end lines), so the number is the one numbered_lines gives the same line; a CRLF cut
    by a chunk's end stays one line end, and a CR just before the offset ends the line before it.
    """
    decoder = io.IncrementalNewlineDecoder(codecs.getincrementaldecoder(encoding)(errors="replace"), translate=True)
    lines, left = 1, offset
    while left > 0 and (chunk := binary.read(min(_CHUNK, left))):
        lines += decoder.decode(chunk).count("\n")
        left -= len(chunk)
    return lines + decoder.decode(b"", final=True).count("\n")


def open_text(path: Path, *, newline: str | None = None) -> TextIO:
    """Open a file as a text stream in its sniffed encoding (universal newlines unless told)."""
    encoding = sniff_encoding(path)
    return path.open("r", encoding=encoding, newline=newline)


def read_head(path: Path) -> str:
    """Return the first few KB of a file decoded, the BOM removed (for format sniffing)."""
    encoding = sniff_encoding(path, limit=SNIFF_BYTES)
    with path.open("rb") as fh:
        raw = fh.read(SNIFF_BYTES)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(raw)
    return text.lstrip("\ufeff")


def numbered_lines(stream: TextIO, *, file: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, line without its line end), refusing binary content as it is met.

    A byte sequence the file's encoding cannot decode (a damaged UTF-16 file, Latin-1 text
    after a UTF-8 BOM) is a ParseError at the line where it occurs, never a UnicodeDecodeError.
    """
    number = 0
    try:
        for line in stream:
            number += 1
            line = line.rstrip("\r\n")
            if number == 1:
                line = line.lstrip("\ufeff")
            # isprintable() is a fast C check true for almost every line; the regex decides the
            # rest (tabs, no-break spaces) so a real control character is never let through.
            if not line.isprintable() and (found := _BINARY_RE.search(line)):
                if NUL in line:
                    raise nul_error(line, file=file, line=number)
                raise ParseError(
                    f"binary data (control character U+{ord(found.group()):04X} at column "
                    f"{found.start() + 1}) where text was expected",
                    file=file, line=number,
                    hint="the file is not a text export; export it again as RIS, MEDLINE, CSV or XML",
                )
            yield number, line
    except UnicodeDecodeError as exc:
        raise undecodable(exc, file=file, line=failed_line(stream, exc, number)) from None


def failed_line(stream: TextIO, exc: UnicodeDecodeError, done: int) -> int:
    """The line of the byte a text stream could not decode, `done` lines having been read before.

    The stream decodes a whole buffer at a time and fails on it before yielding any of its lines,
    so the lines read say only roughly where the bad byte is; its offset in the file is exact
    (the stream's binary buffer stands just after the bytes it failed on), and the line ends
    before it are counted from the start. Guessing from the buffer alone was a line early when
    the buffer before ended on a CR the stream held back to see whether an LF followed.
    """
    try:
        binary = stream.buffer
        offset = _bad_byte_offset(exc, binary.tell())
        binary.seek(0)
        return _line_of(binary, offset, stream.encoding)
    except (AttributeError, OSError, ValueError):  # a stream that cannot go back (a pipe): the buffer's guess
        before = codecs.decode(bytes(exc.object[:exc.start]), exc.encoding, "replace")
        return done + 1 + len(_LINE_END.findall(before))


#: A line end as universal newlines reads it.
_LINE_END = re.compile(r"\r\n|\r|\n")


def undecodable(exc: UnicodeDecodeError, *, file: str, line: int | None = None) -> ParseError:
    """Return the ParseError for text that does not decode in the file's own encoding."""
    return ParseError(
        f"bytes that are not valid {exc.encoding} text", file=file, line=line,
        hint="the file mixes encodings or is damaged; save it again as UTF-8",
    )


def nul_error(text: str, *, file: str, line: int) -> ParseError:
    """Return the ParseError for a NUL character in line `line` (whose text is `text`) of a text file."""
    return ParseError(
        f"a NUL character (binary data) at column {text.index(NUL) + 1} where text was expected",
        file=file, line=line,
        hint="the file is damaged or not a text export: remove the NUL or export the file again "
             "(a file is refused rather than silently changed)",
    )


def unknown_xml_encoding(exc: LookupError, file: str) -> ParseError:
    """The ParseError for an XML declaration naming an encoding no codec has (a damaged `encoding="…"`)."""
    return ParseError(f"the XML declaration names an encoding Python does not know ({exc})", file=file, line=1,
                      hint='the file is damaged; PubMed and EndNote write encoding="UTF-8": export it again')
