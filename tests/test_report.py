"""Reports: an analysis top to bottom, units, no internals, checked inputs, reproducible bytes.

The last test renders both reports in headless Chromium at 1280 and 390 px and keeps the
screenshots under build/screenshots/; the building blocks and figures are tested in
test_report_parts.py and test_plots_hierarchy.py.
"""

import re
import shutil
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pymc as pm
import pytest
import xarray as xr

import pymc_hier as ph
from pymc_hier.exceptions import SamplingWarning

SEED = 11


def _fit(model, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SamplingWarning)
        return ph.fit(model, random_seed=SEED, progressbar=False, **kwargs)


@pytest.fixture(scope="module")
def schools_fit():
    model = ph.eight_schools_model()
    idata = _fit(model, draws=200, tune=300, chains=2, sampler="nutpie")
    return ph.sample_predictive(idata, model, random_seed=SEED), model


@pytest.fixture(scope="module")
def decay_fit():
    """Exact draws (fast) of the lecture's model on 20 simulated widgets, times in seconds."""
    data = ph.simulate_decay(seed=3, n_widgets=20)
    model = ph.decay_model(data)
    idata = _fit(model, draws=400, chains=2, sampler="exact")
    return ph.sample_predictive(idata, model, random_seed=SEED), model, data


def fake_sweep(idata, names, param="tau.beta", values=(1.0, 5.0, 25.0), internal=()):
    """A Dataset shaped like prior_sweep's: settings, stats, methods, k-hat."""
    post = idata["posterior"]
    stats = ["mean", "sd", "mcse_mean", "q0.05", "q0.5", "q0.95"]
    data = {}
    for k, name in enumerate([*names, *internal]):
        draws = post[name].values.reshape(-1)
        row = [draws.mean(), draws.std(), 0.01, *np.quantile(draws, [0.05, 0.5, 0.95])]
        data[name] = (("setting", "stat"), np.array([row] * len(values)) * (1 + 0.01 * k))
    ds = xr.Dataset(data, coords={"setting": [f"{param}={v:g}" for v in values],
                                  param: ("setting", list(values)), "stat": stats})
    ds["method"] = ("setting", ["refit", "reweight", "reweight"][:len(values)])
    ds["status"] = ("setting", ["ok"] * len(values))
    ds["pareto_k"] = ("setting", [2.1, -np.inf, 0.3][:len(values)])
    ds["ess_weights"] = ("setting", [10.0, 400.0, 310.0][:len(values)])
    ds.attrs = {"param": param, "khat_threshold": 0.7, "quantiles": [0.05, 0.5, 0.95]}
    return ds


def _visible_text(html: str) -> str:
    """Text a reader sees (tags, SVG paths and MathML markup removed)."""
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _maths(html: str) -> list[ET.Element]:
    """Every <math> element, parsed (so: well-formed)."""
    return [ET.fromstring(m) for m in re.findall(r"<math .*?</math>", html, flags=re.S)]


def _laws(html: str) -> list[str]:
    """The text of every formula, invisible operators dropped."""
    return ["".join(m.itertext()).replace("\u2062", "").replace("\u2061", "")
            for m in _maths(html)]


def _sections(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', html)


# -- content ---------------------------------------------------------------------------------
def test_schools_report_reads_as_an_analysis(schools_fit, tmp_path):
    idata, model = schools_fit
    sweep = fake_sweep(idata, ["mu", "tau"], internal=["theta_new_tilde"])
    html = ph.report(idata, model, tmp_path / "r.html", sweep=sweep,
                     command="pymc-hier run schools").read_text()
    assert _sections(html) == ["summary", "model", "data", "per-unit", "diagnostics", "checks",
                               "sensitivity", "provenance"]
    # the table of contents links every section
    assert re.findall(r'<a href="#([^"]+)">', html)[:8] == _sections(html)
    text = _visible_text(html)
    # nothing internal, nothing of PyMC's own printing: not in the text, nor in the figures
    for bad in ("theta_scaled", "theta_new_tilde", "CustomDist", "Data(", "&lt;shared&gt;",
                "Showing the first"):
        assert bad not in html, bad
    # the interval convention is stated once and used everywhere
    assert text.count("90% equal-tailed credible interval") == 1
    assert "eti89" not in text and "q0.05" not in text
    # equations are MathML: theta_j ~ Normal(mu, tau), well-formed
    laws = _laws(html)
    assert len(laws) > 10
    assert "Normal(μ,τ)" in laws and "Normal(θj,σj)" in laws
    # every school in the folded per-unit table, the shrinkage plot present
    for school in "ABCDEFGH":
        assert re.search(rf"<th[^>]*>{school}</th>", html), school
    assert 'aria-label="shrinkage plot"' in html and 'aria-label="forest plot of theta"' in html
    # MCMC beside the exact posterior
    assert "exact: mean (90% interval)" in text
    # the p-value is explained; the sweep's k-hat says "–" for the fit itself
    assert "How to read p" in text
    assert "<td>–</td>" in html
    assert "pymc-hier run schools" in text
    # self-contained: no external resources, no script
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<script" not in html


def test_sensitivity_says_how_the_settings_were_answered(schools_fit, tmp_path):
    """A sweep that reweights says so; an exact sweep (every setting drawn afresh from the
    exact posterior) does not claim any reweighting."""
    idata, model = schools_fit
    sweep = fake_sweep(idata, ["mu", "tau"])
    text = _visible_text(ph.report(idata, model, tmp_path / "a.html", sweep=sweep).read_text())
    assert "were reweighted from the fit above; the others were refitted" in text
    exact = sweep.assign(method=("setting", ["refit"] * 3))
    exact.attrs = {**sweep.attrs, "sampler": "exact"}
    text = _visible_text(ph.report(idata, model, tmp_path / "b.html", sweep=exact).read_text())
    assert "drawn afresh from the model's exact posterior" in text
    assert "reweighted from the fit" not in text


def test_decay_report_units_and_truth(decay_fit, tmp_path):
    idata, model, data = decay_fit
    html = ph.report(idata, model, tmp_path / "d.html").read_text()
    text = _visible_text(html)
    assert "Times are shown in days and rates per day" in text
    assert "(the data record times in seconds)" in text
    # alpha per day, its half-life in days, each with the truth
    alpha_day = float(idata["posterior"]["alpha"].mean()) * 86400
    assert re.search(r"Decay rate .*?<strong>" + f"{alpha_day:.5f}"[:6], html, flags=re.S)
    assert "Half-life" in text and "true value" in text
    assert "exact: mean" not in text  # the fit's draws are exact already
    true_half = np.log(2) / (data.truth["alpha"] * 86400)
    assert f"{true_half:.1f}"[:3] in text
    # the PGM is the model as written (the factory's call names alpha="shared", the option)
    plain = html.replace("alpha=&#x27;shared&#x27;", "").replace("alpha: &quot;shared", "")
    assert "CustomDist" not in html and "shared" not in plain
    # the lecture's equations: N0 ~ U(0, N0max), t0 ~ U(day), N1 ~ Normal(N0 e^{...}, sigma)
    laws = _laws(html)
    assert "Uniform(0,N0,max)" in laws
    assert "Uniform(t0,min,i,t0,max,i)" in laws
    normal = [law for law in laws if law.startswith("Normal(N0,i")]
    assert normal and "e−α(t1,i−t0,i)" in normal[0]
    # every widget in the per-unit tables: nothing silently cut
    assert text.count("Every widget (20 rows)") == 2  # N0 and t0
    assert len(re.findall(r"<th[^>]*>19</th>", html)) >= 3  # data and per-unit tables
    # times in days: the per-unit t0 table holds values inside the 35 manufacture days
    t0_means = idata["posterior"]["t0"].mean(("chain", "draw")).values / 86400
    assert np.all((t0_means > 0) & (t0_means < 36))
    assert f"{t0_means[0]:.2f}"[:4] in text
    # calibration sentence against the truth
    assert re.search(r"inside its 90% interval for \d+ of 20 widgets", text)


def test_plain_pymc_model_report(tmp_path):
    rng = np.random.default_rng(SEED)
    g = rng.integers(0, 4, 30)
    with pm.Model(coords={"county": list("abcd"), "obs": np.arange(30)}) as model:
        group = pm.Data("g", g, dims="obs")
        mu = pm.Normal("mu", 0, 5)
        tau = pm.HalfNormal("tau", 1)
        z = pm.Normal("z", 0, 1, dims="county")
        a = pm.Deterministic("a", mu + tau * z, dims="county")
        pm.Normal("y", a[group], 1.0, observed=rng.normal(size=30), dims="obs")
    idata = _fit(model, draws=150, tune=150, chains=2)
    html = ph.report(idata, model, tmp_path / "p.html").read_text()
    assert _sections(html) == ["summary", "model", "data", "per-unit", "diagnostics",
                               "provenance"]
    laws = _laws(html)
    assert "μ+τzj" in laws  # a_j = mu + tau z_j, read off the graph
    assert any(law.startswith("Normal(ag") for law in laws)  # y_i ~ Normal(a_{g_i}, 1)
    assert "without a pymc_hier family" in html


def test_var_names_shows_internal_variables_on_request(schools_fit, tmp_path):
    idata, model = schools_fit
    plain = ph.report(idata, model, tmp_path / "a.html").read_text()
    asked = ph.report(idata, model, tmp_path / "b.html", var_names=["theta_scaled"]).read_text()
    assert "theta_scaled" not in _visible_text(plain)
    # theta_new, then theta_scaled's eight elements, written with its symbol
    assert "Other parameters (1 row)" in plain and "Other parameters (9 rows)" in asked
    assert "θscaled" in _laws(asked)


# -- inputs ----------------------------------------------------------------------------------
def test_report_refuses_a_model_that_is_not_the_fits(schools_fit, decay_fit, tmp_path):
    idata, _ = schools_fit
    _, decay, _ = decay_fit
    with pytest.raises(ValueError, match="model: does not match idata"):
        ph.report(idata, decay, tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []


def test_report_errors_are_value_and_type_errors(schools_fit, tmp_path):
    idata, model = schools_fit
    bad = [
        (TypeError, "idata", dict(idata=idata["posterior"].to_dataset())),
        (ValueError, "posterior", dict(idata=xr.DataTree.from_dict(
            {"observed_data": idata["observed_data"].to_dataset()}))),
        (TypeError, "model", dict(model="eight_schools")),
        (TypeError, "path", dict(path=3)),
        (ValueError, "is a folder", dict(path=tmp_path)),
        (ValueError, "does not exist", dict(path=tmp_path / "missing" / "r.html")),
        (TypeError, "sweep", dict(sweep={"mu": 1})),
        (ValueError, "not a prior sweep", dict(sweep=xr.Dataset({"mu": ("x", [1.0])}))),
        (ValueError, "ci_prob", dict(ci_prob=1.5)),
        (TypeError, "ci_prob", dict(ci_prob="0.9")),
        (ValueError, "var_names", dict(var_names=["no_such_variable"])),
        (TypeError, "var_names", dict(var_names="mu")),
        (TypeError, "truth", dict(truth=[1, 2])),
    ]
    for error, match, change in bad:
        args = {"idata": idata, "model": model, "path": tmp_path / "r.html", **change}
        with pytest.raises(error, match=match):
            ph.report(args.pop("idata"), args.pop("model"), args.pop("path"), **args)
    assert [p.name for p in tmp_path.iterdir()] == []


def test_cli_report_maps_bad_paths_and_sweeps_to_exit_2(schools_fit, tmp_path, capsys):
    """Issue 19, item 7: ``report --out <a folder>`` and ``--sweep <not a sweep>``."""
    from pymc_hier.cli import main

    idata, _ = schools_fit
    saved = ph.save(idata, tmp_path / "idata.nc")
    folder = tmp_path / "folder"
    folder.mkdir()
    assert main(["report", str(saved), "--out", str(folder)]) == 2
    assert "is a folder" in capsys.readouterr().err
    xr.Dataset({"x": ("i", [1.0])}).to_netcdf(tmp_path / "other.nc")
    assert main(["report", str(saved), "--sweep", str(tmp_path / "other.nc"), "--out",
                 str(tmp_path / "r.html")]) == 2
    assert "not a prior sweep" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "idata.nc", "other.nc"]
    assert main(["report", str(saved), "--out", str(tmp_path / "r.html")]) == 0


@pytest.fixture(scope="module")
def centered_fit():
    """The centred eight schools: NUTS diverges in its funnel.

    How often varies with the seed and with the last bits of the compiled function: 0 to
    10 of 2 x 300 draws over seeds 0-7 (0 for this seed on one machine), 4 to 39 of
    4 x 500 over seeds 0-11. Hence 4 x 500.
    """
    model = ph.eight_schools_model(parametrization="centered")
    return _fit(model, draws=500, tune=500, chains=4, sampler="nutpie"), model


def test_divergences_in_a_hierarchy_show_the_funnel(centered_fit, schools_fit, tmp_path):
    idata, model = centered_fit
    assert int(idata["sample_stats"]["diverging"].sum()) > 0
    html = ph.report(idata, model, tmp_path / "c.html").read_text()
    assert 'aria-label="funnel plot"' in html and "Where the sampler diverged" in html
    assert "divergent transitions" in html and 'class="flag-bad"' in html
    assert "parametrization=&#x27;noncentered&#x27;" in html  # the advice for this model
    # no divergences: no funnel
    clean = ph.report(*schools_fit, tmp_path / "s.html").read_text()
    assert 'aria-label="funnel plot"' not in clean


def test_summary_text_is_the_reports_summary_box(decay_fit, centered_fit, tmp_path):
    """The plain-text summary ``pymc-hier run`` prints: the report's numbers, units, truth
    and exact reference, and the sampling problems named where there are some."""
    from pymc_hier.reports.build import summary_text

    idata, model, _ = decay_fit
    text = summary_text(idata, model)
    html = ph.report(idata, model, tmp_path / "d.html").read_text()
    alpha, half_life, status = text.splitlines()
    assert alpha.startswith("Decay rate α: ") and " per day (90% interval " in alpha
    mean, unit = alpha.removeprefix("Decay rate α: ").split(" (")[0].split(" ", 1)
    assert f"<strong>{mean}</strong> {unit}" in html   # the report's number and unit
    assert "; true value " in alpha and "; exact " not in alpha   # the fit is exact itself
    assert half_life.startswith("Half-life t_½: ")
    assert status == "2 × 400 independent draws from the exact posterior (seed 11): every " \
                     "convergence check passed."
    bad = summary_text(*centered_fit).splitlines()[-1]
    assert "sampling problem" in bad and "divergent" in bad and "nutpie" in bad
    with pytest.raises(ValueError):
        summary_text(idata, centered_fit[1])


def test_nutpie_fit_survives_a_save_load_round_trip_identical(centered_fit, tmp_path):
    """Issue 19, item 12: nutpie's divergence messages (NaN) no longer come back as ''."""
    idata, _ = centered_fit
    messages = idata["sample_stats"]["divergence_message"].values
    assert messages.dtype == object and all(isinstance(m, str) for m in messages.flat)
    back = ph.load(ph.save(idata, tmp_path / "fit.nc"))
    assert back.identical(idata)


# -- reproducibility -------------------------------------------------------------------------
def _timestamp_lines(a: str, b: str) -> list[tuple[str, str]]:
    return [(x, y) for x, y in zip(a.splitlines(), b.splitlines(), strict=True) if x != y]


def test_report_is_byte_identical_apart_from_the_timestamp(schools_fit, tmp_path, monkeypatch):
    idata, model = schools_fit
    sweep = fake_sweep(idata, ["mu", "tau"])
    a = ph.report(idata, model, tmp_path / "a.html", sweep=sweep).read_text()
    later = idata.copy()
    later.attrs = {**idata.attrs, "created_at": "2031-01-01T00:00:00+00:00"}
    b = ph.report(later, model, tmp_path / "b.html", sweep=sweep).read_text()
    diff = _timestamp_lines(a, b)
    assert len(diff) == 1 and 'id="timestamp"' in diff[0][0] and "2031-01-01" in diff[0][1]
    # fixing the timestamp fixes every byte, whenever the fit was made
    monkeypatch.setenv("PYMC_HIER_REPORT_TIMESTAMP", "fixed")
    c = ph.report(idata, model, tmp_path / "c.html", sweep=sweep).read_bytes()
    d = ph.report(later, model, tmp_path / "d.html", sweep=sweep).read_bytes()
    assert c == d
    assert ph.report(idata, model, tmp_path / "e.html", sweep=sweep,
                     timestamp="other").read_bytes() != c


def test_a_pgm_exported_already_is_embedded_as_it_is(schools_fit, tmp_path, monkeypatch):
    """pgm= (what run passes): the same bytes as drawing it again; its SVG is what is shown,
    and what is not an SVG file is refused."""
    idata, model = schools_fit
    monkeypatch.setenv("PYMC_HIER_REPORT_TIMESTAMP", "fixed")
    svg = ph.export_pgm(model, tmp_path / "pgm")["svg"]
    drawn = ph.report(idata, model, tmp_path / "a.html").read_bytes()
    given = ph.report(idata, model, tmp_path / "b.html", pgm=svg).read_bytes()
    assert given == drawn
    other = tmp_path / "other.svg"  # not this model's: shown as given, so the test can fail
    other.write_text('<svg xmlns="http://www.w3.org/2000/svg"><desc>marker-7261</desc></svg>')
    assert "marker-7261" in ph.report(idata, model, tmp_path / "c.html", pgm=other).read_text()
    (tmp_path / "not.svg").write_text("digraph {}")
    for error, match, pgm in [(ValueError, "pgm: .*not.svg' is not an SVG file",
                               tmp_path / "not.svg"),
                              (ValueError, "pgm: cannot read", tmp_path / "missing.svg"),
                              (TypeError, "pgm: expected a path to an SVG file", 3)]:
        with pytest.raises(error, match=match):
            ph.report(idata, model, tmp_path / "d.html", pgm=pgm)
    assert not (tmp_path / "d.html").exists()


@pytest.mark.slow
def test_two_identical_cli_runs_differ_in_the_timestamp_line_only(tmp_path):
    """Issue 19, item 12: ``pymc-hier run`` twice with the same arguments."""
    args = ["run", "schools", "--seed", "5", "--draws", "150", "--tune", "150", "--chains",
            "2", "--quiet"]
    texts = []
    for name in ("one", "two"):  # the same command line, run in two folders
        (tmp_path / name).mkdir()
        done = subprocess.run([sys.executable, "-m", "pymc_hier.cli", *args, "--out", "out"],
                              capture_output=True, text=True, check=False,
                              cwd=tmp_path / name)
        assert done.returncode == 0, done.stderr[-2000:]
        texts.append((tmp_path / name / "out" / "report.html").read_text())
    diff = _timestamp_lines(*texts)
    assert len(diff) <= 1 and all('id="timestamp"' in x for x, _ in diff)


# -- a real browser ----------------------------------------------------------------------------
SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"
WIDTHS = (1280, 390)
_CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                   "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--hide-scrollbars")
# Every element outside a scrolling box must fit the viewport; figures and formulas must
# have been laid out (a figure that failed to load has no size).
_LAYOUT_JS = """
const width = window.innerWidth;
const over = [];
for (const el of document.querySelectorAll('body *')) {
  if (el.closest('.scroll') || el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
  const r = el.getBoundingClientRect();
  if (r.width > 0 && r.right > width + 1) over.push(el.tagName + ' ' + r.right);
}
const figures = [...document.querySelectorAll('figure')].map(f => {
  const s = f.querySelector('svg'); const r = s ? s.getBoundingClientRect() : null;
  return r ? [r.width, r.height] : [0, 0];
});
const maths = [...document.querySelectorAll('math')].map(m => m.getBoundingClientRect().width);
const images = [...document.images].map(i => i.complete && i.naturalWidth > 0);
return {scrollWidth: document.documentElement.scrollWidth, width: width, over: over,
        figures: figures, maths: maths, images: images,
        height: document.documentElement.scrollHeight};
"""


def _browser(profile: Path):
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="selenium is not installed (test extra)")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run "
                    "installs them)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in _CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = browser
    return webdriver.Chrome(options=options, service=Service(driver))


def _render(driver, path: Path, width: int, shot: Path) -> dict:
    metrics = {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.get(path.resolve().as_uri())
    layout = driver.execute_script(_LAYOUT_JS)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {**metrics, "height": min(int(layout["height"]), 16000)})
    driver.save_screenshot(str(shot))
    return layout


def test_reports_in_headless_chromium(schools_fit, decay_fit, tmp_path):
    driver = _browser(tmp_path / "profile")
    schools, schools_model = schools_fit
    decay, decay_model, _ = decay_fit
    reports = {
        "schools": ph.report(schools, schools_model, tmp_path / "schools.html",
                             sweep=fake_sweep(schools, ["mu", "tau"])),
        "decay": ph.report(decay, decay_model, tmp_path / "decay.html",
                           sweep=fake_sweep(decay, ["alpha"], param="n0_max",
                                            values=(8.0, 10.0, 15.0))),
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for name, path in reports.items():
            n_figures = path.read_text().count("<figure")
            for width in WIDTHS:
                shot = SCREENSHOTS / f"{name}_{width}.png"
                layout = _render(driver, path, width, shot)
                where = f"{name} at {width} px"
                assert layout["width"] == width, where
                assert layout["scrollWidth"] <= width, (where, layout["scrollWidth"])
                assert layout["over"] == [], (where, layout["over"][:5])
                assert len(layout["figures"]) == n_figures >= 6, where
                assert all(w > 50 and h > 50 for w, h in layout["figures"]), where
                assert all(w <= width for w, _ in layout["figures"]), where
                assert layout["maths"] and all(w > 0 for w in layout["maths"]), where
                assert all(layout["images"]), where
                assert shot.stat().st_size > 10_000, where
        # the check itself: a page that does overflow is caught
        wide = tmp_path / "wide.html"
        wide.write_text('<html><body><div style="width:2000px">wide</div></body></html>')
        layout = _render(driver, wide, 390, tmp_path / "wide.png")
        assert layout["scrollWidth"] > 390 and layout["over"]
    finally:
        driver.quit()
