"""Shared helpers for the benchmark scripts: timing, Stan through pystan 3, diagnostics, tables.

Every method is reduced to one :class:`Result` row: ArviZ's bulk/tail ESS and rank R-hat of
one scalar parameter, divergences, and the wall time of each stage (build, compile,
sample, post-processing). ESS per second uses the sampling stage only (warmup included,
as every sampler has to tune); end-to-end is the sum of all stages.

pystan 3 runs an asyncio event loop (``asyncio.run``) for every call. That is fine in a
plain script; inside Jupyter (a loop already running) apply ``nest_asyncio`` first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

STAN_DIR = Path(__file__).parent / "stan"


# -- results ----------------------------------------------------------------------------
@dataclass
class Result:
    """One benchmarked method, measured on one scalar parameter."""

    name: str
    engine: str
    draws: int
    chains: int
    tune: int
    ess_bulk: float = math.nan
    ess_tail: float = math.nan
    rhat: float = math.nan
    mean: float = math.nan
    sd: float = math.nan
    divergences: int = 0
    build_s: float = 0.0
    compile_s: float = 0.0
    sample_s: float = 0.0
    post_s: float = 0.0
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the run can be trusted: R-hat <= 1.01, no divergence, finite mean.

        Exact i.i.d. samplers are trusted by construction (their R-hat is only noise).
        """
        if self.engine == "exact":
            return math.isfinite(self.mean)
        return (math.isfinite(self.rhat) and self.rhat <= 1.01 and self.divergences == 0
                and math.isfinite(self.mean))

    @property
    def total_s(self) -> float:
        return self.build_s + self.compile_s + self.sample_s + self.post_s

    @property
    def ess_per_s(self) -> float:
        return self.ess_bulk / self.sample_s if self.sample_s > 0 else math.nan

    @property
    def ess_per_total_s(self) -> float:
        return self.ess_bulk / self.total_s if self.total_s > 0 else math.nan

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(ok=self.ok, total_s=self.total_s, ess_per_s=self.ess_per_s,
                 ess_per_total_s=self.ess_per_total_s)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in d.items()}


class Timer:
    """Accumulate wall-clock seconds of ``with timer:`` blocks in ``timer.seconds``."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds += time.perf_counter() - self._t
        return False


def diagnose(result: Result, idata, var: str) -> Result:
    """Fill ESS (bulk, tail), R-hat, mean, sd and divergences of ``var`` from ``idata``."""
    import warnings

    import arviz_stats as azs

    post = idata["posterior"].to_dataset()[[var]]
    values = post[var].values
    # Chains that ran off to infinity overflow the sums; the result is then flagged.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result.ess_bulk = float(azs.ess(post, method="bulk")[var])
        result.ess_tail = float(azs.ess(post, method="tail")[var])
        result.rhat = float(azs.rhat(post)[var])
        result.mean = float(np.mean(values))
        result.sd = float(np.std(values, ddof=1))
        # Medians show where each chain went, also when one runs off towards infinity.
        result.extra["chain_medians"] = [
            float(v) for v in np.median(values.reshape(values.shape[0], -1), axis=1)]
    if "sample_stats" in idata.children and "diverging" in idata["sample_stats"].data_vars:
        result.divergences = int(idata["sample_stats"]["diverging"].values.sum())
    return result


# -- environment ----------------------------------------------------------------------
def machine() -> dict:
    """Describe the machine and library versions (recorded with every result)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("pymc", "pytensor", "nutpie", "arviz-stats", "pystan", "httpstan", "numpy"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "processor": platform.processor(),
            "load_average_1_5_15min": list(os.getloadavg()), "versions": versions}


def have_pystan() -> bool:
    """Whether pystan 3 (module ``stan``) can be imported."""
    try:
        import stan  # noqa: F401
    except ImportError:
        return False
    return True


#: Why the Stan comparison cannot run on this Python, in one line (``None``: it can).
PYSTAN_313 = ("Stan: skipped (Python {v}: pystan 3 / httpstan cannot load compiled models on "
              "Python 3.13+, undefined symbol _PyThreadState_UncheckedGet; run the Stan "
              "comparison on Python 3.12)")


def stan_skip_reason(*, no_stan: bool = False, version_info=None) -> str | None:
    """One line saying why the Stan rows are skipped, or ``None`` when Stan can run.

    Checked before pystan is imported or any model compiled: on Python 3.13 and later
    httpstan builds a model that fails to load, so the benchmark says so and runs the rest.
    """
    v = sys.version_info if version_info is None else version_info
    if no_stan:
        return "Stan: skipped (--no-stan)"
    if tuple(v[:2]) >= (3, 13):
        return PYSTAN_313.format(v=f"{v[0]}.{v[1]}")
    if not have_pystan():
        return "Stan: skipped (pystan not installed: pip install 'pymc_hier[bench]')"
    return None


def warm_up_pymc() -> float:
    """Import PyMC/nutpie and compile a one-variable model once; return the seconds spent.

    This process start-up cost (imports, first numba JIT) is shared by every model and is
    reported separately rather than charged to whichever model happens to run first.
    """
    t = time.perf_counter()
    import nutpie
    import pymc as pm

    with pm.Model() as model:
        pm.Normal("x")
    compiled = nutpie.compile_pymc_model(model)
    nutpie.sample(compiled, draws=10, tune=10, chains=1, seed=1, progress_bar=False)
    return time.perf_counter() - t


# -- nutpie -----------------------------------------------------------------------------
def run_nutpie(name: str, build, var: str, *, draws: int, tune: int, chains: int, seed: int,
               postprocess=None, note: str = "") -> Result:
    """Build a PyMC model with ``build()``, compile and sample it with nutpie, diagnose ``var``.

    A family's model starts where :func:`pymc_hier.fit` starts it (the family's
    ``initial_values``) and gets the family's post-processing; ``postprocess(idata, model)``
    (optional) replaces the latter. Post-processing is timed separately.
    """
    import nutpie

    from pymc_hier.spec import get_spec

    res = Result(name=name, engine="nutpie", draws=draws, chains=chains, tune=tune, note=note)
    with Timer() as t:
        model = build()
    res.build_s = t.seconds
    spec = get_spec(model)
    start = {}
    if spec is not None and spec.family.initial_values is not None:
        start = spec.family.initial_values(model, spec)
    if postprocess is None and spec is not None and spec.family.postprocess is not None:
        def postprocess(idata, model):
            return spec.family.postprocess(idata, model, spec, random_seed=seed)
    with Timer() as t:
        compiled = nutpie.compile_pymc_model(model, initial_points=start or None)
    res.compile_s = t.seconds
    with Timer() as t:
        idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, seed=seed,
                              progress_bar=False)
    res.sample_s = t.seconds
    stats = idata["sample_stats"]
    if "n_steps" in stats.data_vars:   # leapfrog steps (gradients) per kept draw
        res.extra["mean_n_steps"] = float(stats["n_steps"].mean())
    if "step_size" in stats.data_vars:  # adapted, one per chain
        res.extra["step_size"] = float(stats["step_size"].isel(draw=-1).mean())
    if postprocess is not None:
        with Timer() as t:
            idata = postprocess(idata, model)
        res.post_s = t.seconds
    return diagnose(res, idata, var)


# -- Stan (pystan 3) --------------------------------------------------------------------
@contextlib.contextmanager
def stan_cache(cache_dir: str | None):
    """Point httpstan's model cache at ``cache_dir``, or at a fresh temporary folder.

    A fresh folder (the default) makes every build a cold compile, so the compile time
    reported is what a new user pays once. A kept folder reuses compiled models.
    """
    old = os.environ.get("XDG_CACHE_HOME")
    tmp = None
    if cache_dir is None:
        tmp = tempfile.mkdtemp(prefix="pymc_hier_bench_httpstan_")
        cache_dir = tmp
    os.environ["XDG_CACHE_HOME"] = str(cache_dir)
    try:
        yield Path(cache_dir)
    finally:
        if old is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = old
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def fresh_pytensor_cache() -> str:
    """Point PyTensor (and its numba cache) at a new temporary folder; return it.

    Must run before PyTensor is imported: the compile times then are those of a first use
    on a new machine rather than of a repeat run with warm caches.
    """
    if "pytensor" in sys.modules:
        raise RuntimeError("--cold-pytensor: PyTensor is already imported in this process")
    folder = tempfile.mkdtemp(prefix="pymc_hier_bench_pytensor_")
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (flags, f"base_compiledir={folder}") if f)
    return folder


def build_stan(program: str, data: dict, *, seed: int):
    """Compile (or load from httpstan's cache) a Stan program; return (posterior, seconds)."""
    import stan

    code = (STAN_DIR / program).read_text()
    with Timer() as t:
        posterior = stan.build(code, data=data, random_seed=seed)
    return posterior, t.seconds


def _forget_cached_fits(posterior) -> None:
    """Delete httpstan's cached fits of this model, so that sampling really runs.

    With a random seed httpstan caches each fit and returns it instantly on a repeat call,
    which would make a second benchmark run time a cache read.
    """
    import httpstan.cache

    model_dir = httpstan.cache.model_directory(posterior.model_name)
    shutil.rmtree(model_dir / "fits", ignore_errors=True)


def stan_to_datatree(fit, var_names, *, coords=None, dims=None):
    """Convert a pystan 3 fit to a DataTree with ``posterior`` and ``sample_stats`` groups."""
    from arviz_base import from_dict

    n_chains, n_draws = fit.num_chains, fit.num_samples // fit.num_thin

    def by_chain(values):
        # pystan returns (*param_dims, draws * chains) with the chain index varying fastest.
        values = np.asarray(values)
        lead = values.shape[:-1]
        arr = values.reshape(*lead, n_draws, n_chains)
        return np.moveaxis(arr, (-1, -2), (0, 1))

    posterior = {}
    for name in var_names:
        arr = by_chain(fit[name])
        if arr.ndim == 3 and arr.shape[2] == 1 and not (dims and name in dims):
            arr = arr[..., 0]
        posterior[name] = arr
    stats = {"diverging": by_chain(fit["divergent__"])[..., 0].astype(bool),
             "tree_depth": by_chain(fit["treedepth__"])[..., 0],
             "n_steps": by_chain(fit["n_leapfrog__"])[..., 0],
             "lp": by_chain(fit["lp__"])[..., 0]}
    return from_dict({"posterior": posterior, "sample_stats": stats},
                     coords=coords, dims=dims)


def run_stan(name: str, posterior, compile_s: float, var: str, *, draws: int, tune: int,
             chains: int, init=None, var_names=None, note: str = "") -> Result:
    """Sample a built pystan model with NUTS and diagnose ``var``."""
    res = Result(name=name, engine="pystan", draws=draws, chains=chains, tune=tune,
                 compile_s=compile_s, note=note)
    kwargs = {"num_chains": chains, "num_samples": draws, "num_warmup": tune}
    if init is not None:
        kwargs["init"] = [dict(init) for _ in range(chains)]
    _forget_cached_fits(posterior)
    with Timer() as t:
        fit = posterior.sample(**kwargs)
    res.sample_s = t.seconds
    idata = stan_to_datatree(fit, var_names or [var])
    diagnose(res, idata, var)
    res.extra["max_treedepth_hits"] = int(
        (idata["sample_stats"]["tree_depth"].values >= 10).sum())
    res.extra["mean_n_steps"] = float(idata["sample_stats"]["n_steps"].values.mean())
    res.extra["stan_chain_seconds"] = seconds = stan_chain_seconds(fit)
    # ESS per second of Stan's own sampler time, chains spread over the cores as httpstan does.
    busy = sum(seconds) / min(chains, os.cpu_count() or 1)
    res.extra["ess_per_stan_s"] = res.ess_bulk / busy if busy > 0 else math.nan
    return res


def stan_chain_seconds(fit) -> list[float]:
    """Stan's own timing of each chain (warmup + sampling), from its log messages.

    The wall time of ``posterior.sample`` also holds pystan/httpstan overhead (processes,
    JSON transport); this is the part spent in Stan's C++ sampler.
    """
    import re

    pattern = re.compile(rb"([0-9.eE+-]+) seconds \(Total\)")
    seconds = []
    for output in fit.stan_outputs:
        found = pattern.findall(output)
        seconds.append(float(found[-1]) if found else math.nan)
    return seconds


# -- exact samplers ---------------------------------------------------------------------
def run_exact(name: str, make_posterior, var: str, *, draws: int, chains: int, seed: int,
              note: str = "") -> Result:
    """Time building an exact posterior (``make_posterior()``) and drawing from it."""
    res = Result(name=name, engine="exact", draws=draws, chains=chains, tune=0, note=note)
    with Timer() as t:
        post = make_posterior()
    res.build_s = t.seconds
    with Timer() as t:
        idata = post.sample(draws=draws, chains=chains, random_seed=seed)
    res.sample_s = t.seconds
    return diagnose(res, idata, var)


# -- CLI and output ---------------------------------------------------------------------
def parser(description: str) -> argparse.ArgumentParser:
    """Return the argument parser shared by the benchmark scripts."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="few draws (a smoke test; the numbers mean little)")
    p.add_argument("--json", metavar="PATH", help="save the results as JSON")
    p.add_argument("--seed", type=int, default=20260101, help="seed of every sampler")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--draws", type=int, default=None, help="draws per chain (default 1000)")
    p.add_argument("--tune", type=int, default=None,
                   help="warmup per chain for every MCMC run (default 1000, Stan's default)")
    p.add_argument("--no-stan", action="store_true", help="skip the pystan runs")
    p.add_argument("--cold-pytensor", action="store_true",
                   help="compile PyTensor/numba code into a fresh temporary cache (the times "
                        "of a first use; by default the user's warm cache is used)")
    p.add_argument("--stan-cache", metavar="DIR", default=None,
                   help="httpstan cache folder to reuse (default: a fresh temporary one, so "
                        "every Stan build is a cold compile)")
    return p


def settings(args) -> dict:
    """Resolve draws/tune from ``--quick`` and the explicit options."""
    draws = args.draws if args.draws is not None else (100 if args.quick else 1000)
    tune = args.tune if args.tune is not None else (100 if args.quick else 1000)
    return {"draws": draws, "tune": tune, "chains": args.chains, "seed": args.seed}


def _fmt(x, spec):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return format(x, spec)


def _ratio(x, ref):
    if not (math.isfinite(x) and ref is not None and math.isfinite(ref) and ref > 0):
        return "n/a"
    r = x / ref
    return f"{r:,.0f}x" if r >= 10 else f"{r:.2g}x"


def table(results: list[Result], *, var: str, reference: str | None) -> str:
    """Return a Markdown table of ``results``; ratios are against the ``reference`` row."""
    ref = next((r for r in results if r.name == reference), None)
    ref_rate = ref.ess_per_s if ref else None
    ref_total = ref.ess_per_total_s if ref else None
    head = (f"| method | ESS({var}) bulk | ESS/s (sampling) | ratio | sampling s | "
            f"compile s | end-to-end s | ESS/s end-to-end | ratio | divergences | R-hat | "
            f"mean {var} | trustworthy |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        lines.append(
            f"| {r.name} | {_fmt(r.ess_bulk, ',.0f')} | {_fmt(r.ess_per_s, ',.4g')} | "
            f"{_ratio(r.ess_per_s, ref_rate)} | {r.sample_s:.2f} | {r.compile_s:.2f} | "
            f"{r.total_s:.2f} | {_fmt(r.ess_per_total_s, ',.4g')} | "
            f"{_ratio(r.ess_per_total_s, ref_total)} | {r.divergences} | "
            f"{_fmt(r.rhat, '.3f')} | {_fmt(r.mean, '.4g')} | {'yes' if r.ok else 'NO'} |"
        )
    lines.append("")
    lines.append("ESS/s uses the sampling stage only (warmup included); end-to-end = build + "
                 "compile + sample + post-processing. 'trustworthy' = R-hat <= 1.01, no "
                 "divergence, finite mean (exact i.i.d. samplers: by construction); the "
                 "ESS of other rows measures nothing useful.")
    return "\n".join(lines)


def available(module: str, name: str) -> bool:
    """Whether ``module`` imports and defines ``name`` (other people's code may be missing)."""
    from importlib import import_module

    try:
        return hasattr(import_module(module), name)
    except Exception as err:  # noqa: BLE001 - a module being written may fail in any way
        print(f"{module}: cannot import ({type(err).__name__}: {err})", flush=True)
        return False


def progress(rows, var: str) -> None:
    """Print one line per finished row (flushing, so long runs show progress)."""
    for r in rows:
        print(f"  {r.name}: ESS({var})={r.ess_bulk:.0f} sample {r.sample_s:.2f} s, "
              f"end-to-end {r.total_s:.2f} s, divergences {r.divergences}, "
              f"R-hat {r.rhat:.3f} {r.note}", flush=True)
        if "stan_chain_seconds" in r.extra:
            chains = ", ".join(f"{v:.2f}" for v in r.extra["stan_chain_seconds"])
            print(f"    Stan's own time per chain (s): {chains} (ESS/s on that clock "
                  f"{r.extra['ess_per_stan_s']:.4g}); mean leapfrog steps per draw "
                  f"{r.extra['mean_n_steps']:.0f}; tree-depth-10 hits "
                  f"{r.extra['max_treedepth_hits']}", flush=True)
        elif "mean_n_steps" in r.extra:
            print(f"    mean leapfrog steps per draw {r.extra['mean_n_steps']:.2f}, "
                  f"step size {r.extra.get('step_size', math.nan):.3g}", flush=True)
        medians = ", ".join(f"{v:.3g}" for v in r.extra.get("chain_medians", []))
        print(f"    median {var} per chain: {medians}", flush=True)


def save_json(path: str, payload: dict) -> None:
    """Write ``payload`` (with results already converted to dicts) as JSON."""
    Path(path).write_text(json.dumps(payload, indent=2, default=float) + "\n")
