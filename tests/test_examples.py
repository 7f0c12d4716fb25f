"""Every gallery example runs, in fast mode (tiny draw counts), so examples cannot rot.

The docs build runs the same scripts with their full draw counts; here
``PYMC_HIER_FAST=1`` makes each one finish in seconds. They run in this process (PyMC is
imported once) from a temporary directory, under the suite's warnings-as-errors filter.
"""

import runpy
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("plot_*.py"))


def test_examples_exist_and_have_a_fast_mode():
    assert EXAMPLES, "no examples/plot_*.py found"
    for script in EXAMPLES:
        source = script.read_text()
        assert "PYMC_HIER_FAST" in source, f"{script.name} does not read PYMC_HIER_FAST"
        assert "random_seed" in source or "seed" in source, f"{script.name} fixes no seed"


# plot_own_model runs in tests/test_own_models.py, which checks what each of its steps made
RUN_HERE = [p for p in EXAMPLES if p.stem != "plot_own_model"]


@pytest.mark.slow  # about 2 minutes for all examples on 2 cores, mostly nutpie compiles
@pytest.mark.parametrize("script", RUN_HERE, ids=lambda p: p.stem)
def test_example_runs_in_fast_mode(script, monkeypatch, tmp_path):
    monkeypatch.setenv("PYMC_HIER_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    try:
        namespace = runpy.run_path(str(script), run_name="__main__")
    finally:
        plt.close("all")
    assert namespace["FAST"] is True
