"""The report's building blocks: MathML, units, numbers, tables, shapes of models."""

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import pymc_hier as ph
from pymc_hier.generative import GenerativeModel, Node, Symbol, parse
from pymc_hier.reports import html as H
from pymc_hier.reports import mathml
from pymc_hier.reports.numbers import (
    DASH,
    fmt_count,
    fmt_khat,
    fmt_rhat,
    format_sig,
    format_values,
)
from pymc_hier.reports.structure import hierarchies
from pymc_hier.reports.units import (
    DisplayUnits,
    choose_time_unit,
    parse_unit,
    scale_parameters,
    unit_text,
)


def _xml(fragment: str) -> ET.Element:
    return ET.fromstring(mathml.math(fragment))


def _text(fragment: str) -> str:
    return "".join(_xml(fragment).itertext()).replace("\u2062", "").replace("\u2061", "")


# -- MathML ----------------------------------------------------------------------------------
def test_symbols_with_accents_and_subscripts():
    n1 = _xml(mathml.symbol(Symbol("N", ("1",), "hat"), ["i"]))
    ns = "{http://www.w3.org/1998/Math/MathML}"
    sub = n1.find(f"{ns}msub")
    assert sub is not None and sub[0].tag == f"{ns}mover"  # accent under the subscripts
    assert _text(mathml.symbol(Symbol("N", ("0", "max")))) == "N0,max"
    # numbers are <mn>, words upright <mi>
    assert "<mn>0</mn>" in mathml.symbol(Symbol("t", ("0",)))
    assert "<mi>max</mi>" in mathml.symbol(Symbol("N", ("0", "max")))
    assert "<mn>½</mn>" in mathml.symbol(Symbol("t", ("½",)))


@pytest.mark.parametrize(("value", "text"), [
    (5.0, "5"), (0.125, "0.125"), (1.5e-7, "1.5×10−7"), (1e-7, "10−7"), (-2.0, "−2"),
    (math.inf, "∞"), (2.5e8, "2.5×108"),
])
def test_numbers(value, text):
    assert _text(mathml.number(value)) == text


@pytest.mark.parametrize(("expr", "text"), [
    ("N0 * exp(-alpha * (t1 - t0))", "N0e−alpha(t1−t0)"),
    ("(a + b) * c", "(a+b)c"),
    ("a - (b - c)", "a−(b−c)"),
    ("a - b - c", "a−b−c"),
    ("a[g]", "ag"),
    ("sqrt(a)", "a"),
    ("f(a, b)", "f(a,b)"),
    ("-a ** 2", "−a2"),
    ("2 * a", "2a"),
    ("a * 2", "a·2"),
])
def test_expressions_follow_the_unicode_renderers_precedence(expr, text):
    fragment = mathml.expression(parse(expr), {})
    assert _text(fragment) == text


def test_exp_is_a_power_of_e_and_division_a_fraction():
    fragment = mathml.expression(parse("N0 * exp(-alpha * (t1 - t0))"), {})
    assert '<msup><mi mathvariant="normal">e</mi>' in fragment
    assert "<mfrac>" in mathml.expression(parse("log(2) / alpha"), {})


def test_equations_of_the_decay_model_read_as_the_lecture():
    gen = ph.describe_model(ph.decay_model(ph.simulate_decay(seed=1, n_widgets=4)))
    rows = {name: (_text(left), _text(rel), _text(right))
            for name, left, rel, right in mathml.equations(gen)}
    assert set(rows) == {"alpha", "N0", "t0", "n_measured"}  # data have no law
    assert rows["N0"] == ("N0,i", "∼", "Uniform(0,N0,max)")
    assert rows["t0"] == ("t0,i", "∼", "Uniform(t0,min,i,t0,max,i)")
    assert rows["n_measured"][2] == "Normal(N0,ie−α(t1,i−t0,i),σi)"
    assert rows["alpha"][2].startswith("HalfCauchy(")


def test_a_bad_expression_is_refused():
    with pytest.raises(ValueError, match="expression"):
        mathml.expression(parse("a +"), {})


# -- units -----------------------------------------------------------------------------------
def test_parse_and_choose_units():
    assert parse_unit("s") == ("s", 1)
    assert parse_unit("1/s") == ("s", -1)
    assert parse_unit("per day") == ("day", -1)
    assert parse_unit("s^-1") == ("s", -1)
    assert parse_unit("points") is None and parse_unit(None) is None
    assert choose_time_unit(120.0) == "min" and choose_time_unit(119.0) == "s"
    assert choose_time_unit(1.2e7) == "day"  # the lecture: 138 days in seconds
    assert choose_time_unit(3 * 31557600.0) == "year"
    assert unit_text("1/day") == "per day" and unit_text("day") == "days"


def test_display_units_rescale_times_and_rates_together():
    source = {"alpha": "1/s", "t0": "s", "t1": "s", "n": "kg"}
    units = DisplayUnits.from_data(source, [("t1", np.array([0.0, 1.2e7])),
                                            ("n", np.array([1e9]))])
    assert units.time_unit == "day"
    assert units.factor("t0") == pytest.approx(1 / 86400)
    assert units.factor("alpha") == pytest.approx(86400)
    assert units.factor("n") == 1.0 and units.unit("n") == "kg"
    assert units.convert("alpha", 5.5e-7) == pytest.approx(0.04752)
    assert "days" in units.statement() and "seconds" in units.statement()
    # without time data nothing is rescaled
    assert DisplayUnits.from_data(source, []).factor("alpha") == 1.0


def test_prior_parameters_rescale_with_their_variable():
    assert scale_parameters("HalfCauchy", {"beta": 1.5e-7}, 86400) == \
        pytest.approx({"beta": 0.01296})
    assert scale_parameters("Gamma", {"alpha": 2.0, "beta": 3.0}, 10.0) == \
        pytest.approx({"alpha": 2.0, "beta": 0.3})
    assert scale_parameters("Exponential", {"lam": 2.0}, 4.0) == pytest.approx({"lam": 0.5})
    assert scale_parameters("LogNormal", {"mu": 0.0, "sigma": 1.0}, 2.0) is None


# -- numbers ---------------------------------------------------------------------------------
def test_a_column_shares_its_decimals_and_notation():
    col = format_values([0.04745, 0.00075, 0.0461, 0.04849], scale=0.00075)
    assert col == ["0.04745", "0.00075", "0.04610", "0.04849"]
    assert format_values([8.2e6, 4.3e6], sig=3) == [H.Markup("8.20×10<sup>6</sup>"),
                                                    H.Markup("4.30×10<sup>6</sup>")]
    assert format_values([1.0, np.nan]) == ["1.00", DASH]
    assert format_values([-0.0001, 2.0], scale=0.5) == ["0.00", "2.00"]  # never "-0.00"
    assert format_sig([0.000577, 0.0705, 0.310]) == ["0.000577", "0.0705", "0.310"]


def test_diagnostic_numbers():
    assert fmt_rhat(1.0012) == "1.00" and fmt_rhat(1.0123) == "1.012"
    assert fmt_count(4563.4) == "4563" and fmt_count(np.nan) == DASH
    assert fmt_khat(-np.inf) == DASH and fmt_khat(0.7) == "0.70"


# -- HTML ------------------------------------------------------------------------------------
def test_tables_keep_every_row_escape_text_and_scroll():
    rows = [[str(k), H.Markup("<b>x</b>"), "<i>"] for k in range(201)]
    out = H.table(["id", "a", "b"], rows)
    assert out.count("<tr>") == 202  # header and all 201 rows: nothing cut
    assert "<b>x</b>" in out and "&lt;i&gt;" in out
    assert out.startswith('<div class="scroll">')


def test_folded_tables_say_when_they_are_cut():
    rows = [[str(k), "x"] for k in range(H.TABLE_LIMIT + 5)]
    out = H.folded_table("Every unit", ["unit", "x"], rows)
    assert f"the first {H.TABLE_LIMIT} of {H.TABLE_LIMIT + 5} rows" in out
    assert out.count("<tr>") == H.TABLE_LIMIT + 1
    assert "Every unit (3 rows)" in H.folded_table("Every unit", ["u"], [["a"]] * 3)


def test_page_has_contents_viewport_and_print_styles():
    page = H.page("T", H.section("a", "A", "<p>x</p>"), timestamp="now",
                  contents=[("a", "A")])
    assert '<a href="#a">A</a>' in page and 'id="timestamp">now<' in page
    assert 'name="viewport"' in page and "@media print" in page
    assert "<script" not in page


def test_plural_of_unit_names():
    from pymc_hier.plots.hierarchy import plural

    assert [plural(w) for w in ("school", "county", "day", "box", "obs", "x_dim")] == \
        ["schools", "counties", "days", "boxes", "obs", "x_dim"]


# -- shapes ----------------------------------------------------------------------------------
def test_hierarchies_are_found_by_shape_not_name():
    gen = ph.describe_model(ph.eight_schools_model())
    (h,) = hierarchies(gen)
    assert (h.effect, h.mean, h.scale, h.observed, h.sigma) == ("theta", "mu", "tau", "y",
                                                                "sigma")
    renamed = GenerativeModel((
        Node("m", "latent", Symbol("m"), dist="Normal", params=(("mu", "0"), ("sigma", "1"))),
        Node("s", "latent", Symbol("s"), dist="HalfNormal", params=(("sigma", "1"),)),
        Node("b", "latent", Symbol("b"), dist="Normal", params=(("mu", "m"), ("sigma", "s")),
             dims=("g",)),
        Node("se", "fixed", Symbol("e"), dims=("g",)),
        Node("obs", "observed", Symbol("x"), dist="Normal",
             params=(("mu", "b"), ("sigma", "se")), dims=("g",)),
    ))
    assert hierarchies(renamed)[0].observed == "obs"
    # the decay model has none
    assert hierarchies(ph.describe_model(
        ph.decay_model(ph.simulate_decay(seed=1, n_widgets=3)))) == []
