"""Funnels: per-group advice, parametrization="auto" recorded in the provenance, the funnel
plot's sigma line and per-group predictive test statistics."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pymc as pm  # noqa: E402
import pytensor.tensor as pt  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import pymc_hier as ph  # noqa: E402
from pymc_hier.normal.exact import hierarchical_normal_posterior  # noqa: E402
from pymc_hier.normal.problem import centered_groups  # noqa: E402
from pymc_hier.plots.ppc import plot_ppc_tstat  # noqa: E402
from pymc_hier.ppc import tstat_draws  # noqa: E402
from pymc_hier.records import provenance  # noqa: E402
from pymc_hier.registry import model_from_fit  # noqa: E402
from pymc_hier.spec import get_spec  # noqa: E402

SEED = 20261206
# precise and vague groups: tau's posterior median is about 4.5
MIXED = ph.SchoolsData(y=[1.0, 5.0, 9.0, -3.0, 12.0, 20.0, 0.0, 4.0, 8.0, 6.0],
                       sigma=[1.0, 2.0, 15.0, 20.0, 1.5, 25.0, 3.0, 10.0, 2.0, 30.0])
PRECISE = ["0", "1", "4", "6", "8"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_auto_centres_the_informative_groups_and_records_it():
    model = ph.hierarchical_normal_model(MIXED, parametrization="auto")
    options = get_spec(model).options
    assert options["centered"] == PRECISE
    tau = float(hierarchical_normal_posterior(MIXED).quantile(0.5, var="tau"))
    expected = np.asarray(MIXED.names)[centered_groups(MIXED.sigma, tau)].tolist()
    assert options["centered"] == expected
    assert {v.name for v in model.free_RVs} == {"mu", "tau", "theta_raw", "theta_new_tilde"}
    # the choice travels with a fit and rebuilds the same model
    idata = ph.fit(model, sampler="exact", random_seed=1, draws=500, chains=2)
    assert provenance(idata)["factory_options"]["centered"] == PRECISE
    assert get_spec(model_from_fit(idata)).config_hash() == get_spec(model).config_hash()
    # eight schools: every school's data are weaker than the population: none centred
    assert get_spec(ph.eight_schools_model(parametrization="auto")).options["centered"] == []


def _tau_value(model, tau):
    """``tau`` on the sampler's scale of ``model`` (each form may map it its own way)."""
    rv = model["tau"]
    value = model.rvs_to_values[rv]
    transform = model.rvs_to_transforms.get(rv)
    if transform is None:
        return {value.name: tau}
    forward = transform.forward(pt.as_tensor(tau), *rv.owner.inputs)
    return {value.name: model.compile_fn(forward, inputs=[], on_unused_input="ignore")({})}


def test_auto_is_the_same_model():
    """theta_raw is theta for centred groups, theta_scaled for the others."""
    auto = ph.hierarchical_normal_model(MIXED, parametrization="auto", centered=["0", "2"])
    centred = ph.hierarchical_normal_model(MIXED, parametrization="centered")
    mu, tau = 1.5, 3.0
    theta = np.linspace(-4.0, 8.0, 10)
    raw = theta.copy()
    others = ~np.isin(np.asarray(MIXED.names), ["0", "2"])
    ratio = np.hypot(MIXED.sigma, tau) / MIXED.sigma
    raw[others] = ((theta - mu) * ratio / tau)[others]
    auto_logp = auto.compile_logp(jacobian=False)
    centred_logp = centred.compile_logp(jacobian=False)
    a = auto_logp({"mu": mu, **_tau_value(auto, tau), "theta_raw": raw,
                   "theta_new_tilde": 0.0})
    c = centred_logp({"mu": mu, **_tau_value(centred, tau), "theta": theta, "theta_new": mu})
    # densities of the two coordinates differ by the Jacobian of theta = mu + tau / ratio
    # * raw for the non-centred groups, and by theta_new's (log tau at theta_new = mu)
    assert a - c == pytest.approx(np.log(tau / ratio[others]).sum() + np.log(tau))


def test_centered_is_checked():
    with pytest.raises(ValueError, match="centered: only applies"):
        ph.hierarchical_normal_model(MIXED, centered=["0"])
    with pytest.raises(ValueError, match="not groups"):
        ph.hierarchical_normal_model(MIXED, parametrization="auto", centered=["zz"])


@pytest.mark.slow  # two nutpie fits, about 20 s
def test_auto_samples_the_exact_posterior_better_than_noncentered():
    model = ph.hierarchical_normal_model(MIXED, parametrization="auto")
    idata = ph.fit(model, random_seed=SEED, progressbar=False)  # warnings are errors
    assert int(idata["sample_stats"]["diverging"].sum()) == 0
    exact = hierarchical_normal_posterior(MIXED)
    q = np.quantile(idata["posterior"]["tau"].values, [0.1, 0.5, 0.9])
    np.testing.assert_allclose(q, exact.quantile([0.1, 0.5, 0.9], var="tau"), rtol=0.1)
    plain = ph.hierarchical_normal_model(MIXED)
    other = ph.fit(plain, random_seed=SEED, progressbar=False)
    # measured over 3 seeds: smallest bulk ESS 2100-3500 (auto) against 740-980
    assert idata["diagnostics"].attrs["min_ess_bulk"] > \
        1.5 * other["diagnostics"].attrs["min_ess_bulk"]


def test_advice_weighs_sigma_against_the_posterior_of_tau():
    model = ph.hierarchical_normal_model(MIXED)
    idata = ph.fit(model, sampler="exact", random_seed=SEED, draws=1000)
    advice = ph.parametrization_advice(idata, model)
    assert advice.attrs["sigma_source"] == "data"
    np.testing.assert_array_equal(advice["sigma"], MIXED.sigma)
    centred = advice["school"].values[advice["advice"].values == "centered"].tolist()
    assert centred == PRECISE
    tau = idata["posterior"]["tau"].values.ravel()
    assert float(advice["p_tau_above_sigma"].sel(school="6")) == pytest.approx(
        (tau > 3.0).mean())
    with pytest.raises(ValueError, match="no normal hierarchy"):
        line = ph.straight_line_model([0.0, 1.0, 2.0], [1.0, 2.0, 2.5], [1.0, 1.0, 1.0])
        ph.parametrization_advice(ph.fit(line, sampler="exact", random_seed=1, draws=400),
                                  line)


def test_advice_estimates_sigma_for_many_observations_per_group():
    rng = np.random.default_rng(SEED)
    g = np.repeat(np.arange(4), [2, 2, 40, 40])
    with pm.Model(coords={"county": list("abcd"), "obs": range(g.size)}) as model:
        gi = pm.Data("g", g, dims="obs")
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfNormal("tau", 1.0)
        theta = pm.Normal("theta", mu, tau, dims="county")
        pm.Normal("y", theta[gi], 1.0, observed=rng.normal(size=g.size), dims="obs")
    # draws shaped like a posterior: counties c, d pinned by 40 observations each
    post = xr.Dataset({"mu": (("chain", "draw"), rng.normal(0, 0.1, (2, 400))),
                       "tau": (("chain", "draw"), np.full((2, 400), 0.5)),
                       "theta": (("chain", "draw", "county"),
                                 rng.normal(0, [0.45, 0.45, 0.15, 0.15], (2, 400, 4)))},
                      coords={"county": list("abcd")})
    advice = ph.parametrization_advice(xr.DataTree.from_dict({"posterior": post}), model)
    assert advice.attrs["sigma_source"] == "estimated"
    assert advice["advice"].values.tolist() == ["noncentered", "noncentered", "centered",
                                                "centered"]


def test_funnel_plot_marks_where_tau_equals_sigma():
    model = ph.eight_schools_model()
    idata = ph.fit(model, sampler="exact", random_seed=1, draws=300, chains=2)
    fig = ph.plot_funnel(idata, coords=["A", "E"])
    for ax, sigma in zip(fig.axes, (15.0, 9.0), strict=True):
        lines = [ln for ln in ax.lines if ln.get_label().startswith("tau = σ")]
        assert len(lines) == 1 and lines[0].get_ydata()[0] == pytest.approx(np.log(sigma))
    assert not any(ln.get_label().startswith("tau = σ")
                   for ln in ph.plot_funnel(idata, sigma=None).axes[0].lines)
    with pytest.raises(ValueError, match="sigma"):
        ph.plot_funnel(idata, sigma=[1.0, 2.0])


def test_per_group_test_statistics_are_faceted_by_group_name(eight_schools_ppc):
    idata, _ = eight_schools_ppc
    fig = plot_ppc_tstat(idata, stat="mean", by="school")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert [t.split()[0] for t in titles] == list("ABCDEFGH")
    table = ph.ppc_table(idata, stats=["mean"], by="school")
    p = table["p_value"].sel(statistic="mean").values
    assert [float(t.split("p = ")[1].rstrip(")")) for t in titles] == pytest.approx(p,
                                                                                    abs=0.006)
    few = plot_ppc_tstat(idata, stat="mean", by="school", max_groups=3)
    shown = [ax.get_title().split()[0] for ax in few.axes if ax.get_visible()]
    extreme = np.asarray(list("ABCDEFGH"))[np.argsort(-np.abs(p - 0.5), kind="stable")[:3]]
    assert sorted(shown) == sorted(extreme) and "3 of 8" in few.get_suptitle()
    draws = tstat_draws(idata, stat="max", by="school")
    assert draws["T_rep"].dims == ("chain", "draw", "school")
    np.testing.assert_array_equal(draws["T_obs"].values, ph.EIGHT_SCHOOLS.y)
