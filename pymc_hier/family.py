"""The model-family contract: :class:`ModelFamily`.

A model family is everything pymc_hier knows about one kind of model, in one frozen record:
how to build it from data, its options and default priors, and the optional pieces the
tools use when they exist. Every tool (``fit``, ``sample_predictive``, ``prior_sweep``,
``report``, ``export_pgm``, the CLI) asks the family of a model (through its
:class:`~pymc_hier.spec.ModelSpec`) and never looks anything up by name. A model with no
family goes through every tool as a plain PyMC model.

=======================  ==================================================================
piece                    used by
=======================  ==================================================================
``build``                calling the family: ``family(data, priors=..., **options)``
``data_type``            checking the data; ``to_dataset``/``from_dataset``/``read_csv``
                         keep it with fits and read it from files (the CLI)
``options``              checked when building; the CLI offers them
``default_priors``       merged with the user's priors (``resolve_priors`` for presets;
                         ``adapt_priors`` for priors that depend on the options)
``resolve_options``      options chosen from the data (``parametrization="auto"``),
                         recorded in the spec and so in the provenance
``population``           report headlines, prior sensitivity (population parameters)
``internal``             variables of the parametrisation, hidden from summaries
``exact_posterior``      ``fit(sampler="exact")``, exact sweeps, references in reports
``exact_partitioned``    ``fit_partitioned``: the exact posterior of data in blocks (Dask)
``postprocess``          ``fit`` adds exact conditional draws after sampling
``generative``           the PGM and the report's equations (the model as written)
``initial_values``       where samplers start (passed to ``pm.sample(initvals=...)``)
``units``                the report's units (times and rates shown in a readable unit)
``truth``                the report's true values beside estimates (simulated data)
``derived``              the report's headline: quantities computed from the parameters
``with_observed``        simulation-based calibration: simulated observations into the data
``example_data``         ``pymc-hier run NAME`` without ``--data``
``default_sweep``        the sweep of ``pymc-hier run``
``cli_name``             the name on the command line
``pooling``              :func:`pymc_hier.compare_pooling`: the options of each level of
                         pooling and the per-unit effect compared
``exact_logo``           :func:`pymc_hier.cross_validate`: exact leave-one-group-out
                         predictive densities
``predict``              :func:`pymc_hier.predict`: predictions for new or existing units
``sampler_logp``         :func:`pymc_hier.nutpie_cache.compile_nutpie`: the log density in
                         a form that compiles faster
``warm_up``              ``pymc-hier run``: ``postprocess``'s compiled kernels, compiled in
                         its second process while the model compiles and samples
``deprecated``           calling the family warns (``FutureWarning``); the CLI's help says so
=======================  ==================================================================

The built-in families are :data:`pymc_hier.decay.family.DECAY` and
:data:`pymc_hier.normal.family.HIERARCHICAL_NORMAL` (with :data:`EIGHT_SCHOOLS_FAMILY`);
:func:`pymc_hier.register_family` makes a user's family known by name as well.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable

import numpy as np
import pymc as pm
import xarray as xr

from pymc_hier.generative import Symbol
from pymc_hier.pgm.export import export_pgm
from pymc_hier.priors import Prior, resolve_priors
from pymc_hier.spec import ModelSpec, attach_spec

__all__ = ["Derived", "ExactPosterior", "ModelFamily", "Pooling"]

#: Levels of pooling, from sharing everything to sharing nothing.
POOLING_LEVELS = ("complete", "partial", "none")


@runtime_checkable
class ExactPosterior(Protocol):
    """What a family's ``exact_posterior`` returns: independent draws on request.

    ``variables`` names the posterior variables its draws hold; ``sample`` returns a
    :class:`xarray.DataTree` with a ``posterior`` group shaped like an MCMC fit, holding
    only ``var_names`` (and what they need) when given.
    """

    variables: tuple[str, ...]

    def sample(self, draws: int = 1000, chains: int = 4, *, random_seed=None,
               var_names=None) -> xr.DataTree:
        """Independent draws, ``(chain, draw, ...)``."""


@dataclass(frozen=True)
class Derived:
    """A quantity computed from posterior draws, reported beside the parameters.

    Parameters
    ----------
    name : str
        Its name (``"half_life"``).
    compute : callable
        ``compute(posterior) -> xarray.DataArray``: from a posterior Dataset (dims
        ``chain, draw``) to the quantity's draws, in the unit ``unit``.
    description : str
        A few words for people (``"half-life"``).
    symbol : Symbol, optional
        How it is written (:class:`pymc_hier.generative.Symbol`).
    unit : str, optional
        Its unit (``"s"``); times are shown in the report's time unit.
    expr : str, optional
        Its definition as an expression of the model's variables
        (:mod:`pymc_hier.generative` syntax: ``"log(2) / alpha"``), written out in the
        report's equations.
    """

    name: str
    compute: Callable = field(repr=False)
    description: str = ""
    symbol: Symbol | None = None
    unit: str | None = None
    expr: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"name: expected an identifier, got {self.name!r}")
        if not callable(self.compute):
            raise TypeError(f"compute: expected a callable, got {type(self.compute).__name__}")


@dataclass(frozen=True)
class Pooling:
    """How a family pools its units: the options of each level and the effect they share.

    Parameters
    ----------
    effect : str
        The per-unit parameter compared across levels (``"theta"``, ``"alpha"``): one value
        per unit along the family's group dim, or a scalar where every unit shares it
        (complete pooling).
    levels : mapping of str to mapping
        The family's options that build each level, by level name among
        ``"complete"`` (one parameter for every unit), ``"partial"`` (a hierarchy) and
        ``"none"`` (every unit on its own); at least two levels.

    Examples
    --------
    >>> from pymc_hier.family import Pooling
    >>> Pooling("theta", {"complete": {"pooling": "complete"},
    ...                   "partial": {"pooling": "partial"}}).names
    ('complete', 'partial')
    """

    effect: str
    levels: Mapping[str, Mapping] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.effect, str) or not self.effect.isidentifier():
            raise ValueError(f"effect: expected a variable name, got {self.effect!r}")
        levels = {}
        for level in POOLING_LEVELS:  # kept in order, complete to none
            if level in self.levels:
                options = self.levels[level]
                if not isinstance(options, Mapping):
                    raise TypeError(f"levels[{level!r}]: expected a mapping of options, got "
                                    f"{type(options).__name__}")
                levels[level] = MappingProxyType(dict(options))
        unknown = sorted(set(self.levels) - set(POOLING_LEVELS))
        if unknown:
            raise ValueError(f"levels: unknown level(s) {unknown} (levels: "
                             f"{', '.join(POOLING_LEVELS)})")
        if len(levels) < 2:
            raise ValueError("levels: give at least two levels of pooling to compare")
        object.__setattr__(self, "levels", MappingProxyType(levels))

    @property
    def names(self) -> tuple[str, ...]:
        """The levels, from complete to no pooling."""
        return tuple(self.levels)


def _default_fingerprint(data) -> str:
    if hasattr(data, "fingerprint"):
        return data.fingerprint()
    ds = data if isinstance(data, xr.Dataset) else None
    if ds is None:
        raise TypeError(f"data: cannot fingerprint a {type(data).__name__}; give the family a "
                        "to_dataset or the data a fingerprint() method")
    h = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        arr = np.ascontiguousarray(ds[name].values)
        h.update(name.encode() + str(arr.dtype).encode() + str(arr.shape).encode())
        h.update(arr.tobytes() if arr.dtype.kind != "O" else repr(arr.tolist()).encode())
    h.update(json.dumps({k: str(v) for k, v in ds.attrs.items()}, sort_keys=True).encode())
    return h.hexdigest()


def _tuple(value) -> tuple:
    return tuple(value) if not isinstance(value, str) else (value,)


@dataclass(frozen=True)
class ModelFamily:
    """One kind of model: how to build it and everything the tools may ask of it.

    Call the family to build a model: ``family(data, priors=..., pgm=..., **options)``
    checks the data and options, merges the priors with the defaults, calls ``build`` and
    attaches a :class:`~pymc_hier.spec.ModelSpec` to the model it returns.

    Parameters
    ----------
    name : str
        Unique name (``"decay"``); the key of :func:`pymc_hier.register_family`.
    build : callable
        ``build(data, *, priors, **options) -> pm.Model``: ``priors`` is the resolved
        mapping of :class:`~pymc_hier.Prior` by parameter name, options are checked.
    data_type : type or tuple of types, default xarray.Dataset
        What ``data`` must be (a ``TypeError`` otherwise).
    options : mapping of str to tuple
        Keyword options and their accepted values, the first being the default; an empty
        tuple accepts any JSON-serialisable value (default None).
    default_priors : mapping or callable, optional
        The priors by parameter name, or ``default_priors(data)`` returning them.
    resolve_priors : callable, optional
        ``resolve_priors(priors, data, options) -> dict`` for families that accept more
        than a mapping (a preset name); ``options`` are the chosen options (all of them,
        checked). The default merges the user's mapping into the defaults (adapted by
        ``adapt_priors``) and refuses unknown names.
    adapt_priors : callable, optional
        ``adapt_priors(defaults, options) -> dict``: the default priors for the chosen
        options, from ``default_priors``: options that create parameters add their priors
        (the spread of hierarchical rates), those that remove some drop theirs.
    resolve_options : callable, optional
        ``resolve_options(options, data, priors) -> dict``: fills in options chosen from
        the data (``parametrization="auto"`` choosing a form per group); what it returns is
        recorded in the spec (and so in a fit's provenance) and passed to ``build``, so a
        model built again from its spec makes the same choices.
    population : tuple of str or callable
        The population-level parameters (``("alpha",)``, ``("mu", "tau")``), or
        ``population(spec)`` returning them when they depend on the options.
    internal : tuple of str or callable, optional
        Variables of the parametrisation that are not part of the model as written
        (``theta_scaled``), or ``internal(spec)`` returning them.
    exact_posterior : callable, optional
        ``exact_posterior(model, spec, hyper=None, **kwargs)`` returning an
        :class:`ExactPosterior` (``hyper``: prior and data values by ``pm.Data`` name that
        replace the model's, without changing it).
    exact_partitioned : object, optional
        A :class:`~pymc_hier.scale.partitioned.PartitionedExact`: the exact posterior of
        data held in blocks, in memory or on a Dask cluster
        (:func:`pymc_hier.fit_partitioned`).
    postprocess : callable, optional
        ``postprocess(idata, model, spec, *, random_seed) -> idata`` run by
        :func:`pymc_hier.fit` after MCMC (exact conditional draws, units).
    generative : callable, optional
        ``generative(spec) -> GenerativeModel`` (:mod:`pymc_hier.generative`).
    initial_values : callable, optional
        ``initial_values(spec) -> dict`` of starting values by variable name.
    units : callable, optional
        ``units(spec) -> dict`` of units by variable name (``{"alpha": "1/s", "t0": "s"}``;
        times and rates, ``"1/<time unit>"``, are shown in a unit chosen from the data).
    truth : callable, optional
        ``truth(spec) -> dict`` of the true values by variable name, for data that carry
        them (simulated data); an empty dict otherwise.
    derived : callable, optional
        ``derived(spec) -> tuple of Derived``: quantities computed from the parameters that
        a reader wants beside them (a half-life beside a decay rate).
    group_dim : str or callable, optional
        The dim of the units (``"widget"``), or ``group_dim(data)``.
    with_observed : callable, optional
        ``with_observed(data, observed) -> data``: the data with the observations replaced
        by ``observed`` (arrays by observed variable name, shaped like the model's), the
        design (times, standard errors, groups) kept; :func:`pymc_hier.sbc` fits each
        simulated data set through it. Default: for dataclass data (or an
        :class:`xarray.Dataset`) with fields (variables) named like the observed variables,
        those are replaced.
    example_data : callable, optional
        ``example_data() -> data``: the data ``pymc-hier run`` fits without ``--data``.
    read_csv : callable, optional
        ``read_csv(path) -> data`` (``--data``); default: the data type's ``from_csv``.
    to_dataset, from_dataset : callable, optional
        Data to and from an :class:`xarray.Dataset` (kept with fits as ``input_data``);
        default: the data type's methods of those names, or the identity for Datasets.
    default_sweep : tuple, optional
        ``(param, values)`` of the sweep ``pymc-hier run`` makes.
    cli_name : str, optional
        Name on the command line (``pymc-hier run decay``); default ``name``.
    summary : str
        One line saying what the family is.
    pooling : Pooling, optional
        The levels of pooling the family can build and the per-unit effect they share
        (:func:`pymc_hier.compare_pooling`).
    exact_logo : callable, optional
        ``exact_logo(model, spec) -> xarray.DataArray``: the exact log predictive density
        ``log p(y_g | y_-g)`` of each group's observations given every other group, along
        the group dim (:func:`pymc_hier.cross_validate` uses it instead of importance
        sampling or refits), or None where the model has none.
    predict : callable, optional
        ``predict(idata, model, spec, new_data, *, rng) -> (predictions,
        constant_data)``: posterior predictive draws for new (or existing) units described
        by ``new_data``, two :class:`xarray.Dataset` s along the group dim
        (:func:`pymc_hier.predict`).
    sampler_logp : callable, optional
        ``sampler_logp(model) -> TensorVariable or None``: the model's log density in its
        value variables, equal to ``model.logp()`` but written to compile faster for
        nutpie (a fused loop where PyMC's graph is many small ops); None where it has no
        such form. :func:`pymc_hier.nutpie_cache.compile_nutpie` compiles it instead of
        ``model.logp()`` after checking that both agree at random points (a model
        changed since it was built keeps its own graph).
    warm_up : callable, optional
        ``warm_up(model, spec) -> None``: compiles what ``postprocess`` will compile for
        this model (Numba kernels cached on disk), on a problem of one unit, and draws
        nothing that is kept. ``pymc-hier run`` calls it in its second process while this
        one compiles the model and samples, so that the fit loads the kernels instead of
        compiling them; results never depend on it.
    deprecated : mapping of str to mapping, optional
        Option values that still work but will be removed, with what to say:
        ``{option: {value: message}}`` (the message says why and what to use instead).
        Calling the family with one warns once the model is built
        (:meth:`warn_deprecated`); :meth:`make`, which builds a model again from its spec
        (refits, sweeps, :func:`pymc_hier.model_from_fit`), does not. A default value
        cannot be deprecated.
    """

    name: str
    build: Callable[..., pm.Model] = field(repr=False)
    data_type: type | tuple = xr.Dataset
    options: Mapping[str, tuple] = field(default_factory=dict)
    default_priors: Mapping[str, Prior] | Callable | None = field(default=None, repr=False)
    resolve_priors: Callable | None = field(default=None, repr=False)
    adapt_priors: Callable | None = field(default=None, repr=False)
    resolve_options: Callable | None = field(default=None, repr=False)
    population: tuple[str, ...] | Callable = ()
    internal: tuple[str, ...] | Callable = ()
    exact_posterior: Callable | None = field(default=None, repr=False)
    exact_partitioned: object | None = field(default=None, repr=False)
    postprocess: Callable | None = field(default=None, repr=False)
    generative: Callable | None = field(default=None, repr=False)
    initial_values: Callable | None = field(default=None, repr=False)
    units: Callable | None = field(default=None, repr=False)
    truth: Callable | None = field(default=None, repr=False)
    derived: Callable | None = field(default=None, repr=False)
    group_dim: str | Callable | None = field(default=None, repr=False)
    with_observed: Callable | None = field(default=None, repr=False)
    example_data: Callable | None = field(default=None, repr=False)
    read_csv: Callable | None = field(default=None, repr=False)
    to_dataset: Callable | None = field(default=None, repr=False)
    from_dataset: Callable | None = field(default=None, repr=False)
    default_sweep: tuple | None = None
    cli_name: str | None = None
    summary: str = ""
    pooling: Pooling | None = None
    exact_logo: Callable | None = field(default=None, repr=False)
    predict: Callable | None = field(default=None, repr=False)
    sampler_logp: Callable | None = field(default=None, repr=False)
    warm_up: Callable | None = field(default=None, repr=False)
    deprecated: Mapping[str, Mapping] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"name: expected an identifier such as 'radon', got {self.name!r}")
        if not callable(self.build):
            raise TypeError(f"build: expected a callable, got {type(self.build).__name__}")
        options = {}
        for key, accepted in dict(self.options).items():
            if key in ("data", "priors", "pgm"):
                raise ValueError(f"options: {key!r} is not an option (every family takes it)")
            options[key] = _tuple(accepted)
        object.__setattr__(self, "options", MappingProxyType(options))
        if not callable(self.population):
            object.__setattr__(self, "population", _tuple(self.population))
        if self.pooling is not None and not isinstance(self.pooling, Pooling):
            raise TypeError(f"pooling: expected a Pooling, got {type(self.pooling).__name__}")
        if not callable(self.internal):
            object.__setattr__(self, "internal", _tuple(self.internal))
        if self.default_sweep is not None:
            param, values = self.default_sweep
            object.__setattr__(self, "default_sweep", (str(param), tuple(values)))
        object.__setattr__(self, "deprecated", self._check_deprecated(self.deprecated))

    def _check_deprecated(self, deprecated: Mapping) -> Mapping:
        out = {}
        for key, values in dict(deprecated).items():
            if key not in self.options:
                raise ValueError(f"deprecated: {key!r} is not an option of the family "
                                 f"(options: {', '.join(self.options) or 'none'})")
            if not isinstance(values, Mapping):
                raise TypeError(f"deprecated[{key!r}]: expected a mapping of message by value, "
                                f"got {type(values).__name__}")
            accepted = self.options[key]
            for value, message in values.items():
                if accepted and value not in accepted:
                    raise ValueError(f"deprecated[{key!r}]: {value!r} is not a value of the "
                                     f"option (accepted: {', '.join(map(repr, accepted))})")
                if accepted and value == accepted[0]:
                    raise ValueError(f"deprecated[{key!r}]: {value!r} is the option's default")
                if not isinstance(message, str) or not message:
                    raise TypeError(f"deprecated[{key!r}][{value!r}]: expected a message")
            out[key] = MappingProxyType(dict(values))
        return MappingProxyType(out)

    # -- building ------------------------------------------------------------------------
    def __call__(self, data, *, priors=None, pgm=None, **options) -> pm.Model:
        """Build the family's model on ``data``; see the class docstring.

        Warns (``FutureWarning``) for a deprecated option value (``deprecated``).
        """
        model = self.make(data, priors=priors, pgm=pgm, factory=self.name, **options)
        self.warn_deprecated(options, stacklevel=2)
        return model

    def warn_deprecated(self, options: Mapping, *, stacklevel: int = 2) -> None:
        """Warn (``FutureWarning``) once for each deprecated value among ``options``.

        Called by the family's public builders (calling the family, its factory such as
        :func:`pymc_hier.decay_model`) once the model is built, not by :meth:`make`: a
        model built again from its spec does not warn again.

        Parameters
        ----------
        options : mapping
            The options chosen, by name.
        stacklevel : int, default 2
            As :func:`warnings.warn`'s, counted from the caller of this method (2: the
            caller's caller, the user's call of a builder).
        """
        for key, messages in self.deprecated.items():
            if key in options:
                message = next((m for v, m in messages.items() if v == options[key]), None)
                if message is not None:
                    warnings.warn(message, FutureWarning, stacklevel=stacklevel + 1)

    def make(self, data, *, priors=None, pgm=None, factory: str | None = None,
             **options) -> pm.Model:
        """Build the model as :meth:`__call__` does, recording ``factory`` as its builder."""
        factory = factory or self.name
        self.check_data(data, factory=factory)
        chosen = self.check_options(options, factory=factory)
        resolved = self.priors_for(priors, data, options=chosen, factory=factory)
        if self.resolve_options is not None:
            chosen = self.check_options(self.resolve_options(dict(chosen), data, resolved),
                                        factory=factory)
        model = self.build(data, priors=resolved, **chosen)
        if not isinstance(model, pm.Model):
            raise TypeError(f"{factory}: build returned {type(model).__name__}, not a "
                            "pymc.Model")
        attach_spec(model, ModelSpec(self, MappingProxyType(chosen),
                                     MappingProxyType(resolved), data, factory))
        if pgm is not None:
            export_pgm(model, pgm)
        return model

    def check_data(self, data, *, factory: str | None = None) -> None:
        """Raise ``TypeError`` unless ``data`` is of the family's data type."""
        if not isinstance(data, self.data_type):
            want = (" or ".join(t.__name__ for t in self.data_type)
                    if isinstance(self.data_type, tuple) else self.data_type.__name__)
            raise TypeError(f"data: {factory or self.name} expects {want}, got "
                            f"{type(data).__name__}")

    def check_options(self, options: Mapping, *, factory: str | None = None) -> dict:
        """Return every option with its value (defaults filled in), or raise.

        Raises
        ------
        TypeError
            For an option the family does not have.
        ValueError
            For a value that is not accepted.
        """
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise TypeError(f"{factory or self.name}() got unexpected keyword argument(s) "
                            f"{', '.join(map(repr, unknown))} (options: "
                            f"{', '.join(self.options) or 'none'})")
        out = {}
        for key, accepted in self.options.items():
            if key in options:
                value = options[key]
                if accepted and value not in accepted:
                    raise ValueError(f"{key}: must be one of {', '.join(map(repr, accepted))}, "
                                     f"got {value!r}")
            else:
                value = accepted[0] if accepted else None
            out[key] = value
        try:
            json.dumps(out)
        except TypeError as err:
            raise TypeError(f"options: must be JSON-serialisable ({err})") from None
        return out

    def defaults(self, data) -> dict[str, Prior]:
        """Return the default priors for ``data``."""
        priors = self.default_priors
        if callable(priors):
            priors = priors(data)
        return dict(priors or {})

    def priors_for(self, priors, data, *, options: Mapping | None = None,
                   factory: str | None = None) -> dict[str, Prior]:
        """Return the priors the model uses: the user's merged into the defaults.

        ``options`` are the chosen options (by default the defaults), which may change the
        parameters a model has (``adapt_priors``).
        """
        options = dict(self.check_options({}) if options is None else options)
        if self.resolve_priors is not None:
            return dict(self.resolve_priors(priors, data, options))
        if priors is not None and not isinstance(priors, Mapping):
            raise TypeError(f"priors: expected a mapping of Prior by parameter name, got "
                            f"{type(priors).__name__}")
        defaults = self.defaults(data)
        if self.adapt_priors is not None:
            defaults = dict(self.adapt_priors(defaults, options))
        return resolve_priors(priors, defaults, factory=factory or self.name)

    # -- data ----------------------------------------------------------------------------
    def fingerprint(self, data) -> str:
        """SHA-256 of the data (hex): equal data, equal fingerprint."""
        if hasattr(data, "fingerprint"):
            return data.fingerprint()
        return _default_fingerprint(self.data_to_dataset(data))

    def data_to_dataset(self, data) -> xr.Dataset:
        """Return the data as an :class:`xarray.Dataset` (kept with fits as ``input_data``)."""
        if self.to_dataset is not None:
            return self.to_dataset(data)
        if isinstance(data, xr.Dataset):
            return data
        if hasattr(data, "to_dataset"):
            return data.to_dataset()
        raise TypeError(f"data: the {self.name!r} family cannot store a "
                        f"{type(data).__name__}; give it to_dataset and from_dataset")

    def data_from_dataset(self, ds: xr.Dataset):
        """Inverse of :meth:`data_to_dataset`."""
        if self.from_dataset is not None:
            return self.from_dataset(ds)
        types = self.data_type if isinstance(self.data_type, tuple) else (self.data_type,)
        for t in types:
            if t is xr.Dataset:
                return ds
            if hasattr(t, "from_dataset"):
                return t.from_dataset(ds)
        raise TypeError(f"the {self.name!r} family cannot read its data from a Dataset; "
                        "give it from_dataset")

    def data_with_observed(self, data, observed: Mapping[str, np.ndarray]):
        """Return ``data`` with its observations replaced by ``observed`` (see ``with_observed``).

        Raises
        ------
        TypeError
            When the family has no ``with_observed`` and its data are neither a dataclass
            nor a Dataset holding every observed name.
        """
        if self.with_observed is not None:
            return self.with_observed(data, observed)
        if dataclasses.is_dataclass(data) and set(observed) <= {
                f.name for f in dataclasses.fields(data)}:
            return dataclasses.replace(data, **{k: np.asarray(v) for k, v in observed.items()})
        if isinstance(data, xr.Dataset) and set(observed) <= set(data.data_vars):
            return data.assign({name: (data[name].dims, np.asarray(value).reshape(
                data[name].shape)) for name, value in observed.items()})
        raise TypeError(f"the {self.name!r} family cannot put simulated observations "
                        f"({', '.join(observed)}) into its {type(data).__name__} data; give "
                        "it with_observed")

    def data_from_csv(self, path):
        """Read the family's data from a CSV file (``read_csv`` or the type's ``from_csv``)."""
        if self.read_csv is not None:
            return self.read_csv(path)
        types = self.data_type if isinstance(self.data_type, tuple) else (self.data_type,)
        for t in types:
            if hasattr(t, "from_csv"):
                return t.from_csv(path)
        raise TypeError(f"the {self.name!r} family reads no CSV files; give it read_csv")

    # -- questions the tools ask -----------------------------------------------------------
    def population_names(self, spec: ModelSpec) -> tuple[str, ...]:
        """Return the population-level parameters of the model ``spec`` describes."""
        return tuple(self.population(spec)) if callable(self.population) else self.population

    def internal_names(self, spec: ModelSpec) -> tuple[str, ...]:
        """Variables of the parametrisation that are not part of the model as written."""
        return tuple(self.internal(spec)) if callable(self.internal) else self.internal

    def group_dim_of(self, data) -> str | None:
        """Return the dim of the units for ``data``."""
        return self.group_dim(data) if callable(self.group_dim) else self.group_dim

    @property
    def command(self) -> str:
        """Name on the command line."""
        return self.cli_name or self.name

    @property
    def signature(self) -> inspect.Signature:
        """The keyword options as a signature (for documentation and the CLI)."""
        params = [inspect.Parameter("data", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY,
                                     default=v[0] if v else None)
                   for k, v in self.options.items()]
        params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=None)
                   for k in ("priors", "pgm")]
        return inspect.Signature(params)

