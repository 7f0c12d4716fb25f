"""Exact reference posteriors (quadrature and i.i.d. samplers) to check MCMC against.

- :func:`decay_posterior` — marginal posterior of the decay rate by quadrature, with an
  exact i.i.d. sampler for (alpha, t0, N0).
- :func:`hierarchical_normal_posterior` — BDA section 5.4: tau on a grid, then exact
  draws of mu and theta.
"""

from importlib import import_module

_LAZY = {
    "decay_posterior": "pymc_hier.exact.decay",
    "DecayPosterior": "pymc_hier.exact.decay",
    "hierarchical_normal_posterior": "pymc_hier.exact.hierarchical_normal",
    "HierarchicalNormalPosterior": "pymc_hier.exact.hierarchical_normal",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pymc_hier.exact' has no attribute {name!r}") from None
    return getattr(import_module(module), name)


def __dir__():
    return __all__
