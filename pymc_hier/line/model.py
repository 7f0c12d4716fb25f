"""The straight line's PyMC graph: ``y_i ~ Normal(m x_i + b, sigma_y,i)``."""

from __future__ import annotations

import pymc as pm

from pymc_hier.line.data import LineData

__all__ = ["build"]


def build(data: LineData, *, priors) -> pm.Model:
    """Build the model (no spec; :func:`pymc_hier.straight_line_model` adds it).

    ``x`` and ``sigma_y`` are ``pm.Data`` (dim ``data.dim``), ``m`` and ``b`` come from
    ``priors``, ``y`` is observed.
    """
    with pm.Model(coords={data.dim: range(len(data))}) as model:
        x = pm.Data("x", data.x, dims=data.dim)
        sigma_y = pm.Data("sigma_y", data.sigma_y, dims=data.dim)
        m = priors["m"].create_variable("m")
        b = priors["b"].create_variable("b")
        pm.Normal("y", mu=m * x + b, sigma=sigma_y, observed=data.y, dims=data.dim)
    return model
