"""Importance reweighting of posterior draws under changed hyperparameters.

Two layers, as in ArviZ: NumPy kernels (:func:`psis_log_weights`, :func:`weighted_stats`)
that know nothing about models, and PyTensor helpers that turn a model whose swept inputs
are ``pm.Data`` (:func:`~pymc_hier.sensitivity.hyper.lift_hyperparameters`) into vectorised
functions of them
(:func:`joint_logp_function`, :func:`support_function`).

The log importance ratio of a posterior draw ``theta`` when hyperparameters move from
``h_old`` to ``h_new`` is ``log p(y, theta | h_new) - log p(y, theta | h_old)``: the change
of the model's joint log density in the *constrained* space (no Jacobian terms). Every
prior term, Uniform bounds included, and any likelihood term that depends on a fixed input
(the decay model's ``N0_max`` enters its marginal likelihood) is covered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy.special import logsumexp

__all__ = [
    "joint_logp_function",
    "psis_log_weights",
    "support_function",
    "weighted_stats",
    "wider_support",
]


# -- NumPy kernels ------------------------------------------------------------------------
def psis_log_weights(log_ratios: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Pareto-smooth importance log ratios with ArviZ's PSIS.

    Parameters
    ----------
    log_ratios : ndarray
        ``log p_new - log p_old`` per draw, any shape (all axes are sample axes); ``-inf``
        marks draws outside the new support.

    Returns
    -------
    log_weights : ndarray
        Normalised smoothed log weights (``logsumexp == 0``), same shape.
    khat : float
        Pareto shape estimate; above 0.7 the estimate is unreliable (``-inf`` when all
        finite ratios are equal and the weights are exactly uniform over those draws).
    ess : float
        Effective sample size of the weights, ``1 / sum(w**2)``.

    Raises
    ------
    ValueError
        When no draw has a finite log ratio (the new prior excludes every draw).
    """
    from arviz_stats.base import array_stats

    log_ratios = np.asarray(log_ratios, dtype=float)
    finite = np.isfinite(log_ratios)
    if not finite.any():
        raise ValueError("log_ratios: no draw has a finite log ratio; the new prior excludes "
                         "every posterior draw")
    finite_lr = log_ratios[finite]
    if np.ptp(finite_lr) <= 1e-9 * max(1.0, float(np.abs(finite_lr).max())):
        # equal ratios wherever the new density is positive (the base setting itself, or a
        # narrower Uniform bound): exactly uniform weights over those draws, no tail to fit
        n = int(finite.sum())
        return np.where(finite, -np.log(n), -np.inf), -np.inf, float(n)
    # Shift for numerical safety: PSIS is invariant to a constant.
    shifted = log_ratios - log_ratios[finite].max()
    axes = tuple(range(-shifted.ndim, 0))
    with np.errstate(all="ignore"):  # extreme tails overflow inside the GPD fit; k-hat says so
        log_w, khat = array_stats.psislw(-shifted, r_eff=1, axis=axes)
    log_w = np.asarray(log_w, dtype=float)
    log_w = log_w - logsumexp(log_w)
    ess = float(np.exp(-logsumexp(2 * log_w)))
    return log_w, float(khat), ess


def weighted_stats(draws: np.ndarray, log_weights: np.ndarray | None, *,
                   quantiles: Sequence[float], r_eff: np.ndarray | float = 1.0) -> dict:
    """Mean, sd, MCSE of the mean and quantiles of (weighted) draws.

    Parameters
    ----------
    draws : ndarray
        Shape ``(n_samples, *event)``.
    log_weights : ndarray or None
        Normalised log weights of shape ``(n_samples,)``; None for equal weights.
    quantiles : sequence of float
        Probabilities in ``[0, 1]``.
    r_eff : float or ndarray
        Relative efficiency of the (MCMC) draws, shape ``event`` or scalar; the MCSE of a
        self-normalised importance estimate is ``sqrt(sum w^2 (x - mean)^2 / r_eff)``.

    Returns
    -------
    dict
        ``mean``, ``sd``, ``mcse_mean`` (shape ``event``) and ``quantile`` (shape
        ``(len(quantiles), *event)``).
    """
    x = np.asarray(draws, dtype=float)
    n = x.shape[0]
    if log_weights is None:
        w = np.full(n, 1.0 / n)
    else:
        w = np.exp(log_weights - logsumexp(log_weights))
        keep = w > 0  # zero-weight draws carry no information (and would skew quantiles)
        x, w, n = x[keep], w[keep], int(keep.sum())
    wb = w.reshape((n,) + (1,) * (x.ndim - 1))
    mean = np.sum(wb * x, axis=0)
    dev2 = (x - mean) ** 2
    var = np.sum(wb * dev2, axis=0)
    mcse = np.sqrt(np.sum(wb**2 * dev2, axis=0) / np.asarray(r_eff, dtype=float))
    order = np.argsort(x, axis=0)
    xs = np.take_along_axis(x, order, axis=0)
    cw = np.cumsum(w[order], axis=0)
    # midpoint rule of the weighted ECDF (equals numpy's "hazen" quantile for equal weights)
    mid = cw - 0.5 * w[order]
    flat_x = xs.reshape(n, -1)
    flat_m = mid.reshape(n, -1)
    q = np.empty((len(quantiles), flat_x.shape[1]))
    for j in range(flat_x.shape[1]):
        q[:, j] = np.interp(quantiles, flat_m[:, j], flat_x[:, j])
    return {"mean": mean, "sd": np.sqrt(var), "mcse_mean": mcse,
            "quantile": q.reshape((len(quantiles),) + x.shape[1:])}


def wider_support(old: Mapping[str, tuple], new: Mapping[str, tuple], *,
                  rtol: float = 1e-12) -> list[str]:
    """Names of variables whose support under ``new`` bounds extends beyond ``old``.

    ``old`` and ``new`` map variable names to ``(lower, upper)`` array pairs as returned
    by the function from :func:`support_function`. A NaN bound (not certified) counts as
    wider.
    """
    out = []
    for name, (lo_old, hi_old) in old.items():
        lo_new, hi_new = new[name]
        if np.isnan(lo_new).any() or np.isnan(hi_new).any():
            out.append(f"{name} (not certified)")
            continue
        tol_lo = rtol * np.maximum(1.0, np.abs(np.where(np.isfinite(lo_old), lo_old, 0.0)))
        tol_hi = rtol * np.maximum(1.0, np.abs(np.where(np.isfinite(hi_old), hi_old, 0.0)))
        if np.any(lo_new < lo_old - tol_lo) or np.any(hi_new > hi_old + tol_hi):
            out.append(name)
    return out


# -- PyTensor helpers ---------------------------------------------------------------------
def _hyper_inputs(model, hyper_names: Sequence[str]):
    """Symbolic stand-ins for the shared variables ``hyper_names`` of ``model``."""
    import pytensor.tensor as pt

    replace, inputs = {}, []
    for name in hyper_names:
        shared = model[name]
        sym = pt.tensor(name=name, dtype=shared.type.dtype, shape=shared.type.shape)
        replace[shared] = sym
        inputs.append(sym)
    return replace, inputs


def _untransformed(model):
    """Return a copy of ``model`` without value transforms (constrained values)."""
    from pymc.model.transform.conditioning import remove_value_transforms

    saved = dict(model.rvs_to_initial_values)
    try:
        # PyMC cannot copy a model with custom initial values; they play no part in
        # densities, so they are set aside for the copy and put back afterwards.
        for rv in saved:
            model.rvs_to_initial_values[rv] = None
        return remove_value_transforms(model)
    finally:
        model.rvs_to_initial_values.update(saved)


def _vectorised_function(plain, outputs, hyper_names: Sequence[str]) -> Callable:
    """Compile ``outputs`` of the untransformed model ``plain`` over a batch of draws.

    Random variables in ``outputs`` are replaced by their (constrained) values, batched
    along a new leading axis; the shared variables ``hyper_names`` become arguments.
    Returns ``f(draws, hyper) -> list of arrays``.
    """
    import pytensor
    import pytensor.tensor as pt
    from pytensor.graph.replace import graph_replace, vectorize_graph

    outputs = plain.replace_rvs_by_values(outputs)
    replace, hyper_in = _hyper_inputs(plain, hyper_names)
    outputs = graph_replace(outputs, replace, strict=False)
    rv_names = [rv.name for rv in plain.free_RVs]
    batched = {}
    for rv in plain.free_RVs:
        value = plain.rvs_to_values[rv]
        batched[value] = pt.tensor(name=value.name, dtype=value.type.dtype,
                                   shape=(None, *value.type.shape))
    vec = vectorize_graph(outputs, replace=batched)
    fn = pytensor.function([*batched.values(), *hyper_in], vec, on_unused_input="ignore")

    def evaluate(draws: Mapping[str, np.ndarray], hyper: Mapping[str, object]) -> list:
        args = [np.asarray(draws[name], dtype=v.type.dtype) for name, v in
                zip(rv_names, batched.values(), strict=True)]
        args += [np.asarray(hyper[name], dtype=v.type.dtype) for name, v in
                 zip(hyper_names, hyper_in, strict=True)]
        with np.errstate(all="ignore"):
            return [np.asarray(out, dtype=float) for out in fn(*args)]

    evaluate.free_names = tuple(rv_names)
    return evaluate


def joint_logp_function(model, hyper_names: Sequence[str]) -> Callable:
    """Compile the joint log density over many draws as a function of hyperparameters.

    Parameters
    ----------
    model : pm.Model
        A model whose swept inputs are ``pm.Data`` (see
        :func:`~pymc_hier.sensitivity.hyper.lift_hyperparameters`).
    hyper_names : sequence of str
        Names of the ``pm.Data`` that become arguments.

    Returns
    -------
    callable
        ``f(draws, hyper) -> ndarray (n_samples,)`` where ``draws`` maps every free
        variable to its constrained draws of shape ``(n_samples, *shape)`` and ``hyper``
        maps each of ``hyper_names`` to a value. The density is in the constrained space
        (no Jacobian), ``-inf`` outside the support; potentials are included.
    """
    plain = _untransformed(model)
    # logp of the untransformed model, RVs already replaced by their values
    logp = plain.logp(jacobian=False, sum=True)
    fn = _vectorised_function(plain, [logp], hyper_names)

    def joint_logp(draws: Mapping[str, np.ndarray], hyper: Mapping[str, object]) -> np.ndarray:
        return fn(draws, hyper)[0]

    joint_logp.free_names = fn.free_names
    return joint_logp


def support_function(model, hyper_names: Sequence[str]) -> Callable:
    """Return ``f(draws, hyper) -> {name: (lower, upper)}`` for the model's free variables.

    Bounds come from each variable's value transform: an interval transform gives its
    bounds (which may depend on hyperparameters and on other variables, hence the draws),
    a log transform ``(0, inf)``, none the real line. A variable with any other transform
    whose distribution depends on a swept hyperparameter gets NaN bounds: its support
    cannot be certified, and :func:`wider_support` counts it as wider (so ``prior_sweep``
    refits rather than risk a wrong answer). Bounds are arrays of shape
    ``(n_samples, *shape)``.
    """
    import pytensor.tensor as pt
    from pymc.logprob.transforms import IntervalTransform, LogTransform
    from pytensor.graph.traversal import ancestors

    plain = _untransformed(model)
    hyper_shared = {plain[n] for n in hyper_names}
    names, outs = [], []
    for rv in plain.free_RVs:
        transform = model.rvs_to_transforms.get(model[rv.name])
        inputs = rv.owner.inputs
        if isinstance(transform, IntervalTransform):
            lo, hi, _, _ = transform.get_a_and_b(inputs)
        elif isinstance(transform, LogTransform):
            lo, hi = 0.0, np.inf
        elif transform is None or not hyper_shared & set(ancestors(inputs)):
            lo, hi = -np.inf, np.inf
        else:  # a custom transform of a variable the sweep moves: support unknown
            lo, hi = np.nan, np.nan
        names.append(rv.name)
        outs += [pt.broadcast_to(pt.as_tensor(lo, dtype="float64"), rv.shape),
                 pt.broadcast_to(pt.as_tensor(hi, dtype="float64"), rv.shape)]
    fn = _vectorised_function(plain, outs, hyper_names)

    def support(draws: Mapping[str, np.ndarray], hyper: Mapping[str, object]) -> dict:
        vals = fn(draws, hyper)
        return {n: (vals[2 * i], vals[2 * i + 1]) for i, n in enumerate(names)}

    return support
