"""The default decay model's density for nutpie in one op: :func:`sampler_logp`.

For ``t0="latent"``, ``n0="marginal"`` the model's log density in the sampler's
coordinates ``(z_alpha, z_1 .. z_n)`` is ``alpha``'s prior term (with its transform's
Jacobian) plus a sum over widgets of

``log U(t0_i; start_i, end_i) + log |dt0_i / dz_i| + log p(y_i | A_i)``, with
``t0_i = map(z_i, alpha)`` (:class:`~pymc_hier.decay.edges.EdgeTransform`: the probit map
of the day, or the edge-aware map) and ``log A_i = log N0_max - alpha (t1_i - t0_i)``.

PyMC builds that sum from the transform's and the likelihood's ops, and PyTensor
differentiates it into a dozen fused loops, which Numba types and compiles one by one on
first use (the log density's whole graph took 4.4 s; with this op 3.2 s, 1.4 s of it the
op's loop; the callback 6.05 -> 5.07 s). :class:`DecayWidgets` computes the sum and
its derivatives in ``z`` and ``alpha`` in one loop over the widgets that calls the same
scalar kernels (:func:`pymc_hier.decay.ops.make_kernels`,
:func:`pymc_hier.decay.edge_ops.make_edge_kernels`), with the chain rule written out:

- ``d/dz_i = s_i alpha dt0_i/dz_i + d log|dt0_i/dz_i| / dz_i``;
- ``d/dalpha = sum_i s_i (alpha dt0_i/dalpha - (t1_i - t0_i)) + d log|dt0_i/dz_i| / dalpha``,

``s_i = d log p(y_i | A_i) / d log A_i``. :func:`sampler_logp` is the family's
``sampler_logp``: :func:`pymc_hier.nutpie_cache.compile_nutpie` compiles it in place of
``model.logp()`` once it has checked that both agree at random points, so a model changed
after it was built (a potential added, a likelihood masked) is compiled from its own graph.
PyMC's other uses of the model (its samplers, the log-likelihood, predictive draws) never
see this op.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, grad_not_implemented, grad_undefined
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op

from pymc_hier.decay.edge_ops import make_edge_kernels
from pymc_hier.decay.kernels import HALF_LOG_2PI
from pymc_hier.decay.ops import PY_FUNCTIONS, kernel_key, make_kernels, numba_functions

__all__ = ["DecayWidgets", "make_widget_kernel", "sampler_logp"]

_SQRT1_2 = float(1.0 / np.sqrt(2.0))


def make_widget_kernel(exp, log, log1p, expm1, erfc, erfcx, jit=lambda f: f):
    """Build the loop over widgets from elementary functions (Python or Numba's).

    Returns ``widgets(z, alpha, start, end, t1, log_n0_max, sigma, y, edge, grad_z) ->
    (total, d total / d alpha)``, writing ``d total / d z`` into ``grad_z``.
    """
    elementary = {"exp": exp, "log": log, "log1p": log1p, "expm1": expm1, "erfc": erfc,
                  "erfcx": erfcx, "jit": jit}
    value_and_dlog_upper = make_kernels(**elementary)[1]
    edge_value, edge_slopes = make_edge_kernels(**elementary)

    @jit
    def widgets(z, alpha, start, end, t1, log_n0_max, sigma, y, edge, grad_z):
        total, grad_alpha = 0.0, 0.0
        for i in range(len(z)):
            if edge[i] == 0.0:
                # the probit map (edge_value's first branch): log U(t0) + log |dt0/dz| is
                # log phi(z), the day's width cancelling
                width, log_phi = end[i] - start[i], -0.5 * z[i] * z[i] - HALF_LOG_2PI
                t0, log_prior_jac = start[i] + width * 0.5 * erfc(-z[i] * _SQRT1_2), log_phi
                dt_dz, dt_da, djac_dz, djac_da = width * exp(log_phi), 0.0, -z[i], 0.0
            else:
                args = (z[i], start[i], end[i], alpha, t1[i], log_n0_max, sigma[i], y[i],
                        edge[i])
                t0, log_jac = edge_value(*args)
                log_prior_jac = log_jac - log(end[i] - start[i])
                dt_dz, dt_da, djac_dz, djac_da = edge_slopes(*args)
            dt = t1[i] - t0
            log_p, slope = value_and_dlog_upper(y[i], sigma[i], log_n0_max - alpha * dt)
            total += log_p + log_prior_jac
            grad_z[i] = slope * alpha * dt_dz + djac_dz
            grad_alpha += slope * (alpha * dt_da - dt) + djac_da
        return total, grad_alpha

    return widgets


_PY_WIDGETS = make_widget_kernel(**PY_FUNCTIONS)
#: Cache key of the compiled loop: the kernels' source and Numba's elementary functions.
_KERNEL_KEY = kernel_key(make_widget_kernel, make_edge_kernels, numba_functions)


class DecayWidgets(Op):
    """``(z, alpha, start, end, t1, log N0_max, sigma, y, edge) -> (total, d/dz, d/dalpha)``.

    ``total`` is the widgets' part of the default decay model's log density (see the
    module docstring); the other two outputs are its derivatives, which its gradient
    returns. Derivatives in the data are not implemented, nor second derivatives.
    """

    __props__ = ("kernels",)

    def __init__(self, kernels: str = _KERNEL_KEY):
        self.kernels = kernels

    def make_node(self, z, alpha, start, end, t1, log_n0_max, sigma, y, edge):
        """Cast the inputs to float64 and check their ranks (vectors and two scalars)."""
        inputs = [pt.cast(pt.as_tensor_variable(v), "float64")
                  for v in (z, alpha, start, end, t1, log_n0_max, sigma, y, edge)]
        for i in (0, 2, 3, 4, 6, 7, 8):
            if inputs[i].type.ndim != 1:
                raise ValueError(f"DecayWidgets: input {i} must be a vector, got "
                                 f"{inputs[i].type}")
        for i in (1, 5):
            if inputs[i].type.ndim != 0:
                raise ValueError(f"DecayWidgets: input {i} must be a scalar, got "
                                 f"{inputs[i].type}")
        z = inputs[0]
        return Apply(self, inputs, [pt.dscalar(), z.type(), pt.dscalar()])

    def perform(self, node, inputs, output_storage):
        """Run the Python kernels (PyTensor's Python linker; NumPy semantics)."""
        z, alpha, start, end, t1, log_n0_max, sigma, y, edge = inputs
        n = z.shape[0]
        if any(np.shape(v) != (n,) for v in (start, end, t1, sigma, y, edge)):
            raise ValueError("DecayWidgets: the vectors differ in length")
        grad_z = np.empty(n)
        with np.errstate(all="ignore"):
            total, grad_alpha = _PY_WIDGETS(z.tolist(), float(alpha),
                                            start.tolist(), end.tolist(), t1.tolist(),
                                            float(log_n0_max), sigma.tolist(), y.tolist(),
                                            edge.tolist(), grad_z)
        output_storage[0][0] = np.asarray(total, dtype="float64")
        output_storage[1][0] = grad_z
        output_storage[2][0] = np.asarray(grad_alpha, dtype="float64")

    def pullback(self, inputs, outputs, cotangents):
        """Return the total's gradient: its derivatives, outputs 1 and 2, scaled."""
        g_total, g_z, g_alpha = cotangents
        if not (isinstance(g_z.type, DisconnectedType)
                and isinstance(g_alpha.type, DisconnectedType)):
            raise NotImplementedError("DecayWidgets: second derivatives are not implemented")
        data = "DecayWidgets: derivatives in the data are not implemented"
        return [g_total * outputs[1], g_total * outputs[2],
                *(grad_not_implemented(self, i, inputs[i], data) for i in range(2, 8)),
                grad_undefined(self, 8, inputs[8], "DecayWidgets: the edge flag is discrete")]


def _register_numba():
    from pytensor.link.numba.dispatch.basic import (
        default_hash_key_from_props,
        numba_njit,
        register_funcify_and_cache_key,
    )

    compiled = []

    @register_funcify_and_cache_key(DecayWidgets)
    def _widgets(op, node, **kwargs):
        if not compiled:
            compiled.append(make_widget_kernel(**numba_functions()))
        kernel = compiled[0]

        @numba_njit
        def decay_widgets(z, alpha, start, end, t1, log_n0_max, sigma, y, edge):
            grad_z = np.empty(z.shape[0])
            total, grad_alpha = kernel(z, alpha.item(), start, end, t1, log_n0_max.item(),
                                       sigma, y, edge, grad_z)
            return np.asarray(total), grad_z, np.asarray(grad_alpha)

        return decay_widgets, default_hash_key_from_props(op)  # props: the kernels' key


_register_numba()


def sampler_logp(model):
    """Return the default decay model's log density with :class:`DecayWidgets`, or None.

    The family's ``sampler_logp`` (see :class:`pymc_hier.ModelFamily`): a graph in the
    model's value variables equal to ``model.logp()``. None for the other variants (and a
    model without the default variant's variables), which nutpie compiles as PyMC builds
    them. The caller checks the two agree before using it.
    """
    from pymc_hier.decay.edges import EdgeTransform, ProbitIntervalTransform

    names = {"alpha", "t0", "n_measured", "t_measured", "sigma", "n0_max", "day_start",
             "day_end"}
    if not names <= set(model.named_vars) or model.potentials:
        return None
    t0_rv, measured = model["t0"], model["n_measured"]
    if ([rv.name for rv in model.free_RVs] != ["alpha", "t0"]
            or [rv.name for rv in model.observed_RVs] != ["n_measured"]):
        return None
    transform = model.rvs_to_transforms.get(t0_rv)
    if not isinstance(transform, EdgeTransform | ProbitIntervalTransform):
        return None
    if isinstance(transform, EdgeTransform):
        edge = transform.edge_mask()
    else:
        edge = pt.zeros_like(model.rvs_to_values[measured], dtype="float64")
    return _density(model, edge)


def _density(model, edge):
    """Return the decay model's log density with ``edge`` as the widgets' edge flags (1 or 0)."""
    (alpha,) = model.replace_rvs_by_values([model["alpha"]])
    total, _, _ = DecayWidgets()(
        model.rvs_to_values[model["t0"]], alpha, model["day_start"], model["day_end"],
        model["t_measured"], pt.log(model["n0_max"]), model["sigma"],
        model.rvs_to_values[model["n_measured"]], edge)
    return model.logp(vars=[model["alpha"]]) + total
