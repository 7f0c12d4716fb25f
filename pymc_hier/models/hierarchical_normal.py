"""Former path of the hierarchical normal factories; thin re-exports kept for one release."""

from pymc_hier.normal.family import eight_schools_model, hierarchical_normal_model
from pymc_hier.normal.problem import PARAMETRIZATIONS, PRIOR_PRESETS

__all__ = ["PARAMETRIZATIONS", "PRIOR_PRESETS", "eight_schools_model",
           "hierarchical_normal_model"]
