"""The ``pymc-hier`` command line.

``pymc-hier run decay|schools`` is the main job: build the model, fit it, export the PGM,
run posterior predictive checks and a default prior sweep, and write the report and the
saved DataTree into one folder. Subcommands run the parts: ``pgm``, ``fit``, ``ppc``,
``sweep`` and ``report`` (the last three from a saved DataTree); ``compare``, ``cv`` and
``predict`` run the hierarchical-model workflow (:mod:`pymc_hier.cli_workflow`).

Exit status: 0 on success; 2 on bad input (one-line message, no traceback, nothing
written); 1 on an internal failure. Every input is checked before any sampling; outputs
are written atomically (``--overwrite`` replaces existing ones).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import warnings
from contextlib import contextmanager, redirect_stdout
from functools import partial
from pathlib import Path

from pymc_hier.cli_inputs import (
    StagedFolder,
    UserError,
    check_new_file,
    check_run_folder,
    check_seed,
    check_sweep_values,
    created_parents,
    find_family,
    load_data,
    load_saved,
    load_sweep,
    model_options,
    one_line,
    parse_values,
    user_input,
    write_netcdf,
)
from pymc_hier.cli_workflow import add_commands

__all__ = ["EXIT_INTERNAL", "EXIT_OK", "EXIT_USAGE", "UserError", "build_model",
           "find_family", "load_data", "main", "make_parser", "model_options"]

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
#: ``run``'s second process runs at this lower priority (``os.nice``) beside MCMC.
_SIDE_NICE = 10


def _log(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(f"pymc-hier: {message}", file=sys.stderr, flush=True)


# -- building blocks -----------------------------------------------------------------------
def build_model(family, data, args, *, options: dict | None = None):
    """Build ``family``'s model on ``data`` with the options given on the command line."""
    options = model_options(family, args) if options is None else options
    with user_input(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FutureWarning)
        model = family(data, priors=getattr(args, "priors", None), **options)
    for w in caught:   # a deprecated option: said as the CLI says things, even with --quiet
        if issubclass(w.category, FutureWarning):
            print(f"pymc-hier: warning: {w.message}", file=sys.stderr, flush=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return model


def _check_sampler(sampler: str, family) -> None:
    from pymc_hier.fitting import require_jax
    from pymc_hier.records import SAMPLER_PACKAGES

    if sampler in SAMPLER_PACKAGES:
        try:
            require_jax(sampler)
        except ImportError as err:
            raise UserError(f"--sampler: {one_line(err)}") from None
    if sampler == "exact" and (family is None or family.exact_posterior is None):
        raise UserError(f"--sampler: the {getattr(family, 'command', 'custom')!r} model has "
                        "no exact posterior")


def _no_exact_posterior(model) -> str | None:
    """Why ``model`` has no exact posterior (its family has none, or not for these options).

    None when it has one.
    """
    from pymc_hier.spec import get_spec

    spec = get_spec(model)
    if spec is None or spec.family.exact_posterior is None:
        name = "custom" if spec is None else spec.family.command
        return f"the {name!r} model has no exact posterior"
    try:
        spec.family.exact_posterior(model, spec)
    except (ValueError, TypeError) as err:
        return one_line(err)
    return None


def _sweep_sampler(model, args) -> tuple[str, str]:
    """Return the sweep's sampler and the option that chose it.

    ``run --sweep-sampler auto`` (the default) draws the model's exact posterior where it
    has one (no second compile, independent draws) and uses ``--sampler`` otherwise; the
    ``sweep`` subcommand samples with ``--sampler``.
    """
    choice = getattr(args, "sweep_sampler", None)
    if choice is None:
        return args.sampler, "--sampler"
    if choice in ("auto", "exact"):
        reason = _no_exact_posterior(model)
        if reason is None:
            return "exact", "--sweep-sampler"
        if choice == "exact":
            raise UserError(f"--sweep-sampler: {reason}")
        return args.sampler, "--sampler"
    return choice, "--sweep-sampler"


def _sweep_request(model, args, *, param=None, values=None, run: bool = False):
    """Return the swept ``(param, values)``, given or the family's default; check the sampler."""
    from pymc_hier.sensitivity.sweep import SAMPLERS
    from pymc_hier.spec import get_spec

    spec = get_spec(model)
    sampler, option = _sweep_sampler(model, args)
    if sampler not in SAMPLERS:
        hint = " (or pass --no-sweep)" if run else ""
        raise UserError(f"{option}: prior sweeps sample with {' or '.join(SAMPLERS)}, not "
                        f"{sampler!r}{hint}")
    default_param, default_values = (spec and spec.family.default_sweep) or (None, None)
    if param is not None and values is None and param != default_param:
        raise UserError(f"--values: give the values of --param {param}")
    param, values = param or default_param, values if values is not None else default_values
    if param is None or values is None:
        name = spec.family.command if spec is not None else "custom"
        raise UserError(f"--param, --values: the {name!r} model has no default sweep; give "
                        "both")
    return param, list(values)


def _fit(model, args):
    from pymc_hier import fit

    # PyMC draws its samplers' progress bars on stdout; the command's stdout is for results
    # (run's summary), so they go to stderr with the rest of the progress
    with redirect_stdout(sys.stderr):
        return fit(model, draws=args.draws, tune=args.tune, chains=args.chains,
                   sampler=args.sampler, random_seed=args.seed, progressbar=not args.quiet)


def _sweep(idata, args, model, param, values, *, check_values=False,
           progressbar: bool = True):
    """Run the prior sweep; its settings checked already unless ``check_values`` is True.

    ``check_values`` may also be what :func:`check_sweep_values` returned (models the
    sweep reuses).
    """
    from pymc_hier.sensitivity.sweep import prior_sweep

    sampler, _ = _sweep_sampler(model, args)
    # exact draws refit every setting: the fit is no base to reweight (and an exact fit
    # lacks the sampler's coordinates, theta_scaled, that reweighting would need)
    first = (model, None) if sampler == "exact" else (idata, model)
    return prior_sweep(*first, param=param, values=values,
                       fit_kwargs={"draws": args.draws, "tune": args.tune,
                                   "chains": args.chains, "random_seed": args.seed,
                                   "sampler": sampler},
                       progressbar=progressbar and not args.quiet, check_values=check_values)


def _sweep_table(result) -> str:
    """One row per setting: how it was answered and the posterior means of scalars."""
    import pandas as pd

    rows = {"method": result["method"].values, "status": result["status"].values}
    for name, var in result.data_vars.items():
        if var.dims == ("setting", "stat"):
            rows[f"mean({name})"] = var.sel(stat="mean").values
    problems = [(e or n).splitlines()[0][:60] if (e or n) else ""
                for e, n in zip(result["error"].values, result["note"].values, strict=True)]
    rows["note"] = problems
    return pd.DataFrame(rows, index=pd.Index(result["setting"].values, name="setting")
                        ).to_string()


# -- subcommands ---------------------------------------------------------------------------
def _family_inputs(args, *, sampling: bool):
    """Check the family, data, options, priors (and seed and sampler); build the model.

    arviz-base's unloaded lazy ``jax`` is dropped first: building a model can call SciPy
    functions (``logsumexp``) that ask whether their input is a JAX array, which imports
    JAX through it (0.3 to 0.5 s; :func:`_forget_unloaded_jax`).
    """
    _forget_unloaded_jax(getattr(args, "sampler", None))
    family = find_family(args.model)
    data = load_data(family, args.data)
    options = model_options(family, args)
    if sampling:
        check_seed(args.seed)
        _check_sampler(args.sampler, family)
    model = build_model(family, data, args, options=options)
    if sampling and args.sampler == "exact" and (reason := _no_exact_posterior(model)):
        raise UserError(f"--sampler: {reason}")
    return family, data, options, model


def _forget_unloaded_jax(sampler: str | None) -> None:
    """Drop the not-yet-loaded lazy ``jax`` module that arviz-base puts in ``sys.modules``.

    Matplotlib (and SciPy's array-API helpers) ask arrays whether they are JAX arrays
    through ``sys.modules["jax"]``, which makes the lazy module import JAX: 2 s in the
    first plot of a run that uses no JAX. Dropped only when the sampler does not use JAX
    (``None``: no sampler); an ``import jax`` later still imports it.
    """
    module = sys.modules.get("jax")
    if sampler not in ("numpyro", "blackjax") and type(module).__name__ == "_LazyModule":
        del sys.modules["jax"]


def _resolve_array_modules() -> None:
    """Let xarray look up its array libraries now, once for this process and its forks.

    xarray checks every array it wraps against the array types of Dask and the like,
    importing each installed one on the first check (Dask's array module: 0.3 s on two
    cores). Done before ``run`` forks, its forked steps inherit the result instead of
    importing them a second time; the parent would pay it at its first result anyway.
    """
    import numpy as np
    import xarray as xr

    xr.DataArray(np.zeros(1))


def cmd_run(args) -> int:
    """Build, fit, export the PGM, check, sweep and report; time each stage."""
    from pymc_hier.timings import Stopwatch

    watch = Stopwatch()
    with watch("inputs and model"):
        family, data, options, model = _family_inputs(args, sampling=True)
        request, exact_sweep = None, False
        if not args.no_sweep:
            request = _sweep_request(model, args, run=True)
            sweep_sampler = _sweep_sampler(model, args)[0]
            exact_sweep = sweep_sampler == "exact"
            if not exact_sweep:  # checked now, swept (from the fit) after the fit
                check_sweep_values(model, *request, sampler=sweep_sampler)
        out = check_run_folder(args.out, overwrite=args.overwrite)
        from pymc_hier.background import can_fork, start

        parallel = (os.cpu_count() or 1) > 1 and can_fork()
        if parallel:
            _resolve_array_modules()
    # what needs no fit (the prior draws; the exact sweep) runs in a forked process
    # alongside the PGM, the compile and the draws, on the second core (here, before
    # them, without one)
    from pymc_hier import sample_prior

    # the prior groups sample_predictive would draw (the same seed and number of draws)
    steps = {"prior draws": partial(sample_prior, model, draws=args.chains * args.draws,
                                    random_seed=args.seed)}
    # announced here: they may run in the second process
    _log(args, "prior predictive draws" + (" (in a second process)" if parallel else ""))
    if exact_sweep:
        _log(args, "prior sweep (exact posterior" + (", in a second process)" if parallel
                                                       else ")"))
        # its settings are checked first, so that a bad one stops the run before
        # anything else: in their own step there (the models that check builds are
        # reused by the sweep, in the same process), by the sweep itself here (the same
        # draws either way)
        if parallel:
            checked = []

            def check_settings():
                checked.append(check_sweep_values(model, *request, sampler="exact"))

            steps = {"sweep settings": check_settings, **steps,
                     "prior sweep": lambda: _sweep(None, args, model, *request,
                                                   check_values=checked[0],
                                                   progressbar=False)}
        else:
            steps = {"prior sweep": partial(_sweep, None, args, model, *request,
                                            check_values=True), **steps}
    if parallel and (warm := _warm_up(model, args)) is not None:
        # first, while this process compiles the model: the fit then loads the kernels
        first = ["sweep settings"] if "sweep settings" in steps else []
        steps = {**{k: steps[k] for k in first}, "warm-up": warm,
                 **{k: v for k, v in steps.items() if k not in first}}
    sweep = None
    # below this process's priority when this one compiles a model for MCMC (waited for
    # first; their results only after sampling); the exact sampler compiles little, and
    # its draws run on threads that a niced process would wait behind
    nice = _SIDE_NICE if args.sampler != "exact" else 0
    with StagedFolder(out) as folder, start(steps, parallel=parallel, nice=nice) as side:
        if not side.parallel:  # run already, here
            watch.add_all(side.timings)
        with watch("pgm"):
            from pymc_hier import export_pgm

            _log(args, "exporting the PGM")
            pgm = export_pgm(model, folder / "pgm")
        if exact_sweep:  # a setting the sweep refuses stops the run before sampling
            with watch("waiting for the sweep"), user_input("--values"):
                side.result("sweep settings" if side.parallel else "prior sweep")
        with watch("sampling"):
            _log(args, f"sampling with {args.sampler} (seed {args.seed})")
            idata = _fit(model, args)
        with watch("predictive checks"):
            from pymc_hier import sample_predictive

            _log(args, "posterior predictive checks")
            # the posterior's groups first, while the prior draws may still be running
            # (exact sampling takes a fraction of a second); the same tree as one call
            idata = sample_predictive(idata, model, prior=False, random_seed=args.seed)
        with watch("waiting for the prior draws"):
            prior = side.result("prior draws")
        with watch("predictive checks"):
            idata = sample_predictive(idata, model, prior=prior, posterior=False,
                                      random_seed=args.seed)
        if exact_sweep:
            with watch("waiting for the sweep"), user_input("--values"):
                sweep = side.result("prior sweep")
        if side.parallel:  # every step has reported
            watch.add_all(side.timings, parallel=True)
            if "warm-up" in steps and (failed := side.result("warm-up")):
                _log(args, f"note: compiling ahead failed ({failed}); the fit compiled it")
        if request is not None and not exact_sweep:
            with watch("prior sweep"):
                _log(args, "prior sweep")
                sweep = _sweep(idata, args, model, *request)
        # the files are written (and read back to be checked) by a forked process while
        # the report is built here
        with start({"writing": partial(_write_results, folder, idata, sweep)},
                   parallel=parallel) as writer:
            if not writer.parallel:
                watch.add_all(writer.timings)
            with watch("report"):
                from pymc_hier import report
                from pymc_hier.reports.build import summary_text

                report(idata, model, folder / "report.html", sweep=sweep,
                       command=args.command_line, pgm=pgm.get("svg"))
                summary = summary_text(idata, model)
            with watch("waiting for the files"):
                writer.result("writing")
        if writer.parallel:
            watch.add_all(writer.timings, parallel=True)
        watch.write(folder / "timings.json")
    _log(args, f"wrote {out}")
    # the estimates on stdout, --quiet or not: what a user reads first
    print(f"{summary}\nReport: {out / 'report.html'}", flush=True)
    if args.timings:
        print(watch.table(), file=sys.stderr, flush=True)
    return EXIT_OK


def _warm_up(model, args):
    """Return the step that runs the family's ``warm_up`` (the fit's ``postprocess``), or None.

    None for the exact sampler (no ``postprocess``) and for a model whose family has no
    ``warm_up``. The step returns None, or the error it met as text: it only gives the fit
    a head start, so a failure stops none of the steps after it (the fit compiles the
    kernels itself).
    """
    from pymc_hier.spec import get_spec

    spec = get_spec(model)
    hook = spec.family.warm_up if spec is not None else None
    if hook is None or args.sampler == "exact":
        return None

    def step():
        try:
            hook(model, spec)
        except Exception as err:  # noqa: BLE001 - told by run, which goes on
            return f"{type(err).__name__}: {err}"
        return None

    return step


def _write_results(folder: Path, idata, sweep) -> None:
    """Write ``sweep.nc`` (when there is a sweep) and ``idata.nc`` into ``folder``."""
    from pymc_hier import save

    if sweep is not None:
        write_netcdf(sweep, folder / "sweep.nc")
    save(idata, folder / "idata.nc")


def cmd_pgm(args) -> int:
    """Export the model's PGM."""
    from pymc_hier import export_pgm

    _, _, _, model = _family_inputs(args, sampling=False)
    out = Path(args.out)
    for ext in ("dot", "svg", "png"):
        check_new_file(out / f"pgm.{ext}", "--out", overwrite=args.overwrite)
    with created_parents(out / "pgm"):
        paths = export_pgm(model, out / "pgm")
    for p in paths.values():
        _log(args, f"wrote {p}")
    return EXIT_OK


def cmd_fit(args) -> int:
    """Fit and save the DataTree."""
    from pymc_hier import save

    _, _, _, model = _family_inputs(args, sampling=True)
    target = check_new_file(Path(args.out) / "idata.nc", "--out", overwrite=args.overwrite)
    idata = _fit(model, args)
    with created_parents(target):
        save(idata, target, overwrite=args.overwrite)
    _log(args, f"wrote {target}")
    return EXIT_OK


def cmd_ppc(args) -> int:
    """Add predictive samples to a saved fit and print the PPC table."""
    from pymc_hier import ppc_table, sample_predictive, save

    idata, model = load_saved(args.idata)
    check_seed(args.seed)
    target = (check_new_file(args.out, "--out", overwrite=args.overwrite,
                             suffixes=(".nc", ".zarr")) if args.out else None)
    idata = sample_predictive(idata, model, random_seed=args.seed)
    print(ppc_table(idata).to_dataframe().to_string())
    if target is not None:
        with created_parents(target):
            save(idata, target, overwrite=args.overwrite)
        _log(args, f"wrote {target}")
    return EXIT_OK


def cmd_sweep(args) -> int:
    """Run a prior sweep from a saved fit."""
    from pymc_hier.spec import get_spec

    idata, model = load_saved(args.idata)
    spec = get_spec(model)
    check_seed(args.seed)
    _check_sampler(args.sampler, spec.family)
    request = _sweep_request(model, args, param=args.param,
                             values=parse_values(args.values))
    check_sweep_values(model, *request, sampler=_sweep_sampler(model, args)[0])
    target = (check_new_file(args.out, "--out", overwrite=args.overwrite, suffixes=(".nc",))
              if args.out else None)
    result = _sweep(idata, args, model, *request)
    print(_sweep_table(result))
    if target is not None:
        write_netcdf(result, target, overwrite=args.overwrite)
        _log(args, f"wrote {target}")
    return EXIT_OK


def cmd_report(args) -> int:
    """Write the report of a saved fit."""
    from pymc_hier import report

    idata, model = load_saved(args.idata)
    sweep = load_sweep(args.sweep) if args.sweep else None
    target = check_new_file(args.out, "--out", overwrite=args.overwrite)
    with created_parents(target):
        path = report(idata, model, target, sweep=sweep, command=args.command_line)
    _log(args, f"wrote {path}")
    return EXIT_OK


# -- parser --------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit status 2)."""

    def error(self, message):
        """Print ``message`` in one line and exit with status 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _sampling_options(p, *, exact: bool = True) -> None:
    p.add_argument("--seed", type=_seed, default=0, help="random seed, >= 0 (default 0)")
    p.add_argument("--sampler", default="nutpie",
                   choices=("nutpie", "pymc", "numpyro", "blackjax", "exact"),
                   help="NUTS implementation, or exact draws where the model has an exact "
                        "posterior (default nutpie; sweeps: nutpie or exact)")
    p.add_argument("--draws", type=_positive_int, default=1000, help="draws per chain")
    p.add_argument("--tune", type=_positive_int, default=1000, help="tuning steps per chain")
    p.add_argument("--chains", type=_positive_int, default=4, help="number of chains")


def _overwrite(p) -> None:
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing outputs (otherwise an error, before any work)")


def _model_options(p, *, families: bool = True) -> None:
    """Add the model and its options; ``families=False`` leaves out each family's flags.

    Listing the families imports them (PyMC and all, seconds): left out of subcommands
    that are not being run, so that ``pymc-hier --help`` answers at once.
    """
    if not families:
        p.add_argument("model", help="the model family, or module:attribute naming a "
                                     "ModelFamily")
        p.add_argument("--data", help="CSV file (default: the family's example data)")
    else:
        from pymc_hier.registry import families as known_families

        known = known_families()
        p.add_argument("model", help="the model family: " + ", ".join(
            f"{f.command} ({f.summary})" if f.summary else f.command for f in known)
            + "; or module:attribute naming a ModelFamily")
        p.add_argument("--data", help="CSV file (default: the family's example data)")
        choices: dict[str, list] = {}
        owners: dict[str, list] = {}
        for family in known:
            for name, accepted in family.options.items():
                choices.setdefault(name, [])
                choices[name] += [str(v) for v in accepted if str(v) not in choices[name]]
                old = ", ".join(map(str, family.deprecated.get(name, ())))
                owners.setdefault(name, []).append(
                    f"{family.command} ({old}: deprecated)" if old else family.command)
        for name, values in choices.items():
            p.add_argument(f"--{name.replace('_', '-')}", dest=name, choices=values or None,
                           help=f"option of {', '.join(owners[name])}")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="any option of the family (repeatable)")
    p.add_argument("--priors", help="a prior preset of the family (schools: default, bda)")


def make_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the argument parser of ``pymc-hier``.

    With ``command`` (the subcommand about to run), only that subcommand lists the model
    families' options: the others are not imported.
    """
    parser = _Parser(prog="pymc-hier", description=__doc__.split("\n\n")[1],
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                       help="no progress on stderr")

    p = sub.add_parser("run", parents=[quiet], help="the main job: fit, PGM, PPC, sweep and report")
    _model_options(p, families=command in (None, "run"))
    _sampling_options(p)
    p.add_argument("--out", default="pymc_hier_out",
                   help="output folder, new or empty (an earlier run's with --overwrite)")
    _overwrite(p)
    p.add_argument("--no-sweep", action="store_true", help="skip the default prior sweep")
    p.add_argument("--sweep-sampler", choices=("auto", "nutpie", "exact"), default="auto",
                   help="sampler of the sweep (default auto: the exact posterior where the "
                        "model has one, else --sampler)")
    p.add_argument("--timings", action="store_true",
                   help="print the time of each stage (always written to timings.json)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("pgm", parents=[quiet], help="export the model's PGM (DOT, SVG, PNG)")
    _model_options(p, families=command in (None, "pgm"))
    p.add_argument("--out", default="pymc_hier_out", help="output folder")
    _overwrite(p)
    p.set_defaults(func=cmd_pgm)

    p = sub.add_parser("fit", parents=[quiet], help="fit and save the DataTree (idata.nc)")
    _model_options(p, families=command in (None, "fit"))
    _sampling_options(p)
    p.add_argument("--out", default="pymc_hier_out", help="output folder")
    _overwrite(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("ppc", parents=[quiet], help="posterior predictive checks of a saved fit")
    p.add_argument("idata", help="saved DataTree (.nc or .zarr)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed, >= 0 (default 0)")
    p.add_argument("--out", help="save the DataTree with predictive groups here")
    _overwrite(p)
    p.set_defaults(func=cmd_ppc)

    p = sub.add_parser("sweep", parents=[quiet], help="prior-sensitivity sweep from a saved fit")
    p.add_argument("idata", help="saved DataTree (.nc or .zarr)")
    p.add_argument("--param", help="swept hyperparameter (default per model)")
    p.add_argument("--values", help="comma-separated values (default per model)")
    _sampling_options(p)
    p.add_argument("--out", help="write the sweep Dataset (netCDF, .nc) here")
    _overwrite(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("report", parents=[quiet], help="HTML report of a saved fit")
    p.add_argument("idata", help="saved DataTree (.nc or .zarr)")
    p.add_argument("--sweep", help="a sweep Dataset (netCDF) to include")
    p.add_argument("--out", default="report.html", help="HTML file to write")
    _overwrite(p)
    p.set_defaults(func=cmd_report)

    add_commands(sub, parents=[quiet], model_options_of=_model_options,
                 sampling_options=_sampling_options, overwrite=_overwrite, seed_type=_seed)
    return parser


def _raised_here(err: BaseException) -> bool:
    """Whether ``err`` was raised by pymc_hier's own code (its checks of the input)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and str(tb.tb_frame.f_globals.get("__name__", "")).startswith(
        "pymc_hier")


def main(argv: list[str] | None = None) -> int:
    """Run ``pymc-hier``; return the exit status.

    0: success. 2: bad input (a :class:`UserError` found by the checks made before any
    work, an ``OSError`` reading or writing a file, or a ``ValueError``/``TypeError``
    raised by pymc_hier's own checks): one line on stderr, no traceback. 1: anything
    else, an internal failure, with its traceback.

    Without ``argv`` (the ``pymc-hier`` program: arguments from ``sys.argv``) the
    interpreter's final garbage collection is skipped, as the process is about to exit.
    """
    program = argv is None
    argv = sys.argv[1:] if program else list(argv)
    parser = make_parser(next((a for a in argv if not a.startswith("-")), ""))
    try:
        return _main(parser, argv)
    finally:
        if program:
            _leaving()


def _leaving() -> None:
    """Skip the interpreter's final garbage collection (2 s over PyTensor's graphs).

    Called when ``pymc-hier`` runs as a program and is about to exit: every output is
    written and closed, and the operating system frees the memory at once.
    """
    import gc

    gc.disable()
    gc.freeze()


def _main(parser, argv: list[str]) -> int:
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed a one-line usage error
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    args.command_line = shlex.join(["pymc-hier", *argv])
    try:
        with _library_messages(getattr(args, "quiet", False)):
            return args.func(args)
    except KeyboardInterrupt:
        print("pymc-hier: interrupted", file=sys.stderr)
        return 130
    except (UserError, OSError) as err:
        print(f"pymc-hier: error: {one_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError) as err:
        if not _raised_here(err):
            return _internal(err)
        print(f"pymc-hier: error: {one_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:  # noqa: BLE001 - last-resort reporting of internal failures
        return _internal(err)


@contextmanager
def _library_messages(quiet: bool):
    """PyMC's and pymc_hier's progress messages for the command, or (``--quiet``) neither.

    PyMC's ("Sampling: [y]") are on unless ``quiet``, its warnings always. pymc_hier's
    library modules log theirs (e.g. that nutpie compiles a model, which takes long) at
    INFO level: printed on stderr like the command's own progress unless ``quiet``. The
    loggers are as they were afterwards (``main`` may be called from Python).
    """
    import logging

    logger = logging.getLogger("pymc")
    level = logger.level
    ours = logging.getLogger("pymc_hier")
    saved = ours.level, ours.propagate
    handler = None
    if quiet:
        logger.setLevel(max(level, logging.WARNING))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("pymc-hier: %(message)s"))
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
        ours.propagate = False   # shown here, not again by the caller's handlers
    try:
        yield
    finally:
        logger.setLevel(level)
        if handler is not None:
            ours.removeHandler(handler)
            ours.setLevel(saved[0])
            ours.propagate = saved[1]


def _internal(err: BaseException) -> int:
    import traceback

    traceback.print_exception(err)
    print(f"pymc-hier: internal error: {type(err).__name__}: {one_line(err)}", file=sys.stderr)
    return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
