"""Predictions of the decay family (its ``predict``): new widgets, and fitted ones later on.

Each row of ``new_data`` asks for one widget at one time ``t_measured``:

- a fitted widget (its label is in the data): the amount left then, ``N0_i exp(-alpha_i
  (t - t0_i))``, from the posterior draws of its ``N0``, ``t0`` and rate ("how much is left
  in widget 17 a year from now?");
- a new widget, with its manufacture day (``day_start``, ``day_end``) or exact ``t0``:
  ``t0 ~ Uniform(day_start, day_end)``, ``N0 ~ Uniform(0, N0_max)`` and its rate (the
  shared one, or a new draw ``mu_alpha exp(tau_alpha z)`` from the population of rates),
  at every posterior draw.

With a ``sigma`` column, a measurement ``n_measured ~ Normal(amount, sigma)`` is drawn too.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from pymc_hier.spec import ModelSpec

__all__ = ["new_widgets", "predict"]

_COLUMNS = ("widget", "t_measured", "sigma", "day_start", "day_end", "t0")


def new_widgets(new_data) -> pd.DataFrame:
    """``new_data`` as a DataFrame with the columns :data:`_COLUMNS` (NaN where absent).

    Accepts a DataFrame, a mapping of equal-length columns or an :class:`xarray.Dataset`
    along ``widget``; ``t_measured`` is required, labels default to ``new_0``, ...
    """
    if isinstance(new_data, xr.Dataset):
        df = new_data.to_dataframe().reset_index()
    elif isinstance(new_data, pd.DataFrame):
        df = new_data.reset_index() if new_data.index.name == "widget" else new_data.copy()
    elif isinstance(new_data, Mapping):
        try:
            df = pd.DataFrame({k: np.atleast_1d(v) for k, v in new_data.items()})
        except ValueError as err:
            raise ValueError(f"new_data: columns of different lengths ({err})") from None
    else:
        raise TypeError(f"new_data: expected a DataFrame, a mapping or a Dataset, got "
                        f"{type(new_data).__name__}")
    unknown = sorted(set(df.columns) - set(_COLUMNS) - {"index"})
    if unknown:
        raise ValueError(f"new_data: unknown column(s) {unknown} (columns: "
                         f"{', '.join(_COLUMNS)})")
    if "t_measured" not in df.columns or len(df) == 0:
        raise ValueError("new_data: needs 't_measured', the time of each prediction")
    if "widget" not in df.columns:
        df["widget"] = [f"new_{k}" for k in range(len(df))]
    if df["widget"].duplicated().any():
        raise ValueError("new_data: one row per widget (repeat the call for other times)")
    for col in _COLUMNS[1:]:
        df[col] = pd.to_numeric(df[col], errors="raise").astype(float) if col in df else np.nan
    if not np.all(np.isfinite(df["t_measured"])):
        raise ValueError("new_data: 't_measured' must be finite")
    if np.any(df["sigma"] < 0):
        raise ValueError("new_data: 'sigma' must be >= 0")
    return df[list(_COLUMNS)]


def _label_index(model: pm.Model, labels) -> dict:
    fitted = np.asarray(model.coords["widget"])
    index = {}
    for k, value in enumerate(fitted):
        index[str(value)] = k
        index[value] = k
    return {lab: index.get(lab, index.get(str(lab))) for lab in labels}


def predict(idata: xr.DataTree, model: pm.Model, spec: ModelSpec, new_data, *,
            rng: np.random.Generator) -> tuple[xr.Dataset, xr.Dataset]:
    """Draw each requested widget's amount (and measurement) at its time.

    Parameters
    ----------
    idata : xarray.DataTree
        The fit: posterior draws of the rate(s), and ``N0`` and ``t0`` for fitted widgets
        (exact fits and :func:`pymc_hier.fit`'s post-processing provide them).
    model : pymc.Model
        The fitted model.
    spec : ModelSpec
        Its spec.
    new_data : DataFrame, mapping or Dataset
        Columns ``widget``, ``t_measured`` and, as needed, ``sigma``, ``day_start``,
        ``day_end`` or ``t0`` (see the module docstring).
    rng : numpy.random.Generator
        Source of the draws.

    Returns
    -------
    predictions, constant_data : xarray.Dataset
        ``amount`` (and ``n_measured`` where ``sigma`` is given), ``alpha``, ``t0`` and
        ``N0`` of every requested widget, dims ``(chain, draw, widget)``; the request, with a
        boolean ``new`` coordinate.

    Raises
    ------
    ValueError
        For a new widget without its manufacture day, or a time before a widget was made.
    """
    df = new_widgets(new_data)
    post = idata["posterior"].to_dataset()
    shape = post.sizes["chain"], post.sizes["draw"]
    n = len(df)
    position = _label_index(model, df["widget"].tolist())
    is_new = np.array([position[w] is None for w in df["widget"]])
    missing = is_new & (df["t0"].isna() & (df["day_start"].isna() | df["day_end"].isna()))
    if missing.any():
        raise ValueError(f"new_data: new widgets {df['widget'][missing].tolist()} need their "
                         "manufacture day (day_start, day_end) or t0")
    alpha, t_made, n0 = (np.empty(shape + (n,)) for _ in range(3))
    hierarchical = spec.options["alpha"] == "hierarchical"
    rate = post["alpha"].transpose("chain", "draw", ...).values
    if is_new.any():
        k = int(is_new.sum())
        if hierarchical:
            mu = post["mu_alpha"].transpose("chain", "draw").values[..., None]
            tau = post["tau_alpha"].transpose("chain", "draw").values[..., None]
            alpha[..., is_new] = mu * np.exp(tau * rng.standard_normal(shape + (k,)))
        else:
            alpha[..., is_new] = rate[..., None]
        new = df[is_new]
        start = np.where(new["t0"].notna(), new["t0"], new["day_start"]).astype(float)
        end = np.where(new["t0"].notna(), new["t0"], new["day_end"]).astype(float)
        if np.any(end < start):
            raise ValueError("new_data: day_end precedes day_start")
        t_made[..., is_new] = start + (end - start) * rng.uniform(size=shape + (k,))
        n0_max = float(model["n0_max"].get_value())
        n0[..., is_new] = n0_max * rng.uniform(size=shape + (k,))
    if not is_new.all():
        if "N0" not in post:
            raise ValueError("idata: no N0 draws of the fitted widgets (fit with "
                             "pymc_hier.fit, which adds them)")
        idx = [position[w] for w, new in zip(df["widget"], is_new, strict=True) if not new]
        old = ~is_new
        alpha[..., old] = rate[..., idx] if hierarchical else rate[..., None]
        n0[..., old] = post["N0"].transpose("chain", "draw", "widget").values[..., idx]
        if "t0" in post:
            t_made[..., old] = post["t0"].transpose("chain", "draw", "widget").values[..., idx]
        else:
            t_made[..., old] = np.asarray(model["t0"].get_value(), dtype=float)[idx]
    t = df["t_measured"].to_numpy()
    early = np.any(t < t_made, axis=(0, 1))
    if early.any():
        raise ValueError(f"new_data: t_measured precedes the manufacture of widgets "
                         f"{df['widget'][early].tolist()}")
    amount = n0 * np.exp(-alpha * (t - t_made))
    coords = {"chain": post["chain"].values, "draw": post["draw"].values,
              "widget": df["widget"].to_numpy()}
    dims = ("chain", "draw", "widget")
    unit = spec.data.time_unit
    out = {"amount": (dims, amount, {"long_name": "amount left",
                                     "description": "N0 exp(-alpha (t_measured - t0))"}),
           "alpha": (dims, alpha, {"long_name": "decay rate", "units": f"1/{unit}"}),
           "t0": (dims, t_made, {"long_name": "manufacture time", "units": unit}),
           "N0": (dims, n0, {"long_name": "initial amount"})}
    sigma = df["sigma"].to_numpy()
    if np.isfinite(sigma).any():
        noise = np.where(np.isfinite(sigma), sigma, 0.0)
        out["n_measured"] = (dims, amount + noise * rng.standard_normal(amount.shape),
                             {"long_name": "measured amount",
                              "description": "Normal(amount, sigma); sigma 0 where none was "
                                             "given"})
    constant = xr.Dataset(
        {col: ("widget", df[col].to_numpy(), {"units": unit} if col != "sigma" else {})
         for col in _COLUMNS[1:] if df[col].notna().any()},
        coords={"widget": df["widget"].to_numpy(), "new": ("widget", is_new)})
    return xr.Dataset(out, coords=coords), constant
