"""Save and load results as netCDF or zarr: :func:`save`, :func:`load`.

Both formats go through :class:`xarray.DataTree`, so every group (nested ones included)
survives. Two things the file formats lose are restored on loading: the dtype of string
variables (netCDF returns fixed-width unicode, zarr NumPy's ``StringDType``, where PyMC gives
``object``), recorded at saving in a root attr that loading removes again; and attr types
(netCDF returns NumPy scalars and arrays), turned back into Python numbers and lists.
"""

from __future__ import annotations

import json
from os import PathLike, fspath
from pathlib import Path

import numpy as np
import xarray as xr

from pymc_hier._version import pymc_hier_version
from pymc_hier.records import MARKER

#: File suffix -> format.
FORMATS = {".nc": "netcdf", ".zarr": "zarr"}
_DTYPES_ATTR = "pymc_hier_string_dtypes"


def save(idata: xr.DataTree, path: str | PathLike, *, overwrite: bool = False) -> Path:
    """Write ``idata`` to ``path``: netCDF for ``.nc``, zarr for ``.zarr``.

    Parameters
    ----------
    idata : xarray.DataTree
        Any result (from :func:`pymc_hier.fit`, :func:`pymc_hier.sample_predictive`, ...).
        The file is marked as pymc_hier's (root attr ``pymc_hier_version``, added when
        missing) so that :func:`load` can recognise it.
    path : str or path-like
        Destination; its suffix chooses the format.
    overwrite : bool, default False
        Replace an existing file or directory.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        For an unknown suffix, an existing path without ``overwrite=True``, or an
        ``idata`` that is not a DataTree.
    """
    if not isinstance(idata, xr.DataTree):
        raise ValueError(f"idata: expected an xarray.DataTree, got {type(idata).__name__}")
    path = Path(fspath(path))
    fmt = _format(path)
    if path.exists() and not overwrite:
        raise ValueError(f"path: {path} exists; pass overwrite=True to replace it")
    tree = idata.copy(deep=False)
    if MARKER not in tree.attrs:
        tree.attrs[MARKER] = pymc_hier_version()
    dtypes = {}
    for node in tree.subtree:
        kinds = {name: _dtype_tag(var.dtype) for name, var in node.variables.items()
                 if var.dtype.kind in "OUT"}
        if kinds:
            dtypes[node.path] = kinds
    tree.attrs[_DTYPES_ATTR] = json.dumps(dtypes, sort_keys=True)
    if fmt == "netcdf":
        tree.to_netcdf(path, engine="h5netcdf", mode="w")
    else:
        tree.to_zarr(path, mode="w", consolidated=False)
    return path


def load(path: str | PathLike) -> xr.DataTree:
    """Read a file written by :func:`save` back into memory.

    Parameters
    ----------
    path : str or path-like
        A ``.nc`` file or ``.zarr`` directory.

    Returns
    -------
    xarray.DataTree
        Identical to what was saved: same groups, variables, dtypes, coords and attrs.

    Raises
    ------
    ValueError
        For an unknown suffix, or a file that was not written by pymc_hier.
    FileNotFoundError
        When ``path`` does not exist.
    """
    path = Path(fspath(path))
    fmt = _format(path)
    if not path.exists():
        raise FileNotFoundError(f"path: {path} does not exist")
    try:
        if fmt == "netcdf":
            with xr.open_datatree(path, engine="h5netcdf") as opened:
                tree = opened.load().copy()
        else:
            with xr.open_datatree(path, engine="zarr", consolidated=False) as opened:
                tree = opened.load().copy()
    except (OSError, ValueError) as err:
        raise ValueError(f"path: cannot read {path} as {fmt}: {err}") from err
    if MARKER not in tree.attrs:
        raise ValueError(
            f"path: {path} is not a pymc_hier file (no {MARKER!r} root attr); open it with "
            "xarray.open_datatree instead"
        )
    dtypes = json.loads(tree.attrs.pop(_DTYPES_ATTR, "{}"))
    for node in tree.subtree:
        node.attrs = {k: _python_attr(v) for k, v in node.attrs.items()}
        for name, var in node.variables.items():
            var.attrs = {k: _python_attr(v) for k, v in var.attrs.items()}
            tag = dtypes.get(node.path, {}).get(name)
            if tag is not None and _dtype_tag(var.dtype) != tag:
                _restore_dtype(node, name, tag)
    return tree


def _format(path: Path) -> str:
    try:
        return FORMATS[path.suffix]
    except KeyError:
        raise ValueError(
            f"path: unknown suffix {path.suffix!r} for {path} (use {' or '.join(FORMATS)})"
        ) from None


def _dtype_tag(dtype: np.dtype) -> str:
    if dtype.kind == "T":
        return "StringDType"
    return dtype.str if dtype.kind == "U" else "object"


def _restore_dtype(node: xr.DataTree, name: str, tag: str) -> None:
    var = node.variables[name]
    values = np.asarray(var.values)
    if tag == "object":
        new = values.astype(object)
    elif tag == "StringDType":
        new = values.astype(np.dtypes.StringDType())
    else:
        new = values.astype(tag)
    if name in node.coords:
        node.coords[name] = var.copy(data=new)
    else:
        node[name] = var.copy(data=new)


def _python_attr(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
