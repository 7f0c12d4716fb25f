import pymc_hier


def test_public_names_resolve():
    for name in ("DecayData", "SchoolsData", "EIGHT_SCHOOLS", "simulate_decay", "Prior"):
        assert getattr(pymc_hier, name) is not None
