"""Units a person reads: times rescaled to the data's span, rates per that unit.

A model family says the unit of each variable (:attr:`pymc_hier.ModelFamily.units`:
``{"alpha": "1/s", "t0": "s"}``). :class:`DisplayUnits` keeps every unit that is not a
time as it is and rewrites times and rates in one time unit chosen from the data's span
(:func:`choose_time_unit`: 138 days of measurements in seconds are shown in days), so that
the report's tables, figures and equations agree. Nothing here knows a model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["TIME_UNITS", "DisplayUnits", "choose_time_unit", "parse_unit", "scale_parameters",
           "unit_text"]

#: Length in seconds of the time units understood (names as written in data).
TIME_UNITS = {
    "s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0,
    "min": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
    "week": 604800.0, "weeks": 604800.0,
    "year": 31557600.0, "years": 31557600.0, "yr": 31557600.0,
}
# the units shown, shortest first, and how many of them a span must hold to be shown in it
_DISPLAY = (("s", 1.0), ("min", 60.0), ("h", 3600.0), ("day", 86400.0),
            ("year", 31557600.0))
_MIN_COUNT = 2.0
_RATE = re.compile(r"^\s*(?:1\s*/\s*|per\s+)(\w+)\s*$")
_POWER = re.compile(r"^\s*(\w+)\s*\^\s*\(?\s*-\s*1\s*\)?\s*$")


def parse_unit(text: str | None) -> tuple[str, int] | None:
    """Return ``(time unit, power)`` of a time or a rate; None for other units.

    A time (``"s"``) has power 1, a rate (``"1/s"``, ``"per day"``, ``"s^-1"``) power -1.
    """
    if not text:
        return None
    text = str(text).strip()
    if text in TIME_UNITS:
        return text, 1
    for pattern in (_RATE, _POWER):
        match = pattern.match(text)
        if match and match.group(1) in TIME_UNITS:
            return match.group(1), -1
    return None


def choose_time_unit(span_seconds: float) -> str:
    """Return the longest of s, min, h, day, year that the span holds at least twice."""
    if not np.isfinite(span_seconds) or span_seconds <= 0:
        return "s"
    chosen = "s"
    for name, seconds in _DISPLAY:
        if span_seconds / seconds >= _MIN_COUNT:
            chosen = name
    return chosen


_PLURAL = {"s": "seconds", "min": "minutes", "h": "hours", "day": "days", "year": "years"}
_SINGULAR = {"s": "second", "min": "minute", "h": "hour"}


def unit_text(unit: str | None) -> str:
    """Write a unit as words: ``"days"``, ``"per day"``; empty for none."""
    if not unit:
        return ""
    parsed = parse_unit(unit)
    if parsed is None:
        return str(unit)
    name, power = parsed
    if power == -1:
        return f"per {_SINGULAR.get(name, name)}"
    return _PLURAL.get(name, name)


@dataclass(frozen=True)
class DisplayUnits:
    """How each variable is shown: its unit and the factor its values are multiplied by.

    Parameters
    ----------
    source : mapping of str to str
        The unit of each variable, as the model has it.
    time_unit : str, optional
        The time unit to show times and rates in; by default each keeps its own.
    """

    source: Mapping[str, str] = field(default_factory=dict)
    time_unit: str | None = None

    @classmethod
    def from_data(cls, source: Mapping[str, str],
                  values: Iterable[tuple[str, np.ndarray]]) -> DisplayUnits:
        """Choose the time unit from the span of time-valued data ``(name, values)``."""
        lows, highs = [], []
        for name, arr in values:
            parsed = parse_unit(source.get(name))
            if parsed is None or parsed[1] != 1:
                continue
            arr = np.asarray(arr, dtype=float)
            arr = arr[np.isfinite(arr)]
            if arr.size:
                seconds = TIME_UNITS[parsed[0]]
                lows.append(arr.min() * seconds)
                highs.append(arr.max() * seconds)
        if not lows:
            return cls(dict(source), None)
        return cls(dict(source), choose_time_unit(max(highs) - min(lows)))

    def factor(self, name: str) -> float:
        """Return what the values of ``name`` are multiplied by to be shown."""
        parsed = parse_unit(self.source.get(name))
        if parsed is None or self.time_unit is None:
            return 1.0
        ratio = TIME_UNITS[parsed[0]] / TIME_UNITS[self.time_unit]
        return ratio if parsed[1] == 1 else 1.0 / ratio

    def unit(self, name: str) -> str | None:
        """Return the unit ``name`` is shown in (``"day"``, ``"1/day"``), or None."""
        unit = self.source.get(name)
        parsed = parse_unit(unit)
        if parsed is None or self.time_unit is None:
            return unit or None
        return self.time_unit if parsed[1] == 1 else f"1/{self.time_unit}"

    def text(self, name: str) -> str:
        """Return the display unit of ``name`` as words (``"per day"``)."""
        return unit_text(self.unit(name))

    def convert(self, name: str, values):
        """Values of ``name`` in its display unit (xarray objects get a ``units`` attr)."""
        out = values * self.factor(name) if self.factor(name) != 1.0 else values
        if hasattr(out, "attrs"):
            out = out.copy()
            unit = self.unit(name)
            if unit:
                out.attrs["units"] = unit_text(unit)
            else:
                out.attrs.pop("units", None)
        return out

    def statement(self) -> str:
        """One sentence on the units shown, or an empty string."""
        if self.time_unit is None:
            return ""
        recorded = sorted({parse_unit(u)[0] for u in self.source.values()
                           if parse_unit(u) is not None})
        text = (f"Times are shown in {unit_text(self.time_unit)} and rates "
                f"{unit_text('1/' + self.time_unit)}")
        if recorded and recorded != [self.time_unit]:
            text += f" (the data record times in {', '.join(map(unit_text, recorded))})"
        return text + "."


def scale_parameters(dist: str, params: Mapping[str, float], factor: float) -> dict | None:
    """Parameters of a prior on a variable whose values are multiplied by ``factor``.

    Location and scale parameters scale with the variable, rates inversely; shapes stay.
    Returns None for a distribution whose parameters do not rescale simply.
    """
    if factor == 1.0:
        return dict(params)
    rules = _SCALING.get(dist)
    if rules is None or any(k not in rules for k in params):
        return None
    out = {}
    for key, value in params.items():
        power = rules[key]
        out[key] = value * factor**power if math.isfinite(value) else value
    return out


# parameter -> power of the factor, for distributions closed under rescaling
_SCALING = {
    "Normal": {"mu": 1, "sigma": 1}, "HalfNormal": {"sigma": 1, "loc": 1},
    "Cauchy": {"alpha": 1, "beta": 1}, "HalfCauchy": {"beta": 1, "loc": 1},
    "StudentT": {"nu": 0, "mu": 1, "sigma": 1}, "HalfStudentT": {"nu": 0, "sigma": 1},
    "Laplace": {"mu": 1, "b": 1}, "Logistic": {"mu": 1, "s": 1},
    "Uniform": {"lower": 1, "upper": 1}, "Exponential": {"lam": -1, "scale": 1},
    "Gamma": {"alpha": 0, "beta": -1}, "InverseGamma": {"alpha": 0, "beta": 1},
    "Weibull": {"alpha": 0, "beta": 1}, "Flat": {}, "HalfFlat": {},
    "TruncatedNormal": {"mu": 1, "sigma": 1, "lower": 1, "upper": 1},
}
