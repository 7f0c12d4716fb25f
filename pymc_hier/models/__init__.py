"""Former home of the model factories; kept as thin re-exports for one release.

The factories now live with their families (:mod:`pymc_hier.decay.family`,
:mod:`pymc_hier.normal.family`) and the spec in :mod:`pymc_hier.spec`. Import them from
:mod:`pymc_hier` instead.
"""

from pymc_hier.spec import ModelSpec, get_spec

__all__ = ["ModelSpec", "get_spec"]
