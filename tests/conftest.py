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
