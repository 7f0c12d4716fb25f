"""simulate_decay: the lecture's faux data bit for bit, other settings, scale."""

# The lecture draws from NumPy's legacy global generator; reproducing it needs that API.
# ruff: noqa: NPY002

import numpy as np
import pytest

from pymc_hier import DecayData, simulate_decay

DAY = 24 * 60 * 60
LECTURE_ALPHA = 5.488135039273247e-07


def lecture_stream(seed=0):
    """The lecture's faux-data draws, written out independently of pymc_hier.

    NumPy's legacy global generator seeded once, draws taken in the lecture's order with its
    (n, 1) shapes: alpha, N0, t0, t1, sigma, measurement error.
    """
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        alpha = np.random.uniform() * 1e-6
        n0 = np.random.uniform(0, 10, size=(100, 1))
        t0 = np.random.uniform(0, 35 * DAY, size=(100, 1))
        t1 = 35 * DAY + 14 * DAY + np.random.uniform(0, 90 * DAY, size=(100, 1))
        t1 = np.sort(t1, axis=1)  # one observation per widget: a no-op, as in the lecture
        n_true = n0 * np.exp(-alpha * (t1 - t0))
        sigma = 0.10 * np.random.normal(0, 1, size=n_true.shape)
        n_measured = n_true + np.random.normal(0, 1, size=n_true.shape) * sigma
        sigma = np.abs(sigma)
    finally:
        np.random.set_state(state)
    return {"alpha": alpha, "n0": n0[:, 0], "t0": t0[:, 0], "t1": t1[:, 0],
            "n_measured": n_measured[:, 0], "sigma": sigma[:, 0]}


@pytest.fixture(scope="module")
def lecture():
    return lecture_stream()


def test_lecture_alpha(lecture_data, lecture):
    assert lecture["alpha"] == LECTURE_ALPHA
    assert lecture_data.truth["alpha"] == LECTURE_ALPHA


def test_lecture_arrays_exactly(lecture_data, lecture):
    np.testing.assert_array_equal(lecture_data.t_measured, lecture["t1"], strict=True)
    np.testing.assert_array_equal(lecture_data.n_measured, lecture["n_measured"], strict=True)
    np.testing.assert_array_equal(lecture_data.sigma, lecture["sigma"], strict=True)
    np.testing.assert_array_equal(lecture_data.t0, lecture["t0"], strict=True)
    np.testing.assert_array_equal(lecture_data.truth["t0"], lecture["t0"], strict=True)
    np.testing.assert_array_equal(lecture_data.truth["n0"], lecture["n0"], strict=True)


def test_lecture_does_not_touch_global_rng():
    np.random.seed(123)
    expected = np.random.uniform(size=3)
    np.random.seed(123)
    simulate_decay()
    np.testing.assert_array_equal(np.random.uniform(size=3), expected)


def test_lecture_timeline(lecture_data):
    d = lecture_data
    assert isinstance(d, DecayData)
    assert d.n_widgets == 100
    assert d.n0_max == 10.0
    assert d.time_unit == "s"
    # 35 days of manufacture, one window (the day) per widget.
    assert np.all(d.t0 >= 0) and np.all(d.t0 < 35 * DAY)
    np.testing.assert_array_equal(d.day_end - d.day_start, np.full(100, DAY))
    np.testing.assert_array_equal(d.day_start, np.floor(d.t0 / DAY) * DAY)
    assert np.all((d.day_start <= d.t0) & (d.t0 < d.day_end))
    # Measurement opens 14 days after manufacture ends and lasts 90 days.
    assert np.all(d.t_measured >= (35 + 14) * DAY)
    assert np.all(d.t_measured <= (35 + 14 + 90) * DAY)
    # The draws spread over both windows (not squeezed into a corner).
    assert d.t0.min() < 2 * DAY and d.t0.max() > 33 * DAY
    assert d.t_measured.min() < (49 + 5) * DAY and d.t_measured.max() > (139 - 5) * DAY


def test_lecture_sigma_is_abs_of_scaled_normal(lecture_data, lecture):
    # sigma = |0.1 z| with z ~ N(0, 1): positive, and its error uses the same signed scale.
    assert np.all(lecture_data.sigma > 0)
    residual = lecture_data.n_measured - lecture["n0"] * np.exp(
        -LECTURE_ALPHA * (lecture["t1"] - lecture["t0"]))
    z_error = residual / lecture_data.sigma
    assert np.all(np.abs(z_error) < 5)
    # E|0.1 z| = 0.1 sqrt(2/pi); sd|0.1 z| = 0.1 sqrt(1 - 2/pi); 3 standard errors over 100.
    mcse = 0.1 * np.sqrt(1 - 2 / np.pi) / np.sqrt(100)
    assert abs(lecture_data.sigma.mean() - 0.1 * np.sqrt(2 / np.pi)) <= 3 * mcse


def test_truth(lecture_data):
    truth = lecture_data.truth
    assert set(truth) == {"alpha", "n0", "t0"}
    assert np.all((truth["n0"] >= 0) & (truth["n0"] <= 10))
    with pytest.raises(TypeError):
        truth["alpha"] = 1.0
    assert not truth["n0"].flags.writeable


def test_other_seed_default_settings_is_the_lecture_recipe(lecture):
    other = simulate_decay(seed=1)
    stream = lecture_stream(seed=1)
    np.testing.assert_array_equal(other.n_measured, stream["n_measured"])
    assert other.truth["alpha"] == stream["alpha"]
    assert not np.array_equal(other.n_measured, lecture["n_measured"])


def test_time_unit_rescales_the_lecture(lecture_data):
    days = simulate_decay(time_unit="day")
    np.testing.assert_array_equal(days.t_measured, lecture_data.t_measured / DAY)
    np.testing.assert_array_equal(days.day_start, lecture_data.day_start / DAY)
    np.testing.assert_array_equal(days.n_measured, lecture_data.n_measured)
    assert days.time_unit == "day"
    assert days.truth["alpha"] == LECTURE_ALPHA * DAY
    np.testing.assert_array_equal(days.day_end - days.day_start, np.ones(100))


def test_other_settings_use_a_new_style_generator():
    a = simulate_decay(seed=3, n_widgets=50)
    b = simulate_decay(seed=3, n_widgets=50)
    assert a == b
    assert a.n_widgets == 50
    # Exactly the documented new-style recipe: default_rng(seed), same draw order.
    rng = np.random.default_rng(3)
    alpha = rng.uniform() * 1e-6
    n0 = rng.uniform(0, 10, size=50)
    t0 = rng.uniform(0, 35 * DAY, size=50)
    t1 = 49 * DAY + rng.uniform(0, 90 * DAY, size=50)
    sigma = 0.1 * rng.standard_normal(50)
    n_measured = n0 * np.exp(-alpha * (t1 - t0)) + rng.standard_normal(50) * sigma
    assert a.truth["alpha"] == alpha
    np.testing.assert_array_equal(a.n_measured, n_measured)
    np.testing.assert_array_equal(a.sigma, np.abs(sigma))
    # ... and not the legacy stream: the first 50 widgets of seed 3's lecture recipe differ.
    assert not np.array_equal(a.truth["n0"], lecture_stream(seed=3)["n0"][:50])
    assert simulate_decay(seed=4, n_widgets=50) != a


def test_explicit_settings():
    d = simulate_decay(seed=5, n_widgets=20, alpha=2e-7, n0_max=3.0, manufacture_days=10,
                       delay_days=2, measurement_days=5, noise=0.01, time_unit="day")
    assert d.truth["alpha"] == pytest.approx(2e-7 * DAY, rel=1e-15)
    assert d.n0_max == 3.0
    assert np.all(d.truth["n0"] <= 3.0)
    assert np.all(d.t0 < 10) and np.all((d.t_measured >= 12) & (d.t_measured <= 17))
    assert np.all(d.sigma < 0.01 * 6)
    # Same settings, same seed: identical; the lecture seed and settings do not leak in.
    assert d == simulate_decay(seed=5, n_widgets=20, alpha=2e-7, n0_max=3.0,
                               manufacture_days=10, delay_days=2, measurement_days=5,
                               noise=0.01, time_unit="day")


def test_a_million_widgets():
    d = simulate_decay(seed=7, n_widgets=10**6)
    assert d.n_widgets == 10**6
    for arr in (d.t_measured, d.n_measured, d.sigma, d.day_start, d.day_end, d.t0,
                d.truth["n0"], d.truth["t0"]):
        assert arr.shape == (10**6,)
        assert np.isfinite(arr).all()
    assert (d.sigma > 0).all()
    assert d.to_dataset().sizes == {"widget": 10**6}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_widgets": 0}, "n_widgets"),
        ({"n_widgets": 2.5}, "n_widgets"),
        ({"n_widgets": True}, "n_widgets"),
        ({"alpha": -1e-7}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"n0_max": 0.0}, "n0_max"),
        ({"n0_max": float("inf")}, "n0_max"),
        ({"manufacture_days": 0}, "manufacture_days"),
        ({"manufacture_days": 2.5}, "manufacture_days"),
        ({"delay_days": -1}, "delay_days"),
        ({"measurement_days": float("inf")}, "measurement_days"),
        ({"noise": 0.0}, "noise"),
        ({"time_unit": "fortnight"}, "time_unit"),
    ],
)
def test_rejects_bad_settings(kwargs, field):
    with pytest.raises(ValueError, match=rf"^{field}: "):
        simulate_decay(**kwargs)
