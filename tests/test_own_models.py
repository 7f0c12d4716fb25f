"""Three outside models through the whole workflow: the gallery's "Your own hierarchical model".

The example (examples/plot_own_model.py) is run once, in fast mode, and what each step made
is checked here: varying intercepts and slopes (plain PyMC, observations indexed by county),
the rat-tumour hierarchical binomial (a registered ModelFamily, also run on the command
line) and a hierarchical Poisson (plain PyMC). tests/test_examples.py leaves this example
to this module, so that it runs once.
"""

import runpy
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pymc_hier as ph

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plot_own_model.py"


@pytest.fixture(scope="module")
def ran():
    """The example's namespace after a fast run (its output folder kept until the end)."""
    import matplotlib.pyplot as plt

    mp = pytest.MonkeyPatch()
    rmtree = shutil.rmtree
    mp.setenv("PYMC_HIER_FAST", "1")
    mp.setenv("MPLBACKEND", "Agg")
    mp.setattr(shutil, "rmtree", lambda path, *args, **kwargs: None if Path(
        path).name.startswith("pymc_hier_own_") else rmtree(path, *args, **kwargs))
    try:
        ns = runpy.run_path(str(EXAMPLE), run_name="__main__")
    finally:
        mp.undo()
        plt.close("all")
    yield ns
    rmtree(ns["out"], ignore_errors=True)


# model -> (group dim, its labels, observed values, the observations' group codes)
def _groups(ns):
    rats = ph.load_dataset("rats")
    return {
        "radon": ("county", ns["counties"], ns["log_radon"], ns["county_idx"]),
        "rats": ("experiment", rats["experiment"].to_numpy(), rats["y"].to_numpy(),
                 np.arange(len(rats))),
        "poisson": ("site", ns["sites"], ns["accidents"], ns["site_idx"]),
    }


@pytest.mark.slow
def test_every_step_ran_for_each_outside_model(ran):
    assert ran["FAST"] is True
    results = ran["results"]
    assert set(results) == {"radon", "rats", "poisson"}
    for name, (dim, labels, y, codes) in _groups(ran).items():
        made = results[name]
        # the PGM
        dot = made["pgm"]["dot"].read_text()
        assert made["pgm"]["svg"].stat().st_size > 0
        assert all(v.name in dot for v in ran[name if name != "rats" else "rebuilt"].free_RVs
                   if not v.name.startswith("z"))
        # the fit and its predictive draws, observations labelled with their groups
        idata = made["idata"]
        assert {"posterior", "posterior_predictive", "observed_data"} <= set(idata.children)
        obs = idata["observed_data"]
        assert [str(v) for v in obs[dim].values] == [str(labels[c]) for c in codes], name
        # the check per group: T(y) is each group's own statistic, in the groups' order
        table = made["table"]
        assert [str(v) for v in table[dim].values] == [str(v) for v in labels], name
        frame = pd.DataFrame({"g": codes, "y": y}).groupby("g")["y"]
        np.testing.assert_allclose(table["T_obs"].sel(statistic="mean").values,
                                   frame.mean().values)
        np.testing.assert_allclose(table["T_obs"].sel(statistic="sd").values,
                                   frame.std(ddof=1).values)
        p = table["p_value"].sel(statistic="mean").values
        assert np.all((p >= 0) & (p <= 1))
        if name == "rats":  # one observation per experiment: no sd
            assert np.isnan(table["p_value"].sel(statistic="sd")).all()
        # the sweep: reweighted and refitted settings, all answered
        sweep = made["sweep"]
        assert set(sweep.method.values) == {"reweight", "refit"}, (name, sweep.method.values)
        assert (sweep.status == "ok").all(), (name, sweep.error.values)
        assert sweep.attrs["family"] == ("rats" if name == "rats" else "")
        # the report
        html = made["report"].read_text()
        assert "<svg" in html and sweep.attrs["param"] in html


@pytest.mark.slow
def test_the_sweep_moves_the_parameter_named_not_pymcs_storage(ran):
    """``kappa.lam`` (Exponential) and ``sigma_site.beta`` (Gamma): PyMC stores scales."""
    rats = ran["results"]["rats"]["sweep"]
    np.testing.assert_array_equal(rats["kappa.lam"].values, [0.005, 0.02, 0.1, 0.5])
    kappa = rats["kappa"].sel(stat="mean").values
    assert kappa[0] > kappa[-1]  # a larger rate pulls the prior sample size down
    poisson = ran["results"]["poisson"]["sweep"]
    np.testing.assert_array_equal(poisson["sigma_site.beta"].values, [1.0, 4.0, 16.0, 64.0])
    sd = poisson["sigma_site"].sel(stat="mean").values
    assert sd[0] > sd[-1]  # a larger rate pulls the site scale down


@pytest.mark.slow
def test_registered_family_ran_on_the_command_line(ran, tmp_path):
    from pymc_hier.cli import main
    from pymc_hier.registry import families

    assert ran["status"] == 0
    assert ph.get_spec(ran["rebuilt"]).family is ran["RATS"]
    assert sorted(p.name for p in (ran["out"] / "cli").iterdir()) == [
        "idata.nc", "pgm.dot", "pgm.png", "pgm.svg", "report.html", "sweep.nc",
        "timings.json"]
    assert "rats" not in {f.name for f in families()}  # the example unregistered it
    # an unregistered family is named by module:attribute
    module = types.ModuleType("own_rats_family")
    module.RATS = ran["RATS"]
    sys.modules[module.__name__] = module
    try:
        assert ph.get_family("own_rats_family:RATS") is ran["RATS"]
        assert main(["pgm", "own_rats_family:RATS", "--out", str(tmp_path / "pgm")]) == 0
    finally:
        del sys.modules[module.__name__]
    assert (tmp_path / "pgm" / "pgm.svg").exists()
