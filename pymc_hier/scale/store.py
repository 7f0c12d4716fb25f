"""Per-unit draws in a zarr store, written block by block: :class:`DrawStore`.

Layout: a ``posterior`` group readable by :func:`xarray.open_datatree` (``engine="zarr"``)
holding the population draws (``(chain, draw)``, written at once) and the per-unit draws
(``(chain, draw, unit)``, chunks of ``(1, draw_chunk, block_size)``), written by the block
that owns the units, each write covering whole chunks, so that blocks can write in
parallel from any number of processes or machines without locks (the store must be
reachable from all of them: a shared file system, or an object store URL zarr can open).
"""

from __future__ import annotations

import os

import numpy as np
import xarray as xr

__all__ = ["DrawStore"]

_ZARR = {"consolidated": False}


class DrawStore:
    """Where the per-unit draws of a partitioned fit go.

    Parameters
    ----------
    path : str or path
        The zarr store (a folder, or a URL zarr opens); overwritten.
    unit_dim : str
        Name of the unit dimension (``"widget"``).
    labels : numpy.ndarray
        The units' labels, in row order.
    chains, draws : int
        Shape of the draws.
    block_size, draw_chunk : int
        Chunk shape along the units and the draws.
    """

    def __init__(self, path, *, unit_dim, labels, chains, draws, block_size, draw_chunk):
        self.path = os.fspath(path)
        self.unit_dim, self.labels = unit_dim, np.asarray(labels)
        self.chains, self.draws = int(chains), int(draws)
        self.block_size, self.draw_chunk = int(block_size), int(draw_chunk)

    def create(self, population: dict, units: dict, attrs: dict) -> None:
        """Write the population draws and the metadata of the per-unit arrays.

        ``population`` maps names to ``(chains, draws)`` arrays (or ``(values, attrs)``);
        ``units`` maps names to ``(dtype, attrs)``.
        """
        import dask.array as da

        shape = (self.chains, self.draws, self.labels.size)
        chunks = (1, self.draw_chunk, self.block_size)
        data_vars = {}
        for name, value in population.items():
            values, var_attrs = value if isinstance(value, tuple) else (value, {})
            data_vars[name] = (("chain", "draw"), np.asarray(values), var_attrs)
        for name, (dtype, var_attrs) in units.items():
            data_vars[name] = (("chain", "draw", self.unit_dim),
                               da.zeros(shape, chunks=chunks, dtype=dtype), var_attrs)
        coords = {"chain": np.arange(self.chains), "draw": np.arange(self.draws),
                  self.unit_dim: self.labels}
        ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
        ds.to_zarr(self.path, group="posterior", mode="w", compute=False, **_ZARR)

    def writer(self):
        """Return a picklable ``write(name, chain, draw0, unit0, values)`` for the blocks."""
        return _Writer(self.path)

    def open(self) -> xr.DataTree:
        """Open the store as a lazily loaded :class:`xarray.DataTree`."""
        return xr.open_datatree(self.path, engine="zarr", chunks={}, **_ZARR)


class _Writer:
    """Writes one block's draws into the store's arrays (opened on first use)."""

    def __init__(self, path):
        self.path = path
        self._arrays = {}

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.path, self._arrays = state["path"], {}

    def __call__(self, name, chain, draw0, unit0, values):
        import zarr

        if name not in self._arrays:
            self._arrays[name] = zarr.open_array(self.path, path=f"posterior/{name}",
                                                 mode="r+")
        array = self._arrays[name]
        values = np.asarray(values, dtype=array.dtype)
        array[chain, draw0:draw0 + values.shape[0], unit0:unit0 + values.shape[1]] = values
