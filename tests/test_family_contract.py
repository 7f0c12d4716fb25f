"""One contract for every model family, a user-registered one included (BlackJAX's idea:
one parametrized test over every implementation of the interface)."""

import warnings

import numpy as np
import pymc as pm
import pytest
import xarray as xr
from pymc.model.fgraph import clone_model

import pymc_hier as ph
from pymc_hier.exceptions import FamilyWarning
from pymc_hier.family import Derived, ExactPosterior, ModelFamily, Pooling
from pymc_hier.generative import GenerativeModel
from pymc_hier.registry import families, get_family, register_family, unregister_family
from pymc_hier.spec import get_spec

SEED = 20261124


# -- a user's own family: varying intercepts, observations reach their group through g ------
def _varying_intercepts(data, *, priors):
    with pm.Model(coords={"county": data["county"].values, "obs": data["obs"].values}) as m:
        g = pm.Data("g", data["g"].values, dims="obs")
        mu = priors["mu"].create_variable("mu")
        tau = priors["tau"].create_variable("tau")
        z = pm.Normal("z", 0.0, 1.0, dims="county")
        a = pm.Deterministic("a", mu + tau * z, dims="county")
        pm.Normal("y", a[g], 1.0, observed=data["y"].values, dims="obs")
    return m


def _counties(seed=SEED, n_obs=40, n_groups=5):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, n_groups, size=n_obs)
    a = rng.normal(1.0, 0.5, size=n_groups)
    return xr.Dataset({"y": ("obs", rng.normal(a[g], 1.0)), "g": ("obs", g)},
                      coords={"obs": np.arange(n_obs),
                              "county": [f"c{k}" for k in range(n_groups)]})


USER = ModelFamily(
    "varying_intercepts_test", build=_varying_intercepts, data_type=xr.Dataset,
    default_priors={"mu": ph.Prior("Normal", mu=0, sigma=5),
                    "tau": ph.Prior("HalfNormal", sigma=1)},
    population=("mu", "tau"), internal=("z",), group_dim="county",
    example_data=_counties, summary="a user's family in the contract test")


@pytest.fixture(scope="module", autouse=True)
def registered_user_family():
    register_family(USER)
    yield
    unregister_family(USER.name)


# (family name, options, data) -- every built-in variant and the user's family
def _decay_data():
    return ph.simulate_decay(seed=5, n_widgets=12)


def _mixed_schools():
    """Groups with precise and with vague estimates: parametrization="auto" mixes forms."""
    return ph.SchoolsData(y=[1.0, 5.0, 9.0, -3.0, 12.0, 20.0], sigma=[1.0, 2.0, 15.0, 20.0,
                                                                          1.5, 25.0])


CASES = [
    ("decay", {"t0": "latent", "n0": "marginal"}, _decay_data),
    ("decay", {"t0": "latent", "n0": "latent"}, _decay_data),
    ("decay", {"t0": "known", "n0": "marginal"}, _decay_data),
    ("decay", {"t0": "known", "n0": "latent"}, _decay_data),
    ("decay", {"t0": "marginal"}, _decay_data),
    ("decay", {"alpha": "hierarchical"}, _decay_data),
    ("decay", {"alpha": "hierarchical", "t0": "known", "n0": "latent"}, _decay_data),
    ("hierarchical_normal", {"parametrization": "noncentered"}, lambda: ph.EIGHT_SCHOOLS),
    ("hierarchical_normal", {"parametrization": "centered"}, lambda: ph.EIGHT_SCHOOLS),
    ("hierarchical_normal", {"parametrization": "marginal"}, lambda: ph.EIGHT_SCHOOLS),
    ("hierarchical_normal", {"parametrization": "auto"}, lambda: _mixed_schools()),
    ("hierarchical_normal", {"pooling": "complete"}, lambda: ph.EIGHT_SCHOOLS),
    ("hierarchical_normal", {"pooling": "none"}, lambda: ph.EIGHT_SCHOOLS),
    ("eight_schools", {}, lambda: ph.EIGHT_SCHOOLS),
    ("straight_line", {}, lambda: ph.simulate_line(n_points=8)),
    ("varying_intercepts_test", {}, _counties),
]
IDS = [f"{name}-{'-'.join(map(str, opts.values())) or 'default'}" for name, opts, _ in CASES]


def _build(name, options, data):
    return get_family(name)(data(), **options)


def test_every_registered_family_is_in_the_cases():
    assert {f.name for f in families()} <= {name for name, _, _ in CASES}


@pytest.mark.parametrize(("name", "options", "data"), CASES, ids=IDS)
def test_family_contract(name, options, data):
    family = get_family(name)
    assert isinstance(family, ModelFamily) and family.name == name
    assert get_family(family.command) is family
    model = family(data(), **options)
    assert isinstance(model, pm.Model)

    # the spec: family, every option (defaults filled in), priors, data
    spec = get_spec(model)
    assert spec is not None and spec.family is family
    assert set(spec.options) == set(family.options)
    for key, value in options.items():
        assert spec.options[key] == value
    assert set(spec.priors) == set(family.priors_for(None, spec.data, options=spec.options))
    assert len(spec.config_hash()) == 64

    # named coords on the group dim
    dim = family.group_dim_of(spec.data)
    if dim is not None:
        assert dim in model.coords and len(model.coords[dim]) > 0

    # the spec is enough to build the same model again
    again = spec.rebuild()
    point = model.initial_point(random_seed=1)
    logp = model.compile_logp()(point)
    assert np.isfinite(logp)
    assert again.compile_logp()(point) == pytest.approx(logp)
    assert get_spec(again).config_hash() == spec.config_hash()

    # the data round-trip through a Dataset (kept with fits) and keep their fingerprint
    back = family.data_from_dataset(family.data_to_dataset(spec.data))
    assert family.fingerprint(back) == family.fingerprint(spec.data)

    # named pieces point at the model's own variables
    free = {v.name for v in model.free_RVs}
    population = family.population_names(spec)
    assert set(population) <= free
    assert set(family.internal_names(spec)) <= free
    if family.initial_values is not None:
        assert set(family.initial_values(model, spec)) <= free

    # the generative description: observed nodes are the model's observations, fixed
    # nodes its data, and it is the same picture whatever the parametrisation
    if family.generative is not None:
        gen = family.generative(spec)
        assert isinstance(gen, GenerativeModel)
        observed = {n.name for n in gen.nodes if n.kind == "observed"}
        assert observed == {v.name for v in model.observed_RVs}
        fixed = {n.name for n in gen.nodes if n.kind == "fixed"}
        assert fixed <= {v.name for v in model.data_vars}
        assert not set(family.internal_names(spec)) & {n.name for n in gen.nodes}

    # an exact posterior draws the variables it names; a variant without one says so
    exact = family.exact_posterior is not None
    if exact and options.get("alpha") == "hierarchical":
        with pytest.raises(ValueError, match="no exact posterior"):
            family.exact_posterior(model, spec)
        exact = False
    if exact:
        post = family.exact_posterior(model, spec)
        assert isinstance(post, ExactPosterior)
        tree = post.sample(20, 2, random_seed=1, var_names=list(population))
        assert set(population) <= set(tree["posterior"].data_vars)
        assert tree["posterior"].sizes["chain"] == 2 and tree["posterior"].sizes["draw"] == 20

    # the report's pieces: units and true values name the model's variables (or data),
    # derived quantities are computed from posterior draws of the population parameters
    known = free | {v.name for v in model.data_vars} | {v.name for v in model.observed_RVs}
    if family.generative is not None:
        known |= {n.name for n in family.generative(spec).nodes}
    if family.units is not None:
        assert set(family.units(spec)) <= known
    if family.truth is not None:
        assert set(family.truth(spec)) <= known
    if family.derived is not None:
        draws = xr.Dataset({p: (("chain", "draw"), np.full((2, 3), 0.5))
                            for p in population})
        for quantity in family.derived(spec):
            assert isinstance(quantity, Derived)
            values = quantity.compute(draws)
            assert values.dims == ("chain", "draw") and np.all(np.isfinite(values))


@pytest.mark.parametrize(("name", "options", "data"), CASES, ids=IDS)
def test_simulated_observations_go_into_the_data(name, options, data):
    """What sbc needs: a prior predictive draw put into the family's data builds the same
    model on those observations (same design, same fixed data, same free variables)."""
    model = _build(name, options, data)
    spec = get_spec(model)
    with model, warnings.catch_warnings():
        if model.potentials:  # alpha="hierarchical": PyMC says its prior draws ignore them
            warnings.filterwarnings("ignore", "The effect of Potentials", UserWarning)
        prior = pm.sample_prior_predictive(draws=2, random_seed=SEED)
    simulated = {rv.name: prior["prior_predictive"][rv.name].isel(chain=0, draw=1).values
                 for rv in model.observed_RVs}
    new_data = spec.family.data_with_observed(spec.data, simulated)
    assert isinstance(new_data, spec.family.data_type)
    again = spec.rebuild(data=new_data)
    for rv in again.observed_RVs:
        np.testing.assert_array_equal(again.rvs_to_values[rv].data, simulated[rv.name])
    for var in model.data_vars:
        np.testing.assert_array_equal(again[var.name].get_value(), var.get_value())
    assert {v.name for v in again.free_RVs} == {v.name for v in model.free_RVs}
    # the original data are untouched
    for rv in model.observed_RVs:
        assert not np.array_equal(model.rvs_to_values[rv].data, simulated[rv.name])


@pytest.mark.parametrize(("name", "options", "data"), CASES, ids=IDS)
def test_specs_survive_clone_and_modified_models_are_plain(name, options, data):
    model = _build(name, options, data)
    spec = get_spec(model)
    clone = clone_model(model)
    assert get_spec(clone) == spec
    # the clone's graph stands alone (transforms read the clone's data, not the original's)
    point = model.initial_point(random_seed=1)
    assert clone.compile_logp()(point) == pytest.approx(model.compile_logp()(point))
    # pm.do works (no custom initial values in the model) and the result is no longer the
    # family's model: a FamilyWarning says so, and the model is treated as a plain one
    target = (spec.family.population_names(spec) or [v.name for v in model.free_RVs])[0]
    start = spec.family.initial_values(model, spec) if spec.family.initial_values else {}
    value = start.get(target, 1.0)
    fixed = pm.do(model, {target: np.full(tuple(model[target].shape.eval()), value)})
    assert np.isfinite(fixed.compile_logp()(fixed.initial_point(random_seed=1)))
    with pytest.warns(FamilyWarning, match="treated as a plain PyMC model"):
        assert get_spec(fixed) is None


@pytest.mark.parametrize(("name", "options", "data"), CASES, ids=IDS)
def test_rejects_wrong_data_unknown_options_and_priors(name, options, data):
    family = get_family(name)
    with pytest.raises(TypeError, match="data"):
        family(object(), **options)
    with pytest.raises(TypeError, match="bogus"):
        family(data(), bogus=1, **options)
    with pytest.raises(ValueError, match="no_such_parameter"):
        family(data(), priors={"no_such_parameter": ph.Prior("Normal", mu=0, sigma=1)},
               **options)


@pytest.mark.parametrize(("name", "options", "data"), CASES[::4], ids=IDS[::4])
def test_pgm_keyword_writes_the_graph(name, options, data, tmp_path):
    get_family(name)(data(), pgm=tmp_path / "graph", **options)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert "graph.dot" in written and "graph.svg" in written


def test_public_factories_are_their_families():
    assert get_spec(ph.decay_model(_decay_data())).family is ph.DECAY
    assert get_spec(ph.eight_schools_model()).family is ph.EIGHT_SCHOOLS_FAMILY
    assert get_spec(ph.hierarchical_normal_model(ph.EIGHT_SCHOOLS)).family \
        is ph.HIERARCHICAL_NORMAL
    assert get_spec(ph.straight_line_model([0, 1], [1, 2], [1, 1])).family is ph.STRAIGHT_LINE
    for factory in (ph.decay_model, ph.hierarchical_normal_model, ph.eight_schools_model,
                    ph.straight_line_model):
        assert factory.__doc__


def test_registry_refuses_clashes_and_finds_import_paths():
    with pytest.raises(ValueError, match="taken"):
        register_family(ModelFamily("decay", build=_varying_intercepts))
    with pytest.raises(TypeError, match="ModelFamily"):
        register_family(object())
    with pytest.raises(ValueError, match="unknown model family"):
        get_family("no_such_family")
    assert get_family("pymc_hier.decay.family:DECAY") is ph.DECAY
    with pytest.raises(ValueError, match="not a ModelFamily"):
        get_family("pymc_hier.decay.family:decay_model")
    with pytest.raises(ValueError, match="built in"):
        unregister_family("decay")


def test_options_are_checked_and_recorded():
    with pytest.raises(ValueError, match="t0: must be one of"):
        ph.decay_model(_decay_data(), t0="sometimes")
    with pytest.raises(ValueError, match="not an option"):
        ModelFamily("bad_options", build=_varying_intercepts, options={"priors": ()})
    with pytest.raises(ValueError, match="identifier"):
        ModelFamily("not a name", build=_varying_intercepts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = get_spec(ph.decay_model(_decay_data()))
    assert dict(spec.options) == {"t0": "latent", "n0": "marginal", "alpha": "shared"}


@pytest.mark.parametrize(("name", "options", "data"), CASES, ids=IDS)
def test_workflow_hooks_name_the_models_own_pieces(name, options, data):
    """Pooling levels build models holding the shared effect; exact LOGO is per group."""
    family = get_family(name)
    model = family(data(), **options)
    spec = get_spec(model)
    dim = family.group_dim_of(spec.data)
    if family.pooling is not None:
        assert isinstance(family.pooling, Pooling) and len(family.pooling.names) >= 2
        for level, level_options in family.pooling.levels.items():
            built = family(spec.data, **level_options)
            level_spec = get_spec(built)
            effect = built[family.pooling.effect]
            dims = built.named_vars_to_dims.get(family.pooling.effect) or ()
            assert dims in ((), (dim,)), (level, dims)
            assert effect.ndim == len(dims)
            assert set(family.population_names(level_spec)) <= {v.name for v in
                                                                 built.free_RVs}
    if family.exact_logo is not None:
        elpd = family.exact_logo(model, spec)
        assert elpd.dims == (dim,)
        assert list(elpd[dim].values) == list(model.coords[dim])
        assert np.all(np.isfinite(elpd.values) & (elpd.values < 0))
    if family.predict is not None:
        assert callable(family.predict)
    if family.warm_up is not None:   # compiles on one unit; returns nothing, draws nothing
        assert family.warm_up(model, spec) is None


def test_pooling_record_is_checked():
    with pytest.raises(ValueError, match="at least two"):
        Pooling("theta", {"partial": {}})
    with pytest.raises(ValueError, match="unknown level"):
        Pooling("theta", {"partial": {}, "some": {}})
    with pytest.raises(ValueError, match="effect"):
        Pooling("not a name", {"partial": {}, "none": {}})
    with pytest.raises(TypeError, match="pooling"):
        ModelFamily("bad_pooling", build=_varying_intercepts, pooling={"partial": {}})
    assert Pooling("theta", {"none": {}, "complete": {}}).names == ("complete", "none")


@pytest.mark.parametrize("family", families(), ids=lambda f: f.name)
def test_deprecated_values_warn_from_the_users_call_and_only_there(family):
    """Every deprecated option value is accepted and not the default; calling the family with
    it warns (FutureWarning) pointing at the caller's line, building again from its spec does
    not; the family's other values do not warn."""
    data = dict((name, data) for name, _, data in CASES)[family.name]
    for option, messages in family.deprecated.items():
        assert set(messages) <= set(family.options[option]) - {family.options[option][0]}
        for value, message in messages.items():
            with pytest.warns(FutureWarning) as record:
                model = family(data(), **{option: value})
            assert [str(w.message) for w in record] == [message]
            assert record[0].filename == __file__
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                get_spec(model).rebuild()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        family(data())


def test_decay_t0_marginal_is_deprecated_with_its_figures():
    assert "marginal" in ph.DECAY.deprecated["t0"]
    with pytest.warns(FutureWarning, match=r"t0: 'marginal' is deprecated.*t0='latent'") as w:
        ph.decay_model(_decay_data(), t0="marginal")
    assert w[0].filename == __file__


def test_deprecated_record_is_checked():
    def family(**deprecated):
        return ModelFamily("dep_test", build=_varying_intercepts,
                           options={"kind": ("a", "b")}, deprecated=deprecated)

    assert dict(family(kind={"b": "b is old"}).deprecated["kind"]) == {"b": "b is old"}
    with pytest.raises(ValueError, match="not an option"):
        family(other={"b": "old"})
    with pytest.raises(ValueError, match="not a value"):
        family(kind={"c": "old"})
    with pytest.raises(ValueError, match="default"):
        family(kind={"a": "old"})
    with pytest.raises(TypeError, match="message"):
        family(kind={"b": ""})
    with pytest.raises(TypeError, match="mapping"):
        family(kind=["b"])
