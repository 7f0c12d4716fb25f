"""A fingerprint of a PyTensor graph that is the same in every process: :func:`graph_key`.

Two graphs with the same key compute the same function of the same inputs: the key hashes
every node in topological order (its op's class and parameters, its inputs), every
constant's value, every shared variable's name, type and current value, and every other
input's name and type. An op's parameters are its ``__props__`` (what PyTensor itself
compares when it merges equal nodes) or, without them, its attributes; an inner graph
(``OpFromGraph``) is keyed in turn. Anything the key cannot name the same way in another
process (a lambda, a local function, an object that is neither an op nor a type and has no
``__props__``) makes the graph unkeyable: :func:`graph_key` returns None and the caller
compiles as usual. Used by :mod:`pymc_hier.nutpie_cache` to find a model compiled before.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Collection, Mapping, Sequence

import numpy as np
from pytensor.compile.builders import OpFromGraph, SymbolicOp
from pytensor.compile.sharedvalue import SharedVariable
from pytensor.graph.basic import Constant, Variable
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.op import Op
from pytensor.graph.traversal import toposort
from pytensor.graph.type import Type

__all__ = ["graph_key"]

_MAX_DEPTH = 6


class Unkeyable(Exception):
    """A part of the graph that has no name valid across processes."""


def graph_key(outputs: Sequence, *, inputs: Sequence = (), extra: Sequence[str] = (),
              reseeded: Collection = ()) -> tuple[str, dict] | None:
    """Return ``(key, shared)`` for the graph of ``outputs``, or None when it has no key.

    Parameters
    ----------
    outputs : sequence of pytensor.Variable
        The graph's outputs, in order.
    inputs : sequence of pytensor.Variable
        Inputs numbered first, in this order (an inner graph's inputs, whose order is
        part of the function).
    extra : sequence of str
        More strings the key must depend on (versions, options).
    reseeded : collection of pytensor.SharedVariable
        Shared variables keyed by their type and place in the graph alone, not by name or
        value: random generators that the caller seeds before every evaluation (as PyMC's
        initial-point function does). They are not in the returned ``shared``.

    Returns
    -------
    tuple or None
        The hex SHA-256 key and the graph's shared variables by name (all named, names
        unique); None when a part of the graph cannot be named across processes.
    """
    h = hashlib.sha256()
    for s in extra:
        h.update(f"extra:{s}\0".encode())
    ids: dict = {}
    shared: dict = {}
    reseeded = set(reseeded)

    def name(var) -> str:
        if var in ids:
            return ids[var]
        if isinstance(var, Constant):
            token = f"const:{_token(var.type)}:{_array_token(np.asarray(var.data))}"
        elif var in reseeded:
            token = f"reseeded:{_token(var.type)}"
        elif isinstance(var, SharedVariable):
            if not var.name or shared.get(var.name, var) is not var:
                raise Unkeyable(f"shared variable without a unique name: {var}")
            shared[var.name] = var
            token = (f"shared:{var.name}:{_token(var.type)}:"
                     f"{_array_token(np.asarray(var.get_value(borrow=True)))}")
        elif var.owner is None:
            token = f"input:{var.name}:{_token(var.type)}"
        else:  # an output of a node already numbered
            raise Unkeyable(f"variable met before its node: {var}")
        ids[var] = f"v{len(ids)}"
        h.update(f"{ids[var]}={token}\0".encode())
        return ids[var]

    try:
        for var in inputs:
            name(var)
        for node in toposort(outputs):
            inputs = ",".join(name(i) for i in node.inputs)
            outs = []
            for out in node.outputs:
                ids[out] = f"v{len(ids)}"
                outs.append(f"{ids[out]}:{_token(out.type)}")
            h.update(f"node:{_token(node.op)}({inputs})->{','.join(outs)}\0".encode())
        h.update(f"outputs:{','.join(name(o) for o in outputs)}\0".encode())
    except Unkeyable:
        return None
    return h.hexdigest(), shared


def _array_token(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    if a.dtype.hasobject:
        raise Unkeyable("object array")
    return f"{a.dtype.str}{a.shape}:{hashlib.sha256(a.tobytes()).hexdigest()}"


def _token(x, depth: int = 0) -> str:
    """Name ``x`` the same way in every process (or raise :class:`Unkeyable`)."""
    if depth > _MAX_DEPTH:
        raise Unkeyable("nested too deeply")
    if x is None or isinstance(x, bool | int | float | complex | str | bytes):
        return repr(x)
    if isinstance(x, slice):
        return f"slice({_token(x.start)},{_token(x.stop)},{_token(x.step)})"
    if isinstance(x, np.dtype):
        return f"dtype:{x.str}"
    if isinstance(x, np.generic):
        return f"np:{x.dtype.str}:{x.item()!r}"
    if isinstance(x, np.ndarray):
        return f"array:{_array_token(x)}"
    if isinstance(x, tuple | list | frozenset | set):
        items = [_token(v, depth + 1) for v in x]
        if isinstance(x, frozenset | set):
            items.sort()
        return f"{type(x).__name__}({','.join(items)})"
    if isinstance(x, Mapping):
        items = sorted(f"{_token(k, depth + 1)}:{_token(v, depth + 1)}" for k, v in x.items())
        return f"map({','.join(items)})"
    if isinstance(x, types.FunctionType | types.BuiltinFunctionType | type):
        qualname = getattr(x, "__qualname__", "")
        if not qualname or "<" in qualname:  # a lambda or a local function
            raise Unkeyable(f"unnamed function {x!r}")
        return f"fn:{getattr(x, '__module__', '')}.{qualname}"
    cls = type(x)
    label = f"{cls.__module__}.{cls.__qualname__}"
    props = getattr(cls, "__props__", None)
    if _is_graph(x):
        raise Unkeyable(f"a graph as a parameter: {x}")
    if isinstance(x, SymbolicOp):  # its class builds the inner graph from these
        return (f"{label}[{','.join(_token(getattr(x, p), depth + 1) for p in props or ())}]"
                f"{_token(x._init_kwargs, depth + 1)}{_token(list(x.input_types), depth + 1)}")
    if isinstance(x, OpFromGraph):
        inner = graph_key(x.fgraph.outputs, inputs=x.fgraph.inputs)
        if inner is None or inner[1]:
            raise Unkeyable(f"inner graph of {label}")
        overrides = [getattr(x, a, None) for a in ("lop_overrides", "grad_overrides",
                                                     "rop_overrides")]
        return (f"{label}<{inner[0]}>{_token(x.is_inline, depth + 1)}"
                f"{_token(x.destroy_map, depth + 1)}{_token(overrides, depth + 1)}")
    if props is not None:
        return f"{label}[{','.join(_token(getattr(x, p), depth + 1) for p in props)}]"
    if isinstance(x, np.ufunc):  # NumPy's own, by name; any other has no key
        if getattr(np, x.__name__, None) is not x:
            raise Unkeyable(f"ufunc {x!r} outside NumPy")
        return f"np.ufunc:{x.__name__}"
    state = getattr(x, "__dict__", None)
    if state is None or not isinstance(x, Op | Type):  # other objects: state in C, or any
        raise Unkeyable(f"no parameters to name {label}")
    if any(_is_graph(v) for v in state.values()):
        raise Unkeyable(f"inner graph in {label}")
    items = sorted((k, v) for k, v in state.items()
                   if not (k.startswith("__") and k.endswith("__")))  # Python's machinery
    return f"{label}{{{','.join(f'{k}={_token(v, depth + 1)}' for k, v in items)}}}"


def _is_graph(value) -> bool:
    return isinstance(value, Variable | FunctionGraph)
