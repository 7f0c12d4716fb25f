"""``pymc-hier compare``, ``cv`` and ``predict``: outputs, and bad input exits 2 before work."""

import numpy as np
import pytest
import xarray as xr

import pymc_hier as ph
from pymc_hier.cli import EXIT_OK, EXIT_USAGE, main


@pytest.fixture(scope="module")
def schools_fit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schools")
    assert main(["-q", "fit", "schools", "--sampler", "exact", "--seed", "3", "--draws", "500",
                 "--out", str(folder)]) == EXIT_OK
    return folder / "idata.nc"


def test_compare_prints_the_table_and_writes_dataset_and_plot(tmp_path, capsys):
    out, plot = tmp_path / "cmp.nc", tmp_path / "shrink.png"
    assert main(["-q", "compare", "schools", "--seed", "1", "--draws", "300", "--chains", "2",
                 "--out", str(out), "--plot", str(plot)]) == EXIT_OK
    text = capsys.readouterr().out
    for word in ("elpd_loo", "complete", "partial", "none", "theta partial"):
        assert word in text
    # the estimates: one quantity, the same two decimals in every cell
    estimates = text[text.index("theta complete"):].splitlines()[2:10]
    cells = [c for line in estimates for c in line.split()[1:]]
    assert len(cells) == 24 and all(len(c.split(".")[1]) == 2 for c in cells)
    cmp = xr.open_dataset(out)
    assert list(cmp["pooling"].values) == ["complete", "partial", "none"]
    assert (cmp["sampler"] == "exact").all()
    assert plot.stat().st_size > 0
    # outputs exist now: refused before any work without --overwrite
    assert main(["-q", "compare", "schools", "--out", str(out)]) == EXIT_USAGE
    assert "--overwrite" in capsys.readouterr().err


def test_cv_logo_uses_the_exact_answer(schools_fit, tmp_path, capsys):
    out = tmp_path / "cv.nc"
    assert main(["-q", "cv", str(schools_fit), "--method", "logo", "--by", "school",
                 "--out", str(out)]) == EXIT_OK
    text = capsys.readouterr().out
    assert "elpd_logo" in text and "exact" in text
    result = xr.open_dataset(out)
    assert (result["source"] == "exact").all() and result.sizes["school"] == 8


def test_predict_new_school_and_a_fitted_one(schools_fit, tmp_path, capsys):
    new = tmp_path / "new.csv"
    new.write_text("school,sigma\nI,10\nA,5\n")
    out = tmp_path / "pred.nc"
    assert main(["-q", "predict", str(schools_fit), "--new", str(new), "--seed", "4",
                 "--out", str(out)]) == EXIT_OK
    assert "theta" in capsys.readouterr().out
    tree = ph.load(out)
    assert list(tree["predictions"]["school"].values) == ["I", "A"]
    again = tmp_path / "again.nc"
    assert main(["-q", "predict", str(schools_fit), "--new", str(new), "--seed", "4",
                 "--out", str(again)]) == EXIT_OK
    np.testing.assert_array_equal(ph.load(again)["predictions"]["y"], tree["predictions"]["y"])


@pytest.mark.parametrize(("args", "message"), [
    (["cv", "{fit}", "--method", "logo"], "--by"),
    (["cv", "{fit}", "--by", "county"], "no dim 'county'"),
    (["cv", "missing.nc"], "no such file"),
    (["predict", "{fit}", "--new", "missing.csv"], "--new"),
    (["predict", "{fit}", "--new", "{bad}"], "sigma"),
    (["compare", "line"], "no levels of pooling"),
    (["compare", "schools", "--seed", "-1"], "seed"),
])
def test_bad_input_exits_2_in_one_line(schools_fit, tmp_path, capsys, args, message):
    bad = tmp_path / "bad.csv"
    bad.write_text("school,sd\nI,10\n")
    argv = [a.format(fit=schools_fit, bad=bad) for a in args]
    assert main(["-q", *argv]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]


def test_one_number_format_per_table():
    from pymc_hier.cli_workflow import _common_format

    fmt = _common_format([25.55, 7.3, -0.9466])
    assert [fmt(v) for v in (25.55, 7.3, -0.9466)] == ["25.55", "7.30", "-0.95"]
    assert _common_format([1234.5, 3.0])(3.0) == "3"
    # rates per second of the decay model: scientific, the same mantissa digits
    tiny = _common_format([4.9e-7, 5.6e-7])
    assert [tiny(4.9e-7), tiny(5.6e-7)] == ["4.900e-07", "5.600e-07"]
    assert _common_format([np.nan, 0.0])(0.0) == "0.000"
