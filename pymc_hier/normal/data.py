"""Group estimates with known standard errors: :class:`SchoolsData` and ``EIGHT_SCHOOLS``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd
import xarray as xr

from pymc_hier._validation import (
    as_float_array,
    check_finite,
    check_lengths,
    check_positive,
    check_unique,
    first_bad,
    frozen,
    read_csv,
    require_columns,
)

#: Names ``SchoolsData.dim`` cannot take: ArviZ's sample dims and the hierarchical normal
#: model's variables (a dim may not share a variable's name).
RESERVED_DIMS = ("chain", "draw", "__sample__", "y", "sigma", "mu", "tau", "theta",
                 "theta_new", "theta_scaled", "theta_tilde", "theta_new_tilde")


def check_representable(y: np.ndarray, sigma: np.ndarray) -> None:
    """Refuse values whose squares (or squared z-scores) overflow or underflow.

    The normal likelihood squares ``y``, ``sigma`` and the spread of ``y`` in units of
    ``sigma``: beyond about ``1e150`` (or, for ``sigma``, below ``1e-150``) double precision
    cannot hold them and every posterior computation fails. Such data need rescaling.
    """
    with np.errstate(all="ignore"):
        spread = np.max(y) - np.min(y)
        checks = (("y", ~np.isfinite(y**2) | ~np.isfinite(spread**2), y, "too large"),
                  ("sigma", ~(np.isfinite(sigma**2) & (sigma**2 > 0)), sigma,
                   "too extreme"),
                  ("sigma", ~np.isfinite((spread / sigma) ** 2), sigma,
                   f"too small for the spread of y ({spread:g})"))
    for name, bad, values, what in checks:
        if np.any(bad):
            i = first_bad(np.broadcast_to(bad, values.shape))
            raise ValueError(f"{name}: {float(values[i]):g} is {what} for double precision "
                             f"(squares of the data, and of their spread in units of sigma, "
                             f"must stay within 1e-300 .. 1e300); first offending row {i}; "
                             "rescale the data")


@dataclass(frozen=True, eq=False)
class SchoolsData:
    """Estimated effects ``y`` with known standard errors ``sigma``, one per group.

    This is the meta-analysis form behind the eight-schools example: any number of groups,
    each with one estimate and its standard error.

    Parameters
    ----------
    y : array_like
        Estimated effect of each group.
    sigma : array_like
        Standard error of each estimate, > 0.
    names : sequence of str, optional
        Unique group names; ``"0" .. "J-1"`` by default.
    dim : str, default "school"
        Name of the group dimension in models and results; not one of
        :data:`RESERVED_DIMS` (``chain``, ``draw``, the model's variable names).

    Raises
    ------
    ValueError
        For NaN or infinite values, ``sigma <= 0``, values too extreme for double
        precision, mismatched lengths, empty data, non-numeric values, duplicate names or a
        reserved ``dim``; the message names the field (and the first offending row).

    Examples
    --------
    >>> from pymc_hier import EIGHT_SCHOOLS
    >>> EIGHT_SCHOOLS.names[:3]
    ('A', 'B', 'C')
    """

    y: np.ndarray
    sigma: np.ndarray
    names: tuple[str, ...] | None = None
    dim: str = "school"

    def __post_init__(self):
        arrays = {"y": as_float_array("y", self.y), "sigma": as_float_array("sigma", self.sigma)}
        names = None if self.names is None else [str(v) for v in self.names]
        if names is not None:
            arrays_n = {**arrays, "names": np.asarray(names)}
            n = check_lengths(arrays_n)
        else:
            n = check_lengths(arrays)
            names = [str(i) for i in range(n)]
        for name, arr in arrays.items():
            check_finite(name, arr)
        check_positive("sigma", arrays["sigma"])
        check_unique("names", names)
        if not isinstance(self.dim, str) or not self.dim.isidentifier():
            raise ValueError(f"dim: must be an identifier, got {self.dim!r}")
        if self.dim in RESERVED_DIMS:
            raise ValueError(f"dim: {self.dim!r} is reserved (sample dims and the model's "
                             f"variable names: {', '.join(RESERVED_DIMS)}); choose another "
                             "name such as 'group'")
        check_representable(arrays["y"], arrays["sigma"])
        for name, arr in arrays.items():
            object.__setattr__(self, name, frozen(arr))
        object.__setattr__(self, "names", tuple(names))

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.y)

    def __len__(self) -> int:
        return self.n_groups

    def __eq__(self, other) -> bool:
        if not isinstance(other, SchoolsData):
            return NotImplemented
        return self.to_dataset().identical(other.to_dataset())

    __hash__ = None

    def __repr__(self) -> str:
        return f"SchoolsData({self.n_groups} groups along {self.dim!r})"

    def __reduce__(self):
        # Rebuild through the constructor: validated, read-only again after unpickling.
        return (SchoolsData, (self.y, self.sigma, self.names, self.dim))

    def fingerprint(self) -> str:
        """Return a SHA-256 hex digest of the values (for provenance and caching)."""
        h = hashlib.sha256()
        for arr in (self.y, self.sigma):
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        h.update(repr((self.names, self.dim)).encode())
        return h.hexdigest()

    def to_dataframe(self) -> pd.DataFrame:
        """Return one row per group, indexed by name."""
        return pd.DataFrame({"y": self.y, "sigma": self.sigma},
                            index=pd.Index(self.names, name=self.dim))

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, *, dim: str | None = None,
                       source: str = "DataFrame") -> SchoolsData:
        """Build from a DataFrame with ``y`` and ``sigma`` columns.

        Group names come from a ``name`` column, a column named ``dim``, or the index.
        """
        require_columns(df.columns, ("y", "sigma"), source)
        if dim is None:
            dim = df.index.name if df.index.name and df.index.name != "index" else "school"
        if dim in df.columns:
            names = df[dim].astype(str).tolist()
        elif "name" in df.columns:
            names = df["name"].astype(str).tolist()
        else:
            names = [str(v) for v in df.index]
        return cls(y=df["y"].to_numpy(), sigma=df["sigma"].to_numpy(), names=names, dim=dim)

    def to_csv(self, path: str | PathLike) -> None:
        """Write the data as CSV (one row per group)."""
        self.to_dataframe().to_csv(path)

    @classmethod
    def from_csv(cls, path: str | PathLike, *, dim: str | None = None) -> SchoolsData:
        """Read a CSV with ``y`` and ``sigma`` columns and the group names first."""
        df = read_csv(path, dtype={0: str})
        first = df.columns[0]
        if first not in ("y", "sigma"):
            df = df.set_index(first)
        return cls.from_dataframe(df, dim=dim, source=f"CSV file {path}")

    def to_dataset(self) -> xr.Dataset:
        """Return an :class:`xarray.Dataset` along the group dimension."""
        return xr.Dataset(
            {
                "y": (self.dim, np.array(self.y), {"description": "estimated effect"}),
                "sigma": (self.dim, np.array(self.sigma),
                          {"description": "standard error of the estimate"}),
            },
            coords={self.dim: list(self.names)},
        )

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> SchoolsData:
        """Inverse of :meth:`to_dataset`."""
        require_columns(list(ds.data_vars), ("y", "sigma"), "Dataset")
        dim = ds["y"].dims[0]
        return cls(y=ds["y"].values, sigma=ds["sigma"].values,
                   names=[str(v) for v in ds[dim].values], dim=dim)


#: The eight-schools table of Bayesian Data Analysis (section 5.5).
EIGHT_SCHOOLS = SchoolsData(
    y=[28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0],
    sigma=[15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0],
    names=tuple("ABCDEFGH"),
)
