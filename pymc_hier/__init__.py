"""Hierarchical Bayesian models for PyMC.

Every public name is listed here, once, with the module that defines it. The names are
imported lazily so that ``import pymc_hier`` stays cheap; PyMC and PyTensor are loaded the
first time a name that needs them is used.
"""

from importlib import import_module

import pymc_hier._sampler_exit  # noqa: F401 - waits for nutpie's threads at exit
from pymc_hier._version import pymc_hier_version as _version

__version__ = _version()

# public name -> module that defines it
_LAZY = {
    # data
    "DecayData": "pymc_hier.decay.data",
    "SchoolsData": "pymc_hier.normal.data",
    "EIGHT_SCHOOLS": "pymc_hier.normal.data",
    "simulate_decay": "pymc_hier.decay.simulate",
    "LineData": "pymc_hier.line.data",
    "simulate_line": "pymc_hier.line.data",
    "load_dataset": "pymc_hier.datasets",
    "Prior": "pymc_hier.priors",
    # model families and their factories
    "ModelFamily": "pymc_hier.family",
    "Derived": "pymc_hier.family",
    "Pooling": "pymc_hier.family",
    "ModelSpec": "pymc_hier.spec",
    "get_spec": "pymc_hier.spec",
    "register_family": "pymc_hier.registry",
    "unregister_family": "pymc_hier.registry",
    "get_family": "pymc_hier.registry",
    "families": "pymc_hier.registry",
    "model_from_fit": "pymc_hier.registry",
    "DECAY": "pymc_hier.decay.family",
    "HIERARCHICAL_NORMAL": "pymc_hier.normal.family",
    "EIGHT_SCHOOLS_FAMILY": "pymc_hier.normal.family",
    "STRAIGHT_LINE": "pymc_hier.line.family",
    "straight_line_model": "pymc_hier.line.family",
    "decay_model": "pymc_hier.decay.family",
    "hierarchical_normal_model": "pymc_hier.normal.family",
    "eight_schools_model": "pymc_hier.normal.family",
    "describe_model": "pymc_hier.describe",
    "GenerativeModel": "pymc_hier.generative",
    "Node": "pymc_hier.generative",
    "Symbol": "pymc_hier.generative",
    "pgm_digraph": "pymc_hier.pgm.export",
    # exact posteriors
    "decay_posterior": "pymc_hier.decay.exact",
    "DecayPosterior": "pymc_hier.decay.exact",
    "hierarchical_normal_posterior": "pymc_hier.normal.exact",
    "HierarchicalNormalPosterior": "pymc_hier.normal.exact",
    # beyond one machine
    "fit_partitioned": "pymc_hier.scale.partitioned",
    "read_partitions": "pymc_hier.scale.blocks",
    # the workflow
    "export_pgm": "pymc_hier.pgm.export",
    "fit": "pymc_hier.fitting",
    "provenance": "pymc_hier.records",
    "save": "pymc_hier.persistence",
    "load": "pymc_hier.persistence",
    "sample_predictive": "pymc_hier.ppc",
    "sample_prior": "pymc_hier.ppc",
    "ppc_table": "pymc_hier.ppc",
    "pit": "pymc_hier.ppc",
    "prior_sweep": "pymc_hier.sensitivity.sweep",
    "prior_sensitivity": "pymc_hier.sensitivity.power",
    "sbc": "pymc_hier.sensitivity.sbc",
    "report": "pymc_hier.reports.build",
    "compare_pooling": "pymc_hier.workflow.pooling",
    "cross_validate": "pymc_hier.workflow.cv",
    "compare_cv": "pymc_hier.workflow.cv",
    "predict": "pymc_hier.workflow.predict",
    "parametrization_advice": "pymc_hier.workflow.funnel",
    "plot_forest": "pymc_hier.plots.hierarchy",
    "plot_shrinkage": "pymc_hier.plots.hierarchy",
    "plot_funnel": "pymc_hier.plots.diagnostics",
    # warnings and errors
    "SamplingWarning": "pymc_hier.exceptions",
    "InvalidDrawsWarning": "pymc_hier.exceptions",
    "PriorDominatedWarning": "pymc_hier.exceptions",
    "PowerScalingBlindWarning": "pymc_hier.exceptions",
    "InfiniteMomentWarning": "pymc_hier.exceptions",
    "FamilyWarning": "pymc_hier.exceptions",
    "CrossValidationWarning": "pymc_hier.exceptions",
    "PGMRenderError": "pymc_hier.exceptions",
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
