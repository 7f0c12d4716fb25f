"""The ``pymc-hier`` command line.

``pymc-hier run decay|schools`` is the main job: build the model, fit it, export the PGM,
run posterior predictive checks and a default prior sweep, and write the report and the
saved DataTree into one folder. Subcommands run the parts: ``pgm``, ``fit``, ``ppc``,
``sweep`` and ``report`` (the last three from a saved DataTree).

Exit status: 0 on success, 2 on bad input (one-line message, no traceback), 1 on an
internal failure.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """Bad input from the user: reported in one line with exit status 2."""


def _log(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(f"pymc-hier: {message}", file=sys.stderr, flush=True)


# -- building blocks -----------------------------------------------------------------------
def find_family(name: str):
    """Return the model family called ``name`` on the command line (see :func:`get_family`)."""
    from pymc_hier.registry import get_family

    try:
        return get_family(name)
    except (TypeError, ValueError) as err:
        raise UserError(str(err).removeprefix("family: ")) from None


def load_data(family, path: str | None):
    """Return the data for ``family`` from a CSV file, or the family's example data."""
    if path is None:
        if family.example_data is None:
            raise UserError(f"--data: the {family.command!r} model has no built-in data; give "
                            "a CSV file")
        return family.example_data()
    p = Path(path)
    if not p.is_file():
        raise UserError(f"--data: no such file {path!r}")
    return family.data_from_csv(p)


def model_options(family, args) -> dict:
    """Return the family's options given on the command line (``--t0 known``, ``--option k=v``)."""
    options = {}
    for name in family.options:
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    for item in getattr(args, "option", None) or ():
        key, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"--option: expected KEY=VALUE, got {item!r}")
        if key not in family.options:
            raise UserError(f"--option: the {family.command!r} model has no option {key!r} "
                            f"(options: {', '.join(family.options) or 'none'})")
        options[key] = _option_value(value, family.options[key])
    return options


def _option_value(text: str, accepted: tuple):
    for value in accepted:
        if str(value) == text:
            return value
    try:
        return json.loads(text)
    except ValueError:
        return text


def build_model(family, data, args):
    """Build ``family``'s model on ``data`` with the options given on the command line."""
    priors = getattr(args, "priors", None)
    return family(data, priors=priors, **model_options(family, args))


def _prepare_out(out: str) -> Path:
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--out: cannot create folder {out!r} ({err.strerror})") from None
    probe = path / ".pymc-hier-write-test"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise UserError(f"--out: folder {out!r} is not writable ({err.strerror})") from None
    return path


def _fit(model, args):
    from pymc_hier import fit

    return fit(model, draws=args.draws, tune=args.tune, chains=args.chains,
               sampler=args.sampler, random_seed=args.seed, progressbar=not args.quiet)


def _model_from_saved(idata):
    """Rebuild the model a saved DataTree came from (needs its ``input_data`` group)."""
    from pymc_hier.registry import model_from_fit
    from pymc_hier.spec import get_spec

    try:
        model = model_from_fit(idata)
    except (TypeError, ValueError) as err:
        raise UserError(str(err)) from None
    return model, get_spec(model).data


def _sweep(idata, args, model, param=None, values=None):
    from pymc_hier.sensitivity.sweep import prior_sweep
    from pymc_hier.spec import get_spec

    spec = get_spec(model)
    family = spec.family
    if family.default_sweep is None and (param is None or values is None):
        raise UserError(f"the {family.command!r} model has no default sweep; give --param and "
                        "--values")
    default_param, default_values = family.default_sweep or (None, ())
    return prior_sweep(idata, model, param=param or default_param,
                       values=list(values or default_values),
                       fit_kwargs={"draws": args.draws, "tune": args.tune,
                                   "chains": args.chains, "random_seed": args.seed},
                       progressbar=not args.quiet)


# -- subcommands ---------------------------------------------------------------------------
def cmd_run(args) -> int:
    """Build, fit, export the PGM, check, sweep and report."""
    from pymc_hier import export_pgm, report, sample_predictive, save

    out = _prepare_out(args.out)
    family = find_family(args.model)
    data = load_data(family, args.data)
    _log(args, f"building the {family.command} model")
    model = build_model(family, data, args)
    _log(args, "exporting the PGM")
    export_pgm(model, out / "pgm")
    _log(args, f"sampling with {args.sampler} (seed {args.seed})")
    idata = _fit(model, args)
    _log(args, "posterior predictive checks")
    idata = sample_predictive(idata, model, random_seed=args.seed)
    sweep = None
    if not args.no_sweep:
        _log(args, "prior sweep")
        sweep = _sweep(idata, args, model)
        sweep.to_netcdf(out / "sweep.nc")
    save(idata, out / "idata.nc")
    path = report(idata, model, out / "report.html", sweep=sweep, command=args.command_line)
    _log(args, f"wrote {path}")
    return EXIT_OK


def cmd_pgm(args) -> int:
    """Export the model's PGM."""
    from pymc_hier import export_pgm

    out = _prepare_out(args.out)
    family = find_family(args.model)
    paths = export_pgm(build_model(family, load_data(family, args.data), args), out / "pgm")
    for p in paths.values():
        _log(args, f"wrote {p}")
    return EXIT_OK


def cmd_fit(args) -> int:
    """Fit and save the DataTree."""
    from pymc_hier import save

    out = _prepare_out(args.out)
    family = find_family(args.model)
    idata = _fit(build_model(family, load_data(family, args.data), args), args)
    path = save(idata, out / "idata.nc")
    _log(args, f"wrote {path}")
    return EXIT_OK


def _load_saved(path: str):
    from pymc_hier import load

    if not Path(path).exists():
        raise UserError(f"no such file {path!r}")
    return load(path)


def cmd_ppc(args) -> int:
    """Add predictive samples to a saved fit and print the PPC table."""
    from pymc_hier import ppc_table, sample_predictive, save

    idata = _load_saved(args.idata)
    model, _ = _model_from_saved(idata)
    idata = sample_predictive(idata, model, random_seed=args.seed)
    print(ppc_table(idata).to_dataframe().to_string())
    if args.out:
        save(idata, Path(args.out))
    return EXIT_OK


def cmd_sweep(args) -> int:
    """Run a prior sweep from a saved fit."""
    idata = _load_saved(args.idata)
    model, _ = _model_from_saved(idata)
    values = [float(v) for v in args.values.split(",")] if args.values else None
    result = _sweep(idata, args, model, param=args.param, values=values)
    print(result.to_dataframe().to_string())
    if args.out:
        result.to_netcdf(args.out)
    return EXIT_OK


def cmd_report(args) -> int:
    """Write the report of a saved fit."""
    import xarray as xr

    from pymc_hier import report

    idata = _load_saved(args.idata)
    model, _ = _model_from_saved(idata)
    sweep = xr.load_dataset(args.sweep) if args.sweep else None
    out = Path(args.out)
    _prepare_out(str(out.parent))
    path = report(idata, model, out, sweep=sweep, command=args.command_line)
    _log(args, f"wrote {path}")
    return EXIT_OK


# -- parser --------------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _sampling_options(p) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--sampler", default="nutpie",
                   choices=("nutpie", "pymc", "numpyro", "blackjax"),
                   help="NUTS implementation (default nutpie)")
    p.add_argument("--draws", type=_positive_int, default=1000, help="draws per chain")
    p.add_argument("--tune", type=_positive_int, default=1000, help="tuning steps per chain")
    p.add_argument("--chains", type=_positive_int, default=4, help="number of chains")


def _model_options(p) -> None:
    from pymc_hier.registry import families

    known = families()
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
            owners.setdefault(name, []).append(family.command)
    for name, values in choices.items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, choices=values or None,
                       help=f"option of {', '.join(owners[name])}")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="any option of the family (repeatable)")
    p.add_argument("--priors", help="a prior preset of the family (schools: default, bda)")


def make_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``pymc-hier``."""
    parser = argparse.ArgumentParser(prog="pymc-hier", description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                       help="no progress on stderr")

    p = sub.add_parser("run", parents=[quiet], help="the main job: fit, PGM, PPC, sweep and report")
    _model_options(p)
    _sampling_options(p)
    p.add_argument("--out", default="pymc_hier_out", help="output folder")
    p.add_argument("--no-sweep", action="store_true", help="skip the default prior sweep")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("pgm", parents=[quiet], help="export the model's PGM (DOT, SVG, PNG)")
    _model_options(p)
    p.add_argument("--out", default="pymc_hier_out", help="output folder")
    p.set_defaults(func=cmd_pgm)

    p = sub.add_parser("fit", parents=[quiet], help="fit and save the DataTree (idata.nc)")
    _model_options(p)
    _sampling_options(p)
    p.add_argument("--out", default="pymc_hier_out", help="output folder")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("ppc", parents=[quiet], help="posterior predictive checks of a saved fit")
    p.add_argument("idata", help="saved DataTree (.nc or .zarr)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="save the DataTree with predictive groups here")
    p.set_defaults(func=cmd_ppc)

    p = sub.add_parser("sweep", parents=[quiet], help="prior-sensitivity sweep from a saved fit")
    p.add_argument("idata", help="saved DataTree (.nc or .zarr)")
    p.add_argument("--param", help="swept hyperparameter (default per model)")
    p.add_argument("--values", help="comma-separated values")
    _sampling_options(p)
    p.add_argument("--out", help="write the sweep Dataset (netCDF) here")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("report", parents=[quiet], help="HTML report of a saved fit")
    p.add_argument("idata", help="saved DataTree (.nc or .zarr)")
    p.add_argument("--sweep", help="a sweep Dataset (netCDF) to include")
    p.add_argument("--out", default="report.html", help="HTML file to write")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``pymc-hier``; return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed a one-line usage error
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    args.command_line = shlex.join(["pymc-hier", *argv])
    try:
        return args.func(args)
    except (UserError, ValueError, FileNotFoundError) as err:
        print(f"pymc-hier: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("pymc-hier: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - last-resort reporting of internal failures
        import traceback

        traceback.print_exc()
        print(f"pymc-hier: internal error: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
