"""Provides the PRISMA counts the flow tests share: the baricitinib review's flow (template A) and the same
flow with other methods adding reports (template B)."""

from __future__ import annotations

from dataclasses import replace

from reviewkit.domain.prisma import OtherMethods, PrismaCounts


def baricitinib_flow(not_rct: str = "Not an RCT") -> PrismaCounts:
    """A consistent template-A flow with the baricitinib review's totals (379 → 6 studies; the per-source
    split is invented). `not_rct` names the largest full-text exclusion reason (the diagram tests wrap a
    long one)."""
    return PrismaCounts(
        databases={"PubMed": 150, "Embase": 170, "CENTRAL": 40},
        registers={"ClinicalTrials.gov": 19},
        duplicates_removed=239, automation_ineligible=0, removed_other_reasons=0,
        records_screened=140, records_excluded=109,
        reports_sought=31, reports_not_retrieved=0, reports_assessed=31,
        reports_excluded={not_rct: 12, "Wrong comparator": 8, "Wrong population": 5},
        studies_included=6, reports_included=6,
    )


def with_other_methods(flow: PrismaCounts) -> PrismaCounts:
    """Template B: the flow plus other methods contributing two included reports."""
    other = OtherMethods(
        identified={"Websites": 3, "Organisations": 1, "Citation searching": 9},
        sought=6, not_retrieved=1, assessed=5, excluded={"Not an RCT": 2, "Duplicate report": 1},
    )
    return replace(flow, other=other, reports_included=8)
