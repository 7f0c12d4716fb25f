"""Self-contained, reproducible HTML reports: :func:`pymc_hier.report`.

One module per concern, bottom to top:

- :mod:`~pymc_hier.reports.numbers`, :mod:`~pymc_hier.reports.units`: numbers to the
  precision they deserve, in units a person reads;
- :mod:`~pymc_hier.reports.mathml`: the model's equations in MathML;
- :mod:`~pymc_hier.reports.html`: dependency-free HTML building blocks and the stylesheet;
- :mod:`~pymc_hier.reports.context`, :mod:`~pymc_hier.reports.structure`: what the report
  reads off the fit, the model and its family;
- the sections: :mod:`~pymc_hier.reports.estimates` (headline),
  :mod:`~pymc_hier.reports.model_section` (model and data),
  :mod:`~pymc_hier.reports.per_unit`, :mod:`~pymc_hier.reports.sampling` (diagnostics),
  :mod:`~pymc_hier.reports.checks`, :mod:`~pymc_hier.reports.sensitivity`,
  :mod:`~pymc_hier.reports.provenance`;
- :mod:`~pymc_hier.reports.build`: :func:`~pymc_hier.report` itself.
"""
