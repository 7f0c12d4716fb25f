"""Small public data sets shipped with pymc_hier: :func:`load_dataset`.

=========  ==========================================================================
name       what
=========  ==========================================================================
``rats``   Tumour incidence in 71 groups of female F344 rats (Tarone 1982), the
           hierarchical binomial example of Gelman et al., *Bayesian Data Analysis*,
           3rd ed., section 5.1 and Table 5.1 (p. 102): ``experiment`` (1-71), ``y``
           (rats with a tumour) and ``n`` (rats in the experiment). Rows 1-70 are the
           historical control groups, row 71 the current experiment (4 of 14). The same
           pairs (in another order) are at
           http://www.stat.columbia.edu/~gelman/book/data/rats.asc.
=========  ==========================================================================
"""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

__all__ = ["DATASETS", "load_dataset"]

#: Names accepted by :func:`load_dataset`.
DATASETS = ("rats",)


def load_dataset(name: str) -> pd.DataFrame:
    """Return a shipped data set as a :class:`pandas.DataFrame`.

    Parameters
    ----------
    name : {"rats"}
        The data set (see the module docstring for its source and columns).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValueError
        For an unknown name.

    Examples
    --------
    >>> from pymc_hier import load_dataset
    >>> rats = load_dataset("rats")
    >>> len(rats), int(rats["y"].sum()), int(rats["n"].sum())
    (71, 267, 1739)
    """
    if name not in DATASETS:
        raise ValueError(f"name: unknown data set {name!r} (known: {', '.join(DATASETS)})")
    with files(__name__).joinpath(f"{name}.csv").open() as f:
        return pd.read_csv(f, comment="#")
