"""Shapes of a model that call for a particular figure, read off its description.

No model is recognised by name: a hierarchy is a latent node ``theta_j ~ Normal(mu, tau)``
with scalar latent ``mu`` and ``tau``; when an observed ``y_j ~ Normal(theta_j, sigma_j)``
with fixed ``sigma_j`` sits under it, each group has its own estimate ``y_j ± sigma_j`` to
compare with its posterior effect (the shrinkage plot). The funnel plot needs the
hierarchy only.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymc_hier.generative import GenerativeModel, Node, parse

__all__ = ["Hierarchy", "hierarchies"]


@dataclass(frozen=True)
class Hierarchy:
    """A normal hierarchy in a model: effects, their mean and scale, and the data under them.

    ``observed`` and ``sigma`` are None when the effects are not measured one to one with
    known standard errors.
    """

    effect: str
    mean: str
    scale: str
    observed: str | None = None
    sigma: str | None = None


def _name(text: str) -> str | None:
    expr = parse(text)
    return expr.args[0] if expr.op == "name" else None


def _normal_params(node: Node) -> tuple[str | None, str | None]:
    if node.dist != "Normal" or len(node.params) != 2:
        return None, None
    return _name(node.params[0][1]), _name(node.params[1][1])


def hierarchies(gen: GenerativeModel) -> list[Hierarchy]:
    """Every normal hierarchy of the description, in node order."""
    nodes = {n.name: n for n in gen.nodes}
    out = []
    for node in gen.nodes:
        if node.kind != "latent" or len(node.dims) != 1:
            continue
        mean, scale = _normal_params(node)
        if mean is None or scale is None:
            continue
        if any(nodes.get(p) is None or nodes[p].kind != "latent" or nodes[p].dims
               for p in (mean, scale)):
            continue
        observed = sigma = None
        for child in gen.nodes:
            if child.kind != "observed" or child.dims != node.dims:
                continue
            mu, sd = _normal_params(child)
            if mu == node.name and sd is not None and nodes[sd].kind == "fixed" \
                    and nodes[sd].dims == node.dims:
                observed, sigma = child.name, sd
                break
        out.append(Hierarchy(node.name, mean, scale, observed, sigma))
    return out
