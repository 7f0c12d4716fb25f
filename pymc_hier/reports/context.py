"""What every section of a report needs to know about the fit: :func:`report_context`.

The context is read once from the fit, the model and its family (when it has one): the
model as written (:func:`pymc_hier.describe_model`), which parameters are the population's
and which are one per unit, the units they are shown in, the true values when the data
carry them, and the posterior in display units. A plain PyMC model gets the same context
from its graph: its scalar latent variables are the headline, its variables with one dim
the per-unit ones, and nothing is internal.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import xarray as xr

from pymc_hier.describe import describe_model, symbol_of
from pymc_hier.generative import GenerativeModel
from pymc_hier.plots.hierarchy import summarise_draws
from pymc_hier.reports import mathml
from pymc_hier.reports.units import DisplayUnits
from pymc_hier.spec import ModelSpec

__all__ = ["ReportContext", "report_context"]

_SAMPLE_DIMS = {"chain", "draw"}


@dataclass
class ReportContext:
    """The fit, its model as written and how to show its numbers (see the module docstring).

    Attributes
    ----------
    idata : xarray.DataTree
        The fit.
    model : pymc.Model
        The fitted model.
    spec : ModelSpec or None
        Its family's record of it (None for a plain PyMC model).
    gen : GenerativeModel
        The model as written.
    units : DisplayUnits
        The unit of every variable shown.
    ci_prob : float
        Probability of every interval in the report (equal-tailed).
    population : tuple of str
        The headline parameters.
    per_unit : tuple of str
        Parameters with one value per unit (the group dim).
    others : tuple of str
        Further posterior variables shown in a folded table (scalar nodes of the
        description that are not population parameters, and ``var_names``).
    truth : dict
        True values by variable name (display units).
    posterior : xarray.Dataset
        The posterior variables shown, in display units.
    derived : dict
        Derived quantities' draws by name (display units), with their description.
    """

    idata: xr.DataTree
    model: pm.Model
    spec: ModelSpec | None
    gen: GenerativeModel
    units: DisplayUnits
    ci_prob: float
    population: tuple[str, ...]
    per_unit: tuple[str, ...]
    others: tuple[str, ...]
    truth: dict
    posterior: xr.Dataset
    derived: dict = field(default_factory=dict)
    _summaries: dict = field(default_factory=dict, repr=False)

    def summary(self, name: str) -> dict[str, np.ndarray]:
        """Mean, sd and interval of a posterior variable (computed once)."""
        if name not in self._summaries:
            self._summaries[name] = summarise_draws(self.posterior[name], self.ci_prob)
        return self._summaries[name]

    @property
    def family(self):
        """The model's family, or None."""
        return None if self.spec is None else self.spec.family

    @property
    def interval(self) -> str:
        """``"90% interval"``: how every interval is labelled."""
        return f"{100 * self.ci_prob:g}% interval"

    @property
    def quantiles(self) -> tuple[float, float]:
        """The interval's lower and upper quantile."""
        return (1 - self.ci_prob) / 2, (1 + self.ci_prob) / 2

    def symbol(self, name: str) -> str:
        """``name``'s symbol (with its index letters) as inline MathML."""
        if name in self.derived and self.derived[name]["symbol"] is not None:
            return mathml.math(mathml.symbol(self.derived[name]["symbol"]))
        symbols = mathml.node_symbols(self.gen)
        if name in symbols:
            return mathml.math(symbols[name])
        return mathml.math(mathml.symbol(symbol_of(name)))

    def description(self, name: str) -> str:
        """Return a few words saying what ``name`` is (empty when there are none)."""
        if name in self.derived:
            return self.derived[name]["description"]
        if name in self.gen:
            return self.gen[name].description
        return ""

    def plain_symbol(self, name: str, *, indices: bool = False) -> str:
        """Return ``name``'s symbol in plain Unicode (``θ``; ``θⱼ`` with ``indices``)."""
        if name in self.derived and self.derived[name]["symbol"] is not None:
            return self.derived[name]["symbol"].unicode()
        if name in self.gen:
            node = self.gen[name]
            letters = self.gen.letters()
            return node.symbol.unicode([letters[d] for d in node.dims] if indices else ())
        return symbol_of(name).unicode()

    def what(self, name: str) -> str:
        """Return ``name``'s description, or its symbol where it has none (plain text)."""
        return self.description(name) or self.plain_symbol(name)

    def title(self, name: str) -> str:
        """Return ``Initial amount N₀,ᵢ`` as HTML (the symbol alone without a description)."""
        desc = self.description(name)
        words = f"{html.escape(desc[:1].upper() + desc[1:])} " if desc else ""
        return words + self.symbol(name)

    def group_dim(self, name: str) -> str | None:
        """Return the one non-sample dim of a per-unit variable."""
        dims = [d for d in self.posterior[name].dims if d not in _SAMPLE_DIMS]
        return dims[0] if len(dims) == 1 else None


def _posterior_names(idata: xr.DataTree) -> list[str]:
    post = idata["posterior"]
    return [str(n) for n, v in post.data_vars.items() if _SAMPLE_DIMS <= set(v.dims)]


def _internal(spec: ModelSpec | None) -> set[str]:
    return set() if spec is None else set(spec.family.internal_names(spec))


def report_context(idata: xr.DataTree, model: pm.Model, *, ci_prob: float,
                   var_names: Sequence[str] | None = None,
                   truth: Mapping | None = None, spec: ModelSpec | None = None) -> ReportContext:
    """Read what the report needs from the fit, the model and its family."""
    gen = describe_model(model)
    family = None if spec is None else spec.family
    in_post = _posterior_names(idata)
    post_all = idata["posterior"].to_dataset()
    internal = _internal(spec)
    shown = [n.name for n in gen.nodes if n.kind in ("latent", "deterministic")
             and n.name in in_post and n.name not in internal]
    scalar = [n for n in shown if set(post_all[n].dims) == _SAMPLE_DIMS]
    population = [n for n in (family.population_names(spec) if family else scalar)
                  if n in in_post]
    per_unit = [n for n in shown if len(set(post_all[n].dims) - _SAMPLE_DIMS) == 1]
    extra = [str(v) for v in (var_names or ())]
    missing = [v for v in extra if v not in in_post]
    if missing:
        raise ValueError(f"var_names: {missing} are not in idata's posterior (has: "
                         f"{', '.join(in_post)})")
    others = [n for n in scalar if n not in population]
    others += [n for n in shown if len(set(post_all[n].dims) - _SAMPLE_DIMS) > 1]
    others += [v for v in extra if v not in population and v not in per_unit
               and v not in others]

    source_units = dict(family.units(spec)) if family is not None and family.units else {}
    derived_specs = tuple(family.derived(spec)) if family is not None and family.derived \
        else ()
    for d in derived_specs:
        if d.unit:
            source_units.setdefault(d.name, d.unit)
    data_values = []
    for group in ("constant_data", "observed_data"):
        if group in idata.children:
            data_values += [(str(k), v.values) for k, v in idata[group].data_vars.items()]
    units = DisplayUnits.from_data(source_units, data_values)

    names = list(dict.fromkeys([*population, *per_unit, *others]))
    posterior = xr.Dataset({n: units.convert(n, post_all[n]) for n in names})
    for n in names:
        if not posterior[n].attrs.get("long_name") and n in gen:
            posterior[n].attrs["long_name"] = gen[n].description or gen[n].symbol.unicode()
    derived = {}
    for d in derived_specs:
        draws = d.compute(post_all)
        derived[d.name] = {"draws": units.convert(d.name, draws), "symbol": d.symbol,
                           "description": d.description, "expr": d.expr}

    known = dict(family.truth(spec)) if family is not None and family.truth else {}
    known.update(truth or {})
    true = {k: units.convert(k, np.asarray(v, dtype=float)) for k, v in known.items()
            if k in names}
    return ReportContext(idata=idata, model=model, spec=spec, gen=gen, units=units,
                         ci_prob=float(ci_prob), population=tuple(population),
                         per_unit=tuple(per_unit), others=tuple(others), truth=true,
                         posterior=posterior, derived=derived)
