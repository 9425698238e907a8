"""Pareto frontiers and monotone interpolation along them (Steffen 1990, as InferenceX does)."""

from __future__ import annotations

import numpy as np

from tokenfab.core.errors import TokenfabError


# ----------------------------------------------------------------------------------------------- pareto + interpolation
def pareto_mask(x, y) -> np.ndarray:
    """True for the Pareto-optimal points when maximising both x and y: no other point has x' >= x and y' >= y with
    one of them strictly greater. Of exact duplicates one is kept. Non-finite points are never kept. O(n log n)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.zeros(x.shape, dtype=bool)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return keep
    ids = np.flatnonzero(ok)
    order = ids[np.lexsort((-y[ids], -x[ids]))]  # x descending, then y descending
    ys = y[order]
    prev = np.maximum.accumulate(np.concatenate([[-np.inf], ys[:-1]]))
    keep[order[ys > prev]] = True
    return keep


def steffen_slopes(xk, yk) -> np.ndarray:
    """Knot derivatives of Steffen's monotone cubic (M. Steffen, A&A 239, 443 (1990))."""
    x = np.asarray(xk, dtype=float)
    y = np.asarray(yk, dtype=float)
    n = x.size
    if n < 2:
        return np.zeros(n)
    h = np.diff(x)
    s = np.diff(y) / h
    d = np.empty(n)
    if n == 2:
        d[:] = s[0]
        return d
    p = (s[:-1] * h[1:] + s[1:] * h[:-1]) / (h[:-1] + h[1:])
    d[1:-1] = (np.sign(s[:-1]) + np.sign(s[1:])) * np.minimum(
        np.minimum(np.abs(s[:-1]), np.abs(s[1:])), 0.5 * np.abs(p)
    )
    p0 = s[0] * (1 + h[0] / (h[0] + h[1])) - s[1] * h[0] / (h[0] + h[1])
    d[0] = 0.0 if p0 * s[0] <= 0 else (2 * s[0] if abs(p0) > 2 * abs(s[0]) else p0)
    pn = s[-1] * (1 + h[-1] / (h[-1] + h[-2])) - s[-2] * h[-1] / (h[-1] + h[-2])
    d[-1] = 0.0 if pn * s[-1] <= 0 else (2 * s[-1] if abs(pn) > 2 * abs(s[-1]) else pn)
    return d


def steffen_interpolate(xk, yk, x):
    """Steffen's monotone cubic through the knots (xk strictly increasing): exact at the knots, monotone between
    them (no overshoot). NaN outside [xk[0], xk[-1]]."""
    xk = np.asarray(xk, dtype=float)
    yk = np.asarray(yk, dtype=float)
    xq = np.asarray(x, dtype=float)
    if xk.size == 0:
        return np.full(xq.shape, np.nan) if xq.ndim else float("nan")
    if np.any(np.diff(xk) <= 0):
        raise TokenfabError("interpolation knots must be strictly increasing", field="xk")
    if xk.size == 1:
        out = np.where(xq == xk[0], yk[0], np.nan)
        return out if out.ndim else float(out)
    d = steffen_slopes(xk, yk)
    i = np.clip(np.searchsorted(xk, xq, side="right") - 1, 0, xk.size - 2)
    h = xk[i + 1] - xk[i]
    s = (yk[i + 1] - yk[i]) / h
    t = xq - xk[i]
    a = (d[i] + d[i + 1] - 2 * s) / h**2
    b = (3 * s - 2 * d[i] - d[i + 1]) / h
    out = ((a * t + b) * t + d[i]) * t + yk[i]
    out = np.where(xq == xk[i + 1], yk[i + 1], out)
    out = np.where((xq < xk[0]) | (xq > xk[-1]) | ~np.isfinite(xq), np.nan, out)
    return out if out.ndim else float(out)
