"""The straight-line family: :func:`straight_line_model` and the record :data:`STRAIGHT_LINE`.

The lecture's first graphical model, as written (:func:`generative`)::

    m, b ~ priors                              (slope and intercept: latent)
    ŷ_i  ~ Normal(m x̂_i + b, sigma_y,i)        (x̂_i and sigma_y,i fixed; ŷ_i observed)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pymc as pm

from pymc_hier.family import ModelFamily
from pymc_hier.generative import GenerativeModel, Node, Symbol
from pymc_hier.line.data import LineData, simulate_line
from pymc_hier.line.exact import line_posterior
from pymc_hier.line.model import build
from pymc_hier.priors import Prior
from pymc_hier.spec import ModelSpec, current_priors

__all__ = ["STRAIGHT_LINE", "exact_posterior", "generative", "straight_line_model"]

#: Default priors: weakly informative for data of order one (pass ``priors=`` otherwise).
DEFAULT_PRIORS = {"m": Prior("Normal", mu=0.0, sigma=10.0),
                  "b": Prior("Normal", mu=0.0, sigma=10.0)}


def straight_line_model(x, y, sigma_y, *, priors=None, pgm=None) -> pm.Model:
    """Build the straight-line model: ``y_i ~ Normal(m x_i + b, sigma_y,i)``.

    Parameters
    ----------
    x, y : array_like
        The points (``x`` exact).
    sigma_y : array_like
        Known standard error of each ``y``, > 0.
    priors : mapping, optional
        :class:`~pymc_hier.Prior` for ``m`` and ``b``, merged into the defaults
        (``Normal(0, 10)`` each); ``Prior("Flat")`` gives weighted least squares.
    pgm : str or path, optional
        Path prefix to export the model's PGM to (the lecture's figure: ``m`` and ``b``
        latent, ``x̂_i`` and ``σ_y,i`` fixed, ``ŷ_i`` observed, plate ``i = 1..N``).

    Returns
    -------
    pymc.Model
        Dim ``point``; ``pm.Data`` ``x`` and ``sigma_y``; free ``m``, ``b``; observed ``y``.

    Raises
    ------
    ValueError
        For arrays of different lengths, fewer than two points, non-finite values,
        ``sigma_y <= 0`` or an unknown prior name.

    Examples
    --------
    >>> import pymc_hier as ph
    >>> model = ph.straight_line_model([0, 1, 2], [1.1, 2.9, 5.2], [0.2, 0.2, 0.3])
    >>> sorted(v.name for v in model.free_RVs)
    ['b', 'm']
    """
    return STRAIGHT_LINE.make(LineData(x, y, sigma_y), priors=priors, pgm=pgm,
                              factory="straight_line_model")


def exact_posterior(model: pm.Model, spec: ModelSpec, hyper: Mapping | None = None,
                    **kwargs):
    """Return the exact posterior of ``(m, b)`` (:func:`pymc_hier.line.exact.line_posterior`).

    The model's current ``x`` and ``sigma_y`` and prior hyperparameters are used.
    """
    data = spec.data
    x, sigma_y = (np.asarray(model[k].get_value(), dtype=float) for k in ("x", "sigma_y"))
    if not (np.array_equal(x, data.x) and np.array_equal(sigma_y, data.sigma_y)):
        data = LineData(x, data.y, sigma_y, dim=data.dim)
    return line_posterior(data, priors=current_priors(model, spec, hyper), **kwargs)


def generative(spec: ModelSpec) -> GenerativeModel:
    """Describe the straight line as the lecture draws it (hats on the measured values)."""
    dim = spec.data.dim
    p = (dim,)
    nodes = (
        Node.from_prior("m", spec.priors["m"], Symbol("m"), description="slope"),
        Node.from_prior("b", spec.priors["b"], Symbol("b"), description="intercept"),
        Node("x", "fixed", Symbol("x", accent="hat"), dims=p, description="abscissa"),
        Node("sigma_y", "fixed", Symbol("σ", ("y",)), dims=p,
             description="standard error of y"),
        Node("y", "observed", Symbol("y", accent="hat"), dist="Normal",
             params=(("mu", "m * x + b"), ("sigma", "sigma_y")), dims=p,
             description="measured ordinate"),
    )
    return GenerativeModel(nodes, dim_names={dim: ""}, index_letters={dim: "i"})


def _build(data: LineData, *, priors) -> pm.Model:
    return build(data, priors=priors)


#: The straight-line family (:func:`straight_line_model`).
STRAIGHT_LINE = ModelFamily(
    name="straight_line",
    build=_build,
    data_type=LineData,
    default_priors=DEFAULT_PRIORS,
    population=("m", "b"),
    exact_posterior=exact_posterior,
    generative=generative,
    group_dim=lambda data: data.dim,
    example_data=simulate_line,
    cli_name="line",
    summary="a straight line through points with known error bars (the lecture's first PGM)",
)
