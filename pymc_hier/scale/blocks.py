"""A table of units in fixed-size row blocks, in memory or on a Dask cluster: :class:`Blocks`.

Whatever way the data arrive (one in-memory DataFrame, a Dask DataFrame, Parquet or CSV
files in partitions of any sizes), the rows are cut into blocks of ``block_size`` rows,
``0 .. n-1`` in order: block ``i`` holds rows ``i * block_size`` up to the next block. The
blocks, not the files' partitions, are the unit of work and of randomness: a computation
maps a function over the blocks in order and gets one result per block, and the random
numbers of block ``i`` come from its own generator (:func:`block_generator`), spawned from
the seed by the block's index. Hence the same data, seed and block size give the same
numbers to the last bit in memory or on a cluster, whatever the files' partitions or the
number of workers.

On a cluster (a :class:`distributed.Client`) each block is built once on a worker from the
Dask DataFrame (:meth:`dask.dataframe.DataFrame.to_dask_array` rechunked to the blocks) and
kept there; a map sends the function to the blocks and gathers only the (small) results.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = ["BLOCK_SIZE", "Blocks", "block_generator", "read_partitions"]

#: Default rows per block.
BLOCK_SIZE = 32768


def block_generator(seed: int, stream: int, index: int) -> np.random.Generator:
    """Return the generator of block ``index`` in stream ``stream`` of ``seed``.

    ``SeedSequence(seed, spawn_key=(stream, index))``: independent of every other block's
    and stream's, and found from its index alone (no sequential spawning).
    """
    return np.random.default_rng(np.random.SeedSequence(int(seed),
                                                        spawn_key=(int(stream), int(index))))


def read_partitions(path, *, columns: Sequence[str] | None = None):
    """Read Parquet or CSV files as a Dask DataFrame, one partition per file.

    Parameters
    ----------
    path : str or path
        A folder of Parquet files (``*.parquet`` inside it, at any depth), a Parquet file,
        or CSV files (a ``.csv`` file or a glob such as ``"widgets/part-*.csv"``; a glob may
        name Parquet files too). Files are read in sorted order.
    columns : sequence of str, optional
        Only these columns.

    Returns
    -------
    dask.dataframe.DataFrame

    Raises
    ------
    ValueError
        When nothing matches ``path`` or a file is neither Parquet nor CSV.
    """
    import dask.dataframe as dd

    text = os.fspath(path)
    if os.path.isdir(text):
        files = sorted(glob.glob(os.path.join(text, "**", "*.parquet"), recursive=True))
    elif any(c in text for c in "*?["):
        files = sorted(glob.glob(text))
    else:
        files = [text] if os.path.exists(text) else []
    if not files:
        raise ValueError(f"source: no files match {text!r}")
    kinds = {_kind(f) for f in files}
    if None in kinds or len(kinds) > 1:
        raise ValueError(f"source: {text!r} must name Parquet (.parquet) or CSV (.csv) files, "
                         "not both")
    reader = _read_parquet if kinds == {"parquet"} else _read_csv
    cols = None if columns is None else list(columns)
    return dd.from_map(reader, files, columns=cols)


def _kind(name: str):
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".csv.bz2")):
        return "csv"
    return None


def _read_parquet(name, columns=None) -> pd.DataFrame:
    return pd.read_parquet(name, columns=columns)


def _read_csv(name, columns=None) -> pd.DataFrame:
    return pd.read_csv(name, usecols=columns)


class Blocks:
    """Numeric columns of ``n`` units in blocks of ``block_size`` rows.

    Build it with :meth:`from_source`. ``map`` runs a function on every block, in order;
    ``rows`` gathers given rows; ``labels`` gathers the units' labels.

    Attributes
    ----------
    columns : tuple of str
        The numeric columns (float64) each block holds.
    n : int
        Number of rows.
    block_size : int
        Rows per block (the last one may be shorter).
    client : distributed.Client or None
        Where the blocks live (None: in this process).
    source : str
        What the data were read from, in words.
    """

    def __init__(self, columns, n, block_size, client, source, *, local=None, futures=None,
                 label_futures=None, local_labels=None):
        self.columns = tuple(columns)
        self.n, self.block_size, self.client, self.source = int(n), int(block_size), client, source
        self._local, self._futures = local, futures
        self._label_futures, self._local_labels = label_futures, local_labels

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def from_source(cls, source, columns: Sequence[str], *, optional: Sequence[str] = (),
                    label: str | None = None, block_size: int = BLOCK_SIZE, client=None):
        """Cut ``source`` into blocks of its ``columns`` (and ``optional`` ones present).

        Parameters
        ----------
        source : pandas.DataFrame, dask.dataframe.DataFrame, str or path
            The units, one per row. A path is read by :func:`read_partitions`.
        columns : sequence of str
            Required numeric columns.
        optional : sequence of str
            Numeric columns taken when present.
        label : str, optional
            Column (or index name) holding the units' labels; without one, labels are the
            row numbers.
        block_size : int
            Rows per block.
        client : distributed.Client, optional
            Compute on this cluster; a Dask or file source needs one (or runs on Dask's
            default scheduler in this process when None).

        Returns
        -------
        Blocks

        Raises
        ------
        TypeError
            For a source of another type.
        ValueError
            For a missing column, no rows, or a bad ``block_size``.
        """
        if isinstance(block_size, bool) or not isinstance(block_size, int | np.integer) \
                or block_size < 1:
            raise ValueError(f"block_size: expected a positive integer, got {block_size!r}")
        described = type(source).__name__
        if isinstance(source, str | os.PathLike):
            described = f"files {os.fspath(source)!r}"
            source = read_partitions(source)
        if isinstance(source, pd.DataFrame):
            return cls._from_pandas(source, columns, optional, label, int(block_size), client)
        if _is_dask_frame(source):
            return cls._from_dask(source, columns, optional, label, int(block_size), client,
                                  described)
        raise TypeError(f"source: expected a pandas or Dask DataFrame, or a path to Parquet "
                        f"or CSV files, got {type(source).__name__}")

    @staticmethod
    def _pick(names, index_name, columns, optional, label):
        missing = [c for c in columns if c not in names]
        if missing:
            raise ValueError(f"source: missing column(s) {missing} (needs {list(columns)}, "
                             f"has {list(names)})")
        cols = list(columns) + [c for c in optional if c in names]
        where = "column" if label in names else ("index" if label and label == index_name
                                                 else None)
        return cols, where

    @classmethod
    def _from_pandas(cls, df, columns, optional, label, block_size, client):
        cols, where = cls._pick(df.columns, df.index.name, columns, optional, label)
        if len(df) == 0:
            raise ValueError("source: no rows")
        values = {c: np.ascontiguousarray(pd.to_numeric(df[c]).to_numpy(dtype=np.float64))
                  for c in cols}
        labels = (df[label].to_numpy() if where == "column" else
                  df.index.to_numpy() if where == "index" else None)
        local = [{c: v[lo:lo + block_size] for c, v in values.items()}
                 for lo in range(0, len(df), block_size)]
        return cls(cols, len(df), block_size, None, "pandas DataFrame", local=local,
                   local_labels=labels)

    @classmethod
    def _from_dask(cls, frame, columns, optional, label, block_size, client, described):
        import dask

        cols, where = cls._pick(frame.columns, frame.index.name, columns, optional, label)
        # (lengths computed on the array: the optimiser may merge the frame's partitions)
        numeric = frame[cols].astype("float64").to_dask_array().compute_chunk_sizes()
        n = int(numeric.shape[0])
        if n == 0:
            raise ValueError("source: no rows")
        numeric = numeric.rechunk((block_size, len(cols)))
        parts = [dask.delayed(_as_columns)(d, cols) for d in numeric.to_delayed().ravel()]
        label_parts = None
        if where is not None:
            series = frame[label] if where == "column" else frame.index.to_series()
            if not pd.api.types.is_numeric_dtype(series.dtype):  # strings: as objects
                series = series.astype(object)
            arr = series.to_dask_array().compute_chunk_sizes().rechunk(block_size)
            label_parts = list(arr.to_delayed().ravel())
        if client is None:  # Dask's default scheduler, here
            local = list(dask.compute(*parts))
            labels = None if label_parts is None else np.concatenate(dask.compute(*label_parts))
            return cls(cols, n, block_size, None, described, local=local, local_labels=labels)
        futures = _spread(client, client.compute(parts))
        label_futures = None if label_parts is None else client.compute(label_parts)
        return cls(cols, n, block_size, client, described, futures=futures,
                   label_futures=label_futures)

    # -- using ------------------------------------------------------------------------------
    @property
    def n_blocks(self) -> int:
        """Number of blocks."""
        return -(-self.n // self.block_size)

    def bounds(self, index: int) -> tuple[int, int]:
        """First and one-past-last row of block ``index``."""
        lo = index * self.block_size
        return lo, min(lo + self.block_size, self.n)

    def map(self, fn: Callable, *args, **kwargs) -> list:
        """``[fn(block, index, *args, **kwargs) for each block]``, in block order.

        ``block`` is a dict of float64 arrays by column. On a cluster the calls run on the
        workers holding the blocks (arguments are sent once to every worker) and only
        their results come back.
        """
        if self.client is None:
            return [fn(block, i, *args, **kwargs) for i, block in enumerate(self._local)]
        sent = [self.client.scatter(a, broadcast=True) if _is_large(a) else a for a in args]
        futures = [self.client.submit(fn, block, i, *sent, pure=False, **kwargs)
                   for i, block in enumerate(self._futures)]
        return self.client.gather(futures)

    def rows(self, index) -> dict[str, np.ndarray]:
        """Gather the columns at the given rows (sorted, in ``[0, n)``) here."""
        index = np.asarray(index, dtype=np.int64)
        if index.size and (index.min() < 0 or index.max() >= self.n):
            raise ValueError(f"index: rows must lie in [0, {self.n})")
        picks = self.map(_take_rows, index, self.block_size)
        return {c: np.concatenate([p[c] for p in picks]) for c in self.columns}

    def labels(self) -> np.ndarray:
        """Return the units' labels in row order (their row numbers without a label column)."""
        if self._local_labels is not None:
            return np.asarray(self._local_labels)
        if self._label_futures is not None:
            return np.concatenate(self.client.gather(self._label_futures))
        return np.arange(self.n)

    def describe(self) -> dict:
        """Where and how the blocks live (for a result's attrs)."""
        out = {"n_units": self.n, "block_size": self.block_size, "n_blocks": self.n_blocks,
               "source": self.source}
        if self.client is None:
            out["compute"] = "this process"
        else:
            threads = self.client.nthreads()
            out["compute"] = (f"dask.distributed: {len(threads)} workers, "
                              f"{sum(threads.values())} threads")
        return out


def _spread(client, futures: list) -> list:
    """Place the blocks evenly on the workers: block ``i`` on the ``i``-th of their threads.

    The scheduler keeps each block where it was read, which may leave most blocks on one
    worker (3 of the 4 blocks of 10^5 widgets on one of two workers); every later map
    then waits for that worker. Here each block is copied, if need be, to the worker
    whose turn it is (threads counted, workers in address order), so each thread holds
    ``n_blocks / threads`` blocks, give or take one. Where a block lives changes no
    result.
    """
    slots = [w for w, k in sorted(client.nthreads().items()) for _ in range(max(int(k), 1))]
    if len(set(slots)) < 2:
        return futures
    return [client.submit(_same, f, workers=[slots[i % len(slots)]], pure=False,
                          allow_other_workers=False) for i, f in enumerate(futures)]


def _same(block):
    return block


def _as_columns(block: np.ndarray, columns) -> dict[str, np.ndarray]:
    return {c: np.ascontiguousarray(block[:, j]) for j, c in enumerate(columns)}


def _take_rows(block, index_in_blocks, rows, block_size):
    lo = index_in_blocks * block_size
    local = rows[(rows >= lo) & (rows < lo + block_size)] - lo
    return {c: v[local] for c, v in block.items()}


def _is_dask_frame(obj) -> bool:
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover - dask is installed with distributed
        return False
    return isinstance(obj, dd.DataFrame)


def _is_large(arg) -> bool:
    return isinstance(arg, np.ndarray) and arg.nbytes > 2**16
