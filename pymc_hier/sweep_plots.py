"""Former path of :mod:`pymc_hier.plots.sweep`; a thin re-export kept for one release."""

from pymc_hier.plots.sweep import plot_sweep

__all__ = ["plot_sweep"]
