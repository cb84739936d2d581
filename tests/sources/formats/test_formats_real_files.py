"""Every real export in fixtures/references imports with its record count and the fields the file holds."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from reviewkit.sources.formats import detect_format, read_records

REFS = Path(__file__).resolve().parents[3] / "fixtures" / "references"


class Expect(NamedTuple):
    """What one record of a file says (read off the file by hand); None means "not checked"."""

    index: int
    title: str
    first_author: str | None
    year: int | None
    doi: str | None
    pmid: str | None


#: (file, detected format, record count, expected fields of one record).
CASES: list[tuple[str, str, int, Expect | None]] = [
    ("asreview/_baseline.ris", "ris", 100, Expect(0, 'The Value of Radiologic Interventions and 18 ', 'Blomberg', 2012, '10.1007/s11307-012-0572-0', None)),
    ("asreview/baseline_empty_values.ris", "ris", 4, Expect(0, 'Title of reference', '', None, None, None)),
    ("asreview/baseline_reference_types.ris", "ris", 61, Expect(0, '', '', None, None, None)),
    ("asreview/baseline_tag-notes_labels.ris", "ris", 32, Expect(0, 'Record which is labeled "relevant" by the res', '', None, None, None)),
    ("asreview/baseline_tag-notes_zotero.ris", "ris", 4, Expect(0, 'Zotero: notes in records come with XHTML tags', '', None, None, None)),
    ("asreview/baseline_zotero.ris", "ris", 100, Expect(0, 'An open source machine learning framework for', 'van de Schoot', 2021, '10.1038/s42256-020-00287-7', None)),
    ("asreview/embase.csv", "csv", 6, Expect(0, 'Duplication cysts: Diagnosis, management, and', 'Liu', 2014, '10.4103/2303-9027.138783', None)),
    ("asreview/embase.ris", "ris", 6, Expect(0, 'Duplication cysts: Diagnosis, management, and', 'Liu', 2014, '10.4103/2303-9027.138783', None)),
    ("asreview/faulty_year.ris", "ris", 1, Expect(0, 'The Value of Radiologic Interventions and 18 ', '', None, None, None)),
    ("asreview/ovid_psycinfo.ris", "ris", 6, Expect(0, 'The influence of self-criticism on depression', 'Trindade', 2019, '10.1002/cpp.2398', None)),
    ("asreview/ovid_zotero.ris", "ris", 6, Expect(0, 'The influence of self-criticism on depression', 'Trindade', 2019, '10.1002/cpp.2398', None)),
    ("asreview/proquest.ris", "ris", 6, Expect(0, 'Predictors of posttraumatic stress symptom tr', 'Jones', 2019, '10.1002/jts.22387', None)),
    ("asreview/pubmed_endnote.txt", "ris", 6, Expect(0, 'Boswellia serrata: an overall assessment of i', 'Abdel-Tawab', 2011, '10.2165/11586800-000000000-00000', '21553931')),
    ("asreview/pubmed_zotero.ris", "ris", 6, Expect(0, 'The importance of cognitive flexibility and f', 'Rudnik', 2019, '10.5114/pg.2018.81081', None)),
    ("asreview/ris_issue_1099.txt", "ris", 7, Expect(0, 'Design and prototyping of directly driven out', 'Vaimann', 2018, '10.15598/aeee.v16i3.2698', None)),
    ("asreview/ris_issue_992.txt", "ris", 19, Expect(4, 'Quarterly change', 'Park', 2012, '10.4168/aair.2012.4.1.1', None)),
    ("asreview/scopus.ris", "ris", 6, Expect(0, 'Stress and the brain-gut axis in functional a', 'Labanski', 2020, '10.1016/j.psyneuen.2019.104501', None)),
    ("asreview/web_of_science.txt", "ris", 10, Expect(0, 'Holding Yourself Captive: Perceptions of Cust', 'Alceste', 2018, '10.1016/j.jarmac.2018.03.001', None)),
    ("asysd_spaniels/mendeley_export.xml", "endnote_xml", 1233, Expect(0, 'Myoclonus in older Cavalier King Charles Span', 'Rotter', 2022, '10.1111/jvim.16404', '35319117')),
    ("asysd_spaniels/ris_export.txt", "ris", 69, Expect(0, "Altered metabolism of familial Alzheimer's di", 'Wagner', 1997, '10.1093/hmg/6.9.1535', None)),
    ("asysd_spaniels/scopus.ris", "ris", 10, Expect(0, 'Development and Validation of a Robust and St', 'Furlanello', 2025, '10.3390/ani15010003', None)),
    ("asysd_spaniels/wos_test.ris", "ris", 50, Expect(0, 'Microangiography of the humeral condyle in Co', 'Larsen', 1999, None, None)),
    ("asysd_spaniels/zotero_export.bib", "bibtex", 1000, Expect(0, 'Microangiography of the humeral condyle in Co', 'Larsen', 1999, None, None)),
    ("asysd_spaniels/zotero_export.csv", "csv", 1233, Expect(0, 'Myoclonus in older Cavalier King Charles Span', 'Rotter', 2022, '10.1111/jvim.16404', '35319117')),
    ("asysd_spaniels/zotero_export.ris", "ris", 1000, Expect(0, 'Microangiography of the humeral condyle in Co', 'Larsen', 1999, None, None)),
    ("asysd_spaniels/zotero_export.xml", "endnote_xml", 1233, Expect(0, 'Myoclonus in older Cavalier King Charles Span', 'Rotter', 2022, '10.1111/jvim.16404', None)),
    ("bibtexparser/article_missing_coma.bib", "bibtex", 4, Expect(0, 'An amazing title', 'Cesar', 2013, None, None)),
    ("bibtexparser/article_multilines.bib", "bibtex", 1, Expect(0, 'A mutline line title is very amazing. It shou', 'César', 2013, None, None)),
    ("bibtexparser/article_no_braces.bib", "bibtex", 1, Expect(0, 'An amazing title', 'Césarü', 2013, None, None)),
    ("bibtexparser/article_oneline.bib", "bibtex", 2, Expect(0, 'An amazing title', 'Cesar', 2013, None, None)),
    ("bibtexparser/article_start_with_bom.bib", "bibtex", 1, Expect(0, 'An amazing title', 'César', 2013, None, None)),
    ("bibtexparser/article_with_special_characters.bib", "bibtex", 1, Expect(0, 'An amazing title', 'Césarü', 2013, None, None)),
    ("bibtexparser/article_with_strings.bib", "bibtex", 1, Expect(0, 'An amazing title', 'César', 2013, None, None)),
    ("bibtexparser/biber-examples.bib", "bibtex", 118, Expect(0, 'The True Frontier', 'Westfahl', 2000, None, None)),
    ("bibtexparser/book_capital_AND.bib", "bibtex", 1, Expect(0, 'Dynamics of Polymeric Liquid', 'Bird', 1987, None, None)),
    ("bibtexparser/comments_percentage.bib", "bibtex", 2, Expect(0, 'An amazing title', 'Cesar', 2013, None, None)),
    ("bibtexparser/common_strings.bib", "bibtex", 0, None),
    ("bibtexparser/crossref_entries.bib", "bibtex", 14, Expect(0, 'Great and Good Graphs', 'Gullam', 1974, None, None)),
    ("bibtexparser/encoding.bib", "bibtex", 1, Expect(0, 'An amazing title: à', 'César', 2013, None, None)),
    ("bibtexparser/gbk_test.bib", "bibtex", 1, Expect(0, 'Test Title', None, 2013, None, None)),
    ("bibtexparser/multiple_entries_and_comments.bib", "bibtex", 3, Expect(0, 'Optical fiber fusion slicing', 'Yablon', 2005, None, None)),
    ("bibtexparser/traps.bib", "bibtex", 1, Expect(0, 'An amazing title', None, 2013, None, None)),
    ("bibtexparser/wrong.bib", "bibtex", 2, Expect(1, '', 'correct', None, None, None)),
    ("colrev/ais_endnote_tagged.enw", "endnote_tagged", 6, Expect(0, 'How Trust Leads to Commitment on Microsourcin', 'Guo', 2021, None, None)),
    ("colrev/crossref.bib", "bibtex", 1, Expect(0, 'Sensemaking and Sustainable Practicing: Funct', 'Seidel', 2013, '10.25300/MISQ/2013/37.4.13', None)),
    ("colrev/ieee_export.csv", "csv", 2, Expect(0, 'Rural Outsourcing: Delivering ITO and BPO Ser', 'Rottman', None, '10.1109/mc.2011.377', None)),
    ("colrev/pubmed_export_chatbot.csv", "csv", 6, Expect(0, 'Chatbot-Delivered Psychotherapy for Adults Wi', 'Lim', 2022, '10.1016/j.beth.2021.09.007', '35227408')),
    ("entrez_biopython/medline_pubmed_result1.txt", "medline", 1, Expect(0, 'The Bio* toolkits--a brief overview.', 'Mangalam', 2002, None, '12230038')),
    ("entrez_biopython/medline_pubmed_result2.txt", "medline", 4, Expect(0, 'A high level interface to SCOP and ASTRAL imp', 'Casbon', 2006, '10.1186/1471-2105-7-10', '16403221')),
    ("entrez_biopython/medline_pubmed_result3.txt", "medline", 1, Expect(0, 'Effects of different parameters in the fast s', 'Qiao', 2012, '10.1118/1.4748329', '23039619')),
    ("entrez_biopython/pubmed2_11748933_as_medline.nbib", "medline", 1, Expect(0, 'Is cryopreservation a homogeneous process? Ul', 'Taddei', 2001, '10.1006/cryo.2001.2328', '11748933')),
    ("entrez_synthesisr/PubMed_medline_example.nbib", "medline", 3, Expect(0, 'Differences in nitrate and phosphorus export ', 'Neilen', 2017, '10.1016/j.scitotenv.2017.04.075', '28441597')),
    ("rispy/example_basic.ris", "ris", 1, Expect(0, 'A Mathematical Theory of Communication', 'Shannon', 1948, None, None)),
    ("rispy/example_bom.ris", "ris", 1, Expect(0, '', '', None, '10.1186/s40981-020-0316-0', None)),
    ("rispy/example_custom_list_tags.ris", "ris", 1, Expect(0, '', 'Marx', None, None, None)),
    ("rispy/example_empty_tag.ris", "ris", 1, Expect(0, 'Outcome Measures After Shoulder Stabilization', 'Fanning', 2020, '10.1177/2325967120950040', None)),
    ("rispy/example_extraneous_data.ris", "ris", 2, Expect(0, 'Title of reference', 'Marx', 2014, None, None)),
    ("rispy/example_full.ris", "ris", 2, Expect(0, 'Title of reference', 'Marx', 2014, None, None)),
    ("rispy/example_full_without_whitespace.ris", "ris", 2, Expect(0, 'Title of reference', 'Marx', 2014, None, None)),
    ("rispy/example_multi_unknown_tags.ris", "ris", 1, Expect(0, 'A Mathematical Theory of Communication', 'Shannon', 1948, None, None)),
    ("rispy/example_multiline.ris", "ris", 3, Expect(0, '', '', None, None, None)),
    ("rispy/example_single_unknown_tag.ris", "ris", 1, Expect(0, 'A Mathematical Theory of Communication', 'Shannon', 1948, None, None)),
    ("rispy/example_starting_newlines.ris", "ris", 1, Expect(0, 'A Mathematical Theory of Communication', 'Shannon', 1948, None, None)),
    ("rispy/example_urls.ris", "ris", 4, Expect(0, 'A Mathematical Theory of Communication', 'Shannon', 1948, None, None)),
    ("rispy/example_utf_chars.ris", "ris", 1, Expect(0, 'Состояние рецепторного аппарата эндометрия и ', 'Dobrokhotova', 2009, None, None)),
    ("rispy/example_wos.ris", "wos", 2, Expect(0, 'Interactions stabilizing the structure of the', 'Parkes-Loach', 2004, '10.1021/bi049798f', '15170338')),
    ("synthesisr/ASP_ris_example.ris", "ris", 4, Expect(0, '“Living on the edge”: The role of field margi', 'Rodríguez-Pastor', 2016, '10.1016/j.agee.2016.06.041', None)),
    ("synthesisr/Ovid_ris_example.ris", "ris", 4, Expect(0, 'Detection of retention trees on clearcuts, a ', 'Holmstrom', 2020, '10.4236/ojf.2020.101008', None)),
    ("synthesisr/Scopus_bib_example.bib", "bibtex", 3, Expect(0, 'Soil fauna diversity at different stages of r', 'Li', 2020, '10.1080/20964129.2020.1722034', None)),
    ("synthesisr/Scopus_ris_example.ris", "ris", 3, Expect(0, 'Soil fauna diversity at different stages of r', 'Li', 2020, '10.1080/20964129.2020.1722034', None)),
    ("synthesisr/WoS_ciw_example.ciw", "wos", 5, Expect(0, 'Soil fauna diversity at different stages of r', 'Li', 2020, '10.1080/20964129.2020.1722034', None)),
    ("synthesisr/WoS_txt_example.txt", "wos", 4, Expect(0, 'Soil fauna diversity at different stages of r', 'Li', 2020, '10.1080/20964129.2020.1722034', None)),
    ("synthesisr/citesource_issue_24.ris", "ris", 17, Expect(0, 'Effects of artificial light on bird movement ', 'Adams', 2021, '10.1186/s13750-021-00246-8', None)),
    ("synthesisr/zoorec.txt", "wos", 134, Expect(0, 'Nest site selection and nest survival of Blac', 'Stillman', 2019, None, None)),]


def test_every_fixture_file_is_listed() -> None:
    """No file in fixtures/references escapes the table (PubMed XML belongs to pubmed_xml.py)."""
    on_disk = {
        f"{p.parent.name}/{p.name}" for p in REFS.glob("*/*")
        if p.name != "README.md" and not (p.parent.name == "entrez_biopython" and p.suffix == ".xml")
    }
    assert on_disk == {case[0] for case in CASES}


@pytest.mark.parametrize(("name", "fmt", "count", "expect"), CASES, ids=[c[0] for c in CASES])
def test_real_file_imports(name: str, fmt: str, count: int, expect: Expect | None) -> None:
    """The file is detected, yields the record count its README states, and one record's fields match."""
    path = REFS / name
    assert detect_format(path) == fmt
    records = list(read_records(path))
    assert len(records) == count
    for record in records:
        assert record.format == fmt
        assert record.raw.strip()
    if expect is None:
        return
    record = records[expect.index]
    assert record.title.startswith(expect.title)
    if expect.first_author is not None:
        assert record.first_author == expect.first_author
    assert record.year == expect.year
    assert record.doi == (expect.doi.lower() if expect.doi else None)
    assert record.pmid == expect.pmid
    if fmt != "bibtex" and expect.title:
        # The title read is the file's own text (BibTeX titles carry braces/LaTeX in the raw).
        assert " ".join(expect.title.split()[:3]) in " ".join(record.raw.split())
