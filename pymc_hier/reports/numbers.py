"""Numbers as a statistician writes them: to the precision their uncertainty supports.

Every formatter returns text for one column (or one row of estimates) at a time, so that
the values it holds share their decimals and notation: ``0.0474``, ``0.0021``, never
``4.74e-02`` beside ``0.0021``. Values too large or too small for fixed decimals are
written with a common power of ten (:class:`Markup` HTML: ``5.49×10<sup>−7</sup>``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable

import numpy as np

__all__ = ["DASH", "Markup", "decimals_for", "fmt_count", "fmt_fixed", "fmt_khat",
           "fmt_rhat", "format_like", "format_sig", "format_values"]

#: Shown where a value does not apply (k-hat of a setting nothing was reweighted for).
DASH = "–"
_MAX_DECIMALS = 6
_FIXED_RANGE = (1e-4, 1e6)
_SUPERSCRIPT_MINUS = "−"


class Markup(str):
    """Text that is already HTML (not escaped again by :mod:`pymc_hier.reports.html`)."""

    __slots__ = ()


def _finite(values) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[np.isfinite(arr)]


def decimals_for(scale: float, sig: int = 2) -> int:
    """Decimals that show ``sig`` significant digits of ``scale`` (0 for scales >= 10^sig)."""
    if not np.isfinite(scale) or scale <= 0:
        return 0
    return int(min(_MAX_DECIMALS, max(0, sig - 1 - math.floor(math.log10(scale)))))


def _exponent(values: np.ndarray) -> int | None:
    """Return the common power of ten of values outside the fixed range, or None."""
    finite = _finite(values)
    if finite.size == 0:
        return None
    big = np.max(np.abs(finite))
    if big == 0 or _FIXED_RANGE[0] <= big < _FIXED_RANGE[1]:
        return None
    return int(math.floor(math.log10(big)))


def _one(x: float, decimals: int, exponent: int | None) -> str:
    if x is None or not np.isfinite(x):
        return DASH if x is None or np.isnan(x) else ("∞" if x > 0 else "−∞")
    if exponent is not None:
        x = x / 10.0**exponent
    text = f"{x:.{decimals}f}"
    if text.lstrip("-").strip("0.") == "":
        text = text.lstrip("-")  # no "-0.00"
    text = text.replace("-", _SUPERSCRIPT_MINUS)
    if exponent is None:
        return text
    return Markup(f"{html.escape(text)}×10<sup>{str(exponent).replace('-', '−')}</sup>")


def format_values(values: Iterable[float], *, scale: float | None = None,
                  sig: int = 3) -> list[str]:
    """Format values with shared decimals.

    Parameters
    ----------
    values : iterable of float
        One column (or one row of related estimates). NaN is written as ``–``.
    scale : float, optional
        The uncertainty of the values (a posterior sd): decimals show two significant digits
        of it. By default the largest magnitude gets ``sig`` significant digits.
    sig : int, default 3
        Significant digits of the largest value when ``scale`` is not given.

    Returns
    -------
    list of str
        Plain text, or :class:`Markup` with a power of ten.
    """
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values,
                     dtype=float)
    exponent = _exponent(arr)
    unit = 10.0**exponent if exponent is not None else 1.0
    if scale is not None and np.isfinite(scale) and scale > 0:
        decimals = decimals_for(scale / unit, 2)
    else:
        finite = _finite(arr)
        big = float(np.max(np.abs(finite))) / unit if finite.size else 0.0
        decimals = decimals_for(big, sig) if big > 0 else 0
    return [_one(float(x), decimals, exponent) for x in arr]


def format_like(values: Iterable[float], reference: Iterable[float], *,
                scale: float | None = None, sig: int = 3) -> list[str]:
    """Format ``values`` with the decimals :func:`format_values` chooses for ``reference``."""
    values = np.asarray(list(values), dtype=float)
    both = format_values(np.concatenate([np.asarray(list(reference), dtype=float), values]),
                         scale=scale, sig=sig)
    return both[len(both) - len(values):]


def format_sig(values: Iterable[float], sig: int = 3) -> list[str]:
    """Each value to ``sig`` significant figures (``0.000577``, ``0.0705``, ``138``).

    For a column of measurements of different sizes; a common power of ten is used when
    the largest value is outside 10^-4 .. 10^6.
    """
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values,
                     dtype=float)
    exponent = _exponent(arr)
    unit = 10.0**exponent if exponent is not None else 1.0
    out = []
    for x in arr:
        scaled = abs(x) / unit
        decimals = decimals_for(scaled, sig) if np.isfinite(scaled) and scaled > 0 else 0
        out.append(_one(float(x), decimals, exponent))
    return out


def fmt_fixed(x: float, decimals: int = 2) -> str:
    """Write a number with fixed decimals (``–`` for NaN)."""
    return _one(float(x), decimals, None)


def fmt_rhat(x: float) -> str:
    """R-hat to two decimals (``1.00``); three when it rounds to 1.01 or more."""
    if not np.isfinite(x):
        return DASH
    return f"{x:.2f}" if x < 1.005 else f"{x:.3f}"


def fmt_count(x: float) -> str:
    """Write an effective sample size or a count as a whole number."""
    if x is None or not np.isfinite(x):
        return DASH
    return f"{round(float(x)):d}"


def fmt_khat(x: float) -> str:
    """Pareto k-hat to two decimals, ``–`` where nothing was reweighted (non-finite)."""
    if x is None or not np.isfinite(x):
        return DASH
    return f"{x:.2f}".replace("-", _SUPERSCRIPT_MINUS)
