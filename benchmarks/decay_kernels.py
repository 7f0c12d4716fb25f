"""Nanoseconds a widget of the decay model's compiled scalar kernels (what a gradient costs).

The default decay variant takes as many leapfrog steps a draw as independent normals of its
dimension (``benchmarks/decay.py``, row "NUTS's best case"), so its sampling time is the
number of gradients times the cost of one. This script times, on the lecture's widgets at
the true ``alpha`` and ``t0``, the Numba kernels each gradient calls once per widget:

- the measurement's log density given ``A = N0_max exp(-alpha dt)`` and its derivative in
  ``log A`` (:func:`pymc_hier.decay.ops.make_kernels`);
- the map of a manufacture time from the sampler's ``z``, with its derivatives in ``z`` and
  ``alpha`` (:func:`pymc_hier.decay.edge_ops.make_edge_kernels`): the probit map of the day,
  and the logistic-step map of a widget whose data put an edge in its day;

and the log density with its gradient as PyTensor compiles it for nutpie (one call,
Python's call overhead included), for scale. Each timing is the best of ``--repeats``
loops of ``--calls`` calls over every widget (the median is printed too).

Usage::

    python benchmarks/decay_kernels.py [--calls 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _time(loop, repeats: int, per: int) -> tuple[float, float]:
    """Best and median nanoseconds per item of ``loop()`` over ``repeats`` runs."""
    loop()  # compile
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        loop()
        runs.append((time.perf_counter() - t) / per * 1e9)
    return min(runs), statistics.median(runs)


def main(argv=None) -> dict:
    """Time the kernels; print one line each; return ``{name: (best, median)}`` in ns."""
    import numba
    import pytensor
    import pytensor.tensor as pt

    import pymc_hier as ph
    from pymc_hier.decay.edge_ops import make_edge_kernels
    from pymc_hier.decay.ops import make_kernels, numba_functions

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=20_000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    data = ph.simulate_decay()
    alpha, t0 = float(data.truth["alpha"]), np.asarray(data.truth["t0"], dtype=float)
    y, sigma = np.asarray(data.n_measured, dtype=float), np.asarray(data.sigma, dtype=float)
    t1 = np.asarray(data.t_measured, dtype=float)
    start, end = np.asarray(data.day_start, dtype=float), np.asarray(data.day_end, dtype=float)
    log_n0_max = float(np.log(data.n0_max))
    log_upper = log_n0_max - alpha * (t1 - t0)
    z = np.random.default_rng(0).standard_normal(y.size)
    n, calls = y.size, args.calls
    functions = numba_functions()
    density = make_kernels(**functions)[1]
    edge_value, edge_slopes = make_edge_kernels(**functions)

    @numba.njit
    def density_loop(calls):
        acc = 0.0
        for k in range(calls):
            for i in range(n):   # a shift keeps the compiler from hoisting the call
                value, slope = density(y[i], sigma[i], log_upper[i] + 1e-12 * k)
                acc += value + slope
        return acc

    @numba.njit
    def map_loop(calls, edge):
        acc = 0.0
        for k in range(calls):
            for i in range(n):
                args = (z[i] + 1e-12 * k, start[i], end[i], alpha, t1[i], log_n0_max,
                        sigma[i], y[i], edge)
                t, jac = edge_value(*args)
                a, b, c, d = edge_slopes(*args)
                acc += t + jac + a + b + c + d
        return acc

    results = {
        "measurement density and d/dlog A": _time(lambda: density_loop(calls), args.repeats,
                                                  calls * n),
        "t0 map, probit (no edge)": _time(lambda: map_loop(calls, 0.0), args.repeats,
                                          calls * n),
        "t0 map, logistic step (edge)": _time(lambda: map_loop(calls, 1.0), args.repeats,
                                              calls * n),
    }
    model = ph.decay_model(data.without_t0())
    point = model.initial_point()
    values = model.value_vars
    logp = model.logp()
    f = pytensor.function(values, [logp, *pt.grad(logp, values)], mode="NUMBA")
    inputs = [point[v.name] for v in values]
    few = max(calls // 10, 1)

    def gradient_loop():
        for _ in range(few):
            f(*inputs)

    best, median = _time(gradient_loop, args.repeats, few * n)
    results["log density and gradient, PyTensor call"] = (best, median)
    edges = len(model.rvs_to_transforms[model["t0"]].arrays()["index"])
    print(f"decay kernels on the lecture's {n} widgets ({edges} with an edge in their day); "
          f"ns a widget, best (median) of {args.repeats} x {calls:,} calls")
    for name, (b, m) in results.items():
        print(f"  {name:42s} {b:8.1f} ({m:.1f})")
    return results


if __name__ == "__main__":
    main()
