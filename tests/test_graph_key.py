"""graph_key: equal for the same graph built again, different for any change that matters."""

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.compile.builders import OpFromGraph
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from pymc_hier.graph_key import graph_key


def _model(*, sigma=5.0, x=(0.0, 1.0, 2.0), observed=(0.3, 1.1, 2.4), lower=0.0):
    with pm.Model() as model:
        data = pm.Data("x", np.asarray(x))
        a = pm.Normal("a", 0.0, sigma)
        s = pm.Uniform("s", lower, 10.0)
        pm.Normal("y", a * data, s, observed=np.asarray(observed))
    return model


def _key(model):
    outputs = [model.logp(), *model.unobserved_value_vars]
    found = graph_key(outputs, inputs=[model.rvs_to_values[rv] for rv in model.free_RVs])
    return None if found is None else found[0]


def test_the_same_model_built_again_has_the_same_key():
    key = _key(_model())
    assert key is not None and key == _key(_model())
    found = graph_key([_model().logp()])
    assert sorted(found[1]) == ["x"]           # the shared variables, by name


def test_every_change_that_matters_changes_the_key():
    base = _key(_model())
    changed = [_model(sigma=6.0),               # a constant of the graph
               _model(observed=(0.3, 1.1, 2.5)),  # observed values (constants)
               _model(x=(0.0, 1.0, 3.0)),        # a shared variable's value
               _model(x=(0.0, 1.0, 2.0, 3.0), observed=(0.3, 1.1, 2.4, 3.0)),  # shapes
               _model(lower=-1.0)]               # a transform's bounds
    keys = [_key(m) for m in changed]
    assert None not in keys
    assert len({base, *keys}) == len(keys) + 1
    assert graph_key([pt.dscalar("a") - pt.dscalar("b")])[0] != graph_key(
        [pt.dscalar("b") - pt.dscalar("a")])[0]
    assert graph_key([pt.dscalar("a")], extra=["v1"])[0] != graph_key(
        [pt.dscalar("a")], extra=["v2"])[0]


def test_inner_graphs_are_keyed_by_their_function():
    a, b = pt.dscalars("a", "b")
    x, y = pt.dscalars("x", "y")

    def ofg(expr):
        return OpFromGraph([a, b], [expr])(x, y)

    assert graph_key([ofg(a - b)])[0] == graph_key([ofg(a - b)])[0]
    assert graph_key([ofg(a - b)])[0] != graph_key([ofg(b - a)])[0]


class _Scaled(Op):
    """An op with a parameter in its attributes (no ``__props__``)."""

    def __init__(self, fn):
        self.fn = fn

    def make_node(self, x):
        x = pt.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, outputs):
        outputs[0][0] = self.fn(inputs[0])


def test_what_cannot_be_named_across_processes_has_no_key():
    x = pt.dvector("x")
    assert graph_key([_Scaled(np.negative)(x)]) is not None     # a named function
    assert graph_key([_Scaled(np.negative)(x)])[0] != graph_key([_Scaled(np.exp)(x)])[0]
    assert graph_key([_Scaled(lambda v: -v)(x)]) is None        # a lambda: no key


def test_reseeded_generators_are_keyed_by_their_place_not_their_state():
    import pytensor
    from pytensor.graph.traversal import graph_inputs

    def draws(state, low=-1.0):
        rng = pytensor.shared(np.random.default_rng(state))
        _, value = pt.random.uniform(low, 1.0, size=3, rng=rng, return_next_rng=True)
        return [value + pt.dscalar("x")], rng

    (out1, rng1), (out2, rng2) = draws(1), draws(2)
    assert graph_key(out1) is None               # a generator has no value to key
    key1 = graph_key(out1, reseeded=[rng1])
    assert key1 is not None and key1[1] == {}    # not among the shared variables
    assert key1[0] == graph_key(out2, reseeded=[rng2])[0]
    low, rng3 = draws(1, low=-2.0)
    assert key1[0] != graph_key(low, reseeded=[rng3])[0]
    assert rng1 in set(graph_inputs(out1))
