"""Self-contained, reproducible HTML reports: :func:`report`."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import arviz_stats as azs
import pandas as pd
import pymc as pm
import xarray as xr

from pymc_hier.reports import html as H
from pymc_hier.spec import get_spec

_TIMESTAMP_ENV = "PYMC_HIER_REPORT_TIMESTAMP"


def report(idata: xr.DataTree, model: pm.Model, path: str | os.PathLike, *,
           title: str | None = None, sweep: xr.Dataset | None = None,
           command: str | None = None, timestamp: str | None = None) -> Path:
    """Write one self-contained HTML report of a fit.

    The page holds the model's equations, its PGM (inline SVG), a data summary, the priors,
    diagnostics with clear flags, the posterior summary, posterior predictive checks (table
    and plots, when ``idata`` has a ``posterior_predictive`` group), the prior-sensitivity
    results (when ``sweep`` is given) and the provenance (package versions, sampler, seed,
    data and configuration hashes, command line). It loads no external resource and needs
    no JavaScript.

    Reports are reproducible: the same inputs give byte-identical files apart from the one
    line holding the timestamp (``<p id="timestamp">``).

    Parameters
    ----------
    idata : xarray.DataTree
        Output of :func:`pymc_hier.fit` (optionally with
        :func:`pymc_hier.sample_predictive` groups).
    model : pymc.Model
        The model that was fitted.
    path : path-like
        Where to write the HTML file; written atomically (nothing is left on failure).
    title : str, optional
        Page title; by default derived from the model's factory.
    sweep : xarray.Dataset, optional
        Output of :func:`pymc_hier.prior_sweep`.
    command : str, optional
        The command line that produced the report (the CLI passes it).
    timestamp : str, optional
        The timestamp line's text; by default the current UTC time (or the
        ``PYMC_HIER_REPORT_TIMESTAMP`` environment variable, for fully fixed output).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ValueError
        When ``idata`` has no posterior group or ``path`` cannot be written.
    """
    if not isinstance(idata, xr.DataTree) or "posterior" not in idata.children:
        raise ValueError("idata: a DataTree with a 'posterior' group is required")
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"path: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"path: folder {str(parent)!r} is not writable")
    spec = get_spec(model)
    factory = spec.factory if spec else idata.attrs.get("factory", "custom")
    title = title or f"pymc_hier report: {factory}"
    if timestamp is None:
        timestamp = os.environ.get(_TIMESTAMP_ENV) or datetime.now(UTC).strftime(
            "%Y-%m-%d %H:%M:%S UTC")

    sections = [
        _section("Model", _model_section(model, spec)),
        _section("Graphical model", _pgm_section(model)),
        _section("Data", _data_section(idata, spec)),
        _section("Priors", _priors_section(spec)),
        _section("Diagnostics", _diagnostics_section(idata, spec)),
        _section("Posterior summary", _posterior_section(idata)),
    ]
    if "posterior_predictive" in idata.children:
        sections.append(_section("Posterior predictive checks", _ppc_section(idata)))
    if sweep is not None:
        sections.append(_section("Prior sensitivity", _sweep_section(sweep)))
    sections.append(_section("Provenance", _provenance_section(idata, command)))
    text = H.page(title, "\n".join(sections), timestamp=timestamp)

    fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _section(title: str, body: str) -> str:
    anchor = title.lower().replace(" ", "-")
    return f'<section id="{anchor}">\n<h2>{H.esc(title)}</h2>\n{body}\n</section>'


def _model_section(model, spec) -> str:
    parts = []
    if spec is not None:
        opts = ", ".join(f"{k}={v!r}" for k, v in sorted(spec.options.items()))
        parts.append(f"<p>Built by <code>{H.esc(spec.factory)}({H.esc(opts)})</code>.</p>")
    parts.append(f"<pre>{H.esc(model.str_repr())}</pre>")
    return "\n".join(parts)


def _pgm_section(model) -> str:
    from pymc_hier.pgm import export_pgm

    with tempfile.TemporaryDirectory() as tmp:
        paths = export_pgm(model, Path(tmp) / "pgm", formats=("svg",))
        svg = Path(paths["svg"]).read_text(encoding="utf-8")
    return H.figure(H.strip_xml_header(svg),
                    "Circles: latent; shaded: observed; dots: fixed; boxes: deterministic; "
                    "plates: repeated units.")


def _data_section(idata, spec) -> str:
    if spec is not None and hasattr(spec.data, "to_dataframe"):
        df = spec.data.to_dataframe()
        n = len(df)
        numeric = df.select_dtypes("number")
        desc = numeric.describe().T[["mean", "std", "min", "50%", "max"]]
        desc.index.name = "column"
        return f"<p>{n} rows; {H.esc(repr(spec.data))}.</p>" + H.table(desc)
    if "observed_data" in idata.children:
        obs = idata["observed_data"].to_dataset().to_dataframe()
        return H.table(obs.describe().T)
    return "<p>No data recorded.</p>"


def _priors_section(spec) -> str:
    if spec is None:
        return "<p>The model was not built by a pymc_hier factory; see its equations.</p>"
    df = pd.DataFrame({"prior": [p.label() for p in spec.priors.values()]},
                      index=pd.Index(list(spec.priors), name="parameter"))
    return H.table(df)


def _diagnostics_section(idata, spec) -> str:
    from pymc_hier.diagnostics import diagnostics_summary, sampling_problems

    diag = (idata["diagnostics"] if "diagnostics" in idata.children
            else diagnostics_summary(idata))
    attrs = diag.to_dataset().attrs
    parametrization = spec.options.get("parametrization") if spec else None
    problems = sampling_problems(diag, parametrization=parametrization)
    keys = ("n_chains", "n_draws", "n_divergent", "max_rhat", "min_ess_bulk", "min_ess_tail",
            "min_bfmi")
    rows = [(k, H.fmt_number(attrs[k])) for k in keys if k in attrs]
    if problems:
        flags = "".join(f'<li class="flag-bad">{H.esc(p)}</li>' for p in problems)
        head = f'<p class="flag-bad">Problems found ({len(problems)}):</p><ul>{flags}</ul>'
    else:
        head = ('<p class="flag-ok">All checks passed: no divergences, R-hat, ESS and E-BFMI '
                'within their thresholds.</p>')
    return head + H.kv_table(rows)


def _posterior_section(idata) -> str:
    post = idata["posterior"].to_dataset()
    names = [v for v in post.data_vars if {"chain", "draw"} <= set(post[v].dims)]
    df = azs.summary(idata, var_names=names, kind="all", fmt="wide", round_to="none")
    df.index.name = "parameter"
    return H.table(df)


def _ppc_section(idata) -> str:
    from pymc_hier.ppc import ppc_table

    tab = ppc_table(idata)
    parts = [H.table(_flatten_ppc(tab), index=True)]
    try:
        from pymc_hier.plots import ppc as ppc_plots
    except ImportError:  # pragma: no cover - plots are optional
        return "\n".join(parts)
    for name, caption in (("plot_ppc_dist", "Observed data against posterior predictive draws."),
                          ("plot_ppc_tstat", "Test statistics: observed against predicted.")):
        fn = getattr(ppc_plots, name, None)
        if fn is None:
            continue
        fig = fn(idata)
        parts.append(H.figure(H.svg_of_figure(_as_figure(fig)), caption))
    return "\n".join(parts)


def _flatten_ppc(tab: xr.Dataset) -> pd.DataFrame:
    """One row per statistic: T(y), mean and interval of T(y_rep), p-value."""
    interval = tab["T_rep_interval"]
    bounds = [str(b) for b in interval["ci_bound"].values]
    df = pd.DataFrame({
        "T(y)": tab["T_obs"].values,
        "mean T(y_rep)": tab["T_rep_mean"].values,
        f"T(y_rep) {bounds[0]}": interval.isel(ci_bound=0).values,
        f"T(y_rep) {bounds[-1]}": interval.isel(ci_bound=-1).values,
        "p-value": tab["p_value"].values,
    }, index=pd.Index([str(s) for s in tab["statistic"].values], name="statistic"))
    return df


def _as_figure(obj):
    """Return the matplotlib Figure behind an arviz-plots PlotCollection or a Figure."""
    fig = getattr(obj, "viz", None)
    if fig is not None:
        try:
            return fig["figure"].item()
        except (KeyError, AttributeError, TypeError):
            pass
    return obj


def _sweep_section(sweep: xr.Dataset) -> str:
    """One row per setting: how it was computed and the scalar quantities' mean and sd."""
    settings = [str(v) for v in sweep["setting"].values]
    cols: dict[str, object] = {}
    for name in ("method", "status", "pareto_k", "ess_weights"):
        if name in sweep:
            cols[name] = sweep[name].values
    scalars = [v for v, da in sweep.data_vars.items()
               if set(da.dims) == {"setting", "stat"} and not v.endswith(("_scaled", "_tilde"))]
    for name in scalars:
        for stat in ("mean", "sd"):
            if stat in sweep["stat"].values:
                cols[f"{name} {stat}"] = sweep[name].sel(stat=stat).values
    df = pd.DataFrame(cols, index=pd.Index(settings, name="setting"))
    parts = [f"<p>Swept <code>{H.esc(sweep.attrs.get('param', ''))}</code>; "
             "reweighted settings use Pareto-smoothed importance weights (reliable when "
             f"k-hat &lt; {H.fmt_number(sweep.attrs.get('khat_threshold', 0.7))}).</p>",
             H.table(df)]
    try:
        from pymc_hier.plots.sweep import plot_sweep
    except ImportError:  # pragma: no cover
        return "\n".join(parts)
    parts.append(H.figure(H.svg_of_figure(_as_figure(plot_sweep(sweep))),
                          "Posterior quantities against the swept hyperparameter."))
    return "\n".join(parts)


def _provenance_section(idata, command) -> str:
    rows = []
    for key in sorted(idata.attrs):
        value = idata.attrs[key]
        if isinstance(value, str) and value[:1] in "{[":
            try:
                value = json.dumps(json.loads(value), sort_keys=True)
            except ValueError:
                pass
        rows.append((key, value))
    if command:
        rows.append(("command", command))
    return H.kv_table(rows)
