"""Provides multi-arm trial handling (Cochrane Handbook §23.3.4): combine arms, split the control, or naive."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reviewkit.errors import ReviewkitError

STRATEGIES: tuple[str, ...] = ("combine", "split", "naive")


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm of a trial: events/total (binary) or mean/SD/N (continuous)."""

    name: str
    n: float
    events: float | None = None
    mean: float | None = None
    sd: float | None = None

    @property
    def is_binary(self) -> bool:
        """True when the arm carries events rather than a mean and SD."""
        return self.events is not None


@dataclass(frozen=True, slots=True)
class MultiArmResult:
    """Comparison rows (the columns meta_analysis() reads) for one multi-arm trial."""

    #: combine, split or naive.
    strategy: str
    #: One dict per comparison: study, events_treat/n_treat/... or mean_treat/sd_treat/...
    rows: tuple[dict[str, Any], ...]
    #: Warnings to show with the analysis (naive double counting).
    warnings: tuple[str, ...] = ()


def combine_binary(arms: Sequence[Arm]) -> Arm:
    """Merge arms: add the events and add the totals (Handbook Table 6.5.a)."""
    return Arm(" + ".join(a.name for a in arms), sum(a.n for a in arms),
               events=sum(float(a.events or 0) for a in arms))


def combine_continuous(arms: Sequence[Arm]) -> Arm:
    """Merge arms' N, mean and SD pairwise with the Handbook Table 6.5.a formulas.

    SD = √{[(N1−1)SD1² + (N2−1)SD2² + N1·N2/(N1+N2)·(M1−M2)²] / (N1+N2−1)}.
    """
    first = arms[0]
    n, m, s = first.n, float(first.mean or 0.0), float(first.sd or 0.0)
    for arm in arms[1:]:
        n2, m2, s2 = arm.n, float(arm.mean or 0.0), float(arm.sd or 0.0)
        total = n + n2
        sd2 = ((n - 1) * s**2 + (n2 - 1) * s2**2 + n * n2 / total * (m - m2) ** 2) / (total - 1)
        m = (n * m + n2 * m2) / total
        s = math.sqrt(sd2)
        n = total
    return Arm(" + ".join(a.name for a in arms), n, mean=m, sd=s)


def _row(study: str, treat: Arm, ctrl: Arm) -> dict[str, Any]:
    if treat.is_binary:
        return {"study": study, "events_treat": treat.events, "n_treat": treat.n,
                "events_ctrl": ctrl.events, "n_ctrl": ctrl.n}
    return {"study": study, "mean_treat": treat.mean, "sd_treat": treat.sd, "n_treat": treat.n,
            "mean_ctrl": ctrl.mean, "sd_ctrl": ctrl.sd, "n_ctrl": ctrl.n}


def _validate(study: str, arms: Sequence[Arm]) -> None:
    kinds = {a.is_binary for a in arms}
    if len(kinds) != 1:
        raise ReviewkitError(f"study '{study}': arms mix binary and continuous data")
    for a in arms:
        if a.n <= 0:
            raise ReviewkitError(f"study '{study}', arm '{a.name}': field 'n' must be > 0")
        if a.is_binary and not 0 <= float(a.events or 0) <= a.n:
            raise ReviewkitError(f"study '{study}', arm '{a.name}': field 'events' must be between 0 and n")
        if not a.is_binary and (a.mean is None or a.sd is None or a.sd <= 0):
            raise ReviewkitError(f"study '{study}', arm '{a.name}': fields 'mean' and 'sd' (> 0) are needed")


def multiarm_comparisons(study: str, experimental: Sequence[Arm], control: Arm, strategy: str = "combine") -> MultiArmResult:
    """Turn a trial with several experimental arms and one shared control into comparison rows.

    - combine (recommended, Handbook §23.3.4): merge the experimental arms into one; one row.
    - split: one row per experimental arm; the shared control's N (and, for binary data, its events)
      is divided evenly between the comparisons, keeping its mean and SD. Removes the double
      counting, not the correlation.
    - naive: one row per experimental arm, each against the whole control group. Allowed, but
      the control participants are counted more than once (a unit-of-analysis error); a warning
      is returned to show with the analysis.
    """
    if strategy not in STRATEGIES:
        raise ReviewkitError(f"unknown multi-arm strategy '{strategy}' (use {', '.join(STRATEGIES)})")
    if not experimental:
        raise ReviewkitError(f"study '{study}': no experimental arm given")
    _validate(study, [*experimental, control])
    if len(experimental) == 1:
        return MultiArmResult(strategy, (_row(study, experimental[0], control),))
    if strategy == "combine":
        merged = combine_binary(experimental) if control.is_binary else combine_continuous(experimental)
        return MultiArmResult(strategy, (_row(study, merged, control),))
    parts = len(experimental)
    rows = []
    for arm in experimental:
        ctrl = control
        if strategy == "split":
            ctrl = Arm(control.name, control.n / parts, mean=control.mean, sd=control.sd,
                       events=None if control.events is None else control.events / parts)
        rows.append(_row(f"{study} ({arm.name} vs {control.name})", arm, ctrl))
    warnings: tuple[str, ...] = ()
    if strategy == "naive":
        warnings = (f"study '{study}': the {control.n:g} control participants are counted {parts} times "
                    "(naive multi-arm comparisons; Handbook §23.3.4 advises combining arms or splitting "
                    "the control group)",)
    return MultiArmResult(strategy, tuple(rows), warnings)
