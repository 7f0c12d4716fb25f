"""The default decay model's density in one op (pymc_hier.decay.fused) equals PyMC's."""

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
from pymc.pytensorf import compile as compile_pymc
from pytensor.graph.traversal import ancestors

from pymc_hier import Prior, decay_model, simulate_decay
from pymc_hier.decay import fused
from pymc_hier.decay.edges import EdgeTransform, ProbitIntervalTransform
from pymc_hier.decay.fused import DecayWidgets, sampler_logp

SEED = 20261203
#: Both sum the same terms in another order: rounding only (measured: <= 1e-15 relative).
RTOL = 1e-10


def _models():
    edges = decay_model(simulate_decay(seed=0))                  # two widgets with an edge
    plain = decay_model(simulate_decay(seed=1, n_widgets=30, noise=3.0))   # none
    bounded = decay_model(simulate_decay(seed=2, n_widgets=40),
                          priors={"alpha": Prior("Uniform", lower=0.0, upper=1e-5)})
    return {"edges": edges, "plain": plain, "bounded": bounded}


MODELS = _models()


def _values_and_grads(model, logp, mode):
    values = [model.rvs_to_values[rv] for rv in model.free_RVs]
    return values, compile_pymc(values, [logp, *pt.grad(logp, values)], mode=mode)


def _points(model, n):
    """Random points in the sampler's coordinates, far tails of z included."""
    rng = np.random.default_rng(SEED)
    n_widgets = len(model.coords["widget"])
    points = [(rng.normal(0.0, 1.5), rng.normal(0.0, 2.0, n_widgets)) for _ in range(n)]
    points.append((0.3, np.tile([-9.0, -3.0, 0.0, 3.0, 9.0], n_widgets)[:n_widgets]))
    return points


def test_the_models_cover_both_maps_of_t0():
    assert isinstance(MODELS["edges"].rvs_to_transforms[MODELS["edges"]["t0"]], EdgeTransform)
    assert len(MODELS["edges"].rvs_to_transforms[MODELS["edges"]["t0"]]._index) > 0
    assert isinstance(MODELS["plain"].rvs_to_transforms[MODELS["plain"]["t0"]],
                      ProbitIntervalTransform)


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "NUMBA"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_value_and_gradient_equal_pymcs(name, mode):
    model = MODELS[name]
    fused = sampler_logp(model)
    assert fused is not None
    assert any(isinstance(v.owner.op, DecayWidgets) for v in ancestors([fused])
               if v.owner is not None)
    _, ours = _values_and_grads(model, fused, mode)
    _, theirs = _values_and_grads(model, model.logp(), mode)
    for z_alpha, z_t0 in _points(model, 12):
        got, want = ours(z_alpha, z_t0), theirs(z_alpha, z_t0)
        assert np.isfinite(want[0])
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=RTOL * max(1.0, abs(want[0])))


def test_a_wrong_edge_flag_is_told_apart():
    """The comparison above fails on a deliberately wrong density (edges as plain maps)."""
    model = MODELS["edges"]
    values = [model.rvs_to_values[rv] for rv in model.free_RVs]
    wrong = fused._density(model, np.zeros(len(model.coords["widget"])))
    f = compile_pymc(values, [wrong, model.logp()], mode="FAST_COMPILE")
    differ = [not np.isclose(*f(z_a, z_t), rtol=RTOL) for z_a, z_t in _points(model, 5)]
    assert all(differ)


@pytest.mark.parametrize("options", [{"t0": "known"}, {"n0": "latent"},
                                     {"t0": "marginal"}])
def test_other_variants_keep_pymcs_graph(options):
    import warnings

    data = simulate_decay(seed=0, n_widgets=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # t0="marginal" is deprecated
        model = decay_model(data, **options)
    assert sampler_logp(model) is None


def test_a_model_with_a_potential_keeps_pymcs_graph():
    model = decay_model(simulate_decay(seed=0, n_widgets=10))
    with model:
        pm.Potential("nudge", -model["alpha"] * 1e3)
    assert sampler_logp(model) is None


def test_the_op_checks_its_inputs_and_has_no_second_derivatives():
    z = pt.dvector("z")
    vec, scalar = pt.dvector(), pt.dscalar()
    with pytest.raises(ValueError, match="vector"):
        DecayWidgets()(pt.dmatrix(), scalar, vec, vec, vec, scalar, vec, vec, vec)
    with pytest.raises(ValueError, match="scalar"):
        DecayWidgets()(z, vec, vec, vec, vec, scalar, vec, vec, vec)
    total, grad_z, _ = DecayWidgets()(z, scalar, vec, vec, vec, scalar, vec, vec, vec)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        pt.grad(grad_z.sum(), z)
