"""Provides the named sets of conventions ("flavours") a meta-analysis follows: revman5, metafor, cochrane2025."""

from __future__ import annotations

from dataclasses import dataclass

from reviewkit.errors import ReviewkitError


@dataclass(frozen=True, slots=True)
class Flavour:
    """Where tools disagree, which convention to follow; and the defaults for unset settings."""

    #: Flavour name.
    name: str
    #: Add 0.5 to zero-cell studies in the Mantel-Haenszel/Peto pooled estimate too
    #: (RevMan 5, R meta MH.exact=FALSE), not only in the per-study estimates (metafor rma.mh to="none").
    correct_pooled_zero_cells: bool
    #: Add 0.5 to a zero-cell study's cells before its own Peto odds ratio (metafor rma.peto, through
    #: escalc(measure="PETO")) or compute it from the counts as entered (RevMan 5). The pooled Peto
    #: estimate uses the counts as entered in every flavour.
    peto_study_zero_cells: bool
    #: Variance of the MH risk difference: "greenland-robins" (RevMan 5) or "sato" (metafor rma.mh).
    mh_rd_variance: str
    #: I² from Q ((Q−df)/Q, RevMan 5) or from τ² (τ²/(τ²+s²), metafor and RevMan Web).
    i2_method: str
    #: Prediction interval: "metafor" (z, or t(k−1) under HKSJ) or "t(k-2)" (Higgins et al. 2009).
    pi_method: str
    #: Whether plots and text show the prediction interval (pooling/wording.prediction_interval_text)
    #: when the analysis does not say (its `prediction_interval` key, meta's --prediction-interval);
    #: it is computed, and in the JSON, either way. RevMan 5 shows none.
    show_prediction_interval: bool
    #: Iterative τ² and Q-profile bounds: "exact" (machine precision) or "metafor" (its stopping
    #: rules: Fisher scoring to a 1e-5 change, uniroot() tol 1.2e-4, upper search limit 10·τ̂²).
    solver: str
    #: SMD variance convention passed to continuous_effects().
    smd_variance: str
    #: A zero-cell study's risk difference: from the counts as entered, the 0.5 added for its SE only
    #: ("revman5": RevMan 5, R meta), or from the corrected counts ("metafor": escalc to="only0").
    rd_estimate: str
    #: Whether a fixed-effect Mantel-Haenszel risk difference leaves studies without events in either arm
    #: (or with events in every participant) out of its Q, as metafor rma.mh does (drop00 = TRUE: their
    #: outcome is NA; they stay in the MH sums), or keeps them with the RD of 0 (RevMan 5, R meta).
    mh_rd_q_drops_double_zeros: bool
    #: Defaults when a setting is not given.
    default_model: str
    default_estimator: str
    default_hksj: bool
    #: Default method for binary data under a fixed / random model.
    default_binary_method_fixed: str
    default_binary_method_random: str


FLAVOURS: dict[str, Flavour] = {
    # RevMan 5.3: MH by default for dichotomous data, DL random effects with the MH-centred Q,
    # I² from Q, RevMan's SMD variance (Deeks & Higgins 2010). RevMan 5 has no prediction interval,
    # iterative estimator or τ² CI; when asked for, they are computed as metafor does. Its prediction
    # interval (z, so equal to the CI when τ² = 0) is in the JSON only: plots and text show none, as
    # RevMan 5's, unless the analysis asks for it (prediction_interval = true). Its intervals use the
    # exact normal quantile, as every flavour does: the "1.96" of its documentation is rounded, and its
    # own export of Fleiss (1993) has CI half-width/SE = 1.959963984540054 (tests/pooling/test_revman5.py).
    "revman5": Flavour(
        name="revman5", correct_pooled_zero_cells=True, peto_study_zero_cells=False,
        mh_rd_variance="greenland-robins",
        i2_method="Q", pi_method="metafor", solver="metafor", smd_variance="revman5", rd_estimate="revman5",
        mh_rd_q_drops_double_zeros=False, default_model="random", default_estimator="DL", default_hksj=False,
        default_binary_method_fixed="MH", default_binary_method_random="MH", show_prediction_interval=False,
    ),
    # metafor 3.8 (rma, rma.mh, rma.peto) with its defaults: REML, Wald-type z intervals.
    "metafor": Flavour(
        name="metafor", correct_pooled_zero_cells=False, peto_study_zero_cells=True, mh_rd_variance="sato",
        i2_method="tau2", pi_method="metafor", solver="metafor", smd_variance="metafor", rd_estimate="metafor",
        mh_rd_q_drops_double_zeros=True, default_model="random", default_estimator="REML", default_hksj=False,
        default_binary_method_fixed="MH", default_binary_method_random="IV", show_prediction_interval=True,
    ),
    # Cochrane's current recommendation for new reviews (Cochrane Methods, "Random-effects
    # meta-analysis methods in intervention reviews", implemented in RevMan Web): REML τ² with a
    # Q-profile CI, HKSJ intervals, prediction intervals, I² from τ².
    "cochrane2025": Flavour(
        name="cochrane2025", correct_pooled_zero_cells=True, peto_study_zero_cells=False,
        mh_rd_variance="greenland-robins",
        i2_method="tau2", pi_method="t(k-2)", solver="exact", smd_variance="revman5", rd_estimate="revman5",
        mh_rd_q_drops_double_zeros=False, default_model="random", default_estimator="REML", default_hksj=True,
        default_binary_method_fixed="MH", default_binary_method_random="IV", show_prediction_interval=True,
    ),
}

#: A new protocol starts with the current recommendation.
DEFAULT_FLAVOUR = "cochrane2025"


def get_flavour(name: str) -> Flavour:
    """The flavour of that name, or a ReviewkitError listing the known ones."""
    try:
        return FLAVOURS[name]
    except KeyError:
        raise ReviewkitError(f"unknown flavour '{name}' (use one of {', '.join(FLAVOURS)})") from None
