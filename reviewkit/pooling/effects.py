"""Provides study-level effect sizes (an escalc-like layer): RR, OR, RD, MD, SMD and generic inverse variance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from reviewkit.errors import ReviewkitError

#: Effect measures reviewkit computes; ratio measures live on the log scale.
BINARY_MEASURES: tuple[str, ...] = ("RR", "OR", "RD")
CONTINUOUS_MEASURES: tuple[str, ...] = ("MD", "SMD")
RATIO_MEASURES: frozenset[str] = frozenset({"RR", "OR"})

#: 0.5 is added to every cell of a study with a zero cell, as metafor
#: escalc(add=1/2, to="only0") and RevMan 5 (Handbook 5.1 §9.4.4.2) do.
ZERO_CELL_ADD = 0.5

#: The largest |estimate| pooling takes, and the range of variances (standard errors 1e-30 to 1e30).
#: Pooling squares differences of estimates (Q, the τ² searches reach 2·range²) and cubes weights
#: (metafor's Fisher scoring): beyond these, double precision overflows or underflows, and the τ²
#: solvers fail with OverflowError, never end, or print inf. No real study comes near them.
MAX_ABS_ESTIMATE = 1e30
MIN_VARIANCE = 1e-60
MAX_VARIANCE = 1e60
#: The largest |log ratio|: e**709 is the largest ratio a double holds.
MAX_ABS_LOG_RATIO = 700.0


@dataclass(frozen=True, slots=True)
class BinaryArms:
    """Events and totals per arm, one entry per study (as entered, before any correction)."""

    events_treat: tuple[float, ...]
    n_treat: tuple[float, ...]
    events_ctrl: tuple[float, ...]
    n_ctrl: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ContinuousArms:
    """Mean, SD and N per arm, one entry per study."""

    mean_treat: tuple[float, ...]
    sd_treat: tuple[float, ...]
    n_treat: tuple[float, ...]
    mean_ctrl: tuple[float, ...]
    sd_ctrl: tuple[float, ...]
    n_ctrl: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A study left out of the pooling, and why (shown as "Not estimable" in the forest plot)."""

    study: str
    reason: str


@dataclass(frozen=True, slots=True)
class EffectSizes:
    """Per-study estimates on the analysis scale (log for RR/OR) and their sampling variances.

    Arrays have one entry per input study; a study left out has `included` False and NaN yi/vi.
    """

    #: Effect measure: RR, OR, RD, MD, SMD or generic.
    measure: str
    #: Study labels, in input order.
    studies: tuple[str, ...]
    #: Estimates (log scale for ratios); NaN where not estimable.
    yi: np.ndarray
    #: Sampling variances; NaN where not estimable.
    vi: np.ndarray
    #: True where the study enters the pooling.
    included: np.ndarray
    #: True where 0.5 was added to the study's cells.
    corrected: np.ndarray
    #: Studies left out, with the reason.
    excluded: tuple[Exclusion, ...] = ()
    #: The arm-level data the estimates came from (None for generic input).
    arms: BinaryArms | ContinuousArms | None = None
    #: Subgroup label per study (None when there are no subgroups).
    subgroups: tuple[str, ...] | None = None
    #: SMD variance convention ("metafor" or "revman5"); None for other measures.
    smd_variance: str | None = None
    #: Free-text notes (e.g. which studies had 0.5 added).
    notes: tuple[str, ...] = field(default=())
    #: Generic estimates of a ratio (e.g. hazard ratios): yi are logs, shown back-transformed.
    ratio_scale: bool = False
    #: Position of each study in the original input (kept through subset(); None = 0..k−1).
    index: tuple[int, ...] | None = None

    @property
    def origin(self) -> tuple[int, ...]:
        """Each study's position in the original input, so duplicate labels stay distinguishable."""
        return self.index if self.index is not None else tuple(range(len(self.studies)))

    @property
    def is_ratio(self) -> bool:
        """True for RR, OR and ratio-scale generic data (pooled on the log scale, shown exponentiated)."""
        return self.measure in RATIO_MEASURES or self.ratio_scale

    def subset(self, mask: np.ndarray) -> EffectSizes:
        """The same effect sizes restricted to the studies where mask is True (arms kept aligned)."""
        idx = np.flatnonzero(mask)
        # a leave-one-out calls this k times on k studies: pick with C-level map(), not Python loops
        pos = idx.tolist()

        def take(values: Sequence[Any]) -> tuple[Any, ...]:
            return tuple(map(values.__getitem__, pos))

        arms: BinaryArms | ContinuousArms | None = None
        if isinstance(self.arms, BinaryArms | ContinuousArms):
            arms = type(self.arms)(*(take(getattr(self.arms, f)) for f in self.arms.__slots__))
        studies = take(self.studies)
        names = set(studies)
        return EffectSizes(
            measure=self.measure, studies=studies,
            yi=_frozen(self.yi[idx]), vi=_frozen(self.vi[idx]), included=_frozen(self.included[idx]),
            corrected=_frozen(self.corrected[idx]),
            excluded=tuple(e for e in self.excluded if e.study in names), arms=arms,
            subgroups=None if self.subgroups is None else take(self.subgroups),
            smd_variance=self.smd_variance, notes=self.notes, ratio_scale=self.ratio_scale,
            index=take(self.origin),
        )


def check_poolable(effects: EffectSizes) -> None:
    """Refuse a study whose estimate or variance lies beyond what pooling computes in double precision
    (MAX_ABS_ESTIMATE, MIN_VARIANCE, MAX_VARIANCE; an infinite one too), naming the study first, as the
    other per-study refusals do (services.meta_input turns that into the study's line)."""
    yi, vi = np.asarray(effects.yi, dtype=float), np.asarray(effects.vi, dtype=float)
    for i in np.flatnonzero(np.asarray(effects.included, dtype=bool)):
        study, y, v = effects.studies[i], float(yi[i]), float(vi[i])
        if not abs(y) <= MAX_ABS_ESTIMATE:  # also NaN
            raise ReviewkitError(f"study '{study}': its estimate ({y:.6g}) is too large to pool (at most "
                                 f"{MAX_ABS_ESTIMATE:g} in absolute value)", hint="check the units and decimal points")
        if effects.is_ratio and abs(y) > MAX_ABS_LOG_RATIO:
            raise ReviewkitError(f"study '{study}': its log ratio ({y:.6g}) is too large to pool (at most "
                                 f"{MAX_ABS_LOG_RATIO:g} in absolute value: e**{MAX_ABS_LOG_RATIO:g} is near the "
                                 "largest number a double holds)", hint="are the yi logs? if they are ratios, "
                                 "give them as estimate, ci_lower, ci_upper")
        if not MIN_VARIANCE <= v <= MAX_VARIANCE:
            raise ReviewkitError(f"study '{study}': its variance ({v:.6g}) cannot be pooled (it must lie between "
                                 f"{MIN_VARIANCE:g} and {MAX_VARIANCE:g})", hint="check the units and decimal points")


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.flags.writeable = False
    return a


def _column(values: Sequence[float], name: str, studies: Sequence[str]) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.shape != (len(studies),):
        raise ReviewkitError(f"column '{name}' has {arr.size} values for {len(studies)} studies")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ReviewkitError(f"study '{studies[bad[0]]}': column '{name}' is missing or not a number")
    return arr


def _check_studies(studies: Sequence[str]) -> tuple[str, ...]:
    if len(studies) == 0:
        raise ReviewkitError("no studies to analyse")
    return tuple(str(s) for s in studies)


def binary_effects(
    studies: Sequence[str], events_treat: Sequence[float], n_treat: Sequence[float],
    events_ctrl: Sequence[float], n_ctrl: Sequence[float], *, measure: str,
    subgroups: Sequence[str] | None = None, rd_estimate: str = "metafor",
) -> EffectSizes:
    """Log RR, log OR or RD per study from events/totals per arm.

    A study with a zero cell gets 0.5 added to all four cells (metafor escalc(add=1/2, to="only0"),
    RevMan 5). A study with no events in either arm, or all participants with events in both arms,
    carries no information on a ratio scale and is left out of RR/OR (RevMan "Not estimable",
    R meta allstudies=FALSE); it stays in RD. Its risk difference comes in two conventions
    (`rd_estimate`): "revman5" takes it from the counts as entered (a double zero's is 0) and the
    corrected counts for its SE only (RevMan 5, R meta metabin); "metafor" takes both from the
    corrected counts (escalc).

    References: Deeks & Higgins, Statistical algorithms in Review Manager 5 (2010), §1.
    Checked against metafor 3.8.1 escalc (fixtures/metafor/*_DL.json yi/vi).
    """
    if measure not in BINARY_MEASURES:
        raise ReviewkitError(f"measure '{measure}' is not a binary measure (use RR, OR or RD)")
    if rd_estimate not in ("metafor", "revman5"):
        raise ReviewkitError(f"unknown RD convention '{rd_estimate}' (use metafor or revman5)")
    labels = _check_studies(studies)
    a = _column(events_treat, "events_treat", labels)
    n1 = _column(n_treat, "n_treat", labels)
    c = _column(events_ctrl, "events_ctrl", labels)
    n2 = _column(n_ctrl, "n_ctrl", labels)
    for name, arr in (("events_treat", a), ("n_treat", n1), ("events_ctrl", c), ("n_ctrl", n2)):
        neg = np.flatnonzero(arr < 0)
        if neg.size:
            raise ReviewkitError(f"study '{labels[neg[0]]}': column '{name}' is negative ({arr[neg[0]]:g})")
    for ev, tot, en, tn in ((a, n1, "events_treat", "n_treat"), (c, n2, "events_ctrl", "n_ctrl")):
        over = np.flatnonzero(ev > tot)
        if over.size:
            i = over[0]
            raise ReviewkitError(
                f"study '{labels[i]}': column '{en}' ({ev[i]:g}) is greater than '{tn}' ({tot[i]:g})")
        empty = np.flatnonzero(tot == 0)
        if empty.size:
            raise ReviewkitError(f"study '{labels[empty[0]]}': column '{tn}' is 0 (an empty arm)")
    b, d = n1 - a, n2 - c
    # "no events in either arm" and its mirror "all had events in both arms" (RevMan's double zero)
    double_zero = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    included = np.ones(len(labels), dtype=bool)
    excluded: list[Exclusion] = []
    if measure in RATIO_MEASURES:
        included &= ~double_zero
        excluded = [Exclusion(labels[i], "no events in either arm (not estimable for a ratio)")
                    if a[i] == 0 else Exclusion(labels[i], "all participants had events in both arms")
                    for i in np.flatnonzero(double_zero)]
    corrected = zero & included
    add = np.where(corrected, ZERO_CELL_ADD, 0.0)
    ac, bc, cc, dc = a + add, b + add, c + add, d + add
    n1c, n2c = ac + bc, cc + dc
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "RR":
            yi = np.log(ac / n1c) - np.log(cc / n2c)
            vi = 1 / ac - 1 / n1c + 1 / cc - 1 / n2c
        elif measure == "OR":
            yi = np.log(ac * dc / (bc * cc))
            vi = 1 / ac + 1 / bc + 1 / cc + 1 / dc
        else:
            p1, p2 = ac / n1c, cc / n2c
            yi = a / n1 - c / n2 if rd_estimate == "revman5" else p1 - p2
            vi = p1 * (1 - p1) / n1c + p2 * (1 - p2) / n2c
    yi = np.where(included, yi, np.nan)
    vi = np.where(included, vi, np.nan)
    what = " for its standard error" if measure == "RD" and rd_estimate == "revman5" else ""
    notes = tuple(f"0.5 added to each cell of '{labels[i]}'{what} (zero cell)" for i in np.flatnonzero(corrected))
    return EffectSizes(
        measure=measure, studies=labels, yi=_frozen(yi), vi=_frozen(vi), included=_frozen(included),
        corrected=_frozen(corrected), excluded=tuple(excluded),
        arms=BinaryArms(tuple(a), tuple(n1), tuple(c), tuple(n2)),
        subgroups=_subgroups(subgroups, labels), notes=notes,
    )


def peto_terms(a: np.ndarray, n1: np.ndarray, c: np.ndarray, n2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observed minus expected events and the hypergeometric variance per study (Yusuf et al. 1985)."""
    nn = n1 + n2
    m = a + c
    o_e = a - n1 * m / nn
    v = n1 * n2 * m * (nn - m) / (nn**2 * (nn - 1))
    return o_e, v


def peto_effects(effects: EffectSizes, *, add_to_zero_cells: bool = False) -> EffectSizes:
    """Each study's Peto log odds ratio (O − E)/V with variance 1/V, from the same 2×2 tables.

    These are the per-study estimates a Peto analysis shows (RevMan 5 from the counts as entered;
    metafor's rma.peto via escalc(measure="PETO"), which first adds 0.5 to every cell of a study
    with a zero cell: `add_to_zero_cells`). A study with no events, or only events, in both arms has
    V = 0 and stays out, as it does for the ordinary odds ratio.
    """
    arms = effects.arms
    if not isinstance(arms, BinaryArms):
        raise ReviewkitError("the Peto method needs events/totals per arm (binary data)")
    a, n1 = np.asarray(arms.events_treat, dtype=float), np.asarray(arms.n_treat, dtype=float)
    c, n2 = np.asarray(arms.events_ctrl, dtype=float), np.asarray(arms.n_ctrl, dtype=float)
    b, d = n1 - a, n2 - c
    included = np.asarray(effects.included, dtype=bool) & ~(((a == 0) & (c == 0)) | ((b == 0) & (d == 0)))
    corrected = included & ((a == 0) | (b == 0) | (c == 0) | (d == 0)) & add_to_zero_cells
    add = np.where(corrected, ZERO_CELL_ADD, 0.0)
    o_e, v = peto_terms(a + add, n1 + 2 * add, c + add, n2 + 2 * add)
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = np.where(included, o_e / v, np.nan)
        vi = np.where(included, 1 / v, np.nan)
    notes = tuple(f"0.5 added to each cell of '{effects.studies[i]}' (zero cell)" for i in np.flatnonzero(corrected))
    return EffectSizes(
        measure=effects.measure, studies=effects.studies, yi=_frozen(yi), vi=_frozen(vi),
        included=_frozen(included), corrected=_frozen(corrected), excluded=effects.excluded, arms=arms,
        subgroups=effects.subgroups, notes=notes, index=effects.index,
    )


def hedges_correction(df: np.ndarray) -> np.ndarray:
    """Exact small-sample factor J(m) = Γ(m/2) / (√(m/2) Γ((m−1)/2)), as metafor escalc uses."""
    return np.asarray(np.exp(special.gammaln(df / 2) - 0.5 * np.log(df / 2) - special.gammaln((df - 1) / 2)), dtype=float)


def continuous_effects(
    studies: Sequence[str], mean_treat: Sequence[float], sd_treat: Sequence[float],
    n_treat: Sequence[float], mean_ctrl: Sequence[float], sd_ctrl: Sequence[float],
    n_ctrl: Sequence[float], *, measure: str, smd_variance: str = "metafor",
    subgroups: Sequence[str] | None = None,
) -> EffectSizes:
    """MD or SMD (Hedges' adjusted g) per study from mean/SD/N per arm.

    SMD comes in two conventions:
    - "metafor": g = J(N−2)·d with the exact gamma J, v = 1/n1 + 1/n2 + g²/(2N) (escalc "SMD", vtype "LS");
    - "revman5": g = d·(1 − 3/(4N − 9)), v = N/(n1 n2) + g²/(2(N − 3.94)) (Deeks & Higgins 2010).
    """
    if measure not in CONTINUOUS_MEASURES:
        raise ReviewkitError(f"measure '{measure}' is not a continuous measure (use MD or SMD)")
    if smd_variance not in ("metafor", "revman5"):
        raise ReviewkitError(f"unknown SMD convention '{smd_variance}' (use metafor or revman5)")
    labels = _check_studies(studies)
    m1 = _column(mean_treat, "mean_treat", labels)
    s1 = _column(sd_treat, "sd_treat", labels)
    n1 = _column(n_treat, "n_treat", labels)
    m2 = _column(mean_ctrl, "mean_ctrl", labels)
    s2 = _column(sd_ctrl, "sd_ctrl", labels)
    n2 = _column(n_ctrl, "n_ctrl", labels)
    for name, arr in (("sd_treat", s1), ("sd_ctrl", s2)):
        bad = np.flatnonzero(arr <= 0)
        if bad.size:
            raise ReviewkitError(f"study '{labels[bad[0]]}': column '{name}' must be > 0 (got {arr[bad[0]]:g})")
    for name, arr in (("n_treat", n1), ("n_ctrl", n2)):
        bad = np.flatnonzero(arr < (2 if measure == "SMD" else 1))
        if bad.size:
            raise ReviewkitError(f"study '{labels[bad[0]]}': column '{name}' is too small ({arr[bad[0]]:g})")
    if measure == "MD":
        yi = m1 - m2
        vi = s1**2 / n1 + s2**2 / n2
    else:
        nn = n1 + n2
        sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (nn - 2))
        d = (m1 - m2) / sp
        if smd_variance == "metafor":
            yi = hedges_correction(nn - 2) * d
            vi = 1 / n1 + 1 / n2 + yi**2 / (2 * nn)
        else:
            yi = d * (1 - 3 / (4 * nn - 9))
            vi = nn / (n1 * n2) + yi**2 / (2 * (nn - 3.94))
    k = len(labels)
    return EffectSizes(
        measure=measure, studies=labels, yi=_frozen(yi), vi=_frozen(vi),
        included=_frozen(np.ones(k, dtype=bool)), corrected=_frozen(np.zeros(k, dtype=bool)),
        arms=ContinuousArms(tuple(m1), tuple(s1), tuple(n1), tuple(m2), tuple(s2), tuple(n2)),
        subgroups=_subgroups(subgroups, labels),
        smd_variance=smd_variance if measure == "SMD" else None,
    )


def generic_effects(
    studies: Sequence[str], yi: Sequence[float], *, vi: Sequence[float] | None = None,
    se: Sequence[float] | None = None, ci_lower: Sequence[float] | None = None,
    ci_upper: Sequence[float] | None = None, ratio: bool = False, ci_level: float = 0.95,
    measure: str = "generic", subgroups: Sequence[str] | None = None,
) -> EffectSizes:
    """Generic inverse variance from (yi, vi), (yi, SE) or (estimate, CI).

    `ratio=True` marks ratio data (e.g. hazard ratios): yi with vi or SE are then already logs, while
    an estimate with its CI is on the ratio scale and is logged here, the SE being
    (ln U − ln L)/(2·z), z = 1.959964 for a 95% CI (RevMan's "3.92" rule, Handbook §6.5.2).
    """
    labels = _check_studies(studies)
    est = _column(yi, "yi" if vi is not None else "estimate", labels)
    if vi is not None:
        var = _column(vi, "vi", labels)
        col = "vi"
    elif se is not None:
        var = _column(se, "se", labels) ** 2
        col = "se"
    elif ci_lower is not None and ci_upper is not None:
        lo = _column(ci_lower, "ci_lower", labels)
        hi = _column(ci_upper, "ci_upper", labels)
        if ratio:
            for name, arr in (("estimate", est), ("ci_lower", lo), ("ci_upper", hi)):
                bad = np.flatnonzero(arr <= 0)
                if bad.size:
                    raise ReviewkitError(f"study '{labels[bad[0]]}': column '{name}' must be > 0 on a ratio scale")
            est, lo, hi = np.log(est), np.log(lo), np.log(hi)
        bad = np.flatnonzero(hi <= lo)
        if bad.size:
            raise ReviewkitError(f"study '{labels[bad[0]]}': column 'ci_upper' must exceed 'ci_lower'")
        zcrit = float(stats.norm.ppf(0.5 + ci_level / 2))
        var = ((hi - lo) / (2 * zcrit)) ** 2
        col = "ci_lower/ci_upper"
    else:
        raise ReviewkitError("generic data need a 'vi', 'se' or 'ci_lower'/'ci_upper' column")
    bad = np.flatnonzero(var <= 0)
    if bad.size:
        raise ReviewkitError(f"study '{labels[bad[0]]}': column '{col}' gives a variance ≤ 0")
    k = len(labels)
    return EffectSizes(
        measure=measure, studies=labels, yi=_frozen(est), vi=_frozen(var),
        included=_frozen(np.ones(k, dtype=bool)), corrected=_frozen(np.zeros(k, dtype=bool)),
        subgroups=_subgroups(subgroups, labels), ratio_scale=ratio,
    )


def _subgroups(subgroups: Sequence[str] | None, labels: tuple[str, ...]) -> tuple[str, ...] | None:
    if subgroups is None:
        return None
    out = tuple("" if s is None or (isinstance(s, float) and math.isnan(s)) else str(s) for s in subgroups)
    if len(out) != len(labels):
        raise ReviewkitError(f"column 'subgroup' has {len(out)} values for {len(labels)} studies")
    missing = [labels[i] for i, s in enumerate(out) if s == ""]
    if missing:
        raise ReviewkitError(f"study '{missing[0]}': column 'subgroup' is empty")
    return out
