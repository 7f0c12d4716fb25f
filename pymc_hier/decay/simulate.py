"""Faux widget data: :func:`simulate_decay`."""

from __future__ import annotations

import math
import numbers

import numpy as np

from pymc_hier.decay.data import DecayData

SECONDS_PER_DAY = 86_400.0
_UNIT_SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0, "day": SECONDS_PER_DAY}

_LECTURE = {
    "n_widgets": 100,
    "alpha": None,
    "n0_max": 10.0,
    "manufacture_days": 35,
    "delay_days": 14,
    "measurement_days": 90,
    "noise": 0.1,
}


def simulate_decay(
    seed: int = 0,
    n_widgets: int = 100,
    *,
    alpha: float | None = None,
    n0_max: float = 10.0,
    manufacture_days: int = 35,
    delay_days: float = 14,
    measurement_days: float = 90,
    noise: float = 0.1,
    time_unit: str = "s",
) -> DecayData:
    """Simulate radioactive widgets as in the lecture.

    Widgets are made uniformly over ``manufacture_days`` days with initial amounts
    ``N0 ~ U(0, n0_max)``; each is measured once, at a uniform time in a window of
    ``measurement_days`` days that opens ``delay_days`` after manufacture ends. The
    measurement's standard deviation is ``|noise * z|`` with ``z ~ N(0, 1)`` and its
    error is drawn with that (signed) scale, exactly as the lecture does.

    With every setting of the simulation at its default (any ``seed``; ``time_unit`` only
    rescales the result), draws come from NumPy's legacy ``RandomState(seed)`` in the
    lecture's order, so ``seed=0`` reproduces the lecture's faux data bit for bit (in
    seconds; other units divide the times by the unit's length in seconds). Other settings
    use ``numpy.random.default_rng(seed)``. Both routes are vectorised (10^6 widgets take
    well under a second).

    Parameters
    ----------
    seed : int, default 0
        Random seed.
    n_widgets : int, default 100
        Number of widgets.
    alpha : float, optional
        True decay rate per second; by default drawn as ``U(0, 1) * 1e-6`` as in the
        lecture.
    n0_max : float, default 10
        Upper limit of the initial amount.
    manufacture_days : int, default 35
        Length of the manufacture period, in whole days (each widget's window is its day).
    delay_days, measurement_days : float, default 14 and 90
        Days from the end of manufacture to the first measurement, and the length of the
        measurement period.
    noise : float, default 0.1
        Scale of the measurement uncertainty.
    time_unit : {"s", "min", "h", "day"}, default "s"
        Unit of the returned times (the ground-truth ``alpha`` is per that unit).

    Returns
    -------
    DecayData
        The measurements with manufacture windows (whole days) and the exact manufacture
        times ``t0`` (which the ``t0="latent"`` model ignores; see
        :meth:`DecayData.without_t0`); ``truth`` holds ``alpha``, ``n0`` and ``t0``.

    Examples
    --------
    >>> from pymc_hier import simulate_decay
    >>> data = simulate_decay()
    >>> data.truth["alpha"]
    5.488135039273247e-07
    """
    if isinstance(n_widgets, bool) or not isinstance(n_widgets, numbers.Integral):
        raise ValueError(f"n_widgets: must be an integer, got {n_widgets!r}")
    if n_widgets < 1:
        raise ValueError(f"n_widgets: must be >= 1, got {n_widgets}")
    for name, value in (("alpha", alpha), ("n0_max", n0_max),
                        ("manufacture_days", manufacture_days), ("delay_days", delay_days),
                        ("measurement_days", measurement_days), ("noise", noise)):
        if value is not None and not (isinstance(value, numbers.Real)
                                      and not isinstance(value, bool) and math.isfinite(value)):
            raise ValueError(f"{name}: must be a finite number, got {value!r}")
    if time_unit not in _UNIT_SECONDS:
        raise ValueError(f"time_unit: must be one of {sorted(_UNIT_SECONDS)}, got {time_unit!r}")
    if not manufacture_days >= 1 or manufacture_days != int(manufacture_days):
        raise ValueError(f"manufacture_days: must be a whole number >= 1, got {manufacture_days}")
    if alpha is not None and not alpha >= 0:
        raise ValueError(f"alpha: must be >= 0, got {alpha}")
    for name, value in (("delay_days", delay_days), ("measurement_days", measurement_days)):
        if not value >= 0:
            raise ValueError(f"{name}: must be >= 0, got {value}")
    if not noise > 0:
        raise ValueError(f"noise: must be > 0 (sigma must be positive), got {noise}")
    if not n0_max > 0:
        raise ValueError(f"n0_max: must be > 0, got {n0_max}")
    settings = {"n_widgets": n_widgets, "alpha": alpha, "n0_max": n0_max,
                "manufacture_days": manufacture_days, "delay_days": delay_days,
                "measurement_days": measurement_days, "noise": noise}
    legacy = settings == _LECTURE
    day = SECONDS_PER_DAY
    span = manufacture_days * day
    t_delay = delay_days * day
    m_span = measurement_days * day
    size = (n_widgets,)
    if legacy:
        rng = np.random.RandomState(seed)
        # The lecture's order: alpha, N0, t0, t1, sigma, error.
        alpha = rng.uniform() * 1e-6
        n0 = rng.uniform(0, n0_max, size=size)
        t0 = rng.uniform(0, span, size=size)
        t1 = span + t_delay + rng.uniform(0, m_span, size=size)
        sigma_signed = noise * rng.normal(0, 1, size=size)
        error = rng.normal(0, 1, size=size) * sigma_signed
    else:
        rng = np.random.default_rng(seed)
        if alpha is None:
            alpha = rng.uniform() * 1e-6
        n0 = rng.uniform(0, n0_max, size=size)
        t0 = rng.uniform(0, span, size=size)
        t1 = span + t_delay + rng.uniform(0, m_span, size=size)
        sigma_signed = noise * rng.standard_normal(size)
        error = rng.standard_normal(size) * sigma_signed
    n_true = n0 * np.exp(-alpha * (t1 - t0))
    n_measured = n_true + error
    sigma = np.abs(sigma_signed)
    # An exact zero draw would make sigma 0; nudge it to the smallest positive scale.
    sigma = np.where(sigma > 0, sigma, np.finfo(float).tiny)
    day_start = np.floor(t0 / day) * day
    day_end = day_start + day
    scale = _UNIT_SECONDS[time_unit]
    return DecayData(
        t_measured=t1 / scale,
        n_measured=n_measured,
        sigma=sigma,
        day_start=day_start / scale,
        day_end=day_end / scale,
        n0_max=n0_max,
        t0=t0 / scale,
        time_unit=time_unit,
        truth={"alpha": alpha * scale, "n0": n0, "t0": t0 / scale},
    )
