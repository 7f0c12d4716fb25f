"""Measurements of radioactive widgets: :class:`DecayData`."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from types import MappingProxyType

import numpy as np
import pandas as pd
import xarray as xr

from pymc_hier._validation import (
    as_float_array,
    as_labels,
    check_finite,
    check_lengths,
    check_positive,
    first_bad,
    frozen,
    read_csv,
    require_columns,
)

_ARRAYS = ("t_measured", "n_measured", "sigma", "day_start", "day_end")
_REQUIRED_COLUMNS = _ARRAYS
_TRUTH = {"alpha": "alpha", "n0": "n0", "t0": "t0"}  # truth key -> description key
_DESCRIPTIONS = {
    "t_measured": "time of the measurement",
    "n_measured": "measured amount of radioactive material",
    "sigma": "standard deviation of the measurement",
    "day_start": "start of the manufacture window",
    "day_end": "end of the manufacture window",
    "t0": "exact manufacture time",
    "n0": "initial amount of radioactive material",
    "alpha": "decay rate",
}


@dataclass(frozen=True, eq=False)
class DecayData:
    """One noisy measurement per widget, with the window in which each was made.

    Parameters
    ----------
    t_measured : array_like
        Time of each widget's measurement (``t1``).
    n_measured : array_like
        Measured amount of material at ``t_measured``.
    sigma : array_like
        Standard deviation of each measurement, > 0.
    day_start, day_end : array_like
        Bounds of the window (the day) in which each widget was made; ``day_start < day_end
        <= t_measured``.
    n0_max : float
        The company's upper limit on the initial amount in any widget, > 0.
    t0 : array_like, optional
        Exact manufacture times, when known; must lie in ``[day_start, day_end]``.
    time_unit : str, default "s"
        Unit of every time above; the decay rate is reported per this unit.
    widget : array_like, optional
        Widget labels, unique and of one kind (all numbers or all strings; not NaN);
        ``0 .. n-1`` by default.
    truth : mapping, optional
        Ground truth for simulated data: ``alpha`` (float), ``n0`` and ``t0`` (arrays).

    Raises
    ------
    ValueError
        For NaN or infinite values, ``sigma <= 0``, mismatched lengths, a window whose end
        precedes its start, a measurement before the end of its window, ``n0_max <= 0``,
        empty data, non-numeric values, or widget labels that repeat, are NaN or mix strings
        with numbers. The message names the field and the first offending row.

    Examples
    --------
    >>> from pymc_hier import DecayData
    >>> data = DecayData(
    ...     t_measured=[10.0, 12.0], n_measured=[3.1, 0.4], sigma=[0.1, 0.2],
    ...     day_start=[0.0, 1.0], day_end=[1.0, 2.0], n0_max=10.0, time_unit="day",
    ... )
    >>> data.n_widgets
    2
    """

    t_measured: np.ndarray
    n_measured: np.ndarray
    sigma: np.ndarray
    day_start: np.ndarray
    day_end: np.ndarray
    n0_max: float
    t0: np.ndarray | None = None
    time_unit: str = "s"
    widget: np.ndarray | None = None
    truth: Mapping | None = field(default=None)

    def __post_init__(self):
        arrays = {name: as_float_array(name, getattr(self, name)) for name in _ARRAYS}
        if self.t0 is not None:
            arrays["t0"] = as_float_array("t0", self.t0)
        n = check_lengths(arrays)
        for name, arr in arrays.items():
            check_finite(name, arr)
        check_positive("sigma", arrays["sigma"])
        start, end = arrays["day_start"], arrays["day_end"]
        bad = ~(end > start)
        if bad.any():
            i = first_bad(bad)
            raise ValueError(
                f"day_end: window end must be after its start; first offending row {i} "
                f"(day_start={float(start[i])!r}, day_end={float(end[i])!r})"
            )
        bad = arrays["t_measured"] < end
        if bad.any():
            i = first_bad(bad)
            raise ValueError(
                f"t_measured: measurement before the end of the manufacture window; first "
                f"offending row {i} (t_measured={float(arrays['t_measured'][i])!r}, "
                f"day_end={float(end[i])!r})"
            )
        if "t0" in arrays:
            t0 = arrays["t0"]
            bad = (t0 < start) | (t0 > end)
            if bad.any():
                i = first_bad(bad)
                raise ValueError(
                    f"t0: manufacture time outside its window; first offending row {i} "
                    f"(t0={float(t0[i])!r}, window=[{float(start[i])!r}, {float(end[i])!r}])"
                )
        try:
            n0_max = float(self.n0_max)
        except (TypeError, ValueError):
            raise ValueError(f"n0_max: must be a number, got {self.n0_max!r}") from None
        if isinstance(self.n0_max, bool) or not np.isfinite(n0_max) or n0_max <= 0:
            raise ValueError(f"n0_max: must be finite and > 0, got {self.n0_max!r}")
        if not isinstance(self.time_unit, str) or not self.time_unit:
            raise ValueError(f"time_unit: must be a non-empty string, got {self.time_unit!r}")
        widget = (np.arange(n) if self.widget is None else
                  as_labels("widget", self.widget, n, reference="t_measured"))
        truth = None if self.truth is None else _check_truth(self.truth, n)
        for name, arr in arrays.items():
            object.__setattr__(self, name, frozen(arr))
        object.__setattr__(self, "n0_max", n0_max)
        object.__setattr__(self, "widget", frozen(widget.copy()))
        object.__setattr__(self, "truth", truth)

    # -- basic protocol -------------------------------------------------------------
    @property
    def n_widgets(self) -> int:
        """Number of widgets."""
        return len(self.t_measured)

    def __len__(self) -> int:
        return self.n_widgets

    @property
    def has_t0(self) -> bool:
        """Whether exact manufacture times are known."""
        return self.t0 is not None

    def __eq__(self, other) -> bool:
        if not isinstance(other, DecayData):
            return NotImplemented
        return self.to_dataset().identical(other.to_dataset())

    __hash__ = None  # mutable-looking arrays: not hashable, compare by value

    def __repr__(self) -> str:
        known = "known t0" if self.has_t0 else "t0 unknown within its day"
        return (
            f"DecayData({self.n_widgets} widgets, n0_max={self.n0_max:g}, "
            f"time_unit={self.time_unit!r}, {known})"
        )

    def __reduce__(self):
        # Rebuild through the constructor: validated, read-only again after unpickling.
        return (_rebuild, (self._kwargs(),))

    def fingerprint(self) -> str:
        """Return a SHA-256 hex digest of the values (for provenance and caching)."""
        h = hashlib.sha256()
        for name in (*_ARRAYS, "t0"):
            arr = getattr(self, name)
            h.update(name.encode())
            if arr is not None:
                h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        h.update(repr((self.n0_max, self.time_unit, self.widget.tolist())).encode())
        return h.hexdigest()

    # -- conversions ------------------------------------------------------------------
    def to_dataframe(self) -> pd.DataFrame:
        """Return one row per widget, indexed by ``widget``.

        ``n0_max`` and ``time_unit`` are constant columns; the ground truth, when present,
        is in ``true_n0`` and ``true_t0`` columns and a constant ``true_alpha`` column.
        """
        cols = {name: getattr(self, name) for name in _ARRAYS}
        if self.has_t0:
            cols["t0"] = self.t0
        df = pd.DataFrame(cols, index=pd.Index(self.widget, name="widget"))
        df["n0_max"] = self.n0_max
        df["time_unit"] = self.time_unit
        for key, value in (self.truth or {}).items():
            df[f"true_{key}"] = value
        return df

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, *, n0_max: float | None = None,
                       time_unit: str | None = None, source: str = "DataFrame") -> DecayData:
        """Build from a DataFrame with the columns written by :meth:`to_dataframe`.

        ``n0_max`` and ``time_unit`` may come from constant columns or from the keywords
        (the keywords win). The index, or a ``widget`` column, gives the labels.
        """
        if "widget" in df.columns:
            df = df.set_index("widget")
        require_columns(df.columns, _REQUIRED_COLUMNS, source)
        n0_max = _constant_column(df, "n0_max", n0_max, source)
        time_unit = _constant_column(df, "time_unit", time_unit, source, default="s")
        t0 = df["t0"].to_numpy() if "t0" in df.columns and df["t0"].notna().any() else None
        widget = df.index.to_numpy() if df.index.name == "widget" else None
        truth = {k: df[f"true_{k}"].to_numpy() for k in _TRUTH if f"true_{k}" in df.columns}
        if "alpha" in truth:
            truth["alpha"] = _constant_column(df, "true_alpha", None, source)
        return cls(**{k: df[k].to_numpy() for k in _ARRAYS}, n0_max=n0_max, t0=t0,
                   time_unit=str(time_unit), widget=widget, truth=truth or None)

    def to_csv(self, path: str | PathLike) -> None:
        """Write the data as CSV (one row per widget)."""
        self.to_dataframe().to_csv(path)

    @classmethod
    def from_csv(cls, path: str | PathLike, **kwargs) -> DecayData:
        """Read a CSV written by :meth:`to_csv` (or any CSV with the same columns)."""
        return cls.from_dataframe(read_csv(path), source=f"CSV file {path}", **kwargs)

    def to_dataset(self) -> xr.Dataset:
        """Return an :class:`xarray.Dataset` with a ``widget`` dimension and units in attrs."""
        unit = self.time_unit
        data_vars = {}
        for name in (*_ARRAYS, "t0"):
            arr = getattr(self, name)
            if arr is None:
                continue
            attrs = {"description": _DESCRIPTIONS[name]}
            if name in ("t_measured", "day_start", "day_end", "t0"):
                attrs["units"] = unit
            data_vars[name] = xr.DataArray(np.array(arr), dims="widget", attrs=attrs)
        attrs = {"n0_max": self.n0_max, "time_unit": unit}
        truth = self.truth or {}
        if "alpha" in truth:
            attrs["true_alpha"] = truth["alpha"]
            attrs["true_alpha_units"] = f"1/{unit}"
        for k in ("n0", "t0"):
            if k in truth:
                attrs_k = {"description": f"true {_DESCRIPTIONS[_TRUTH[k]]}"}
                if k == "t0":
                    attrs_k["units"] = unit
                data_vars[f"true_{k}"] = xr.DataArray(np.array(truth[k]), dims="widget",
                                                      attrs=attrs_k)
        return xr.Dataset(data_vars, coords={"widget": np.array(self.widget)}, attrs=attrs)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> DecayData:
        """Inverse of :meth:`to_dataset`."""
        require_columns(list(ds.data_vars), _REQUIRED_COLUMNS, "Dataset")
        for key in ("n0_max",):
            if key not in ds.attrs:
                raise ValueError(f"{key}: missing attribute in Dataset")
        truth = {k: ds[f"true_{k}"].values for k in ("n0", "t0") if f"true_{k}" in ds}
        if "true_alpha" in ds.attrs:
            truth["alpha"] = ds.attrs["true_alpha"]
        return cls(**{k: ds[k].values for k in _ARRAYS}, n0_max=ds.attrs["n0_max"],
                   t0=ds["t0"].values if "t0" in ds else None,
                   time_unit=ds.attrs.get("time_unit", "s"), widget=ds["widget"].values,
                   truth=truth or None)

    def without_t0(self) -> DecayData:
        """Return a copy that forgets the exact manufacture times (keeps the windows)."""
        return self._replace(t0=None)

    def _kwargs(self) -> dict:
        kwargs = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if kwargs["truth"] is not None:
            kwargs["truth"] = dict(kwargs["truth"])
        return kwargs

    def _replace(self, **changes) -> DecayData:
        return DecayData(**{**self._kwargs(), **changes})


def _rebuild(kwargs: dict) -> DecayData:
    return DecayData(**kwargs)


def _check_truth(truth: Mapping, n: int) -> MappingProxyType:
    """Validate the ground truth: scalar ``alpha``, per-widget ``n0`` and ``t0``."""
    if not isinstance(truth, Mapping):
        raise ValueError(f"truth: expected a mapping, got {type(truth).__name__}")
    unknown = set(truth) - set(_TRUTH)
    if unknown:
        raise ValueError(f"truth: unknown key {sorted(unknown)[0]!r} "
                         f"(known: {', '.join(_TRUTH)})")
    clean = {}
    for key, value in truth.items():
        name = f"truth[{key!r}]"
        if key == "alpha":
            arr = np.asarray(value)
            if arr.ndim != 0 or arr.dtype.kind not in "iuf":
                raise ValueError(f"{name}: expected one number, got {value!r}")
            if not np.isfinite(arr) or arr < 0:
                raise ValueError(f"{name}: must be finite and >= 0, got {value!r}")
            clean[key] = float(arr)
        else:
            arr = as_float_array(name, value)
            check_lengths({"t_measured": np.empty(n), name: arr})
            check_finite(name, arr)
            clean[key] = frozen(arr)
    return MappingProxyType(clean)


def _constant_column(df, name, override, source, default=None):
    if override is not None:
        return override
    if name not in df.columns:
        if default is not None:
            return default
        raise ValueError(f"{name}: missing column in {source} and not given as a keyword")
    values = df[name].unique()
    if len(values) != 1:
        raise ValueError(f"{name}: column must hold one value for every row in {source}, "
                         f"found {len(values)} different values")
    return values[0]
