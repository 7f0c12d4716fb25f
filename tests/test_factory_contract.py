"""One contract for every model factory (in the spirit of BlackJAX's API-protocol test)."""

import inspect

import numpy as np
import pymc as pm
import pytest

import pymc_hier as ph
from pymc_hier.family import HYPER_SEP, get_factory
from pymc_hier.models import FACTORIES, get_spec, rebuild

VARIANTS = [
    ("decay_model", {"t0": "latent", "n0": "marginal"}),
    ("decay_model", {"t0": "latent", "n0": "latent"}),
    ("decay_model", {"t0": "known", "n0": "marginal"}),
    ("decay_model", {"t0": "known", "n0": "latent"}),
    ("hierarchical_normal_model", {"parametrization": "noncentered"}),
    ("hierarchical_normal_model", {"parametrization": "centered"}),
    ("eight_schools_model", {}),
]
UNIT_DIM = {"decay_model": "widget", "hierarchical_normal_model": "school",
            "eight_schools_model": "school"}


def _data(name):
    if name == "decay_model":
        return ph.simulate_decay(seed=5, n_widgets=12)
    return ph.EIGHT_SCHOOLS


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_signature_shape(name):
    params = inspect.signature(get_factory(name)).parameters
    first, *rest = params.values()
    assert first.name == "data"
    assert first.kind in (first.POSITIONAL_ONLY, first.POSITIONAL_OR_KEYWORD)
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in rest), name
    for required in ("priors", "pgm", "hyper_data"):
        assert required in params, f"{name} lacks {required}="
    assert get_factory(name).__doc__, f"{name} has no docstring"


@pytest.mark.parametrize(("name", "options"), VARIANTS)
def test_model_spec_coords_and_rebuild(name, options):
    data = _data(name)
    model = get_factory(name)(data, **options)
    assert isinstance(model, pm.Model)
    spec = get_spec(model)
    assert spec is not None and spec.factory == name
    for key, value in options.items():
        assert spec.options[key] == value
    dim = UNIT_DIM[name]
    labels = data.widget if name == "decay_model" else data.names
    assert list(model.coords[dim]) == list(labels)
    # the spec is enough to build the same model again
    again = rebuild(spec)
    point = model.initial_point(random_seed=1)
    assert np.isfinite(model.compile_logp()(point))
    assert model.compile_logp()(point) == pytest.approx(again.compile_logp()(point))
    assert spec.config_hash() == get_spec(again).config_hash()
    assert len(spec.config_hash()) == 64


@pytest.mark.parametrize(("name", "options"), VARIANTS[::2])
def test_hyper_data_exposes_every_prior_parameter(name, options):
    model = get_factory(name)(_data(name), hyper_data=True, **options)
    spec = get_spec(model)
    data_names = set(model.named_vars) & {v.name for v in model.data_vars}
    for var, prior in spec.priors.items():
        for param in prior.params:
            assert f"{var}{HYPER_SEP}{param}" in data_names


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_rejects_unknown_prior_and_option(name):
    factory = get_factory(name)
    with pytest.raises(ValueError, match="no_such_parameter"):
        factory(_data(name), priors={"no_such_parameter": ph.Prior("Normal", mu=0, sigma=1)})
    with pytest.raises((ValueError, TypeError), match="bogus"):
        factory(_data(name), bogus=1)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_pgm_keyword_writes_the_graph(name, tmp_path):
    get_factory(name)(_data(name), pgm=tmp_path / "graph")
    written = sorted(p.name for p in tmp_path.iterdir())
    assert "graph.dot" in written and "graph.svg" in written
