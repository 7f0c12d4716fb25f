"""The job of ``pymc-hier run`` written as a plain PyMC + ArviZ script (issue 22's peer).

What a user without pymc_hier would write: the model straight from the textbook (decay:
the lecture's program with times in days, ``alpha ~ HalfFlat``, known manufacture
times, ``N0 ~ Uniform``; schools: the non-centred eight schools), sampled with nutpie
through ``pm.sample``, ``az.summary``, posterior predictive draws and one plot (the
posterior predictive distribution against the data) saved as PNG.

Run by ``benchmarks/workflow.py`` in a fresh process per repeat::

    python benchmarks/_plain_workflow.py decay --data decay.csv --out DIR [--seed N]

(the CSV written by ``DecayData.to_csv`` / ``SchoolsData.to_csv``: what the user has).

It prints one JSON line: the seconds of each stage (wall clock, this process) and the
process's age when the first stage began (Python start-up).
"""

from __future__ import annotations

import json
import sys
import time

_T0 = time.perf_counter()


def main(argv=None) -> dict:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", choices=("decay", "schools"))
    p.add_argument("--data", required=True, help="CSV file of the data")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    stages: dict[str, float] = {}
    mark = [_T0]

    def done(name):
        now = time.perf_counter()
        stages[name] = stages.get(name, 0.0) + now - mark[0]
        mark[0] = now

    from pathlib import Path

    import arviz as az
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd
    import pymc as pm

    df = pd.read_csv(args.data)
    if args.model == "decay":
        day = 86_400.0
        dt = (df["t_measured"].to_numpy() - df["t0"].to_numpy()) / day
        n0_max = float(df["n0_max"].iloc[0])
    else:
        y, sigma = df["y"].to_numpy(), df["sigma"].to_numpy()
    done("imports and data")

    if args.model == "decay":
        with pm.Model(coords={"widget": df["widget"].to_numpy()}) as model:
            alpha = pm.HalfFlat("alpha")
            n0 = pm.Uniform("N0", 0.0, n0_max, dims="widget")
            pm.Normal("N_measured", mu=n0 * pm.math.exp(-alpha * dt),
                      sigma=df["sigma"].to_numpy(), observed=df["n_measured"].to_numpy(),
                      dims="widget")
    else:
        with pm.Model(coords={"school": df["school"].to_numpy()}) as model:
            mu = pm.Normal("mu", 0.0, 5.0)
            tau = pm.HalfCauchy("tau", 5.0)
            z = pm.Normal("theta_tilde", 0.0, 1.0, dims="school")
            theta = pm.Deterministic("theta", mu + tau * z, dims="school")
            pm.Normal("y", theta, sigma, observed=y, dims="school")
    done("model build")

    idata = pm.sample(model=model, nuts_sampler="nutpie", random_seed=args.seed,
                      progressbar=False)
    done("compile + sampling")

    table = az.summary(idata)
    done("summary")

    idata = pm.sample_posterior_predictive(idata, model=model, random_seed=args.seed,
                                           extend_inferencedata=True, progressbar=False)
    done("posterior predictive")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pc = az.plot_ppc_dist(idata)
    pc.savefig(out / "ppc.png")
    done("plot")
    result = {"stages": stages, "summary_rows": int(len(table)),
              "total_wall_s": time.perf_counter() - _T0}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
