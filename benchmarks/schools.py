"""Benchmark the eight-schools model (issue 4).

One run compares, on ``pymc_hier.EIGHT_SCHOOLS`` with the default priors
(mu ~ Normal(0, 5), tau ~ HalfCauchy(5)):

- ``pymc_hier.eight_schools_model`` in each parametrization it offers (noncentered, the
  default; noncentered_standard, the textbook form that Stan's program uses; centered;
  marginal, theta integrated out), with nutpie from the default initialisation;
- the same model through pystan 3 (``stan/eight_schools_noncentered.stan``, Stan's
  noncentered program) -- the reference row;
- the exact sampler ``pymc_hier.exact.hierarchical_normal_posterior(...).sample(...)``.

Every row reports bulk ESS(tau) per second of sampling (warmup included), divergences,
R-hat, wall times (build, compile, sample, end-to-end) and ratios against Stan.

Usage::

    python benchmarks/schools.py                  # full run
    python benchmarks/schools.py --quick          # smoke test
    python benchmarks/schools.py --json out.json  # also save the results
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common  # noqa: E402

REFERENCE = "Stan noncentered"


def stan_data(data) -> dict:
    """The Stan data block from a :class:`~pymc_hier.SchoolsData`."""
    return {"J": int(data.n_groups), "y": data.y.tolist(), "sigma": data.sigma.tolist()}


def run_ours(data, parametrization: str, cfg: dict) -> common.Result:
    """Sample ``eight_schools_model(data, parametrization=...)`` with nutpie.

    The family's post-processing (exact theta draws for the marginal form) runs after
    sampling and is timed as post-processing.
    """
    import warnings

    from pymc_hier import eight_schools_model

    def build():
        return eight_schools_model(data, parametrization=parametrization)

    with warnings.catch_warnings():
        # The centered form's funnel warning is expected here; the table shows divergences.
        warnings.simplefilter("ignore", UserWarning)
        return common.run_nutpie(
            f"ours {parametrization}", build, "tau", draws=cfg["draws"], tune=cfg["tune"],
            chains=cfg["chains"], seed=cfg["seed"],
            note="nutpie, default init")


def run_exact_row(data, cfg: dict) -> common.Result:
    """The exact sampler (BDA 5.4) with the same default priors."""
    from pymc_hier.exact import hierarchical_normal_posterior

    return common.run_exact(
        "exact sampler", lambda: hierarchical_normal_posterior(data), "tau",
        draws=cfg["draws"], chains=cfg["chains"], seed=cfg["seed"],
        note="grid over tau + i.i.d. draws")


def run_stan_row(data, cfg: dict, *, cache_dir=None) -> common.Result:
    """Stan's noncentered eight-schools program, default initialisation."""
    with common.stan_cache(cache_dir):
        posterior, compile_s = common.build_stan("eight_schools_noncentered.stan",
                                                 stan_data(data), seed=cfg["seed"])
        return common.run_stan(REFERENCE, posterior, compile_s, "tau", draws=cfg["draws"],
                               tune=cfg["tune"], chains=cfg["chains"],
                               note="pystan 3, default init")


def main(argv=None) -> dict:
    """Run the benchmark; print the table; return the results as plain dicts."""
    from pymc_hier import EIGHT_SCHOOLS

    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--parametrizations", default=None, metavar="NAME,...",
                   help="parametrizations of ours to run (default: all the factory offers)")
    args = p.parse_args(argv)
    cfg = common.settings(args)
    if args.cold_pytensor:
        print(f"PyTensor compile cache: fresh ({common.fresh_pytensor_cache()})", flush=True)
    data = EIGHT_SCHOOLS
    print(f"schools benchmark: eight schools; chains={cfg['chains']} draws={cfg['draws']} "
          f"tune={cfg['tune']} seed={cfg['seed']}", flush=True)
    results: list[common.Result] = []
    t_start = time.perf_counter()
    load_start = list(common.os.getloadavg())
    skip = common.stan_skip_reason(no_stan=args.no_stan)
    if skip is not None:
        print(skip, flush=True)
    else:
        results.append(run_stan_row(data, cfg, cache_dir=args.stan_cache))
        common.progress(results[-1:], "tau")

    warm = common.warm_up_pymc()
    print(f"PyMC/nutpie warm-up (imports, first numba JIT; not charged to any row): "
          f"{warm:.1f} s", flush=True)
    if common.available("pymc_hier.normal.family", "eight_schools_model"):
        from pymc_hier import EIGHT_SCHOOLS_FAMILY

        offered = EIGHT_SCHOOLS_FAMILY.options["parametrization"]
        chosen = offered if args.parametrizations is None else [
            v.strip() for v in args.parametrizations.split(",") if v.strip()]
        for parametrization in chosen:
            results.append(run_ours(data, parametrization, cfg))
            common.progress(results[-1:], "tau")
    else:
        print("eight_schools_model: not available yet, skipped", flush=True)
    if common.available("pymc_hier.normal.exact", "hierarchical_normal_posterior"):
        results.append(run_exact_row(data, cfg))
        common.progress(results[-1:], "tau")
    else:
        print("exact hierarchical-normal sampler: not available yet, skipped", flush=True)

    print(f"\nTotal benchmark time {time.perf_counter() - t_start:.0f} s; load average "
          f"(1 min) {load_start[0]:.2f} at the start, {common.os.getloadavg()[0]:.2f} at the "
          f"end ({common.os.cpu_count()} CPUs)\n")
    print(common.table(results, var="tau", reference=REFERENCE))
    machine = {**common.machine(), "load_average_at_start": load_start}
    payload = {"benchmark": "schools", "settings": cfg, "reference": REFERENCE,
               "machine": machine,
               "results": [r.to_dict() for r in results]}
    if args.json:
        common.save_json(args.json, payload)
        print(f"saved {args.json}")
    return payload


if __name__ == "__main__":
    main()
