"""Save and load results as netCDF or zarr: :func:`save`, :func:`load`.

Both formats go through :class:`xarray.DataTree`, so every group (nested ones included)
survives. Two things the file formats lose are restored on loading: the dtype of string
variables (netCDF returns fixed-width unicode, zarr NumPy's ``StringDType``, where PyMC gives
``object``), recorded at saving in a root attr that loading removes again; and attr types
(netCDF returns NumPy scalars and arrays), turned back into Python numbers and lists.

Nothing is lost or half-written. :func:`save` writes a temporary file (or folder) beside the
target, marked as unfinished; reads it back, checks that every group and variable came back
and records a checksum of each; replaces the mark by the checksums (the completion mark,
written last); and only then renames it into place. A failure (or a killed process) leaves
the old file untouched and nothing under the target's name. :func:`load` says whether a file
is complete, was interrupted while being written, or was damaged afterwards (a variable that
does not match its checksum: a deleted or truncated zarr chunk, a corrupt netCDF file).
"""

from __future__ import annotations

import hashlib
import json
from os import PathLike, fspath
from pathlib import Path

import numpy as np
import xarray as xr

from pymc_hier._atomic import TAG, fsync, remove, remove_stale, replace, sibling
from pymc_hier._version import pymc_hier_version
from pymc_hier.records import MARKER

__all__ = ["FORMATS", "load", "save"]

#: File suffix -> format.
FORMATS = {".nc": "netcdf", ".zarr": "zarr"}
_DTYPES_ATTR = "pymc_hier_string_dtypes"
#: Root attr written with the data and removed by the completion step.
_WRITING_ATTR = "pymc_hier_incomplete"
#: Root attr written last: the checksum of every variable.
_COMPLETE_ATTR = "pymc_hier_checksums"
_INTERNAL = (_DTYPES_ATTR, _WRITING_ATTR, _COMPLETE_ATTR)
#: Attr values both formats store: numbers, strings, and arrays or lists of them.
_ATTR_SCALARS = (str, bytes, int, float, np.number, np.bool_)


def save(idata: xr.DataTree, path: str | PathLike, *, overwrite: bool = False) -> Path:
    """Write ``idata`` to ``path``: netCDF for ``.nc``, zarr for ``.zarr``; atomically.

    The data go to a temporary file (or folder) beside ``path``, are read back and
    checked, get a completion mark with a checksum of every variable, and are then renamed
    into place: a failure at any point leaves an existing file untouched and no partial
    file under ``path``.

    Parameters
    ----------
    idata : xarray.DataTree
        Any result (from :func:`pymc_hier.fit`, :func:`pymc_hier.sample_predictive`, ...).
        The file is marked as pymc_hier's (root attr ``pymc_hier_version``, added when
        missing) so that :func:`load` can recognise it.
    path : str or path-like
        Destination; its suffix chooses the format.
    overwrite : bool, default False
        Replace an existing file (or zarr store).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        When ``idata`` is not a DataTree, or holds an attr or a variable neither format can
        store (a dict, None, mixed Python objects); nothing is written.
    ValueError
        For an unknown suffix, an existing path without ``overwrite=True``, or a path that
        is a folder but not a zarr store (never replaced).
    OSError
        When the file cannot be written (no permission, disk full); nothing is left behind.
    """
    if not isinstance(idata, xr.DataTree):
        raise TypeError(f"idata: expected an xarray.DataTree, got {type(idata).__name__}")
    path = Path(fspath(path))
    fmt = _format(path)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise ValueError(f"path: {path} exists; pass overwrite=True to replace it")
        _check_replaceable(path, fmt)
    _check_storable(idata)
    tree = idata.copy(deep=False)
    tree.attrs = {k: v for k, v in tree.attrs.items() if k not in _INTERNAL}
    tree.attrs.setdefault(MARKER, pymc_hier_version())
    dtypes = {}
    for node in tree.subtree:
        kinds = {name: _dtype_tag(var.dtype) for name, var in node.variables.items()
                 if var.dtype.kind in "OUT"}
        if kinds:
            dtypes[node.path] = kinds
    tree.attrs[_DTYPES_ATTR] = json.dumps(dtypes, sort_keys=True)
    tree.attrs[_WRITING_ATTR] = "written by pymc_hier.save, which did not finish"
    remove_stale(path)
    tmp = sibling(path, "tmp")
    try:
        if fmt == "netcdf":
            tree.to_netcdf(tmp, engine="h5netcdf", mode="w")
        else:
            tree.to_zarr(tmp, mode="w-", consolidated=False)
        checksums = _check_written(tmp, fmt, tree)
        _mark_complete(tmp, fmt, checksums)
        replace(tmp, path)
    except BaseException:
        remove(tmp)
        raise
    return path


def load(path: str | PathLike) -> xr.DataTree:
    """Read a file written by :func:`save` back into memory, checking it is whole.

    Parameters
    ----------
    path : str or path-like
        A ``.nc`` file or ``.zarr`` folder.

    Returns
    -------
    xarray.DataTree
        Identical to what was saved: same groups, variables, dtypes, coords and attrs.

    Raises
    ------
    ValueError
        For an unknown suffix, a file that was not written by pymc_hier, a file that
        cannot be read (damaged, or not netCDF/zarr), a file whose writing was interrupted,
        or one damaged after it was written (a variable that does not match its checksum,
        e.g. a zarr chunk deleted or truncated). The message says which.
    FileNotFoundError
        When ``path`` does not exist.
    """
    path = Path(fspath(path))
    fmt = _format(path)
    if not path.exists():
        left = sorted(path.parent.glob(f".{path.name}{TAG}old-*"))
        hint = (f" (a save that was interrupted while replacing it left the previous "
                f"version at {left[-1]}; rename it back)" if left else "")
        raise FileNotFoundError(f"path: {path} does not exist{hint}")
    if fmt == "netcdf" and path.is_dir():
        raise ValueError(f"path: {path} is a folder, not a netCDF file")
    if fmt == "zarr" and not path.is_dir():
        raise ValueError(f"path: {path} is a file, not a zarr store (a folder)")
    tree = _read(path, fmt)
    if MARKER not in tree.attrs:
        raise ValueError(
            f"path: {path} is not a pymc_hier file (no {MARKER!r} root attr); open it with "
            "xarray.open_datatree instead"
        )
    if _WRITING_ATTR in tree.attrs:
        raise ValueError(f"path: {path} is incomplete: its writing was interrupted (a "
                         "killed process or a full disk); save it again")
    recorded = tree.attrs.get(_COMPLETE_ATTR)
    if recorded is not None:
        try:
            recorded = json.loads(recorded)
        except (TypeError, ValueError):
            raise ValueError(f"path: {path} is damaged: its checksums cannot be "
                             "read") from None
        found = _checksums(tree)
        bad = sorted(k for k in set(recorded) | set(found) if recorded.get(k) != found.get(k))
        if bad:
            raise ValueError(
                f"path: {path} is damaged: {', '.join(bad[:5])}"
                f"{' ...' if len(bad) > 5 else ''} differ(s) from the checksum recorded at "
                f"saving (a deleted or changed {'chunk' if fmt == 'zarr' else 'block'})")
    for key in (_COMPLETE_ATTR, _WRITING_ATTR):
        tree.attrs.pop(key, None)
    dtypes = json.loads(tree.attrs.pop(_DTYPES_ATTR, "{}"))
    for node in tree.subtree:
        node.attrs = {k: _python_attr(v) for k, v in node.attrs.items()}
        for name, var in node.variables.items():
            var.attrs = {k: _python_attr(v) for k, v in var.attrs.items()}
            tag = dtypes.get(node.path, {}).get(name)
            if tag is not None and _dtype_tag(var.dtype) != tag:
                _restore_dtype(node, name, tag)
    return tree


# -- writing ------------------------------------------------------------------------------
def _format(path: Path) -> str:
    try:
        return FORMATS[path.suffix]
    except KeyError:
        raise ValueError(
            f"path: unknown suffix {path.suffix!r} for {path} (use {' or '.join(FORMATS)})"
        ) from None


def _check_replaceable(path: Path, fmt: str) -> None:
    """Refuse to replace anything but a file (netCDF) or a zarr store (zarr)."""
    if fmt == "netcdf" and path.is_dir():
        raise ValueError(f"path: {path} is a folder; not replacing it with a netCDF file")
    if fmt == "zarr" and not (path.is_dir() and (path / "zarr.json").is_file()):
        raise ValueError(f"path: {path} exists but is not a zarr store; not replacing it")


def _check_storable(idata: xr.DataTree) -> None:
    """Raise ``TypeError`` for attrs or object variables neither format can store."""
    for node in idata.subtree:
        group = node.path
        owners = [(f"attr {k!r} of group {group!r}", v) for k, v in node.attrs.items()]
        for name, var in node.variables.items():
            owners += [(f"attr {k!r} of variable {name!r} in {group!r}", v)
                       for k, v in var.attrs.items()]
            if var.dtype == object:
                kinds = sorted({type(v).__name__ for v in np.asarray(var.values).flat})
                if kinds and kinds not in (["str"], ["bytes"]):
                    raise TypeError(f"idata: variable {name!r} of group {group!r} holds "
                                    f"{', '.join(kinds)} objects; netCDF and zarr store "
                                    "numbers or strings only")
        for where, value in owners:
            if not _storable_attr(value):
                raise TypeError(f"idata: {where} is a {type(value).__name__} ({value!r:.60}); "
                                "netCDF and zarr store numbers, strings and lists of them "
                                "(json.dumps it)")


def _storable_attr(value) -> bool:
    if isinstance(value, _ATTR_SCALARS):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biufUS"
    if isinstance(value, list | tuple):
        return all(isinstance(v, _ATTR_SCALARS) for v in value)
    return False


def _check_written(tmp: Path, fmt: str, tree: xr.DataTree) -> dict[str, str]:
    """Read ``tmp`` back, check every group and variable came back, return the checksums."""
    back = _read(tmp, fmt)
    for node in tree.subtree:
        try:
            other = back if node.path == "/" else back[node.path]
        except KeyError:
            raise OSError(f"path: group {node.path!r} is missing from the file just "
                          "written") from None
        for name, var in node.variables.items():
            got = other.variables.get(name)
            if got is None or got.dims != var.dims or got.shape != var.shape:
                raise OSError(f"path: variable {name!r} of group {node.path!r} did not come "
                              "back from the file just written")
    return _checksums(back)


def _mark_complete(tmp: Path, fmt: str, checksums: dict[str, str]) -> None:
    """Write the completion mark (the checksums) last and remove the unfinished mark."""
    text = json.dumps(checksums, sort_keys=True)
    if fmt == "netcdf":
        import h5py

        with h5py.File(tmp, "r+") as f:
            f.attrs[_COMPLETE_ATTR] = text
            del f.attrs[_WRITING_ATTR]
            f.flush()
        fsync(tmp)
    else:
        import zarr

        group = zarr.open_group(tmp, mode="r+", use_consolidated=False)
        attrs = dict(group.attrs)
        attrs.pop(_WRITING_ATTR, None)
        attrs[_COMPLETE_ATTR] = text
        group.attrs.put(attrs)


# -- reading ------------------------------------------------------------------------------
def _read(path: Path, fmt: str) -> xr.DataTree:
    """Open ``path`` and load it into memory; every failure of the reader is a ValueError."""
    try:
        if fmt == "netcdf":
            import h5py

            # open every object with h5py first: a damaged header fails cleanly here, where
            # h5netcdf would fail half-way through its constructor
            with h5py.File(path, "r") as f:
                f.visititems(lambda name, obj: dict(obj.attrs))
            with xr.open_datatree(path, engine="h5netcdf") as opened:
                return opened.load().copy()
        with xr.open_datatree(path, engine="zarr", consolidated=False) as opened:
            return opened.load().copy()
    except MemoryError:
        raise
    except Exception as err:  # noqa: BLE001 - h5py raises KeyError, codecs RuntimeError ...
        raise ValueError(f"path: cannot read {path} as {fmt}: damaged, truncated or not a "
                         f"{fmt} {'file' if fmt == 'netcdf' else 'store'} "
                         f"({type(err).__name__}: {err})") from err


def _checksums(tree: xr.DataTree) -> dict[str, str]:
    """BLAKE2 digest of every variable (values, dtype, dims, attrs) and group's attrs."""
    out = {}
    for node in tree.subtree:
        attrs = {k: v for k, v in node.attrs.items() if k not in _INTERNAL}
        out[f"{node.path}@attrs"] = _digest(repr(sorted((k, _python_attr(v))
                                                        for k, v in attrs.items())).encode())
        for name, var in node.variables.items():
            h = hashlib.blake2b(digest_size=16)
            values = np.asarray(var.values)
            h.update(repr((var.dims, values.shape, values.dtype.kind,
                           sorted((k, _python_attr(v)) for k, v in var.attrs.items())))
                     .encode())
            if values.dtype.kind in "OUTS":
                h.update(repr(values.tolist()).encode())
            else:
                h.update(values.dtype.str.encode())
                h.update(np.ascontiguousarray(values).tobytes())
            key = f"{node.path.rstrip('/')}/{name}"
            out[key] = h.hexdigest()
    return out


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


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
