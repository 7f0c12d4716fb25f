"""Self-contained, reproducible HTML reports: :func:`pymc_hier.report`.

- :mod:`~pymc_hier.reports.build`: the report's sections;
- :mod:`~pymc_hier.reports.html`: dependency-free HTML building blocks.
"""
