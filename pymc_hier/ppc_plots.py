"""Former path of :mod:`pymc_hier.plots.ppc`; a thin re-export kept for one release."""

from pymc_hier.plots.ppc import plot_ppc_dist, plot_ppc_intervals, plot_ppc_pit, plot_ppc_tstat

__all__ = ["plot_ppc_dist", "plot_ppc_intervals", "plot_ppc_pit", "plot_ppc_tstat"]
