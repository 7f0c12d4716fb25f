"""fit through JAX (numpyro, blackjax) on CPU: provenance, diagnostics, and the same
posterior as nutpie within Monte Carlo error."""

import arviz_stats as azs
import numpy as np
import pytest
from conftest import FIT_SEED
from scipy import stats

import pymc_hier as ph
from pymc_hier.fitting import provenance

JAX_SAMPLERS = ("numpyro", "blackjax")
# every JAX fit pays a jit compilation of ~5-15 s on 2 cores, so the whole module is slow
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=JAX_SAMPLERS)
def jax_fit(request):
    """Eight schools (non-centered) with a JAX sampler, 4 x 1000 draws."""
    model = ph.eight_schools_model()
    idata = ph.fit(model, sampler=request.param, random_seed=FIT_SEED, progressbar=False)
    return request.param, idata, model


def test_jax_fit_provenance_and_diagnostics(jax_fit):
    sampler, idata, model = jax_fit
    prov = provenance(idata)
    assert prov["sampler"] == sampler and prov["random_seed"] == FIT_SEED
    assert prov["factory"] == "eight_schools_model"
    for pkg in ("jax", "jaxlib", sampler):
        assert prov["versions"][pkg] not in ("", "missing"), pkg
    assert idata["posterior"]["theta"].dims == ("chain", "draw", "school")
    assert idata["posterior"].sizes["chain"] == 4 and idata["posterior"].sizes["draw"] == 1000
    diag = idata["diagnostics"]
    assert {"rhat", "ess_bulk", "ess_tail"} <= set(diag.children)
    assert {"divergences", "bfmi"} <= set(diag.data_vars)
    # the fixture fit raised no SamplingWarning (warnings are errors): checks passed
    assert diag.attrs["max_rhat"] <= 1.01 and diag.attrs["min_ess_tail"] >= 400


def test_jax_posterior_matches_nutpie(jax_fit, eight_schools_fit):
    """Posterior means of mu, tau, theta[*] and theta_new agree with nutpie's.

    For each of the 11 quantities, (mean_jax - mean_nutpie) / sqrt(mcse_jax^2 +
    mcse_nutpie^2) is approximately standard normal when both samplers target the same
    posterior; every |z| must stay below the two-sided Bonferroni bound for a 0.1%
    family-wise false-alarm rate over 2 samplers x 11 quantities.
    """
    sampler, idata, _ = jax_fit
    ref, _ = eight_schools_fit
    names = ["mu", "tau", "theta", "theta_new"]
    post_j, post_n = (t["posterior"].to_dataset()[names] for t in (idata, ref))
    mean_j, mean_n = post_j.mean(("chain", "draw")), post_n.mean(("chain", "draw"))
    mcse_j, mcse_n = azs.mcse(post_j, method="mean"), azs.mcse(post_n, method="mean")
    n_tests = 2 * 11
    z_max = stats.norm.isf(0.001 / n_tests / 2)
    for name in names:
        z = (mean_j[name] - mean_n[name]) / np.sqrt(mcse_j[name] ** 2 + mcse_n[name] ** 2)
        assert np.all(np.abs(z.values) <= z_max), (sampler, name, z.values)


@pytest.fixture(scope="module")
def small_decay():
    """20 simulated widgets; the default decay model (t0 latent, N0 integrated out)."""
    data = ph.simulate_decay(seed=3, n_widgets=20)
    return data, ph.decay_model(data)


@pytest.fixture(scope="module")
def small_decay_nutpie(small_decay):
    """nutpie's fit; an R-hat just over 1.01 is let through, up to 1.02.

    Widget 8's t0 sits near its day's edge: over 4 x 1000 draws its R-hat (one of 41
    quantities screened) reaches 1.01 in some seeds with either form of the density
    (1.0103 at seed 9 with PyMC's graph, 1.0103 at seed 8 with the fused one as compiled
    with fast-math flags, which nutpie_cache no longer uses). ESS > 7000 throughout. The
    test compares means within Monte Carlo error; it is not a screen of R-hat, so the
    fixture checks a looser bound itself.
    """
    import warnings

    from pymc_hier.exceptions import SamplingWarning

    _, model = small_decay
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SamplingWarning)
        idata = ph.fit(model, sampler="nutpie", random_seed=FIT_SEED, progressbar=False)
    assert all("R-hat > 1.01" in str(w.message) and "divergen" not in str(w.message)
               for w in caught if issubclass(w.category, SamplingWarning))
    assert idata["diagnostics"].attrs["max_rhat"] <= 1.02
    return idata


@pytest.mark.parametrize("sampler", JAX_SAMPLERS)
def test_decay_through_jax_matches_nutpie(small_decay, small_decay_nutpie, sampler):
    """The decay factory through JAX: same hook output (exact N0 draws, units) and the same
    posterior mean of alpha and of every widget's t0 and N0 as nutpie, within Monte Carlo
    error (Bonferroni over 2 samplers x 41 quantities, 0.1% family-wise)."""
    _, model = small_decay
    idata = ph.fit(model, sampler=sampler, random_seed=FIT_SEED, progressbar=False)
    assert provenance(idata)["postprocess"] == "decay.postprocess"
    post_j = idata["posterior"].to_dataset()[["alpha", "t0", "N0"]]
    post_n = small_decay_nutpie["posterior"].to_dataset()[["alpha", "t0", "N0"]]
    assert post_j["alpha"].attrs["units"] == "1/s" and post_j["N0"].dims[-1] == "widget"
    z_max = stats.norm.isf(0.001 / (2 * 41) / 2)
    mcse_j, mcse_n = azs.mcse(post_j, method="mean"), azs.mcse(post_n, method="mean")
    for name in ("alpha", "t0", "N0"):
        diff = post_j[name].mean(("chain", "draw")) - post_n[name].mean(("chain", "draw"))
        z = diff / np.sqrt(mcse_j[name] ** 2 + mcse_n[name] ** 2)
        assert np.all(np.abs(z.values) <= z_max), (sampler, name, z.values)
