"""Points with error bars on ``y``: :class:`LineData` and :func:`simulate_line`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from pymc_hier._validation import (
    as_float_array,
    check_finite,
    check_lengths,
    check_positive,
    frozen,
    require_columns,
)

__all__ = ["LineData", "simulate_line"]


@dataclass(frozen=True, eq=False)
class LineData:
    """Points ``(x_i, y_i)`` with the known standard error ``sigma_y_i`` of each ``y_i``.

    Parameters
    ----------
    x, y : array_like
        Coordinates of the points (``x`` is taken as exact).
    sigma_y : array_like
        Standard error of each ``y``, > 0.
    dim : str, default "point"
        Name of the dim of the points in models and results.
    """

    x: np.ndarray
    y: np.ndarray
    sigma_y: np.ndarray
    dim: str = "point"

    def __post_init__(self):
        arrays = {k: as_float_array(k, getattr(self, k)) for k in ("x", "y", "sigma_y")}
        n = check_lengths(arrays)
        if n < 2:
            raise ValueError(f"x: a line needs at least 2 points, got {n}")
        for name, arr in arrays.items():
            check_finite(name, arr)
        check_positive("sigma_y", arrays["sigma_y"])
        if not isinstance(self.dim, str) or not self.dim.isidentifier():
            raise ValueError(f"dim: must be an identifier, got {self.dim!r}")
        for name, arr in arrays.items():
            object.__setattr__(self, name, frozen(arr))

    def __len__(self) -> int:
        return len(self.x)

    def __eq__(self, other) -> bool:
        if not isinstance(other, LineData):
            return NotImplemented
        return self.to_dataset().identical(other.to_dataset())

    __hash__ = None

    def __repr__(self) -> str:
        return f"LineData({len(self)} points along {self.dim!r})"

    def __reduce__(self):
        return (LineData, (self.x, self.y, self.sigma_y, self.dim))

    def fingerprint(self) -> str:
        """Return a SHA-256 hex digest of the values."""
        h = hashlib.sha256()
        for arr in (self.x, self.y, self.sigma_y):
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        h.update(self.dim.encode())
        return h.hexdigest()

    def to_dataset(self) -> xr.Dataset:
        """Return the points as an :class:`xarray.Dataset` along :attr:`dim`."""
        return xr.Dataset(
            {"x": (self.dim, np.array(self.x), {"description": "abscissa (exact)"}),
             "y": (self.dim, np.array(self.y), {"description": "measured ordinate"}),
             "sigma_y": (self.dim, np.array(self.sigma_y),
                         {"description": "standard error of y"})},
            coords={self.dim: np.arange(len(self))},
        )

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> LineData:
        """Inverse of :meth:`to_dataset`."""
        dim = ds["x"].dims[0]
        return cls(ds["x"].values, ds["y"].values, ds["sigma_y"].values, dim=str(dim))

    @classmethod
    def from_csv(cls, path) -> LineData:
        """Read a CSV with columns ``x``, ``y`` and ``sigma_y``, one row per point."""
        df = pd.read_csv(path)
        require_columns(df.columns, ("x", "y", "sigma_y"), f"CSV file {path}")
        return cls(df["x"].to_numpy(), df["y"].to_numpy(), df["sigma_y"].to_numpy())


def simulate_line(*, m: float = 2.0, b: float = 1.0, n_points: int = 20,
                  seed: int = 20261202) -> LineData:
    """Simulate points on ``y = m x + b`` with error bars between 0.5 and 2.

    ``x`` is uniform on ``[0, 10]``; each ``y`` is drawn with its own standard error.
    """
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 10.0, n_points))
    sigma_y = rng.uniform(0.5, 2.0, n_points)
    return LineData(x, m * x + b + sigma_y * rng.standard_normal(n_points), sigma_y)
