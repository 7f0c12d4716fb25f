"""Complete, partial and no pooling: the normal family's levels, their exact posteriors,
compare_pooling and its shrinkage plot."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import pymc_hier as ph  # noqa: E402
from pymc_hier.normal.exact import hierarchical_normal_posterior  # noqa: E402
from pymc_hier.normal.pooled import pooled_posterior  # noqa: E402
from pymc_hier.spec import get_spec  # noqa: E402

SEED = 20261203
DATA = ph.EIGHT_SCHOOLS


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def schools_pooling():
    return ph.compare_pooling(DATA, random_seed=SEED, draws=2000)


def test_levels_build_their_own_variables_and_priors():
    complete = ph.eight_schools_model(pooling="complete")
    none = ph.eight_schools_model(pooling="none")
    assert sorted(v.name for v in complete.free_RVs) == ["mu"]
    assert sorted(v.name for v in none.free_RVs) == ["theta"]
    # complete pooling: one effect for every school
    point = {"mu": 3.0}
    theta = complete.compile_fn(complete["theta"], inputs=[complete["mu"]])(point)
    np.testing.assert_array_equal(theta, np.full(8, 3.0))
    # no pooling: the mu prior ten times wider by default, flat under the bda preset
    assert dict(get_spec(none).priors) == {"theta": ph.Prior("Normal", mu=0.0, sigma=50.0)}
    assert get_spec(ph.eight_schools_model(pooling="none", priors="bda")).priors["theta"] \
        == ph.Prior("Flat")
    mine = ph.Prior("Normal", mu=0.0, sigma=20.0)
    assert get_spec(ph.eight_schools_model(pooling="none", priors={"theta": mine})) \
        .priors["theta"] == mine
    with pytest.raises(ValueError, match="no parameter 'tau'"):
        ph.eight_schools_model(pooling="complete", priors={"tau": ph.Prior("HalfNormal",
                                                                           sigma=1.0)})
    with pytest.raises(ValueError, match="pooling: must be one of"):
        ph.eight_schools_model(pooling="some")
    with pytest.raises(ValueError, match="theta_storage"):
        ph.eight_schools_model(pooling="none", theta_storage="float32")


def test_pooled_posteriors_are_the_conjugate_normals():
    y, s = np.asarray(DATA.y), np.asarray(DATA.sigma)
    # complete pooling under a flat prior: the precision-weighted mean (BDA 5.5: 7.7 ± 4.1)
    flat = pooled_posterior(DATA, {"mu": ph.Prior("Flat")}, "complete")
    w = 1 / s**2
    assert float(flat.loc) == pytest.approx((w * y).sum() / w.sum())
    assert float(flat.scale) == pytest.approx(w.sum() ** -0.5)
    assert (round(float(flat.loc), 1), round(float(flat.scale), 1)) == (7.7, 4.1)
    # no pooling under Normal(0, 50): each school's own normal update
    none = pooled_posterior(DATA, {"theta": ph.Prior("Normal", mu=0.0, sigma=50.0)}, "none")
    prec = 1 / 50**2 + w
    np.testing.assert_allclose(none.loc, w * y / prec)
    np.testing.assert_allclose(none.scale, prec**-0.5)
    # draws agree with the moments within Monte Carlo error
    tree = none.sample(4000, 2, random_seed=SEED)
    draws = tree["posterior"]["theta"]
    n = draws.sizes["chain"] * draws.sizes["draw"]
    err = np.abs(draws.mean(("chain", "draw")).values - none.loc)
    assert np.all(err < 4 * none.scale / np.sqrt(n))
    with pytest.raises(ValueError, match="Normal or Flat"):
        pooled_posterior(DATA, {"mu": ph.Prior("StudentT", nu=3.0, mu=0.0, sigma=1.0)},
                         "complete")


@pytest.mark.parametrize("priors", ["default", "bda"])
def test_exact_partial_pooling_lies_between_complete_and_none(priors):
    """Every school's exact posterior mean under partial pooling lies between the others."""
    resolved = {level: get_spec(ph.eight_schools_model(pooling=level, priors=priors)).priors
                for level in ("complete", "none")}
    complete = float(pooled_posterior(DATA, resolved["complete"], "complete").loc)
    none = pooled_posterior(DATA, resolved["none"], "none").loc
    partial = hierarchical_normal_posterior(DATA, priors=priors).mean(var="theta")
    low, high = np.minimum(complete, none), np.maximum(complete, none)
    assert np.all((partial > low) & (partial < high)), (complete, partial, none)
    # the check can fail: the no-pooling means themselves do not lie strictly between
    assert not np.all((none > low) & (none < high))


def test_compare_pooling_eight_schools(schools_pooling):
    ds = schools_pooling
    assert list(ds["pooling"].values) == ["complete", "partial", "none"]
    assert ds["theta"].dims == ("pooling", "school", "stat")
    assert list(ds["stat"].values) == ["mean", "sd", "lower", "upper"]
    assert (ds["sampler"] == "exact").all()
    mean = ds["theta"].sel(stat="mean")
    # the criterion, on the Monte Carlo summaries of 4 x 2000 exact draws
    low = np.minimum(mean.sel(pooling="complete"), mean.sel(pooling="none"))
    high = np.maximum(mean.sel(pooling="complete"), mean.sel(pooling="none"))
    assert bool(((mean.sel(pooling="partial") > low) & (mean.sel(pooling="partial") < high))
                .all())
    # population parameters where they exist, NaN elsewhere
    assert np.isnan(ds["tau"].sel(pooling=["complete", "none"])).all()
    assert np.isfinite(ds["tau"].sel(pooling="partial")).all()
    assert np.isnan(ds["mu"].sel(pooling="none")).all()
    # elpd: the exact leave-one-out sums; PSIS from arviz_stats beside them
    np.testing.assert_allclose(ds["elpd_loo"], ds["elpd_i"].sum("school"))
    assert (ds["elpd_source"] == "exact").all()
    assert abs(float(ds["elpd_psis"].sel(pooling="partial") - ds["elpd_loo"]
                     .sel(pooling="partial"))) < 1.0
    # the comparison table: no pooling predicts a left-out school worst
    assert float(ds["rank"].sel(pooling="none")) == 2
    assert ds["elpd_diff"].where(ds["rank"] == 0, drop=True).item() == 0
    assert float(ds["elpd_loo"].sel(pooling="none")) < float(ds["elpd_loo"]
                                                             .sel(pooling="partial")) - 5
    assert ds.attrs["effect"] == "theta" and ds.attrs["group_dim"] == "school"
    xr.testing.assert_equal(ds["y"], DATA.to_dataset()["y"])


def test_compare_pooling_levels_and_errors():
    ds = ph.compare_pooling(DATA, random_seed=1, draws=500, chains=2,
                            levels=["none", "complete"])
    assert list(ds["pooling"].values) == ["complete", "none"]
    with pytest.raises(ValueError, match="levels"):
        ph.compare_pooling(DATA, random_seed=1, levels=["partial"])
    with pytest.raises(ValueError, match="no levels of pooling"):
        ph.compare_pooling(ph.simulate_line(n_points=5), "straight_line", random_seed=1)
    with pytest.raises(ValueError, match="sampler"):
        ph.compare_pooling(DATA, random_seed=1, sampler="gibbs")
    with pytest.raises(TypeError, match="family"):
        ph.compare_pooling(DATA, 3, random_seed=1)


def test_plot_shrinkage_draws_every_level(schools_pooling):
    fig = ph.plot_shrinkage(schools_pooling)
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0] == "own estimate ± 1 s.e."
    assert {"no pooling, 90% interval", "partial pooling, 90% interval",
            "complete pooling, 90% interval"} <= set(texts)
    assert ax.get_xlabel() == "group effect"
    # rows sorted by the own estimate
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == list(DATA.to_dataframe()["y"].sort_values(kind="stable").index)
    # beside a fit: the other levels' means as markers (complete pooling: one line)
    fit = ph.fit(ph.eight_schools_model(), sampler="exact", random_seed=1, draws=500)
    fig = ph.plot_shrinkage(fit, pooling=schools_pooling)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "no pooling" in texts and "complete pooling" in texts
    # many groups: a scatter
    wide = ph.plot_shrinkage(schools_pooling, max_rows=4)
    assert "own estimate" in wide.axes[0].get_xlabel()
