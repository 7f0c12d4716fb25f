"""The model and data sections of a report.

Equations (MathML), symbols, the PGM, and the data the model used, in display units.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from pymc_hier.generative import GenerativeModel, Symbol, parse
from pymc_hier.plots.hierarchy import plural
from pymc_hier.reports import html as H
from pymc_hier.reports import mathml
from pymc_hier.reports.context import ReportContext
from pymc_hier.reports.numbers import Markup, format_sig
from pymc_hier.reports.units import scale_parameters, unit_text

__all__ = ["data_section", "model_section"]


def _number(text: str) -> float | None:
    expr = parse(text)
    if expr.op == "num":
        return float(expr.args[0])
    if expr.op == "neg" and expr.args[0].op == "num":
        return -float(expr.args[0].args[0])
    return None


def _in_display_units(ctx: ReportContext) -> tuple[GenerativeModel, set[str]]:
    """Rescale the description's prior constants to display units.

    Returns the description and the names of nodes left as they were because their
    distribution does not rescale simply.
    """
    nodes, kept = [], set()
    for node in ctx.gen.nodes:
        factor = ctx.units.factor(node.name)
        values = {k: _number(v) for k, v in node.params}
        if factor == 1.0 or node.kind != "latent" or not node.params \
                or any(v is None for v in values.values()):
            nodes.append(node)
            continue
        scaled = scale_parameters(node.dist, values, factor)
        if scaled is None:
            kept.add(node.name)
            nodes.append(node)
            continue
        params = tuple((k, repr(float(f"{scaled[k]:.4g}"))) for k, _ in node.params)
        nodes.append(dataclasses.replace(node, params=params))
    gen = GenerativeModel(tuple(nodes), dim_names=ctx.gen.dim_names,
                          index_letters=ctx.gen.index_letters)
    return gen, kept


def _what(ctx: ReportContext, name: str, kept: set[str]) -> str:
    node = ctx.gen[name]
    words = node.description
    unit = ctx.units.text(name)
    if name in kept and ctx.units.source.get(name):
        unit = f"prior in {ctx.units.source[name]}"
    text = f"{words} ({unit})" if words and unit else (words or unit)
    if node.kind == "observed":
        text = (text + "; observed") if text else "observed"
    return text


def _derived_rows(ctx: ReportContext, gen: GenerativeModel) -> list[str]:
    symbols = mathml.node_symbols(gen)
    bare = {n.name: mathml.symbol(n.symbol) for n in gen.nodes}
    rows = []
    for name, d in ctx.derived.items():
        if not d["expr"]:
            continue
        try:
            right = mathml.expression(parse(d["expr"]), symbols, bare)
        except ValueError:
            continue
        unit = ctx.units.text(name)
        what = f"{d['description']}, derived" + (f" ({unit})" if unit else "")
        rows.append(f'<tr><td class="lhs">{ctx.symbol(name)}</td>'
                    f'<td class="rel">{mathml.math("<mo>=</mo>")}</td>'
                    f'<td class="rhs">{mathml.math(right, displaystyle=True)}</td>'
                    f'<td class="what">{H.esc(what)}</td></tr>')
    return rows


def _indices(ctx: ReportContext) -> str:
    letters = ctx.gen.letters()
    parts = []
    for dim in ctx.gen.dims():
        size = len(ctx.model.coords.get(dim) or ()) if dim in ctx.model.coords else None
        letter = mathml.math(mathml.symbol(Symbol(letters[dim])))
        count = f"1, …, {size}" if size else "…"
        what = f"the {plural(ctx.gen.dim_names[dim])}" if dim in ctx.gen.dim_names \
            else f"<code>{H.esc(dim)}</code>"
        parts.append(f"{letter} = {count} indexes {what}")
    return ("<p>" + "; ".join(parts) + ".</p>") if parts else ""


def _laws(gen: GenerativeModel) -> str:
    used = {}
    for node in gen.nodes:
        if node.dist and node.kind in ("latent", "observed") and node.params:
            used.setdefault(node.dist, [k for k, _ in node.params])
    if not used:
        return ""
    text = "; ".join(f"{d}({', '.join(ps)})" for d, ps in sorted(used.items()))
    sd = "; Normal's second parameter is the standard deviation" if "Normal" in used else ""
    return (f'<p class="note">Distributions are written with their parameters in this order: '
            f"{H.esc(text)} (PyMC's names{sd}).</p>")


def model_section(ctx: ReportContext, *, pgm_svg: str | None = None) -> str:
    """Equations, what each symbol is, the index ranges and the PGM.

    ``pgm_svg``: the PGM's SVG, exported already; drawn here when None.
    """
    gen, kept = _in_display_units(ctx)
    rows = []
    for name, left, rel, right in mathml.equations(gen):
        rows.append(f'<tr><td class="lhs">{mathml.math(left)}</td>'
                    f'<td class="rel">{mathml.math(rel)}</td>'
                    f'<td class="rhs">{mathml.math(right, displaystyle=True)}</td>'
                    f'<td class="what">{H.esc(_what(ctx, name, kept))}</td></tr>')
    rows += _derived_rows(ctx, gen)
    parts = [f'<div class="scroll"><table class="eq" aria-label="model equations"><tbody>'
             f'{"".join(rows)}</tbody></table></div>', _indices(ctx)]
    symbols = mathml.node_symbols(ctx.gen)
    fixed = [n for n in ctx.gen.nodes if n.kind == "fixed"]
    if fixed:
        items = []
        for node in fixed:
            value = _scalar_value(ctx, node.name)
            unit = ctx.units.text(node.name)
            desc = f": {H.esc(node.description)}" if node.description else ""
            items.append(f"{mathml.math(symbols[node.name])}{value}{desc}"
                         + (f" ({H.esc(unit)})" if unit else ""))
        parts.append("<p>Given (data): " + "; ".join(items) + ".</p>")
    parts.append(_laws(gen))
    if ctx.spec is not None:
        opts = ", ".join(f"{k}={v!r}" for k, v in sorted(ctx.spec.options.items()))
        parts.append(f'<p class="note">Built by <code>{H.esc(ctx.spec.factory)}'
                     f"({H.esc(opts)})</code>; the sampler may use another parametrisation "
                     "of the same model.</p>")
    parts.append(_pgm(ctx, pgm_svg))
    return "\n".join(p for p in parts if p)


def _scalar_value(ctx: ReportContext, name: str) -> str:
    for group in ("constant_data", "observed_data"):
        if group in ctx.idata.children and name in ctx.idata[group].data_vars:
            values = np.asarray(ctx.idata[group][name].values, dtype=float)
            if values.ndim == 0:
                value = float(ctx.units.convert(name, values))
                return " = " + mathml.math(mathml.number(value))
    return ""


def _pgm(ctx: ReportContext, svg: str | None = None) -> str:
    if svg is None:
        from pymc_hier.pgm import export_pgm

        with tempfile.TemporaryDirectory() as tmp:
            paths = export_pgm(ctx.model, Path(tmp) / "pgm", formats=("svg",))
            svg = Path(paths["svg"]).read_text(encoding="utf-8")
    caption = ("Circles: unknown; shaded: observed; dots: given; boxes: computed; plates: "
               "repeated units.")
    recorded = sorted({ctx.units.source[n.name] for n in ctx.gen.nodes
                       if n.name in ctx.units.source and ctx.units.factor(n.name) != 1.0})
    if recorded:
        caption += (" Its constants are in the data's own units "
                    f"({', '.join(map(unit_text, recorded))}).")
    return ("<h3>Graphical model</h3>"
            + H.figure(H.strip_xml_header(svg), caption, narrow=True,
                       label="graphical model"))


def data_section(ctx: ReportContext) -> str:
    """Summarise each data variable the model used, with every value folded below."""
    symbols = mathml.node_symbols(ctx.gen)
    arrays = {}
    for node in ctx.gen.nodes:
        if node.kind not in ("fixed", "observed"):
            continue
        for group in ("observed_data", "constant_data"):
            if group in ctx.idata.children and node.name in ctx.idata[group].data_vars:
                arrays[node.name] = ctx.units.convert(node.name, ctx.idata[group][node.name])
                break
    if not arrays:
        return "<p>The fit holds no data.</p>"
    rows = []
    for name, da in arrays.items():
        values = np.asarray(da.values, dtype=float).ravel()
        if da.ndim == 0:
            continue  # given constants are listed with the equations
        stats = [np.nanmin(values), np.nanmedian(values), np.nanmax(values)]
        lo, med, hi = _data_numbers(values, stats, sig=3)
        desc = ctx.gen[name].description
        rows.append([Markup(mathml.math(symbols[name]) + (f" {H.esc(desc)}" if desc else "")),
                     ctx.units.text(name), str(values.size), lo, med, hi])
    header = ["data", "unit", "n", "min", "median", "max"]
    if not any(r[1] for r in rows):
        header.pop(1)
        rows = [r[:1] + r[2:] for r in rows]
    parts = [H.table(header, rows)]
    if ctx.truth:
        parts.append('<p class="note">The data are simulated: the true values of the '
                     "parameters are known, shown beside the estimates and not used in the "
                     "fit.</p>")
    parts.append(_full_table(ctx, arrays))
    return "\n".join(parts)


def _data_numbers(data, values, sig: int) -> list[str]:
    """Whole numbers for data that are all whole (``28``, ``7.5``), else ``sig`` figures."""
    data = np.asarray(data, dtype=float)
    finite = data[np.isfinite(data)]
    if finite.size and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 1e6):
        return [f"{v:g}".replace("-", "−") for v in np.asarray(values, dtype=float)]
    return format_sig(values, sig=sig)


def _full_table(ctx: ReportContext, arrays: dict) -> str:
    per_unit = {n: da for n, da in arrays.items() if da.ndim == 1}
    by_dim: dict[str, list[str]] = {}
    for name, da in per_unit.items():
        by_dim.setdefault(da.dims[0], []).append(name)
    out = []
    for dim, names in by_dim.items():
        da0 = per_unit[names[0]]
        labels = [str(v) for v in (da0[dim].values if dim in da0.coords
                                   else range(da0.sizes[dim]))]
        cols = [_data_numbers(per_unit[n].values, per_unit[n].values, sig=4) for n in names]
        header = [dim] + [Markup(mathml.math(mathml.node_symbols(ctx.gen)[n])
                                 + (f" ({H.esc(ctx.units.text(n))})"
                                    if ctx.units.text(n) else "")) for n in names]
        rows = [[lab] + [c[k] for c in cols] for k, lab in enumerate(labels)]
        out.append(H.folded_table(f"The data, one row per {dim}", header, rows))
    return "\n".join(out)
