"""The ``pymc-hier`` command line: exit codes, messages, the main job."""

import subprocess
import sys

import pytest

from pymc_hier.cli import EXIT_OK, EXIT_USAGE, main


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
