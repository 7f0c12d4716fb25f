"""``pymc-hier compare``, ``cv`` and ``predict``: the hierarchical-model workflow.

- ``compare MODEL``: complete, partial and no pooling fitted on the same data
  (:func:`pymc_hier.compare_pooling`); prints the LOO comparison and each unit's estimate
  per level, writes the Dataset (``--out``, netCDF) and the shrinkage plot (``--plot``);
- ``cv IDATA``: leave-one-out or leave-one-group-out cross-validation of a saved fit
  (:func:`pymc_hier.cross_validate`); prints each point's elpd, Pareto k and source;
- ``predict IDATA --new CSV``: predictions for the rows of a CSV (new schools with their
  ``sigma``; new widgets with ``t_measured`` and their manufacture day; fitted widgets at a
  later time) (:func:`pymc_hier.predict`); prints each predicted variable's summary and
  writes the DataTree with its ``predictions`` groups (``--out``).

The commands follow ``pymc-hier``'s promise (:mod:`pymc_hier.cli`): every input is checked
before any work (a bad one is a :class:`~pymc_hier.cli_inputs.UserError`, exit status 2),
outputs are written atomically and replace existing files only with ``--overwrite``.
:func:`add_commands` registers them on the parser of :mod:`pymc_hier.cli`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pymc_hier.cli_inputs import (
    UserError,
    check_new_file,
    check_seed,
    created_parents,
    find_family,
    load_data,
    load_saved,
    model_options,
    user_input,
    write_netcdf,
)

__all__ = ["add_commands", "cmd_compare", "cmd_cv", "cmd_predict"]

_QUANTILES = (0.05, 0.5, 0.95)


def _log(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(f"pymc-hier: {message}", file=sys.stderr, flush=True)


def _outputs(args, *, nc_suffixes=(".nc",)):
    """Check ``--out`` (and ``--plot``) before any work; return the paths (or None)."""
    out = (check_new_file(args.out, "--out", overwrite=args.overwrite, suffixes=nc_suffixes)
           if args.out else None)
    plot = getattr(args, "plot", None)
    plot = (check_new_file(plot, "--plot", overwrite=args.overwrite, suffixes=(".png",))
            if plot else None)
    return out, plot


def _comparison_table(cmp) -> str:
    cols = ["elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight", "sampler"]
    return cmp[cols].to_dataframe()[cols].to_string(float_format=lambda v: f"{v:.2f}")


def _estimates_table(cmp) -> str:
    effect, dim = cmp.attrs["effect"], cmp.attrs["group_dim"]
    means = cmp[effect].sel(stat="mean").to_pandas()  # pooling x unit
    table = means.T
    table.columns = [f"{effect} {level}" for level in table.columns]
    table.index.name = dim
    return table.to_string(float_format=_common_format(table.to_numpy()))


def _common_format(values, digits: int = 4):
    """One number format for a table of one quantity: the same decimals in every cell.

    ``digits`` significant digits for the largest magnitude (fixed notation), or the same
    in scientific notation when it is below 1e-3 or from 1e6 on.
    """
    values = np.asarray(values, dtype=float)
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    if largest and not 1e-3 <= largest < 1e6:
        return lambda v: f"{v:.{digits - 1}e}"
    decimals = max(digits - 1 - (int(np.floor(np.log10(largest))) if largest else 0), 0)
    return lambda v: f"{v:.{decimals}f}"


def cmd_compare(args) -> int:
    """Compare complete, partial and no pooling on one data set."""
    from pymc_hier.workflow.pooling import compare_pooling

    family = find_family(args.model)
    if family.pooling is None:
        raise UserError(f"model: the {family.command!r} family has no levels of pooling")
    data = load_data(family, args.data)
    options = model_options(family, args)
    for name in family.pooling.levels.get("partial", {}):
        options.pop(name, None)  # each level sets its own
    check_seed(args.seed)
    out, plot = _outputs(args)
    _log(args, f"fitting {', '.join(family.pooling.names)} pooling (seed {args.seed})")
    with user_input():
        cmp = compare_pooling(data, family, random_seed=args.seed, sampler=args.sampler,
                              priors=args.priors, options=options, draws=args.draws,
                              tune=args.tune, chains=args.chains,
                              cv_kwargs={"refit": not args.no_refit})
    print(_comparison_table(cmp))
    print()
    print(_estimates_table(cmp))
    if out is not None:
        write_netcdf(cmp, out, overwrite=args.overwrite)
        _log(args, f"wrote {out}")
    if plot is not None:
        _save_shrinkage(cmp, plot)
        _log(args, f"wrote {plot}")
    return 0


def _save_shrinkage(cmp, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pymc_hier.plots.hierarchy import plot_shrinkage

    fig = plot_shrinkage(cmp, effect=cmp.attrs["effect"])
    with created_parents(path):
        fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def _cv_table(result) -> str:
    import pandas as pd

    dim = result["elpd"].dims[0]
    table = pd.DataFrame({name: result[name].to_numpy()
                          for name in ("elpd", "elpd_psis", "pareto_k", "source")},
                         index=pd.Index(result[dim].to_numpy(), name=dim))
    return table.to_string(float_format=lambda v: f"{v:.3f}")


def cmd_cv(args) -> int:
    """Cross-validate a saved fit: LOO or leave-one-group-out."""
    from pymc_hier.workflow.cv import cross_validate

    idata, model = load_saved(args.idata)
    check_seed(args.seed)
    if args.method == "logo" and args.by is None:
        raise UserError("--by: leave-one-group-out (--method logo) needs the group dim")
    if args.by is not None and args.by not in model.coords:
        raise UserError(f"--by: the model has no dim {args.by!r} (dims: "
                        f"{', '.join(map(str, model.coords)) or 'none'})")
    out, _ = _outputs(args)
    with user_input():
        result = cross_validate(idata, model, by=args.by, method=args.method,
                                refit=not args.no_refit, random_seed=args.seed)
    print(_cv_table(result))
    print(f"\nelpd_{result.attrs['method']} = {result.attrs['elpd']:.2f} "
          f"(se {result.attrs['se']:.2f}), p = {result.attrs['p']:.2f}, "
          f"{result.attrs['n_refits']} refit(s)")
    if out is not None:
        write_netcdf(result, out, overwrite=args.overwrite)
        _log(args, f"wrote {out}")
    return 0


def _read_new_data(path: str):
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise UserError(f"--new: no such file {path!r}")
    try:
        df = pd.read_csv(p)
    except (ValueError, OSError) as err:
        raise UserError(f"--new: {path}: {err}") from None
    if df.empty:
        raise UserError(f"--new: {path}: no rows")
    return df


def _prediction_table(pred) -> str:
    import pandas as pd

    rows = []
    for name, var in pred.data_vars.items():
        unit_dims = [d for d in var.dims if d not in ("chain", "draw")]
        flat = var.stack(sample=("chain", "draw")).transpose(*unit_dims, "sample")
        values = flat.values.reshape(-1, flat.sizes["sample"])
        labels = flat[unit_dims[0]].values if unit_dims else [""]
        qs = np.quantile(values, _QUANTILES, axis=1)
        for k, label in enumerate(labels):
            rows.append({"unit": label, "variable": name, "mean": values[k].mean(),
                         "sd": values[k].std(), **{f"q{int(q * 100)}": qs[j, k]
                                                   for j, q in enumerate(_QUANTILES)}})
    table = pd.DataFrame(rows)
    order = {label: k for k, label in enumerate(dict.fromkeys(table["unit"]))}
    table = table.sort_values("unit", key=lambda col: col.map(order), kind="stable")
    return table.set_index(["unit", "variable"]).to_string(
        float_format=lambda v: f"{v:.4g}")


def cmd_predict(args) -> int:
    """Predict new (or later) units from a saved fit."""
    from pymc_hier import save
    from pymc_hier.workflow.predict import predict

    idata, model = load_saved(args.idata)
    check_seed(args.seed)
    new = _read_new_data(args.new)
    out, _ = _outputs(args, nc_suffixes=(".nc", ".zarr"))
    with user_input():
        tree = predict(idata, model, new, random_seed=args.seed)
    print(_prediction_table(tree["predictions"].to_dataset()))
    if out is not None:
        with created_parents(out):
            save(tree, out, overwrite=args.overwrite)
        _log(args, f"wrote {out}")
    return 0


def add_commands(sub, *, parents: list, model_options_of: Callable,
                 sampling_options: Callable, overwrite: Callable, seed_type: Callable) -> None:
    """Register ``compare``, ``cv`` and ``predict`` on the subparsers ``sub``.

    The option helpers come from :mod:`pymc_hier.cli` (which imports this module), so that
    every command spells its options alike.
    """
    p = sub.add_parser("compare", parents=parents,
                       help="complete, partial and no pooling compared (LOO, estimates)")
    model_options_of(p)
    sampling_options(p)
    p.set_defaults(sampler="auto")
    for action in p._actions:  # noqa: SLF001 - "auto" joins the sampler's choices
        if action.dest == "sampler":
            action.choices = ("auto", *action.choices)
            action.help = "auto (default): exact draws where a level has them, else nutpie"
    p.add_argument("--no-refit", action="store_true",
                   help="keep PSIS values where Pareto k is high (no refits)")
    p.add_argument("--out", help="write the comparison Dataset (netCDF, .nc) here")
    p.add_argument("--plot", help="write the shrinkage plot (PNG) here")
    overwrite(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("cv", parents=parents,
                       help="leave-one-out or leave-one-group-out CV of a saved fit")
    p.add_argument("idata", help="saved DataTree (.nc or .zarr)")
    p.add_argument("--method", choices=("loo", "logo"), default="loo",
                   help="leave one observation (loo) or one group (logo) out")
    p.add_argument("--by", help="group dim (sum per group, or leave groups out)")
    p.add_argument("--no-refit", action="store_true",
                   help="keep PSIS values where Pareto k is high (no refits)")
    p.add_argument("--seed", type=seed_type, default=0, help="seed of the refits (default 0)")
    p.add_argument("--out", help="write the per-point Dataset (netCDF, .nc) here")
    overwrite(p)
    p.set_defaults(func=cmd_cv)

    p = sub.add_parser("predict", parents=parents,
                       help="predictions for new units or later times from a saved fit")
    p.add_argument("idata", help="saved DataTree (.nc or .zarr)")
    p.add_argument("--new", required=True,
                   help="CSV of what to predict (schools: school, sigma; widgets: widget, "
                        "t_measured and day_start, day_end or t0 for new ones, sigma)")
    p.add_argument("--seed", type=seed_type, default=0, help="random seed, >= 0 (default 0)")
    p.add_argument("--out", help="save the DataTree with its predictions groups here")
    overwrite(p)
    p.set_defaults(func=cmd_predict)
