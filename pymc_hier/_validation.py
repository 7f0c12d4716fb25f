"""Input checks shared by the data containers.

Every check raises :class:`ValueError` naming the field and the first offending row, so
that bad input never gets through silently.
"""

from collections.abc import Sequence

import numpy as np


def first_bad(mask: np.ndarray) -> int:
    """Return the index of the first True entry of ``mask``."""
    return int(np.flatnonzero(mask)[0])


def as_float_array(name: str, values, *, ndim: int = 1) -> np.ndarray:
    """Convert ``values`` to a read-only float64 array, rejecting non-numeric entries."""
    arr = np.asarray(values)
    if arr.dtype == object or arr.dtype.kind in "USMmV":
        flat = arr.ravel()
        for i, v in enumerate(flat):
            try:
                float(v)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{name}: non-numeric value {v!r} at row {i}"
                ) from None
        arr = flat.astype(np.float64).reshape(arr.shape)
    elif arr.dtype.kind == "b":
        raise ValueError(f"{name}: expected numbers, got booleans")
    arr = np.array(arr, dtype=np.float64, copy=True)
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {arr.shape}")
    return arr


def check_finite(name: str, arr: np.ndarray) -> None:
    """Reject NaN and infinite values."""
    bad = ~np.isfinite(arr)
    if bad.any():
        i = first_bad(bad)
        raise ValueError(f"{name}: must be finite; first offending row {i} (value {arr[i]!r})")


def check_positive(name: str, arr: np.ndarray) -> None:
    """Reject values that are not strictly positive."""
    bad = ~(arr > 0)
    if bad.any():
        i = first_bad(bad)
        raise ValueError(f"{name}: must be > 0; first offending row {i} (value {arr[i]!r})")


def check_lengths(fields: dict[str, np.ndarray]) -> int:
    """Check that every array has the same length and return it; empty data is rejected."""
    lengths = {k: len(v) for k, v in fields.items()}
    ref_name, n = next(iter(lengths.items()))
    for k, m in lengths.items():
        if m != n:
            raise ValueError(
                f"{k}: length {m} does not match {ref_name} (length {n}); "
                f"mismatched lengths"
            )
    if n == 0:
        raise ValueError(f"{ref_name}: empty data (no rows)")
    return n


def check_unique(name: str, labels: Sequence) -> None:
    """Reject duplicate labels."""
    seen: dict = {}
    for i, v in enumerate(labels):
        if v in seen:
            raise ValueError(
                f"{name}: duplicate name {v!r} at row {i} (first seen at row {seen[v]})"
            )
        seen[v] = i


def frozen(arr: np.ndarray) -> np.ndarray:
    """Mark an array read-only and return it."""
    arr.setflags(write=False)
    return arr


def require_columns(columns, required: Sequence[str], source: str) -> None:
    """Raise naming the first required column that is missing."""
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValueError(
            f"{missing[0]}: missing column in {source} (missing: {', '.join(missing)}; "
            f"found: {', '.join(map(str, columns))})"
        )
