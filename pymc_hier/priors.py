"""Small immutable prior specifications: :class:`Prior`."""

from __future__ import annotations

import inspect
import math
import threading
from collections.abc import Callable, Mapping
from functools import cached_property, lru_cache
from types import MappingProxyType

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc.distributions.transforms import _default_transform
from pymc.logprob.transforms import IntervalTransform
from pymc.logprob.utils import ParameterValueError

# Parameters that must be strictly positive wherever they appear ...
_POSITIVE = frozenset({"sigma", "tau", "lam", "nu", "b", "kappa", "scale"})
# ... and those that are positive only for some distributions.
_POSITIVE_BY_DIST = {
    "beta": {"HalfCauchy", "Cauchy", "Gamma", "InverseGamma", "Beta", "Weibull", "Gumbel",
             "Kumaraswamy", "Logistic"},
    "alpha": {"Gamma", "InverseGamma", "Beta", "Weibull", "Pareto", "Kumaraswamy"},
    "m": {"Pareto"},
}
_GREEK = {"mu": "μ", "sigma": "σ", "tau": "τ", "beta": "β", "alpha": "α", "lam": "λ",
          "nu": "ν", "kappa": "κ"}


def _signature_params(cls) -> tuple[str, ...]:
    sig = inspect.signature(cls.dist)
    return tuple(
        name for name, p in sig.parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name != "size"
    )


def _canonical(name: str, value):
    """Return a hashable, JSON-friendly copy of a parameter value (float or nested tuple)."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name}: expected a number or an array of numbers, got {value!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    if arr.ndim == 0:
        return float(arr)
    return _nested_tuple(np.asarray(arr, dtype=float).tolist())


def _nested_tuple(values):
    if isinstance(values, list):
        return tuple(_nested_tuple(v) for v in values)
    return values


class Prior:
    """A prior distribution: a PyMC distribution name plus its parameters.

    Priors are immutable, compare and hash by value, and serialise to plain dicts, so they
    can go into configuration hashes, reports and sweeps.

    Parameters
    ----------
    dist : str
        Name of a PyMC distribution, e.g. ``"HalfCauchy"``.
    **params
        Its parameters as numbers (or arrays of numbers).

    Raises
    ------
    ValueError
        For an unknown distribution, an unknown or missing parameter, a non-finite value or
        a value outside the parameter's domain (a scale <= 0, ``lower >= upper``, and, for
        univariate distributions, whatever PyMC's own parameter checks reject, such as a
        Beta mean outside (0, 1)).

    See Also
    --------
    Prior.support : the bounds of the support, from the PyMC distribution.

    Examples
    --------
    >>> from pymc_hier import Prior
    >>> p = Prior("HalfCauchy", beta=5)
    >>> p
    Prior("HalfCauchy", beta=5.0)
    >>> Prior.from_dict(p.to_dict()) == p
    True
    >>> p.label()
    'HalfCauchy(β=5)'
    """

    __slots__ = ("_dist", "_params", "__dict__")

    def __init__(self, dist: str, /, **params):
        if not isinstance(dist, str):
            raise ValueError(f"dist: expected a distribution name, got {dist!r}")
        cls = getattr(pm, dist, None)
        if not (isinstance(cls, type) and issubclass(cls, pm.Distribution)
                and getattr(cls, "rv_op", None) is not None):
            raise ValueError(f"dist: unknown PyMC distribution {dist!r}")
        allowed = _signature_params(cls)
        for name in params:
            if name not in allowed:
                raise ValueError(
                    f"{dist}: unknown parameter {name!r} (accepted: {', '.join(allowed) or 'none'})"
                )
        clean = {k: _canonical(f"{dist}.{k}", v) for k, v in sorted(params.items())}
        for name, value in clean.items():
            positive = name in _POSITIVE or dist in _POSITIVE_BY_DIST.get(name, ())
            if positive and np.any(np.asarray(value) <= 0):
                raise ValueError(f"{dist}.{name}: must be > 0, got {value!r}")
        if {"lower", "upper"} <= clean.keys() and np.any(
            np.asarray(clean["lower"]) >= np.asarray(clean["upper"])
        ):
            raise ValueError(f"{dist}: lower must be < upper, got {clean['lower']!r} >= "
                             f"{clean['upper']!r}")
        try:
            with np.errstate(over="ignore"):  # PyTensor tries float32 first for a float
                rv = cls.dist(**clean)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{dist}: invalid parameters {clean!r}: {err}") from None
        object.__setattr__(self, "_dist", dist)
        object.__setattr__(self, "_params", MappingProxyType(clean))
        self._check_domain(rv)

    def _check_domain(self, rv) -> None:
        """Evaluate the log density once, so PyMC's own parameter checks run now.

        Invalid values such as a negative Poisson rate, a Beta mean outside (0, 1), a
        Dirichlet concentration <= 0 or a covariance that is not positive definite are
        rejected here. Multivariate distributions are checked at their support point.
        """
        if rv.owner.op.ndim_supp != 0:
            self._check_multivariate(rv)
            return
        kernel = _scalar_kernel(self)
        try:
            if kernel is not None:  # compiled once per distribution and parameter names
                values = list(self._params.values())
                bounds = kernel.support(*values)
                self.__dict__["_support"] = bounds
                point = _inside(np.asarray(bounds[0]), np.asarray(bounds[1]), discrete=False)
                kernel.logp(np.atleast_1d(point), *values)
                return
            lower, upper = self.support()
        except ParameterValueError as err:  # a ValueError: caught first
            raise ValueError(
                f"{self._dist}: invalid parameters {dict(self._params)!r}: PyMC requires {err}"
            ) from None
        except ValueError:
            return
        discrete = np.dtype(rv.dtype).kind in "iu"
        point = _inside(np.asarray(lower), np.asarray(upper), discrete=discrete)
        try:
            _eval(pm.logp(rv, point.astype(rv.dtype)))
        except ParameterValueError as err:
            raise ValueError(
                f"{self._dist}: invalid parameters {dict(self._params)!r}: PyMC requires {err}"
            ) from None
        except NotImplementedError:  # no log density to check against
            return

    def _check_multivariate(self, rv) -> None:
        """PyMC's parameter checks (``a > 0``, ``posdef covariance``) at the support point."""
        from pymc.distributions.distribution import support_point

        try:
            point = _eval(support_point(rv))
            value = _eval(pm.logp(rv, point))
        except ParameterValueError as err:
            raise ValueError(
                f"{self._dist}: invalid parameters {dict(self._params)!r}: PyMC requires {err}"
            ) from None
        except (NotImplementedError, TypeError, ValueError, AttributeError):
            return  # no support point or log density to check against
        if np.any(np.isnan(value)):
            raise ValueError(f"{self._dist}: invalid parameters {dict(self._params)!r}: the "
                             "log density is NaN at the distribution's support point")

    def __setattr__(self, name, value):
        raise AttributeError("Prior is immutable; use with_params() to get a changed copy")

    # -- value semantics ----------------------------------------------------------------
    @property
    def dist(self) -> str:
        """The PyMC distribution name."""
        return self._dist

    @property
    def params(self) -> Mapping[str, float | tuple]:
        """The parameters (read-only mapping)."""
        return self._params

    def __eq__(self, other) -> bool:
        if not isinstance(other, Prior):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    @cached_property
    def _key(self):
        return (self._dist, tuple(self._params.items()))

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self._params.items())
        return f'Prior("{self._dist}"{args})'

    def __reduce__(self):
        return (_from_dict, (self.to_dict(),))

    def to_dict(self) -> dict:
        """Return ``{"dist": name, **params}`` with plain Python numbers."""
        return {"dist": self._dist, **{k: (list(v) if isinstance(v, tuple) else v)
                                       for k, v in self._params.items()}}

    @classmethod
    def from_dict(cls, d: Mapping) -> Prior:
        """Inverse of :meth:`to_dict`."""
        if "dist" not in d:
            raise ValueError(f"dist: missing key in prior dict {dict(d)!r}")
        d = dict(d)
        return cls(d.pop("dist"), **d)

    def with_params(self, **changes) -> Prior:
        """Return a copy with some parameters changed (the original is untouched)."""
        return Prior(self._dist, **{**self._params, **changes})

    # -- PyMC ---------------------------------------------------------------------------
    @property
    def dist_class(self) -> type[pm.Distribution]:
        """The PyMC distribution class."""
        return getattr(pm, self._dist)

    def create_variable(self, name: str, *, dims=None, **kwargs):
        """Create the PyMC random variable ``name`` inside the current model context.

        Parameters
        ----------
        name : str
            Variable name.
        dims : str or tuple of str, optional
            Model dims of the variable.
        **kwargs
            Passed on to the distribution (``transform``, ``initval``, ``observed`` ...).
            Parameters given here replace the prior's own, which lets a factory pass
            symbolic hyperparameters (e.g. ``pm.Data``) in their place.
        """
        return self.dist_class(name, **{**self._params, **kwargs}, dims=dims)

    def dist_variable(self, **kwargs):
        """Return an unnamed ``.dist`` variable (for ``pm.logp`` or ``pm.draw``)."""
        return self.dist_class.dist(**{**self._params, **kwargs})

    def support(self) -> tuple[float | np.ndarray, float | np.ndarray]:
        """Return the ``(lower, upper)`` bounds of the prior's support.

        The bounds come from the PyMC distribution itself: from the default transform PyMC
        uses for it (log for positive distributions, log-odds for the unit interval, an
        interval transform with bounds from the parameters) or, for the common discrete
        distributions, from their parameters. Unbounded ends are ``-inf`` / ``inf``. For
        array parameters the bounds are arrays of the variable's shape.

        Returns
        -------
        lower, upper : float or numpy.ndarray

        Raises
        ------
        ValueError
            When the support of the distribution is not known.

        Examples
        --------
        >>> from pymc_hier import Prior
        >>> Prior("HalfCauchy", beta=5).support()
        (0.0, inf)
        >>> Prior("Uniform", lower=-1, upper=2).support()
        (-1.0, 2.0)
        """
        return self._support

    @cached_property
    def _support(self):
        rv = self.dist_variable()
        shape = tuple(_eval(rv.shape))
        if issubclass(self.dist_class, pm.Discrete):
            bounds = _discrete_support(self._dist, self._params, shape)
        else:
            # The transform a model would give the variable (no model is built, so this is
            # safe inside a user's model context).
            transform = _default_transform(rv.owner.op, rv)
            bounds = _continuous_support(self._dist, transform, rv)
        lower, upper = (np.broadcast_to(np.asarray(b, dtype=float), shape) for b in bounds)
        if lower.ndim == 0:
            return float(lower), float(upper)
        for b in (lower, upper):
            b.setflags(write=False)
        return lower, upper

    def support_covers(self, other: Prior) -> bool:
        """Whether this prior's support contains all of ``other``'s (element-wise, all).

        Prior sweeps use it to tell whether a new prior can reach every value an old one
        could (a wider or equal support), e.g. ``Normal`` covers ``HalfNormal``.

        Examples
        --------
        >>> from pymc_hier import Prior
        >>> Prior("Normal", mu=0, sigma=1).support_covers(Prior("HalfNormal", sigma=1))
        True
        >>> Prior("HalfNormal", sigma=1).support_covers(Prior("Normal", mu=0, sigma=1))
        False
        """
        if not isinstance(other, Prior):
            raise ValueError(f"other: expected a Prior, got {other!r}")
        lo, hi = self.support()
        olo, ohi = other.support()
        return bool(np.all(np.asarray(lo) <= olo) and np.all(np.asarray(hi) >= ohi))

    def logp_function(self) -> Callable[[np.ndarray], np.ndarray]:
        """Return a vectorised NumPy function of the log density (``-inf`` off support).

        For continuous priors with scalar parameters the PyTensor function is compiled once
        per distribution and parameter names and shared by every such prior (a sweep over
        a hyperparameter compiles nothing after its first setting).
        """
        kernel = _scalar_kernel(self)
        if kernel is None:
            value = pt.dvector("value")
            fn = pytensor.function([value], pm.logp(self.dist_variable(), value),
                                   mode="FAST_COMPILE")
            values = []
        else:
            fn, values = kernel.logp, list(self._params.values())

        def logp(x):
            x = np.asarray(x, dtype=float)
            with np.errstate(all="ignore"):
                out = fn(x.reshape(-1), *values)
            return np.asarray(out, dtype=float).reshape(x.shape)

        return logp

    def logp(self, value) -> np.ndarray:
        """Evaluate the log density at ``value`` (NumPy in, NumPy out; ``-inf`` off support)."""
        value = np.asarray(value, dtype=float)
        rv = self.dist_variable()
        if np.dtype(rv.dtype).kind not in "iu":
            return _eval(pm.logp(rv, value)).astype(float)
        whole = np.isfinite(value) & (value == np.round(value))  # discrete: integers only
        out = _eval(pm.logp(rv, np.where(whole, value, 0).astype(rv.dtype)))
        return np.where(whole, out, -np.inf)

    # -- presentation ---------------------------------------------------------------------
    def label(self) -> str:
        """Return a compact Unicode label such as ``'HalfCauchy(β=5)'``."""
        parts = [f"{_GREEK.get(k, k)}={_fmt(v)}" for k, v in self._params.items()]
        return f"{self._dist}({', '.join(parts)})"


class _ScalarKernel:
    """Compiled support bounds and log density of one distribution, parameters as inputs.

    Shared by every prior of the family, across threads: a PyTensor function keeps its
    inputs and outputs in per-function storage, so calls are serialised by a lock.
    """

    def __init__(self, dist: str, names: tuple[str, ...]):
        self._lock = threading.Lock()
        cls = getattr(pm, dist)
        params = [pt.dscalar(name) for name in names]
        rv = cls.dist(**dict(zip(names, params, strict=True)))
        transform = _default_transform(rv.owner.op, rv)
        lower, upper = _continuous_support(dist, transform, rv, evaluate=False)
        value = pt.dvector("value")
        self._logp = pytensor.function([value, *params], pm.logp(rv, value),
                                       mode="FAST_COMPILE", on_unused_input="ignore")
        bounds = [pt.as_tensor_variable(b, dtype="float64") for b in (lower, upper)]
        self._bounds = pytensor.function(params, bounds, mode="FAST_COMPILE",
                                         on_unused_input="ignore")

    def logp(self, value, *params) -> np.ndarray:
        with self._lock:
            return np.array(self._logp(value, *params), dtype=float)  # a copy: storage is reused

    def support(self, *values) -> tuple[float, float]:
        with self._lock:
            lower, upper = self._bounds(*values)
            return float(lower), float(upper)


@lru_cache(maxsize=128)
def _kernel_for(dist: str, names: tuple[str, ...]) -> _ScalarKernel | None:
    try:
        return _ScalarKernel(dist, names)
    except (ValueError, TypeError, NotImplementedError):
        return None


def _scalar_kernel(prior: Prior) -> _ScalarKernel | None:
    """Return the shared kernel of a continuous prior with scalar parameters, or None."""
    if issubclass(prior.dist_class, pm.Discrete) or not all(
            isinstance(v, float) for v in prior.params.values()):
        return None
    return _kernel_for(prior.dist, tuple(prior.params))


def _eval(expr) -> np.ndarray:
    """Evaluate a constant PyTensor expression without C compilation (quick)."""
    with np.errstate(all="ignore"):  # log(0) = -inf off the support is expected
        return np.asarray(pt.as_tensor_variable(expr).eval(mode="FAST_COMPILE"))


def _inside(lower: np.ndarray, upper: np.ndarray, *, discrete: bool) -> np.ndarray:
    """Return a point strictly inside ``(lower, upper)`` (integers when ``discrete``)."""
    lo_fin, hi_fin = np.isfinite(lower), np.isfinite(upper)
    point = np.where(lo_fin & hi_fin, (np.where(lo_fin, lower, 0) + np.where(hi_fin, upper, 0)) / 2,
                     np.where(lo_fin, lower + 1, np.where(hi_fin, upper - 1, 0.0)))
    return np.ceil(point) if discrete else point


def _continuous_support(dist: str, transform, var, *, evaluate: bool = True):
    """Support bounds implied by PyMC's default transform of ``var``."""
    if transform is None:
        return -np.inf, np.inf
    if isinstance(transform, IntervalTransform):
        lower, upper, _, _ = transform.get_a_and_b(var.owner.inputs)
        lower = -np.inf if lower is None else lower
        upper = np.inf if upper is None else upper
        return (_eval(lower), _eval(upper)) if evaluate else (lower, upper)
    kind = type(transform).__name__
    known = {"LogTransform": (0.0, np.inf), "LogExpM1": (0.0, np.inf),
             "LogOddsTransform": (0.0, 1.0), "SimplexTransform": (0.0, 1.0),
             "CircularTransform": (-np.pi, np.pi), "ZeroSumTransform": (-np.inf, np.inf)}
    if kind not in known:
        raise ValueError(f"{dist}: support not known (default transform {kind})")
    return known[kind]


def _discrete_support(dist: str, params, shape):
    """Support bounds of the common discrete distributions, from their parameters."""
    p = {k: np.asarray(v, dtype=float) for k, v in params.items()}
    if dist in ("Poisson", "NegativeBinomial", "DiscreteWeibull"):
        return 0.0, np.inf
    if dist == "Geometric":
        return 1.0, np.inf
    if dist == "Bernoulli":
        return 0.0, 1.0
    if dist in ("Binomial", "BetaBinomial"):
        return 0.0, p["n"]
    if dist == "DiscreteUniform":
        return p.get("lower", 0.0), p.get("upper", 1.0)
    if dist == "Categorical":
        k = np.shape(p["p"] if "p" in p else p["logit_p"])[-1]
        return 0.0, float(k - 1)
    if dist == "DiracDelta":
        return p["c"], p["c"]
    raise ValueError(f"{dist}: support not known for this discrete distribution")


def _fmt(v) -> str:
    if isinstance(v, tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if math.isfinite(v) and v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.4g}"


def _from_dict(d):
    return Prior.from_dict(d)


def resolve_priors(priors: Mapping[str, Prior] | None, defaults: Mapping[str, Prior],
                   *, factory: str) -> dict[str, Prior]:
    """Merge user ``priors`` into a factory's ``defaults``, rejecting unknown names.

    Plain dicts such as ``{"dist": "HalfCauchy", "beta": 5}`` are accepted in place of
    :class:`Prior` objects.
    """
    if priors is not None and not isinstance(priors, Mapping):
        raise TypeError(f"priors: expected a mapping of Prior by parameter name, got "
                        f"{type(priors).__name__} {priors!r:.60}")
    merged = dict(defaults)
    for name, prior in (priors or {}).items():
        if name not in defaults:
            raise ValueError(
                f"priors: {factory} has no parameter {name!r} (its priors: "
                f"{', '.join(defaults)})"
            )
        if isinstance(prior, Mapping):
            prior = Prior.from_dict(prior)
        if not isinstance(prior, Prior):
            raise TypeError(f"priors[{name!r}]: expected a Prior (or its dict), got "
                            f"{type(prior).__name__} {prior!r:.60}")
        merged[name] = prior
    return merged
