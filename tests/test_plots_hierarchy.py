"""The report's figures as public functions: forest, shrinkage, funnel, rank, sweep plots."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import pymc_hier as ph  # noqa: E402
from pymc_hier.plots.diagnostics import plot_rank  # noqa: E402
from pymc_hier.plots.sweep import default_sweep_vars, interval_stats, plot_sweep  # noqa: E402

SEED = 20261202


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _tree(n_groups=5, chains=2, draws=200, seed=SEED, divergent=()):
    rng = np.random.default_rng(seed)
    names = [f"g{k}" for k in range(n_groups)]
    centres = np.linspace(-2.0, 2.0, n_groups)[::-1]  # data order is not sorted order
    theta = centres + rng.normal(size=(chains, draws, n_groups)) * np.linspace(0.5, 2.0,
                                                                             n_groups)
    post = xr.Dataset({
        "theta": (("chain", "draw", "group"), theta, {"long_name": "group effect",
                                                      "units": "points"}),
        "mu": (("chain", "draw"), rng.normal(0.0, 0.3, (chains, draws))),
        "tau": (("chain", "draw"), np.exp(rng.normal(0.0, 0.5, (chains, draws)))),
    }, coords={"chain": np.arange(chains), "draw": np.arange(draws), "group": names})
    diverging = np.zeros((chains, draws), dtype=bool)
    diverging.flat[list(divergent)] = True
    return xr.DataTree.from_dict({
        "posterior": post,
        "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), diverging)},
                                   coords={"chain": np.arange(chains),
                                           "draw": np.arange(draws)}),
        "observed_data": xr.Dataset({"y": ("group", centres * 2)}, coords={"group": names}),
        "constant_data": xr.Dataset({"sigma": ("group", np.linspace(1, 3, n_groups))},
                                    coords={"group": names}),
    })


def _points(ax, marker):
    return sum(len(line.get_xdata()) for line in ax.lines if line.get_marker() == marker)


def test_forest_is_sorted_by_posterior_mean_with_the_truth():
    tree = _tree()
    truth = xr.DataArray(np.arange(5.0), dims="group",
                         coords={"group": [f"g{k}" for k in range(5)]})
    fig = ph.plot_forest(tree, "theta", truth=truth, ci_prob=0.8)
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    means = tree["posterior"]["theta"].mean(("chain", "draw")).to_series()
    assert labels == list(means.sort_values().index)  # top row: smallest mean
    assert _points(ax, "x") == 5
    crosses = next(line for line in ax.lines if line.get_marker() == "x")
    # truth aligned by label, drawn in the sorted order
    assert list(crosses.get_xdata()) == [float(truth.sel(group=g)) for g in labels]
    assert ax.get_xlabel() == "group effect [points]"
    assert "80% interval" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_forest_of_many_units_is_a_caterpillar():
    fig = ph.plot_forest(_tree(n_groups=60), "theta", max_rows=40)
    (ax,) = fig.axes
    assert ax.get_xlim() == (0, 61) and "by rank" in ax.get_xlabel()
    assert _points(ax, "x") == 0


def test_caterpillars_of_thousands_of_units_say_how_they_were_thinned():
    tree = _tree(n_groups=3000, draws=20)
    fig = ph.plot_forest(tree, "theta", max_points=500)
    (ax,) = fig.axes
    (segments,) = [c for c in ax.collections if len(c.get_segments())]
    assert len(segments.get_segments()) == 500
    assert "3000 groups, 500 evenly spaced ranks shown" in ax.get_xlabel()
    fig = ph.plot_shrinkage(tree, max_points=400)
    assert "(400 of 3000 groups" in fig.axes[0].get_xlabel()


def test_forest_refuses_bad_input():
    tree = _tree()
    with pytest.raises(ValueError, match="var_name: 'nope'"):
        ph.plot_forest(tree, "nope")
    with pytest.raises(ValueError, match=r"dims \(chain, draw, unit\)"):
        ph.plot_forest(tree, "mu")
    with pytest.raises(ValueError, match="truth: expected 5"):
        ph.plot_forest(tree, "theta", truth=[1.0, 2.0])
    with pytest.raises(TypeError, match="idata"):
        ph.plot_forest({"theta": 1}, "theta")
    with pytest.raises(ValueError, match="ci_prob"):
        ph.plot_forest(tree, "theta", ci_prob=1.0)


def test_shrinkage_draws_own_estimates_posteriors_and_pooled_mean():
    tree = _tree()
    fig = ph.plot_shrinkage(tree, effect="theta", observed="y", sigma="sigma", mean="mu")
    (ax,) = fig.axes
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "own estimate ± 1 s.e." in texts and "pooled mean" in texts
    arrows = [c for c in ax.get_children() if isinstance(c, matplotlib.text.Annotation)]
    assert len(arrows) == 5
    # rows sorted by the own estimate y (data order is descending)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [f"g{k}" for k in range(4, -1, -1)]


def test_shrinkage_compares_other_poolings():
    tree = _tree()
    names = [f"g{k}" for k in range(5)]
    pooling = xr.Dataset({
        "none": ("group", np.arange(5.0), {"long_name": "no pooling"}),
        "complete": ((), 0.25, {"long_name": "complete pooling"}),
    }, coords={"group": names})
    fig = ph.plot_shrinkage(tree, pooling=pooling)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "no pooling" in texts and "complete pooling" in texts
    with pytest.raises(TypeError, match="pooling"):
        ph.plot_shrinkage(tree, pooling={"none": 1})
    with pytest.raises(ValueError, match="observed: 'nope'"):
        ph.plot_shrinkage(tree, observed="nope")


def test_funnel_marks_the_divergent_draws():
    tree = _tree(divergent=range(0, 70, 10))
    fig = ph.plot_funnel(tree, effect="theta", scale="tau")
    (ax,) = fig.axes
    red = [line for line in ax.lines if line.get_label().startswith("divergent")]
    assert len(red) == 1 and len(red[0].get_xdata()) == 7
    assert red[0].get_label() == "divergent (7)"
    # the default group: the widest posterior (the last one here)
    assert ax.get_xlabel().endswith("group g4")
    assert len(ph.plot_funnel(tree, coords=["g0", "g1"]).axes) == 2
    with pytest.raises(ValueError, match="coords"):
        ph.plot_funnel(tree, coords=["nope"])
    with pytest.raises(TypeError, match="idata"):
        ph.plot_funnel(tree["posterior"].to_dataset())
    with pytest.raises(ValueError, match="scale"):
        ph.plot_funnel(tree, scale="mu")  # not positive


def test_rank_plot_is_one_figure():
    fig = plot_rank(_tree(), ["mu", "tau"])
    assert isinstance(fig, Figure) and len(fig.axes) >= 2
    with pytest.raises(ValueError, match="var_names"):
        plot_rank(_tree(), ["nope"])


def _sweep():
    values = [1.0, 5.0, 25.0]
    stats = ["mean", "sd", "mcse_mean", "q0.05", "q0.5", "q0.95"]
    row = np.array([1.0, 0.5, 0.01, 0.2, 1.0, 1.8])
    ds = xr.Dataset({
        "mu": (("setting", "stat"), np.array([row, row + 0.1, row + 0.2])),
        "tau": (("setting", "stat"), np.array([row, row * 2, row * 3])),
        "theta_new_tilde": (("setting", "stat"), np.array([row] * 3)),
        "theta": (("setting", "stat", "school"), np.stack([np.stack([row] * 8, -1)] * 3)),
        "method": ("setting", ["refit", "reweight", "reweight"]),
        "status": ("setting", ["ok", "ok", "failed"]),
    }, coords={"setting": [f"tau.beta={v:g}" for v in values], "stat": stats,
               "tau.beta": ("setting", values), "school": list("ABCDEFGH")})
    ds.attrs = {"param": "tau.beta", "internal": ["theta_new_tilde"]}
    return ds


def test_sweep_plot_shows_what_a_user_cares_about_against_the_swept_values():
    ds = _sweep()
    assert default_sweep_vars(ds) == ["mu", "tau"]
    fig = plot_sweep(ds, ci_prob=0.9, xlabel="scale of tau's prior")
    assert len(fig.axes) == 2
    bottom = fig.axes[-1]
    assert list(bottom.get_xticks()) == [1.0, 5.0, 25.0]
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["1", "5", "25"]
    assert bottom.get_xlabel() == "scale of tau's prior"
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "90% interval" in legend
    # vector variables only when asked, one line each, labelled by their coordinate
    fig = plot_sweep(ds, ["theta"])
    assert "theta[A]" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_sweep_plot_refuses_bad_input():
    ds = _sweep()
    assert interval_stats(ds) == ("q0.05", "q0.95")
    with pytest.raises(ValueError, match="ci_prob: the sweep has no quantiles 0.25"):
        plot_sweep(ds, ci_prob=0.5)
    with pytest.raises(TypeError, match="ds"):
        plot_sweep(ds.to_dataframe())
    with pytest.raises(ValueError, match="not a prior sweep"):
        plot_sweep(xr.Dataset({"mu": ("x", [1.0])}))
    with pytest.raises(ValueError, match="var_names: 'nope'"):
        plot_sweep(ds, ["nope"])
