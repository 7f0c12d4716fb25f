"""Property-based tests (Hypothesis): malformed data, CSV files, priors, options and fit
arguments give a ``ValueError`` or ``TypeError`` whose message starts with the field's name,
never another exception; what is accepted holds no NaN and can be saved.

Examples are bounded and drawn from a fixed seed (``derandomize``) so that CI is quick and
repeatable; ``HYPOTHESIS_PROFILE=long`` explores more.
"""

import os
import re
import string

import numpy as np
import pymc  # noqa: F401 - PyTensor raises the recursion limit on import: before Hypothesis runs
import pytest
import xarray as xr
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import pymc_hier as ph
from pymc_hier.cli_inputs import UserError, check_seed, model_options, parse_values
from pymc_hier.decay.draws import draw_widgets, n0_given_t0

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=2000, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# -- strategies ------------------------------------------------------------------------------
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e3, max_value=1e3),
    st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e308, -1e308, 5e-324]),
    st.integers(min_value=-10**20, max_value=10**20),
)
JUNK = st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.complex_numbers(),
                 st.just(object()), st.just([[1.0, 2.0]]), st.just({"a": 1}))
CELLS = st.one_of(NUMBERS, NUMBERS.map(str), JUNK)


def columns(n):
    """A column of ``n`` cells: mostly numbers, sometimes junk, sometimes the wrong length."""
    good = st.lists(st.floats(min_value=-5, max_value=20), min_size=n, max_size=n)
    return st.one_of(good, good, st.lists(CELLS, min_size=0, max_size=n + 2), JUNK)


def field_error(err: Exception, fields) -> None:
    """The message names a field first (``field:`` or ``field[...]:``)."""
    message = str(err)
    head = re.match(r"^([A-Za-z_][\w]*)(\[[^\]]*\])?(\.[\w]+)?:", message)
    assert head is not None and head.group(1) in fields, message
    event(f"refused: {head.group(1)}")


DECAY_FIELDS = {"t_measured", "n_measured", "sigma", "day_start", "day_end", "n0_max", "t0",
                "time_unit", "widget", "truth"}
SCHOOL_FIELDS = {"y", "sigma", "names", "dim"}


@st.composite
def decay_kwargs(draw):
    """Valid widgets with zero to two fields replaced by something malformed."""
    n = draw(st.integers(min_value=1, max_value=4))
    start = np.arange(n, dtype=float)
    kwargs = {"t_measured": start + 5, "n_measured": np.full(n, 2.0), "sigma": np.full(n, 0.5),
              "day_start": start, "day_end": start + 1, "n0_max": 10.0}
    optional = {"t0": start + 0.5, "time_unit": "day", "widget": [f"w{i}" for i in range(n)],
                "truth": {"alpha": 0.1, "n0": np.full(n, 3.0)}}
    kwargs.update({k: v for k, v in optional.items() if draw(st.booleans())})
    junk = {
        "n0_max": st.one_of(NUMBERS, JUNK), "time_unit": st.one_of(st.text(max_size=3), JUNK),
        "widget": st.lists(st.one_of(st.integers(-3, 3), st.text(max_size=2), st.floats(),
                                     st.none(), st.booleans()), min_size=0, max_size=n + 1),
        "truth": st.one_of(JUNK, st.dictionaries(st.sampled_from(["alpha", "n0", "t0", "beta"]),
                                                 CELLS, max_size=2)),
    }
    fields = sorted(set(kwargs) | {"t0", "widget", "truth"})
    for name in draw(st.lists(st.sampled_from(fields), max_size=2, unique=True)):
        kwargs[name] = draw(junk.get(name, columns(n)))
    return kwargs


# -- data ------------------------------------------------------------------------------------
@given(decay_kwargs())
def test_decay_data_accepts_or_names_the_field(tmp_path_factory, kwargs):
    try:
        data = ph.DecayData(**kwargs)
    except (ValueError, TypeError) as err:
        field_error(err, DECAY_FIELDS)
        return
    event("accepted")
    for name in ("t_measured", "n_measured", "sigma", "day_start", "day_end"):
        assert np.all(np.isfinite(getattr(data, name)))
    assert np.isfinite(data.n0_max) and data.n0_max > 0
    # accepted data can be kept with a fit: saved and loaded back
    path = tmp_path_factory.mktemp("d") / "data.nc"
    tree = xr.DataTree(data.to_dataset())
    assert ph.DecayData.from_dataset(ph.load(ph.save(tree, path)).to_dataset()) == data


@st.composite
def schools_kwargs(draw):
    """Valid groups with zero to two fields replaced by something malformed."""
    n = draw(st.integers(min_value=1, max_value=4))
    kwargs = {"y": list(np.linspace(-5, 20, n)), "sigma": [10.0] * n,
              "names": [f"s{i}" for i in range(n)], "dim": "school"}
    junk = {"names": st.one_of(st.none(), st.lists(st.one_of(st.text(max_size=2),
                                                             st.integers(), st.floats()),
                                                   max_size=n + 1)),
            "dim": st.one_of(st.sampled_from(["chain", "mu", "", "a b", "group"]), JUNK),
            "y": columns(n), "sigma": columns(n)}
    for name in draw(st.lists(st.sampled_from(sorted(kwargs)), max_size=2, unique=True)):
        kwargs[name] = draw(junk[name])
    return kwargs


@given(schools_kwargs())
def test_schools_data_accepts_or_names_the_field(kwargs):
    try:
        data = ph.SchoolsData(**kwargs)
    except (ValueError, TypeError) as err:
        field_error(err, SCHOOL_FIELDS)
        return
    event("accepted")
    assert np.all(np.isfinite(data.y)) and np.all(data.sigma > 0)
    assert np.all(np.isfinite(data.y**2)) and np.all(np.isfinite((data.y / data.sigma) ** 2))


@st.composite
def csv_text(draw):
    """A valid CSV of either kind, then cut, edited or replaced by noise."""
    decay = ph.simulate_decay(1, n_widgets=3).to_dataframe()
    schools = ph.EIGHT_SCHOOLS.to_dataframe()
    text = draw(st.sampled_from([decay, schools])).to_csv()
    edit = draw(st.sampled_from(["none", "cut", "cell", "column", "quote", "noise", "bytes"]))
    if edit == "cut":
        text = text[:draw(st.integers(0, len(text)))]
    elif edit == "cell":
        lines = text.splitlines()
        row = draw(st.integers(0, len(lines) - 1))
        cells = lines[row].split(",")
        col = draw(st.integers(0, len(cells) - 1))
        cells[col] = draw(st.one_of(st.sampled_from(["", "nan", "inf", "-1", "1e400", "abc",
                                                     "0", "True"]), st.text(max_size=4)))
        lines[row] = ",".join(cells)
        text = "\n".join(lines)
    elif edit == "column":
        lines = [line.split(",") for line in text.splitlines()]
        col = draw(st.integers(0, len(lines[0]) - 1))
        text = "\n".join(",".join(c for i, c in enumerate(line) if i != col) for line in lines)
    elif edit == "quote":
        pos = draw(st.integers(0, len(text)))
        text = text[:pos] + '"' + text[pos:]
    elif edit == "noise":
        text = draw(st.text(alphabet=string.printable, max_size=80))
    elif edit == "bytes":
        text = draw(st.binary(max_size=60)).decode("latin-1")
    return text


CSV_TEXT = csv_text()


@given(text=CSV_TEXT, reader=st.sampled_from([ph.DecayData, ph.SchoolsData]))
def test_csv_files_are_read_or_refused_naming_the_field(tmp_path_factory, text, reader):
    path = tmp_path_factory.mktemp("csv") / "data.csv"
    path.write_bytes(text.encode("latin-1", errors="replace"))
    try:
        reader.from_csv(path)
    except (ValueError, TypeError) as err:
        field_error(err, DECAY_FIELDS | SCHOOL_FIELDS | {"path", "true_alpha", "true_n0",
                                                          "true_t0"})
        return
    event("accepted")


# -- priors ------------------------------------------------------------------------------------
DISTS = {"Normal": ("mu", "sigma"), "HalfNormal": ("sigma",), "HalfCauchy": ("beta",),
         "Gamma": ("alpha", "beta"), "Beta": ("alpha", "beta"), "Uniform": ("lower", "upper"),
         "Dirichlet": ("a",), "MvNormal": ("mu", "cov"), "Poisson": ("mu",),
         "Exponential": ("lam",), "NoSuchDist": ("mu",), "Model": ()}
VALUES = st.one_of(st.floats(0.1, 10), st.floats(-10, 10), NUMBERS, JUNK,
                   st.lists(st.floats(-2, 5), min_size=2, max_size=2),
                   st.sampled_from([[[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.2], [0.2, 1.0]]]))


@st.composite
def prior_args(draw):
    dist = draw(st.sampled_from(sorted(DISTS)) if draw(st.integers(0, 5)) else JUNK)
    names = list(DISTS.get(dist, ("mu",))) if isinstance(dist, str) else ["mu"]
    if draw(st.booleans()):
        names.append(draw(st.sampled_from(["bogus", "size", "sigma"])))
    return dist, {name: draw(VALUES) for name in names if draw(st.integers(0, 4))}


@given(prior_args())
def test_priors_are_built_or_refused_naming_the_parameter(args):
    dist, params = args
    try:
        prior = ph.Prior(dist, **params)
    except (ValueError, TypeError) as err:
        message = str(err)
        assert message.startswith(("dist:", f"{dist}:", f"{dist}.")), message
        event(f"refused: {message.split(':')[0]}")
        return
    event("accepted")
    lower, upper = prior.support()
    assert not np.any(np.isnan(lower)) and not np.any(np.isnan(upper))
    assert ph.Prior.from_dict(prior.to_dict()) == prior


# -- command-line options and fit arguments ----------------------------------------------------
class _Args:
    def __init__(self, option):
        self.option = option


@given(option=st.lists(st.text(alphabet=string.printable, max_size=20), max_size=3),
       command=st.sampled_from(["decay", "schools"]))
def test_cli_options_are_accepted_or_refused_in_one_line(option, command):
    from pymc_hier.registry import get_family

    family = get_family(command)
    try:
        chosen = model_options(family, _Args(option))
    except UserError as err:
        assert str(err).startswith("--option:") and "\n" not in str(err), str(err)
        return
    family.check_options(chosen)


@given(text=st.one_of(st.none(), st.text(max_size=20)))
def test_cli_values_are_numbers_or_a_one_line_error(text):
    try:
        values = parse_values(text)
    except UserError as err:
        assert str(err).startswith("--values:") and "\n" not in str(err)
        return
    assert values is None or all(isinstance(v, float) for v in values)


@given(seed=st.integers(min_value=-2**70, max_value=2**70))
def test_cli_seeds(seed):
    try:
        assert check_seed(seed) == seed and 0 <= seed < 2**63
    except UserError as err:
        assert str(err).startswith("--seed: random_seed:")


class _Reached(Exception):
    """The arguments were accepted: sampling would start here."""


@pytest.fixture(scope="module")
def schools_model():
    return ph.eight_schools_model()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(draws=st.one_of(st.integers(-2, 3), JUNK, st.floats()),
       chains=st.one_of(st.integers(-2, 3), JUNK),
       sampler=st.one_of(st.sampled_from(["nutpie", "pymc", "exact", "stan"]), JUNK),
       seed=st.one_of(st.integers(-5, 5), JUNK),
       extra=st.dictionaries(st.sampled_from(["target_accept", "bogus", "cores"]),
                             st.integers(1, 2), max_size=1))
def test_fit_arguments_are_checked_before_sampling(schools_model, monkeypatch, draws, chains,
                                                   sampler, seed, extra):
    import pymc as pm

    from pymc_hier import fitting

    def reached(*args, **kwargs):
        raise _Reached

    monkeypatch.setattr(pm, "sample", reached)
    monkeypatch.setattr(fitting, "_exact_draws", reached)
    try:
        ph.fit(schools_model, draws=draws, chains=chains, sampler=sampler, random_seed=seed,
               progressbar=False, **extra)
    except _Reached:
        return
    except (ValueError, TypeError) as err:
        assert re.match(r"^(draws|chains|sampler|random_seed|fit\(\)):", str(err)), str(err)


# -- never NaN -------------------------------------------------------------------------------
@given(y=st.floats(-1e300, 1e300), log_sigma=st.floats(-690, 690),
       decay=st.floats(0, 1e300), log_n0_max=st.floats(-50, 50))
def test_exact_n0_draws_are_never_nan(y, log_sigma, decay, log_n0_max):
    n0 = n0_given_t0(np.full(20, y), np.exp(log_sigma), decay, log_n0_max,
                     np.random.default_rng(0))
    assert np.all(np.isfinite(n0))
    assert np.all((n0 >= 0) & (n0 <= np.exp(log_n0_max) * (1 + 1e-12)))


@settings(max_examples=25)
@given(position=st.lists(st.floats(0, 1), min_size=1, max_size=3), z=st.floats(-1, 1),
       log_sigma=st.floats(-20, 5), alpha=st.floats(0, 1e300),
       day=st.floats(1e-6, 1e6), delay=st.floats(0, 1e6))
def test_exact_latent_t0_draws_are_never_nan(position, z, log_sigma, alpha, day, delay):
    """Measurements the model can produce (within MAX_Z sigma of [0, N0_max]), errors
    from 2e-9 to 150 times N0_max, any rate (most of them far from the data)."""
    from pymc_hier.decay.problem import MAX_Z

    n = len(position)
    sigma = np.exp(log_sigma)
    y = 10 * np.asarray(position) + z * MAX_Z * sigma
    start = np.zeros(n)
    t0, n0 = draw_widgets(y, np.full(n, sigma), np.full(n, day + delay), np.log(10.0),
                          np.full(5, alpha), np.random.default_rng(0), day_start=start,
                          day_end=start + day)
    assert np.all(np.isfinite(t0)) and np.all((t0 >= 0) & (t0 <= day))
    assert np.all(np.isfinite(n0)) and np.all((n0 >= 0) & (n0 <= 10 * (1 + 1e-12)))


# -- the cases of wrong types and extreme values (issue 19, item 10) -----------------
def test_wrong_types_are_type_errors_naming_the_argument(tmp_path):
    data = ph.simulate_decay(1, n_widgets=3)
    with pytest.raises(TypeError, match=r"^model: expected a pymc.Model, got str"):
        ph.export_pgm("m", tmp_path / "pgm")
    with pytest.raises(TypeError, match=r"^priors: expected a mapping of Prior by parameter "
                                        r"name, got list"):
        ph.decay_model(data, priors=[ph.Prior("HalfCauchy", beta=1.0)])
    with pytest.raises(TypeError, match=r"^priors: expected a preset name or a mapping"):
        ph.eight_schools_model(priors=[1, 2])
    assert list(tmp_path.iterdir()) == []


def test_an_impossible_measurement_with_a_tiny_sigma_is_said_briefly():
    """sigma=1e-300 printed a z-score of 300 digits."""
    data = ph.simulate_decay(1, n_widgets=3)
    bad = data._replace(sigma=[1e-300] * 3, n_measured=[20.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"^n_measured: widget 0 \(row 0\) measured 20 ± "
                                         r"1e-300, 1e\+301 standard deviations above") as info:
        ph.decay_model(bad)
    assert len(str(info.value)) < 300
