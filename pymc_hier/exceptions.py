"""Every warning and error class of pymc_hier, in one place.

Errors follow Python's conventions: a ``TypeError`` for an argument of the wrong type, a
``ValueError`` for a wrong value (each message names the argument or field first). The
classes here add what those cannot say.
"""

from __future__ import annotations

__all__ = [
    "CrossValidationWarning",
    "FamilyWarning",
    "InfiniteMomentWarning",
    "InvalidDrawsWarning",
    "PGMRenderError",
    "PowerScalingBlindWarning",
    "PriorDominatedWarning",
    "SamplingWarning",
]


class SamplingWarning(UserWarning):
    """The sampler's output fails a convergence or geometry check."""


class InvalidDrawsWarning(SamplingWarning):
    """Posterior draws that cannot be trusted.

    NaN or infinite values, or draws that drifted where the likelihood is flat (the mark
    of an improper posterior).
    """


class PriorDominatedWarning(UserWarning):
    """The data cannot inform ``tau`` (a single group): its posterior is prior-dominated."""


class PowerScalingBlindWarning(UserWarning):
    """Power-scaling cannot see some priors (constant log-density or not in the model)."""


class InfiniteMomentWarning(UserWarning):
    """A posterior mean or standard deviation does not exist (its tail): reported as ``inf``."""


class FamilyWarning(UserWarning):
    """A model family's step was skipped (unknown family, or a model changed since it was built)."""


class CrossValidationWarning(UserWarning):
    """Leave-out estimates to read with care.

    Unreliable ones were left in, or one model was compared with itself (two
    parametrisations of the same model predict alike).
    """


class PGMRenderError(RuntimeError):
    """A renderer is missing, cannot write a format, or failed on the DOT source."""
