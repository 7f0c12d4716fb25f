"""Reports: content, reproducibility, atomic writes, and a real headless browser."""

import re
import shutil
import subprocess

import numpy as np
import pytest

import pymc_hier as ph

SEED = 11


@pytest.fixture(scope="module")
def schools_fit():
    model = ph.eight_schools_model()
    idata = ph.fit(model, draws=200, tune=300, chains=2, sampler="nutpie", random_seed=SEED,
                   progressbar=False)
    idata = ph.sample_predictive(idata, model, random_seed=SEED)
    return idata, model


def _without_timestamp(text: str) -> str:
    return re.sub(r'<p class="note" id="timestamp">.*?</p>', "", text)


@pytest.mark.filterwarnings("ignore::pymc_hier.diagnostics.SamplingWarning")
def test_report_sections_and_self_contained(schools_fit, tmp_path):
    idata, model = schools_fit
    path = ph.report(idata, model, tmp_path / "r.html", command="pymc-hier run schools")
    text = path.read_text()
    for heading in ("Model", "Graphical model", "Data", "Priors", "Diagnostics",
                    "Posterior summary", "Posterior predictive checks", "Provenance"):
        assert f"<h2>{heading}</h2>" in text, heading
    assert text.count("<svg") >= 3  # PGM + two PPC plots
    assert "<table>" in text
    assert "HalfCauchy(β=5)" in text
    assert "pymc-hier run schools" in text
    # no external resources, no scripts
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert "<script" not in text
    # every school name appears in the tables
    for name in "ABCDEFGH":
        assert f"theta[{name}]" in text


@pytest.mark.filterwarnings("ignore::pymc_hier.diagnostics.SamplingWarning")
def test_report_is_byte_identical_apart_from_timestamp(schools_fit, tmp_path):
    idata, model = schools_fit
    a = ph.report(idata, model, tmp_path / "a.html", timestamp="one").read_text()
    b = ph.report(idata, model, tmp_path / "b.html", timestamp="two").read_text()
    assert a != b
    assert _without_timestamp(a) == _without_timestamp(b)
    diff = [x for x, y in zip(a.splitlines(), b.splitlines(), strict=True) if x != y]
    assert len(diff) == 1 and "timestamp" in diff[0]


def test_report_rejects_bad_input_and_leaves_nothing(schools_fit, tmp_path):
    idata, model = schools_fit
    with pytest.raises(ValueError, match="posterior"):
        ph.report(idata["observed_data"].to_dataset(), model, tmp_path / "x.html")
    with pytest.raises(ValueError, match="does not exist"):
        ph.report(idata, model, tmp_path / "missing" / "x.html")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("ignore::pymc_hier.diagnostics.SamplingWarning")
def test_report_in_headless_chromium(schools_fit, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    mpl_image = pytest.importorskip("matplotlib.image")
    idata, model = schools_fit
    path = ph.report(idata, model, tmp_path / "r.html")
    shot = tmp_path / "shot.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
             "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([browser, *flags, "--dump-dom", path.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h2>Graphical model</h2>" in dom.stdout
    assert dom.stdout.count("<svg") >= 3
    assert "Failed to load resource" not in dom.stderr
    assert "Uncaught" not in dom.stderr
    run = subprocess.run([browser, *flags, "--window-size=1200,2400",
                          f"--screenshot={shot}", path.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    img = mpl_image.imread(shot)[..., :3]
    assert img.shape[0] == 2400 and img.shape[1] == 1200
    ink = (img.mean(axis=2) < 0.9)  # darker than near-white
    # The PGM sits in the first screen: a band there must hold a drawing, not blank page.
    bands = np.array_split(ink, 12, axis=0)
    inked = [b.mean() for b in bands]
    assert max(inked) > 0.01, inked
    assert sum(f > 0.002 for f in inked) >= 6, inked
