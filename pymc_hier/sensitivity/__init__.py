"""How conclusions move when priors move: sweeps, reweighting and power-scaling.

- :mod:`~pymc_hier.sensitivity.sweep`: :func:`~pymc_hier.prior_sweep`, posterior summaries
  over a range of one hyperparameter (PSIS reweighting where reliable, refits elsewhere);
- :mod:`~pymc_hier.sensitivity.hyper`: prior parameters of any PyMC model found in its
  graph and held as ``pm.Data`` (graph rewriting, as :func:`pymc.do` does);
- :mod:`~pymc_hier.sensitivity.base`: what a sweep starts from (a model, a fit and its model);
- :mod:`~pymc_hier.sensitivity.settings`: how ``param`` and ``values`` name the settings;
- :mod:`~pymc_hier.sensitivity.checks`: every setting checked before anything is fitted;
- :mod:`~pymc_hier.sensitivity.runs`: refits through executors, one compiled model;
- :mod:`~pymc_hier.sensitivity.reweight`: PSIS weights and the joint log density;
- :mod:`~pymc_hier.sensitivity.power`: power-scaling sensitivity of the population priors
  (ArviZ's psense, with Pareto k-hat);
- :mod:`~pymc_hier.sensitivity.sbc`: :func:`~pymc_hier.sbc`, simulation-based calibration
  (the replicate fits in :mod:`~pymc_hier.sensitivity.sbc_fits`).
"""

from importlib import import_module

_LAZY = {
    "prior_sweep": "pymc_hier.sensitivity.sweep",
    "prior_sensitivity": "pymc_hier.sensitivity.power",
    "sbc": "pymc_hier.sensitivity.sbc",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pymc_hier.sensitivity' has no attribute {name!r}") from None
    return getattr(import_module(module), name)


def __dir__():
    return __all__
