"""Random seeds: checked, recorded, and split into independent streams."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["child_seed", "resolve_seed"]


def resolve_seed(random_seed) -> tuple[int, str]:
    """Return ``(seed, source)``: the given int, or a fresh one when None (``"drawn"``).

    Raises
    ------
    TypeError
        When ``random_seed`` is neither an int nor None.
    ValueError
        When it is outside ``[0, 2**63)``.
    """
    if random_seed is None:
        return int(np.random.default_rng().integers(2**62)), "drawn"
    if isinstance(random_seed, bool) or not isinstance(random_seed, numbers.Integral):
        raise TypeError(f"random_seed: expected an int (recorded for provenance) or None, "
                        f"got {type(random_seed).__name__}")
    if not 0 <= random_seed < 2**63:
        raise ValueError(f"random_seed: must be in [0, 2**63), got {random_seed!r}")
    return int(random_seed), "given"


def child_seed(seed: int, index: int) -> int:
    """Return an int seed derived from ``seed`` for the ``index``-th independent stream."""
    child = np.random.SeedSequence(seed).spawn(index + 1)[index]
    return int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(2))
