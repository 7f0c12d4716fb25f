import numpy as np
import pytest

SEED = 20261124


@pytest.fixture
def rng():
    """A fixed-seed generator; the seed is visible here on purpose."""
    return np.random.default_rng(SEED)


@pytest.fixture(scope="session")
def lecture_data():
    from pymc_hier import simulate_decay

    return simulate_decay()


# -- shared MCMC fits (compiled and sampled once per session) ---------------------------------
FIT_SEED = 8  # seed of the shared eight-schools fit


@pytest.fixture(scope="session")
def eight_schools_fit():
    """Eight schools (non-centered, default priors), nutpie, 4 x 1000 draws, seed FIT_SEED."""
    from pymc_hier import eight_schools_model, fit

    model = eight_schools_model()
    return fit(model, sampler="nutpie", random_seed=FIT_SEED, progressbar=False), model


@pytest.fixture(scope="session")
def eight_schools_ppc(eight_schools_fit):
    """``eight_schools_fit`` with prior/posterior predictive and log-likelihood groups."""
    from pymc_hier import sample_predictive

    idata, model = eight_schools_fit
    return sample_predictive(idata, model, random_seed=FIT_SEED + 1), model
