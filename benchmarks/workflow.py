"""Benchmark the whole workflow: ``pymc-hier run`` against a plain PyMC + ArviZ script (issue 22).

For each model (``decay``, ``schools``) one run times, each in a new process:

- ``pymc-hier run MODEL`` (``python -m pymc_hier.cli``, the default settings: nutpie,
  4 chains x 1000 draws after 1000 tuning steps, PGM, predictive checks, the default
  prior sweep, report, saved DataTree) stage by stage, from the ``timings.json`` the
  command writes into its folder;
- the same job as a plain script (``benchmarks/_plain_workflow.py``: the textbook model,
  nutpie through ``pm.sample``, ``az.summary``, posterior predictive draws, one plot);

each first **cold** (PyTensor's and Numba's caches pointed at a new empty folder through
``PYTENSOR_FLAGS=base_compiledir=...`` and ``NUMBA_CACHE_DIR``: a first use) and then
**warm** (the same caches again, ``--repeats`` times, the median and the range shown).
Warm repeats of the two alternate, so that both see the same load. Wall time is measured
from outside the process (start to exit); CPU time is the process's user + system time
(both cores count), which moves less with the load of other jobs.

Targets (issue 22): ``pymc-hier run`` cold < 10 s and warm < 5 s for both models on
2 cores, and no slower than the plain script (ratio plain / ours >= 1).

Usage::

    python benchmarks/workflow.py                    # both models, 3 warm repeats
    python benchmarks/workflow.py --models decay --repeats 5 --json out.json
    python benchmarks/workflow.py --exact            # and `run --sampler exact`
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAIN = Path(__file__).resolve().parent / "_plain_workflow.py"
TARGET_COLD, TARGET_WARM = 10.0, 5.0


def cache_env(folder: Path) -> dict:
    """Environment of a process whose PyTensor and Numba caches live in ``folder``."""
    env = dict(os.environ)
    flags = [f for f in env.get("PYTENSOR_FLAGS", "").split(",")
             if f and not f.startswith("base_compiledir")]
    env["PYTENSOR_FLAGS"] = ",".join([*flags, f"base_compiledir={folder / 'pytensor'}"])
    env["NUMBA_CACHE_DIR"] = str(folder / "numba")
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def timed(cmd: list[str], env: dict, *, timeout: float = 900) -> dict:
    """Run ``cmd``; return its wall seconds (start to exit), exit status and output."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    wall = time.perf_counter() - start
    return {"wall_s": wall, "returncode": proc.returncode, "stdout": out, "stderr": err}


class ChildCPU:
    """CPU seconds (user + system) of the children reaped inside ``with``."""

    def __enter__(self):
        import resource

        self._r = resource
        u = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._start = u.ru_utime + u.ru_stime
        return self

    def __exit__(self, *exc):
        u = self._r.getrusage(self._r.RUSAGE_CHILDREN)
        self.seconds = u.ru_utime + u.ru_stime - self._start
        return False


def _measured(cmd: list[str], cache: Path) -> tuple[dict, dict]:
    """Run ``cmd`` with its caches in ``cache``; the row (wall, CPU, ok) and the run."""
    with ChildCPU() as cpu:
        r = timed(cmd, cache_env(cache))
    row = {"wall_s": r["wall_s"], "cpu_s": cpu.seconds, "ok": r["returncode"] == 0}
    if not row["ok"]:
        row["error"] = (r["stderr"].strip().splitlines() or ["?"])[-1]
    return row, r


def run_ours(model: str, cache: Path, out: Path, options: tuple[str, ...] = ()) -> dict:
    """One ``pymc-hier run MODEL [options]`` in a new process; its timings and totals."""
    if out.exists():
        shutil.rmtree(out)
    row, _ = _measured([sys.executable, "-m", "pymc_hier.cli", "run", model, "--out",
                        str(out), "--quiet", *options], cache)
    if row["ok"]:
        t = json.loads((out / "timings.json").read_text())
        stages = {"startup (Python, imports)": t["startup_s"]} if t["startup_s"] else {}
        # stages run in a second process alongside these are named so (not in the totals)
        stages.update({f"{k} (in parallel)" if v.get("parallel") else k: v["wall_s"]
                       for k, v in t["stages"].items()})
        row["stages"] = stages
    return row


def run_plain(model: str, cache: Path, out: Path, data: Path) -> dict:
    """One plain PyMC + ArviZ script in a new process; its stages and totals."""
    row, r = _measured([sys.executable, str(PLAIN), model, "--data", str(data), "--out",
                        str(out)], cache)
    if row["ok"]:
        row["stages"] = json.loads(r["stdout"].strip().splitlines()[-1])["stages"]
    return row


def write_data(model: str, folder: Path) -> Path:
    """The example data of ``model`` as the CSV file a plain script would read."""
    path = folder / f"{model}.csv"
    code = ("import sys, pymc_hier as ph; d = ph.simulate_decay() if sys.argv[1] == 'decay' "
            "else ph.EIGHT_SCHOOLS; d.to_csv(sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, model, str(path)], check=True,
                   env=cache_env(folder / "data-cache"), cwd=ROOT)
    return path


def spread(values: list[float]) -> dict:
    """Median, min and max of ``values`` (NaN-free; empty gives None)."""
    values = [v for v in values if v is not None]
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def summarise(rows: list[dict]) -> dict:
    """Spread of the totals and of each stage over repeats."""
    ok = [r for r in rows if r["ok"]]
    names: list[str] = []
    for r in ok:
        names += [n for n in r["stages"] if n not in names]
    return {"wall_s": spread([r["wall_s"] for r in ok]),
            "cpu_s": spread([r["cpu_s"] for r in ok]),
            "stages": {n: spread([r["stages"].get(n) for r in ok]) for n in names},
            "failed": [r.get("error", "?") for r in rows if not r["ok"]]}


def bench_model(model: str, *, repeats: int, cold_repeats: int, plain: bool,
                scratch: Path, exact: bool = False) -> dict:
    """Cold and warm runs of ``pymc-hier run MODEL`` (``--sampler exact``, the plain script)."""
    data = write_data(model, scratch)
    result = {"model": model}
    tools = {"ours": run_ours}
    if exact:
        tools["exact"] = lambda m, c, o: run_ours(m, c, o, ("--sampler", "exact"))
    if plain:
        tools["plain"] = lambda m, c, o: run_plain(m, c, o, data)
    caches = {}
    for name, run in tools.items():
        rows = []
        for i in range(cold_repeats):
            cache = scratch / f"{name}-cache-{i}"
            rows.append(run(model, cache, scratch / f"{name}-cold-{i}"))
            caches[name] = cache
            _progress(model, name, "cold", rows[-1])
        result[f"{name}_cold"] = {"runs": rows, **summarise(rows)}
    warm = {name: [] for name in tools}
    for i in range(repeats):
        for name, run in tools.items():
            warm[name].append(run(model, caches[name], scratch / f"{name}-warm-{i}"))
            _progress(model, name, "warm", warm[name][-1])
    for name, rows in warm.items():
        result[f"{name}_warm"] = {"runs": rows, **summarise(rows)}
    return result


TOOLS = {"ours": "pymc-hier run {m}", "exact": "pymc-hier run {m} --sampler exact",
         "plain": "plain script"}


def _progress(model, name, kind, row) -> None:
    what = TOOLS[name].format(m=model)
    status = (f"{row['wall_s']:.1f} s wall, {row['cpu_s']:.1f} s CPU" if row["ok"]
              else f"FAILED: {row.get('error')}")
    print(f"  {model}: {what}, {kind}: {status}", flush=True)


def _cell(s: dict | None) -> str:
    if not s or s.get("median") is None:
        return "n/a"
    if s["n"] == 1:
        return f"{s['median']:.2f}"
    return f"{s['median']:.2f} [{s['min']:.2f}–{s['max']:.2f}]"


def stage_table(result: dict, tool: str) -> str:
    """Markdown table of one tool's stages, cold and warm."""
    cold, warm = result.get(f"{tool}_cold"), result.get(f"{tool}_warm")
    names = list(dict.fromkeys([*cold["stages"], *warm["stages"]]))
    lines = ["| stage | cold s | warm s (median [min–max]) |", "|---|---|---|"]
    for n in names:
        lines.append(f"| {n} | {_cell(cold['stages'].get(n))} | "
                     f"{_cell(warm['stages'].get(n))} |")
    lines.append(f"| **total, wall (start to exit)** | **{_cell(cold['wall_s'])}** | "
                 f"**{_cell(warm['wall_s'])}** |")
    lines.append(f"| CPU, user + system | {_cell(cold['cpu_s'])} | {_cell(warm['cpu_s'])} |")
    return "\n".join(lines)


def verdicts(results: list[dict]) -> list[str]:
    """One line per target and model."""
    lines = []
    for r in results:
        for tool in ("ours", "exact"):
            if f"{tool}_warm" in r:
                lines += _tool_verdicts(r, tool)
    return lines


def _tool_verdicts(r: dict, tool: str) -> list[str]:
    m, lines = r["model"], []
    label = m if tool == "ours" else f"{m} --sampler exact"
    cold = r[f"{tool}_cold"]["wall_s"]["median"]
    warm = r[f"{tool}_warm"]["wall_s"]["median"]
    for what, value, target in (("cold", cold, TARGET_COLD), ("warm", warm, TARGET_WARM)):
        if value is None:
            lines.append(f"target {what} < {target:g} s: {label}: not measured (failed)")
            continue
        lines.append(f"target {what} < {target:g} s: {label}: {value:.1f} s -> "
                     f"{'met' if value < target else f'NOT met ({value / target:.1f}x over)'}")
    if "plain_warm" in r:
        for what in ("cold", "warm"):
            ours = r[f"{tool}_{what}"]["wall_s"]["median"]
            plain = r[f"plain_{what}"]["wall_s"]["median"]
            cpu_ours = r[f"{tool}_{what}"]["cpu_s"]["median"]
            cpu_plain = r[f"plain_{what}"]["cpu_s"]["median"]
            if ours and plain:
                ratio = plain / ours
                cpu = (f"; CPU seconds plain/ours {cpu_plain / cpu_ours:.2f}x"
                       if cpu_ours and cpu_plain else "")
                lines.append(f"target no slower than the plain script ({what}): {label}: "
                             f"wall plain/ours {ratio:.2f}x -> "
                             f"{'met' if ratio >= 1 else 'NOT met'}{cpu}")
    return lines


def main(argv=None) -> dict:
    """Run the benchmark, print the tables and verdicts; return the results."""
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="decay,schools", help="comma-separated (decay, schools)")
    p.add_argument("--repeats", type=int, default=3, help="warm runs per tool and model")
    p.add_argument("--cold-repeats", type=int, default=1, help="cold runs (fresh caches each)")
    p.add_argument("--no-plain", action="store_true", help="skip the plain script")
    p.add_argument("--exact", action="store_true",
                   help="also time `pymc-hier run MODEL --sampler exact` (independent draws "
                        "from the family's exact posterior instead of nutpie)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    p.add_argument("--json", metavar="PATH", help="save the results as JSON")
    args = p.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - {"decay", "schools"})
    if unknown:
        p.error(f"--models: unknown {unknown} (known: decay, schools)")
    if args.repeats < 1 or args.cold_repeats < 1:
        p.error("--repeats, --cold-repeats: at least 1")
    load_start = os.getloadavg()
    print(f"workflow benchmark: models {', '.join(models)}; {args.cold_repeats} cold and "
          f"{args.repeats} warm run(s) each; {os.cpu_count()} CPUs; load average "
          f"{load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} at the start",
          flush=True)
    scratch = Path(tempfile.mkdtemp(prefix="pymc_hier_workflow_"))
    started = time.perf_counter()
    results = []
    try:
        for model in models:
            results.append(bench_model(model, repeats=args.repeats,
                                       cold_repeats=args.cold_repeats,
                                       plain=not args.no_plain, scratch=scratch,
                                       exact=args.exact))
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    load_end = os.getloadavg()
    print(f"\nTotal {time.perf_counter() - started:.0f} s; load average (1 min) "
          f"{load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end "
          f"({os.cpu_count()} CPUs)\n")
    for r in results:
        print(f"### {r['model']}: `pymc-hier run {r['model']}`\n")
        print(stage_table(r, "ours") + "\n")
        if "exact_warm" in r:
            print(f"### {r['model']}: `pymc-hier run {r['model']} --sampler exact`\n")
            print(stage_table(r, "exact") + "\n")
        if "plain_warm" in r:
            print(f"### {r['model']}: plain PyMC + ArviZ script\n")
            print(stage_table(r, "plain") + "\n")
    lines = verdicts(results)
    for line in lines:
        print(line)
    print("\nNot measured: Matplotlib's font cache and Python's bytecode caches stay warm in "
          "the cold runs (both are built when the packages are installed or first "
          "imported); the operating system's file cache is warm after the first run.")
    payload = {"benchmark": "workflow", "python": sys.version.split()[0],
               "cpu_count": os.cpu_count(), "load_average_start": list(load_start),
               "load_average_end": list(load_end), "results": results, "verdicts": lines}
    if args.json:
        for r in results:
            for value in r.values():
                if isinstance(value, dict):
                    for run in value.get("runs", []):
                        run.pop("stdout", None)
        Path(args.json).write_text(json.dumps(payload, indent=1) + "\n")
        print(f"saved {args.json}")
    return payload


if __name__ == "__main__":
    main()
