"""Former home of the model factories; kept as thin re-exports for one release.

The factories now live with their families: :mod:`pymc_hier.decay.model` and
:mod:`pymc_hier.normal.model`; the spec and the family contract in :mod:`pymc_hier.family`.
Import them from :mod:`pymc_hier` instead.
"""

from pymc_hier.family import FACTORIES, ModelSpec, get_spec, rebuild

__all__ = ["FACTORIES", "ModelSpec", "get_spec", "rebuild"]
