"""The package's layout: no import cycles among pymc_hier's modules, deferred imports counted.

Imports are read from the source (``ast``), at module level and inside functions alike,
so that a cycle cannot hide behind a function-level import. ``from pymc_hier import name``
is resolved to the module that defines ``name`` (through the lazy table of
``pymc_hier/__init__.py``).
"""

import ast
import inspect
from pathlib import Path

import pytest

import pymc_hier

ROOT = Path(pymc_hier.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(name: str, modules) -> str | None:
    """The module ``name`` refers to: itself, or the package module holding it."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(path: Path, modules) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    this = _module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                base = ".".join(up[:len(up) - node.level + 1] + ([base] if base else []))
            if base == "pymc_hier":  # resolve through the lazy table of public names
                targets = [pymc_hier._LAZY.get(a.name, f"pymc_hier.{a.name}")
                           for a in node.names]
            else:
                targets = [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            if target.startswith("pymc_hier"):
                resolved = _resolve(target, modules)
                if resolved and resolved != this:
                    out.add(resolved)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) for name, path in modules.items()}


def test_no_import_cycles_deferred_imports_counted():
    cycles = _cycles(_graph())
    assert not cycles, f"import cycles among pymc_hier's modules: {cycles}"


def test_the_cycle_check_can_fail():
    graph = _graph()
    graph["pymc_hier.numerics.quadrature"] = {"pymc_hier.decay.exact"}  # a made-up back edge
    assert any("pymc_hier.numerics.quadrature" in c for c in _cycles(graph))


@pytest.mark.parametrize("layer", ["pymc_hier.numerics", "pymc_hier.generative",
                                   "pymc_hier.exceptions", "pymc_hier.spec",
                                   "pymc_hier.describe", "pymc_hier.pgm"])
def test_lower_layers_import_no_model_family(layer):
    graph = _graph()
    for name, deps in graph.items():
        if name == layer or name.startswith(layer + "."):
            bad = {d for d in deps if d.startswith(("pymc_hier.decay", "pymc_hier.normal",
                                                    "pymc_hier.line", "pymc_hier.registry"))}
            assert not bad, f"{name} imports {sorted(bad)}"


def test_numerics_import_no_pymc_or_pytensor():
    for path in (ROOT / "numerics").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""])
                assert not any(n.startswith(("pymc", "pytensor")) and
                               not n.startswith("pymc_hier.numerics") for n in names), path


def test_every_public_name_is_defined_where_the_table_says():
    for name, module in pymc_hier._LAZY.items():
        obj = getattr(pymc_hier, name)
        if isinstance(obj, type) or inspect.isfunction(obj):
            assert obj.__module__ == module, (name, obj.__module__)
