"""Predictive checks: sampling, p-value tables, PIT, plots, calibration and misspecification."""

import dataclasses

import arviz_stats as azs
import matplotlib
import numpy as np
import pymc as pm
import pytest
import xarray as xr
from conftest import FIT_SEED
from matplotlib.figure import Figure
from scipy import stats

import pymc_hier as ph
from pymc_hier.decay.kernels import log_uniform_normal_pdf
from pymc_hier.plots import ppc as ppc_plots
from pymc_hier.ppc import STATISTICS, pit

matplotlib.use("Agg")

SCHOOLS = list("ABCDEFGH")


# -- sample_predictive -----------------------------------------------------------------------
def test_sample_predictive_adds_groups(eight_schools_fit, eight_schools_ppc):
    fitted, _ = eight_schools_fit
    idata, _ = eight_schools_ppc
    assert "posterior_predictive" not in fitted.children  # the input is not modified
    pp = idata["posterior_predictive"]["y"]
    assert pp.dims == ("chain", "draw", "school") and pp.shape == (4, 1000, 8)
    assert [str(s) for s in pp["school"].values] == SCHOOLS
    prior = idata["prior_predictive"]["y"]
    assert prior.sizes["chain"] * prior.sizes["draw"] == 4000  # as many as posterior draws
    assert {"mu", "tau", "theta"} <= set(idata["prior"].data_vars)
    assert idata["log_likelihood"]["y"].shape == (4, 1000, 8)
    assert idata.attrs["predictive_random_seed"] == FIT_SEED + 1
    assert idata.attrs["config_hash"] == fitted.attrs["config_hash"]  # provenance kept


def test_sample_predictive_is_reproducible(eight_schools_fit, eight_schools_ppc):
    fitted, model = eight_schools_fit
    again = ph.sample_predictive(fitted, model, random_seed=FIT_SEED + 1)
    for group in ("posterior_predictive", "prior_predictive", "prior"):
        xr.testing.assert_equal(again[group].to_dataset(),
                                eight_schools_ppc[0][group].to_dataset())


def test_prior_drawn_beforehand_gives_the_same_tree(eight_schools_fit, eight_schools_ppc):
    """sample_prior draws what sample_predictive would: the same seed and number of draws
    give the same groups, passed through pickle (as from run's second process)."""
    import pickle

    fitted, model = eight_schools_fit
    idata, _ = eight_schools_ppc
    prior = pickle.loads(pickle.dumps(ph.sample_prior(model, draws=4000,
                                                      random_seed=FIT_SEED + 1)))
    again = ph.sample_predictive(fitted, model, prior=prior, random_seed=FIT_SEED + 1)
    assert set(again.children) == set(idata.children)
    for group in idata.children:
        xr.testing.assert_equal(again[group].to_dataset(), idata[group].to_dataset())
    assert again.attrs["predictive_random_seed"] == FIT_SEED + 1
    # another seed's prior draws differ: the test above can fail
    other = ph.sample_prior(model, draws=4000, random_seed=FIT_SEED + 2)
    assert not np.array_equal(other["prior"]["mu"].values, idata["prior"]["mu"].values)
    for kw, match in [({"random_seed": FIT_SEED + 2}, rf"drawn with random_seed={FIT_SEED + 1}"
                                                      rf" and 4000 draws, not random_seed="
                                                      rf"{FIT_SEED + 2} and 4000 draws"),
                      ({"random_seed": FIT_SEED + 1, "prior_draws": 100},
                       "and 4000 draws, not .* and 100 draws")]:
        with pytest.raises(ValueError, match=match):
            ph.sample_predictive(fitted, model, prior=prior, **kw)
    centred = ph.eight_schools_model(parametrization="centered")
    with pytest.raises(ValueError, match="prior: drawn from another model"):
        ph.sample_predictive(fitted, model, random_seed=FIT_SEED + 1, prior=ph.sample_prior(
            centred, draws=4000, random_seed=FIT_SEED + 1))
    with pytest.raises(ValueError, match="prior: expected True, False or a tree from "
                                         "sample_prior"):
        ph.sample_predictive(fitted, model, prior=fitted, random_seed=FIT_SEED + 1)
    with pytest.raises(TypeError, match="random_seed: required"):
        ph.sample_prior(model, draws=10, random_seed=None)
    with pytest.raises(ValueError, match="draws: expected a positive int, got 0"):
        ph.sample_prior(model, draws=0, random_seed=1)


def test_posterior_groups_first_then_the_prior_give_the_same_tree(eight_schools_fit,
                                                                   eight_schools_ppc):
    """What run does: the posterior's groups while the prior is drawn elsewhere, then the
    prior's; the same groups, in the same order, as one call."""
    fitted, model = eight_schools_fit
    idata, _ = eight_schools_ppc
    first = ph.sample_predictive(fitted, model, prior=False, random_seed=FIT_SEED + 1)
    assert "prior" not in first.children and "posterior_predictive" in first.children
    prior = ph.sample_prior(model, draws=4000, random_seed=FIT_SEED + 1)
    both = ph.sample_predictive(first, model, prior=prior, posterior=False,
                                random_seed=FIT_SEED + 1)
    assert list(both.children) == list(idata.children)

    def stamped(ds):  # created_at differs: the groups were made a second apart
        return {k: v for k, v in ds.attrs.items() if k != "created_at"}

    for group in idata.children:
        a, b = both[group].to_dataset(), idata[group].to_dataset()
        xr.testing.assert_equal(a, b)
        assert stamped(a) == stamped(b)
        assert all(a[v].attrs == b[v].attrs for v in a.data_vars)
    assert both.attrs == idata.attrs
    # the posterior's groups are not drawn again by the second call: another seed there
    # is refused (the prior's seed), not used
    with pytest.raises(ValueError, match="drawn with random_seed"):
        ph.sample_predictive(first, model, prior=prior, posterior=False,
                             random_seed=FIT_SEED + 2)


def test_sample_predictive_bad_input(eight_schools_fit):
    fitted, model = eight_schools_fit
    no_post = xr.DataTree.from_dict({"observed_data": fitted["observed_data"].to_dataset()})
    with pytest.raises(ValueError, match="no 'posterior' group"):
        ph.sample_predictive(no_post, model, random_seed=1)
    with pytest.raises(ValueError, match="model: does not match idata"):
        ph.sample_predictive(fitted, ph.eight_schools_model(parametrization="centered"),
                             random_seed=1)
    other_data = ph.SchoolsData(y=np.zeros(8), sigma=np.ones(8), names=SCHOOLS)
    with pytest.raises(ValueError, match="model: does not match idata"):
        ph.sample_predictive(fitted, ph.eight_schools_model(other_data), random_seed=1)
    # without provenance the structure is checked
    bare = xr.DataTree.from_dict({"posterior": fitted["posterior"].to_dataset()})
    with pm.Model() as unrelated:
        pm.Normal("alpha", 0, 1)
        pm.Normal("y", 0, 1, observed=np.zeros(3))
    with pytest.raises(ValueError, match=r"free variables \['alpha'\] are not in idata"):
        ph.sample_predictive(bare, unrelated, random_seed=1)
    renamed = ph.SchoolsData(y=ph.EIGHT_SCHOOLS.y, sigma=ph.EIGHT_SCHOOLS.sigma,
                             names=list("ABCDEFGZ"))
    with pytest.raises(ValueError, match="coords of 'school' differ"):
        ph.sample_predictive(bare, ph.eight_schools_model(renamed), random_seed=1)
    with pytest.raises(ValueError, match="prior, posterior: at least one"):
        ph.sample_predictive(fitted, model, prior=False, posterior=False, random_seed=1)
    with pytest.raises(TypeError, match="random_seed"):
        ph.sample_predictive(fitted, model)


@pytest.mark.parametrize("factory, options", [
    ("decay_model", {"t0": "latent", "n0": "marginal"}),
    ("decay_model", {"t0": "latent", "n0": "latent"}),
    ("decay_model", {"t0": "known", "n0": "marginal"}),
    ("decay_model", {"t0": "known", "n0": "latent"}),
    ("eight_schools_model", {"parametrization": "centered"}),
])
def test_sample_predictive_every_factory_variant(factory, options):
    """Forward draws and log-likelihood for each variant, marginalised N0 included.

    Prior draws (2 x 30) stand in for a posterior: this checks the machinery, not a fit.
    """
    if factory == "decay_model":
        data, dim, obs = ph.simulate_decay(seed=3, n_widgets=20), "widget", "n_measured"
        model = ph.decay_model(data, **options)
    else:
        data, dim, obs = ph.EIGHT_SCHOOLS, "school", "y"
        model = ph.eight_schools_model(**options)
    prior = pm.sample_prior_predictive(draws=60, model=model, random_seed=FIT_SEED)
    post = prior["prior"].to_dataset().isel(chain=0, drop=True)
    post = post.coarsen(draw=30).construct(draw=("chain", "draw"))
    post = post.assign_coords(chain=[0, 1], draw=np.arange(30))
    tree = xr.DataTree.from_dict({"posterior": post} | {
        g: prior[g].to_dataset() for g in ("observed_data", "constant_data")})
    out = ph.sample_predictive(tree, model, random_seed=FIT_SEED)
    n = len(data)
    assert out["posterior_predictive"][obs].shape == (2, 30, n)
    assert out["posterior_predictive"][obs].dims == ("chain", "draw", dim)
    assert out["prior_predictive"][obs].sizes[dim] == n
    assert np.all(np.isfinite(out["log_likelihood"][obs].values))
    # the log-likelihood against an independent NumPy / SciPy evaluation at every draw
    y = np.asarray(data.n_measured if factory == "decay_model" else data.y)
    sigma = np.asarray(data.sigma)
    if factory == "eight_schools_model":
        expected = stats.norm.logpdf(y, post["theta"].values, sigma)
    else:   # both n0 options: the measurement's density given A (N0 integrated out)
        t0 = post["t0"].values if options["t0"] == "latent" else np.asarray(data.t0)
        log_upper = (np.log(data.n0_max)
                     - post["alpha"].values[..., None] * (np.asarray(data.t_measured) - t0))
        expected = log_uniform_normal_pdf(y, sigma, log_upper)
    np.testing.assert_allclose(out["log_likelihood"][obs].values, expected, rtol=1e-9)


# -- the log-likelihood over all draws at once (no compile) ----------------------------------
def _prior_as_posterior(model, seed, chains=3, draws=40):
    prior = pm.sample_prior_predictive(draws=chains * draws, model=model, random_seed=seed)
    post = prior["prior"].to_dataset().isel(chain=0, drop=True)
    post = post.coarsen(draw=draws).construct(draw=("chain", "draw"))
    return xr.DataTree.from_dict({"posterior": post.assign_coords(
        chain=np.arange(chains), draw=np.arange(draws))})


def test_log_likelihood_over_draws_matches_draw_by_draw(monkeypatch):
    """Vectorised over draws in blocks (a last, shorter one too), the pointwise
    log-likelihood equals PyMC's draw-by-draw evaluation and SciPy's; an observation with
    no free parent is repeated over the draws."""
    import pymc_hier.ppc as ppc

    with pm.Model(coords={"school": SCHOOLS}) as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfNormal("tau", 5.0)
        theta = pm.Normal("theta", mu, tau, dims="school")
        pm.Normal("y", theta, 10.0, observed=np.arange(8.0), dims="school")
        pm.StudentT("fixed", nu=3.0, mu=1.0, sigma=2.0, observed=[0.5, -4.0])
    tree = _prior_as_posterior(model, FIT_SEED)
    seen = []
    over = ppc._over_draws
    monkeypatch.setattr(ppc, "_over_draws", lambda *a: seen.append(over(*a)) or seen[-1])
    whole = ppc._log_likelihood(tree, model)
    monkeypatch.setattr(ppc, "_BLOCK_VALUES", 8 * 7)  # 7 draws a block: 18 blocks, last 1
    blocks = ppc._log_likelihood(tree, model)
    assert all(v is not None for v in seen)  # both took the vectorised path
    monkeypatch.setattr(ppc, "_over_draws", lambda *a: None)
    loop = ppc._log_likelihood(tree, model)
    xr.testing.assert_equal(whole, blocks)  # the same numbers, block by block
    assert whole["y"].dims == loop["y"].dims == ("chain", "draw", "school")
    assert whole["fixed"].dims == loop["fixed"].dims == ("chain", "draw", "fixed_dim_0")
    theta = tree["posterior"]["theta"].values
    expected = {"y": stats.norm.logpdf(np.arange(8.0), theta, 10),
                "fixed": np.broadcast_to(stats.t.logpdf([0.5, -4.0], 3.0, 1.0, 2.0),
                                         (3, 40, 2))}
    for name, value in expected.items():
        np.testing.assert_allclose(whole[name].values, value, rtol=1e-13)
        # the compiled draw-by-draw function computes with the literals as PyTensor stores
        # them (10.0 as float32): 1e-8 off; evaluated here, they are float64 (exact)
        np.testing.assert_allclose(loop[name].values, value, rtol=1e-7)
        assert not np.allclose(loop[name].values, value, rtol=1e-10, atol=0)


def _observed_logps(model):
    from pymc.logprob.utils import replace_rvs_by_values

    inputs = {rv: rv.type(name=rv.name) for rv in model.free_RVs}
    logps = replace_rvs_by_values([pm.logp(rv, model.rvs_to_values[rv], warn_rvs=False)
                                   for rv in model.observed_RVs], rvs_to_values=inputs)
    return logps, list(inputs.values())


def test_log_likelihood_of_an_op_without_a_ufunc_is_compiled_instead(monkeypatch):
    """An elementwise op without a NumPy ufunc (softplus) would run a Python function per
    element: the draw-by-draw compiled function is used instead (same values)."""
    import pytensor.tensor as pt

    import pymc_hier.ppc as ppc

    with pm.Model() as model:
        a = pm.Normal("a")
        pm.Normal("y", mu=pt.softplus(a), sigma=1.0, observed=[0.5, 2.0])
    tree = _prior_as_posterior(model, FIT_SEED, chains=2, draws=5)
    logps, inputs = _observed_logps(model)
    assert ppc._over_draws(logps, inputs, tree["posterior"].to_dataset()) is None
    a = tree["posterior"]["a"].values[..., None]
    expected = stats.norm.logpdf([0.5, 2.0], np.log1p(np.exp(a)), 1.0)
    np.testing.assert_allclose(ppc._log_likelihood(tree, model)["y"].values, expected,
                               rtol=1e-7)


def test_log_likelihood_of_the_decay_op_is_vectorised_through_its_numpy_twin(monkeypatch):
    """The decay model's fused op names its NumPy twin (``nfunc_spec``): the log-likelihood
    is evaluated over blocks of draws, with the values of the compiled draw-by-draw
    function."""
    import pymc_hier.ppc as ppc

    model = ph.decay_model(ph.simulate_decay(seed=3, n_widgets=5))
    tree = _prior_as_posterior(model, FIT_SEED, chains=2, draws=5)
    logps, inputs = _observed_logps(model)
    assert ppc._over_draws(logps, inputs, tree["posterior"].to_dataset()) is not None
    whole = ppc._log_likelihood(tree, model)["n_measured"].values
    monkeypatch.setattr(ppc, "_over_draws", lambda *a, **k: None)
    loop = ppc._log_likelihood(tree, model)["n_measured"].values
    assert np.all(np.isfinite(whole))
    np.testing.assert_allclose(whole, loop, rtol=1e-10, atol=1e-10)
    assert not np.allclose(whole[0, 1:], loop[0, :-1], rtol=1e-10, atol=1e-10)  # detects a shift


# -- posterior predictive draws over blocks of draws -------------------------------------------
def _decay_posterior_tree(chains=4, draws=400):
    model = ph.decay_model(ph.simulate_decay(seed=3, n_widgets=6))
    prior = pm.sample_prior_predictive(draws=chains * draws, model=model,
                                       random_seed=FIT_SEED)
    post = prior["prior"].to_dataset().isel(chain=0, drop=True)
    post = post.coarsen(draw=draws).construct(draw=("chain", "draw")).assign_coords(
        chain=np.arange(chains), draw=np.arange(draws))
    tree = xr.DataTree.from_dict({
        "posterior": post, "observed_data": prior["observed_data"].to_dataset(),
        "constant_data": prior["constant_data"].to_dataset()})
    return model, tree


def _standardised_decay_draws(model, tree, pp):
    """(y_rep - A / 2) / sd, sd^2 = A^2 / 12 + sigma^2: mean 0, variance 1 given each draw."""
    post, const = tree["posterior"], tree["constant_data"]
    upper = float(np.asarray(model["n0_max"].eval())) * np.exp(
        -post["alpha"] * (const["t_measured"] - post["t0"]))
    sd = np.sqrt(upper**2 / 12 + const["sigma"] ** 2)
    return ((pp["posterior_predictive"]["n_measured"] - upper / 2) / sd).transpose(
        "chain", "draw", "widget").values


def test_posterior_predictive_is_drawn_over_blocks_of_draws(monkeypatch):
    """The decay model's measurement (a uniform amount plus Gaussian noise, one
    ``CustomDist``) is drawn for every posterior draw at once, and each draw gets its own
    noise: the standardised draws have mean 0 and variance 1, and neighbouring draws are
    uncorrelated (noise drawn once per block would correlate them)."""
    import pymc_hier.ppc as ppc

    model, tree = _decay_posterior_tree()
    pp = ppc._posterior_predictive_over_draws(tree, model, np.random.default_rng(5))
    assert pp is not None
    z = _standardised_decay_draws(model, tree, pp)
    n = z.size
    bound = stats.norm.isf(0.001 / 2 / 3)   # three checks at a family-wise 0.1 %
    assert abs(z.mean()) < bound / np.sqrt(n)
    # var of a sample variance of near-uniform z: (kurtosis - 1) / n, kurtosis <= 3
    assert abs(z.var() - 1) < bound * np.sqrt(2 / n)
    flat = z.reshape(-1, z.shape[-1])
    lag = np.mean(flat[1:] * flat[:-1])
    assert abs(lag) < bound / np.sqrt(flat[1:].size), lag
    # the same seed gives the same draws, another seed others
    again = ppc._posterior_predictive_over_draws(tree, model, np.random.default_rng(5))
    xr.testing.assert_equal(pp["posterior_predictive"], again["posterior_predictive"])
    other = ppc._posterior_predictive_over_draws(tree, model, np.random.default_rng(6))
    assert not np.allclose(other["posterior_predictive"]["n_measured"],
                           pp["posterior_predictive"]["n_measured"])
    # with the noise left unresized (drawn once per block) the lag check fails
    monkeypatch.setattr(ppc, "_resized_independent", lambda *a: {})
    shared = ppc._posterior_predictive_over_draws(tree, model, np.random.default_rng(5))
    flat = _standardised_decay_draws(model, tree, shared).reshape(-1, z.shape[-1])
    assert abs(np.mean(flat[1:] * flat[:-1])) > bound / np.sqrt(flat[1:].size)


def test_posterior_predictive_over_blocks_matches_pymc_in_distribution():
    """Eight schools: the vectorised draws and PyMC's draw-by-draw ones, given the same
    posterior, agree in the mean and spread of every school (y_rep - theta ~ N(0, sigma))."""
    import pymc_hier.ppc as ppc

    model = ph.eight_schools_model()
    post = ph.fit(model, draws=500, chains=2, random_seed=3, progressbar=False)
    ours = ppc._posterior_predictive_over_draws(post, model, np.random.default_rng(4))
    assert ours is not None
    theirs = pm.sample_posterior_predictive(post, model=model, random_seed=4,
                                            progressbar=False)
    theta = post["posterior"]["theta"]
    sigma = post["constant_data"]["sigma"]
    for pp in (ours, theirs):
        resid = ((pp["posterior_predictive"]["y"] - theta) / sigma).values.reshape(-1, 8)
        bound = stats.norm.isf(0.001 / 2 / 16)
        assert np.all(np.abs(resid.mean(0)) < bound / np.sqrt(len(resid)))
        assert np.all(np.abs(resid.var(0) - 1) < bound * np.sqrt(2 / len(resid)))
    assert ours["posterior_predictive"]["y"].dims == theirs["posterior_predictive"]["y"].dims


def test_posterior_predictive_leaves_pymc_what_it_cannot_vectorise():
    """A trace without its observed or constant data (PyMC adds them), an observed
    variable that depends on no free variable, or a potential on an observed variable
    (PyMC warns that the draws ignore it) is drawn by PyMC (None here)."""
    import pymc_hier.ppc as ppc

    model, tree = _decay_posterior_tree(chains=2, draws=5)
    del tree["constant_data"]
    assert ppc._posterior_predictive_over_draws(tree, model, np.random.default_rng(0)) is None
    with pm.Model() as model:
        pm.Normal("a")
        pm.Normal("y", 0.0, 1.0, observed=[0.5, 2.0])
    tree = _prior_as_posterior(model, FIT_SEED, chains=2, draws=5)
    tree["observed_data"] = xr.DataTree(xr.Dataset({"y": ("y_dim_0", [0.5, 2.0])}))
    tree["constant_data"] = xr.DataTree(xr.Dataset())
    assert ppc._posterior_predictive_over_draws(tree, model, np.random.default_rng(0)) is None
    with pm.Model() as plain:
        a = pm.Normal("a")
        pm.Normal("y", a, 1.0, observed=[0.5, 2.0])
    tree = _prior_as_posterior(plain, FIT_SEED, chains=2, draws=5)
    tree["observed_data"] = xr.DataTree(xr.Dataset({"y": ("y_dim_0", [0.5, 2.0])}))
    tree["constant_data"] = xr.DataTree(xr.Dataset())
    assert ppc._posterior_predictive_over_draws(tree, plain, np.random.default_rng(0)) \
        is not None
    with pm.Model() as model:   # the same with a potential on y
        a = pm.Normal("a")
        y = pm.Normal("y", a, 1.0, observed=[0.5, 2.0])
        pm.Potential("p", -(y.sum() ** 2))
    assert ppc._posterior_predictive_over_draws(tree, model, np.random.default_rng(0)) is None


def test_prior_is_drawn_over_blocks_of_draws():
    """The prior groups hold what PyMC's ``sample_prior_predictive`` holds (groups,
    variables, dims, data), drawn over blocks: each draw of the decay model's measurement
    follows its draw of alpha and t0 (standardised: mean 0, variance 1, no lag
    correlation), and a seed reproduces them."""
    import pymc_hier.ppc as ppc

    model, _ = _decay_posterior_tree(chains=1, draws=1)
    ours = ppc._prior_over_draws(model, 3000, 11)
    theirs = pm.sample_prior_predictive(draws=50, model=model, random_seed=11)
    assert ours is not None
    assert list(ours.children) == list(theirs.children)
    for group in ("prior", "prior_predictive"):
        a, b = ours[group].to_dataset(), theirs[group].to_dataset()
        assert sorted(a.data_vars) == sorted(b.data_vars)
        assert all(a[v].dims == b[v].dims for v in a.data_vars)
        assert a.sizes["draw"] == 3000
    for group in ("observed_data", "constant_data"):
        xr.testing.assert_equal(ours[group].to_dataset(), theirs[group].to_dataset())
    tree = xr.DataTree.from_dict({"posterior": ours["prior"].to_dataset(),
                                  "constant_data": ours["constant_data"].to_dataset()})
    pp = xr.DataTree.from_dict({"posterior_predictive":
                                ours["prior_predictive"].to_dataset()})
    z = _standardised_decay_draws(model, tree, pp)
    n = z.size
    bound = stats.norm.isf(0.001 / 2 / 3)
    assert abs(z.mean()) < bound / np.sqrt(n)
    assert abs(z.var() - 1) < bound * np.sqrt(2 / n)
    flat = z.reshape(-1, z.shape[-1])
    assert abs(np.mean(flat[1:] * flat[:-1])) < bound / np.sqrt(flat[1:].size)
    xr.testing.assert_equal(ppc._prior_over_draws(model, 3000, 11)["prior"],
                            ours["prior"])
    # alpha's HalfCauchy prior: its median is the scale (a wrong size or shared draws
    # would show here too)
    alpha = ours["prior"]["alpha"].values.ravel()
    beta = float(model["alpha"].owner.inputs[-1].eval())
    assert np.unique(alpha).size == alpha.size
    assert abs(np.mean(alpha < beta) - 0.5) < bound * np.sqrt(0.25 / alpha.size)


def test_prior_of_a_model_with_potentials_is_left_to_pymc():
    import pymc_hier.ppc as ppc

    with pm.Model() as model:
        a = pm.Normal("a")
        pm.Potential("p", -(a**2))
    assert ppc._prior_over_draws(model, 10, 0) is None


# -- ppc_table against plain numpy ------------------------------------------------------------
def _toy_tree(seed=0, chains=2, draws=300):
    rng = np.random.default_rng(seed)
    y = np.array([0.5, 3.0, -1.0, 2.0, 0.0, 7.0])
    y_rep = rng.normal(1.0, 2.0, size=(chains, draws, 6))
    coords = {"obs": [f"o{i}" for i in range(6)], "site": ("obs", list("aabbcc")),
              "batch": ("obs", ["u", "u", "u", "u", "v", "w"])}
    return xr.DataTree.from_dict({
        "observed_data": xr.Dataset({"y": ("obs", y)}, coords=coords),
        "posterior_predictive": xr.Dataset({"y": (("chain", "draw", "obs"), y_rep)},
                                           coords=coords),
    }), y, y_rep.reshape(-1, 6)


def test_ppc_table_overall_matches_numpy():
    tree, y, rep = _toy_tree()
    tab = ph.ppc_table(tree, stats=("mean", "sd", "min", "max", "max_abs_z"), ci_prob=0.9)
    assert tab["p_value"].dims == ("statistic",)
    for name in tab["statistic"].values:
        fn = STATISTICS[name]
        t_obs, t_rep = fn(y, axis=-1), fn(rep, axis=-1)
        assert tab["T_obs"].sel(statistic=name) == pytest.approx(t_obs)
        assert tab["T_rep_mean"].sel(statistic=name) == pytest.approx(t_rep.mean())
        np.testing.assert_allclose(tab["T_rep_interval"].sel(statistic=name),
                                   np.quantile(t_rep, [0.05, 0.95]))
        assert tab["p_value"].sel(statistic=name) == pytest.approx(np.mean(t_rep >= t_obs))
    assert tab.attrs["p_value"] == "P(T(y_rep) >= T(y))" and tab.attrs["ci_prob"] == 0.9
    assert tab["T_obs"].sel(statistic="max_abs_z") == pytest.approx(
        np.max(np.abs(y - y.mean())) / y.std(ddof=1))


@pytest.mark.parametrize("by, groups", [
    ("obs", [[i] for i in range(6)]),            # the dimension itself: one value each
    ("site", [[0, 1], [2, 3], [4, 5]]),          # equal-size groups (vectorised path)
    ("batch", [[0, 1, 2, 3], [4], [5]]),         # ragged groups
])
def test_ppc_table_by_group_matches_numpy(by, groups):
    tree, y, rep = _toy_tree()

    def q80(x, axis=-1):
        return np.quantile(x, 0.8, axis=axis)

    tab = ph.ppc_table(tree, stats={"mean": "mean", "q80": q80, "top": np.max}, by=by)
    assert tab["p_value"].dims == ("statistic", by)
    labels = tree["observed_data"]["y"][by].values
    assert [str(v) for v in tab[by].values] == [str(labels[g[0]]) for g in groups]
    for j, idx in enumerate(groups):
        for name, fn in (("mean", np.mean), ("q80", q80), ("top", np.max)):
            t_obs, t_rep = fn(y[idx], axis=-1), fn(rep[:, idx], axis=-1)
            cell = tab.isel({by: j}).sel(statistic=name)
            assert cell["T_obs"] == pytest.approx(t_obs)
            assert cell["p_value"] == pytest.approx(np.mean(t_rep >= t_obs))


def test_ppc_table_sd_of_single_observation_is_nan():
    tree, _, _ = _toy_tree()
    tab = ph.ppc_table(tree, stats=["sd"], by="obs")
    assert np.all(np.isnan(tab["p_value"].values)) and np.all(np.isnan(tab["T_obs"].values))


def test_ppc_table_bad_input():
    tree, _, _ = _toy_tree()
    with pytest.raises(ValueError, match="stats: unknown statistic 'kurtosis'"):
        ph.ppc_table(tree, stats=["mean", "kurtosis"])
    with pytest.raises(ValueError, match="group: unknown group 'posterior_predictive'"):
        ph.ppc_table(tree, group="posterior_predictive")
    with pytest.raises(ValueError, match="no 'prior_predictive' group; run sample_predictive"):
        ph.ppc_table(tree, group="prior")
    with pytest.raises(ValueError, match="by: 'school' is not a coordinate"):
        ph.ppc_table(tree, by="school")
    with pytest.raises(ValueError, match="var_name: 'n_measured' is not an observed variable"):
        ph.ppc_table(tree, var_name="n_measured")
    with pytest.raises(ValueError, match="statistic 'keep' returned shape"):
        ph.ppc_table(tree, stats={"keep": lambda x, axis=-1: x})
    with pytest.raises(ValueError, match="statistic name 'mean' given twice"):
        ph.ppc_table(tree, stats=["mean", np.mean])  # np.mean is named "mean" too
    with pytest.raises(ValueError, match="ci_prob: must be in"):
        ph.ppc_table(tree, ci_prob=1.0)
    with pytest.raises(ValueError, match="no 'observed_data' group"):
        ph.ppc_table(xr.DataTree.from_dict({"posterior_predictive": tree[
            "posterior_predictive"].to_dataset()}))


# -- with the eight schools fit --------------------------------------------------------------
def test_ppc_table_on_fit_posterior_and_prior(eight_schools_ppc):
    idata, _ = eight_schools_ppc
    post = ph.ppc_table(idata)
    assert list(post["statistic"].values) == ["mean", "sd", "min", "max"]
    assert post.attrs["var_name"] == "y" and post.attrs["n_samples"] == 4000
    # the fitted model reproduces these features of the real data: no extreme p-values
    assert np.all((post["p_value"] > 0.025) & (post["p_value"] < 0.975))
    per_school = ph.ppc_table(idata, stats=["mean"], by="school")
    assert [str(s) for s in per_school["school"].values] == SCHOOLS
    prior = ph.ppc_table(idata, group="prior", stats=["mean", "sd"])
    assert prior.attrs["group"] == "prior"
    # same data, other reference distribution
    xr.testing.assert_equal(prior["T_obs"], post["T_obs"].sel(statistic=["mean", "sd"]))
    assert not np.allclose(prior["T_rep_mean"], post["T_rep_mean"].sel(statistic=["mean", "sd"]))


def test_pit_and_loo_pit(eight_schools_ppc):
    idata, _ = eight_schools_ppc
    plain = pit(idata)
    y = idata["observed_data"]["y"]
    manual = (idata["posterior_predictive"]["y"] <= y).mean(("chain", "draw"))
    np.testing.assert_allclose(plain.values, manual.values)
    loo = pit(idata, loo=True)
    np.testing.assert_allclose(loo.values, azs.loo_pit(idata, var_names=["y"])["y"].values)
    assert loo.dims == ("school",) and np.all((loo >= 0) & (loo <= 1))
    prior_pit = pit(idata, group="prior")
    assert prior_pit.dims == ("school",)
    with pytest.raises(ValueError, match="loo=True needs group='posterior'"):
        pit(idata, group="prior", loo=True)


def test_prior_predictive_pvalues_are_uniform(eight_schools_ppc):
    """Calibration: data drawn from the model's own prior predictive.

    The first R = 200 prior-predictive draws serve as 200 simulated data sets, the other
    3800 as the reference distribution. For data from the prior predictive, the prior
    predictive p-value is uniform, so the count in each tenth of [0, 1] is
    Binomial(200, 0.1). Acceptance rule: every count inside the central binomial interval
    of probability 1 - 0.001/30 (Bonferroni over ten bins x three statistics: false alarm
    <= 0.1%). Values piled at 0 or 1 fail the first or last bin.
    """
    idata, _ = eight_schools_ppc
    draws = idata["prior_predictive"]["y"].stack(sample=("chain", "draw")).transpose(
        "sample", "school")
    n_sim = 200
    reference = draws.isel(sample=slice(n_sim, None)).values[None]  # (1, S, school)
    lo, hi = stats.binom.interval(1 - 0.001 / 30, n_sim, 0.1)
    names = ("mean", "sd", "max")
    p = np.empty((n_sim, len(names)))
    for j in range(n_sim):
        tree = xr.DataTree.from_dict({
            "observed_data": xr.Dataset({"y": ("school", draws.values[j])}),
            "prior_predictive": xr.Dataset({"y": (("chain", "draw", "school"), reference)}),
        })
        p[j] = ph.ppc_table(tree, stats=names, group="prior")["p_value"].values
    for k, name in enumerate(names):
        counts = np.histogram(p[:, k], bins=10, range=(0, 1))[0]
        assert np.all((counts >= lo) & (counts <= hi)), (name, counts, (lo, hi))


# -- plots -------------------------------------------------------------------------------------
def test_plots_are_labelled_figures(eight_schools_ppc):
    idata, _ = eight_schools_ppc
    fig = ppc_plots.plot_ppc_intervals(idata)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "school" and ax.get_ylabel() == "y"
    assert [t.get_text() for t in ax.get_xticklabels()] == SCHOOLS
    figs = {
        "dist": ppc_plots.plot_ppc_dist(idata),
        "prior dist": ppc_plots.plot_ppc_dist(idata, group="prior"),
        "tstat": ppc_plots.plot_ppc_tstat(idata, stat="max_abs_z"),
        "pit": ppc_plots.plot_ppc_pit(idata),
        "loo pit": ppc_plots.plot_ppc_pit(idata, loo=True),
    }
    for name, fig in figs.items():
        assert isinstance(fig, Figure), name
        assert fig.axes and fig.axes[0].get_xlabel(), name
    assert figs["tstat"].axes[0].get_xlabel() == "T = max_abs_z(y)"
    assert figs["loo pit"].axes[0].get_xlabel() == "LOO-PIT of y"
    with pytest.raises(ValueError, match="stats: unknown statistic 'nope'"):
        ppc_plots.plot_ppc_tstat(idata, stat="nope")
    matplotlib.pyplot.close("all")


# -- misspecification (slow: a real fit of altered data) ---------------------------------------
@pytest.mark.slow
def test_outlier_school_gives_extreme_pvalue():
    """School A at 80 instead of 28: Grubbs' statistic and A's LOO-PIT flag it.

    The ordinary statistics (mean, sd, per-school means) are not extreme: with its own
    theta, a hierarchical model reproduces any single school in the posterior predictive;
    only a statistic comparing the schools with each other (or leaving A out) sees it.
    """
    y = np.array(ph.EIGHT_SCHOOLS.y)
    y[0] = 80.0
    data = ph.SchoolsData(y=y, sigma=ph.EIGHT_SCHOOLS.sigma, names=SCHOOLS)
    model = ph.eight_schools_model(data)
    idata = ph.fit(model, sampler="nutpie", random_seed=FIT_SEED, progressbar=False)
    idata = ph.sample_predictive(idata, model, prior=False, random_seed=FIT_SEED)
    tab = ph.ppc_table(idata, stats=["mean", "max_abs_z"])
    assert float(tab["p_value"].sel(statistic="max_abs_z")) < 0.025
    assert 0.025 < float(tab["p_value"].sel(statistic="mean")) < 0.975
    assert float(pit(idata, loo=True).sel(school="A")) > 0.99


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pymc_hier.diagnostics.SamplingWarning")
def test_offset_widget_measurements_give_extreme_min_pvalue(lecture_data):
    """Every measurement shifted up by 0.3 (about 4 noise sds): the floor moves.

    In the default model (N0 integrated out, t0 latent) replicated measurements come
    from a fresh uniform initial amount, so with the true data the smallest replicate is
    as low as the smallest measurement (p of ``min`` ordinary); after the shift no
    measurement is near zero while the replicates still are: p(min) near 0.
    Short runs (2 x 500 draws): their R-hat warnings are not the subject here.
    """
    shifted = dataclasses.replace(lecture_data,
                                  n_measured=np.asarray(lecture_data.n_measured) + 0.3)
    p_min = {}
    for name, data in (("true", lecture_data), ("shifted", shifted)):
        model = ph.decay_model(data)
        idata = ph.fit(model, draws=500, tune=500, chains=2, sampler="nutpie",
                       random_seed=FIT_SEED, progressbar=False)
        idata = ph.sample_predictive(idata, model, prior=False, log_likelihood=False,
                                     random_seed=FIT_SEED)
        p_min[name] = float(ph.ppc_table(idata, stats=["min"])["p_value"][0])
    assert 0.025 < p_min["true"] < 0.975, p_min
    assert p_min["shifted"] < 0.025, p_min


@pytest.mark.slow
def test_posterior_pvalues_are_not_piled_at_0_or_1():
    """Calibration of posterior predictive p-values over data simulated from the prior.

    R = 100 data sets from the (centered) model's prior predictive; each gets exact i.i.d.
    posterior draws (``pymc_hier.exact``), posterior predictive draws and p-values. For
    such data P(p <= a) <= 2a for every a (Meng 1994, p-values are sub-uniform), so the
    number below 0.025 (and, for 1 - p, above 0.975) is at most Binomial(100, 0.05).
    Acceptance rule: each tail count <= the binomial quantile at 1 - 0.001/6 (Bonferroni
    over 3 statistics x 2 tails). Also E[p] = 0.5 exactly (y and y_rep are exchangeable)
    and Var(p) <= 1/12, so |mean(p) - 0.5| <= 3.9 sqrt(1 / (12 R)) (z for 0.001/6 two-sided).
    """
    from pymc_hier.normal.exact import hierarchical_normal_posterior

    n_sim, names = 100, ("mean", "sd", "max_abs_z")
    base = ph.eight_schools_model(parametrization="centered")
    sims = pm.sample_prior_predictive(draws=n_sim, model=base, random_seed=FIT_SEED)
    ys = sims["prior_predictive"]["y"].values[0]
    p = np.empty((n_sim, len(names)))
    for r in range(n_sim):
        data = ph.SchoolsData(y=ys[r], sigma=ph.EIGHT_SCHOOLS.sigma, names=SCHOOLS)
        post = hierarchical_normal_posterior(data).sample(draws=250, chains=4, random_seed=r)
        model = ph.eight_schools_model(data, parametrization="centered")
        tree = ph.sample_predictive(post, model, prior=False, log_likelihood=False,
                                    random_seed=r)
        p[r] = ph.ppc_table(tree, stats=names)["p_value"].values
    limit = stats.binom.ppf(1 - 0.001 / 6, n_sim, 0.05)
    z = stats.norm.isf(0.001 / 6 / 2)
    for k, name in enumerate(names):
        assert np.sum(p[:, k] <= 0.025) <= limit, (name, np.sort(p[:, k])[:10])
        assert np.sum(p[:, k] >= 0.975) <= limit, (name, np.sort(p[:, k])[-10:])
        assert abs(p[:, k].mean() - 0.5) <= z * np.sqrt(1 / (12 * n_sim)), name



# -- exact fits of non-centred models: drawn from the model as written (issue 19, item 9) ---
def test_sample_predictive_of_an_exact_noncentered_schools_fit():
    model = ph.eight_schools_model()  # samples theta_scaled; the exact draws hold theta
    idata = ph.fit(model, sampler="exact", draws=1000, chains=2, random_seed=3,
                   progressbar=False)
    assert "theta_scaled" not in idata["posterior"]
    out = ph.sample_predictive(idata, model, random_seed=4)
    theta = idata["posterior"]["theta"]
    sigma = idata["constant_data"]["sigma"]
    y_rep = out["posterior_predictive"]["y"]
    assert y_rep.dims == ("chain", "draw", "school")
    # the pointwise log-likelihood is Normal(y | theta, sigma) at every draw
    expected = stats.norm.logpdf(idata["observed_data"]["y"], theta, sigma)
    np.testing.assert_allclose(out["log_likelihood"]["y"].transpose(*theta.dims), expected,
                               rtol=1e-10)
    # y_rep - theta ~ Normal(0, sigma): its mean is 0 within Monte Carlo error
    resid = (y_rep - theta) / sigma
    assert abs(float(resid.mean())) < 4 / np.sqrt(resid.size)
    assert abs(float(resid.std()) - 1) < 0.02
    assert "prior_predictive" in out.children


def test_sample_predictive_of_an_exact_decay_fit_with_latent_n0():
    data = ph.simulate_decay(1, n_widgets=10)
    model = ph.decay_model(data, n0="latent")  # samples N1; the exact draws hold N0
    idata = ph.fit(model, sampler="exact", draws=500, chains=2, random_seed=3,
                   progressbar=False)
    out = ph.sample_predictive(idata, model, random_seed=4)
    post = idata["posterior"]
    t1 = idata["constant_data"]["t_measured"]
    sigma = idata["constant_data"]["sigma"]
    mean = post["N0"] * np.exp(-post["alpha"] * (t1 - post["t0"]))
    # an exact fit is scored as the model is written: given N0 (pymc_hier.written)
    expected = stats.norm.logpdf(idata["observed_data"]["n_measured"], mean, sigma)
    ll = out["log_likelihood"]["n_measured"]
    np.testing.assert_allclose(ll.transpose(*mean.dims), expected, rtol=1e-10)
    resid = (out["posterior_predictive"]["n_measured"] - mean) / sigma
    assert abs(float(resid.mean())) < 4 / np.sqrt(resid.size)
    assert ph.ppc_table(out)["p_value"].notnull().all()


def test_sample_predictive_still_refuses_a_posterior_of_another_model():
    model = ph.eight_schools_model()
    idata = ph.fit(model, sampler="exact", draws=250, chains=2, random_seed=3,
                   progressbar=False)
    idata["posterior"] = xr.DataTree(idata["posterior"].to_dataset().drop_vars("theta"))
    with pytest.raises(ValueError, match=r"free variables \['theta_scaled', "
                                         r"'theta_new_tilde'\] are not in idata's posterior"):
        ph.sample_predictive(idata, model, random_seed=4)


# -- the draws over blocks on users' own models, against PyMC's draw-by-draw ones ---------------
def _zoo(name):
    idx = np.array([0, 0, 1, 1, 2, 2])
    with pm.Model(coords={"g": range(3), "obs": range(6)}) as m:
        if name == "hierarchical":
            mu, s = pm.Normal("mu", 0, 1), pm.HalfNormal("s", 1)
            th = pm.Normal("th", mu, s, dims="g")
            pm.Normal("y", th[idx], 1.0, observed=np.arange(6.0), dims="obs")
        elif name == "dirichlet":
            pm.Categorical("y", pm.Dirichlet("p", np.ones(3)), observed=[0, 1, 2, 2])
        elif name == "mvnormal":
            mu = pm.MvNormal("mu", np.zeros(2), np.eye(2))
            pm.MvNormal("y", mu, np.eye(2) * 0.5, observed=np.ones((4, 2)))
        elif name == "regression":
            x = pm.Data("x", np.linspace(0, 1, 5))
            b, sig = pm.Normal("b", 0, 1, shape=2), pm.Exponential("sig", 1)
            mean = pm.Deterministic("mean", b[0] + b[1] * x)
            pm.StudentT("y", nu=4, mu=mean, sigma=sig, observed=np.ones(5))
        elif name == "binomial":
            a = pm.Normal("a", 0, 1, shape=3)
            pm.Binomial("y", n=10, p=pm.math.invlogit(a), observed=[3, 4, 5])
        elif name == "custom and unconditioned":
            a = pm.Normal("a", 0, 1)
            pm.CustomDist("y", a, dist=lambda a, size: pm.Normal.dist(a, 1, size=size)
                          + pm.Exponential.dist(1, size=size), observed=np.zeros(3))
            pm.Normal("noise", 0, 1, observed=[0.3, 0.1])
        elif name == "random walk":
            pm.GaussianRandomWalk("y", sigma=pm.HalfNormal("s", 1), steps=5,
                                  init_dist=pm.Normal.dist(0, 1), observed=np.zeros(6))
        elif name == "mixture":   # not vectorised: PyMC draws it
            pm.NormalMixture("y", pm.Dirichlet("w", np.ones(2)),
                             pm.Normal("mus", [-2, 2], 1, shape=2), 1.0, observed=np.zeros(7))
    return m


def _moments_agree(ours, theirs, label):
    """Means and variances of every element within their Monte Carlo error (0.1 %,
    Bonferroni over the elements)."""
    a = ours.values.reshape(-1, int(np.prod(ours.shape[2:], dtype=int))).astype(float)
    b = theirs.values.reshape(-1, a.shape[1]).astype(float)
    bound = stats.norm.isf(0.001 / 2 / (2 * a.shape[1]))
    se_mean = np.sqrt((a.var(0) + b.var(0)) / len(a))
    assert np.all(np.abs(a.mean(0) - b.mean(0)) <= bound * se_mean + 1e-12), label

    def se_var(x):   # the sample variance's standard error, from the fourth moment
        c = x - x.mean(0)
        return np.sqrt(np.maximum((c**4).mean(0) - x.var(0) ** 2, 0) / len(x))

    se = np.sqrt(se_var(a) ** 2 + se_var(b) ** 2)
    assert np.all(np.abs(a.var(0) - b.var(0)) <= bound * se + 1e-12), label


@pytest.mark.parametrize(("name", "vectorised"), [
    ("hierarchical", True), ("dirichlet", True), ("mvnormal", True), ("regression", True),
    ("binomial", True), ("custom and unconditioned", True), ("random walk", True),
    ("mixture", False)])
def test_predictive_draws_of_own_models_match_pymc(name, vectorised):
    """Prior, prior predictive and posterior predictive draws of users' models (coords,
    data, deterministics, multivariate and discrete variables, a CustomDist, an observed
    variable that depends on nothing, a scan) have PyMC's variables, dims and moments; a
    model that cannot be drawn so is left to PyMC."""
    import pymc_hier.ppc as ppc

    model = _zoo(name)
    n = 3000
    ours = ppc._prior_over_draws(model, n, 7)
    assert (ours is not None) == vectorised
    theirs = pm.sample_prior_predictive(n, model=model, random_seed=8)
    post = theirs["prior"].to_dataset()
    tree = xr.DataTree.from_dict({g: theirs[g].to_dataset() for g in
                                  ("observed_data", "constant_data") if g in theirs.children}
                                 | {"posterior": post})
    tree["constant_data"] = tree.get("constant_data", xr.DataTree(xr.Dataset()))
    pp = ppc._posterior_predictive_over_draws(tree, model, np.random.default_rng(9))
    assert (pp is not None) == vectorised
    if not vectorised:
        return
    ref = pm.sample_posterior_predictive(tree, model=model, random_seed=10, progressbar=False)
    for mine, pymcs, group in ((ours, theirs, "prior"), (ours, theirs, "prior_predictive"),
                               (pp, ref, "posterior_predictive")):
        a, b = mine[group].to_dataset(), pymcs[group].to_dataset()
        assert sorted(a.data_vars) == sorted(b.data_vars), group
        for v in b.data_vars:
            assert a[v].dims == b[v].dims and a[v].shape == b[v].shape, (group, v)
            _moments_agree(a[v], b[v], (group, v))


def test_moment_check_tells_a_shifted_or_wider_sample_apart():
    rng = np.random.default_rng(12)
    dims = ("chain", "draw", "obs")
    base = xr.DataArray(rng.normal(size=(1, 3000, 2)), dims=dims)
    same = xr.DataArray(rng.normal(size=(1, 3000, 2)), dims=dims)
    _moments_agree(same, base, "same distribution")
    with pytest.raises(AssertionError):
        _moments_agree(same + 0.15, base, "shifted by 0.15 sd")
    with pytest.raises(AssertionError):
        _moments_agree(same * 1.1, base, "10% wider")
