"""Moments of the hierarchical normal's exact posterior that may not exist, said so.

``tau``'s posterior decays like its prior times ``tau**-J`` (``tau**-(J-1)`` with a flat
prior on ``mu``); where that tail is too heavy for a moment, the moment of ``tau`` (and the
standard deviations of ``mu``, ``theta`` and ``theta_new``, which grow with ``tau``) is
infinite: reported as ``inf`` with an :class:`~pymc_hier.exceptions.InfiniteMomentWarning`
naming the tail.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from pymc_hier.exceptions import InfiniteMomentWarning
from pymc_hier.priors import Prior

__all__ = ["VARIABLES", "MomentTables", "label"]

#: The posterior variables, scalars first.
VARIABLES = ("mu", "tau", "theta_new", "theta")


def label(prior) -> str:
    """Short label of a prior (a :class:`~pymc_hier.Prior` or a callable)."""
    if isinstance(prior, Prior):
        return prior.label()
    return getattr(prior, "__name__", repr(prior))


class MomentTables:
    """Labelled means and sds, and the warnings of infinite moments.

    A mixin of :class:`~pymc_hier.HierarchicalNormalPosterior`.
    """

    def _warn_infinite(self, what: str, var: str, order: int) -> None:
        t = self.grid.t[-1] + np.array([50.0, 100.0])
        with np.errstate(divide="ignore", invalid="ignore"):
            g = self._log_density_t(t)
        slope = (g[1] - g[0]) / 50.0 - 1.0 if np.all(np.isfinite(g)) else np.nan
        prior_label = label(self.priors["tau"])
        cause = ("" if var == "tau" else
                 f" ({var} spreads with tau, whose second moment is infinite)")
        warnings.warn(
            f"{var}: the posterior {what} is infinite{cause}: tau's density falls off only "
            f"like tau^{slope:.3g} as tau -> infinity (its prior {prior_label} times the "
            f"likelihood's tau^-{self.data.n_groups - (self._prec0 == 0)}), too slowly for "
            f"a moment of order {order}; quantiles exist. Report quantiles, or use a prior "
            "on tau with a lighter tail",
            InfiniteMomentWarning, stacklevel=3)

    def means(self) -> xr.Dataset:
        """Posterior means of every variable (``inf`` where infinite)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InfiniteMomentWarning)
            values = {v: self.mean(var=v) for v in VARIABLES}
        self._warn_table(values, "means")
        return self._dataset(values, attrs={"statistic": "mean"})

    def sds(self) -> xr.Dataset:
        """Posterior standard deviations of every variable (``inf`` where infinite)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InfiniteMomentWarning)
            values = {v: self.sd(var=v) for v in VARIABLES}
        self._warn_table(values, "standard deviations")
        return self._dataset(values, attrs={"statistic": "sd"})

    def _warn_table(self, values: dict, what: str) -> None:
        infinite = [v for v, x in values.items() if not np.all(np.isfinite(x))]
        if infinite:
            warnings.warn(f"{', '.join(infinite)}: infinite posterior {what} (tau's tail is "
                          f"too heavy; see HierarchicalNormalPosterior.mean); reported as inf",
                          InfiniteMomentWarning, stacklevel=3)

    # -- labelled summaries ------------------------------------------------------------------
