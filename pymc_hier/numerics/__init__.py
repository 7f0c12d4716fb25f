"""Shared numerics: quadrature, tabulated densities and draws (NumPy, SciPy, Numba).

Nothing here imports a model, PyMC or PyTensor:

- :mod:`~pymc_hier.numerics.quadrature`: adaptive piecewise Gauss-Legendre tables;
- :mod:`~pymc_hier.numerics.grid`: one-dimensional log-density grids, CDF inversion;
- :mod:`~pymc_hier.numerics.local_grid`: Chebyshev tabulation around a mode;
- :mod:`~pymc_hier.numerics.truncnorm`: Numba truncated normal draws.
"""
