"""Exact reference posteriors (quadrature and i.i.d. samplers) to check MCMC against.

- :func:`decay_posterior` — marginal posterior of the decay rate by quadrature, with an
  exact i.i.d. sampler for (alpha, t0, N0) (defined in :mod:`pymc_hier.decay.exact`);
- :func:`hierarchical_normal_posterior` — BDA section 5.4: tau on a grid, then exact
  draws of mu and theta (defined in :mod:`pymc_hier.normal.exact`).

Both are also top-level names of :mod:`pymc_hier`.
"""

from importlib import import_module

_LAZY = {
    "decay_posterior": "pymc_hier.decay.exact",
    "DecayPosterior": "pymc_hier.decay.exact",
    "hierarchical_normal_posterior": "pymc_hier.normal.exact",
    "HierarchicalNormalPosterior": "pymc_hier.normal.exact",
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
