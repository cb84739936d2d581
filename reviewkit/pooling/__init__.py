"""Provides reviewkit's meta-analysis engine: a pure numpy/scipy core that matches metafor and RevMan 5.

Typical use::

    from reviewkit.pooling import meta_analysis
    result = meta_analysis(rows, measure="RR", flavour="revman5")
    result.effect, result.effect_ci, result.I2
"""

from __future__ import annotations

from reviewkit.pooling.analysis import (
    MEASURES,
    MetaSettings,
    effects_from_rows,
    meta_analysis,
    resolve_settings,
)
from reviewkit.pooling.batch import BatchResult, pool_many
from reviewkit.pooling.bias import (
    EggerResult,
    FunnelData,
    TrimFillResult,
    egger_test,
    funnel_data,
    trim_and_fill,
)
from reviewkit.pooling.effects import (
    BinaryArms,
    ContinuousArms,
    EffectSizes,
    Exclusion,
    binary_effects,
    continuous_effects,
    generic_effects,
    peto_effects,
)
from reviewkit.pooling.estimators import (
    ESTIMATORS,
    Tau2Interval,
    estimate_tau2,
    tau2_qprofile_ci,
    tau2_qprofile_interval,
)
from reviewkit.pooling.flavours import DEFAULT_FLAVOUR, FLAVOURS, Flavour, get_flavour
from reviewkit.pooling.models import METHODS, MODELS, mantel_haenszel, pool
from reviewkit.pooling.multiarm import Arm, MultiArmResult, multiarm_comparisons
from reviewkit.pooling.results import MetaResult
from reviewkit.pooling.sensitivity import (
    SensitivityResult,
    SensitivityStep,
    cumulative,
    leave_one_out,
)
from reviewkit.pooling.subgroups import SubgroupResult, subgroup_analysis

__all__ = [
    "DEFAULT_FLAVOUR", "ESTIMATORS", "FLAVOURS", "MEASURES", "METHODS", "MODELS",
    "Arm", "BatchResult", "BinaryArms", "ContinuousArms", "EffectSizes", "EggerResult", "Exclusion",
    "Flavour", "FunnelData", "MetaResult", "MetaSettings", "MultiArmResult", "SensitivityResult",
    "SensitivityStep", "SubgroupResult", "Tau2Interval", "TrimFillResult",
    "binary_effects", "continuous_effects", "cumulative", "effects_from_rows", "egger_test",
    "estimate_tau2", "funnel_data", "generic_effects", "get_flavour", "leave_one_out",
    "mantel_haenszel", "meta_analysis", "multiarm_comparisons", "peto_effects", "pool", "pool_many",
    "resolve_settings", "subgroup_analysis", "tau2_qprofile_ci", "tau2_qprofile_interval", "trim_and_fill",
]
