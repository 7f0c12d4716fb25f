"""Benchmark the decay model on the lecture's data (issue 3).

One run compares, on ``pymc_hier.simulate_decay()`` (times in seconds):

- the lecture's Stan program (``stan/decay_lecture.stan``: known manufacture times, flat
  alpha > 0, N_initial in (0, N_initial_max), normal measurement) through pystan 3,
  initialised at the true alpha as the lecture does (the reference row), and with Stan's
  default initialisation;
- a naive PyMC port of the same program (seconds, PyMC's default initialisation, nutpie),
  and the same port with times in days;
- each variant of ``pymc_hier.decay_model`` (t0 latent/known x n0 marginal/latent, and
  t0="marginal" when the factory offers it), sampled with nutpie from the default
  initialisation;
- independent standard normals, as many as the default variant has sampled coordinates
  (``alpha`` and each ``t0``), with the same settings: NUTS's best case at that dimension
  (``--no-bound`` skips it);
- the exact i.i.d. sampler ``pymc_hier.exact.decay_posterior(...).sample(...)``.

Every row reports bulk ESS(alpha) per second of sampling (warmup included), end-to-end
wall time (build + compile + sample + post-processing), divergences and R-hat, and ratios
against the reference row; nutpie rows also print their leapfrog steps per draw and step
size. Targets (issue 3): MCMC >= 100x the lecture's Stan program in ESS(alpha)/s, exact
sampler >= 1000x, end-to-end < 10 s on 2 cores; (issue 22) the default variant >= 300x,
the latent-N0 variants >= 100x, t0="marginal" >= 50x, the exact sampler >= 3,000x, each
printed with how far it falls short.

Usage::

    python benchmarks/decay.py                  # full run (a few minutes on 2 cores)
    python benchmarks/decay.py --quick          # smoke test
    python benchmarks/decay.py --json out.json  # also save the results
"""

from __future__ import annotations

import inspect
import math
import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common  # noqa: E402

REFERENCE = "lecture Stan, init at true alpha"
#: NUTS's best case at the default variant's dimension: independent standard normals.
BOUND = "i.i.d. normal, the default variant's dimension (NUTS's best case)"
DEFAULT = "decay_model(t0=latent, n0=marginal)"
SECONDS_PER_DAY = 86_400.0


def stan_data(data) -> dict:
    """The lecture's Stan data block from a :class:`~pymc_hier.DecayData` with known t0."""
    return {
        "N_widgets": int(data.n_widgets),
        "t_initial": data.t0.tolist(),
        "t_measured": data.t_measured.tolist(),
        "N_measured": data.n_measured.tolist(),
        "sigma_N_measured": data.sigma.tolist(),
        "N_initial_max": float(data.n0_max),
    }


def naive_port(data, *, time_scale: float = 1.0):
    """The lecture's program written directly in PyMC (what a new user would try first).

    ``time_scale`` divides every time (``SECONDS_PER_DAY`` gives days); alpha is then per
    that unit. Known manufacture times, ``alpha ~ HalfFlat``, ``N_initial ~ U(0, max)``.
    """
    import pymc as pm
    import pytensor.tensor as pt

    dt = (data.t_measured - data.t0) / time_scale
    with pm.Model(coords={"widget": data.widget}) as model:
        alpha = pm.HalfFlat("alpha")
        n_initial = pm.Uniform("N_initial", 0.0, data.n0_max, dims="widget")
        pm.Normal("N_measured", mu=n_initial * pt.exp(-alpha * dt), sigma=data.sigma,
                  observed=data.n_measured, dims="widget")
    return model


def our_variants(selected=None) -> list[dict]:
    """The (t0, n0) option combinations the installed ``decay_model`` accepts.

    ``selected`` is an optional list of ``"t0/n0"`` strings (e.g. ``["known/marginal"]``);
    a combination the factory does not offer raises ``ValueError``.
    """
    from pymc_hier import DECAY

    t0_values = list(DECAY.options["t0"])
    n0_values = list(DECAY.options["n0"])
    combos = []
    for t0 in t0_values:
        for n0 in n0_values:
            if t0 == "marginal" and n0 != n0_values[0]:
                continue  # t0 integrated out: one row (its N0 option is moot or unsupported)
            combos.append({"t0": t0, "n0": n0})
    if selected is None:
        return combos
    offered = {f"{c['t0']}/{c['n0']}": c for c in combos}
    unknown = [v for v in selected if v not in offered]
    if unknown:
        raise ValueError(f"--variants: unknown {unknown} (offered: {', '.join(offered)})")
    return [offered[v] for v in selected]


def run_ours(data, options: dict, cfg: dict) -> common.Result:
    """Sample ``decay_model(data, **options)`` with nutpie, with its post-processing hook."""
    from pymc_hier import DECAY, decay_model

    model_data = data if options["t0"] == "known" else data.without_t0()
    name = f"decay_model(t0={options['t0']}, n0={options['n0']})"
    deprecated = options["t0"] in getattr(DECAY, "deprecated", {}).get("t0", {})
    if deprecated:
        name += " [deprecated]"

    def build():
        with warnings.catch_warnings():   # measured to show why it is deprecated
            warnings.simplefilter("ignore", FutureWarning)
            return decay_model(model_data, **options)

    return common.run_nutpie(
        name, build, "alpha",
        draws=cfg["draws"], tune=cfg["tune"], chains=cfg["chains"], seed=cfg["seed"],
        note="nutpie, the family's init, default priors")


def free_dimension(data) -> int:
    """The number of numbers NUTS moves in the default variant (``alpha`` and each ``t0``)."""
    from pymc_hier import decay_model

    model = decay_model(data.without_t0())
    return int(sum(v.size for v in model.initial_point().values()))


def iid_normal(n_dim: int):
    """``n_dim`` independent standard normals, the first named ``alpha`` (the one diagnosed).

    Sampled with the same settings as every row, it shows what NUTS costs at that dimension
    when the geometry is perfect and the log density is nearly free: a default variant as
    well shaped takes as many leapfrog steps per draw, and the rest of its time is the cost
    of its log density and gradient.
    """
    import pymc as pm

    with pm.Model() as model:
        pm.Normal("alpha")
        pm.Normal("rest", shape=n_dim - 1)
    return model


def run_exact_rows(data, cfg: dict, *, t0_values=("known", "latent")) -> list[common.Result]:
    """The exact sampler per ``t0`` option (the factory's default prior on alpha)."""
    from pymc_hier.exact import decay_posterior

    params = inspect.signature(decay_posterior).parameters
    rows = []
    for t0 in t0_values:
        kwargs = {"t0": t0} if "t0" in params else {}
        src = data if t0 == "known" else data.without_t0()
        rows.append(common.run_exact(
            f"exact sampler (t0={t0})", lambda src=src, kw=kwargs: decay_posterior(src, **kw),
            "alpha", draws=cfg["draws"], chains=cfg["chains"], seed=cfg["seed"],
            note="quadrature + i.i.d. draws"))
    return rows


def warm_up_exact(t0_values=("known", "latent")) -> float:
    """Draw once from the exact sampler on 5 other widgets per ``t0``; return the seconds.

    The process's first call of each compiled kernel loads it from Numba's cache (or
    compiles it): a start-up cost like the first numba JIT that :func:`common.warm_up_pymc`
    takes out of the MCMC rows, so it is reported apart rather than charged to whichever
    exact row runs first (earlier rows' post-processing had loaded some of the kernels).
    """
    from pymc_hier import simulate_decay
    from pymc_hier.exact import decay_posterior

    t = time.perf_counter()
    small = simulate_decay(seed=3, n_widgets=5)
    for t0 in t0_values:
        src = small if t0 == "known" else small.without_t0()
        decay_posterior(src, t0=t0).sample(draws=10, chains=2, random_seed=1)
    return time.perf_counter() - t


def run_stan_rows(data, cfg: dict, *, cache_dir=None) -> list[common.Result]:
    """The lecture's Stan program, initialised at the true alpha and by default."""
    rows = []
    with common.stan_cache(cache_dir):
        posterior, compile_s = common.build_stan("decay_lecture.stan", stan_data(data),
                                                 seed=cfg["seed"])
        rows.append(common.run_stan(
            REFERENCE, posterior, compile_s, "alpha", draws=cfg["draws"], tune=cfg["tune"],
            chains=cfg["chains"], init={"alpha": float(data.truth["alpha"])},
            note="the lecture's cheat: init at the truth"))
        # The same compiled model: the second row pays no compile.
        try:
            rows.append(common.run_stan(
                "lecture Stan, default init", posterior, 0.0, "alpha", draws=cfg["draws"],
                tune=cfg["tune"], chains=cfg["chains"], note="Stan's default init"))
        except RuntimeError as err:  # initialisation failure is a result, not a crash
            rows.append(common.Result(name="lecture Stan, default init", engine="pystan",
                                      draws=cfg["draws"], chains=cfg["chains"],
                                      tune=cfg["tune"], note=f"failed: {err}"))
    return rows


def main(argv=None) -> dict:
    """Run the benchmark; print the table; return the results as plain dicts."""
    import pymc_hier

    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--variants", type=_csv, default=None, metavar="T0/N0,...",
                   help="decay_model variants to run, e.g. known/marginal (default: all)")
    p.add_argument("--exact-t0", type=_csv, default=["known", "latent"], metavar="T0,...",
                   help="t0 options of the exact sampler (default: known,latent)")
    p.add_argument("--no-bound", action="store_true",
                   help="skip the row of i.i.d. normals (NUTS's best case)")
    p.add_argument("--naive-units", type=_csv, default=["s", "days"], metavar="UNIT,...",
                   help="time units of the naive PyMC port (s, days; default both)")
    args = p.parse_args(argv)
    cfg = common.settings(args)
    if args.cold_pytensor:
        print(f"PyTensor compile cache: fresh ({common.fresh_pytensor_cache()})", flush=True)
    data = pymc_hier.simulate_decay()
    print(f"decay benchmark: lecture data ({data.n_widgets} widgets, true alpha "
          f"{data.truth['alpha']:.6g} /s); chains={cfg['chains']} draws={cfg['draws']} "
          f"tune={cfg['tune']} seed={cfg['seed']}", flush=True)
    results: list[common.Result] = []
    t_start = time.perf_counter()
    load_start = list(common.os.getloadavg())

    skip = common.stan_skip_reason(no_stan=args.no_stan)
    if skip is not None:
        print(skip, flush=True)
    else:
        results += run_stan_rows(data, cfg, cache_dir=args.stan_cache)
        common.progress(results[-2:], "alpha")

    warm = common.warm_up_pymc()
    print(f"PyMC/nutpie warm-up (imports, first numba JIT; not charged to any row): "
          f"{warm:.1f} s", flush=True)
    scales = {"s": 1.0, "days": SECONDS_PER_DAY}
    for unit in args.naive_units:
        if unit not in scales:
            raise ValueError(f"--naive-units: unknown unit {unit!r} (known: s, days)")
        name, scale = f"naive PyMC port ({unit})", scales[unit]
        results.append(common.run_nutpie(
            name, lambda s=scale: naive_port(data, time_scale=s), "alpha",
            draws=cfg["draws"], tune=cfg["tune"], chains=cfg["chains"], seed=cfg["seed"],
            note="nutpie, default init, flat alpha"))
        common.progress(results[-1:], "alpha")

    if common.available("pymc_hier.decay.family", "decay_model"):
        for options in our_variants(args.variants):
            results.append(run_ours(data, options, cfg))
            common.progress(results[-1:], "alpha")
        if not args.no_bound:
            n_dim = free_dimension(data)
            results.append(common.run_nutpie(
                BOUND, lambda: iid_normal(n_dim), "alpha", draws=cfg["draws"],
                tune=cfg["tune"], chains=cfg["chains"], seed=cfg["seed"],
                note=f"nutpie, {n_dim} dimensions"))
            common.progress(results[-1:], "alpha")
    else:
        print("decay_model: not available yet, skipped", flush=True)
    if common.available("pymc_hier.decay.exact", "decay_posterior"):
        warm = warm_up_exact(args.exact_t0)
        print(f"exact-path warm-up (first calls of its compiled kernels, loaded from Numba's "
              f"cache or compiled; not charged to any row): {warm:.2f} s", flush=True)
        rows = run_exact_rows(data, cfg, t0_values=args.exact_t0)
        results += rows
        common.progress(rows, "alpha")
    else:
        print("exact decay sampler: not available yet, skipped", flush=True)

    print(f"\nTotal benchmark time {time.perf_counter() - t_start:.0f} s; load average "
          f"(1 min) {load_start[0]:.2f} at the start, {common.os.getloadavg()[0]:.2f} at the "
          f"end ({common.os.cpu_count()} CPUs)\n")
    print(common.table(results, var="alpha", reference=REFERENCE))
    verdict = targets(results)
    for line in verdict["lines"]:
        print(line)
    machine = {**common.machine(), "load_average_at_start": load_start}
    payload = {"benchmark": "decay", "settings": cfg, "truth_alpha": data.truth["alpha"],
               "reference": REFERENCE, "machine": machine,
               "results": [r.to_dict() for r in results], "targets": verdict}
    if args.json:
        common.save_json(args.json, payload)
        print(f"saved {args.json}")
    return payload


def targets(results: list[common.Result]) -> dict:
    """Check issue 3's targets against the reference row."""
    ref = next((r for r in results if r.name == REFERENCE), None)
    lines = []
    out = {"lines": lines}
    ours = [r for r in results if r.name.startswith("decay_model")]
    exact = [r for r in results if r.engine == "exact"]
    if ref is not None and math.isfinite(ref.ess_per_s) and ref.ess_per_s > 0:
        for r in ours:
            ratio = r.ess_per_s / ref.ess_per_s
            out[r.name] = {"ratio": ratio, "met_100x": ratio >= 100}
            lines.append(f"target MCMC >= 100x: {r.name}: {ratio:,.1f}x -> "
                         f"{'met' if ratio >= 100 else 'NOT met'}")
        for r in exact:
            ratio = r.ess_per_s / ref.ess_per_s
            out[r.name] = {"ratio": ratio, "met_1000x": ratio >= 1000}
            lines.append(f"target exact >= 1000x: {r.name}: {ratio:,.0f}x -> "
                         f"{'met' if ratio >= 1000 else 'NOT met'}")
    if ref is not None and math.isfinite(ref.ess_per_s) and ref.ess_per_s > 0:
        lines += _issue_22_lines(results, ref, ours, exact)
    for r in ours + exact:
        ok = r.total_s < 10
        out.setdefault(r.name, {})["end_to_end_under_10s"] = ok
        lines.append(f"target end-to-end < 10 s: {r.name}: {r.total_s:.1f} s -> "
                     f"{'met' if ok else 'NOT met'}")
    return out


def _issue_22_lines(results, ref, ours, exact) -> list[str]:
    """Issue 22's targets (300x, 100x for latent N0, 3,000x exact) and NUTS's best case."""
    lines = []

    def verdict(name, r, goal):
        ratio = r.ess_per_s / ref.ess_per_s
        short = "" if ratio >= goal else f" ({goal / ratio:.2f}x short)"
        return (f"target {name} >= {goal:,}x (issue 22): {r.name}: {ratio:,.1f}x -> "
                f"{'met' if ratio >= goal else 'NOT met'}{short}")

    for r in ours:
        if r.name.startswith(DEFAULT):
            lines.append(verdict("MCMC", r, 300))
        elif "n0=latent" in r.name:
            lines.append(verdict("MCMC", r, 100))
        elif "t0=marginal" in r.name:
            lines.append(verdict("MCMC", r, 50))
    lines += [verdict("exact", r, 3000) for r in exact]
    bound = next((r for r in results if r.name == BOUND), None)
    default = next((r for r in ours if r.name.startswith(DEFAULT)), None)
    if bound is not None and default is not None and "mean_n_steps" in default.extra:
        lines.append(
            f"NUTS's best case at this dimension: {bound.ess_per_s / ref.ess_per_s:,.0f}x; the "
            f"default variant takes {default.extra['mean_n_steps']:.2f} leapfrog steps a draw "
            f"(i.i.d. normals {bound.extra['mean_n_steps']:.2f}) and "
            f"{default.sample_s / bound.sample_s:.1f}x their sampling time: the difference "
            "is the cost of its log density and gradient")
    return lines


def _csv(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


if __name__ == "__main__":
    main()
