"""Model factories: plain functions returning ``pm.Model``.

Every factory follows one contract (checked by ``tests/test_factory_contract.py``)::

    factory(data, *, priors=None, pgm=None, **options) -> pm.Model

- ``data`` is a :class:`~pymc_hier.DecayData` or :class:`~pymc_hier.SchoolsData`;
- ``priors`` maps parameter names to :class:`~pymc_hier.Prior` (unknown names raise);
- ``pgm`` is a path prefix to write the model's PGM to, or ``None`` to skip;
- options are keyword-only, validated, and unknown values raise ``ValueError``;
- the returned model has named dims/coords and carries a :class:`ModelSpec`
  (see :func:`get_spec`) recording factory, options, priors and data.
"""

from pymc_hier.models._spec import FACTORIES, ModelSpec, get_spec, rebuild

__all__ = ["FACTORIES", "ModelSpec", "get_spec", "rebuild"]
