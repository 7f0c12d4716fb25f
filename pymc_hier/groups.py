"""Which group each observation belongs to, read off the model's graph: :func:`group_indices`.

In a hierarchical model with many observations per group, observations reach their group
through an integer index held as ``pm.Data``: ``y ~ Normal(a[g] + b[g] * x, sigma)`` with
``a`` along ``("county",)`` and ``g`` along the observations. :func:`group_indices` finds
such pairs ``(group dim, index)`` in the graph of each observed variable, and
:func:`attach_group_labels` labels the observations of a fit with their groups: a
non-index coordinate named after the group dim (``county``) on the observation dim of
``observed_data`` and the predictive groups, holding the groups' own labels, so that
``ppc_table(idata, by="county")`` and ``pit(...).groupby("county")`` just work.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pymc as pm
import xarray as xr
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant
from pytensor.tensor.subtensor import AdvancedSubtensor

__all__ = ["attach_group_labels", "dim_labels", "group_indices", "group_labels", "label_groups"]

_LABELLED = ("observed_data", "posterior_predictive", "prior_predictive", "log_likelihood")


def _named_dims(model: pm.Model) -> dict:
    """Model variables (RVs, deterministics, data) -> their dims."""
    return {var: tuple(model.named_vars_to_dims.get(name) or ())
            for name, var in model.named_vars.items()}


def _dims_behind(x, named: Mapping) -> set[str]:
    """Return the dims of ``x`` (1-d): its own, or those of the 1-d named variables behind it.

    The walk back through the graph stops at named variables.
    """
    if x in named:
        return set(named[x][:1]) if len(named[x]) == 1 else set()
    out, seen = set(), set()
    stack = list(x.owner.inputs) if x.owner is not None else []
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if v in named:
            if len(named[v]) == 1:
                out.add(named[v][0])
        elif v.owner is not None:
            stack.extend(v.owner.inputs)
    return out


def _index_data(idx, model: pm.Model):
    """Return the integer ``pm.Data`` behind an index (through casts), or None."""
    data = set(model.data_vars)
    while idx.owner is not None and len(idx.owner.inputs) == 1:
        idx = idx.owner.inputs[0]
    if idx in data and np.dtype(idx.dtype).kind in "iu":
        return idx
    return None


def group_indices(model: pm.Model) -> dict[str, dict[str, str]]:
    """For each observed variable, the groups its observations reach through an index.

    Parameters
    ----------
    model : pymc.Model
        Any PyMC model.

    Returns
    -------
    dict
        ``{observed name: {group dim: index name}}``, e.g. ``{"y": {"county": "g"}}``:
        ``g`` is an integer ``pm.Data`` along the observations' (one) dim, used to index a
        quantity along ``county`` (``a[g]``, ``(mu + tau * z)[g]``) in the observed
        variable's parameters. A group dim that two different indices reach, or an index
        whose values do not fit the dim's length, is left out.

    Examples
    --------
    >>> import numpy as np, pymc as pm
    >>> from pymc_hier.groups import group_indices
    >>> with pm.Model(coords={"county": ["a", "b"], "obs": range(3)}) as m:
    ...     g = pm.Data("g", np.array([0, 1, 1]), dims="obs")
    ...     a = pm.Normal("a", dims="county")
    ...     y = pm.Normal("y", a[g], 1.0, observed=[0.1, 0.2, 0.3], dims="obs")
    >>> group_indices(m)
    {'y': {'county': 'g'}}
    """
    named = _named_dims(model)
    out = {}
    for rv in model.observed_RVs:
        obs_dims = tuple(model.named_vars_to_dims.get(rv.name) or ())
        if len(obs_dims) != 1:
            continue
        found: dict[str, set] = {}
        seen, stack = set(), list(rv.owner.inputs)
        while stack:
            v = stack.pop()
            if v in seen or v.owner is None:
                continue
            seen.add(v)
            node = v.owner
            if isinstance(node.op, AdvancedSubtensor) and len(node.inputs) == 2 \
                    and node.inputs[0].type.ndim == 1:
                idx = _index_data(node.inputs[1], model)
                if idx is not None and named.get(idx, obs_dims) == obs_dims:
                    for dim in _dims_behind(node.inputs[0], named):
                        found.setdefault(dim, set()).add(idx)
            stack.extend(node.inputs)
        groups = {}
        for dim, idxs in found.items():
            if dim in obs_dims or len(idxs) != 1:
                continue
            (idx,) = idxs
            values = np.asarray(idx.get_value() if isinstance(idx, SharedVariable)
                                else idx.data if isinstance(idx, Constant) else [])
            size = len(model.coords.get(dim) or ())
            if values.size and size and values.min() >= 0 and values.max() < size:
                groups[dim] = idx.name
        if groups:
            out[rv.name] = dict(sorted(groups.items()))
    return out


def group_labels(codes, labels) -> np.ndarray:
    """Return the labels of ``codes`` (integer positions) among ``labels``; codes if none."""
    codes = np.asarray(codes)
    if labels is None:
        return codes
    labels = np.asarray(labels)
    if codes.size and (codes.min() < 0 or codes.max() >= labels.size):
        raise ValueError(f"by: index values {codes.min()}..{codes.max()} do not fit the "
                         f"{labels.size} groups")
    return labels[codes]


def attach_group_labels(tree: xr.DataTree, model: pm.Model) -> xr.DataTree:
    """Label each observation of ``tree`` with its groups (see the module docstring).

    Returns a new tree; groups without the observed variables are left as they are. A
    coordinate is not added where the name is taken by something else.
    """
    found = group_indices(model)
    if not found:
        return tree
    tree = tree.copy()
    for group in _LABELLED:
        if group not in tree.children:
            continue
        ds = tree[group].to_dataset()
        changed = False
        for obs, groups in found.items():
            if obs not in ds.data_vars:
                continue
            obs_dim = model.named_vars_to_dims[obs][0]
            if obs_dim not in ds[obs].dims:
                continue
            for dim, index in groups.items():
                codes = np.asarray(model[index].get_value())
                labels = group_labels(codes, model.coords.get(dim))
                if dim in ds.dims or (dim in ds.coords and ds[dim].dims != (obs_dim,)):
                    continue
                if codes.shape != (ds.sizes[obs_dim],):
                    continue
                ds = ds.assign_coords({dim: ((obs_dim,), labels,
                                             {"group_index": index})})
                changed = True
        if changed:
            tree[group] = xr.DataTree(ds)
    return tree


def dim_labels(idata: xr.DataTree, dim: str):
    """Return the coordinate values of ``dim`` in any group of ``idata`` (None if absent)."""
    for node in idata.subtree:
        if dim in node.dims and dim in node.coords:
            return node[dim].values
    return None


def label_groups(idata: xr.DataTree, y: xr.DataArray, by) -> tuple[str, xr.DataArray]:
    """Resolve ``by`` for the observations ``y`` of ``idata``: ``(coordinate name, y)``.

    ``by`` is a coordinate of ``y`` (returned as is), or ``(group dim, index)``: the
    integer ``index`` of ``constant_data`` maps each observation to a group, and ``y`` is
    returned with a coordinate named after the group dim holding the groups' labels (the
    dim's coordinate values in ``idata``, else the integer codes).

    Raises
    ------
    TypeError
        For a ``by`` of another shape.
    ValueError
        For a name that is not a coordinate, an index missing from ``constant_data``, not
        integer, not along the observations, or with codes that do not fit the groups.
    """
    if isinstance(by, str):
        if by in y.coords:
            return by, y
        hint = (f"; observations reached through an index: by=({by!r}, '<index>') or "
                f"sample_predictive labels them" if dim_labels(idata, by) is not None else "")
        raise ValueError(f"by: {by!r} is not a coordinate of the observations "
                         f"(have {sorted(y.coords)}){hint}")
    if not (isinstance(by, tuple) and len(by) == 2 and all(isinstance(b, str) for b in by)):
        raise TypeError(f"by: expected a coordinate name or a (group dim, index) pair of "
                        f"names, got {by!r}")
    dim, index = by
    if "constant_data" not in idata.children or index not in idata["constant_data"].data_vars:
        raise ValueError(f"by: no index {index!r} in idata's constant_data")
    codes = idata["constant_data"][index]
    if codes.ndim != 1 or codes.dims[0] not in y.dims or codes.dtype.kind not in "iu":
        raise ValueError(f"by: {index!r} must be an integer index along one of the "
                         f"observations' dims {y.dims}, got dims {codes.dims} and dtype "
                         f"{codes.dtype}")
    labels = group_labels(codes.values, dim_labels(idata, dim))
    return dim, y.assign_coords({dim: (codes.dims, labels, {"group_index": index})})
