"""Shared normalisers: structured abstracts, page ranges and author names as real exports write them."""

from __future__ import annotations

import pytest

from reviewkit.sources.formats._common import (
    author_surname_first,
    normalise_pages,
    split_author_list,
    structure_abstract,
)


def test_structured_abstract_split_and_false_labels_kept() -> None:
    """Section labels start lines; "CI:" and "P:" inside a section do not."""
    text = "BACKGROUND: a (95% CI: 1-2). P: 0.05 was seen. METHODS: b. CONCLUSIONS AND RELEVANCE: c."
    assert structure_abstract(text) == (
        "BACKGROUND: a (95% CI: 1-2). P: 0.05 was seen.\nMETHODS: b.\nCONCLUSIONS AND RELEVANCE: c."
    )
    assert structure_abstract("Background: a. Methods: b.") == "Background: a.\nMethods: b."
    assert structure_abstract("Plain abstract. NOTE: nothing.") == "Plain abstract. NOTE: nothing."


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [("1058-64", None, "1058-1064"), ("100--110", None, "100-110"), ("271", "278", "271-278"),
     ("e0815", None, "e0815"), ("5795-813", None, "5795-5813"), ("S105", None, "S105"),
     ("12", "12", "12")],
)
def test_pages(start: str, end: str | None, expected: str) -> None:
    """MEDLINE's abbreviated end pages expand; BibTeX double hyphens and RIS SP/EP join."""
    assert normalise_pages(start, end) == expected


@pytest.mark.parametrize(
    ("cell", "authors"),
    [
        ("Lim SM, Shiau CWC, Lau Y.", ("Lim, SM", "Shiau, CWC", "Lau, Y")),
        ("Joseph Rottman, Erran Carmel", ("Rottman, Joseph", "Carmel, Erran")),
        ("Rotter, Carina; Whittaker, Danielle", ("Rotter, Carina", "Whittaker, Danielle")),
        ("Liu R., Adler D.G.", ("Liu, R.", "Adler, D.G.")),
        ("R. L. Whistler and W. C. Lake", ("Whistler, R. L.", "Lake, W. C.")),
        ("Zhai, Q. J. and Yue, X. Y.", ("Zhai, Q. J.", "Yue, X. Y.")),
        ("van de Schoot, Rens", ("van de Schoot, Rens",)),
    ],
)
def test_author_cells(cell: str, authors: tuple[str, ...]) -> None:
    """Author cells of PubMed, IEEE, Zotero, Embase, ASReview and bib-dedupe CSVs split right."""
    assert split_author_list(cell) == authors


@pytest.mark.parametrize(
    "name", ["WHO Collaborating Group", "NICE Guideline Committee", "MRC CRASH Trial Collaborators", "ESC Task Force"],
)
def test_group_author_is_kept_as_written(name: str) -> None:
    """A group name opening with an acronym is not "Initials Surname" ("Group, WHO Collaborating")."""
    assert author_surname_first(name) == name
    assert split_author_list(f"Lim SM; {name}") == ("Lim, SM", name)
