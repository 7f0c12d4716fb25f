"""The headline box and the tables of estimates.

- :func:`summarise`: mean, sd and the report's interval of any variable's draws;
- :func:`convergence`: R-hat and bulk ESS of a variable (the fit's diagnostics, else
  ArviZ), NaN where the draws are exact and were not diagnosed;
- :func:`headline_section`: the population parameters (and derived quantities) with
  units, the truth and the exact posterior where known, and the conventions stated once;
  :func:`headline_lines`: the same estimates as plain text;
- :func:`others_section`: further parameters, folded.
"""

from __future__ import annotations

import arviz_stats as azs
import numpy as np
import xarray as xr

from pymc_hier.plots.hierarchy import summarise_draws as summarise
from pymc_hier.reports import html as H
from pymc_hier.reports.context import ReportContext
from pymc_hier.reports.numbers import DASH, Markup, fmt_count, fmt_rhat, format_values
from pymc_hier.seeds import child_seed

__all__ = ["convergence", "exact_summary", "headline_lines", "headline_section", "others_section",
           "summarise"]

_SAMPLE = ("chain", "draw")
_EXACT_DRAWS = (4, 2500)
_EXACT_STREAM = 7  # child stream of the fit's seed for the exact reference draws


def convergence(ctx: ReportContext, name: str, draws: xr.DataArray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """R-hat and bulk ESS of ``name`` (of ``draws`` when given), NaN where not diagnosed."""
    idata = ctx.idata
    if draws is None and "diagnostics" in idata.children:
        diag = idata["diagnostics"]
        if "rhat" in diag.children and name in diag["rhat"].data_vars:
            return (np.asarray(diag["rhat"][name].values, dtype=float),
                    np.asarray(diag["ess_bulk"][name].values, dtype=float))
        shape = ctx.posterior[name].isel(chain=0, draw=0).shape if name in ctx.posterior \
            else ()
        return np.full(shape, np.nan), np.full(shape, np.nan)
    da = draws if draws is not None else ctx.posterior[name]
    ds = xr.Dataset({"x": da})
    return (np.asarray(azs.rhat(ds)["x"].values, dtype=float),
            np.asarray(azs.ess(ds, method="bulk")["x"].values, dtype=float))


def exact_summary(ctx: ReportContext) -> tuple[dict[str, dict], str]:
    """Summarise the population parameters (and derived quantities) under the exact posterior.

    Returns the summaries by name and a note: empty, or why there are none.
    """
    family = ctx.family
    if family is None or family.exact_posterior is None or not ctx.population \
            or ctx.idata.attrs.get("sampler") == "exact":  # the draws are exact already
        return {}, ""
    seed = child_seed(int(ctx.idata.attrs.get("random_seed", 0)), _EXACT_STREAM)
    try:
        post = family.exact_posterior(ctx.model, ctx.spec)
    except ValueError:  # this variant of the family has none (decay, alpha="hierarchical")
        return {}, ""
    try:
        tree = post.sample(_EXACT_DRAWS[1], _EXACT_DRAWS[0], random_seed=seed,
                           var_names=list(ctx.population))
    except Exception as err:  # noqa: BLE001 - the report says why and goes on
        return {}, f"The exact posterior could not be computed ({type(err).__name__}: {err})."
    draws = tree["posterior"].to_dataset()
    out = {}
    for name in ctx.population:
        if name in draws:
            out[name] = summarise(ctx.units.convert(name, draws[name]), ctx.ci_prob)
    if ctx.spec is not None and ctx.family.derived is not None:
        for d in ctx.family.derived(ctx.spec):
            try:
                values = d.compute(draws)
            except (KeyError, ValueError):
                continue
            out[d.name] = summarise(ctx.units.convert(d.name, values), ctx.ci_prob)
    return out, ""


def _label(ctx: ReportContext, name: str) -> Markup:
    desc = ctx.description(name)
    unit = ctx.units.text(name)
    return Markup(ctx.symbol(name) + (f" {H.esc(desc)}" if desc else "")
                  + (f" ({H.esc(unit)})" if unit else ""))


def _headline_truth(ctx: ReportContext) -> dict:
    out = {n: ctx.truth[n] for n in ctx.population if n in ctx.truth}
    for name in ctx.derived:
        value = _derived_truth(ctx, name)
        if value is not None:
            out[name] = value
    return out


def _headline_values(ctx: ReportContext, exact: dict, truth: dict) -> list[dict]:
    """Each population parameter's (and derived quantity's) numbers, formatted alike."""
    out = []
    items = [(n, ctx.posterior[n]) for n in ctx.population]
    items += [(n, d["draws"]) for n, d in ctx.derived.items()]
    for name, draws in items:
        s = {k: float(v) for k, v in (summarise(draws, ctx.ci_prob) if name in ctx.derived
                                      else ctx.summary(name)).items()}
        rhat, ess = convergence(ctx, name, draws if name in ctx.derived else None)
        true = truth.get(name)
        ex = exact.get(name)
        values = [s["mean"], s["lo"], s["hi"]]
        values += [float(np.ravel(true)[0])] if true is not None else [np.nan]
        values += [float(ex["mean"]), float(ex["lo"]), float(ex["hi"])] if ex else [np.nan] * 3
        mean, lo, hi, tv, emean, elo, ehi = format_values(values, scale=s["sd"])
        (sd,) = format_values([s["sd"]], scale=s["sd"])
        out.append({"name": name, "mean": mean, "sd": sd, "lo": lo, "hi": hi,
                    "true": tv if true is not None else None,
                    "exact": f"{emean} ({elo} to {ehi})" if ex else None,
                    "rhat": fmt_rhat(float(np.ravel(rhat)[0])),
                    "ess": fmt_count(float(np.ravel(ess)[0])),
                    "unit": ctx.units.text(name), "words": ctx.description(name)})
    return out


def _headline_rows(ctx: ReportContext, exact: dict, truth: dict) -> tuple[list, list[str]]:
    rows, sentences = [], []
    for v in _headline_values(ctx, exact, truth):
        row = [_label(ctx, v["name"]), v["mean"], v["sd"], f"{v['lo']} to {v['hi']}"]
        if truth:
            row.append(v["true"] if v["true"] is not None else DASH)
        if exact:
            row.append(v["exact"] if v["exact"] is not None else DASH)
        row += [v["rhat"], v["ess"]]
        rows.append(row)
        words, unit = v["words"], v["unit"]
        head = f"{H.esc(words[:1].upper() + words[1:])} " if words else ""
        sentence = (f"{head}{ctx.symbol(v['name'])}: "
                    f"<strong>{H.esc(v['mean'])}</strong>{' ' + H.esc(unit) if unit else ''} "
                    f"({ctx.interval} {H.esc(v['lo'])} to {H.esc(v['hi'])})")
        if v["true"] is not None:
            sentence += f"; true value {H.esc(v['true'])}"
        sentences.append(sentence + ".")
    return rows, sentences


def headline_lines(ctx: ReportContext) -> list[str]:
    """Write the headline's estimates as plain text, a line a parameter (the CLI prints them).

    ``"Decay rate α: 0.0475 per day (90% interval 0.0461 to 0.0489; true value 0.0474;
    exact 0.0475 (0.0461 to 0.0489)), R-hat 1.00, ESS 7105"``: the same numbers, units and
    interval as the report's summary box.
    """
    truth = _headline_truth(ctx)
    exact, _ = exact_summary(ctx)
    lines = []
    for v in _headline_values(ctx, exact, truth):
        words = v["words"]
        head = f"{words[:1].upper() + words[1:]} " if words else ""
        notes = [f"{ctx.interval} {v['lo']} to {v['hi']}"]
        if v["true"] is not None:
            notes.append(f"true value {v['true']}")
        if v["exact"] is not None:
            notes.append(f"exact {v['exact']}")
        unit = f" {v['unit']}" if v["unit"] else ""
        line = f"{head}{ctx.plain_symbol(v['name'])}: {v['mean']}{unit} ({'; '.join(notes)})"
        if v["rhat"] != DASH or v["ess"] != DASH:
            line += f", R-hat {v['rhat']}, ESS {v['ess']}"
        lines.append(line)
    return lines


def _derived_truth(ctx: ReportContext, name: str):
    """Return a derived quantity's true value, computed from the true parameters if known."""
    if name not in ctx.derived or ctx.spec is None:
        return None
    known = {k: v for k, v in ctx.truth.items() if np.ndim(v) == 0}
    if not known:
        return None
    ds = xr.Dataset({k: xr.DataArray(float(v) / ctx.units.factor(k))
                     for k, v in known.items()})
    for d in ctx.family.derived(ctx.spec):
        if d.name == name:
            try:
                return float(ctx.units.convert(name, d.compute(ds)))
            except (KeyError, ValueError):
                return None
    return None


def headline_section(ctx: ReportContext, status: str) -> str:
    """Write the box at the top: key estimates in words and as a table, conventions stated."""
    exact, note = exact_summary(ctx)
    parts = []
    if not ctx.population and not ctx.derived:
        parts.append("<p>The model has no scalar parameters; see the per-unit estimates.</p>")
    else:
        truth = _headline_truth(ctx)
        rows, sentences = _headline_rows(ctx, exact, truth)
        parts.append("<ul>" + "".join(f"<li>{s}</li>" for s in sentences) + "</ul>")
        header = ["parameter", "mean", "sd", ctx.interval]
        if truth:
            header.append("true value")
        if exact:
            header.append(f"exact: mean ({ctx.interval})")
        header += ["R-hat", "ESS"]
        parts.append(H.table(header, rows))
    conventions = [f"Every interval in this report is a {100 * ctx.ci_prob:g}% equal-tailed "
                   f"credible interval: {100 * ctx.quantiles[0]:g}% of the posterior lies "
                   "below it and as much above."]
    if exact:
        conventions.append("“Exact”: independent draws from the posterior computed by "
                           "quadrature (the model's exact solution), to compare with MCMC.")
    statement = ctx.units.statement()
    if statement:
        conventions.append(statement)
    conventions.append("ESS: bulk effective sample size.")
    parts.append(f'<p class="note">{" ".join(H.esc(c) for c in conventions)}</p>')
    if note:
        parts.append(f'<p class="note">{H.esc(note)}</p>')
    parts.append(status)
    return "\n".join(parts)


def others_section(ctx: ReportContext) -> str:
    """Further parameters (and any asked for with ``var_names``), folded, every element."""
    if not ctx.others:
        return ""
    rows = []
    for name in ctx.others:
        da = ctx.posterior[name]
        s = ctx.summary(name)
        rhat, ess = convergence(ctx, name)
        other = [d for d in da.dims if d not in _SAMPLE]
        labels = _element_labels(da, other)
        scale = float(np.nanmedian(s["sd"])) if s["sd"].size else None
        cols = {k: format_values(np.ravel(s[k]), scale=scale) for k in ("mean", "sd", "lo", "hi")}
        rh = np.broadcast_to(rhat, s["mean"].shape).ravel()
        es = np.broadcast_to(ess, s["mean"].shape).ravel()
        for k, lab in enumerate(labels):
            rows.append([Markup(ctx.symbol(name) + H.esc(lab)), ctx.units.text(name),
                         cols["mean"][k], cols["sd"][k], f"{cols['lo'][k]} to {cols['hi'][k]}",
                         fmt_rhat(rh[k]), fmt_count(es[k])])
    return H.folded_table("Other parameters", ["parameter", "unit", "mean", "sd", ctx.interval,
                                               "R-hat", "ESS"], rows,
                          align=["l", "l", "r", "r", "r", "r", "r"])


def _element_labels(da: xr.DataArray, dims: list[str]) -> list[str]:
    if not dims:
        return [""]
    coords = [da[d].values if d in da.coords else np.arange(da.sizes[d]) for d in dims]
    grid = np.meshgrid(*coords, indexing="ij")
    return ["[" + ", ".join(str(g.ravel()[k]) for g in grid) + "]"
            for k in range(grid[0].size)]
