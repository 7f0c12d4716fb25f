"""Former path of :func:`pymc_hier.decay_model`; a thin re-export kept for one release."""

from pymc_hier.decay.family import decay_model
from pymc_hier.decay.problem import default_priors, time_scale

__all__ = ["decay_model", "default_priors", "time_scale"]
