"""The JAX (and Numba) backends of the exact posteriors, on the CPU, against the NumPy path.

Tolerances. The backends evaluate the same formulas (the same quadrature nodes over each
day, the same branches of the measurement density) and differ only in the rounding of the
special functions and of the sums over units: a few ulp per unit, so summed
log-likelihoods agree to ``1e-12`` relative. The tabulation (where the log density is
evaluated, the table, its inversion) is shared, so the posteriors' CDFs agree to rounding
too: far inside the tabulation error the NumPy path itself guarantees (``table_error``,
about ``1e-3`` for ``method="local"``, ``1e-11`` for ``"adaptive"``). The tests assert
``|CDF_backend - CDF_numpy| <= 1e-9`` (and ``<= table_error``). Draws of units are other
random numbers from the same conditionals: checked by Kolmogorov-Smirnov tests against
reference CDFs computed by dense quadrature (p > 1e-3, with a deliberately wrong reference
shown to fail).
"""

import numpy as np
import pytest
from scipy import integrate, stats

import pymc_hier as ph
from pymc_hier.decay.exact import _log_likelihood, decay_posterior
from pymc_hier.exact import hierarchical_normal_posterior

jax = pytest.importorskip("jax")

SEED = 20261124


@pytest.fixture(scope="module")
def widgets():
    """60 simulated widgets plus hard cases: tiny sigma, negative and near-maximal measures."""
    base = ph.simulate_decay(seed=7, n_widgets=60, time_unit="day")
    df = base.to_dataframe().reset_index()
    extra = df.iloc[:3].copy()
    extra["widget"] = [1000, 1001, 1002]
    extra["sigma"] = [1e-6, 0.05, 0.002]
    extra["n_measured"] = [df["n_measured"].iloc[0], -0.08, df["n_measured"].max()]
    extra = extra.drop(columns=[c for c in extra.columns if c.startswith("true_")])
    df = df.drop(columns=[c for c in df.columns if c.startswith("true_")])
    import pandas as pd

    return ph.DecayData.from_dataframe(pd.concat([df, extra], ignore_index=True))


@pytest.mark.parametrize("t0", ["latent", "known"])
def test_decay_log_likelihood_sums_agree(widgets, t0):
    from pymc_hier.decay.block_kernels import block_log_likelihood
    from pymc_hier.decay.exact_jax import JaxLogLikelihood

    numpy_ll = _log_likelihood(widgets, t0)
    truth = 0.35  # per day: near the posterior
    alpha = truth * np.array([1e-6, 1e-3, 0.3, 0.9, 1.0, 1.1, 3.0, 30.0, 1e3])
    cols = [np.asarray(v, dtype=float) for v in (widgets.n_measured, widgets.sigma,
                                                 widgets.t_measured)]
    days = ({"t0": widgets.t0} if t0 == "known" else
            {"day_start": widgets.day_start, "day_end": widgets.day_end})
    ref = numpy_ll(alpha)
    for ll in (JaxLogLikelihood(*cols, np.log(widgets.n0_max), **days, cells=64),
               block_log_likelihood(*cols, np.log(widgets.n0_max), **days, block=16)):
        got = ll(alpha)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)
    # the batching (1, 8, 64 rates per call; chunks of widgets) does not change the sums
    jll = JaxLogLikelihood(*cols, np.log(widgets.n0_max), **days)
    np.testing.assert_allclose([jll(a) for a in alpha[:3]], ref[:3], rtol=1e-12)


@pytest.mark.parametrize("backend", ["jax", "numba"])
def test_decay_posterior_agrees_with_numpy(widgets, backend):
    ref = decay_posterior(widgets, t0="latent")
    post = decay_posterior(widgets, t0="latent", backend=backend)
    assert post.backend == backend and post.method == ref.method
    q = np.array([1e-4, 0.025, 0.5, 0.975, 1 - 1e-4])
    x = ref.quantile(q)
    diff = np.max(np.abs(post.cdf(x) - q))
    assert diff <= min(1e-9, ref.table_error), diff
    np.testing.assert_allclose(post.quantile(q), x, rtol=1e-9)
    # the same seed draws the same rates (the same table, the same uniforms)
    a = post.sample(50, 2, random_seed=SEED, widgets=False)["posterior"]["alpha"]
    b = ref.sample(50, 2, random_seed=SEED, widgets=False)["posterior"]["alpha"]
    np.testing.assert_allclose(a, b, rtol=1e-9)
    assert a.attrs["units"] == "1/day"


def test_decay_backend_is_checked(widgets):
    with pytest.raises(ValueError, match="backend: must be one of"):
        decay_posterior(widgets, backend="cuda")


def test_x64_stays_local():
    """The backends enable 64-bit floats for their own computations only."""
    import jax.numpy as jnp

    before = jax.config.jax_enable_x64
    data = ph.simulate_decay(seed=1, n_widgets=5, time_unit="day")
    decay_posterior(data, t0="known", backend="jax").sample(5, 1, random_seed=1)
    assert jax.config.jax_enable_x64 == before
    assert jnp.ones(1).dtype == (np.float64 if before else np.float32)


def _t0_cdf(y, sigma, t1, start, end, n0_max, alpha):
    """CDF of t0 given alpha and y on its day (dense Simpson quadrature)."""
    from pymc_hier.decay.kernels import log_uniform_normal_pdf

    grid = np.linspace(start, end, 20001)
    dens = np.exp(log_uniform_normal_pdf(y, sigma, np.log(n0_max) - alpha * (t1 - grid)))
    cum = integrate.cumulative_simpson(dens, x=grid, initial=0.0)
    return lambda x: np.interp(x, grid, cum / cum[-1])


def _n0_cdf(y, sigma, t1, start, end, n0_max, alpha):
    """CDF of N0 given alpha and y, t0 integrated over its day (dense quadrature)."""
    grid = np.linspace(0.0, n0_max, 20001)
    days = np.linspace(start, end, 801)
    with np.errstate(under="ignore"):
        decay = np.exp(-alpha * (t1 - days))
    dens = stats.norm.pdf(y, grid[:, None] * decay, sigma)
    dens = integrate.simpson(dens, x=days, axis=1)
    cum = integrate.cumulative_simpson(dens, x=grid, initial=0.0)
    return lambda x: np.interp(x, grid, cum / cum[-1])


#: (y, sigma, t1, start, end): a typical widget, one measured just below the largest amount
#: its day allows with a tiny sigma, a negative measurement, and one so old (alpha dt =
#: 2000) that A underflows: its N0 is then uniform on [0, N0_max].
HARD = np.array([[2.0, 0.3, 60.0, 0.0, 1.0],
                 [4.49, 0.002, 40.0, 0.0, 1.0],
                 [-0.4, 0.2, 30.0, 0.0, 1.0],
                 [0.1, 0.3, 1e5, 0.0, 1.0]])


@pytest.mark.slow
def test_jax_widget_draws_follow_their_conditionals():
    """t0 given alpha, and N0 given alpha (t0 integrated), against dense quadrature."""
    from pymc_hier.decay.exact_jax import draw_widgets

    alpha, n0_max = 0.02, 10.0
    y, sigma, t1, start, end = HARD.T
    t_made, n0 = draw_widgets(y, sigma, t1, np.log(n0_max), np.full(3000, alpha),
                              np.random.default_rng(SEED), day_start=start, day_end=end)
    assert np.all((t_made >= start) & (t_made <= end)) and np.all((n0 >= 0) & (n0 <= n0_max))
    for i, row in enumerate(HARD):
        assert stats.kstest(t_made[:, i], _t0_cdf(*row, n0_max, alpha)).pvalue > 1e-3, i
        assert stats.kstest(n0[:, i], _n0_cdf(*row, n0_max, alpha)).pvalue > 1e-3, i
    # the check can fail: the draws are not those of another rate
    wrong = _n0_cdf(*HARD[0], n0_max, 1.3 * alpha)
    assert stats.kstest(n0[:, 0], wrong).pvalue < 1e-6
    # the same seed, the same draws; another seed, others
    again = draw_widgets(y, sigma, t1, np.log(n0_max), np.full(3000, alpha),
                         np.random.default_rng(SEED), day_start=start, day_end=end, cells=2048)
    np.testing.assert_array_equal(again[1], n0)


@pytest.mark.slow
def test_jax_known_t0_draws_follow_the_truncated_normal():
    """N0 given alpha and a known t0: M = N0 A / N0_max is Normal(y, sigma) on [0, A]."""
    from pymc_hier.decay.exact_jax import draw_widgets

    alpha, n0_max = 0.02, 10.0
    y, sigma, t1, start, _ = HARD.T
    t0 = start + 0.5
    _, n0 = draw_widgets(y, sigma, t1, np.log(n0_max), np.full(4000, alpha),
                         np.random.default_rng(SEED), t0=t0)
    for i in range(len(y)):
        upper = n0_max * np.exp(-alpha * (t1[i] - t0[i]))
        if upper < 1e-300:  # the amount is uniform on [0, A]: N0 uniform on [0, N0_max]
            assert stats.kstest(n0[:, i] / n0_max, "uniform").pvalue > 1e-3
            continue
        a, b = -y[i] / sigma[i], (upper - y[i]) / sigma[i]
        pit = stats.truncnorm.cdf(n0[:, i] * upper / n0_max, a, b, loc=y[i], scale=sigma[i])
        assert stats.kstest(pit, "uniform").pvalue > 1e-3, i


@pytest.mark.slow
@pytest.mark.parametrize("model_of", ["decay", "normal"])
def test_fit_exact_with_the_jax_backend(model_of):
    """fit(sampler="exact", backend="jax"): the NumPy backend's scalars, the same shapes."""
    if model_of == "decay":
        model = ph.decay_model(ph.simulate_decay(seed=2, n_widgets=30, time_unit="day"))
        key, unit = "alpha", "N0"
    else:
        model = ph.hierarchical_normal_model(ph.EIGHT_SCHOOLS, parametrization="marginal")
        key, unit = "tau", "theta"
    got = ph.fit(model, sampler="exact", backend="jax", draws=500, chains=2,
                 random_seed=SEED, progressbar=False)
    ref = ph.fit(model, sampler="exact", draws=500, chains=2, random_seed=SEED,
                 progressbar=False)
    assert got.attrs["sampler"] == "exact" and '"backend": "jax"' in got.attrs["sampler_kwargs"]
    assert got["posterior"].attrs["backend"] == "jax"
    np.testing.assert_allclose(got["posterior"][key], ref["posterior"][key], rtol=1e-9)
    assert got["posterior"][unit].shape == ref["posterior"][unit].shape
    # the units' draws are other draws from the same conditionals: close in mean
    diff = got["posterior"][unit].mean(("chain", "draw")) - ref["posterior"][unit].mean(
        ("chain", "draw"))
    spread = np.sqrt(2.0 / 1000) * ref["posterior"][unit].std(("chain", "draw"))
    assert float(np.max(np.abs(diff / spread))) < 5.0


def _groups(n=400, seed=3):
    rng = np.random.default_rng(seed)
    sigma = rng.uniform(5, 15, n)
    y = 2.0 + 5.0 * rng.standard_normal(n) + sigma * rng.standard_normal(n)
    return ph.SchoolsData(y=y, sigma=sigma)


@pytest.mark.parametrize("priors", ["default", "bda"])
def test_normal_posterior_agrees_with_numpy(priors):
    data = _groups()
    ref = hierarchical_normal_posterior(data, priors=priors)
    post = hierarchical_normal_posterior(data, priors=priors, backend="jax")
    tau = np.exp(ref.grid.t[::50])
    for got, want in zip(post._conditionals(tau), ref._conditionals(tau), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    q = np.array([1e-4, 0.025, 0.5, 0.975, 1 - 1e-4])
    x = ref.quantile(q)
    assert np.max(np.abs(post.cdf(x) - q)) <= 1e-9
    np.testing.assert_allclose(post.quantile(q, var="mu"), ref.quantile(q, var="mu"),
                               rtol=1e-9)
    a = post.sample(40, 2, random_seed=SEED, theta_storage="none")["posterior"]
    b = ref.sample(40, 2, random_seed=SEED, theta_storage="none")["posterior"]
    for name in ("mu", "tau", "theta_new"):
        np.testing.assert_allclose(a[name], b[name], rtol=1e-9)
    assert a.attrs["backend"] == "jax" and b.attrs["backend"] == "numpy"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_jax_theta_draws_follow_their_normal_conditionals(dtype):
    from pymc_hier.normal.exact_jax import draw_theta
    from pymc_hier.normal.kernels import conditional_moments

    data = _groups(n=300)
    rng = np.random.default_rng(SEED)
    mu = rng.normal(2.0, 0.5, (3, 70))
    tau = np.concatenate([[0.0, 1e-9, 1e9], rng.uniform(0.5, 20, 207)]).reshape(3, 70)
    theta = draw_theta(mu, tau, data.y, data.sigma, rng=rng, dtype=dtype, cells=4096)
    assert theta.shape == (3, 70, 300) and theta.dtype == np.dtype(dtype)
    mean, sd = conditional_moments(mu[..., None], tau[..., None], data.y, data.sigma)
    z = ((theta - mean) / np.where(sd > 0, sd, 1.0))[sd > 0]
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-3
    assert np.all(theta[0, 0] == mu[0, 0].astype(dtype))  # tau = 0: theta = mu
    # the check can fail: not the draws of the groups' raw estimates
    assert stats.kstest(((theta - data.y) / data.sigma).ravel(), "norm").pvalue < 1e-6


_DEVICES = """
import sys
if sys.argv[1] == "jax-first":  # what the backends avoid: JAX started before PyMC's set-up
    import jax.numpy as jnp
    jnp.ones(1).block_until_ready()
import pymc_hier as ph
ph.hierarchical_normal_posterior(ph.EIGHT_SCHOOLS, backend="jax").sample(5, 1, random_seed=1)
import pymc.sampling.jax  # noqa: F401  (as fit(sampler="numpyro") does)
import jax
print(jax.local_device_count())
"""


def test_the_backend_leaves_pymc_its_parallel_cpu_devices():
    """A JAX backend used first in a process still lets PyMC's JAX samplers run chains in
    parallel (pymc.sampling.jax sets the host's device count before JAX starts)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "XLA_FLAGS": "", "JAX_PLATFORMS": "cpu"}

    def devices(mode):
        out = subprocess.run([sys.executable, "-c", _DEVICES, mode], capture_output=True,
                             text=True, env=env, check=True)
        return int(out.stdout.strip().splitlines()[-1])

    assert devices("backend-first") > 1
    assert devices("jax-first") == 1  # the check can fail: JAX started too early
