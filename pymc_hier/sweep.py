"""Former path of :func:`pymc_hier.prior_sweep`; a thin re-export kept for one release."""

from pymc_hier.sensitivity.sweep import prior_sweep

__all__ = ["prior_sweep"]
