"""Provides reading PubMed's esearch answers and PubMed dates (slice bounds, Entrez-date terms)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XMLParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from reviewkit.sources.http import TransientError
from reviewkit.sources.pubmed_plan import DateSlice


def parse_esearch(body: bytes, label: str) -> dict[str, Any]:
    """Count, history keys, translation and messages of an eSearchResult; TransientError if not one."""
    try:
        root = fromstring(body)
    except (XMLParseError, DefusedXmlException) as exc:
        raise TransientError(f"{label}: the response is not esearch XML ({exc})") from exc
    if root.tag != "eSearchResult":
        raise TransientError(f"{label}: expected <eSearchResult>, got <{root.tag}>")
    error = root.find("ERROR")
    if error is not None:
        raise TransientError(f"{label}: PubMed reports an error: {(error.text or '').strip()}")
    count_text = (root.findtext("Count") or "").strip()
    if not count_text.isdigit():
        raise TransientError(f"{label}: the response has no <Count>")
    warnings = tuple(
        f"{node.tag}: {(node.text or '').strip()}"
        for node in _children(root, "ErrorList") + _children(root, "WarningList")
    )
    return {
        "count": int(count_text),
        "webenv": (root.findtext("WebEnv") or "").strip(),
        "query_key": (root.findtext("QueryKey") or "").strip(),
        "translation": (root.findtext("QueryTranslation") or "").strip(),
        "translation_set": tuple(
            ((t.findtext("From") or "").strip(), (t.findtext("To") or "").strip())
            for t in root.iterfind("TranslationSet/Translation")
        ),
        "warnings": warnings,
        "ids": tuple((node.text or "").strip() for node in root.iterfind("IdList/Id") if node.text),
    }


def _children(root: Element, tag: str) -> list[Element]:
    node = root.find(tag)
    return list(node) if node is not None else []


def slice_dates(part: DateSlice) -> tuple[date, date] | None:
    """A slice's Entrez-date range, None for an unsliced search."""
    if not part.mindate:
        return None
    return as_date(part.mindate, end=False), as_date(part.maxdate, end=True)


def fmt_date(day: date) -> str:
    return day.strftime("%Y/%m/%d")


def as_date(value: str, *, end: bool) -> date:
    """A PubMed date ("2020", "2020/05", "2020/05/17") as its first or last day."""
    parts = [int(p) for p in re.split(r"[/-]", value.strip()) if p]
    year = parts[0]
    month = parts[1] if len(parts) > 1 else (12 if end else 1)
    if len(parts) > 2:
        return date(year, month, parts[2])
    if not end:
        return date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)
