"""The ``pymc-hier`` command line: exit codes, messages, the main job."""

import json
import os
import subprocess
import sys

import pytest

import pymc_hier as ph
from pymc_hier.cli import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, main


def test_unknown_model_exits_2_with_one_line(tmp_path, capsys):
    assert main(["pgm", "galaxies", "--out", str(tmp_path)]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "galaxies" in err[0] and "Traceback" not in err[0]


def test_bad_csv_columns_exit_2_and_no_report(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("y,sgima\n1,2\n")
    out = tmp_path / "out"
    assert main(["run", "schools", "--data", str(bad), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "sigma" in err and "Traceback" not in err
    assert not (out / "report.html").exists()


def test_unwritable_out_exit_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["pgm", "schools", "--out", str(blocker / "sub")]) == EXIT_USAGE
    assert "--out" in capsys.readouterr().err


def test_bad_option_value_exit_2(capsys):
    assert main(["fit", "schools", "--draws", "-3"]) == EXIT_USAGE


def test_pgm_subcommand_writes_files(tmp_path):
    assert main(["pgm", "schools", "--out", str(tmp_path), "--quiet"]) == EXIT_OK
    assert {p.suffix for p in tmp_path.iterdir()} >= {".dot", ".svg", ".png"}


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "pymc_hier.cli", "--help"],
                         capture_output=True, text=True, check=True)
    for sub in ("run", "pgm", "fit", "ppc", "sweep", "report"):
        assert sub in out.stdout


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pymc_hier.diagnostics.SamplingWarning")
def test_main_job_and_subcommands_from_saved_fit(tmp_path):
    out = tmp_path / "job"
    args = ["run", "schools", "--out", str(out), "--draws", "200", "--tune", "300",
            "--chains", "2", "--seed", "3", "--quiet"]
    assert main(args) == EXIT_OK
    for name in ("report.html", "idata.nc", "sweep.nc", "pgm.dot", "pgm.svg", "pgm.png"):
        assert (out / name).exists(), name
    html = (out / "report.html").read_text()
    assert "<h2>Prior sensitivity</h2>" in html
    assert "pymc-hier run schools" in html
    # the parts, from the saved DataTree
    assert main(["report", str(out / "idata.nc"), "--out", str(tmp_path / "again.html"),
                 "--quiet"]) == EXIT_OK
    assert (tmp_path / "again.html").exists()
    assert main(["ppc", str(out / "idata.nc"), "--quiet"]) == EXIT_OK
    sweep_out = tmp_path / "sweep.nc"
    assert main(["sweep", str(out / "idata.nc"), "--values", "2,5", "--draws", "200",
                 "--tune", "300", "--chains", "2", "--out", str(sweep_out), "--quiet"]) == 0
    assert sweep_out.exists()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pymc_hier.diagnostics.SamplingWarning")
def test_sweep_subcommand_keeps_the_fits_model_options(tmp_path):
    out = tmp_path / "c"
    assert main(["fit", "schools", "--parametrization", "centered", "--out", str(out),
                 "--draws", "200", "--tune", "300", "--chains", "2", "--quiet"]) == EXIT_OK
    assert main(["sweep", str(out / "idata.nc"), "--values", "2,5", "--draws", "200",
                 "--tune", "300", "--chains", "2", "--quiet"]) == EXIT_OK


# -- the promise: exit 0 ok; 2 bad input, one line, nothing written; 1 internal (issue 19) ---
EXACT = ["--sampler", "exact", "--draws", "200", "--chains", "2", "--quiet"]


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert err[0].startswith("pymc-hier: error: ")
    return err[0]


def _no_work(monkeypatch):
    """Make any sampling fail loudly: the checks must come first."""
    import pymc_hier.cli as cli

    def forbidden(*args, **kwargs):
        raise AssertionError("sampled before checking the input")

    monkeypatch.setattr(cli, "_fit", forbidden)
    monkeypatch.setattr(cli, "_sweep", forbidden)


@pytest.fixture(scope="module")
def decay_fit(tmp_path_factory):
    """A saved exact fit of the decay model (10 widgets)."""
    import pymc_hier as ph

    path = tmp_path_factory.mktemp("fit") / "idata.nc"
    model = ph.decay_model(ph.simulate_decay(1, n_widgets=10))
    ph.save(ph.fit(model, sampler="exact", draws=250, chains=2, random_seed=1,
                   progressbar=False), path)
    return path


def test_quiet_silences_pymc_messages_for_the_command_only(decay_fit, caplog, monkeypatch):
    import logging

    import pymc_hier.ppc as ppc

    # PyMC draws (and says "Sampling: [...]") where a graph is not drawn over all draws
    # at once; forced here, as for such a graph
    monkeypatch.setattr(ppc, "_posterior_predictive_over_draws", lambda *a: None)
    monkeypatch.setattr(ppc, "_prior_over_draws", lambda *a: None)
    with caplog.at_level(logging.INFO, logger="pymc"):
        assert main(["ppc", str(decay_fit)]) == EXIT_OK
        assert any("Sampling: [" in r.getMessage() for r in caplog.records)  # PyMC says
        caplog.clear()
        assert main(["ppc", str(decay_fit), "--quiet"]) == EXIT_OK
        assert not any("Sampling" in r.getMessage() for r in caplog.records)
        assert logging.getLogger("pymc").level == logging.INFO  # restored


def test_run_into_an_existing_run_exits_2_before_any_work(tmp_path, capsys, monkeypatch):
    out = tmp_path / "job"
    out.mkdir()
    (out / "idata.nc").write_text("the earlier run")
    _no_work(monkeypatch)
    assert main(["run", "decay", "--out", str(out), *EXACT]) == EXIT_USAGE
    assert "already holds a run (idata.nc); pass --overwrite" in _error_line(capsys)
    assert [p.name for p in out.iterdir()] == ["idata.nc"]
    assert (out / "idata.nc").read_text() == "the earlier run"


def test_run_never_replaces_a_folder_with_other_files(tmp_path, capsys, monkeypatch):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious")
    _no_work(monkeypatch)
    assert main(["run", "decay", "--out", str(out), "--overwrite", *EXACT]) == EXIT_USAGE
    assert "holds files pymc-hier run did not write (chapter1.tex)" in _error_line(capsys)
    assert main(["run", "decay", "--out", str(out), *EXACT]) == EXIT_USAGE  # nor without
    assert "did not write (chapter1.tex)" in _error_line(capsys)
    assert (out / "chapter1.tex").read_text() == "precious"


@pytest.mark.filterwarnings("ignore::pymc_hier.exceptions.SamplingWarning")
def test_run_overwrite_replaces_the_whole_folder(tmp_path, capsys):
    out = tmp_path / "job"
    out.mkdir()
    for name in ("idata.nc", "sweep.nc", "pgm.png"):
        (out / name).write_text("old")
    assert main(["run", "decay", "--out", str(out), "--overwrite", "--no-sweep",
                 *EXACT]) == EXIT_OK
    # no file of the old run is left (sweep.nc was not made this time)
    assert sorted(p.name for p in out.iterdir()) == ["idata.nc", "pgm.dot", "pgm.png",
                                                     "pgm.svg", "report.html",
                                                     "timings.json"]
    assert ph_load(out / "idata.nc").attrs["sampler"] == "exact"
    assert [p.name for p in tmp_path.iterdir()] == ["job"]  # nothing left beside it
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask  # not the temporary folder's 0o700


def ph_load(path):
    import pymc_hier as ph

    return ph.load(path)


@pytest.mark.parametrize("args, message", [
    (["run", "schools", "--seed", "-1"], "--seed: random_seed: must be in [0, 2**63), got -1"),
    (["run", "schools", "--data", "MISSING.csv"], "--data: no such file 'MISSING.csv'"),
    (["run", "decay", "--option", "t0=weird"], "--option: t0: must be one of"),
    (["run", "schools", "--priors", "bogus"], "priors: unknown preset 'bogus'"),
    (["pgm", "decay", "--option", "n0=latent", "--option", "t0=marginal"],
     "t0: 'marginal' integrates N0 out as well"),
])
def test_bad_input_exits_2_and_leaves_nothing(tmp_path, capsys, monkeypatch, args, message):
    """Every exit 2 leaves no --out folder (and no PGM files) behind."""
    _no_work(monkeypatch)
    out = tmp_path / "out"
    assert main([*args, "--out", str(out), "--quiet"]) == EXIT_USAGE
    assert message in _error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_deprecated_option_is_a_one_line_warning_even_when_quiet(tmp_path, capsys):
    out = tmp_path / "graph"
    assert main(["pgm", "decay", "--t0", "marginal", "--out", str(out), "--quiet"]) == EXIT_OK
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "deprecated" in line] == [
        "pymc-hier: warning: " + ph.DECAY.deprecated["t0"]["marginal"]]
    assert (out / "pgm.png").exists()


def test_csv_errors_name_the_file(tmp_path, capsys):
    quote = tmp_path / "quote.csv"
    quote.write_text('y,sigma\n1,"2\n')
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(128, 256)))
    zero = tmp_path / "zero.csv"
    zero.write_text("school,y,sigma\nA,1,0\n")
    for path, message in ((quote, "quote.csv is not a readable CSV file (Error tokenizing"),
                          (binary, "binary.csv is not a readable CSV file ('utf-8' codec"),
                          (zero, "zero.csv: sigma: must be > 0; first offending row 0"),
                          (tmp_path, "is a folder, not a CSV file")):
        assert main(["pgm", "schools", "--data", str(path), "--out",
                     str(tmp_path / "o")]) == EXIT_USAGE
        line = _error_line(capsys)
        assert line.startswith("pymc-hier: error: --data") and message in line, line
    assert not (tmp_path / "o").exists()


def test_sweep_values_are_checked_before_sampling(decay_fit, capsys, monkeypatch):
    """n0_max <= 0 made nutpie fail in every setting (a Rust backtrace per row) and the
    process segfault at exit (issue 19, item 6)."""
    _no_work(monkeypatch)
    assert main(["sweep", str(decay_fit), "--values=-1,0"]) == EXIT_USAGE
    assert ("--values: n0_max=-1: n0_max: must be finite and > 0, got -1.0"
            in _error_line(capsys))
    for values, message in (("", "--values: empty"), ("1,abc", "--values: 'abc' is not a "
                                                                "number"),
                            ("9,9", "--values: not unique")):
        assert main(["sweep", str(decay_fit), f"--values={values}"]) == EXIT_USAGE
        assert message in _error_line(capsys)
    assert main(["sweep", str(decay_fit), "--values=9,12", "--sampler", "pymc"]) == EXIT_USAGE
    assert "--sampler: prior sweeps sample with nutpie or exact" in _error_line(capsys)


def test_sweep_honours_the_sampler(decay_fit, tmp_path, capsys):
    import xarray as xr

    out = tmp_path / "sweep.nc"
    assert main(["sweep", str(decay_fit), "--values=9,12", "--out", str(out),
                 *EXACT]) == EXIT_OK
    table = capsys.readouterr().out
    assert "n0_max=9" in table and "mean(alpha)" in table
    sweep = xr.load_dataset(out)
    assert sweep.attrs["sampler"] == "exact"
    assert list(sweep["status"].values) == ["ok", "ok"]


def test_files_read_that_are_not_what_they_should_be_exit_2(decay_fit, tmp_path, capsys):
    import shutil

    import pymc_hier as ph

    corrupt = tmp_path / "corrupt.nc"
    corrupt.write_bytes(decay_fit.read_bytes()[:3000])
    store = ph.save(ph.load(decay_fit), tmp_path / "fit.zarr")
    chunk = next(p for p in (store / "posterior" / "alpha").rglob("*") if p.is_file()
                 and p.name != "zarr.json")
    chunk.write_bytes(chunk.read_bytes()[:10])
    not_sweep = tmp_path / "not_sweep.nc"
    shutil.copy(decay_fit, not_sweep)
    cases = [
        (["ppc", str(corrupt)], "idata: cannot read"),
        (["ppc", str(store)], "idata: cannot read"),
        (["ppc", str(tmp_path / "missing.nc")], "idata: no such file"),
        (["report", str(decay_fit), "--out", str(tmp_path)], "is a folder; give a file name"),
        (["report", str(decay_fit), "--sweep", str(not_sweep), "--out",
          str(tmp_path / "r.html")], "not a prior sweep (no 'setting' dimension"),
        (["ppc", str(decay_fit), "--out", str(decay_fit)], "exists; pass --overwrite"),
    ]
    for args, message in cases:
        assert main([*args, "--quiet"]) == EXIT_USAGE, args
        assert message in _error_line(capsys), args
    assert not (tmp_path / "r.html").exists()


def test_existing_outputs_need_overwrite(tmp_path, capsys):
    assert main(["pgm", "schools", "--out", str(tmp_path), "--quiet"]) == EXIT_OK
    assert main(["pgm", "schools", "--out", str(tmp_path), "--quiet"]) == EXIT_USAGE
    assert "pgm.dot exists; pass --overwrite" in _error_line(capsys)
    assert main(["pgm", "schools", "--out", str(tmp_path), "--quiet", "--overwrite"]) == 0


def test_usage_errors_are_one_line(capsys):
    assert main(["fit", "schools", "--seed", "abc"]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["pymc-hier fit: error: argument --seed: expected an integer, got 'abc' "
                   "(see pymc-hier fit --help)"]


def test_internal_errors_exit_1_with_a_traceback(tmp_path, capsys, monkeypatch):
    """Errors not raised by pymc_hier's own input checks are never reported as bad input,
    and a failed run leaves no folder behind."""
    import pymc_hier.cli as cli

    def broken(*args, **kwargs):
        raise ValueError("a bug in a library")

    monkeypatch.setattr(cli, "_fit", broken)
    out = tmp_path / "job"
    assert main(["run", "schools", "--out", str(out), "--no-sweep", *EXACT]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error: ValueError: a bug in a library" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_sigkill_during_run_leaves_the_old_run_or_the_new_one(tmp_path):
    """Fault injection: ``pymc-hier run --overwrite`` killed at random moments."""
    import signal
    import time

    import numpy as np

    out = tmp_path / "job"
    out.mkdir()
    for name in ("idata.nc", "report.html"):
        (out / name).write_text("old")
    cmd = [sys.executable, "-m", "pymc_hier.cli", "run", "decay", "--out", str(out),
           "--overwrite", *EXACT]
    for delay in np.random.default_rng(5).uniform(3.0, 14.0, size=2):
        with subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) as proc:
            time.sleep(float(delay))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        names = sorted(p.name for p in out.iterdir())
        if names == ["idata.nc", "report.html"]:  # the old run, untouched
            assert (out / "idata.nc").read_text() == "old"
        else:  # the new run, complete
            assert names == sorted(["idata.nc", "pgm.dot", "pgm.png", "pgm.svg",
                                    "report.html", "sweep.nc", "timings.json"])
            assert ph_load(out / "idata.nc").attrs["sampler"] == "exact"
    assert subprocess.run(cmd, check=False).returncode == EXIT_OK
    assert [p.name for p in tmp_path.iterdir()] == ["job"]  # the kills' leftovers are gone


# -- stage timings and the sweep's sampler (issue 22) ---------------------------------------

@pytest.mark.filterwarnings("ignore::pymc_hier.exceptions.SamplingWarning")
def test_run_writes_its_stage_timings(tmp_path, capsys):
    out = tmp_path / "job"
    assert main(["run", "decay", "--out", str(out), "--no-sweep", "--timings",
                 *EXACT]) == EXIT_OK
    from pymc_hier.background import can_fork

    timings = json.loads((out / "timings.json").read_text())
    stages = timings["stages"]
    first = ["pgm", "sampling", "predictive checks", "waiting for the prior draws"]
    # forked: the prior draws (during the PGM and the sampling), and the files (while the
    # report is built)
    if can_fork():
        assert list(stages) == ["inputs and model", *first, "prior draws", "report",
                                "waiting for the files", "writing"]
        assert stages["prior draws"]["parallel"] is stages["writing"]["parallel"] is True
    else:
        assert list(stages) == ["inputs and model", "prior draws", *first, "writing",
                                "report", "waiting for the files"]
    assert all(row["wall_s"] >= 0 and row["cpu_s"] >= 0 for row in stages.values())
    assert timings["stages_wall_s"] == pytest.approx(
        sum(r["wall_s"] for r in stages.values() if not r.get("parallel")), abs=1e-3)
    printed = capsys.readouterr()
    assert "sampling" in printed.err and "total" in printed.err
    # the estimates on stdout, even with --quiet: the report's summary box as text
    lines = printed.out.splitlines()
    assert lines[0].startswith("Decay rate α: ") and "90% interval" in lines[0]
    assert lines[-2].startswith("2 × 200 independent draws from the exact posterior (seed 0): ")
    assert "bulk ESS < 400 for alpha" in lines[-2]   # 400 draws: too few, and it says so
    assert lines[-1] == f"Report: {out / 'report.html'}"


@pytest.mark.parametrize("fork", [True, False])
def test_run_stops_before_sampling_when_the_sweep_refuses_a_setting(tmp_path, capsys,
                                                                      monkeypatch, fork):
    """The exact sweep runs beside the sampler (forked) or before it: either way a
    default setting the data rule out (n0_max = 8 below a measurement of 18) stops the
    run before any sampling, with the sweep's message, and leaves nothing behind."""
    import pymc_hier.background as background
    import pymc_hier.cli as cli

    def forbidden(*args, **kwargs):
        raise AssertionError("sampled before the sweep's settings were checked")

    if not fork:
        monkeypatch.setattr(background, "can_fork", lambda: False)
    elif not background.can_fork():
        pytest.skip("no fork on this platform")
    monkeypatch.setattr(cli, "_fit", forbidden)
    data = ph.simulate_decay(1, n_widgets=40, n0_max=60.0, time_unit="day")
    assert max(data.n_measured) > 15.0  # above every default n0_max but the last
    data.to_csv(tmp_path / "big.csv")
    out = tmp_path / "job"
    assert main(["run", "decay", "--data", str(tmp_path / "big.csv"), "--out", str(out),
                 *EXACT]) == EXIT_USAGE
    line = _error_line(capsys)
    assert line.startswith("pymc-hier: error: --values: n0_max=8: n_measured: widget")
    assert "above n0_max=8" in line
    assert [p.name for p in tmp_path.iterdir()] == ["big.csv"]


@pytest.mark.filterwarnings("ignore::pymc_hier.exceptions.SamplingWarning")
def test_run_sweeps_beside_the_sampler_with_the_same_result(tmp_path, monkeypatch):
    """Forked or not, the exact sweep and the prior draws give the same numbers; the forked
    stages are marked parallel and left out of the totals."""
    import xarray as xr

    import pymc_hier.background as background
    from pymc_hier import load

    if not background.can_fork():
        pytest.skip("no fork on this platform")
    assert main(["run", "decay", "--out", str(tmp_path / "forked"), *EXACT]) == EXIT_OK
    monkeypatch.setattr(background, "can_fork", lambda: False)
    assert main(["run", "decay", "--out", str(tmp_path / "here"), *EXACT]) == EXIT_OK
    with xr.open_dataset(tmp_path / "forked" / "sweep.nc") as a, \
            xr.open_dataset(tmp_path / "here" / "sweep.nc") as b:
        xr.testing.assert_identical(a.load(), b.load())
    a, b = (load(tmp_path / where / "idata.nc") for where in ("forked", "here"))
    for group in ("prior", "prior_predictive", "posterior_predictive", "log_likelihood"):
        xr.testing.assert_equal(a[group].to_dataset(), b[group].to_dataset())
    forked = json.loads((tmp_path / "forked" / "timings.json").read_text())["stages"]
    here = json.loads((tmp_path / "here" / "timings.json").read_text())["stages"]
    assert all(forked[s]["parallel"] for s in ("sweep settings", "prior draws", "prior sweep"))
    assert "sweep settings" not in here
    assert not any("parallel" in here[s] for s in ("prior draws", "prior sweep"))
    # before the PGM, here
    assert list(here)[:3] == ["inputs and model", "prior sweep", "prior draws"]
    total = json.loads((tmp_path / "forked" / "timings.json").read_text())["stages_wall_s"]
    assert total == pytest.approx(sum(r["wall_s"] for r in forked.values()
                                      if not r.get("parallel")), abs=1e-3)


@pytest.mark.filterwarnings("ignore::pymc_hier.exceptions.SamplingWarning")  # 2 x 100 draws
def test_run_compiles_the_fits_kernels_ahead_and_goes_on_when_that_fails(tmp_path,
                                                                          monkeypatch,
                                                                          capsys):
    """The family's warm_up runs in the second process (for an MCMC fit); when it fails,
    run says so and the fit compiles the kernels itself, with the same numbers."""
    import xarray as xr

    import pymc_hier.background as background
    import pymc_hier.decay.family as decay_family
    from pymc_hier import load

    if not background.can_fork() or (os.cpu_count() or 1) < 2:
        pytest.skip("run forks only where it can, on two cores or more")
    args = ["run", "decay", "--no-sweep", "--draws", "100", "--tune", "100", "--chains", "2"]
    assert main([*args, "--out", str(tmp_path / "ahead")]) == EXIT_OK
    stages = json.loads((tmp_path / "ahead" / "timings.json").read_text())["stages"]
    assert stages["warm-up"]["parallel"] is True
    assert "compiling ahead failed" not in capsys.readouterr().err
    real = decay_family.draw_widgets

    def failing(y, *rest, **kwargs):
        if len(y) == 1:   # the warm-up's one widget
            raise RuntimeError("no compiler here")
        return real(y, *rest, **kwargs)

    monkeypatch.setattr(decay_family, "draw_widgets", failing)
    assert main([*args, "--out", str(tmp_path / "failed")]) == EXIT_OK
    err = capsys.readouterr().err
    assert ("pymc-hier: note: compiling ahead failed (RuntimeError: no compiler here); the "
            "fit compiled it") in err
    a, b = (load(tmp_path / where / "idata.nc") for where in ("ahead", "failed"))
    xr.testing.assert_equal(a["posterior"].to_dataset(), b["posterior"].to_dataset())
    # no warm-up for the exact sampler, which has no postprocess
    assert main(["run", "decay", "--out", str(tmp_path / "exact"), "--no-sweep", *EXACT]) == 0
    assert "warm-up" not in json.loads((tmp_path / "exact" / "timings.json").read_text())[
        "stages"]


def test_forked_steps_inherit_the_array_modules_xarray_looked_up(tmp_path):
    """xarray imports Dask's array module at its first array when Dask is installed
    (0.3 s); run lets it do so before it forks, so its forked steps find it imported.
    In a new process: this one has imported it long ago."""
    pytest.importorskip("dask.array")
    from pymc_hier.background import can_fork

    if not can_fork() or (os.cpu_count() or 1) < 2:
        pytest.skip("run forks only where it can, on two cores or more")
    seen, out = tmp_path / "seen", tmp_path / "job"
    script = f"""
import sys
import pymc_hier
from pymc_hier.cli import main
real = pymc_hier.sample_prior
def spy(*args, **kwargs):  # the forked step
    open({str(seen)!r}, "w").write(str("dask.array" in sys.modules))
    return real(*args, **kwargs)
pymc_hier.sample_prior = spy
assert "dask.array" not in sys.modules
sys.exit(main(["run", "schools", "--no-sweep", "--out", {str(out)!r}, *{EXACT!r}]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert done.returncode == EXIT_OK, done.stderr
    assert seen.read_text() == "True"
    stages = json.loads((out / "timings.json").read_text())["stages"]
    assert stages["prior draws"]["parallel"] is True


@pytest.mark.filterwarnings("ignore::pymc_hier.exceptions.SamplingWarning")  # 2 x 100 draws
def test_run_keeps_stdout_for_its_results_and_progress_on_stderr(tmp_path, capsys):
    """nutpie's progress bar (PyMC draws it on stdout) goes to stderr with the rest."""
    out = tmp_path / "job"
    assert main(["run", "schools", "--out", str(out), "--no-sweep", "--draws", "100",
                 "--tune", "100", "--chains", "2"]) == EXIT_OK
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    assert lines[0].startswith("Population mean μ: ") and lines[1].startswith(
        "Population scale τ: ")
    assert lines[2].startswith("2 chains × 100 draws from nutpie (seed 0)")
    assert lines[3:] == [f"Report: {out / 'report.html'}"]
    assert "Grad" in printed.err and "pymc-hier: sampling with nutpie" in printed.err
    # the prior draws, which may run in another process, are announced before the PGM
    from pymc_hier.background import can_fork

    where = " (in a second process)" if can_fork() and (os.cpu_count() or 1) > 1 else ""
    progress = printed.err.splitlines()
    assert progress.index(f"pymc-hier: prior predictive draws{where}") < progress.index(
        "pymc-hier: exporting the PGM")


def test_sweep_sampler_auto_takes_the_exact_posterior_where_there_is_one():
    from types import SimpleNamespace

    import pymc as pm

    import pymc_hier as ph
    from pymc_hier.cli import UserError, _sweep_request, _sweep_sampler

    data = ph.simulate_decay(seed=1, n_widgets=10)
    exact = ph.decay_model(data)
    # the family has an exact posterior, this variant has none
    rates = ph.decay_model(data, alpha="hierarchical")
    with pm.Model() as plain:
        pm.Normal("y", pm.Normal("mu"), 1.0, observed=[0.1, 0.2])
    args = SimpleNamespace(sampler="nutpie", sweep_sampler="auto")
    assert _sweep_sampler(exact, args) == ("exact", "--sweep-sampler")
    assert _sweep_sampler(rates, args) == ("nutpie", "--sampler")
    assert _sweep_sampler(plain, args) == ("nutpie", "--sampler")
    args.sweep_sampler = "nutpie"
    assert _sweep_sampler(exact, args) == ("nutpie", "--sweep-sampler")
    args.sweep_sampler = "exact"
    with pytest.raises(UserError, match="^--sweep-sampler: the 'custom' model has no exact"):
        _sweep_sampler(plain, args)
    with pytest.raises(UserError, match=r"^--sweep-sampler: alpha: .*no exact posterior"):
        _sweep_sampler(rates, args)
    # a model without an exact posterior sweeps with --sampler, which must suit a sweep
    with pytest.raises(UserError, match=r"^--sampler: prior sweeps sample with nutpie or "
                                        r"exact, not 'pymc' \(or pass --no-sweep\)"):
        _sweep_request(rates, SimpleNamespace(sampler="pymc", sweep_sampler="auto"), run=True)
    with pytest.raises(UserError, match="^--param, --values: the 'custom' model has no"):
        _sweep_request(plain, SimpleNamespace(sampler="nutpie", sweep_sampler="auto"))
    # the sweep subcommand has no --sweep-sampler: it samples with --sampler
    assert _sweep_sampler(exact, SimpleNamespace(sampler="nutpie")) == ("nutpie", "--sampler")


def test_exact_sampler_refused_for_a_variant_without_exact_posterior(tmp_path, capsys):
    out = tmp_path / "h"
    assert main(["run", "decay", "--alpha", "hierarchical", "--sampler", "exact", "--out",
                 str(out), "--quiet"]) == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["pymc-hier: error: --sampler: alpha: the decay model with one rate per "
                   "widget (alpha='hierarchical') has no exact posterior; sample it with NUTS"]
    assert not out.exists()


@pytest.mark.parametrize("quiet", [False, True])
def test_library_progress_is_printed_unless_quiet_and_the_loggers_are_restored(capsys,
                                                                               quiet):
    import logging

    from pymc_hier.cli import _library_messages

    ours, pymc = logging.getLogger("pymc_hier"), logging.getLogger("pymc")
    before = (ours.level, ours.propagate, list(ours.handlers), pymc.level)
    with _library_messages(quiet):
        logging.getLogger("pymc_hier.nutpie_cache").info("compiling the model")
        logging.getLogger("pymc_hier.nutpie_cache").debug("details")
    err = capsys.readouterr().err
    assert err == ("" if quiet else "pymc-hier: compiling the model\n")
    assert (ours.level, ours.propagate, list(ours.handlers), pymc.level) == before


def test_run_forgets_arviz_bases_unloaded_lazy_jax(monkeypatch):
    import importlib.util

    from pymc_hier.cli import _forget_unloaded_jax

    lazy = importlib.util._LazyModule("jax")  # what arviz-base leaves in sys.modules
    monkeypatch.setitem(sys.modules, "jax", lazy)
    _forget_unloaded_jax("numpyro")  # JAX samplers keep it
    assert sys.modules["jax"] is lazy
    _forget_unloaded_jax("nutpie")
    assert "jax" not in sys.modules
    loaded = type(sys)("jax")  # a loaded JAX stays
    monkeypatch.setitem(sys.modules, "jax", loaded)
    _forget_unloaded_jax("nutpie")
    assert sys.modules["jax"] is loaded


@pytest.mark.parametrize(("sampler", "dropped"), [("nutpie", True), ("numpyro", False)])
def test_the_lazy_jax_is_dropped_before_the_model_is_built(monkeypatch, sampler, dropped):
    # building the decay model calls scipy.special.logsumexp, whose array checks would
    # import JAX through arviz-base's lazy module
    import importlib.util
    from types import SimpleNamespace

    from pymc_hier import cli

    lazy = importlib.util._LazyModule("jax")
    monkeypatch.setitem(sys.modules, "jax", lazy)
    seen = []

    def build(family, data, args, *, options=None):
        seen.append(sys.modules.get("jax") is lazy)
        raise cli.UserError("stop here")

    monkeypatch.setattr(cli, "build_model", build)
    monkeypatch.setattr(cli, "_check_sampler", lambda sampler, family: None)
    args = SimpleNamespace(model="decay", data=None, option=None, priors=None, seed=0,
                           sampler=sampler)
    with pytest.raises(cli.UserError, match="stop here"):
        cli._family_inputs(args, sampling=True)
    assert seen == [not dropped]
