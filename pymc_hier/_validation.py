"""Input checks shared by the data containers.

Every check raises :class:`ValueError` naming the field and the first offending row, so
that bad input never gets through silently.
"""

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd


def first_bad(mask: np.ndarray) -> int:
    """Return the index of the first True entry of ``mask``."""
    return int(np.flatnonzero(mask)[0])


def as_float_array(name: str, values, *, ndim: int = 1) -> np.ndarray:
    """Convert ``values`` to a float64 copy, rejecting non-numeric entries.

    Numbers, and text that parses as a number (as read from a CSV), are accepted; booleans,
    complex numbers, dates and any other text are rejected, naming the first offending row.
    """
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as err:  # ragged nesting, objects NumPy cannot hold
        raise ValueError(f"{name}: expected a {ndim}-d array of numbers, got {values!r:.60} "
                         f"({' '.join(str(err).split()[:8])} ...)") from None
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {arr.shape}")
    kind = arr.dtype.kind
    if kind in "OUS":
        for i, v in enumerate(arr.ravel()):
            if not _is_number(v):
                shown = v.item() if isinstance(v, np.generic) else v
                raise ValueError(
                    f"{name}: non-numeric value {shown!r}; first offending row {i}"
                )
        arr = arr.astype(np.float64)
    elif kind not in "iuf":
        what = {"b": "booleans", "c": "complex numbers", "M": "dates", "m": "time deltas"}
        raise ValueError(
            f"{name}: non-numeric column of {what.get(kind, arr.dtype)}; first offending "
            f"row 0"
        )
    return np.array(arr, dtype=np.float64, copy=True)


def _is_number(v) -> bool:
    if isinstance(v, bytes):
        v = v.decode(errors="replace")
    if isinstance(v, str):
        try:
            float(v)
        except ValueError:
            return False
        return True
    if isinstance(v, bool | np.bool_ | complex | np.complexfloating):
        return False
    return isinstance(v, numbers.Real)


def check_finite(name: str, arr: np.ndarray) -> None:
    """Reject NaN and infinite values."""
    bad = ~np.isfinite(arr)
    if bad.any():
        i = first_bad(bad)
        raise ValueError(
            f"{name}: must be finite; first offending row {i} (value {float(arr[i])!r})"
        )


def check_positive(name: str, arr: np.ndarray) -> None:
    """Reject values that are not strictly positive."""
    bad = ~(arr > 0)
    if bad.any():
        i = first_bad(bad)
        raise ValueError(
            f"{name}: must be > 0; first offending row {i} (value {float(arr[i])!r})"
        )


def check_lengths(fields: dict[str, np.ndarray]) -> int:
    """Check that every array has the same length and return it; empty data is rejected.

    The first field is the reference; a field of another length is named with the first
    row that one of the two lacks.
    """
    lengths = {k: len(v) for k, v in fields.items()}
    ref_name, n = next(iter(lengths.items()))
    for k, m in lengths.items():
        if m != n:
            raise ValueError(
                f"{k}: length {m} does not match {ref_name} (length {n}); mismatched "
                f"lengths, first offending row {min(m, n)}"
            )
    if n == 0:
        raise ValueError(f"{ref_name}: empty data, no rows (first offending row 0 is missing)")
    return n


def check_unique(name: str, labels: Sequence) -> None:
    """Reject duplicate labels."""
    seen: dict = {}
    for i, v in enumerate(labels):
        if v in seen:
            raise ValueError(
                f"{name}: duplicate name {v!r}; first offending row {i} (same as row "
                f"{seen[v]})"
            )
        seen[v] = i


def as_labels(name: str, values, n: int, *, reference: str) -> np.ndarray:
    """Return ``n`` unique labels of one kind: all integers, all numbers or all strings.

    A mix of strings and numbers is refused (NumPy would silently turn the numbers into
    text, and netCDF cannot store the mix), as are booleans, NaN and other objects.
    """
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.ndim != 1 or len(arr) != n:
        size = len(np.atleast_1d(arr))
        raise ValueError(f"{name}: length {size} does not match {reference} (length {n}); "
                         f"mismatched lengths, first offending row {min(size, n)}")
    kinds = []
    for i, v in enumerate(arr.tolist()):
        if isinstance(v, str):
            kind = "str"
        elif isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(f"{name}: label {v!r} is neither a number nor a string; first "
                             f"offending row {i}")
        elif isinstance(v, numbers.Integral):
            kind = "int"
        elif not np.isfinite(v):
            raise ValueError(f"{name}: label {v!r} is not finite; first offending row {i}")
        else:
            kind = "float"
        if kinds and (kind == "str") != (kinds[0] == "str"):
            raise ValueError(f"{name}: mixed label types ({kinds[0]} and {kind}); first "
                             f"offending row {i}; give all labels as strings or all as numbers")
        kinds.append(kind)
    if arr.dtype.kind in "iuU":
        out = np.array(arr)
    elif "str" in kinds:
        out = np.array(arr.tolist(), dtype=str)
    else:
        out = np.array(arr.tolist(), dtype=float if "float" in kinds else np.int64)
    check_unique(name, out.tolist())
    return out


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


def read_csv(path, **kwargs) -> pd.DataFrame:
    """Read a CSV file; a file that is not readable CSV text is a ``ValueError`` naming it.

    Raises
    ------
    ValueError
        For unparsable or empty contents, or bytes that are not text (the message starts
        with ``path:`` and names the file).
    OSError
        When the file cannot be opened (missing, a folder, no permission).
    """
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        reason = " ".join(str(err).split())
        raise ValueError(f"path: {path} is not a readable CSV file ({reason})") from None


def check_draw_request(draws, chains, var_names, variables: Sequence[str]) -> None:
    """Check an exact posterior's ``sample(draws, chains, var_names=...)`` request.

    ``draws`` and ``chains`` must be positive integers and ``var_names`` (if given) among
    ``variables``; raises ``ValueError`` naming the argument otherwise.
    """
    for name, v in (("draws", draws), ("chains", chains)):
        if isinstance(v, bool) or not (isinstance(v, numbers.Integral) and v >= 1):
            raise ValueError(f"{name}: must be a positive integer, got {v!r}")
    if var_names is not None:
        unknown = sorted(set(var_names) - set(variables))
        if unknown:
            raise ValueError(f"var_names: {unknown} are not drawn here (variables: "
                             f"{', '.join(variables)})")
