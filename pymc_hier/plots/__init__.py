"""Figures built on arviz-plots and matplotlib, axes labelled with the data's own names.

- :mod:`~pymc_hier.plots.ppc`: predictive checks (distributions, test statistics, PIT,
  per-unit intervals);
- :mod:`~pymc_hier.plots.sweep`: posterior quantities against a swept hyperparameter;
- :mod:`~pymc_hier.plots.hierarchy`: per-unit parameters (sorted forest plots with the
  truth, the shrinkage plot of partial pooling);
- :mod:`~pymc_hier.plots.diagnostics`: sampling diagnostics (the funnel plot of divergences,
  rank plots).
"""
