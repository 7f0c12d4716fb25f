"""The model as written: expressions, equations, and descriptions read off any PyMC graph."""

import numpy as np
import pymc as pm
import pytest

import pymc_hier as ph
from pymc_hier.describe import describe_model, symbol_of
from pymc_hier.generative import GenerativeModel, Node, Symbol, parse, render_unicode


@pytest.mark.parametrize(("text", "names", "shown"), [
    ("N0 * exp(-alpha * (t1 - t0))", {"N0", "alpha", "t1", "t0"}, "N₀ e^(−α (t₁ − t₀))"),
    ("mu + tau * z", {"mu", "tau", "z"}, "μ + τ z"),
    ("(a - b) - (c - d)", {"a", "b", "c", "d"}, "a − b − (c − d)"),
    ("a[g] / 2", {"a", "g"}, "a[g] / 2"),
    ("f(mu, tau) + ...", {"mu", "tau"}, "f(μ, τ) + …"),
    ("sqrt(s ** 2 + tau ** 2)", {"s", "tau"}, "√(s^2 + τ^2)"),
    ("1.5e-07", set(), "1.5×10⁻⁷"),
])
def test_expressions_parse_and_render(text, names, shown):
    symbols = {"N0": "N₀", "alpha": "α", "t1": "t₁", "t0": "t₀", "mu": "μ", "tau": "τ"}
    expr = parse(text)
    assert expr.names() == names
    assert render_unicode(expr, symbols) == shown


@pytest.mark.parametrize("text", ["import os", "a.b", "lambda: 1", "x if y else z", "[1, 2]",
                                  "exp(1, 2)", "exp(x=1)", "'text'"])
def test_expressions_outside_the_grammar_are_refused(text):
    with pytest.raises(ValueError, match="expression"):
        parse(text)


def test_a_model_refuses_unknown_names_and_cycles():
    with pytest.raises(ValueError, match="unknown node"):
        GenerativeModel((Node("y", "observed", Symbol("y"), dist="Normal",
                              params=(("mu", "nope"), ("sigma", "1"))),))
    with pytest.raises(ValueError, match="cycle"):
        GenerativeModel((Node("a", "latent", Symbol("a"), dist="Normal",
                              params=(("mu", "b"), ("sigma", "1"))),
                         Node("b", "latent", Symbol("b"), dist="Normal",
                              params=(("mu", "a"), ("sigma", "1")))))
    with pytest.raises(ValueError, match="repeated"):
        GenerativeModel((Node("a", "fixed", Symbol("a")), Node("a", "fixed", Symbol("a"))))
    with pytest.raises(ValueError, match="needs a distribution"):
        Node("a", "latent", Symbol("a"))


@pytest.mark.parametrize(("name", "shown"), [
    ("alpha", "α"), ("t0", "t₀"), ("N0_max", "N₀,ₘₐₓ"), ("theta_tilde", "θ̃"),
    ("n_measured", "N̂₁"), ("sigma_y", "σ_y"), ("theta_j", "θⱼ"),
])
def test_symbols_from_names(name, shown):
    assert symbol_of(name).unicode() == shown


def test_decay_generative_view_is_the_lecture_model_for_every_variant():
    data = ph.simulate_decay(seed=3, n_widgets=6)
    for options in ({"t0": "latent", "n0": "marginal"}, {"t0": "latent", "n0": "latent"},
                    {"t0": "marginal"}):
        gen = describe_model(ph.decay_model(data, **options))
        assert gen.equation("N0") == "N₀,ᵢ ~ Uniform(0, N₀,ₘₐₓ)"
        assert gen.equation("t0") == "t₀,ᵢ ~ Uniform(t₀,ₘᵢₙ,ᵢ, t₀,ₘₐₓ,ᵢ)"
        assert gen.equation("n_measured") == "N̂₁,ᵢ ~ Normal(N₀,ᵢ e^(−α (t₁,ᵢ − t₀,ᵢ)), σᵢ)"
        assert gen["n_measured"].kind == "observed"
    known = describe_model(ph.decay_model(data, t0="known"))
    assert known["t0"].kind == "fixed"
    # the sampler view shows what NUTS sees: no N0 in the default variant
    sampler = describe_model(ph.decay_model(data), view="sampler")
    assert "N0" not in sampler and sampler["n_measured"].dist == "CustomDist"


def test_a_plain_models_description_is_read_off_its_graph():
    rng = np.random.default_rng(1)
    g = rng.integers(0, 3, 12)
    with pm.Model(coords={"county": list("abc"), "obs": range(12)}) as model:
        idx = pm.Data("g", g, dims="obs")
        mu = pm.Normal("mu", 0, 5)
        tau = pm.HalfNormal("tau", 1)
        z = pm.Normal("z", 0, 1, dims="county")
        a = pm.Deterministic("a", mu + tau * z, dims="county")
        pm.Normal("y", a[idx], 1.0, observed=rng.normal(size=12), dims="obs")
    gen = describe_model(model)
    assert [n.kind for n in gen.nodes] == ["fixed", "latent", "latent", "latent",
                                           "deterministic", "observed"]
    assert gen.parents("y") == ["g", "a"]
    assert parse(gen["a"].expr).names() == {"mu", "tau", "z"}
    assert "a[g" in gen.equation("y")
    assert gen.equation("tau") == "τ ~ HalfNormal(1)"
    with pytest.raises(ValueError, match="view"):
        describe_model(model, view="artist")
    with pytest.raises(TypeError, match="pymc.Model"):
        describe_model("model")
