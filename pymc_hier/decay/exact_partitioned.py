"""The decay family's exact posterior on data in blocks (:func:`pymc_hier.fit_partitioned`).

The posterior of ``alpha`` is tabulated as :func:`pymc_hier.decay.exact.decay_posterior`
does it (:func:`~pymc_hier.decay.exact.tabulate`: the same 200-widget subsample locates it,
the same Brent search and Chebyshev table), with every sum of the widgets' log likelihoods
made of per-block sums computed where the blocks live (compiled:
:mod:`pymc_hier.decay.block_kernels`) and added up in block order. Each block then draws its
widgets' ``(t0, N0)`` given every draw of ``alpha`` from their exact conditionals
(:func:`pymc_hier.decay.draws.draw_widgets`, the NumPy path's sampler) with its own
generator.

The data columns are those of :class:`~pymc_hier.DecayData` (``t_measured, n_measured,
sigma, day_start, day_end``, and ``t0`` for ``t0="known"``); ``n0_max`` comes from the
keyword or a constant ``n0_max`` column, ``time_unit`` from the keyword.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from pymc_hier.decay.data import DecayData
from pymc_hier.decay.exact import (
    METHODS,
    DecayPosterior,
    _log_likelihood,
    alpha_log_prior,
    subsample_index,
    tabulate,
)
from pymc_hier.decay.problem import check_consistent, default_priors_for_scale
from pymc_hier.priors import Prior, resolve_priors

__all__ = ["DECAY_PARTITIONED", "DecayPartitioned", "PartitionedDecayPosterior"]

_COMMON = ("t_measured", "n_measured", "sigma", "day_start", "day_end")


class PartitionedDecayPosterior(DecayPosterior):
    """The exact posterior of ``alpha`` from data in blocks, and the widgets' draws by block.

    Its densities, CDF, quantiles and moments are those of
    :class:`~pymc_hier.decay.exact.DecayPosterior` (the same table); the widgets are not
    held here, so :meth:`sample` draws ``alpha`` only and :func:`pymc_hier.fit_partitioned`
    draws the widgets block by block (:attr:`unit_draws`).

    Attributes
    ----------
    n_widgets : int
        Number of widgets.
    time_unit : str
        Unit of the times (``alpha`` is per this unit).
    """

    population = ("alpha",)

    def __init__(self, *, n_widgets, time_unit, log_n0_max, **kwargs):
        super().__init__(None, **kwargs)
        self.n_widgets, self.time_unit = int(n_widgets), str(time_unit)
        kind = "known" if self.t0 == "known" else "latent"
        self.units = ("N0",) if kind == "known" else ("t0", "N0")
        self.unit_draws = DecayUnitDraws(kind, float(log_n0_max))
        label = self.prior.label() if isinstance(self.prior, Prior) else "callable"
        self.attrs = {"method": "exact i.i.d. draws (pymc_hier.decay.exact_partitioned)",
                      "t0": self.t0, "prior_alpha": label, "tabulation": self.method,
                      "tabulation_error": self.table_error}

    def __repr__(self) -> str:
        return (f"PartitionedDecayPosterior({self.n_widgets} widgets, t0={self.t0!r}: mean "
                f"{self.mean():.6g}, sd {self.sd():.4g} per {self.time_unit})")

    @property
    def variables(self) -> tuple[str, ...]:
        """Variables of :meth:`sample` (``alpha``; the widgets are drawn by block)."""
        return self.population

    def sample_population(self, chains: int, draws: int, rng) -> dict:
        """I.i.d. draws of ``alpha``, ``(chains, draws)``, with its attrs."""
        alpha = np.exp(self._table.quantile(rng.uniform(size=chains * draws)))
        return {"alpha": (alpha.reshape(chains, draws),
                          {"units": f"1/{self.time_unit}", "long_name": "decay rate"})}

    def sample(self, draws: int = 1000, chains: int = 4, *, random_seed=None,
               var_names=None, widgets=False) -> xr.DataTree:
        """I.i.d. draws of ``alpha`` (the widgets: :func:`pymc_hier.fit_partitioned`).

        Parameters
        ----------
        draws, chains : int
            Shape of the result.
        random_seed : int or numpy.random.Generator, optional
            Seed.
        var_names : sequence of str, optional
            Only ``["alpha"]`` is accepted.
        widgets : bool
            Must be False.

        Returns
        -------
        xarray.DataTree
            A ``posterior`` group with ``alpha`` (chain, draw).
        """
        if widgets or (var_names is not None and set(var_names) - {"alpha"}):
            raise ValueError("var_names: the widgets of partitioned data are drawn by "
                             "pymc_hier.fit_partitioned, block by block")
        values, attrs = self.sample_population(int(chains), int(draws),
                                               np.random.default_rng(random_seed))["alpha"]
        post = xr.Dataset({"alpha": (("chain", "draw"), values, attrs)},
                          coords={"chain": np.arange(chains), "draw": np.arange(draws)},
                          attrs=self.attrs)
        return xr.DataTree.from_dict({"posterior": post})


class DecayUnitDraws:
    """Draws one block's ``(t0, N0)`` given rates (picklable; runs where the block lives)."""

    def __init__(self, kind: str, log_n0_max: float):
        self.kind, self.log_n0_max = kind, log_n0_max

    def __call__(self, block, population, rng, names) -> dict:
        """``{"t0": (D, B), "N0": (D, B)}`` for the rates ``population["alpha"]``."""
        from pymc_hier.decay.draws import draw_widgets

        days = ({"t0": block["t0"]} if self.kind == "known" else
                {"day_start": block["day_start"], "day_end": block["day_end"]})
        t_made, n0 = draw_widgets(block["n_measured"], block["sigma"], block["t_measured"],
                                  self.log_n0_max, population["alpha"], rng, **days)
        return {"t0": t_made, "N0": n0}


class DecayPartitioned:
    """The decay family's :class:`~pymc_hier.scale.partitioned.PartitionedExact`."""

    options = {"t0": ("latent", "known", "marginal"), "method": METHODS, "n0_max": (),
               "time_unit": ()}
    unit_attrs = {"t0": {"long_name": "manufacture time"}, "N0": {"long_name": "initial amount"}}

    def unit_dim(self, options) -> str:
        """Widgets."""
        return "widget"

    def columns(self, options) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Return the measurement columns, the days (and ``t0`` when known); ``n0_max``."""
        return _COMMON + (("t0",) if options["t0"] == "known" else ()), ("n0_max",)

    def posterior(self, blocks, *, priors=None, t0="latent", method="auto", n0_max=None,
                  time_unit=None) -> PartitionedDecayPosterior:
        """Check the blocks, tabulate the posterior of ``alpha`` from per-block sums.

        Raises
        ------
        ValueError
            Without ``n0_max`` (keyword or constant column), for invalid data in a block
            (naming it and its rows) or a prior on ``alpha`` that allows negative rates.
        """
        kind = "known" if t0 == "known" else "latent"
        n0_max = _n0_max(blocks, n0_max)
        time_unit = "s" if time_unit is None else str(time_unit)
        totals = blocks.map(_check_block, kind, n0_max, blocks.block_size)
        scale = float(np.sum([t[0] for t in totals]) / blocks.n)
        if priors is not None and not hasattr(priors, "keys"):
            raise TypeError(f"priors: expected a mapping of Prior by parameter name, got "
                            f"{type(priors).__name__}")
        prior = resolve_priors(priors, default_priors_for_scale(scale), factory="decay")["alpha"]
        log_prior = alpha_log_prior(prior)
        log_n0_max = float(np.log(n0_max))
        index = subsample_index(blocks.n)
        rows = blocks.rows(index)
        sub = _log_likelihood(_as_data(rows, kind, n0_max), kind)

        def log_likelihood(alpha):
            alpha = np.asarray(alpha, dtype=np.float64)
            sums = blocks.map(_block_sum, alpha.reshape(-1), log_n0_max, kind)
            return np.sum(np.stack(sums), axis=0).reshape(alpha.shape)

        edges, interpolant, error, how = tabulate(
            log_prior, log_likelihood, n=blocks.n, sub=sub, n_sub=len(index), scale=scale,
            method=method, smooth_prior=isinstance(prior, Prior))
        return PartitionedDecayPosterior(
            n_widgets=blocks.n, time_unit=time_unit, log_n0_max=log_n0_max, t0=t0,
            prior=prior, log_prior=log_prior, log_likelihood=log_likelihood, edges=edges,
            method=how, table_log_density=interpolant, table_error=error, backend="numba")


def _n0_max(blocks, given):
    if "n0_max" in blocks.columns:
        found = np.unique(np.concatenate(blocks.map(_unique, "n0_max")))
        if len(found) != 1 or (given is not None and found[0] != float(given)):
            raise ValueError(f"n0_max: the column holds {found.tolist()[:5]} but must hold one "
                             f"value{'' if given is None else f' (given {given!r})'}")
        return float(found[0])
    if given is None:
        raise ValueError("n0_max: give it as a keyword (or a constant n0_max column)")
    return float(given)


def _unique(block, index, column):
    return np.unique(block[column])


def _as_data(columns, kind, n0_max) -> DecayData:
    return DecayData(t_measured=columns["t_measured"], n_measured=columns["n_measured"],
                     sigma=columns["sigma"], day_start=columns["day_start"],
                     day_end=columns["day_end"], n0_max=n0_max,
                     t0=columns["t0"] if kind == "known" else None)


def _check_block(block, index, kind, n0_max, block_size):
    """Validate one block as :class:`~pymc_hier.DecayData`; return its time sums."""
    lo = index * block_size
    try:
        data = _as_data(block, kind, n0_max)
        check_consistent(data)
    except ValueError as err:
        hi = lo + len(block["sigma"]) - 1
        raise ValueError(f"block {index} (rows {lo}-{hi}): {err}") from None
    mid = 0.5 * (block["day_start"] + block["day_end"])
    return float(np.sum(block["t_measured"] - mid)), len(block["sigma"])


def _block_sum(block, index, alpha, log_n0_max, kind):
    """One block's summed log likelihood at each ``alpha`` (compiled)."""
    from pymc_hier.decay.block_kernels import block_sum

    return block_sum(block, log_n0_max, alpha, known=kind == "known")


#: The decay family's partitioned exact posterior (``DECAY.exact_partitioned``).
DECAY_PARTITIONED = DecayPartitioned()
