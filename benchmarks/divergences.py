"""Divergences of the default decay fit on simulated, prior-drawn and edge-of-support data.

Issue 21's check: ``ph.fit(ph.decay_model(data), sampler="nutpie")`` at the default
settings (4 chains x 1000 draws, 1000 tuning steps) must not diverge on ordinary data.
Groups of data sets, each fitted once (decay: the default variant, ``t0="latent"``,
``n0="marginal"``):

``sim20``
    ``simulate_decay(seed=s, n_widgets=20)`` for 40 seeds from 100 (seed 102 gave 229
    divergences with the former parametrisation).
``prior10``
    20 data sets drawn from the prior of a 10-widget design (10-day manufacture, days,
    ``alpha ~ Gamma(4, rate 100)`` per day), fitted with the issue's settings (2 chains x
    200 draws, 500 tuning steps): 9 of 80 such fits diverged before.
``edge``
    5 data sets of 20 widgets in which 3 widgets held 99.9% of ``N0_max`` and were measured
    with ``sigma = 1e-4``: hard edges in the posterior of ``alpha`` and ``t0``.
``few``
    ``simulate_decay(seed=s, n_widgets=3)`` for 5 seeds.
``schools12``
    The hierarchical normal on 12 groups (standard errors 5 to 20) with a user prior
    (``mu ~ Normal(0, 10)``, ``tau ~ HalfNormal(5)``), 6 data sets drawn from it, each fitted
    in the ``"noncentered"``, ``"noncentered_standard"`` and ``"marginal"`` forms (the
    marginal and textbook forms diverged on such data with tau on a log scale).

Run ``python benchmarks/divergences.py`` (about 30 minutes on 2 cores, nutpie compiles
included; ``--quick``: 3 data sets a group) and ``--json PATH`` to keep the rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import pymc_hier as ph

ROOT = Path(__file__).resolve().parent
GAMMA = {"alpha": ph.Prior("Gamma", alpha=4.0, beta=100.0)}


def sim20(seed: int):
    return ph.simulate_decay(seed=seed, n_widgets=20), {}, {}


def prior10(seed: int):
    design = ph.simulate_decay(seed=3, n_widgets=10, manufacture_days=10, time_unit="day")
    model = ph.decay_model(design, priors=GAMMA)
    import pymc as pm

    draw = pm.sample_prior_predictive(draws=1, model=model, random_seed=seed)
    y = draw["prior_predictive"]["n_measured"].values.ravel()
    data = ph.DECAY.data_with_observed(design, {"n_measured": y})
    return data, {"priors": GAMMA}, {"draws": 200, "tune": 500, "chains": 2}


def edge(seed: int):
    """20 widgets; 3 of them made with 99.9% of N0_max and measured with sigma 1e-4."""
    base = ph.simulate_decay(seed=seed, n_widgets=20)
    rng = np.random.default_rng(seed)
    pick = rng.choice(20, size=3, replace=False)
    alpha, t0 = base.truth["alpha"], np.asarray(base.truth["t0"])
    y, sigma = np.array(base.n_measured), np.array(base.sigma)
    amount = 0.999 * base.n0_max * np.exp(-alpha * (np.asarray(base.t_measured) - t0))
    sigma[pick] = 1e-4
    y[pick] = amount[pick] + 1e-4 * rng.standard_normal(3)
    return base._replace(n_measured=y, sigma=sigma, truth=None), {}, {}


def few(seed: int):
    return ph.simulate_decay(seed=seed, n_widgets=3), {}, {}


SCHOOLS_PRIOR = {"mu": ph.Prior("Normal", mu=0.0, sigma=10.0),
                 "tau": ph.Prior("HalfNormal", sigma=5.0)}


def schools12(seed: int, parametrization: str):
    import pymc as pm

    sigma = np.random.default_rng(0).uniform(5, 20, 12)
    design = ph.SchoolsData(y=np.zeros(12), sigma=sigma)
    model = ph.hierarchical_normal_model(design, priors=SCHOOLS_PRIOR)
    draw = pm.sample_prior_predictive(draws=1, model=model, random_seed=seed)
    data = ph.SchoolsData(y=draw["prior_predictive"]["y"].values.ravel(), sigma=sigma)
    return ph.hierarchical_normal_model(data, priors=SCHOOLS_PRIOR,
                                        parametrization=parametrization), {}


def _schools(parametrization):
    return lambda seed: schools12(seed, parametrization)


GROUPS = {"sim20": (sim20, range(100, 140)), "prior10": (prior10, range(20)),
          "edge": (edge, range(5)), "few": (few, range(5))}
SCHOOLS = {f"schools12-{p}": (_schools(p), range(6))
           for p in ("noncentered", "noncentered_standard", "marginal")}


def run(group: str, seed: int) -> dict:
    start = time.perf_counter()
    if group in SCHOOLS:
        model, fit_kwargs = SCHOOLS[group][0](seed)
    else:
        data, model_kwargs, fit_kwargs = GROUPS[group][0](seed)
        model = ph.decay_model(data, **model_kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = ph.fit(model, sampler="nutpie", random_seed=1000, progressbar=False,
                       **fit_kwargs)
    diag = idata["diagnostics"].attrs
    return {"group": group, "seed": seed,
            "divergences": int(idata["sample_stats"]["diverging"].sum()),
            "max_rhat": round(float(diag["max_rhat"]), 4),
            "min_ess_bulk": round(float(diag["min_ess_bulk"])),
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 data sets a group")
    parser.add_argument("--groups", nargs="*", default=[*GROUPS, *SCHOOLS],
                        choices=[*GROUPS, *SCHOOLS])
    parser.add_argument("--json", type=Path, help="write the rows to this file")
    args = parser.parse_args(argv)
    rows = []
    for group in args.groups:
        seeds = list({**GROUPS, **SCHOOLS}[group][1])[: 3 if args.quick else None]
        for seed in seeds:
            row = run(group, seed)
            rows.append(row)
            print(f"{group:>28} seed {seed:>4}: {row['divergences']:>4} divergences, "
                  f"R-hat {row['max_rhat']:.4f}, bulk ESS {row['min_ess_bulk']:>5}, "
                  f"{row['seconds']:.0f} s", flush=True)
    print()
    for group in args.groups:
        mine = [r for r in rows if r["group"] == group]
        bad = [r["seed"] for r in mine if r["divergences"]]
        print(f"{group:>28}: {len(mine) - len(bad)} of {len(mine)} fits without divergences"
              + (f" (divergent: seeds {bad})" if bad else ""))
    if args.json:
        args.json.write_text(json.dumps({"argv": sys.argv[1:], "rows": rows}, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    main()
