"""Provides Brent's zeroin root finder with R uniroot()'s stopping rule, to reproduce metafor's digits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_EPS = float(np.finfo(float).eps)

#: R's uniroot() default tolerance, .Machine$double.eps^0.25, which metafor keeps for PM and confint().
R_UNIROOT_TOL = _EPS**0.25


def zeroin(
    f: Callable[[float], float], lower: float, upper: float, *, tol: float = R_UNIROOT_TOL,
    maxiter: int = 1000,
) -> float:
    """A root of f in [lower, upper] by Brent's method (Brent 1973, ch. 4, algorithm "zero").

    Brent's method keeps a bracket [b, c] with b the best point, and tries inverse quadratic (or
    linear) interpolation, falling back to bisection when the step would leave the bracket or shrink
    too slowly. It stops when half the bracket is within 2·eps·|b| + tol/2. metafor finds
    Paule-Mandel τ² and Q-profile bounds with R's uniroot(), which runs this algorithm with
    tol = eps^0.25 ≈ 1.2e-4; the answers are only that accurate, so matching metafor to the last
    digit means stopping exactly where it stops.
    """
    a, b = lower, upper
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if fa * fb > 0:
        raise ValueError("f has the same sign at both ends of the interval")
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            # keep b the best approximation so far
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * _EPS * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa  # two distinct points: secant step
                p = cb * t1
                q = 1.0 - t1
            else:
                q, t1, t2 = fa / fc, fb / fc, fb / fa  # inverse quadratic interpolation
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b
