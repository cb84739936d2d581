"""Provides conversions of reported statistics to mean/SD and events/total, each recording its source."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy import stats

from reviewkit.errors import ReviewkitError

Distribution = Literal["auto", "t", "normal"]
#: Handbook 6.5.2.2: use t in place of the normal quantile when a group has fewer than 60.
SMALL_SAMPLE = 60


def _fmt(x: float) -> str:
    return f"{x:g}"


def _percent(level: float) -> str:
    # Not f"{level:.0%}": that rounds 0.975 to "98%", naming a level the divisor was not computed for.
    return f"{level * 100:g}%"


@dataclass(frozen=True)
class SdConversion:
    """An SD derived from another statistic, with what it came from (for "converted from")."""

    sd: float
    method: str
    inputs: tuple[tuple[str, float], ...]
    reference: str
    divisor: float | None = None
    distribution: Literal["t", "normal"] | None = None

    def converted_from(self) -> str:
        """One line for the extraction record: the inputs and the method."""
        given = ", ".join(f"{k} {_fmt(v)}" for k, v in self.inputs)
        how = f"; {self.distribution} divisor {self.divisor:.4f}" if self.divisor else ""
        return f"SD {self.sd:.4g} from {given} ({self.method}{how}; {self.reference})"


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise ReviewkitError(message)


def sd_from_se(se: float, n: int) -> SdConversion:
    """SD of a group from the SE of its mean: SD = SE·√n (Handbook 6.5.2.2)."""
    _need(se > 0, f"SE must be > 0, got {_fmt(se)}")
    _need(n >= 1, f"group size must be ≥ 1, got {n}")
    return SdConversion(se * math.sqrt(n), "SE of mean", (("SE", se), ("n", n)),
                        "Cochrane Handbook 6.5.2.2")


def _ci_divisor(level: float, df: int, small: bool, distribution: Distribution
                ) -> tuple[float, Literal["t", "normal"]]:
    _need(0 < level < 1, f"confidence level must be between 0 and 1, got {_fmt(level)}")
    use_t = distribution == "t" or (distribution == "auto" and small)
    if use_t:
        _need(df >= 1, "a t-based conversion needs at least 1 degree of freedom")
        return 2 * float(stats.t.ppf(0.5 + level / 2, df)), "t"
    # 2·1.959964 = 3.92 for 95% (3.29 for 90%, 5.15 for 99%), Handbook 6.5.2.2.
    return 2 * float(stats.norm.ppf(0.5 + level / 2)), "normal"


def sd_from_ci(lower: float, upper: float, n: int, level: float = 0.95,
               distribution: Distribution = "auto") -> SdConversion:
    """SD of a group from the CI of its mean: SD = √n·(U − L)/divisor (Handbook 6.5.2.2).

    The divisor is 2·z (3.92 at 95%) or, for n < 60 under "auto", 2·t with n − 1 df.
    """
    _need(upper > lower, f"CI upper ({_fmt(upper)}) must exceed lower ({_fmt(lower)})")
    _need(n >= 2, f"group size must be ≥ 2 to convert a CI, got {n}")
    divisor, dist = _ci_divisor(level, n - 1, n < SMALL_SAMPLE, distribution)
    return SdConversion(math.sqrt(n) * (upper - lower) / divisor, f"{_percent(level)} CI of mean",
                        (("lower", lower), ("upper", upper), ("n", n), ("level", level)),
                        "Cochrane Handbook 6.5.2.2", divisor, dist)


def _difference_sd(se: float, n1: int, n2: int) -> float:
    # Handbook 6.5.2.3: SD = SE / √(1/n1 + 1/n2), assuming one SD shared by both groups.
    return se / math.sqrt(1 / n1 + 1 / n2)


def sd_from_ci_of_difference(lower: float, upper: float, n1: int, n2: int, level: float = 0.95,
                             distribution: Distribution = "auto") -> SdConversion:
    """Within-group SD from the CI of a difference in means (Handbook 6.5.2.3).

    SE = (U − L)/divisor with 2·t on n1 + n2 − 2 df when either group has fewer than 60.
    """
    _need(upper > lower, f"CI upper ({_fmt(upper)}) must exceed lower ({_fmt(lower)})")
    _need(n1 >= 1 and n2 >= 1, f"group sizes must be ≥ 1, got {n1} and {n2}")
    small = min(n1, n2) < SMALL_SAMPLE
    divisor, dist = _ci_divisor(level, n1 + n2 - 2, small, distribution)
    sd = _difference_sd((upper - lower) / divisor, n1, n2)
    return SdConversion(sd, f"{_percent(level)} CI of mean difference",
                        (("lower", lower), ("upper", upper), ("n1", n1), ("n2", n2),
                         ("level", level)), "Cochrane Handbook 6.5.2.3", divisor, dist)


def sd_from_se_of_difference(se: float, n1: int, n2: int) -> SdConversion:
    """Within-group SD from the SE of a difference in means (Handbook 6.5.2.3)."""
    _need(se > 0, f"SE must be > 0, got {_fmt(se)}")
    _need(n1 >= 1 and n2 >= 1, f"group sizes must be ≥ 1, got {n1} and {n2}")
    return SdConversion(_difference_sd(se, n1, n2), "SE of mean difference",
                        (("SE", se), ("n1", n1), ("n2", n2)), "Cochrane Handbook 6.5.2.3")


def sd_from_t_of_difference(md: float, t: float, n1: int, n2: int) -> SdConversion:
    """Within-group SD from a mean difference and its t statistic: SE = MD/t (Handbook 6.5.2.3)."""
    _need(t != 0 and md != 0, "MD and t must both be non-zero")
    _need(n1 >= 1 and n2 >= 1, f"group sizes must be ≥ 1, got {n1} and {n2}")
    return SdConversion(_difference_sd(abs(md / t), n1, n2), "t of mean difference",
                        (("MD", md), ("t", t), ("n1", n1), ("n2", n2)),
                        "Cochrane Handbook 6.5.2.3")


def sd_from_p_of_difference(md: float, p: float, n1: int, n2: int) -> SdConversion:
    """Within-group SD from a mean difference and its two-sided p (t on n1+n2−2 df; Handbook 6.5.2.3)."""
    _need(0 < p < 1, f"p must be between 0 and 1, got {_fmt(p)}")
    # SE = MD/t: an MD of 0 gives an SD of 0 whatever the p (and a p < 1 says the MD is not 0), as
    # sd_from_t_of_difference refuses it.
    _need(md != 0, "MD must be non-zero")
    _need(n1 >= 1 and n2 >= 1, f"group sizes must be ≥ 1, got {n1} and {n2}")
    _need(n1 + n2 > 2, "a p-value conversion needs n1 + n2 > 2")
    t = float(stats.t.ppf(1 - p / 2, n1 + n2 - 2))
    sd = _difference_sd(abs(md) / t, n1, n2)
    return SdConversion(sd, "p of mean difference",
                        (("MD", md), ("p", p), ("n1", n1), ("n2", n2)),
                        "Cochrane Handbook 6.5.2.3", 2 * t, "t")


# --- Median, quartiles and range (Wan 2014; Luo 2018; Shi 2020) -------------------------------

@dataclass(frozen=True)
class MeanSdEstimate:
    """A mean and SD estimated from a median with range and/or IQR; flagged as estimated."""

    mean: float
    sd: float
    scenario: Literal["S1", "S2", "S3"]
    mean_method: Literal["luo", "wan"]
    sd_method: Literal["wan", "shi"]
    inputs: tuple[tuple[str, float], ...]
    reference: str

    def converted_from(self, *, with_mean: bool = True) -> str:
        """One line for the extraction record; `with_mean=False` when only the SD is kept (the report gives
        the mean), so the record does not show an estimated mean the extraction does not hold."""
        given = ", ".join(f"{k} {_fmt(v)}" for k, v in self.inputs)
        what = f"mean {self.mean:.4g}, SD {self.sd:.4g}" if with_mean else f"SD {self.sd:.4g}"
        return f"{what} estimated from {given} ({self.scenario}; {self.reference})"


def xi(n: int) -> float:
    """ξ(n) = 2·Φ⁻¹((n − 0.375)/(n + 0.25)), the expected range in SDs (Wan 2014)."""
    return 2 * float(stats.norm.ppf((n - 0.375) / (n + 0.25)))


def eta(n: int) -> float:
    """η(n) = 2·Φ⁻¹((0.75n − 0.125)/(n + 0.25)), the expected IQR in SDs (Wan 2014)."""
    return 2 * float(stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25)))


def mean_sd_from_quantiles(n: int, median: float, *, minimum: float | None = None,
                           q1: float | None = None, q3: float | None = None,
                           maximum: float | None = None,
                           mean_method: Literal["luo", "wan"] = "luo",
                           sd_method: Literal["wan", "shi"] = "shi") -> MeanSdEstimate:
    """Estimate mean and SD from S1 {min, median, max}, S2 {min, q1, median, q3, max} or S3 {q1, median, q3}.

    Mean: Luo 2018 (default) or Wan 2014. SD: Wan 2014 for S1 and S3; for S2 Shi 2020
    (default) or Wan 2014. Assumes approximate normality (Handbook 6.5.2.5).
    """
    has_range = minimum is not None and maximum is not None
    has_iqr = q1 is not None and q3 is not None
    _need(has_range or has_iqr,
          "need min and max (S1), q1 and q3 (S3), or all four (S2) with the median")
    _need(n >= 2, f"sample size must be ≥ 2, got {n}")
    order = [v for v in (minimum, q1, median, q3, maximum) if v is not None]
    _need(all(a <= b for a, b in zip(order, order[1:], strict=False)),
          "need min ≤ q1 ≤ median ≤ q3 ≤ max, got " + ", ".join(_fmt(v) for v in order))
    # The SD is the range over ξ(n) and/or the IQR over η(n): with no spread it is 0, no estimate at all (an
    # SD of 0 cannot be pooled). S2's SD is > 0 once the range is.
    if minimum is not None and maximum is not None:
        _need(maximum > minimum, f"the range has no width (min = max = {_fmt(minimum)}): no SD can be estimated")
    elif q1 is not None and q3 is not None:
        _need(q3 > q1, f"the IQR has no width (q1 = q3 = {_fmt(q1)}): no SD can be estimated")
    inputs: list[tuple[str, float]] = []
    for name, v in (("min", minimum), ("q1", q1), ("median", median), ("q3", q3),
                    ("max", maximum), ("n", n)):
        if v is not None:
            inputs.append((name, float(v)))
    m = median
    if has_range and has_iqr:
        assert minimum is not None and maximum is not None and q1 is not None and q3 is not None
        a, b, lo, hi = float(minimum), float(maximum), float(q1), float(q3)
        scenario: Literal["S1", "S2", "S3"] = "S2"
        if mean_method == "wan":
            mean = (a + 2 * lo + 2 * m + 2 * hi + b) / 8  # Wan 2014
        else:  # Luo 2018
            w1 = 2.2 / (2.2 + n**0.75)
            w2 = 0.7 - 0.72 / n**0.55
            mean = w1 * (a + b) / 2 + w2 * (lo + hi) / 2 + (1 - w1 - w2) * m
        by_range, by_iqr = (b - a) / xi(n), (hi - lo) / eta(n)
        if sd_method == "wan":
            sd = 0.5 * (by_range + by_iqr)  # Wan 2014
        else:
            w = 1 / (1 + 0.07 * n**0.6)  # Shi 2020
            sd = w * by_range + (1 - w) * by_iqr
    elif has_range:
        assert minimum is not None and maximum is not None
        a, b = float(minimum), float(maximum)
        scenario, sd_method = "S1", "wan"
        if mean_method == "wan":
            mean = (a + 2 * m + b) / 4  # Hozo 2005 / Wan 2014
        else:
            w = 4 / (4 + n**0.75)  # Luo 2018
            mean = w * (a + b) / 2 + (1 - w) * m
        sd = (b - a) / xi(n)  # Wan 2014
    else:
        assert q1 is not None and q3 is not None
        lo, hi = float(q1), float(q3)
        scenario, sd_method = "S3", "wan"
        if mean_method == "wan":
            mean = (lo + m + hi) / 3  # Wan 2014
        else:
            w = 0.7 + 0.39 / n  # Luo 2018
            mean = w * (lo + hi) / 2 + (1 - w) * m
        sd = (hi - lo) / eta(n)  # Wan 2014
    refs = {"luo": "Luo 2018", "wan": "Wan 2014"}[mean_method] + " mean, " + \
        {"wan": "Wan 2014", "shi": "Shi 2020"}[sd_method] + " SD"
    return MeanSdEstimate(mean, sd, scenario, mean_method, sd_method, tuple(inputs), refs)


# --- Combining groups (Handbook Table 6.5.a; multi-arm trials, Handbook 23.3.4) -----------------

@dataclass(frozen=True)
class GroupSummary:
    """One arm's continuous summary; `label` names the arm so a merge records where it came from."""

    n: int
    mean: float
    sd: float
    label: str = ""


@dataclass(frozen=True)
class CombinedContinuous:
    """Several arms merged into one group: N, mean, SD and the arms they came from."""

    n: int
    mean: float
    sd: float
    inputs: tuple[GroupSummary, ...]
    reference: str = "Cochrane Handbook Table 6.5.a"

    def converted_from(self) -> str:
        """One line for the extraction record."""
        arms = "; ".join(f"{g.label or f'arm {i + 1}'}: n {g.n}, mean {_fmt(g.mean)}, SD {_fmt(g.sd)}"
                         for i, g in enumerate(self.inputs))
        return f"combined from {arms} ({self.reference})"


def combine_continuous(groups: Sequence[GroupSummary]) -> CombinedContinuous:
    """Merge arms into one group, applying Table 6.5.a pairwise (exact for any number of arms).

    SD = √{[(N1−1)SD1² + (N2−1)SD2² + (N1N2/N)(M1² + M2² − 2M1M2)]/(N − 1)}.
    """
    _need(len(groups) >= 2, "combining needs at least two groups")
    for g in groups:
        _need(g.n >= 1, f"{g.label or 'group'}: n must be ≥ 1, got {g.n}")
        _need(g.sd >= 0, f"{g.label or 'group'}: SD must be ≥ 0, got {_fmt(g.sd)}")
    n, mean, sd = groups[0].n, groups[0].mean, groups[0].sd
    for g in groups[1:]:
        total = n + g.n
        var = ((n - 1) * sd**2 + (g.n - 1) * g.sd**2
               + (n * g.n / total) * (mean**2 + g.mean**2 - 2 * mean * g.mean)) / (total - 1)
        n, mean, sd = total, (n * mean + g.n * g.mean) / total, math.sqrt(var)
    return CombinedContinuous(n, mean, sd, tuple(groups))


@dataclass(frozen=True)
class CombinedDichotomous:
    """Several arms' events and totals summed into one group (Handbook Table 6.5.a)."""

    events: int
    total: int
    inputs: tuple[tuple[str, int, int], ...]
    reference: str = "Cochrane Handbook Table 6.5.a"

    def converted_from(self) -> str:
        """One line for the extraction record."""
        arms = "; ".join(f"{label or f'arm {i + 1}'}: {e}/{t}"
                         for i, (label, e, t) in enumerate(self.inputs))
        return f"combined from {arms} ({self.reference})"


def combine_dichotomous(groups: Sequence[tuple[int, int] | tuple[str, int, int]]
                        ) -> CombinedDichotomous:
    """Add events and totals across arms; each arm is (events, total) or (label, events, total)."""
    _need(len(groups) >= 2, "combining needs at least two groups")
    arms: list[tuple[str, int, int]] = []
    for g in groups:
        label, events, total = g if len(g) == 3 else ("", *g)
        _need(0 <= events <= total, f"{label or 'group'}: need 0 ≤ events ≤ total, got "
              f"{events}/{total}")
        arms.append((str(label), int(events), int(total)))
    return CombinedDichotomous(sum(a[1] for a in arms), sum(a[2] for a in arms), tuple(arms))
