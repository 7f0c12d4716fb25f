"""Scale benchmark (issue 10): time, peak memory and ESS against the number of groups N.

For each model and each N = 10**2, 10**3, ... up to ``--max-n``, one fresh subprocess
simulates data, builds the model and fits it with :func:`pymc_hier.fit` (nutpie on the
CPU; every stage of the user's path: build, compile, sample, post-processing hook,
diagnostics). The subprocess reports the wall time of each stage, its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes the Rust sampler's and
NumPy's allocations) and bulk ESS of the model's key scalar. The models:

- ``normal``: the hierarchical normal model with ``parametrization="marginal"`` (theta
  integrated out, drawn exactly afterwards; ``theta_storage`` from ``--theta-storage``) on
  synthetic groups (mu = 2, tau = 5, sigma_j ~ U(5, 15)); key scalar ``tau``;
- ``decay``: the decay model on ``simulate_decay(n_widgets=N)`` with its scalable variant
  ``t0="marginal"`` when the factory offers it undeprecated, otherwise the default variant
  (``t0="latent", n0="marginal"``; ``t0="marginal"`` is deprecated since it never paid),
  named in the table; key scalar ``alpha``.

Columns: ``warm-up`` is the per-process start-up (imports and the first numba JIT of a
one-variable model), not charged to the run; ``fit`` is :func:`pymc_hier.fit` (compile,
tune + sample, post-processing, diagnostics), of which ``sampling`` is nutpie's own
sampling time (tuning included); ``total`` = build + fit (simulation excluded).

The growth exponent is the log-log least-squares slope of wall time against N over the
rows with N >= 10**3 (smaller N measure fixed costs: imports, compilation). A size is
skipped once the previous one took longer than ``--budget`` / 10 seconds (it would take
about 10 times longer) or failed. With a GPU visible to JAX the same rows are repeated with
``sampler="numpyro"``; without one the script says so and skips them.

``--samplers nutpie,exact`` adds rows for ``fit(sampler="exact")``: independent draws from
the exact posterior (for the decay model: ``alpha`` tabulated by quadrature with ``t0`` and
``N0`` integrated out, then every widget's ``t0`` and ``N0`` from their exact
conditionals), where ``tune`` does not apply and ESS is that of independent draws.

``--backends numpy,numba,jax,dask`` (with ``--samplers exact``) says what computes the
exact path (issue 23): ``numpy``, ``numba`` (decay only) and ``jax`` are
``fit(sampler="exact", backend=...)`` (JAX on its default device: the GPU when one is
visible, else the CPU); ``dask`` is :func:`pymc_hier.fit_partitioned` on a LocalCluster of
``--workers`` single-threaded worker processes, the data read from Parquet partitions
(written beforehand, not timed) and the per-unit draws written to a zarr store
(``--dtype``, float32 by default) in a temporary folder (``--store-dir``). For the dask
rows ``warm-up`` is the cluster's start-up and every worker's first compilation, and peak
RSS is the largest of the client's and the workers'. Every row names what it ran on
(``used``: CPU model, JAX device with the GPU's model, workers).

Targets (issue 10): ESS >= 400 in under 2 minutes for N = 10**5 on 2 CPU cores, for both
models; cost growing no faster than linearly in N. Issue 23: 10**6 widgets with per-widget
draws in under 10 s on one GPU and 10**7 in under 60 s; 10**6 widgets on a 2-worker
LocalCluster in under 3 minutes with bounded memory per worker.

Usage::

    python benchmarks/scale.py                       # 10**2 ... 10**6, both models
    python benchmarks/scale.py --max-n 100000        # stop at 10**5
    python benchmarks/scale.py --quick               # smoke test: tiny N, few draws
    python benchmarks/scale.py --models normal --json scale.json
    python benchmarks/scale.py --models decay --decay-t0 known   # t0 known: 1-D in alpha
    python benchmarks/scale.py --samplers nutpie,exact --max-n 1e5  # and the exact path
    python benchmarks/scale.py --samplers exact --backends numba,dask --models decay
    python benchmarks/scale.py --samplers exact --backends jax --min-n 1e3 --max-n 1e7  # GPU
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

MODELS = ("normal", "decay")
#: Samplers run on the CPU (``--samplers``); numpyro is added when JAX sees a GPU.
CPU_SAMPLERS = ("nutpie", "exact")
#: What computes the exact path (``--backends``).
BACKENDS = ("numpy", "numba", "jax", "dask")
KEY = {"normal": "tau", "decay": "alpha"}
SEED = 20261124
_WORKER_FLAG = "--worker"


# -- one run, in its own process ----------------------------------------------------------
def worker(job: dict) -> dict:
    """Simulate, build and fit one model at one N; return timings, memory and ESS."""
    if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import _scale_worker

    return _scale_worker.worker(job)


def run_job(job: dict, *, timeout: float) -> dict:
    """Run :func:`worker` in a fresh Python process (so peak RSS is this run's alone)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), _WORKER_FLAG, json.dumps(job)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    t0 = time.perf_counter()
    # its own process group: a timeout ends the worker and whatever it started (a cluster)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {**job, "error": f"timed out after {timeout:.0f} s",
                "total_s": time.perf_counter() - t0}
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {**job, "error": (stderr.strip().splitlines() or ["no output"])[-1][:300],
                "total_s": time.perf_counter() - t0}
    return json.loads(lines[-1])


# -- summary ------------------------------------------------------------------------------
def growth_exponent(rows: list[dict], field: str = "total_s", *, min_n: int = 1000):
    """Log-log least-squares slope of ``field`` against N (rows with N >= ``min_n``).

    Returns NaN with fewer than two usable rows.
    """
    import numpy as np

    pts = [(r["n"], r[field]) for r in rows
           if "error" not in r and r["n"] >= min_n and r.get(field, 0) > 0
           and math.isfinite(r.get(field, math.nan))]
    if len(pts) < 2:
        return math.nan
    x, y = np.log10([p[0] for p in pts]), np.log10([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])


def _label(r: dict) -> str:
    """``sampler`` or ``exact [backend]`` (rows without a backend ran NumPy)."""
    backend = r.get("backend", "-")
    return r["sampler"] if backend in ("-", None) else f"{r['sampler']} [{backend}]"


def table(rows: list[dict]) -> str:
    """Markdown table of the rows."""
    head = ("| model | variant | sampler | N | warm-up s | build s | fit s | sampling s | "
            "total s | ESS | R-hat | div. | mean depth | peak RSS MB | used |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        variant = ", ".join(f"{k}={v}" for k, v in r.get("options", {}).items()) or "-"
        if "error" in r:
            lines.append(f"| {r['model']} | {variant} | {_label(r)} | {r['n']:.0e} | "
                         f"failed: {r['error']} | | | | | | | | | | |")
            continue
        depth = "-" if r["mean_depth"] is None else f"{r['mean_depth']:.1f}"
        lines.append(
            f"| {r['model']} | {variant} | {_label(r)} | {r['n']:.0e} | "
            f"{r['imports_s']:.1f} | {r['build_s']:.1f} | {r['fit_s']:.1f} | {r['sample_s']:.1f} | "
            f"{r['total_s']:.1f} | {r['ess_bulk']:.0f} ({KEY[r['model']]}) | "
            f"{r['rhat']:.3f} | {r['divergences']} | {depth} | {r['peak_rss_mb']:.0f} | "
            f"{r.get('used', '-')} |")
    return "\n".join(lines)


def _on_gpu(row: dict) -> bool:
    used = row.get("used", "").lower()
    return row.get("backend") == "jax" and ("gpu" in used or "cuda" in used)


def targets(rows: list[dict]) -> dict:
    """Which CPU (issue 10) and scale (issue 23) targets the rows meet (None: not measured).

    Keys name the model, and the sampler (with its backend) when it is not nutpie
    (``"decay [exact]: ..."``, ``"decay [exact, dask]: ..."``).
    """
    out = {}
    groups = sorted({(r["sampler"], r.get("backend", "-")) for r in rows}) or [("nutpie", "-")]
    for name in MODELS:
        for sampler, backend in groups:
            label = name if sampler == "nutpie" else (
                f"{name} [{sampler}]" if backend in ("-", "numpy") else
                f"{name} [{sampler}, {backend}]")
            mine = [r for r in rows if r["model"] == name and r["sampler"] == sampler
                    and r.get("backend", "-") == backend]
            ok = [r for r in mine if "error" not in r]
            at = {r["n"]: r for r in ok}
            if backend in ("-", "numpy", "numba"):
                r = at.get(10**5)
                out[f"{label}: N=1e5 ESS>=400 in <120 s"] = (
                    None if r is None else bool(r["ess_bulk"] >= 400 and r["total_s"] < 120))
            if backend == "jax":
                for n, limit in ((10**6, 10.0), (10**7, 60.0)):
                    r = at.get(n)
                    out[f"{label}: N=1e{round(math.log10(n))} on one GPU in <{limit:.0f} s"] = (
                        None if r is None or not _on_gpu(r) else bool(r["total_s"] < limit))
            if backend == "dask":
                r = at.get(10**6)
                out[f"{label}: N=1e6 on the LocalCluster in <180 s"] = (
                    None if r is None else bool(r["total_s"] < 180))
            slope = growth_exponent(mine)
            out[f"{label}: growth exponent <= 1"] = (None if math.isnan(slope)
                                                     else bool(slope <= 1.1))
    return out


def gpu_devices() -> list:
    """JAX's GPU devices (empty without JAX or without a GPU)."""
    try:
        import jax
    except ImportError:
        return []
    try:
        return [d for d in jax.devices() if d.platform == "gpu"]
    except RuntimeError:
        return []


# -- command line -------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    """The command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-n", type=float, default=1e6, help="largest N (default 1e6)")
    p.add_argument("--min-n", type=float, default=1e2, help="smallest N (default 1e2)")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated: normal,decay")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: N = 10 and 100, 2 chains x 50 draws")
    p.add_argument("--samplers", default="nutpie",
                   help="comma-separated CPU samplers: nutpie,exact ('exact': independent "
                        "draws from the exact posterior by quadrature, fit(sampler='exact'))")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--theta-storage", default="float32", choices=("float64", "float32", "none"))
    p.add_argument("--decay-t0", default="auto",
                   help="decay variant: 'auto' (t0='marginal' when offered undeprecated, "
                        "else 'latent'), "
                        "or a t0 option of decay_model ('known' needs exact manufacture "
                        "times: another model, for comparison)")
    p.add_argument("--backends", default="numpy",
                   help="comma-separated backends of the exact sampler: numpy,numba,jax,dask "
                        "(numba: decay only; jax: JAX's default device; dask: "
                        "fit_partitioned on a LocalCluster)")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster workers (dask rows)")
    p.add_argument("--repeat", type=int, default=1,
                   help="fit each model this many times in its process and report the last "
                        "(JAX: the first run compiles for the data's shapes)")
    p.add_argument("--dtype", default="float32", choices=("float64", "float32"),
                   help="storage of the per-unit draws of the dask rows")
    p.add_argument("--store-dir", default=None,
                   help="folder for the dask rows' data and zarr store (default: the system "
                        "temporary folder)")
    p.add_argument("--budget", type=float, default=300.0,
                   help="seconds allowed per run (timeout; sizes predicted to exceed it skipped)")
    p.add_argument("--json", help="also write the rows and targets to this file")
    return p


def _load(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main(argv=None) -> dict:
    """Run the benchmark; print the table; return rows and targets."""
    args = parser().parse_args(argv)
    if args.quick:
        args.min_n, args.max_n = min(args.min_n, 10), min(args.max_n, 100)
        args.draws, args.tune, args.chains = 50, 50, 2
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(models) - set(MODELS)
    if unknown:
        raise SystemExit(f"--models: unknown model(s) {sorted(unknown)} (choose from {MODELS})")
    sizes, n = [], 10 ** math.ceil(math.log10(args.min_n))
    while n <= args.max_n:
        sizes.append(int(n))
        n *= 10
    samplers = [s.strip() for s in args.samplers.split(",") if s.strip()]
    if set(samplers) - set(CPU_SAMPLERS):
        raise SystemExit(f"--samplers: unknown {sorted(set(samplers) - set(CPU_SAMPLERS))} "
                         f"(choose from {CPU_SAMPLERS})")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if set(backends) - set(BACKENDS):
        raise SystemExit(f"--backends: unknown {sorted(set(backends) - set(BACKENDS))} "
                         f"(choose from {BACKENDS})")
    runs = [(s, b) for s in samplers for b in (backends if s == "exact" else ["-"])]
    gpus = gpu_devices()
    if gpus:
        print(f"GPU: {gpus} visible to JAX; numpyro rows included", flush=True)
        runs.append(("numpyro", "-"))
    else:
        print("GPU: none visible to JAX; GPU rows skipped", flush=True)
    print(f"scale benchmark: N in {sizes}, models {models}, runs {runs}, chains={args.chains} "
          f"draws={args.draws} tune={args.tune} seed={args.seed} cpus={os.cpu_count()}",
          flush=True)
    load_start = list(os.getloadavg())
    print(f"load average (1, 5, 15 min) at the start: {_load(load_start)}", flush=True)
    rows: list[dict] = []
    for name in models:
        for sampler, backend in runs:
            if backend == "numba" and name != "decay":
                print(f"  {name} exact [numba]: skipped (the numba backend is the decay "
                      "model's)", flush=True)
                continue
            for n in sizes:
                prev = [r for r in rows if r["model"] == name and r["sampler"] == sampler
                        and r.get("backend", "-") == backend]
                if prev and ("error" in prev[-1] or prev[-1]["total_s"] * 10 > args.budget):
                    print(f"  {name} {sampler} [{backend}] N={n:.0e}: skipped (previous size "
                          f"took {prev[-1]['total_s']:.0f} s or failed; budget "
                          f"{args.budget:.0f} s)", flush=True)
                    continue
                job = {"model": name, "n": n, "sampler": sampler, "backend": backend,
                       "draws": args.draws, "tune": args.tune, "chains": args.chains,
                       "seed": args.seed, "theta_storage": args.theta_storage,
                       "decay_t0": args.decay_t0, "workers": args.workers,
                       "dtype": args.dtype, "store_dir": args.store_dir,
                       "repeat": args.repeat}
                before = list(os.getloadavg())
                row = run_job(job, timeout=args.budget)
                row["load_average"] = {"before": before, "after": list(os.getloadavg())}
                rows.append(row)
                status = row.get("error") or (f"{row['total_s']:.1f} s, ESS {row['ess_bulk']:.0f}, "
                                              f"peak RSS {row['peak_rss_mb']:.0f} MB, "
                                              f"{row.get('used', '')}")
                print(f"  {name} {sampler} [{backend}] N={n:.0e}: {status} (load "
                      f"{before[0]:.2f} -> {row['load_average']['after'][0]:.2f})", flush=True)
    print()
    print(table(rows))
    print()
    for name in models:
        for sampler, backend in runs:
            mine = [r for r in rows if r["model"] == name and r["sampler"] == sampler
                    and r.get("backend", "-") == backend]
            if mine:
                print(f"growth exponent ({name}, {sampler} [{backend}], N >= 1e3): total wall "
                      f"time {growth_exponent(mine):.2f}, sampling "
                      f"{growth_exponent(mine, 'sample_s'):.2f}")
    load_end = list(os.getloadavg())
    print(f"load average (1, 5, 15 min) at the start: {_load(load_start)}, at the end: "
          f"{_load(load_end)}")
    result = {"rows": rows, "targets": targets(rows), "gpu": [str(g) for g in gpus],
              "argv": sys.argv[1:] if argv is None else list(argv),
              "load_average": {"start": load_start, "end": load_end}}
    for k, v in result["targets"].items():
        print(f"target {k}: {'not measured' if v is None else ('met' if v else 'NOT met')}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == _WORKER_FLAG:
        print(json.dumps(worker(json.loads(sys.argv[2]))), flush=True)
    else:
        main()
