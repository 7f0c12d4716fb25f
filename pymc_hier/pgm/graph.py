"""PyMC's model graph, made total and deterministic.

:func:`model_digraph` builds the same ``graphviz.Digraph`` as :func:`pymc.model_to_graphviz`
(PyMC's ``ModelGraph`` walks the model, PyMC's ``make_graph`` draws it with the given
``node_formatters``, ``graph_attr`` and plate labels) with three changes, made in a
subclass of ``ModelGraph``:

- **Shapes are inferred, never drawn.** ``ModelGraph.get_plates`` evaluates every
  variable's shape with a mode that has no rewrites, so the variable itself is computed:
  models with ``pm.Flat``/``pm.HalfFlat`` (pymc#8024) or a ``pm.CustomDist`` without
  ``random`` (pymc#8077) raise ``NotImplementedError``. Here all shapes are evaluated in one
  function compiled with the ``fast_compile`` rewrites, which read shapes off the
  parameters; a shape that still cannot be evaluated falls back to the static shape
  (unknown lengths as ``None``).
- **Stable order.** PyMC collects plate members and parents in sets, so the order of nodes
  and edges (and hence the DOT text and the layout) changes with the string hash seed from
  one process to the next. Here nodes follow the model's creation order and edges are
  sorted the same way.
- **Hidden nodes.** Variables named in ``hidden`` are left out with their edges (the lecture
  style folds prior hyperparameters into their variable's label).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pymc.model_graph import (
    DimInfo,
    ModelGraph,
    NodeInfo,
    NodeTypeFormatterMapping,
    Plate,
    create_plate_label_with_dim_length,
    get_node_type,
    make_graph,
)

from pymc_hier.describe import evaluate_constant as _evaluate

__all__ = ["SafeModelGraph", "model_digraph"]

def _static_shape(var) -> tuple[int | None, ...]:
    return tuple(getattr(var.type, "shape", ()) or ())


class SafeModelGraph(ModelGraph):
    """:class:`pymc.model_graph.ModelGraph` with inferred shapes, stable order, hidden nodes.

    Parameters
    ----------
    model : pymc.Model
        The model.
    hidden : iterable of str, optional
        Names of variables to leave out of the graph, with their edges.
    """

    def __init__(self, model, *, hidden: Iterable[str] = ()):
        super().__init__(model)
        self._rank = {name: i for i, name in enumerate(model.named_vars)}
        self._rank.update({name.replace(":", "&"): i for name, i in list(self._rank.items())})
        self.hidden = frozenset(hidden)

    def _key(self, name: str) -> tuple[int, str]:
        return self._rank.get(name, len(self._rank)), name

    def vars_to_plot(self, var_names: Iterable[str] | None = None) -> list[str]:
        """Names to draw, in the model's creation order, hidden ones left out."""
        names = super().vars_to_plot(var_names)
        return sorted((n for n in names if n not in self.hidden), key=self._key)

    def shapes(self, var_names: Iterable[str] | None = None) -> dict[str, tuple]:
        """Shape of every drawn variable, without drawing any of them."""
        names = self.vars_to_plot(var_names)
        values = _evaluate([self.model[n].shape for n in names])
        if values is not None:
            return {n: tuple(int(s) for s in v) for n, v in zip(names, values, strict=True)}
        shapes = {}
        for name in names:  # one at a time: only the failing ones fall back
            value = _evaluate([self.model[name].shape])
            shapes[name] = (tuple(int(s) for s in value[0]) if value is not None
                            else _static_shape(self.model[name]))
        return shapes

    def dim_lengths(self) -> dict[str, int | None]:
        """Return the current length of every model dim (None where it cannot be evaluated)."""
        dims = list(self.model.dim_lengths)
        values = _evaluate([self.model.dim_lengths[d] for d in dims])
        if values is None:
            values = [(v[0] if (v := _evaluate([self.model.dim_lengths[d]])) else None)
                      for d in dims]
        return {d: (None if v is None else int(v)) for d, v in zip(dims, values, strict=True)}

    def get_plates(self, var_names: Iterable[str] | None = None) -> list[Plate]:
        """Group the drawn variables by dims (as PyMC does), plates in order of appearance."""
        dim_lengths = self.dim_lengths()
        plates: dict[DimInfo, list[NodeInfo]] = {}
        for name, shape in self.shapes(var_names).items():
            dims = self.model.named_vars_to_dims.get(name)
            if dims is not None:
                info = DimInfo(
                    names=tuple(dims),
                    lengths=tuple(
                        dim_lengths.get(d) if dim_lengths.get(d) is not None
                        else (shape[k] if k < len(shape) else None)
                        for k, d in enumerate(dims)
                    ),
                )
            else:
                info = DimInfo(names=(None,) * len(shape), lengths=tuple(shape))
            node = NodeInfo(var=self.model[name], node_type=get_node_type(name, self.model))
            plates.setdefault(info, []).append(node)
        return [Plate(dim_info=info, variables=nodes) for info, nodes in plates.items()]

    def edges(self, var_names: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """``(child, parent)`` pairs between drawn variables, sorted by creation order."""
        hidden = {n.replace(":", "&") for n in self.hidden}
        pairs = {(c, p) for c, p in super().edges(var_names)
                 if c not in hidden and p not in hidden}
        return sorted(pairs, key=lambda e: (self._key(e[1]), self._key(e[0])))


def model_digraph(
    model,
    *,
    node_formatters: NodeTypeFormatterMapping | None = None,
    graph_attr: dict | None = None,
    create_plate_label: Callable[[DimInfo], str] = create_plate_label_with_dim_length,
    hidden: Iterable[str] = (),
    var_names: Iterable[str] | None = None,
):
    """Return the model's ``graphviz.Digraph``, as :func:`pymc.model_to_graphviz` draws it.

    Parameters
    ----------
    model : pymc.Model
        The model.
    node_formatters : mapping, optional
        Node attributes by PyMC node type (PyMC's defaults for the types left out).
    graph_attr : dict, optional
        Graph attributes.
    create_plate_label : callable, optional
        Plate label from a ``DimInfo`` (PyMC's "dim (length)" by default).
    hidden : iterable of str, optional
        Variables to leave out.
    var_names : iterable of str, optional
        Draw only these variables and their ancestors (as in PyMC).

    Returns
    -------
    graphviz.Digraph
    """
    graph = SafeModelGraph(model, hidden=hidden)
    return make_graph(
        model.name,
        plates=graph.get_plates(var_names=var_names),
        edges=graph.edges(var_names=var_names),
        node_formatters=node_formatters,
        graph_attr=graph_attr,
        create_plate_label=create_plate_label,
    )
