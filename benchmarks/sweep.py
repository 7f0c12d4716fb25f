"""Benchmark prior sweeps (issue 7): the naive loop against ``prior_sweep(method="auto")``.

One run, two sweeps:

- eight schools, 20 settings of tau's prior scale (``tau.beta``, HalfCauchy);
- the widgets (decay model on ``simulate_decay()``), 10 settings of ``N0_max``.

The naive loop rebuilds the model with the setting's prior (or data), compiles it with
nutpie and samples it, per setting. ``prior_sweep`` builds and compiles once, samples a base
fit once, reweights where PSIS is reliable and refits the rest with the compiled model.
Both use the same draws, tune, chains and seeds. The base fit (default priors) is sampled
first, untimed: it warms numba up for everything after it. The sweep is then timed twice:
end to end (its own compile and base fit included) and from that base fit, as a user who
already has a fit would call it (``prior_sweep(idata, model, ...)``; it then compiles only
if a setting needs a refit). Both models have an exact posterior, so the sweep is timed a
third and fourth time with ``fit_kwargs={"sampler": "exact"}`` (auto mode then draws every
setting from its exact posterior: no compile, no base fit), in this process and through a
two-thread ``ThreadPoolExecutor``. The table gives wall times, the ratio, which method each sweep
setting used, and the largest disagreement of the posterior means in Monte Carlo standard
errors, ``|m_sweep - m_naive| / sqrt(mcse_sweep^2 + mcse_naive^2)``.

Usage::

    python benchmarks/sweep.py                 # full run
    python benchmarks/sweep.py --quick         # smoke test (few settings, short chains)
    python benchmarks/sweep.py --json out.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time

import numpy as np

SEED = 20261124


def naive_loop(build, values, var_names, fit) -> tuple[float, dict]:
    """Rebuild, compile and sample per setting; return wall time and per-setting stats."""
    import nutpie

    from pymc_hier.sensitivity.runs import summarise

    t0 = time.perf_counter()
    out = {}
    for i, v in enumerate(values):
        model = build(v)
        compiled = nutpie.compile_pymc_model(model, backend="numba")
        seed = int(np.random.SeedSequence(fit["random_seed"], spawn_key=(i,))
                   .generate_state(1)[0])
        trace = nutpie.sample(compiled, draws=fit["draws"], tune=fit["tune"],
                              chains=fit["chains"], seed=seed, progress_bar=False)
        out[v] = summarise(trace["posterior"].to_dataset(), var_names, None, (0.5,))
    return time.perf_counter() - t0, out


def _finite_max(x) -> float:
    """Largest finite value (NaN when none: no setting was reweighted)."""
    x = np.asarray(x, dtype=float)
    return float(np.max(x[np.isfinite(x)])) if np.isfinite(x).any() else float("nan")


def disagreement(ds, naive: dict, values, var_names) -> float:
    """Largest |mean difference| in MCSE units over settings and variables."""
    worst = 0.0
    for label, v in zip(ds.setting.values, values, strict=True):
        for name in var_names:
            a = ds[name].sel(setting=label)
            m_s, se_s = a.sel(stat="mean").values, a.sel(stat="mcse_mean").values
            m_n, se_n = naive[v][name][0], naive[v][name][2]
            worst = max(worst, float(np.max(np.abs(m_s - m_n) / np.hypot(se_s, se_n))))
    return worst


def base_fit(factory, data, fit):
    """A base fit as a user would already have it (timed separately; warms numba up)."""
    import nutpie

    from pymc_hier import get_family

    model = get_family(factory)(data)
    trace = nutpie.sample(nutpie.compile_pymc_model(model, backend="numba"),
                          draws=fit["draws"], tune=fit["tune"], chains=fit["chains"],
                          seed=fit["random_seed"], progress_bar=False)
    return trace


#: Timed sweeps per case: tag -> what the table calls it.
SWEEPS = {"sweep": "nutpie, incl. base fit", "given_base": "nutpie, from a base fit",
          "exact": "exact", "exact_threads": "exact, 2 threads"}


def run_case(name, factory, data, *, param, values, build, var_names, fit) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    from pymc_hier import get_family
    from pymc_hier.sensitivity.sweep import clear_compile_cache, prior_sweep

    model = get_family(factory)(data)
    kw = dict(param=param, values=values, method="auto", fit_kwargs=fit,
              var_names=var_names, progressbar=False)
    exact_kw = {**kw, "fit_kwargs": {**fit, "sampler": "exact"}}
    t0 = time.perf_counter()
    base = base_fit(factory, data, fit)
    t_base = time.perf_counter() - t0
    clear_compile_cache()  # the sweep pays for its own compile and base fit
    t0 = time.perf_counter()
    ds = prior_sweep(model, **kw)
    t_sweep = time.perf_counter() - t0
    clear_compile_cache()
    t0 = time.perf_counter()
    ds_base = prior_sweep(base, model, **kw)
    t_given = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds_exact = prior_sweep(model, **exact_kw)
    t_exact = time.perf_counter() - t0
    with ThreadPoolExecutor(2) as pool:
        t0 = time.perf_counter()
        ds_threads = prior_sweep(model, executor=pool, **exact_kw)
        t_threads = time.perf_counter() - t0
    t_naive, naive = naive_loop(build, values, var_names, fit)
    row = {"case": name, "settings": len(values), "naive_s": t_naive}
    for tag, d, t in (("sweep", ds, t_sweep), ("given_base", ds_base, t_given),
                      ("exact", ds_exact, t_exact), ("exact_threads", ds_threads, t_threads)):
        methods = d.method.values.tolist()
        row[tag] = {
            "seconds": t, "ratio": t_naive / t, "reweighted": methods.count("reweight"),
            "refitted": methods.count("refit"), "failed": int((d.status != "ok").sum()),
            "max_khat": _finite_max(d.pareto_k.values),
            "max_disagreement_mcse": disagreement(d, naive, values, var_names),
        }
    row["base_fit_s"] = t_base
    print(f"{name}: naive {t_naive:.1f} s; sweep {t_sweep:.1f} s "
          f"({row['sweep']['ratio']:.1f}x); from a given base fit ({t_base:.1f} s) "
          f"{t_given:.2f} s ({row['given_base']['ratio']:.1f}x); exact {t_exact:.2f} s "
          f"({row['exact']['ratio']:.1f}x), 2 threads {t_threads:.2f} s "
          f"({row['exact_threads']['ratio']:.1f}x)", flush=True)
    return row


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few settings, short chains")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--only", choices=["schools", "decay"], help="run one case")
    args = parser.parse_args(argv)

    from pymc_hier import EIGHT_SCHOOLS, Prior, decay_model, eight_schools_model, simulate_decay

    if args.quick:
        fit = {"draws": 200, "tune": 200, "chains": 2, "random_seed": SEED}
        n_schools, n_decay = 3, 2
    else:
        fit = {"draws": 1000, "tune": 1000, "chains": 4, "random_seed": SEED}
        n_schools, n_decay = 20, 10
    rows = []
    if args.only in (None, "schools"):
        schools = eight_schools_model
        betas = [float(b) for b in np.round(np.geomspace(1.0, 25.0, n_schools), 4)]
        rows.append(run_case(
            "eight schools, tau.beta", "eight_schools_model", EIGHT_SCHOOLS,
            param="tau.beta", values=betas, var_names=["mu", "tau"], fit=fit,
            build=lambda b: schools(EIGHT_SCHOOLS, priors={"tau": Prior("HalfCauchy", beta=b)}),
        ))
    if args.only in (None, "decay"):
        decay = decay_model
        data = simulate_decay()
        n0 = [float(v) for v in np.round(np.linspace(1.0, 2.0, n_decay) * data.n0_max, 4)]
        rows.append(run_case(
            "decay, N0_max", "decay_model", data, param="N0_max", values=n0,
            var_names=["alpha"], fit=fit,
            build=lambda v: decay(dataclasses.replace(data, n0_max=v)),
        ))
    print("\n| case | settings | naive loop (s) | prior_sweep auto (s) | ratio | reweighted / "
          "refitted | max k-hat | max disagreement (MCSE) |\n|---|---|---|---|---|---|---|---|")
    for r in rows:
        for tag, what in SWEEPS.items():
            x = r[tag]
            print(f"| {r['case']} | {r['settings']} | {r['naive_s']:.1f} | {x['seconds']:.2f} "
                  f"({what}) | {x['ratio']:.1f}x | {x['reweighted']} / {x['refitted']} | "
                  f"{x['max_khat']:.2f} | {x['max_disagreement_mcse']:.2f} |")
    for tag, what in SWEEPS.items():
        naive = sum(r["naive_s"] for r in rows)
        sweep = sum(r[tag]["seconds"] for r in rows)
        print(f"| total | {sum(r['settings'] for r in rows)} | {naive:.1f} | {sweep:.2f} "
              f"({what}) | {naive / sweep:.1f}x | | | |")
    print(f"\n{platform.processor() or platform.machine()}, python {platform.python_version()}; "
          f"draws={fit['draws']} tune={fit['tune']} chains={fit['chains']} "
          f"seed={fit['random_seed']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"fit": fit, "rows": rows}, fh, indent=2)
    return rows


if __name__ == "__main__":
    main()
