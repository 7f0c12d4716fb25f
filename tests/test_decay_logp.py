"""The decay model's log-density kernels at the extremes, against high-precision references."""

import warnings

import mpmath as mp
import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, special, stats

from pymc_hier.decay.edges import EdgeTransform, ProbitIntervalTransform
from pymc_hier.decay.graph import (
    log_uniform_normal_graph,
    rank_backward_graph,
    rank_log_jac_graph,
)
from pymc_hier.decay.kernels import (
    log_day_marginal_pdf,
    log_uniform_normal_pdf,
    truncated_normal_draws,
)
from pymc_hier.decay.ops import log_uniform_normal_pdf as op_log_uniform_normal_pdf
from pymc_hier.decay.rank_op import rank_outputs
from pymc_hier.decay.transforms import (
    AmountRankTransform,
    ScaledLogTransform,
)

LOG_N0_MAX = float(np.log(10.0))
# Python linker, no graph rewrites: compiles in well under a second, and the kernels are
# written to be stable without PyTensor's stability rewrites.
_MODE = pytensor.compile.mode.Mode(linker="py", optimizer=None)


def _extreme_cases():
    """(y, sigma, log A): tiny sigma, huge alpha*dt, negative and far-above measurements."""
    cases = []
    for sigma in (1e-8, 1e-4, 0.1, 1.0, 100.0):
        for log_a in (np.log(10.0), 0.0, -1.0, -5.0, -20.0, -100.0, -700.0, -1000.0):
            a = np.exp(log_a)
            for f in (-50, -3, -0.5, 0, 0.3, 0.5, 0.99, 1.0, 1.01, 1.5, 3, 100):
                for y in {f * a, f * sigma, a + f * sigma}:
                    cases.append((y, sigma, log_a))
    return np.array(cases)


CASES = _extreme_cases()


def _mp_log_pdf(y, sigma, log_a):
    """log((Phi(b) - Phi(a)) / A) in arbitrary precision, on the side of the interval
    where the normal CDFs are small (no cancellation against 1)."""
    y, sigma = mp.mpf(y), mp.mpf(sigma)
    # the float A the kernels see (their conditioning in log A is not under test here)
    big_a = mp.mpf(float(np.exp(log_a))) if log_a > -700 else mp.exp(mp.mpf(log_a))
    lo, hi = -y / sigma, (big_a - y) / sigma
    if lo + hi > 0:
        lo, hi = -hi, -lo
    return mp.log(mp.ncdf(hi) - mp.ncdf(lo)) - mp.log(big_a)


def _precision(sigma, log_a):
    width = max(0.0, -(log_a - np.log(sigma)) / np.log(10.0))
    return int(60 + width)


@pytest.fixture(scope="module")
def reference():
    out = []
    for y, sigma, log_a in CASES:
        with mp.workdps(_precision(sigma, log_a)):
            out.append(float(_mp_log_pdf(y, sigma, log_a)))
    return np.array(out)


def _value_and_grads(build, mode):
    y, sigma, log_a = pt.dvectors("y", "sigma", "log_a")
    out = build(y, sigma, log_a)
    grads = pt.grad(out.sum(), [y, sigma, log_a])
    return pytensor.function([y, sigma, log_a], [out, *grads], mode=mode)


@pytest.fixture(scope="module", params=["graph", "op-numpy", "op-numba"])
def pt_kernel(request):
    """The symbolic twin, and the fused op through its NumPy twins (PyTensor's Python
    linker calls them on whole arrays) and its Numba kernels."""
    build = log_uniform_normal_graph if request.param == "graph" else op_log_uniform_normal_pdf
    return _value_and_grads(build, "NUMBA" if request.param == "op-numba" else _MODE)


def test_numpy_twins_match_the_scalar_kernels_at_extremes():
    """The fused op's NumPy twins (its ``nfunc_spec``) give what its scalar kernels give,
    value and derivatives, on every extreme case; a shifted input is told apart."""
    from pymc_hier.decay.kernels import log_uniform_normal_and_slope, log_uniform_normal_dys
    from pymc_hier.decay.ops import _PY_DYS, _PY_VALUE

    y, sigma, log_a = CASES.T
    twins = [*log_uniform_normal_and_slope(y, sigma, log_a),
             *log_uniform_normal_dys(y, sigma, log_a)]
    scalar = np.array([[*_PY_VALUE(*c), *_PY_DYS(*c)] for c in CASES]).T
    for name, got, want in zip(("log p", "d/dlog A", "d/dy", "d/dsigma"), twins, scalar,
                               strict=True):
        assert np.array_equal(np.isfinite(got), np.isfinite(want)), name
        err = np.abs(got - want) / np.maximum(1.0, np.abs(want))
        assert np.nanmax(err) < 1e-12, (name, CASES[np.nanargmax(err)])
    shifted = log_uniform_normal_and_slope(y, sigma, log_a + 1e-6)[0]
    assert np.nanmax(np.abs(shifted - scalar[0]) / np.maximum(1.0, np.abs(scalar[0]))) > 1e-8


def test_numpy_kernel_matches_mpmath_at_extremes(reference):
    got = log_uniform_normal_pdf(CASES[:, 0], CASES[:, 1], CASES[:, 2])
    err = np.abs(got - reference) / np.maximum(1.0, np.abs(reference))
    worst = int(np.argmax(err))
    assert err[worst] < 1e-12, (
        f"case (y, sigma, log A) = {CASES[worst]}: {got[worst]} vs {reference[worst]}")


def test_pytensor_twin_matches_numpy_kernel(pt_kernel, reference):
    value, *grads = pt_kernel(CASES[:, 0], CASES[:, 1], CASES[:, 2])
    np.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-12)
    for g in grads:
        assert np.all(np.isfinite(g))


@pytest.mark.parametrize(("y", "sigma", "log_a"), [
    (0.3, 1e-8, 0.0),          # tiny sigma, inside the interval
    (1.0 + 3e-8, 1e-8, 0.0),   # tiny sigma, at the upper bound
    (-50e-3, 1e-3, 0.0),       # 50 sigma below zero
    (5.0, 1e-3, 0.0),          # 4000 sigma above A
    (0.05, 0.1, -1000.0),      # alpha * dt = 1000: A underflows
    (0.05, 0.1, -20.0),        # A / sigma = 2e-8: series branch
    (0.5, 1.0, 0.0),           # plain branch
])
def test_gradients_match_mpmath(pt_kernel, y, sigma, log_a):
    _, *grads = pt_kernel(np.array([y]), np.array([sigma]), np.array([log_a]))
    with mp.workdps(_precision(sigma, log_a) + 40):
        point = [mp.mpf(y), mp.mpf(sigma), mp.mpf(log_a)]

        def f(*args):
            yy, ss, la = args
            a = mp.exp(la)
            lo, hi = -yy / ss, (a - yy) / ss
            if lo + hi > 0:
                lo, hi = -hi, -lo
            return mp.log(mp.ncdf(hi) - mp.ncdf(lo)) - la

        for i, g in enumerate(grads):
            ref = float(mp.diff(lambda t, i=i: f(*[t if j == i else point[j] for j in range(3)]),
                                point[i]))
            assert float(g[0]) == pytest.approx(ref, rel=1e-7, abs=1e-9), (i, y, sigma, log_a)


def test_jax_expansion_is_the_symbolic_twin():
    """Under JAX the fused op is rewritten into the symbolic twin: same values and
    gradients as the twin compiled for JAX, and no fused op left in the graph."""
    # PyMC's JAX module first: it asks XLA for one CPU device per chain, which only works
    # before JAX starts its backend (the JAX sampler tests run 4 chains with pmap later)
    pytest.importorskip("pymc.sampling.jax")
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    from pymc_hier.decay.ops import _DecayScalarOp

    fused = _value_and_grads(op_log_uniform_normal_pdf, "JAX")
    twin = _value_and_grads(log_uniform_normal_graph, "JAX")
    ops = [getattr(n.op, "scalar_op", None) for n in fused.maker.fgraph.apply_nodes]
    assert not any(isinstance(op, _DecayScalarOp) for op in ops)
    for got, want in zip(fused(*CASES.T), twin(*CASES.T), strict=True):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))

    # broadcast inputs: (measurement, sigma) per row against a grid of log A per column
    y, sigma, log_a = pt.dmatrix("y", shape=(None, 1)), pt.dmatrix("sigma", shape=(None, 1)), \
        pt.dmatrix("log_a", shape=(1, None))
    weights = pt.dmatrix("weights")   # a non-uniform upstream gradient

    def weighted(build):
        out = build(y, sigma, log_a)
        grads = pt.grad((weights * out).sum(), [y, sigma, log_a])
        return pytensor.function([y, sigma, log_a, weights], [out, *grads], mode="JAX")

    rows = np.random.default_rng(1).integers(0, len(CASES), 40)
    args = (CASES[rows, :1], CASES[rows, 1:2], np.linspace(-3.0, 1.0, 7)[None, :],
            np.random.default_rng(2).uniform(0.5, 2.0, (40, 7)))
    for got, want in zip(weighted(op_log_uniform_normal_pdf)(*args),
                         weighted(log_uniform_normal_graph)(*args), strict=True):
        # the sums over broadcast axes run in another order: rounding only
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-12, atol=0)

    # the rank transform's op: backward and log-Jacobian with their gradients
    r, y, sigma, log_a = pt.dvectors("r", "y", "sigma", "log_a")
    fused = rank_outputs(r, y, sigma, log_a)
    outs = {}
    for name, (m, jac) in {
        "fused": (fused[0], fused[3]),
        "twin": (rank_backward_graph(r, y, sigma, log_a),
                 rank_log_jac_graph(r, y, sigma, log_a)),
    }.items():
        total = (m + jac).sum()
        fn = pytensor.function([r, y, sigma, log_a], [m, jac, *pt.grad(total, [r, log_a])],
                               mode="JAX")
        rng = np.random.default_rng(0)
        outs[name] = fn(rng.normal(0, 3, CASES.shape[0]), *CASES.T)
    for got, want in zip(outs["fused"], outs["twin"], strict=True):
        # the op's derivatives are the twin's, summed in another order: rounding only
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-12, atol=1e-14)


def test_rank_transform_carries_the_measurement_given_the_amount():
    """The rank transform's log_jac_det is ``log |dM/dr| + log N(y | M, sigma) - log p(y | A)``
    (what lets the latent-N0 model take the measurement's marginal density), in closed form
    on every branch, at the extremes of CASES; without the narrow branch's residual the
    identity fails there."""
    r_, y_, sigma_, log_a_ = pt.dvectors("r", "y", "sigma", "log_a")
    tr = AmountRankTransform(y_, sigma_)
    m, _, _, jac = rank_outputs(r_, y_, sigma_, log_a_)[:4]
    fn = pytensor.function([r_, y_, sigma_, log_a_], [tr.log_jac_det(r_, log_a_), m, jac],
                           mode="NUMBA")
    r = np.random.default_rng(7).normal(0.0, 3.0, CASES.shape[0])
    y, sigma, log_a = CASES.T
    got, amount, log_jac = fn(r, y, sigma, log_a)
    normal = stats.norm.logpdf(y, amount, sigma)
    expected = log_jac + normal - log_uniform_normal_pdf(y, sigma, log_a)
    ok = np.isfinite(expected) & (amount > 0) & (amount < np.exp(log_a))   # not clipped
    assert ok.mean() > 0.6
    scale = 1.0 + np.abs(log_jac) + np.abs(normal)
    np.testing.assert_allclose(got[ok], expected[ok], rtol=0, atol=1e-9 * scale[ok].max())
    assert np.all(np.isfinite(got))
    # the residual matters on the narrow branch: the plain closed form misses it there
    plain = log_a + stats.norm.logpdf(r)
    assert np.max(np.abs(plain[ok] - expected[ok])) > 1e-3


def test_fused_op_refuses_second_derivatives():
    y, sigma, log_a = pt.dvectors("y", "sigma", "log_a")
    slope = pt.grad(op_log_uniform_normal_pdf(y, sigma, log_a).sum(), log_a)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        pt.grad(slope.sum(), log_a)
    r = pt.dvector("r")
    slope = pt.grad(rank_outputs(r, y, sigma, log_a)[3].sum(), r)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        pt.grad(slope.sum(), r)


def test_limits():
    # A underflows: the density is the noise density of the measurement around 0
    y, sigma = 0.07, 0.1
    assert log_uniform_normal_pdf(y, sigma, -1e4) == pytest.approx(
        stats.norm.logpdf(y, 0, sigma), rel=1e-14)
    # tiny noise well inside (0, A): the uniform density 1 / A
    assert log_uniform_normal_pdf(0.4, 1e-9, 0.0) == pytest.approx(0.0, abs=1e-14)


def _quad_day_marginal(y, sigma, t1, start, end, alpha):
    """log of the day average of p(y | alpha, t0) by adaptive quadrature (QUADPACK) with
    break points at the step of the integrand (float kernel, validated above, inside)."""
    ts = np.linspace(start, end, 4001)
    peak = log_uniform_normal_pdf(y, sigma, LOG_N0_MAX - alpha * (t1 - ts)).max()

    def f(t):
        return np.exp(log_uniform_normal_pdf(y, sigma, LOG_N0_MAX - alpha * (t1 - t)) - peak)

    points = [start, end]
    if y > 0:
        t_star = t1 - (LOG_N0_MAX - np.log(y)) / alpha
        x_end = (np.exp(LOG_N0_MAX - alpha * (t1 - end)) - y) / sigma
        a_end = np.exp(LOG_N0_MAX - alpha * (t1 - end))
        layer = sigma / (alpha * a_end * max(1.0, -x_end))   # boundary layer at the end
        candidates = [t_star + k * sigma / (alpha * y) for k in (-40, -10, -3, -1, 0, 1, 3, 10)]
        candidates += [end - k * layer for k in (0.1, 1, 3, 10, 40)]
        points += [v for v in candidates if start < v < end]
    points = sorted(points)
    with warnings.catch_warnings():
        # QUADPACK flags round-off once it is at double precision; that is all we need
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        total = sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-11, limit=200)[0]
                    for a, b in zip(points[:-1], points[1:], strict=True))
    return float(np.log(total / (end - start))) + peak


@pytest.mark.parametrize(("alpha", "sigma"), [
    (1e-9, 1e-4), (5.5e-7, 6e-4), (5.6e-7, 6e-4), (5.5e-7, 0.03), (5.6e-7, 0.3), (1e-5, 1e-4),
])
def test_day_marginal_matches_quadrature(alpha, sigma):
    t1, start = 8e6, 1.5e6
    end = start + 86_400.0
    ys = np.array([-0.1, 0.0148, 0.27, 0.35, 2.0, 9.99])
    got = log_day_marginal_pdf(ys, sigma, t1, start, end, LOG_N0_MAX, alpha)
    for y, g in zip(ys, got, strict=True):
        ref = _quad_day_marginal(y, sigma, t1, start, end, alpha)
        assert g == pytest.approx(ref, rel=1e-9, abs=1e-9), (y, sigma, alpha)


@pytest.mark.parametrize(("mean", "sigma", "upper"), [
    (0.5, 0.2, 1.0),       # interval around the mode
    (-0.05, 1e-3, 1.0),    # 50 sigma below 0: mass piles up at 0
    (3.0, 1e-3, 1.0),      # 2000 sigma above A: mass piles up at A
    (0.3, 10.0, 1e-3),     # A much narrower than the noise: nearly uniform
    (0.2, 0.05, 0.2),      # mode at the upper bound
])
def test_truncated_normal_draws(mean, sigma, upper, rng):
    draws = truncated_normal_draws(np.full(4000, mean), sigma, upper, rng)
    assert np.all((draws >= 0) & (draws <= upper))
    a, b = -mean / sigma, (upper - mean) / sigma

    def mean_offset(edge):   # E[x - edge] for x ~ N(0, 1) truncated to [edge, inf)
        return np.sqrt(2 / np.pi) / special.erfcx(edge / np.sqrt(2)) - edge

    if a > 30:      # distance from 0 in units of sigma
        assert (draws / sigma).mean() == pytest.approx(mean_offset(a), rel=0.05)
    elif b < -30:   # distance from the upper bound
        assert ((upper - draws) / sigma).mean() == pytest.approx(mean_offset(-b), rel=0.05)
    else:
        dist = stats.truncnorm(a, b, loc=mean, scale=sigma)
        assert stats.kstest(draws, dist.cdf).pvalue > 1e-3


@pytest.fixture(scope="module", params=["graph", "op-python", "op-numba"])
def rank_fn(request):
    """The rank transform through its symbolic twin, and through the fused op's Python
    and Numba kernels."""
    r, lu, y, sigma = pt.dvectors("r", "lu", "y", "sigma")
    tr = AmountRankTransform(y, sigma)
    if request.param == "graph":
        m, jac = rank_backward_graph(r, y, sigma, lu), rank_log_jac_graph(r, y, sigma, lu)
    else:   # the op's Jacobian (the transform's log_jac_det carries more: see below)
        out = rank_outputs(r, y, sigma, lu)
        m, jac = out[0], out[3]
    fwd = tr.forward(m, lu)
    lik = -0.5 * ((y - m) / sigma) ** 2 - pt.log(sigma) - 0.5 * np.log(2 * np.pi)
    joint = -lu + lik + jac   # uniform prior of the amount, measurement, Jacobian
    grad = pt.grad(joint.sum(), [r, lu])
    mode = "NUMBA" if request.param == "op-numba" else _MODE
    return pytensor.function([r, lu, y, sigma], [m, jac, fwd, joint, *grad], mode=mode)


@pytest.mark.parametrize(("y", "sigma", "log_upper"), [
    (0.35, 0.026, np.log(0.365)),     # near the bound
    (1.49, 0.0019, np.log(2.09)),     # sharply measured, far from the bound
    (-0.2, 0.1, np.log(3.0)),         # negative measurement
    (0.05, 0.3, -20.0),               # interval much narrower than the noise
    (1.03, 1e-3, 0.0),                # 30 sigma above the bound
])
def test_rank_transform_gives_marginal_times_normal(rank_fn, y, sigma, log_upper):
    """In rank coordinates the joint density is the marginal likelihood times a standard
    normal, so its gradient is ``-r`` in ``r`` and the marginal's slope in log A."""
    r = np.linspace(-8, 8, 9)
    full = np.ones_like(r)
    m, jac, fwd, joint, g_r, g_lu = rank_fn(r, log_upper * full, y * full, sigma * full)
    assert np.all((m >= 0) & (m <= np.exp(log_upper)))
    assert np.all(np.diff(m) >= 0)
    expected = log_uniform_normal_pdf(y, sigma, log_upper) + stats.norm.logpdf(r)
    np.testing.assert_allclose(joint, expected, rtol=1e-9, atol=1e-9)
    # the round trip, where the amount resolves the rank well: 1 - Phi(8) = 6e-16 of the
    # interval is below a float's spacing at A, and 30 sigma above A the last 1e-9 of the
    # conditional is resolved to 1e-4 of itself (6e-5 in r at r = 6); beyond, the side is
    # kept (the sampler's density does not use the amount: only stored draws do)
    inner = np.abs(r) <= 4
    np.testing.assert_allclose(fwd[inner], r[inner], atol=1e-6)
    assert np.all(np.sign(fwd[~inner]) == np.sign(r[~inner]))
    np.testing.assert_allclose(g_r, -r, rtol=1e-6, atol=1e-6)
    h = 1e-6
    slope = (log_uniform_normal_pdf(y, sigma, log_upper + h)
             - log_uniform_normal_pdf(y, sigma, log_upper - h)) / (2 * h)
    np.testing.assert_allclose(g_lu, slope, rtol=1e-5, atol=1e-6)


def _wall_fn(y, index=None):
    """The t0 transform of widgets measured at ``y`` (all with an edge unless ``index``
    says which) as a function of (z, alpha, data)."""
    z, start, end, t1, sigma = pt.dvectors("z", "start", "end", "t1", "sigma")
    alpha, log_n0 = pt.dscalars("alpha", "log_n0")
    tr = EdgeTransform(y, np.arange(len(y)) if index is None else index)
    inputs = (start, end, alpha, t1, log_n0, sigma)
    t = tr.backward(z, *inputs)
    return pytensor.function([z, alpha, start, end, t1, log_n0, sigma],
                             [t, tr.log_jac_det(z, *inputs), tr.forward(t, *inputs)],
                             mode=_MODE)


def test_t0_transform_is_the_probit_map_without_edges():
    """Uniform on the day in probit coordinates is exactly a standard normal, and the
    round trip holds to the resolution of t0 (ulp(1.7e6) / 86400 in probability)."""
    z = np.array([-8.0, -5.0, -2.0, -0.3, 0.0, 1.0, 3.0, 5.0, 8.0])
    n = len(z)
    start, end = np.full(n, 1.7e6), np.full(n, 1.7e6 + 86_400.0)
    t, jac, back = _wall_fn(np.full(n, 3.0), np.array([], dtype=int))(
        z, 1e-7, start, end, np.full(n, 9.0e6), LOG_N0_MAX, np.full(n, 0.1))
    np.testing.assert_allclose(t, start + 86_400.0 * stats.norm.cdf(z), rtol=1e-15)
    np.testing.assert_allclose(jac, np.log(86_400.0) + stats.norm.logpdf(z), rtol=1e-13)
    inner = np.abs(z) <= 5
    np.testing.assert_allclose(back[inner], z[inner], atol=1e-8)
    assert np.all(np.isfinite(back)) and np.all(np.sign(back[~inner]) == np.sign(z[~inner]))
    # the same map as the probit transform of data without edges (bounds from the Uniform)
    zz, lo, hi = pt.dvectors("zz", "lo", "hi")
    probit = ProbitIntervalTransform()
    fn = pytensor.function([zz, lo, hi], [probit.backward(zz, lo, hi),
                                          probit.log_jac_det(zz, lo, hi)], mode=_MODE)
    t2, jac2 = fn(z, start, end)
    np.testing.assert_array_equal(t2, t)
    np.testing.assert_array_equal(jac2, jac)


def test_edge_widgets_are_the_sharp_ones_that_can_reach_their_day():
    """Seed 102's data: widgets 7 and 14 were made with nearly N0_max and measured to
    0.002 or better; their edges cross their days where the posterior puts alpha."""
    import pymc_hier as ph
    from pymc_hier.decay.edges import edge_widgets

    data = ph.simulate_decay(seed=102, n_widgets=20)
    post = ph.decay_posterior(data)
    index = edge_widgets(data, post.quantile([1e-6, 1 - 1e-6]))
    assert list(index) == [7, 14]
    assert len(edge_widgets(data, (0.0, np.inf))) > 2        # no posterior: every candidate
    noisy = ph.DECAY.data_with_observed(data, {"n_measured": data.n_measured})._replace(
        sigma=np.full(20, 1.0))
    assert len(edge_widgets(noisy, post.quantile([1e-6, 1 - 1e-6]))) == 0


def _conditional_cdf(t, y, sigma, start, end, t1, alpha):
    """CDF of t0 in its day given alpha and y (uniform prior), by quadrature."""
    def lik(s):
        return np.exp(log_uniform_normal_pdf(y, sigma, LOG_N0_MAX - alpha * (t1 - s)))
    cut = t1 - (LOG_N0_MAX - np.log(y)) / alpha       # where A = y: the edge
    points = [c for c in (cut,) if start < c < end]
    total = integrate.quad(lik, start, end, points=points, limit=200, epsabs=0)[0]
    return np.array([integrate.quad(lik, start, ti, points=[c for c in points if c < ti],
                                    limit=200, epsabs=0)[0] for ti in t]) / total


@pytest.mark.parametrize("edge", [0.3, 0.7, 1.05])
def test_edge_transform_follows_the_conditional_of_t0_at_a_sharp_edge(edge):
    """A widget measured at y = 3.43 +- 0.002 close to the most it can hold (seed 102's
    widget 14): given alpha its day is ruled out before an edge 0.04 day wide. In the
    transform's z the conditional CDF of t0 is close to Phi(z) whether the edge lies in the
    day (``edge`` < 1: its fraction) or beyond it; the probit map is far off."""
    y, sigma, t1, start = 3.43, 0.002, 1.2e7, 3.0e6
    end = start + 86_400.0
    # alpha placing the edge (A = y) at start + edge * day
    alpha = (LOG_N0_MAX - np.log(y)) / (t1 - start - edge * 86_400.0)
    z = np.linspace(-2.0, 2.0, 9)
    one = np.ones(len(z))
    t, jac, back = _wall_fn(np.full(len(z), y))(z, alpha, start * one, end * one, t1 * one,
                                                LOG_N0_MAX, sigma * one)
    assert np.all((t >= start) & (t <= end))
    np.testing.assert_allclose(back, z, atol=1e-6)
    cdf = _conditional_cdf(t, y, sigma, start, end, t1, alpha)
    assert np.max(np.abs(cdf - stats.norm.cdf(z))) < 0.1
    probit = _conditional_cdf(start + 86_400.0 * stats.norm.cdf(z), y, sigma, start, end, t1,
                              alpha)
    assert np.max(np.abs(probit - stats.norm.cdf(z))) > 0.25
    # the log-Jacobian is the log-derivative of the map
    h = 1e-6
    tp = _wall_fn(np.full(len(z), y))(z + h, alpha, start * one, end * one, t1 * one,
                                     LOG_N0_MAX, sigma * one)[0]
    tm = _wall_fn(np.full(len(z), y))(z - h, alpha, start * one, end * one, t1 * one,
                                     LOG_N0_MAX, sigma * one)[0]
    np.testing.assert_allclose(jac, np.log((tp - tm) / (2 * h)), atol=1e-4)


def test_edge_transform_stays_in_the_day_at_extremes():
    z = np.array([-40.0, -10.0, 10.0, 40.0])
    one = np.ones(len(z))
    fn = _wall_fn(np.full(len(z), 3.43))
    for alpha in (1e-12, 1e-7, 1e-5, 1e-2):      # edge far before, in, after the day
        t, jac, _ = fn(z, alpha, 3e6 * one, (3e6 + 86_400.0) * one, 1.2e7 * one, LOG_N0_MAX,
                       0.002 * one)
        assert np.all((t >= 3e6) & (t <= 3e6 + 86_400.0)) and np.all(np.isfinite(jac))


def test_scaled_log_transform_round_trip():
    tr = ScaledLogTransform(6.6e6)
    x = pt.dvector("x")
    back = pytensor.function([x], tr.backward(tr.forward(x)), mode=_MODE)
    jac = pytensor.function([x], tr.log_jac_det(x), mode=_MODE)
    values = np.array([1e-9, 5.5e-7, 1e-3])
    np.testing.assert_allclose(back(values), values, rtol=1e-14)
    u = np.log(values * 6.6e6)
    np.testing.assert_allclose(jac(u), np.log(values), rtol=1e-12)


def test_day_marginal_pytensor_twin(rng):
    """The model's t0-marginal likelihood against the NumPy kernel with the same rule (8
    nodes a piece; against 16 nodes it differs by at most a few 1e-6 per widget here)."""
    from pymc_hier.decay.likelihood import log_day_marginal_pdf as pt_day

    n = 30
    start = rng.uniform(0, 3e6, n)
    end = start + 86_400.0
    t1 = end + rng.uniform(1e6, 8e6, n)
    sigma = 10 ** rng.uniform(-3.5, -0.5, n)
    alpha_true = 5.5e-7
    amount = rng.uniform(0, 10, n) * np.exp(-alpha_true * (t1 - 0.5 * (start + end)))
    y = amount + sigma * rng.standard_normal(n)
    a = pt.dscalar("alpha")
    out = pt_day(y, sigma, t1, start, end, LOG_N0_MAX, a)
    fn = pytensor.function([a], [out, pt.grad(out.sum(), a)], mode=_MODE)
    for alpha in (5.2e-7, 5.5e-7, 5.8e-7):
        value, grad = fn(alpha)
        ref = log_day_marginal_pdf(y, sigma, t1, start, end, LOG_N0_MAX, alpha, n=8)
        np.testing.assert_allclose(value, ref, rtol=1e-12, atol=1e-12)
        accurate = log_day_marginal_pdf(y, sigma, t1, start, end, LOG_N0_MAX, alpha)
        np.testing.assert_allclose(value, accurate, atol=1e-5)
        h = alpha * 1e-6
        num = (log_day_marginal_pdf(y, sigma, t1, start, end, LOG_N0_MAX, alpha + h, n=8).sum()
               - log_day_marginal_pdf(y, sigma, t1, start, end, LOG_N0_MAX, alpha - h,
                                      n=8).sum()) / (2 * h)
        assert grad == pytest.approx(num, rel=1e-5)
    # far from the data (every widget decayed to nothing, alpha * dt ~ 1e4): finite
    value, grad = fn(1e-3)
    assert np.all(np.isfinite(value)) and np.isfinite(grad)
