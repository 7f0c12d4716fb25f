"""Exact posteriors of data larger than one machine: :func:`fit_partitioned`.

The exact posteriors of the built-in families have one thing in common that lets them run
on data in partitions: the population parameters' posterior (``alpha``; ``mu`` and
``tau``) depends on the data only through sums over units of functions of those
parameters, tabulated on a grid, and given the population parameters the units are
independent. So:

1. the units are cut into blocks (:class:`~pymc_hier.scale.blocks.Blocks`) held by the
   workers of a :class:`distributed.Client` (or in this process);
2. every evaluation of the log likelihood on a grid of the population parameters sums
   per-block tables computed where the blocks live, and only those tables travel;
3. the population parameters are drawn i.i.d. from the tabulated posterior, here;
4. each block draws its units' conditionals given every population draw, with its own
   generator spawned from the seed by the block's index, and writes them to a zarr store
   (:class:`~pymc_hier.scale.store.DrawStore`) chunk by chunk, so that no machine ever
   holds more than a block's draws.

What is family-specific (which columns, which sums, which conditionals) comes from the
family record's ``exact_partitioned`` (:class:`PartitionedExact`); this module knows no
family.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

import numpy as np
import xarray as xr

from pymc_hier.scale.blocks import BLOCK_SIZE, Blocks, block_generator
from pymc_hier.scale.store import DrawStore
from pymc_hier.seeds import resolve_seed

__all__ = ["PartitionedExact", "PartitionedPosterior", "fit_partitioned"]

#: (draw, unit) pairs a block draws at once: sets the store's chunks along the draws.
DRAW_CELLS = 2**22
_DTYPES = ("float64", "float32")


@runtime_checkable
class PartitionedPosterior(Protocol):
    """A family's exact posterior computed from :class:`~pymc_hier.scale.blocks.Blocks`.

    ``population`` names the scalar variables drawn here; ``units`` the per-unit
    variables each block draws (``unit_draws(block, population, rng, names) -> dict`` of
    ``(draws, units)`` arrays, given flat population draws; picklable); ``attrs`` says how
    the posterior was computed.
    """

    population: tuple[str, ...]
    units: tuple[str, ...]
    attrs: dict

    def sample_population(self, chains: int, draws: int, rng) -> dict:
        """Return population draws by name, ``(chains, draws)`` (or ``(values, attrs)``)."""

    def unit_draws(self, block, population, rng, names) -> dict:
        """One block's per-unit draws by name, ``(draws, units in block)``."""


@runtime_checkable
class PartitionedExact(Protocol):
    """What a family offers for :func:`fit_partitioned` (its record's ``exact_partitioned``).

    ``options`` are its keyword options and their accepted values (first: default; empty:
    any value); ``unit_dim(options)`` names the units; ``columns(options)`` gives the
    required and optional numeric columns; ``posterior(blocks, priors=..., **options)``
    returns a :class:`PartitionedPosterior`; ``unit_attrs`` the attrs of the per-unit
    variables.
    """

    options: Mapping[str, tuple]
    unit_attrs: Mapping[str, dict]

    def unit_dim(self, options: Mapping) -> str:
        """Name of the units' dimension."""

    def columns(self, options: Mapping) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Return the required and the optional numeric columns."""

    def posterior(self, blocks: Blocks, *, priors=None, **options) -> PartitionedPosterior:
        """Return the exact posterior of the blocks' data."""


def fit_partitioned(source, family, *, store=None, draws: int = 1000, chains: int = 4,
                    random_seed: int | None = None, priors=None, client=None,
                    block_size: int = BLOCK_SIZE, var_names=None, dtype: str = "float64",
                    **options) -> xr.DataTree:
    """Draw i.i.d. from a family's exact posterior, with the data in partitions.

    For data too large for one machine's memory, or to spread the work over a Dask
    cluster: the data are read where they are (Parquet or CSV partitions, a Dask
    DataFrame), cut into blocks of ``block_size`` units, and every computation that
    grows with the units runs block by block on the cluster's workers. The population
    parameters' posterior is tabulated exactly as ``fit(sampler="exact")`` does it, from
    sums of per-block tables; the units' draws are written block by block to a zarr store.

    Parameters
    ----------
    source : pandas.DataFrame, dask.dataframe.DataFrame, str or path
        One row per unit with the family's columns (for the decay family
        ``t_measured, n_measured, sigma, day_start, day_end`` or ``t0``; for the
        hierarchical normal ``y, sigma``) and optionally a label column named like the
        unit dimension (``widget``; the group dim); a path to Parquet files or a folder,
        or a glob of CSV files (:func:`~pymc_hier.scale.blocks.read_partitions`).
    family : ModelFamily or str
        The model family (or its registered name), which must offer
        ``exact_partitioned`` (the built-in ``decay`` and ``hierarchical_normal`` do).
    store : str or path, optional
        zarr store for the draws (overwritten). Without one the draws are gathered into
        memory here (small data, or to compare with the stored result).
    draws, chains : int
        Shape of the draws (``chains * draws`` independent draws).
    random_seed : int, optional
        Seed (recorded; a fresh one is drawn and recorded when None). The population
        draws use stream 0 of it, block ``i`` its own stream ``(1, i)``: the result
        depends on the seed, the data and ``block_size``, not on the files' partitions,
        the cluster or the number of workers.
    priors : mapping or str, optional
        As for the family's model factory.
    client : distributed.Client, optional
        Run on this cluster; without one, everything runs in this process (the
        "in-memory path", with the same blocks and the same numbers).
    block_size : int
        Units per block: the unit of work, of the random streams, and of the store's
        chunks along the units.
    var_names : sequence of str, optional
        Variables to draw (default all); leaving every per-unit variable out draws only
        the population parameters (then nothing is written to ``store``).
    dtype : {"float64", "float32"}
        Storage of the per-unit draws.
    **options
        The family's partitioned options (decay: ``t0``, ``method``, ``n0_max``,
        ``time_unit``; hierarchical normal: ``grid_size``).

    Returns
    -------
    xarray.DataTree
        A ``posterior`` group (lazily read from ``store`` when given) with the population
        draws ``(chain, draw)`` and the per-unit draws ``(chain, draw, unit)``; attrs say
        how it was computed (family, options, seed, blocks, workers, tabulation).

    Raises
    ------
    TypeError
        For a family that is not a ModelFamily or a name, or a bad count.
    ValueError
        For a family without ``exact_partitioned``, an unknown option or variable, a
        missing column, or data the model cannot produce (naming the block and row).

    Examples
    --------
    >>> import pymc_hier as ph
    >>> data = ph.simulate_decay(seed=1, n_widgets=50, time_unit="day")
    >>> idata = ph.fit_partitioned(data.to_dataframe(), "decay", draws=100, chains=2,
    ...                            random_seed=1, n0_max=data.n0_max, time_unit="day",
    ...                            block_size=16)
    >>> idata["posterior"]["N0"].dims
    ('chain', 'draw', 'widget')
    """
    family = _family(family)
    adapter = family.exact_partitioned
    if adapter is None:
        raise ValueError(f"family: the {family.name!r} family offers no partitioned exact "
                         "posterior (exact_partitioned)")
    for name, value in (("draws", draws), ("chains", chains)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name}: expected a positive integer, got {value!r}")
        if value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    if dtype not in _DTYPES:
        raise ValueError(f"dtype: must be one of {', '.join(map(repr, _DTYPES))}, "
                         f"got {dtype!r}")
    chosen = _options(adapter, options, family.name)
    seed, seed_source = resolve_seed(random_seed)
    unit_dim = adapter.unit_dim(chosen)
    required, optional = adapter.columns(chosen)
    blocks = Blocks.from_source(source, required, optional=optional, label=unit_dim,
                                block_size=block_size, client=client)
    posterior = adapter.posterior(blocks, priors=priors, **chosen)
    names = _names(posterior, var_names)
    drawn = posterior.sample_population(int(chains), int(draws), block_generator(seed, 0, 0))
    given = {k: np.asarray(v[0] if isinstance(v, tuple) else v) for k, v in drawn.items()}
    population = {k: v for k, v in drawn.items() if k in names}
    units = [u for u in posterior.units if u in names]
    draw_chunk = max(1, min(int(draws), DRAW_CELLS // blocks.block_size))
    job = {"seed": seed, "chains": int(chains), "draws": int(draws), "draw_chunk": draw_chunk,
           "names": units, "dtype": dtype, "block_size": blocks.block_size}
    labels = blocks.labels()
    attrs = {"sampler": "exact i.i.d., partitioned (pymc_hier.fit_partitioned)",
             "family": family.name, "options": json.dumps(chosen, sort_keys=True, default=str),
             "random_seed": seed, "random_seed_source": seed_source,
             **{k: v for k, v in blocks.describe().items()},
             **posterior.attrs, "created_at": datetime.now(UTC).isoformat()}
    unit_meta = {u: (dtype, dict(adapter.unit_attrs.get(u, {}))) for u in units}
    if store is not None:
        out = DrawStore(store, unit_dim=unit_dim, labels=labels, chains=chains, draws=draws,
                        block_size=blocks.block_size, draw_chunk=draw_chunk)
        out.create(population, unit_meta if units else {}, attrs)
        if units:
            blocks.map(_draw_block, posterior.unit_draws, given, job, out.writer())
        return out.open()
    post = {}
    for name, value in population.items():
        values, var_attrs = value if isinstance(value, tuple) else (value, {})
        post[name] = (("chain", "draw"), np.asarray(values), var_attrs)
    if units:
        parts = blocks.map(_draw_block, posterior.unit_draws, given, job, None)
        for u in units:
            post[u] = (("chain", "draw", unit_dim),
                       np.concatenate([p[u] for p in parts], axis=-1), unit_meta[u][1])
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), unit_dim: labels}
    ds = xr.Dataset(post, coords=coords if units else {k: coords[k] for k in ("chain", "draw")},
                    attrs=attrs)
    return xr.DataTree.from_dict({"posterior": ds})


def _draw_block(block, index, unit_draws, population, job, write):
    """Draw one block's units for every population draw; write or return them.

    Runs where the block lives. Draws go in sub-blocks of ``draw_chunk`` per chain, in
    order, from the block's own generator.
    """
    rng = block_generator(job["seed"], 1, index)
    chains, draws, step, names = job["chains"], job["draws"], job["draw_chunk"], job["names"]
    width = len(next(iter(block.values())))
    lo = index * job["block_size"]
    kept = None if write is not None else {
        n: np.empty((chains, draws, width), dtype=job["dtype"]) for n in names}
    for c in range(chains):
        for d0 in range(0, draws, step):
            sub = {k: v[c, d0:d0 + step] for k, v in population.items()}
            values = unit_draws(block, sub, rng, names)
            for n in names:
                if write is None:
                    kept[n][c, d0:d0 + step] = values[n]
                else:
                    write(n, c, d0, lo, values[n].astype(job["dtype"], copy=False))
    return kept


def _names(posterior, var_names):
    known = tuple(posterior.population) + tuple(posterior.units)
    if var_names is None:
        return known
    unknown = sorted(set(var_names) - set(known))
    if unknown:
        raise ValueError(f"var_names: {unknown} are not drawn here (variables: "
                         f"{', '.join(known)})")
    return tuple(v for v in known if v in var_names)


def _options(adapter, options, name) -> dict:
    unknown = sorted(set(options) - set(adapter.options))
    if unknown:
        raise ValueError(f"options: {name!r} takes no option(s) {unknown} here (options: "
                         f"{', '.join(adapter.options)})")
    out = {}
    for key, accepted in adapter.options.items():
        value = options.get(key, accepted[0] if accepted else None)
        if accepted and value not in accepted:
            raise ValueError(f"{key}: must be one of {', '.join(map(repr, accepted))}, "
                             f"got {value!r}")
        out[key] = value
    return out


def _family(family):
    from pymc_hier.family import ModelFamily

    if isinstance(family, ModelFamily):
        return family
    if isinstance(family, str):
        from pymc_hier.registry import get_family

        return get_family(family)
    raise TypeError(f"family: expected a ModelFamily or its name, got {type(family).__name__}")
