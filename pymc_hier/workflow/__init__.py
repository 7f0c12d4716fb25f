"""The hierarchical-model workflow in one place.

- :mod:`~pymc_hier.workflow.pooling`: complete, partial and no pooling compared
  (:func:`pymc_hier.compare_pooling`);
- :mod:`~pymc_hier.workflow.cv`: leave-one-out and leave-one-group-out cross-validation
  (:func:`pymc_hier.cross_validate`, :func:`compare_cv`), with refits compiled once
  (:mod:`~pymc_hier.workflow.refit`);
- :mod:`~pymc_hier.workflow.predict`: predictions for new or existing units
  (:func:`pymc_hier.predict`);
- :mod:`~pymc_hier.workflow.funnel`: which groups suit the centred form
  (:func:`pymc_hier.parametrization_advice`).
"""
