"""Groups of many observations, found in the model's graph (pymc_hier/groups.py).

ppc_table, pit and the grouped interval plot on observations that reach their group
through an integer index, checked against NumPy on hand-made predictive draws.
"""

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr

import pymc_hier as ph
from pymc_hier.groups import attach_group_labels, group_indices

COUNTIES = ["north", "east", "south", "west", "centre"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    g = rng.integers(0, len(COUNTIES), 40)
    g[:5] = np.arange(5)[::-1]  # every county present, first seen in reverse order
    return {"g": g, "x": rng.normal(size=40), "y": rng.normal(size=40) + 0.5 * g}


def varying_slopes(data):
    with pm.Model(coords={"county": COUNTIES, "obs": np.arange(40)}) as model:
        g = pm.Data("g", data["g"], dims="obs")
        x = pm.Data("x", data["x"], dims="obs")
        mu, tau = pm.Normal("mu"), pm.HalfNormal("tau")
        a = pm.Deterministic("a", mu + tau * pm.Normal("z", dims="county"), dims="county")
        b = pm.Normal("b", dims="county")
        pm.Normal("y", (a[g] + b[g] * x), 1.0, observed=data["y"], dims="obs")
    return model


def _tree(model, data, rng):
    """A fit's groups by hand: predictive draws, observed and constant data."""
    draws = rng.normal(size=(2, 50, 40)) + 0.5 * data["g"]
    obs = {"obs": np.arange(40)}
    return xr.DataTree.from_dict({
        "posterior": xr.Dataset({"a": (("chain", "draw", "county"), np.zeros((2, 50, 5)))},
                                coords={"county": COUNTIES}),
        "posterior_predictive": xr.Dataset({"y": (("chain", "draw", "obs"), draws)},
                                           coords=obs),
        "observed_data": xr.Dataset({"y": ("obs", data["y"])}, coords=obs),
        "constant_data": xr.Dataset({"g": ("obs", data["g"]), "x": ("obs", data["x"])},
                                    coords=obs),
    })


def test_group_indices_read_off_the_graph(data):
    assert group_indices(varying_slopes(data)) == {"y": {"county": "g"}}
    with pm.Model(coords={"county": COUNTIES, "obs": np.arange(40)}) as other:
        g = pm.Data("g", data["g"], dims="obs")
        h = pm.Data("h", data["g"][::-1], dims="obs")
        wide = pm.Data("wide", data["g"] + 10, dims="obs")
        a = pm.Normal("a", dims="county")
        pm.Normal("y1", a[g] + a[h], 1.0, observed=data["y"], dims="obs")  # two indices
        pm.Normal("y2", a[g], 1.0, observed=data["y"], dims="obs")
        pm.Normal("y3", pm.Normal("c", shape=20)[wide], 1.0, observed=data["y"], dims="obs")
        pm.Normal("y4", a.sum(), 1.0, observed=data["y"], dims="obs")  # no index
    assert group_indices(other) == {"y2": {"county": "g"}}


def test_observations_are_labelled_and_grouped_like_numpy(data, rng):
    model = varying_slopes(data)
    tree = attach_group_labels(_tree(model, data, rng), model)
    labels = np.asarray(COUNTIES)[data["g"]]
    for group in ("observed_data", "posterior_predictive"):
        coord = tree[group]["county"]
        assert coord.dims == ("obs",) and coord.attrs["group_index"] == "g"
        np.testing.assert_array_equal(coord.values, labels)
    assert "county" not in tree["constant_data"].coords
    by_coord = ph.ppc_table(tree, stats=["mean", "max"], by="county")
    by_index = ph.ppc_table(_tree(model, data, rng), stats=["mean", "max"], by=("county", "g"))
    # groups in the county dim's own order (not the order the observations meet them)
    assert list(by_coord["county"].values) == COUNTIES == list(by_index["county"].values)
    frame = pd.Series(data["y"]).groupby(data["g"])
    np.testing.assert_allclose(by_coord["T_obs"].sel(statistic="mean"), frame.mean())
    np.testing.assert_allclose(by_index["T_obs"].sel(statistic="max"), frame.max())
    rep = tree["posterior_predictive"]["y"].values.reshape(100, 40)
    for j in range(len(COUNTIES)):
        t_rep = rep[:, data["g"] == j].mean(axis=1)
        want = (t_rep >= frame.mean()[j]).mean()
        assert float(by_coord["p_value"].sel(statistic="mean").isel(county=j)) == want
    # pit values carry the labels
    values = ph.pit(tree, by="county")
    np.testing.assert_array_equal(values["county"].values, labels)
    np.testing.assert_array_equal(ph.pit(_tree(model, data, rng), by=("county", "g"))
                                  ["county"].values, labels)


def test_grouping_errors_name_by(data, rng):
    tree = _tree(varying_slopes(data), data, rng)
    with pytest.raises(ValueError, match=r"by: 'county' is not a coordinate.*by=\('county'"):
        ph.ppc_table(tree, by="county")
    with pytest.raises(ValueError, match="by: no index 'k' in idata's constant_data"):
        ph.ppc_table(tree, by=("county", "k"))
    with pytest.raises(ValueError, match="by: 'x' must be an integer index"):
        ph.ppc_table(tree, by=("county", "x"))
    with pytest.raises(TypeError, match="by: expected a coordinate name or a"):
        ph.ppc_table(tree, by=["county", "g"])
    bad = tree.copy()
    bad["constant_data"] = xr.DataTree(tree["constant_data"].to_dataset().assign(
        g=("obs", data["g"] + 3)))
    with pytest.raises(ValueError, match="by: index values 3..7 do not fit the 5 groups"):
        ph.ppc_table(bad, by=("county", "g"))


def test_grouped_interval_plot_shows_each_groups_statistic(data, rng):
    import matplotlib.pyplot as plt

    from pymc_hier.plots.ppc import plot_ppc_intervals

    model = varying_slopes(data)
    tree = attach_group_labels(_tree(model, data, rng), model)
    fig = plot_ppc_intervals(tree, by="county", stat="mean")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == COUNTIES
    assert ax.get_xlabel() == "county"
    observed = ax.lines[-1].get_ydata()
    np.testing.assert_allclose(observed, pd.Series(data["y"]).groupby(data["g"]).mean())
    plt.close(fig)
