"""Hierarchical Bayesian models for PyMC.

The public names are imported lazily so that ``import pymc_hier`` stays cheap; PyMC and
PyTensor are loaded the first time a name that needs them is used.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pymc_hier")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

# public name -> module that defines it
_LAZY = {
    "DecayData": "pymc_hier.decay.data",
    "SchoolsData": "pymc_hier.normal.data",
    "EIGHT_SCHOOLS": "pymc_hier.normal.data",
    "simulate_decay": "pymc_hier.decay.simulate",
    "Prior": "pymc_hier.priors",
    "decay_model": "pymc_hier.decay.model",
    "hierarchical_normal_model": "pymc_hier.normal.model",
    "eight_schools_model": "pymc_hier.normal.model",
    "export_pgm": "pymc_hier.pgm",
    "fit": "pymc_hier.fitting",
    "save": "pymc_hier.persistence",
    "load": "pymc_hier.persistence",
    "sample_predictive": "pymc_hier.ppc",
    "ppc_table": "pymc_hier.ppc",
    "prior_sweep": "pymc_hier.sensitivity.sweep",
    "report": "pymc_hier.reports.build",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pymc_hier' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
